defmodule Oxbeam.Test.PythonEnv do
  @moduledoc """
  The one Python environment the test VM uses (init is once per VM). Its CPython is
  chosen by uv among the host's (PATH, pyenv) by `requires-python`: `OXBEAM_TEST_PYTHON`
  (e.g. `3.13`) pins the minor version, for the CI's per-version runs.
  """

  def requires_python do
    case System.get_env("OXBEAM_TEST_PYTHON") do
      version when version in [nil, ""] -> ">=3.10"
      version -> "==#{version}.*"
    end
  end

  @doc "A pyproject.toml for `uv_init`: this environment's, by default."
  def pyproject(
        name \\ "oxbeam-tests",
        requires_python \\ requires_python(),
        dependencies \\ ["numpy", "pillow"]
      ) do
    """
    [project]
    name = "#{name}"
    version = "0.0.0"
    requires-python = "#{requires_python}"
    dependencies = #{inspect(dependencies)}
    """
  end

  def init! do
    :ok = Oxbeam.Python.uv_init(pyproject())
  end
end
