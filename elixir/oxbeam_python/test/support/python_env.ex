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

  def pyproject do
    """
    [project]
    name = "oxbeam-tests"
    version = "0.0.0"
    requires-python = "#{requires_python()}"
    dependencies = ["numpy", "pillow"]
    """
  end

  def init! do
    :ok = Oxbeam.Python.uv_init(pyproject())
  end
end
