defmodule Oxbeam.Test.PythonEnv do
  @moduledoc "The one Python environment the test VM uses (init is once per VM)."

  @pyproject """
  [project]
  name = "oxbeam-tests"
  version = "0.0.0"
  requires-python = ">=3.10"
  dependencies = ["numpy"]
  """

  def pyproject, do: @pyproject

  def init! do
    :ok = Oxbeam.Python.uv_init(@pyproject)
  end
end
