defmodule Hello do
  @moduledoc """
  NIFs written in Rust (`native/hello/src/lib.rs`).

  `use Oxbeam` builds the crate with cargo when this module is compiled, loads the
  library, and defines `add/2`, `greet/1`, `sum/1` and `scale/2` with the docs and
  typespecs taken from the Rust functions (`scale/2` takes and returns a
  `%Hello.Point{}`, a struct the Rust side derives its conversions for).
  """
  use Oxbeam, otp_app: :hello, crate: "hello"
end
