defmodule Hello.Point do
  @moduledoc "A point: `Hello.scale/2` takes and returns it (a derived Rust type)."
  defstruct [:x, :y]
end
