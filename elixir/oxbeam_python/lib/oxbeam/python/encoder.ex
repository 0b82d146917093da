defprotocol Oxbeam.Python.Encoder do
  @moduledoc """
  Encodes a struct as a Python object.

  Plain Elixir data (numbers, atoms, binaries, lists, tuples, maps, `MapSet`, pids) is
  encoded by `Oxbeam.Python.encode!/2` itself, the whole value in one NIF call;
  implement this protocol for your structs. `encoder` encodes nested values:

      defimpl Oxbeam.Python.Encoder, for: MyApp.Point do
        def encode(%{x: x, y: y}, encoder), do: encoder.({x, y}, encoder)
      end
  """

  @fallback_to_any true

  @type encoder :: (term(), encoder() -> Oxbeam.Python.Object.t())

  @spec encode(t(), encoder()) :: Oxbeam.Python.Object.t()
  def encode(term, encoder)
end
