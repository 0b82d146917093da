defmodule Oxbeam.Test.CustomError do
  @moduledoc "An exception raised by name from Rust (tests/conformance/src/errors.rs)."
  defexception [:message]
end
