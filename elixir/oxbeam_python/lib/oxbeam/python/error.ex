defmodule Oxbeam.Python.Error do
  @moduledoc """
  A Python exception. `type`, `value` and `traceback` are `Oxbeam.Python.Object`s;
  `lines` is the formatted traceback, which is also the message.
  """
  defexception [:type, :value, :traceback, :lines]

  @type t :: %__MODULE__{
          type: Oxbeam.Python.Object.t(),
          value: Oxbeam.Python.Object.t(),
          traceback: Oxbeam.Python.Object.t() | nil,
          lines: [String.t()]
        }

  @impl true
  def message(%__MODULE__{lines: lines}), do: lines |> Enum.join() |> String.trim_trailing()
end
