defmodule Hello do
  @moduledoc """
  Three NIFs written in Rust (`native/hello/src/lib.rs`).

  `use Oxbeam` builds the crate with cargo when this module is compiled, loads the
  library, and defines `add/2`, `greet/1` and `sum/1` with the docs and typespecs
  taken from the Rust functions.
  """
  use Oxbeam, otp_app: :hello, crate: "hello"
end
