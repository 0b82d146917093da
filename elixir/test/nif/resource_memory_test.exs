defmodule Oxbeam.NIF.ResourceMemoryTest do
  # Paired with tests/conformance/src/resources.rs. Not async: it measures the VM's
  # RSS, which other tests running at the same time would move.
  use ExUnit.Case, async: false
  import Oxbeam.Test.Eventually
  alias Oxbeam.Test.Conformance, as: NIF

  # The VM's allocators keep some carriers after a first burst (a high-water mark, not
  # a leak), so the baseline is taken after a warm-up round of the same work.
  test "1 000 000 resources created and dropped: Drop ran for each, memory returns" do
    churn = fn ->
      for _ <- 1..10 do
        {pid, ref} = spawn_monitor(fn -> length(for _ <- 1..100_000, do: NIF.tracked_new()) end)
        assert_receive {:DOWN, ^ref, :process, ^pid, :normal}, 30_000
      end

      NIF.tracked_churn(100_000)
    end

    churn.()
    collect_garbage()
    rss_before = rss_kb()
    dropped_before = NIF.tracked_dropped()

    churn.()
    assert eventually(fn -> NIF.tracked_dropped() - dropped_before >= 1_100_000 end)
    collect_garbage()
    rss_after = rss_kb()
    assert rss_after <= rss_before * 1.10, "RSS grew from #{rss_before} kB to #{rss_after} kB"
  end

  defp rss_kb do
    "/proc/self/status"
    |> File.read!()
    |> then(&Regex.run(~r/VmRSS:\s+(\d+) kB/, &1))
    |> then(fn [_, kb] -> String.to_integer(kb) end)
  end
end
