defmodule Oxbeam.Test.ChildVM do
  @moduledoc """
  Runs a command in a child VM (an `elixir` or `mix` OS process), for cases that could
  take a VM down or hang it: the ExUnit VM only reads the child's output and exit
  status. Every run is bounded by `timeout(1)`, which kills the child's whole process
  group (forked copies included) when it runs too long. The test helpers for each
  area (`NifChild`, `HazardChild`, `NestingChildVM`) build on it.
  """

  @doc """
  Runs `program args` under `timeout`. Options: `:timeout` (seconds, default 45: keep
  it below the ExUnit test's own 60 s, so that the child is always killed first),
  `:env`, `:cd`. Returns `{output, exit_status}` (stdout and stderr together; 124 or
  137 when the child was stopped for taking too long).
  """
  def cmd(program, args, opts \\ []) do
    seconds = Keyword.get(opts, :timeout, 45)
    cmd_opts = [stderr_to_stdout: true, env: Keyword.get(opts, :env, [])]
    cmd_opts = if opts[:cd], do: [{:cd, opts[:cd]} | cmd_opts], else: cmd_opts
    System.cmd("timeout", ["-k", "5", "#{seconds}", program | args], cmd_opts)
  end

  @doc "The directory of this project's compiled modules (the test build)."
  def ebin, do: Mix.Project.compile_path()

  @doc """
  `-pa` arguments for `elixir` that put this project's compiled modules and its
  dependencies' (the test build) on the child's code path: the Python bridge's
  package needs :oxbeam's modules too.
  """
  def code_path_args do
    Mix.Project.build_path()
    |> Path.join("lib/*/ebin")
    |> Path.wildcard()
    |> Enum.flat_map(&["-pa", &1])
  end
end
