defmodule Oxbeam.Test.Point do
  @moduledoc false
  # A struct with an Oxbeam.Python.Encoder implementation, for the Python tests.
  defstruct [:x, :y]

  defimpl Oxbeam.Python.Encoder do
    def encode(%{x: x, y: y}, encoder), do: Oxbeam.Python.encode!({x, y}, encoder)
  end
end
