defmodule Oxbeam.Python.Object do
  @moduledoc """
  A Python object held by Elixir. It stays alive as long as this term is referenced
  anywhere; when Erlang garbage-collects the last reference, the Python reference is
  released (without blocking a scheduler on the GIL).

  `inspect/1` shows the object's `repr()`.

  An object returned by `Oxbeam.Python.remote_eval/4` or a pool lives on another node
  (`node(object.resource)`); `remote` is then this node's handle on it (see
  `Oxbeam.Python.remote_eval/4`), or, for a short immutable scalar (`None`, `bool`,
  64-bit `int`, `float`, `str`/`bytes` up to 22 bytes), `{:scalar, kind, value}`: its
  value, which `decode/1` returns without a call to that node. Objects made by the
  NIFs have no `:remote` key: read it with `Map.get/2`.
  """
  defstruct [:resource, :remote]

  @type t :: %__MODULE__{
          resource: reference(),
          remote: nil | {pos_integer(), reference()} | {:scalar, :str | :value, term()}
        }

  defimpl Inspect do
    import Inspect.Algebra

    def inspect(object, opts) do
      repr =
        try do
          if node(object.resource) == node(),
            do: Oxbeam.Python.NIF.repr(object.resource),
            else: Oxbeam.Python.Remote.repr(object)
        rescue
          e -> "<repr failed: #{Exception.message(e)}>"
        end

      concat(["#Oxbeam.Python.Object<", nest(line(), 2), repr, line(), ">"])
      |> group()
      |> then(&concat(color("", :map, opts), &1))
    end
  end
end
