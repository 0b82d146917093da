defmodule Oxbeam.NIF.ScheduleTest do
  # Paired with tests/conformance/src/schedule.rs.
  use ExUnit.Case, async: true
  alias Oxbeam.Test.Conformance, as: NIF

  test "a call runs where it is declared, and moves to a dirty scheduler when it schedules" do
    assert NIF.double_where(21) == {42, :normal}
    assert NIF.double_where(5000) == {10_000, :dirty_cpu}
    assert NIF.thread_kind_dirty_io() == :dirty_io
  end

  test "a long loop yields by scheduling itself, and the caller sees one call" do
    {sum, yields} = NIF.sum_yielding(0, 5_000_000, 0, 0)
    assert sum == reference_sum(5_000_000)
    assert yields > 0
  end

  test "the continuation's decode errors and exceptions are the call's" do
    assert NIF.schedule_checked_half(10) == 5

    assert_raise ArgumentError, "7 is odd", fn -> NIF.schedule_checked_half(7) end

    assert_raise ArgumentError,
                 "Oxbeam.Test.Conformance.checked_half/1: argument 1 (n): expected an integer (i64), got: :seven",
                 fn -> NIF.schedule_checked_half(:seven) end
  end

  test "scheduling with the wrong number of arguments raises instead of crashing" do
    message =
      ~r"^panicked at nif-core/src/schedule.rs:\d+:\d+: Env::schedule: checked_half/1 was given 2 arguments$"

    assert_raise RuntimeError, message, fn ->
      NIF.schedule_wrong_arity(1)
    end
  end

  # The same wrapping sum as the NIF.
  defp reference_sum(n) do
    import Bitwise
    mask = (1 <<< 64) - 1
    Enum.reduce(0..(n - 1), 0, fn k, acc -> band(acc + bxor(k, k >>> 3), mask) end)
  end
end
