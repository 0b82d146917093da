defmodule Oxbeam.Test.HazardChild do
  @moduledoc """
  Runs a script in a child VM (`Oxbeam.Test.ChildVM`), for Python cases that could
  take the VM down or hang it. The child has this project's code loaded and the same
  Python environment initialized before the script runs.
  """

  @doc """
  Runs `script` (Elixir source) in a child VM. Options: `:erl` (extra VM flags, e.g.
  `"+SDio 1"`), `:timeout` (seconds, default 45: keep it below the ExUnit test's own
  timeout, so that `timeout` always kills the child first), `:init` (initialize
  Python first, default true: the test VM's interpreter), `:python_minor` (instead,
  `uv_init` of a project without dependencies requiring CPython 3.<minor>). Returns `{output, exit_status}` (stdout and stderr together; status
  124 or 137 when the child was killed for taking too long).
  """
  def run(script, opts \\ []) do
    dir = Path.join(System.tmp_dir!(), "oxbeam-hazard-#{System.unique_integer([:positive])}")
    File.mkdir_p!(dir)
    path = Path.join(dir, "child.exs")

    prelude =
      cond do
        minor = opts[:python_minor] ->
          pyproject =
            Oxbeam.Test.PythonEnv.pyproject("oxbeam-child-3-#{minor}", "==3.#{minor}.*", [])

          ":ok = Oxbeam.Python.uv_init(#{inspect(pyproject)})\n"

        Keyword.get(opts, :init, true) ->
          "Oxbeam.Python.init(#{inspect(python())})\n"

        true ->
          ""
      end

    File.write!(path, prelude <> script)
    erl = Keyword.get(opts, :erl, "")

    try do
      Oxbeam.Test.ChildVM.cmd(
        "elixir",
        ["--erl", erl | Oxbeam.Test.ChildVM.code_path_args()] ++ [path],
        timeout: Keyword.get(opts, :timeout, 45)
      )
    after
      File.rm_rf(dir)
    end
  end

  @doc "The Python executable the test VM's interpreter was initialized with."
  def python do
    {result, _} = Oxbeam.Python.eval("import sys\nsys.executable", %{})
    Oxbeam.Python.decode(result)
  end
end
