defmodule Oxbeam.Test.RemoteDevice do
  @moduledoc "Helpers called on a peer node (its code path has this project's)."

  @doc "A StringIO device kept by a process of its own (not by a short-lived caller)."
  def start do
    parent = self()

    keeper =
      spawn(fn ->
        {:ok, device} = StringIO.open("")
        send(parent, {:device, device})
        Process.sleep(:infinity)
      end)

    receive do
      {:device, device} -> {keeper, device}
    end
  end

  @doc "Evaluates `code` on this node and decodes the result (objects stay on their node)."
  def eval_decoded(code) do
    {result, _} = Oxbeam.Python.eval(code, %{})
    Oxbeam.Python.decode(result)
  end
end
