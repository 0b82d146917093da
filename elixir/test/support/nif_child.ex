defmodule Oxbeam.Test.NifChild do
  @moduledoc """
  Runs Elixir code in a child VM (an `elixir` OS process) that has this project's
  compiled modules (the conformance NIF library included) on its code path: for cases
  that would take the VM down if they went wrong. Bounded in time by `timeout(1)`.
  """

  @doc """
  Evaluates `code` in a child VM; returns `{output, exit_status}` (stdout and stderr
  together). An exit status of 124 or 137 means the child was stopped at `timeout_s`.
  Options: `timeout_s` (60), `env`, `vm_args`, `code_path: false` (without this
  project's modules).
  """
  def run(code, opts \\ []) do
    timeout_s = Keyword.get(opts, :timeout_s, 60)
    ebin = Mix.Project.compile_path()
    code_path = if Keyword.get(opts, :code_path, true), do: ["-pa", ebin], else: []
    args = ["-k", "5", "#{timeout_s}", "elixir"] ++ code_path ++ Keyword.get(opts, :vm_args, [])

    System.cmd("timeout", args ++ ["-e", code],
      stderr_to_stdout: true,
      env: Keyword.get(opts, :env, [])
    )
  end

  @doc "The conformance NIF library file the test VM loaded."
  def conformance_library do
    {:ok, dir} = Oxbeam.__library_path__(:oxbeam, ~c"")
    dir = to_string(dir)

    dir
    |> File.ls!()
    |> Enum.filter(&String.starts_with?(&1, "liboxbeam_conformance"))
    |> Enum.map(&Path.join(dir, &1))
    |> Enum.max_by(&File.stat!(&1, time: :posix).mtime)
  end
end
