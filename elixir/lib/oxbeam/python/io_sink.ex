defmodule Oxbeam.Python.IoSink do
  @moduledoc false
  # Python output is sent as `put_chars` IO requests; the IO server replies to this
  # process, which drops the replies (the writer does not wait for them).

  @name :oxbeam_python_io_sink

  def pid do
    case Process.whereis(@name) do
      nil -> start()
      pid -> pid
    end
  end

  defp start do
    pid = spawn(&loop/0)

    try do
      Process.register(pid, @name)
      pid
    rescue
      ArgumentError ->
        Process.exit(pid, :kill)
        Process.whereis(@name)
    end
  end

  defp loop do
    receive do
      _ -> loop()
    end
  end
end
