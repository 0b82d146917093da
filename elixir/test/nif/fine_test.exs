defmodule Oxbeam.Test.FineError do
  @moduledoc "An exception with no message field, raised from Rust with its fields."
  defexception [:data, tags: []]

  @impl true
  def message(error), do: "got error with data #{error.data}"
end

defmodule Oxbeam.NIF.FineTest do
  # Paired with tests/conformance/src/fine.rs: Fine's features, ported NIF by NIF.
  use ExUnit.Case, async: true
  alias Oxbeam.Test.Conformance, as: NIF

  describe "RwLock" do
    test "writers on dirty CPU schedulers and readers on dirty I/O and normal schedulers never see a torn write" do
      table = NIF.table_new(64)

      results =
        1..400
        |> Task.async_stream(
          fn i ->
            case rem(i, 4) do
              0 -> {:write, NIF.table_bump_dirty(table)}
              1 -> {:read, NIF.table_read_dirty(table)}
              2 -> {:read, NIF.table_read(table)}
              3 -> {:write, NIF.table_bump_dirty(table)}
            end
          end,
          max_concurrency: 32,
          timeout: 30_000
        )
        |> Enum.map(fn {:ok, result} -> result end)

      writes = Enum.count(results, &match?({:write, _}, &1))
      assert writes == 200
      assert NIF.table_read(table) == 200
      assert NIF.table_torn_reads(table) == 0
      # Reads saw values that only grow within 0..200.
      assert Enum.all?(for({:read, v} <- results, do: v in 0..200))
    end

    test "OS threads contend: every write lands, readers share the lock, none sees a torn write" do
      table = NIF.table_new(32)
      {value, reads, max_readers} = NIF.table_contend(table, 4, 6, 300)
      assert value == 4 * 300
      assert reads == 6 * 300
      # Shared locking is shared: several readers held the lock at once.
      assert max_readers > 1
      assert NIF.table_torn_reads(table) == 0
    end

    test "try_read and try_write fail while the lock is held the other way" do
      table = NIF.table_new(4)
      # {try_write while reading, try_read while reading,
      #  try_read while writing (other thread), try_write while writing (other thread)}
      assert NIF.table_try_locks(table) == {false, true, false, false}
    end

    test "no poisoning: a panic with the write guard held unlocks it and leaves the value as it was left" do
      table = NIF.table_new(3)

      assert_raise RuntimeError,
                   ~r"^panicked at tests/conformance/src/fine.rs:\d+:\d+: boom while writing$",
                   fn ->
                     NIF.table_panic_while_writing(table)
                   end

      assert NIF.table_values(table) == [999, 0, 0]
      assert NIF.table_bump_dirty(table) == 1
      assert NIF.table_values(table) == [1000, 1, 1]
    end
  end

  describe "Condvar" do
    test "consumers waiting on dirty I/O schedulers get every item pushed by many processes" do
      queue = NIF.queue_new()

      consumers =
        for _ <- 1..4 do
          Task.async(fn -> collect(queue, []) end)
        end

      1..200
      |> Task.async_stream(fn i -> NIF.queue_push(queue, i) end, max_concurrency: 20)
      |> Stream.run()

      # Wait for the queue to drain, then close it: every consumer returns.
      wait_until_empty(queue)
      assert NIF.queue_close(queue) == :closed
      popped = consumers |> Enum.map(&Task.await(&1, 10_000)) |> List.flatten()
      assert Enum.sort(popped) == Enum.to_list(1..200)
    end

    test "notify_all wakes every untimed waiter" do
      queue = NIF.queue_new()
      waiters = for _ <- 1..5, do: Task.async(fn -> NIF.queue_pop_forever(queue) end)
      Process.sleep(100)
      assert NIF.queue_close(queue) == :closed
      assert Enum.map(waiters, &Task.await(&1, 5_000)) == List.duplicate(:closed, 5)
    end

    test "a timed wait nobody notifies times out after its timeout" do
      queue = NIF.queue_new()
      {timed_out, elapsed} = NIF.queue_wait_unnotified(queue, 80)
      assert timed_out
      assert elapsed >= 80
      assert elapsed < 2_000
      assert NIF.queue_pop(queue, 30) == :timeout
    end

    test "a timed wait returns as soon as an item comes" do
      queue = NIF.queue_new()
      waiter = Task.async(fn -> :timer.tc(fn -> NIF.queue_pop(queue, 10_000) end) end)
      Process.sleep(50)
      NIF.queue_push(queue, 7)
      {micros, result} = Task.await(waiter, 5_000)
      assert result == {:ok, 7}
      assert micros < 5_000_000
    end

    test "OS threads contend: producers and untimed and timed consumers lose no item" do
      queue = NIF.queue_new()
      assert NIF.queue_contend(queue, 4, 4, 500) == {2000, 4 * div(500 * 501, 2)}
    end

    test "waiting with a second mutex panics instead of undefined behaviour" do
      queue = NIF.queue_new()

      assert_raise RuntimeError,
                   ~r"^panicked at tests/conformance/src/fine.rs:\d+:\d+: oxbeam::sync::Condvar used with two different mutexes$",
                   fn -> NIF.queue_wait_with_other_mutex(queue) end
    end
  end

  describe "result shapes" do
    test "Ok and Error encode as bare tags and flat tuples" do
      assert NIF.shape_ok() == :ok
      assert NIF.shape_ok1(1) == {:ok, 1}
      assert NIF.shape_ok2(1, "a") == {:ok, 1, "a"}
      assert NIF.shape_error() == :error
      assert NIF.shape_error1("bad") == {:error, "bad"}
      assert NIF.shape_error2(:enoent, 2) == {:error, :enoent, 2}
    end

    test "Tagged is either, from one return type (Fine's divmod)" do
      assert NIF.divmod(7, 2) == {:ok, 3, 1}
      assert NIF.divmod(7, 0) == {:error, "division by zero"}
    end

    test "the same shapes decode back, with exact errors" do
      assert NIF.shape_decode_ok2({:ok, 1, "a"}) == {1, "a"}
      assert NIF.shape_decode_ok0(:ok)
      assert NIF.shape_decode_error1({:error, "x"}) == "x"
      assert NIF.shape_decode_tagged({:ok, 1, 2}) == {1, 2}
      assert NIF.shape_decode_tagged(:error) == nil

      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.shape_decode_ok2/1: argument 1 (value): expected {:ok, _, _} (Ok<(i64, String)>), got: {:ok, 1}",
                   fn -> NIF.shape_decode_ok2({:ok, 1}) end

      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.shape_decode_ok2/1: argument 1 (value): element 2 of the tuple: expected a string (String), got: :a",
                   fn -> NIF.shape_decode_ok2({:ok, 1, :a}) end

      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.shape_decode_ok0/1: argument 1 (value): expected :ok (Ok<()>), got: {:ok}",
                   fn -> NIF.shape_decode_ok0({:ok}) end

      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.shape_decode_tagged/1: argument 1 (value): expected {:ok, _, _} or :error (Tagged<(i64, i64), ()>), got: {:error}",
                   fn -> NIF.shape_decode_tagged({:error}) end
    end
  end

  describe "atoms" do
    test "atoms key a BTreeMap (a total order stable within the VM) and a HashSet" do
      input = [:b, :a, :c, :a, :日本, :b, :a]
      {counts, distinct} = NIF.atom_counts(input)
      assert distinct == 4
      assert Enum.sort(counts) == Enum.sort(a: 3, b: 2, c: 1, 日本: 1)
      # The same order for the same atoms, whatever the input order.
      assert NIF.atom_counts(Enum.reverse(input)) == {counts, distinct}
      assert NIF.atom_counts(Enum.shuffle(input)) == {counts, distinct}
    end
  end

  describe "exceptions with fields" do
    test "an exception struct with arbitrary fields is raised as built" do
      error = assert_raise Oxbeam.Test.FineError, fn -> NIF.raise_fine_error(42, [:x]) end
      assert error == %Oxbeam.Test.FineError{data: 42, tags: [:x]}
      assert Exception.message(error) == "got error with data 42"
    end

    test "__struct__ and __exception__ win over fields of the same name; the last duplicate wins" do
      error =
        assert_raise Oxbeam.Test.FineError, fn -> NIF.raise_fine_error_overriding_struct() end

      assert error.data == 2
      assert error.__exception__ == true
    end
  end

  defp collect(queue, acc) do
    case NIF.queue_pop(queue, 5_000) do
      {:ok, item} -> collect(queue, [item | acc])
      :closed -> acc
      :timeout -> flunk("a consumer waited 5 s for an item")
    end
  end

  defp wait_until_empty(queue, tries \\ 500) do
    if tries == 0, do: flunk("the queue never drained")

    if NIF.queue_len(queue) == 0 do
      :ok
    else
      Process.sleep(10)
      wait_until_empty(queue, tries - 1)
    end
  end
end
