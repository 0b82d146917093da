defmodule PythonPoolTest do
  use ExUnit.Case
  import ExUnit.CaptureLog

  @moduletag timeout: 120_000

  test "the pool survives a crashing C extension" do
    {crc, worker} = PythonPool.crc32("hello")
    assert crc == :erlang.crc32("hello")
    assert worker != String.to_integer(System.pid())

    log =
      capture_log(fn ->
        error = assert_raise Oxbeam.Python.RemoteError, fn -> PythonPool.crash!() end
        assert error.pool == PythonPool.Python
        assert error.reason == "killed by signal 11 (SIGSEGV)"

        assert error.message =~
                 ~r/^the Python worker .+ of pool PythonPool.Python exited during the eval \(killed by signal 11 \(SIGSEGV\)\); the pool starts a replacement$/
      end)

    assert log =~ "exited (killed by signal 11 (SIGSEGV)); starting a replacement"

    # Work goes on, on the other worker and then on the replacement.
    for _ <- 1..20, do: assert({_, _} = PythonPool.crc32("still here"))
    assert wait_for_workers(2)
  end

  defp wait_for_workers(n, tries \\ 300) do
    cond do
      length(Oxbeam.Python.Pool.workers(PythonPool.pool())) == n -> true
      tries == 0 -> false
      true -> Process.sleep(20) && wait_for_workers(n, tries - 1)
    end
  end
end
