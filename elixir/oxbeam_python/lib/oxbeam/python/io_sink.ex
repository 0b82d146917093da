defmodule Oxbeam.Python.IoSink do
  @moduledoc false
  # Python output is sent as `put_chars` IO requests; the IO server replies to this
  # process, which drops the replies (the writer does not wait for them).
  #
  # The NIF library sends only to local processes. An IO device on another node (the
  # group leader of an `:erpc` call, a remote shell, FLAME) gets a local forwarder, one
  # per remote device, made here and kept until that device goes down (or its node
  # disconnects): the forwarder passes every message on to the device, in order.

  @name :oxbeam_python_io_sink

  def pid do
    case Process.whereis(@name) do
      nil -> start()
      pid -> pid
    end
  end

  @doc """
  The pid of an IO device given in the `option` of an eval (`:stdout_device`,
  `:stderr_device`): a pid, or the name of a process registered on this node.
  """
  def device!(pid, _option) when is_pid(pid), do: pid

  def device!(name, _option) when is_atom(name),
    do: Process.whereis(name) || raise(ArgumentError, "no process named #{inspect(name)}")

  def device!(other, option) do
    raise ArgumentError,
          "#{option}: expected a pid or a registered name, got: #{inspect(other)}"
  end

  @doc "`device` itself when it is local; a local forwarder to it otherwise."
  def local(device) when node(device) == node(), do: device

  def local(device) when is_pid(device) do
    sink = pid()
    ref = Process.monitor(sink)
    send(sink, {:oxbeam_forwarder, self(), ref, device})

    receive do
      {^ref, forwarder} ->
        Process.demonitor(ref, [:flush])
        forwarder

      {:DOWN, ^ref, _, _, reason} ->
        raise RuntimeError,
              "Oxbeam.Python's IO process exited (#{inspect(reason)}) while making a " <>
                "forwarder to #{inspect(device)}"
    end
  end

  defp start do
    pid = spawn(fn -> loop(%{}) end)

    try do
      Process.register(pid, @name)
      pid
    rescue
      ArgumentError ->
        Process.exit(pid, :kill)
        Process.whereis(@name)
    end
  end

  defp loop(forwarders) do
    receive do
      {:oxbeam_forwarder, from, ref, device} ->
        forwarder =
          case forwarders do
            %{^device => forwarder} -> forwarder
            _ -> spawn(fn -> forward(device, Process.monitor(device), self_sink()) end)
          end

        send(from, {ref, forwarder})
        loop(Map.put(forwarders, device, forwarder))

      {:oxbeam_forwarder_down, device, forwarder} ->
        case forwarders do
          %{^device => ^forwarder} -> loop(Map.delete(forwarders, device))
          _ -> loop(forwarders)
        end

      # IO replies, dropped.
      _ ->
        loop(forwarders)
    end
  end

  defp self_sink, do: Process.whereis(@name)

  defp forward(device, monitor, sink) do
    receive do
      {:DOWN, ^monitor, _, _, _} ->
        if sink, do: send(sink, {:oxbeam_forwarder_down, device, self()})

      message ->
        send(device, message)
        forward(device, monitor, sink)
    end
  end
end
