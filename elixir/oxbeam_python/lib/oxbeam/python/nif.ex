defmodule Oxbeam.Python.NIF do
  @moduledoc false
  # The NIF library that embeds CPython (python-bridge/), built with `use Oxbeam` like
  # any oxbeam crate. Public API: Oxbeam.Python.
  #
  # Built against CPython's stable ABI, it links no libpython: its load when the
  # module loads fails (Python's symbols are missing) until Oxbeam.Python.init has
  # loaded the chosen libpython through Oxbeam.Python.Loader, then loads it again.
  use Oxbeam, otp_app: :oxbeam_python, crate: "oxbeam-python", path: "../../python-bridge"
end

defmodule Oxbeam.Python.Loader do
  @moduledoc false
  # Loads the chosen interpreter's libpython with global symbols, before the bridge
  # (python-bridge/loader/: a few lines of Rust, no Python needed to build it).
  use Oxbeam,
    otp_app: :oxbeam_python,
    crate: "oxbeam-python-loader",
    path: "../../python-bridge/loader"
end
