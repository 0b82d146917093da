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

  describe "destructor hooks with an environment" do
    test "the hook runs before Drop with an Env that sends, when the term is collected" do
      {before_hooked, _} = NIF.closer_drops()
      me = self()
      spawn(fn -> NIF.closer_new(me, 1, :env) end)
      assert_receive {:closed, 1}, 5_000
      {after_hooked, _} = NIF.closer_drops()
      assert after_hooked - before_hooked >= 1
    end

    test "OwnedEnv::send_and_clear works inside the hook (a VM thread)" do
      me = self()
      spawn(fn -> NIF.closer_new(me, 2, :owned_env) end)
      assert_receive {:closed, 2}, 5_000
    end

    test "the hook runs when the last ResourceArc is dropped inside a NIF" do
      assert NIF.closer_drop_here(self(), 3, :env) == :closed
      assert_receive {:closed, 3}, 1_000
      assert NIF.closer_drop_here(self(), 4, :owned_env) == :closed
      assert_receive {:closed, 4}, 1_000
    end

    test "OwnedEnv::send_and_clear in a NIF (outside a callback) is an error, not an abort" do
      assert_raise RuntimeError,
                   "OwnedEnv::send_and_clear called on a VM thread outside a resource callback: use Env::send inside a NIF",
                   fn -> NIF.owned_env_send_in_nif(self()) end
    end

    @tag capture_log: true
    test "a panic or raise in the hook is logged, and Drop still runs" do
      Oxbeam.Test.LogForwarder.attach(:oxbeam_fine_hooks)

      {_, without_before} = NIF.closer_drops()
      {hooked_before, _} = NIF.closer_drops()
      NIF.closer_drop_here(self(), 5, :panic)

      assert_receive {:logged,
                      "oxbeam: Oxbeam.Test.Conformance: the destructor hook of resource Closer failed: " <>
                        rest},
                     5_000

      assert rest =~
               ~r"^panicked at tests/conformance/src/fine.rs:\d+:\d+: boom in the destructor hook$"

      NIF.closer_drop_here(self(), 6, :raise)

      assert_receive {:logged,
                      "oxbeam: Oxbeam.Test.Conformance: the destructor hook of resource Closer failed: " <>
                        rest},
                     5_000

      assert rest =~
               ~r"^raised at tests/conformance/src/fine.rs:\d+:\d+: \(ArgumentError\) raised in the destructor hook$"

      # Drop ran after each failed hook (the hook had set its flag first). It runs once
      # the hook has returned, after the hook's log message was sent: wait for it.
      assert Oxbeam.Test.Eventually.eventually(fn ->
               {hooked_after, _} = NIF.closer_drops()
               hooked_after - hooked_before >= 2
             end)

      {_, without_after} = NIF.closer_drops()
      assert without_after == without_before
    end

    test "in a child VM: the hook on a thread of the library's own sends through Env and OwnedEnv" do
      {out, status} =
        Oxbeam.Test.NifChild.run("""
        alias Oxbeam.Test.Conformance, as: NIF
        :closed = NIF.closer_drop_on_thread(self(), 7, :owned_env)
        :closed = NIF.closer_drop_on_thread(self(), 8, :env)
        for id <- [7, 8] do
          receive do
            {:closed, ^id} -> IO.puts("closed \#{id}")
            other -> IO.inspect(other)
          after
            2_000 -> IO.puts("no message for \#{id}")
          end
        end
        IO.inspect(NIF.closer_drops())
        """)

      assert status == 0, out
      assert out =~ "closed 7\nclosed 8\n{2, 0}\n"
    end
  end

  describe "select" do
    test "readable: {:select, resource, ref, :ready_input} once data arrives, once per select" do
      pipe = NIF.pipe_new(self())
      ref = NIF.pipe_select(pipe, false)
      refute_receive {:select, _, _, _}, 100
      assert NIF.pipe_feed(pipe, "hello") == 5
      assert_receive {:select, ^pipe, ^ref, :ready_input}, 2_000
      assert NIF.pipe_read(pipe) == {:ok, "hello"}
      # One message per select: nothing more until selected again.
      NIF.pipe_feed(pipe, "again")
      refute_receive {:select, _, _, _}, 100
      ref2 = NIF.pipe_select(pipe, false)
      assert_receive {:select, ^pipe, ^ref2, :ready_input}, 2_000
      assert NIF.pipe_read(pipe) == {:ok, "again"}
      assert NIF.pipe_read(pipe) == :error
      assert NIF.pipe_stop(pipe) in [:called, :scheduled]
      assert_receive {:stopped, _direct}, 2_000
    end

    test "writable: :ready_output once the send buffer drains" do
      pipe = NIF.pipe_new(self())
      assert NIF.pipe_fill(pipe) > 0
      ref = NIF.pipe_select(pipe, true)
      refute_receive {:select, _, _, _}, 100
      assert NIF.pipe_drain(pipe) > 0
      assert_receive {:select, ^pipe, ^ref, :ready_output}, 2_000
      NIF.pipe_stop(pipe)
      assert_receive {:stopped, _}, 2_000
    end

    test "another process is notified, with :undefined as the ref" do
      pipe = NIF.pipe_new(self())
      me = self()

      listener =
        spawn(fn ->
          receive do
            msg -> send(me, {:listener_got, msg})
          end
        end)

      assert NIF.pipe_select_for(pipe, listener) == :ok
      NIF.pipe_feed(pipe, "x")
      assert_receive {:listener_got, {:select, ^pipe, :undefined, :ready_input}}, 2_000
      NIF.pipe_stop(pipe)
    end

    test "cancel: a pending select sends nothing; cancelling none says so" do
      pipe = NIF.pipe_new(self())
      _ref = NIF.pipe_select(pipe, false)
      assert NIF.pipe_cancel(pipe, false) == true
      NIF.pipe_feed(pipe, "data")
      refute_receive {:select, _, _, _}, 200
      assert NIF.pipe_cancel(pipe, false) == false
      NIF.pipe_stop(pipe)
      assert_receive {:stopped, _}, 2_000
    end

    test "stop without a pending select calls the stop callback directly" do
      pipe = NIF.pipe_new(self())
      _ref = NIF.pipe_select(pipe, false)
      NIF.pipe_cancel(pipe, false)
      result = NIF.pipe_stop(pipe)
      assert result in [:called, :scheduled]
      assert_receive {:stopped, direct}, 2_000
      assert direct == (result == :called)
    end

    test "many processes wait on their own pipes at once without blocking a scheduler" do
      pipes = for _ <- 1..50, do: NIF.pipe_new(self())
      refs = for pipe <- pipes, do: {pipe, NIF.pipe_select(pipe, false)}
      for pipe <- Enum.shuffle(pipes), do: NIF.pipe_feed(pipe, "go")

      for {pipe, ref} <- refs do
        assert_receive {:select, ^pipe, ^ref, :ready_input}, 5_000
        assert NIF.pipe_read(pipe) == {:ok, "go"}
        NIF.pipe_stop(pipe)
      end

      for _ <- pipes, do: assert_receive({:stopped, _}, 5_000)
    end

    test "the VM keeps a selected resource (and so its descriptor) alive until stop" do
      me = self()
      gc = fn -> Enum.each(Process.list(), &:erlang.garbage_collect/1) end

      # Control: an unselected pipe whose last term dies is dropped.
      before = NIF.pipes_dropped()
      spawn(fn -> send(me, {:made, NIF.pipe_new(me) |> is_reference()}) end)
      assert_receive {:made, _}
      Process.sleep(50)
      gc.()
      assert Oxbeam.Test.Eventually.eventually(fn -> NIF.pipes_dropped() == before + 1 end)

      # Selected: its last term dies, yet it is not dropped.
      spawn(fn ->
        pipe = NIF.pipe_new(me)
        NIF.pipe_select(pipe, false)
        send(me, :selected)
      end)

      assert_receive :selected
      Process.sleep(50)
      gc.()
      Process.sleep(200)
      assert NIF.pipes_dropped() == before + 1
    end

    @tag capture_log: true
    test "a panic in the stop callback is logged, and the VM carries on" do
      Oxbeam.Test.LogForwarder.attach(:oxbeam_fine_stop)
      pipe = NIF.pipe_new(self())
      _ref = NIF.pipe_select(pipe, false)
      assert NIF.pipe_arm_stop_panic(pipe)
      assert NIF.pipe_stop(pipe) in [:called, :scheduled]

      assert_receive {:logged,
                      "oxbeam: Oxbeam.Test.Conformance: the stop callback of resource Pipe failed: " <>
                        rest},
                     5_000

      assert rest =~ ~r"^panicked at tests/conformance/src/fine.rs:\d+:\d+: boom in stop$"
      refute_received {:stopped, _}
      assert NIF.add(1, 2) == 3
    end

    test "in a child VM: a descriptor that is not open is refused with an exact error" do
      {out, status} =
        Oxbeam.Test.NifChild.run("""
        alias Oxbeam.Test.Conformance, as: NIF
        pipe = NIF.pipe_new(self())
        try do
          NIF.pipe_select_bad_fd(pipe)
        rescue
          e in ArgumentError -> IO.puts(Exception.message(e))
        end
        IO.puts(NIF.add(1, 2))
        """)

      assert status == 0, out
      assert out == "select: fd 1000000: not a valid file descriptor\n3\n"
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

  test "the result shapes are specced as the shapes" do
    {:ok, specs} = Code.Typespec.fetch_specs(NIF)

    spec = fn name, arity ->
      [spec] = for {{^name, ^arity}, [spec]} <- specs, do: spec

      Code.Typespec.spec_to_quoted(name, spec)
      |> Macro.to_string()
      |> String.replace(~r/\s+/, " ")
    end

    assert spec.(:shape_ok, 0) == "shape_ok() :: :ok"

    assert spec.(:shape_ok2, 2) ==
             "shape_ok2(integer(), String.t()) :: {:ok, integer(), String.t()}"

    assert spec.(:divmod, 2) ==
             "divmod(integer(), integer()) :: {:ok, integer(), integer()} | {:error, String.t()}"
  end
end
