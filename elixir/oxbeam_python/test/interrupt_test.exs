defmodule Oxbeam.Python.InterruptTest do
  # A caller's death interrupts its eval whatever state the eval is in, and an eval's
  # interrupt registration never outlives it (issue 10, item 13).
  use ExUnit.Case, async: false
  alias Oxbeam.Python, as: Py
  alias Oxbeam.Test.HazardChild

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
  end

  test "an eval whose caller dies while the eval waits for the GIL never runs its code" do
    parent = self()
    {_, %{"state" => state}} = Py.eval("state = []", %{})

    # Holds the GIL for 1.5 s: a ctypes.PyDLL call does not release it (CDLL would).
    holder =
      Task.async(fn ->
        Py.eval(
          """
          import ctypes, oxbeam
          usleep = ctypes.PyDLL(None).usleep
          oxbeam.send_tagged_object(parent, 'holding', None)
          usleep(1_500_000)
          """,
          %{"parent" => parent}
        )
      end)

    assert_receive {:holding, _}, 5_000

    waiting = spawn(fn -> Py.eval("state.append('waiting eval ran')", %{"state" => state}) end)

    # The waiting eval is now blocked on the GIL; its caller dies.
    Process.sleep(300)
    ref = Process.monitor(waiting)
    Process.exit(waiting, :kill)
    assert_receive {:DOWN, ^ref, _, _, :killed}
    Task.await(holder, 10_000)

    # Once the GIL is free the waiting eval sees that its caller is gone and stops
    # before running any code.
    Process.sleep(1_000)
    assert Py.decode(state) == []
    # The dirty scheduler it ran on is free again.
    assert Py.decode(elem(Py.eval("1 + 1", %{}), 0)) == 2
  end

  test "a timeout that passes while the eval waits for the GIL raises without running the code" do
    parent = self()

    holder =
      Task.async(fn ->
        Py.eval(
          """
          import ctypes, oxbeam
          usleep = ctypes.PyDLL(None).usleep
          oxbeam.send_tagged_object(parent, 'holding', None)
          usleep(1_000_000)
          """,
          %{"parent" => parent}
        )
      end)

    assert_receive {:holding, _}, 5_000

    assert_raise Py.TimeoutError,
                 "Python eval timed out after 200 ms, before its code started to run",
                 fn ->
                   Py.eval(
                     "import oxbeam\noxbeam.send_tagged_object(parent, 'timed_eval_ran', None)",
                     %{"parent" => parent},
                     timeout: 200
                   )
                 end

    Task.await(holder, 10_000)
    refute_received {:timed_eval_ran, _}
  end

  test "an eval that unwinds out of the NIF leaves no registration behind: its caller's exit interrupts nothing later" do
    # One dirty I/O scheduler: every eval runs on the same thread. The first eval
    # unwinds out of the NIF (Python code raises pyo3's PanicException, which pyo3
    # turns back into a Rust panic); then its caller exits, and a later eval on the same
    # thread must not get a KeyboardInterrupt meant for the dead caller.
    {output, status} =
      HazardChild.run(
        ~S"""
        # Any exception fetched by pyo3 creates its PanicException type.
        try do
          Oxbeam.Python.eval("raise ValueError('first')", %{})
        rescue
          _ -> :ok
        end

        pid =
          spawn(fn ->
            try do
              Oxbeam.Python.eval(
                "P = [c for c in BaseException.__subclasses__() if c.__name__ == 'PanicException'][0]\nraise P('unwound')",
                %{}
              )
            rescue
              e -> IO.puts("first eval: " <> Exception.message(e))
            end
          end)

        # Its caller exits (the interrupt thread reacts to that).
        Stream.repeatedly(fn -> Process.sleep(10) end)
        |> Enum.find(fn _ -> not Process.alive?(pid) end)

        Process.sleep(300)

        {result, _} =
          Oxbeam.Python.eval("import time\nfor _ in range(30):\n    time.sleep(0.01)\n'finished'", %{})

        IO.puts("later eval: " <> Oxbeam.Python.decode(result))
        """,
        erl: "+SDio 1"
      )

    assert status == 0, output
    assert output =~ "first eval: panicked: unwound\n"
    assert output =~ "later eval: finished\n"
  end

  test "with timeouts and killed callers all around, an interrupt only lands in its own eval" do
    busy = fn ms ->
      "import time\nend = time.monotonic() + #{ms / 1000}\nwhile time.monotonic() < end:\n    pass\n'ok'"
    end

    value = fn code, opts -> code |> Py.eval(%{}, opts) |> elem(0) |> Py.decode() end

    # Callers killed while their eval runs (their interrupt comes from the thread that
    # also serves the deadlines below).
    killer =
      Task.async(fn ->
        for delay <- Stream.cycle([3, 7, 12]) |> Enum.take(30) do
          victim = spawn(fn -> Py.eval("while True:\n    pass", %{}) end)
          Process.sleep(delay)
          Process.exit(victim, :kill)
        end
      end)

    # Each worker: an eval that meets its deadline, one that does not, one without any.
    workers =
      for _ <- 1..4 do
        Task.async(fn ->
          for _ <- 1..15 do
            ok = value.(busy.(2), timeout: 5_000)

            timed_out =
              try do
                Py.eval("while True:\n    pass", %{}, timeout: 15)
                :ran_on
              rescue
                Py.TimeoutError -> :timed_out
              end

            {ok, timed_out, value.(busy.(2), [])}
          end
        end)
      end

    results = Enum.flat_map(workers, &Task.await(&1, 60_000))
    Task.await(killer, 60_000)

    assert Enum.uniq(results) == [{"ok", :timed_out, "ok"}]
    # Nothing left running: the interpreter is free.
    assert value.("1 + 1", timeout: 5_000) == 2
  end
end
