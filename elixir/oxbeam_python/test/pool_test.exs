defmodule Oxbeam.Python.PoolTest do
  # Oxbeam.Python.Pool: real worker OS processes (hidden BEAM nodes), real crashes.
  use ExUnit.Case, async: false
  import Oxbeam.Test.Eventually
  import ExUnit.CaptureLog
  alias Oxbeam.Python, as: Py
  alias Oxbeam.Python.{Pool, RemoteError}
  alias Oxbeam.Test.Peers

  @pool Oxbeam.Python.PoolTest.Pool

  # 100 crashes in a row take 100 worker restarts (~1 s each on a quiet machine, 2-3 s
  # on a busy one): the suite runs 10; OXBEAM_POOL_CRASHES=100 runs the full count
  # (with a time limit to match).
  @crashes String.to_integer(System.get_env("OXBEAM_POOL_CRASHES", "10"))
  @moduletag timeout: max(180_000, @crashes * 6_000)

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
    Peers.distribute!()
    {:ok, pool} = Pool.start_link(name: @pool, size: 2)
    Process.unlink(pool)

    on_exit(fn -> Supervisor.stop(pool) end)

    :ok
  end

  setup do
    # Every test starts with both workers up (a crash test restarts one).
    assert eventually(fn -> length(Pool.workers(@pool)) == 2 end, 3_000, 20)
    :ok
  end

  defp worker_pid(object), do: Py.decode(object)

  defp getpid(opts \\ []) do
    {pid, _} = Py.eval("import os\nos.getpid()", %{}, [pool: @pool] ++ opts)
    pid
  end

  test "evaluates on a worker OS process; results are objects pinned to it" do
    {result, globals} = Py.eval("import os\nx = [1, 2]\n(os.getpid(), sum(x))", %{}, pool: @pool)
    worker = node(result.resource)
    assert worker in Keyword.keys(Pool.workers(@pool))
    assert node(globals["x"].resource) == worker
    {os_pid, 3} = Py.decode(result)
    assert os_pid != String.to_integer(System.pid())
    assert inspect(globals["x"]) == "#Oxbeam.Python.Object<\n  [1, 2]\n>"

    # Evals with its objects run on its worker, on the objects themselves.
    for _ <- 1..4 do
      {_, _} = Py.eval("x.append(0)", %{"x" => globals["x"]}, pool: @pool)
    end

    assert Py.decode(globals["x"]) == [1, 2, 0, 0, 0, 0]
  end

  test "output goes to the caller's group leader" do
    {:ok, device} = StringIO.open("")
    parent = self()

    spawn(fn ->
      Process.group_leader(self(), device)
      Py.eval("print('from the pool')", %{}, pool: @pool)
      send(parent, :done)
    end)

    assert_receive :done, 10_000
    assert eventually(fn -> StringIO.contents(device) == {"", "from the pool\n"} end)
  end

  test "an eval goes to the worker with the least outstanding work" do
    slow =
      Task.async(fn ->
        {pid, _} = Py.eval("import os, time\ntime.sleep(1.5)\nos.getpid()", %{}, pool: @pool)
        Py.decode(pid)
      end)

    assert eventually(fn -> Enum.any?(Pool.workers(@pool), fn {_, busy} -> busy == 1 end) end)
    # The other worker, without waiting for the slow eval.
    {time, fast} = :timer.tc(fn -> worker_pid(getpid()) end)
    assert time < 1_000_000
    assert Task.await(slow, 10_000) != fast
  end

  test "CPU-bound evals run in parallel on the workers (one GIL each)" do
    code = "import os\nsum(range(3_000_000))\nos.getpid()"

    pids =
      1..4
      |> Enum.map(fn _ ->
        Task.async(fn -> Py.decode(elem(Py.eval(code, %{}, pool: @pool), 0)) end)
      end)
      |> Enum.map(&Task.await(&1, 30_000))

    assert length(Enum.uniq(pids)) == 2
  end

  test "timeout: interrupts the eval on the worker" do
    assert_raise Py.TimeoutError, fn ->
      Py.eval("while True: pass", %{}, pool: @pool, timeout: 200)
    end
  end

  test "the caller's death stops its eval on the worker" do
    {marker, _} = Py.eval("import sys\nsys.oxbeam_ticks = 0\nsys", %{}, pool: @pool)
    code = "import time\nwhile True:\n  s.oxbeam_ticks += 1\n  time.sleep(0.001)"
    caller = spawn(fn -> Py.eval(code, %{"s" => marker}, pool: @pool) end)
    ticks = fn -> Py.decode(elem(Py.eval("s.oxbeam_ticks", %{"s" => marker}, pool: @pool), 0)) end
    assert eventually(fn -> ticks.() > 0 end)
    Process.exit(caller, :kill)

    # The loop stops (bounded wait: the kill reaches the worker, then the interrupt).
    assert stops_changing(ticks, 30, 50)

    # Its lease was given back: the worker is not counted busy for ever.
    assert eventually(fn -> Enum.all?(Pool.workers(@pool), fn {_, n} -> n == 0 end) end, 150, 20)
  end

  for {kind, code, cause} <- [
        {"a native crash", "import ctypes\nctypes.string_at(0)", "killed by signal 11 (SIGSEGV)"},
        {"an abort", "import os\nos.abort()", "killed by signal 6 (SIGABRT)"},
        {"os._exit", "import os\nos._exit(3)", "exited with status 3"}
      ] do
    test "#{kind} ends only its worker: its caller gets the cause, the others go on" do
      # A long eval on the other worker, pinned there by one of its objects.
      pid_a = getpid()
      worker_a = node(pid_a.resource)

      # (From other processes: a process's calls stay on the worker it used last.)
      other =
        Enum.find_value(1..40, fn _ ->
          pid = Task.await(Task.async(fn -> getpid() end))
          if node(pid.resource) != worker_a, do: pid
        end)

      survivor =
        Task.async(fn ->
          {r, _} = Py.eval("import time\ntime.sleep(1)\np + 1", %{"p" => other}, pool: @pool)
          Py.decode(r)
        end)

      # An object on worker_a (a list: a short scalar such as pid_a carries its value).
      {list_a, _} = Py.eval("[p]", %{"p" => pid_a}, pool: @pool)
      assert node(list_a.resource) == worker_a
      Process.sleep(200)

      log =
        capture_log(fn ->
          assert_raise RemoteError,
                       "the Python worker #{worker_a} of pool #{inspect(@pool)} exited during " <>
                         "the eval (#{unquote(cause)}); the pool starts a replacement",
                       fn -> Py.eval(unquote(code), %{"p" => pid_a}, pool: @pool) end

          # Objects that lived on it are gone, with the cause.
          assert_raise RemoteError,
                       "the Python object lived on the worker #{worker_a} of pool " <>
                         "#{inspect(@pool)}, which exited (#{unquote(cause)}): the object is gone",
                       fn -> Py.decode(list_a) end
        end)

      # A short scalar's value came with it.
      assert is_integer(Py.decode(pid_a))

      assert log =~ "worker #{worker_a} exited (#{unquote(cause)}); starting a replacement"

      # faulthandler on the worker: the log shows the Python stack of a native crash.
      if unquote(kind) == "a native crash" do
        assert log =~ "Fatal Python error: Segmentation fault"
        assert log =~ ~r/File "<string>", line 2 in <module>/
      end

      assert Task.await(survivor, 10_000) == Py.decode(other) + 1
      # A replacement starts.
      assert eventually(fn -> length(Pool.workers(@pool)) == 2 end, 3_000, 20)
      refute worker_a in Keyword.keys(Pool.workers(@pool))
    end
  end

  test "a worker killed from outside (as by the OOM killer) is reported and replaced" do
    pid = getpid()
    worker = node(pid.resource)

    sleeper =
      Task.async(fn ->
        try do
          Py.eval("import time\ntime.sleep(30)\np", %{"p" => pid}, pool: @pool)
        rescue
          error in RemoteError -> error.message
        end
      end)

    Process.sleep(300)

    capture_log(fn ->
      {_, 0} = System.cmd("kill", ["-9", Integer.to_string(Py.decode(pid))])

      assert Task.await(sleeper, 10_000) ==
               "the Python worker #{worker} of pool #{inspect(@pool)} exited during the eval " <>
                 "(killed by signal 9 (SIGKILL)); the pool starts a replacement"
    end)

    assert eventually(fn -> length(Pool.workers(@pool)) == 2 end, 3_000, 20)
  end

  test "#{@crashes} crashes in a row leave this node and the pool fine" do
    processes = length(Process.list())
    started = System.monotonic_time(:millisecond)

    capture_log(fn ->
      for _ <- 1..@crashes do
        assert_raise RemoteError, ~r/killed by signal 11 \(SIGSEGV\)/, fn ->
          Py.eval("import ctypes\nctypes.string_at(0)", %{}, pool: @pool)
        end
      end
    end)

    IO.puts(
      "\n#{@crashes} crashes in a row (each waiting for a replacement): " <>
        "#{System.monotonic_time(:millisecond) - started} ms"
    )

    {r, _} = Py.eval("21 * 2", %{}, pool: @pool)
    assert Py.decode(r) == 42
    assert eventually(fn -> length(Pool.workers(@pool)) == 2 end, 3_000, 20)
    # Nothing piles up here: no process per crash is left behind.
    assert eventually(fn -> length(Process.list()) <= processes + 5 end)
    {r, _} = Py.eval("1 + 1", %{})
    assert Py.decode(r) == 2
  end

  test "objects are released on the worker when dropped here" do
    pid = getpid()
    worker = node(pid.resource)
    # Objects of earlier tests still being released: let them go first.
    collect_garbage()
    Process.sleep(300)
    base = :erpc.call(worker, Oxbeam.Python.Remote.Tracker, :count, [])

    holder =
      spawn(fn ->
        {r, g} = Py.eval("x = [1]\nx", %{"p" => pid}, pool: @pool)

        receive do
          :stop -> {r, g}
        end
      end)

    # The result, x and p (the same object as pid: one entry more per handle).
    assert eventually(fn ->
             :erpc.call(worker, Oxbeam.Python.Remote.Tracker, :count, []) > base
           end)

    Process.exit(holder, :kill)

    assert eventually(fn ->
             :erpc.call(worker, Oxbeam.Python.Remote.Tracker, :count, []) == base
           end)

    _ = Py.decode(pid)
  end

  test "nodes: a pool over nodes that are already running" do
    {peer, node} = Peers.start!()
    {:ok, pool} = Pool.start_link(name: Oxbeam.Python.PoolTest.Nodes, nodes: [node])

    try do
      assert eventually(fn -> Pool.workers(Oxbeam.Python.PoolTest.Nodes) == [{node, 0}] end)
      {r, _} = Py.eval("[6 * 7]", %{}, pool: Oxbeam.Python.PoolTest.Nodes)
      assert node(r.resource) == node
      assert Py.decode(r) == [42]

      # The node goes down: it leaves the pool, and its objects say why they are gone.
      :peer.stop(peer)
      assert eventually(fn -> Pool.workers(Oxbeam.Python.PoolTest.Nodes) == [] end)

      assert_raise RemoteError,
                   "the Python object lived on the worker #{node} of pool " <>
                     "Oxbeam.Python.PoolTest.Nodes, which exited (the node disconnected): " <>
                     "the object is gone",
                   fn -> Py.decode(r) end
    after
      Supervisor.stop(pool)
      if Process.alive?(peer), do: :peer.stop(peer)
    end
  end

  test "erl_args: reach the workers' command line" do
    {:ok, pool} =
      Pool.start_link(
        name: Oxbeam.Python.PoolTest.Args,
        size: 1,
        erl_args: ["-env", "OXBEAM_POOL_TEST_MARK", "from erl_args"]
      )

    try do
      {r, _} =
        Py.eval("import os\nos.environ['OXBEAM_POOL_TEST_MARK']", %{},
          pool: Oxbeam.Python.PoolTest.Args
        )

      assert Py.decode(r) == "from erl_args"
    after
      Supervisor.stop(pool)
    end
  end

  test "a worker that cannot start Python: the pool does not start, saying why" do
    Process.flag(:trap_exit, true)

    assert {:error, {:shutdown, {:failed_to_start_child, {Pool.Worker, 1}, {:shutdown, message}}}} =
             Pool.start_link(
               name: Oxbeam.Python.PoolTest.NoPython,
               size: 1,
               python: "/nonexistent/python"
             )

    assert message =~
             ~r/^the worker node oxbeam_python_w1_\d+@127.0.0.1 of pool Oxbeam.Python.PoolTest.NoPython could not start Python: Python executable not found: "\/nonexistent\/python"$/
  end

  test "a node that is not distributed cannot start a pool (in a child VM)" do
    paths = Enum.flat_map(:code.get_path(), &["-pa", List.to_string(&1)])

    {output, status} =
      Oxbeam.Test.ChildVM.cmd(
        "elixir",
        paths ++ ["-e", "Oxbeam.Python.Pool.start_link(name: P, size: 1, python: \"python3\")"],
        timeout: 40
      )

    assert status == 1

    assert output =~
             "** (ArgumentError) Oxbeam.Python.Pool needs a distributed node (its workers are " <>
               "nodes): start this one with --sname or --name, or call Node.start/2 first"
  end

  test "errors: an unknown pool, bad options" do
    assert_raise ArgumentError, "no Oxbeam.Python.Pool named NoSuchPool is running", fn ->
      Py.eval("1", %{}, pool: NoSuchPool)
    end

    assert_raise ArgumentError,
                 "Oxbeam.Python.Pool: give either :size (a positive integer) or :nodes (a " <>
                   "non-empty list of node names), got: size: 0, nodes: nil",
                 fn -> Pool.start_link(name: Bad, size: 0) end

    assert_raise ArgumentError,
                 "Oxbeam.Python.Pool: give :pyproject_toml or :python (a string), not both",
                 fn -> Pool.start_link(name: Bad, size: 1, python: "a", pyproject_toml: "b") end
  end
end
