defmodule Oxbeam.Test.LogForwarder do
  @moduledoc """
  A `:logger` handler that sends each event's text to a test process as
  `{:logged, text}`: for what the VM callbacks report through the logger.
  """

  @doc "Forwards log events to the calling process until the test exits."
  def attach(handler_id) do
    :ok = :logger.add_handler(handler_id, __MODULE__, %{config: %{pid: self()}})
    ExUnit.Callbacks.on_exit(fn -> :logger.remove_handler(handler_id) end)
    :ok
  end

  @doc false
  def log(%{msg: msg}, %{config: %{pid: pid}}) do
    text =
      case msg do
        {:string, string} -> IO.chardata_to_string(string)
        {format, args} when is_list(args) -> :io_lib.format(format, args) |> to_string()
        {:report, report} -> inspect(report)
      end

    send(pid, {:logged, text})
  end
end
