defmodule Oxbeam.Python.Array do
  @moduledoc """
  A numpy array as Elixir data: its bytes in C order (`data`), its element type
  (`dtype`) and its `shape`.

  `Oxbeam.Python.decode/1` makes one of a numpy array; `Oxbeam.Python.encode!/2` (or
  passing it to `Oxbeam.Python.eval/3`) makes a read-only numpy array over the
  binary's bytes (no copy). The dtype uses Nx's notation, so with Nx:
  `Nx.from_binary(array.data, array.dtype) |> Nx.reshape(array.shape)`.

  | numpy dtype | `dtype` |
  |---|---|
  | `float16`, `float32`, `float64` | `{:f, 16}`, `{:f, 32}`, `{:f, 64}` |
  | `int8` ... `int64` | `{:s, 8}` ... `{:s, 64}` |
  | `uint8` ... `uint64` | `{:u, 8}` ... `{:u, 64}` |
  | `complex64`, `complex128` | `{:c, 64}`, `{:c, 128}` |
  | `bool` | `:bool` (one byte per element; `{:u, 8}` for Nx) |
  | any other (non-native byte order, strings, datetimes, structured) | `{:numpy, dtype.str}`, e.g. `{:numpy, ">f8"}` |

  Arrays of Python objects (dtype `object`) and numpy scalars are not arrays of bytes:
  they decode to `Oxbeam.Python.Object`s.
  """

  @enforce_keys [:data, :dtype, :shape]
  defstruct [:data, :dtype, :shape]

  @type dtype ::
          {:f, 16 | 32 | 64}
          | {:s | :u, 8 | 16 | 32 | 64}
          | {:c, 64 | 128}
          | :bool
          | {:numpy, String.t()}

  @type t :: %__MODULE__{data: binary(), dtype: dtype(), shape: tuple()}
end
