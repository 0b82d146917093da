defmodule Oxbeam.Python.Object do
  @moduledoc """
  A Python object held by Elixir. It stays alive as long as this term is referenced
  anywhere; when Erlang garbage-collects the last reference, the Python reference is
  released (without blocking a scheduler on the GIL).

  `inspect/1` shows the object's `repr()`.
  """
  defstruct [:resource]

  @type t :: %__MODULE__{resource: reference()}

  defimpl Inspect do
    import Inspect.Algebra

    def inspect(object, opts) do
      repr =
        try do
          Oxbeam.Python.NIF.repr(object.resource)
        rescue
          e -> "<repr failed: #{Exception.message(e)}>"
        end

      concat(["#Oxbeam.Python.Object<", nest(line(), 2), repr, line(), ">"])
      |> group()
      |> then(&concat(color("", :map, opts), &1))
    end
  end
end
