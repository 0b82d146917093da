defmodule Oxbeam.Python.NIF do
  @moduledoc false
  # The NIF library that embeds CPython (python-bridge/), built with `use Oxbeam` like
  # any oxbeam crate. Public API: Oxbeam.Python.
  #
  # Projects that do not use Python can skip building it (it needs a CPython with a
  # shared libpython and compiles pyo3) with `config :oxbeam, python: false`.
  if Application.compile_env(:oxbeam, :python, true) do
    use Oxbeam, otp_app: :oxbeam, crate: "oxbeam-python", path: "../python-bridge"
  else
    @disabled "Oxbeam.Python is disabled in this build (config :oxbeam, python: false)"

    for {name, arity} <- [
          python_info: 0,
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
