defmodule Oxbeam.Test.Point do
  @moduledoc false
  # A struct the conformance NIFs derive (tests/conformance/src/derives.rs); the
  # Python bridge's tests give it an Oxbeam.Python.Encoder implementation
  # (oxbeam_python/test/support/point_encoder.ex).
  defstruct [:x, :y]
end
