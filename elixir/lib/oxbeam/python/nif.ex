defmodule Oxbeam.Python.NIF do
  @moduledoc false
  # The NIF library that embeds CPython (python-bridge/), built with `use Oxbeam` like
  # any oxbeam crate. Public API: Oxbeam.Python.
  use Oxbeam, otp_app: :oxbeam, crate: "oxbeam-python", path: "../python-bridge"
end
