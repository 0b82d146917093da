defimpl Oxbeam.Python.Encoder, for: Oxbeam.Test.Point do
  # Oxbeam.Test.Point (../test/support/point.ex) as a Python tuple, for the Python tests.
  def encode(%{x: x, y: y}, encoder), do: Oxbeam.Python.encode!({x, y}, encoder)
end
