defmodule Oxbeam.Test.NestingChildVM do
  alias Oxbeam.Test.ChildVM

  @moduledoc """
  Runs `Oxbeam.Test.NestingCases` in a child VM (`Oxbeam.Test.ChildVM`), so a case
  that crashes the VM (segfault, abort) fails its test instead of killing the test VM.
  """

  @project_dir Path.expand("../..", __DIR__)

  @doc """
  Runs `cases` in a child `elixir` VM with the library the test VM uses (debug build
  unless `OXBEAM_MODE` says otherwise). Returns `{status, results, output}`: the
  child's exit status, `%{case => printed result}` and everything it printed.
  """
  def run(cases, seconds \\ 120) do
    command(["elixir" | ChildVM.code_path_args()] ++ ["-e", run_expression(cases)], [], seconds)
  end

  @doc """
  Runs `cases` in a child `mix run` with the bridge built in release mode
  (`OXBEAM_MODE=release`), in a build directory of its own (`_build/test_release_nesting`,
  kept between runs: only the first one builds from scratch).
  """
  def run_release(cases, seconds) do
    env = [
      {"OXBEAM_MODE", "release"},
      {"MIX_ENV", "test"},
      {"MIX_BUILD_PATH", Path.join(@project_dir, "_build/test_release_nesting")}
    ]

    command(["mix", "run", "-e", run_expression(cases)], env, seconds)
  end

  defp run_expression(cases), do: "Oxbeam.Test.NestingCases.run(#{inspect(cases)})"

  defp command([program | args], env, seconds) do
    {output, status} = ChildVM.cmd(program, args, cd: @project_dir, env: env, timeout: seconds)

    results =
      for [name, result] <-
            Regex.scan(~r/^RESULT (\w+): (.*)$/m, output, capture: :all_but_first),
          into: %{} do
        {String.to_atom(name), result}
      end

    {status, results, output}
  end
end
