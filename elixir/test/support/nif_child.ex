defmodule Oxbeam.Test.NifChild do
  alias Oxbeam.Test.ChildVM

  @moduledoc """
  Runs Elixir code in a child VM (an `elixir` OS process) that has this project's
  compiled modules (the conformance NIF library included) on its code path: for cases
  that would take the VM down if they went wrong.
  """

  @doc """
  Evaluates `code` in a child VM (`Oxbeam.Test.ChildVM`); returns `{output,
  exit_status}`. Options: `timeout_s` (45), `env`, `vm_args`, `code_path: false`
  (without this project's modules).
  """
  def run(code, opts \\ []) do
    code_path = if Keyword.get(opts, :code_path, true), do: ["-pa", ChildVM.ebin()], else: []
    args = code_path ++ Keyword.get(opts, :vm_args, []) ++ ["-e", code]

    ChildVM.cmd("elixir", args,
      timeout: Keyword.get(opts, :timeout_s, 45),
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
