defmodule Oxbeam.Python.NIF do
  @moduledoc false
  # The NIF library that embeds CPython (python-bridge/), built with `use Oxbeam` like
  # any oxbeam crate. Public API: Oxbeam.Python.
  #
  # Built against CPython's stable ABI, it links no libpython: its load when the
  # module loads fails (Python's symbols are missing) until Oxbeam.Python.init has
  # loaded the chosen libpython through Oxbeam.Python.Loader, then loads it again.
  #
  # Projects that do not use Python can skip building it (it compiles pyo3) with
  # `config :oxbeam, python: false`.
  if Application.compile_env(:oxbeam, :python, true) do
    use Oxbeam, otp_app: :oxbeam, crate: "oxbeam-python", path: "../python-bridge"
  else
    @disabled "Oxbeam.Python is disabled in this build (config :oxbeam, python: false)"

    for {name, arity} <- [
          init: 4,
          eval: 6,
          encode: 2,
          decode: 1,
          decode_with_gil: 1,
          repr: 1,
          pending_decrefs: 0,
          dirty_noop: 0
        ] do
      def unquote(name)(unquote_splicing(Macro.generate_arguments(arity, __MODULE__))),
        do: raise(RuntimeError, @disabled)
    end
  end
end

defmodule Oxbeam.Python.Loader do
  @moduledoc false
  # Loads the chosen interpreter's libpython with global symbols, before the bridge
  # (python-bridge/loader/: a few lines of Rust, no Python needed to build it).
  if Application.compile_env(:oxbeam, :python, true) do
    use Oxbeam, otp_app: :oxbeam, crate: "oxbeam-python-loader", path: "../python-bridge/loader"
  else
    def load_global(_path),
      do:
        raise(
          RuntimeError,
          "Oxbeam.Python is disabled in this build (config :oxbeam, python: false)"
        )
  end
end
