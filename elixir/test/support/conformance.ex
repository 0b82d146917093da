defmodule Oxbeam.Test.Conformance do
  @moduledoc """
  The conformance NIF library (`tests/conformance`), compiled by `use Oxbeam` like any
  user crate. Each `test/nif/*_test.exs` file pairs with one module of the crate.
  """
  use Oxbeam,
    otp_app: :oxbeam,
    crate: "oxbeam_conformance",
    path: "../tests/conformance",
    load_data: {:greeting, "loaded with a typed load info"}
end
