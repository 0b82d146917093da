defmodule Oxbeam.Test.Profile do
  @moduledoc "A struct the derive tests decode and encode (tests/conformance/src/derives.rs)."
  defstruct [:name, :years, :tags, :nickname, :score]
end

defmodule Oxbeam.Test.Polygon do
  @moduledoc "A struct holding derived types (tests/conformance/src/derives.rs)."
  defstruct [:name, :points, :color, :shapes, :pairs]
end

defmodule Oxbeam.Test.NotFound do
  @moduledoc "An exception a derived Rust type raises (tests/conformance/src/derives.rs)."
  defexception [:path, :message]
end
