defmodule Oxbeam.NIF.ResourcesTest do
  # Paired with tests/conformance/src/resources.rs.
  use ExUnit.Case, async: true
  import Oxbeam.Test.Eventually
  alias Oxbeam.Test.Conformance, as: NIF

  @mod "Oxbeam.Test.Conformance"

  test "a counter incremented from many processes at once ends exact" do
    counter = NIF.counter_new(0)

    1..100
    |> Task.async_stream(fn _ -> for _ <- 1..1000, do: NIF.counter_bump(counter) end,
      max_concurrency: 100
    )
    |> Stream.run()

    assert NIF.counter_get(counter) == 100_000
  end

  test "Drop runs when the last term and the last ResourceArc are gone" do
    before = NIF.tracked_dropped()

    {pid, ref} =
      spawn_monitor(fn ->
        resource = NIF.tracked_new()
        {copy, same?} = NIF.tracked_clone_pair(resource)
        true = same?
        send(self(), {copy, resource})
      end)

    assert_receive {:DOWN, ^ref, :process, ^pid, :normal}
    # The process heap holding the terms is gone; the dtor ran on its exit.
    assert eventually(fn -> NIF.tracked_dropped() - before >= 1 end)
  end

  test "a resource kept by a term survives garbage collection" do
    resource = NIF.tracked_new()
    collect_garbage()
    {_copy, true} = NIF.tracked_clone_pair(resource)
  end

  test "a monitor's down callback fires when the monitored process exits" do
    target = spawn(fn -> receive do: (:stop -> :ok) end)
    _watcher = NIF.watch(target, self())
    send(target, :stop)
    assert_receive {:down, ^target}, 5_000
  end

  test "demonitor: no down after unwatch" do
    target = spawn(fn -> receive do: (:stop -> :ok) end)
    watcher = NIF.watch(target, self())
    assert NIF.unwatch(watcher)
    refute NIF.unwatch(watcher)
    ref = Process.monitor(target)
    send(target, :stop)
    assert_receive {:DOWN, ^ref, _, _, _}
    refute_receive {:down, ^target}, 100
  end

  test "monitoring a dead process raises" do
    {pid, ref} = spawn_monitor(fn -> :ok end)
    assert_receive {:DOWN, ^ref, _, _, _}

    assert_raise ArgumentError, "cannot monitor a process that is not alive", fn ->
      NIF.watch(pid, self())
    end
  end

  test "a resource binary keeps its resource alive after the resource term is dropped" do
    before = NIF.tracked_dropped()

    binary =
      (fn ->
         blob = NIF.blob_new(1000)
         NIF.blob_binary(blob)
       end).()

    collect_garbage()
    Process.sleep(10)
    assert byte_size(binary) == 1000
    assert binary == :binary.list_to_bin(Enum.map(0..999, &rem(&1, 256)))
    assert NIF.tracked_dropped() - before < 1_000_000

    # Once the binary is gone too, the blob is dropped.
    {pid, ref} =
      spawn_monitor(fn ->
        _ = NIF.blob_binary(NIF.blob_new(10))
      end)

    assert_receive {:DOWN, ^ref, :process, ^pid, :normal}
    assert eventually(fn -> NIF.tracked_dropped() - before >= 1_000_000 end)
  end

  test "a thread spawned by a NIF sends 100 progress messages and a result, in order" do
    assert NIF.report_from_thread(self(), 100) == :started

    for i <- 1..100 do
      assert_receive {:progress, ^i}, 5_000
    end

    assert_receive {:done, 100}, 5_000
  end

  test "send, self and whereis" do
    assert NIF.send_to(self(), {:hello, [1]}) == :done
    assert_receive {:hello, [1]}
    assert NIF.self_pid() == self()
    Process.register(self(), :oxbeam_resources_test)
    assert NIF.whereis(:oxbeam_resources_test) == self()
    assert NIF.whereis(:nobody_has_this_name) == nil
  end

  test "sending to a dead process raises" do
    {pid, ref} = spawn_monitor(fn -> :ok end)
    assert_receive {:DOWN, ^ref, _, _, _}

    assert_raise ArgumentError, "cannot send to a process that is not alive", fn ->
      NIF.send_to(pid, :hello)
    end
  end

  test "the wrong resource type raises, naming the expected type" do
    counter = NIF.counter_new(1)

    message = assert_raise(ArgumentError, fn -> NIF.blob_binary(counter) end).message

    assert message =~
             ~r/^#{@mod}.blob_binary\/1: argument 1 \(blob\): expected a Blob resource \(ResourceArc<Blob>\), got: #Reference<.*>$/

    assert_raise ArgumentError,
                 "#{@mod}.counter_bump/1: argument 1 (counter): expected a Counter resource (ResourceArc<Counter>), got: :nope",
                 fn -> NIF.counter_bump(:nope) end
  end

  test "while a dirty NIF sleeps, normal NIFs from other processes keep answering and finish first" do
    parent = self()

    dirty =
      spawn(fn ->
        send(parent, {:dirty_started, System.monotonic_time()})
        result = NIF.dirty_sleep(300)
        send(parent, {:dirty_finished, result, System.monotonic_time()})
      end)

    assert_receive {:dirty_started, _}

    normal_done =
      for _ <- 1..20 do
        Task.async(fn ->
          for _ <- 1..100, do: NIF.add(1, 2)
          System.monotonic_time()
        end)
      end
      |> Task.await_many(10_000)

    assert_receive {:dirty_finished, :finished, dirty_end}, 10_000
    assert Enum.all?(normal_done, &(&1 < dirty_end))
    refute Process.alive?(dirty)
    assert NIF.dirty_spin(5) == :finished
  end

  test "consume_timeslice reports when the slice is used up" do
    assert NIF.consume_timeslice(10) in 10..11
    assert NIF.consume_timeslice(100) == 1
  end

  test "saved terms outlive the call that made them" do
    saved = NIF.save_term(%{list: [1, 2, 3], bin: "x"})
    collect_garbage()
    assert NIF.load_term(saved) == %{list: [1, 2, 3], bin: "x"}
  end

  test "a VM mutex guards state shared by many processes" do
    log = NIF.log_new()

    1..50
    |> Task.async_stream(fn i -> for j <- 1..20, do: NIF.log_append(log, i * 100 + j) end)
    |> Stream.run()

    entries = NIF.log_entries(log)
    assert length(entries) == 1000
    assert Enum.sort(entries) == Enum.sort(for i <- 1..50, j <- 1..20, do: i * 100 + j)
  end

  test "the load hook decodes typed load info into private data" do
    assert NIF.loaded_greeting() == "loaded with a typed load info"
  end
end
