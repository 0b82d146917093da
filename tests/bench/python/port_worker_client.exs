defmodule Oxbeam.Bench.PortWorker do
  @moduledoc false
  # The Port-worker baseline of the Python benchmarks (python/ and python_pool/): one
  # python3 process running port_worker.py, {:packet, 4} frames, `[op | payload]` in and
  # the result out.

  def open(python) do
    Port.open({:spawn_executable, python}, [
      :binary,
      {:packet, 4},
      :exit_status,
      args: ["-u", Path.expand("port_worker.py", __DIR__)]
    ])
  end

  def call(port, op, payload) do
    send(port, {self(), {:command, [op, payload]}})

    receive do
      {^port, {:data, data}} -> data
    end
  end

  def pack(xs), do: for(x <- xs, into: <<>>, do: <<x::little-signed-64>>)
  def unpack(bin), do: for(<<x::little-signed-64 <- bin>>, do: x)
end
