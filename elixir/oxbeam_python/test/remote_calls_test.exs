defmodule Oxbeam.Python.RemoteCallsTest do
  # Short immutable scalars from another node (remote_eval/4, a pool) carry their
  # value: decode/1 makes no call, they are not tracked, and the object is made again
  # from the value where it is needed. And one distribution round trip per call, in
  # the caller's executor there.
  # Real peer nodes, real distribution.
  use ExUnit.Case, async: false
  import Oxbeam.Test.Eventually
  alias Oxbeam.Python, as: Py
  alias Oxbeam.Python.{Pool, RemoteError}
  alias Oxbeam.Test.Peers

  @moduletag timeout: 120_000
  @pool Oxbeam.Python.RemoteCallsTest.Pool

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
    {peer, node} = Peers.start!()
    {:ok, pool} = Pool.start_link(name: @pool, size: 1)
    Process.unlink(pool)

    on_exit(fn ->
      Supervisor.stop(pool)
      :peer.stop(peer)
    end)

    %{node: node}
  end

  # Messages this node sent to `node` (the distribution socket's send count: one per
  # message, ticks aside, which are not sent while there is traffic).
  defp sent_to(node) do
    {^node, port} = List.keyfind(:erlang.system_info(:dist_ctrl), node, 0)
    {:ok, [send_cnt: count]} = :inet.getstat(port, [:send_cnt])
    count
  end

  # Messages `node` sent to this node, read there (through `port`, its distribution
  # port to this node): the :erpc call that reads it sends one message back first.
  defp received_from(node, port) do
    {:ok, [send_cnt: count]} = :erpc.call(node, :inet, :getstat, [port, [:send_cnt]])
    count
  end

  defp dist_port_on(node) do
    me = node()
    {^me, port} = List.keyfind(:erpc.call(node, :erlang, :system_info, [:dist_ctrl]), me, 0)
    port
  end

  @scalars [
    {"None", nil, "NoneType", "None"},
    {"True", true, "bool", "True"},
    {"2 ** 62 + 1", 2 ** 62 + 1, "int", "4611686018427387905"},
    {"-7", -7, "int", "-7"},
    {"2.5", 2.5, "float", "2.5"},
    {"float('nan')", :nan, "float", "nan"},
    {"'héllo'", "héllo", "str", "'héllo'"},
    {"b'\\x00ab'", <<0, ?a, ?b>>, "bytes", "b'\\x00ab'"}
  ]

  test "a scalar from remote_eval decodes here, even once its node is gone" do
    {peer, node} = Peers.start!()

    results =
      for {code, value, _type, _repr} <- @scalars do
        {result, _} = Py.remote_eval(node, code, %{})
        assert node(result.resource) == node
        {result, value}
      end

    {list, _} = Py.remote_eval(node, "[1]", %{})
    :peer.stop(peer)

    # No call: the node is down, and the values are still there.
    for {result, value} <- results, do: assert(Py.decode(result) == value)

    # An object that is not a short scalar still lives only there.
    assert_raise RemoteError, ~r/^the Python object lived on node .*: the object is gone$/, fn ->
      Py.decode(list)
    end
  end

  test "decode of a scalar sends no message; an eval is one message each way and a reply",
       %{node: node} do
    {result, globals} = Py.remote_eval(node, "x = 'ab'\n40 + 2", %{})
    {list, _} = Py.remote_eval(node, "[1, 2]", %{})
    :erlang.garbage_collect()
    Process.sleep(100)

    before = sent_to(node)
    for _ <- 1..100, do: 42 = Py.decode(result)
    for _ <- 1..100, do: "ab" = Py.decode(globals["x"])
    assert sent_to(node) == before

    # A list is decoded there: one call (a monitor, the request, a demonitor).
    before = sent_to(node)
    assert Py.decode(list) == [1, 2]
    assert sent_to(node) - before == 3

    # eval + decode of a scalar: out, the monitor of the caller's executor there, the
    # request and the demonitor; back, the reply (before: 5 out and 11 back).
    n = 50
    port = dist_port_on(node)
    sent = sent_to(node)
    received = received_from(node, port)
    for _ <- 1..n, do: 2 = Py.decode(elem(Py.remote_eval(node, "1 + 1", %{}), 0))
    received = received_from(node, port) - received
    sent = sent_to(node) - sent
    # (Each received_from/2 is one message out, two back, one of them counted.)
    assert sent in (3 * n + 2)..(3 * n + 4), "#{sent - 2} messages out for #{n} evals"
    assert received in (n + 2)..(n + 5), "#{received - 2} messages back for #{n} evals"
  end

  test "a scalar from a pool decodes with no message to its worker" do
    {result, _} = Py.eval("6 * 7", %{}, pool: @pool)
    worker = node(result.resource)
    :erlang.garbage_collect()
    Process.sleep(100)
    before = sent_to(worker)
    assert Py.decode(result) == 42
    assert sent_to(worker) == before

    # The pool's worker is stopped: the value is still there.
    os_pid = Py.decode(elem(Py.eval("import os\nos.getpid()", %{}, pool: @pool), 0))

    ExUnit.CaptureLog.capture_log(fn ->
      System.cmd("kill", ["-KILL", Integer.to_string(os_pid)])
      assert eventually(fn -> worker not in Node.list(:hidden) end)
      assert Py.decode(result) == 42
      assert eventually(fn -> match?([_], Pool.workers(@pool)) end, 30_000)
    end)
  end

  test "a scalar is not held on its node; a longer value is", %{node: node} do
    base = settled(node)
    {short, globals} = Py.remote_eval(node, "s = 'x' * 22\n2 ** 63 - 1", %{})
    assert Peers.held(node) == base
    assert Py.decode(short) == 2 ** 63 - 1
    assert Py.decode(globals["s"]) == String.duplicate("x", 22)

    # 23 bytes (or an int past 64 bits) is a tracked object.
    {long, globals} = Py.remote_eval(node, "s = 'x' * 23\n2 ** 63", %{})
    assert Peers.held(node) == base + 2
    assert Py.decode(long) == 2 ** 63
    assert Py.decode(globals["s"]) == String.duplicate("x", 23)
    _ = {long, globals}
  end

  test "a scalar is still a remote object: inspect, globals there and here, copies",
       %{node: node} do
    for {code, value, type, repr} <- @scalars do
      {result, _} = Py.remote_eval(node, code, %{})
      assert inspect(result) == "#Oxbeam.Python.Object<\n  #{repr}\n>"

      # On its node it is made again from its value: the same type and value.
      {there, _} =
        Py.remote_eval(node, "import os\n(type(x).__name__, x, os.getpid())", %{"x" => result})

      {^type, ^value, os_pid} = Py.decode(there)
      assert os_pid != String.to_integer(System.pid())

      # Here (eval/3 copies it) and with copy_remote_object/1.
      {here, _} = Py.eval("(type(x).__name__, x)", %{"x" => result})
      assert Py.decode(here) == {type, value}
      copy = Py.copy_remote_object(result)
      assert node(copy.resource) == node()
      assert Py.decode(copy) == value
      {copy_type, _} = Py.eval("type(x).__name__", %{"x" => copy})
      assert Py.decode(copy_type) == type

      assert_raise ArgumentError, ~r/^cannot encode a remote Python object/, fn ->
        Py.encode!(result)
      end
    end
  end

  test "a pool scalar used in a pool eval runs on its worker" do
    {x, _} = Py.eval("'abc'", %{}, pool: @pool)
    {y, _} = Py.eval("import os\n(x + 'd', os.getpid())", %{"x" => x}, pool: @pool)
    assert node(y.resource) == node(x.resource)
    assert {"abcd", _} = Py.decode(y)
  end

  test "a caller that made calls before is still stopped when it dies", %{node: node} do
    code =
      "import sys, time\nsys.oxbeam_loop = 0\nwhile True:\n  sys.oxbeam_loop += 1\n  time.sleep(0.001)"

    caller =
      spawn(fn ->
        # Watched since this call (once for its life): the next call reuses the watch.
        2 = Py.decode(elem(Py.remote_eval(node, "1 + 1", %{}), 0))
        Py.remote_eval(node, code, %{})
      end)

    loop = fn ->
      Py.decode(elem(Py.remote_eval(node, "import sys\ngetattr(sys, 'oxbeam_loop', 0)", %{}), 0))
    end

    assert eventually(fn -> loop.() > 0 end)
    Process.exit(caller, :kill)

    assert stops_changing(loop, 10_000, 100)
  end

  test "a caller that dies while its call is in flight leaves nothing held", %{node: node} do
    base = settled(node)

    for _ <- 1..20 do
      {pid, ref} = spawn_monitor(fn -> Py.remote_eval(node, "x = [1]\n[2]", %{}) end)
      Process.sleep(:rand.uniform(3))
      Process.exit(pid, :kill)
      assert_receive {:DOWN, ^ref, :process, ^pid, _}
    end

    assert eventually(fn -> Peers.held(node) == base end, 5_000, 50)
  end

  test "a process's calls to a node run in one executor there, made again if it is gone",
       %{node: node} do
    parent = self()

    spawn(fn ->
      2 = Py.decode(elem(Py.remote_eval(node, "1 + 1", %{}), 0))
      processes = :erpc.call(node, :erlang, :system_info, [:process_count])
      for _ <- 1..50, do: 2 = Py.decode(elem(Py.remote_eval(node, "1 + 1", %{}), 0))
      # (No process made per call: the :erpc calls' own processes are gone.)
      send(parent, {:grew, :erpc.call(node, :erlang, :system_info, [:process_count]) - processes})

      # Its executor killed between two calls: the next call makes another.
      executor = Process.get({Oxbeam.Python.Remote, node})
      assert node(executor) == node
      Process.exit(executor, :kill)
      send(parent, {:after_kill, Py.decode(elem(Py.remote_eval(node, "3 * 3", %{}), 0))})
      send(parent, {:new, Process.get({Oxbeam.Python.Remote, node}) != executor})
    end)

    assert_receive {:grew, grew}, 10_000
    assert grew <= 0
    assert_receive {:after_kill, 9}, 10_000
    assert_receive {:new, true}
  end

  test "a timeout stops the eval, not the executor: the next call runs there", %{node: node} do
    parent = self()

    spawn(fn ->
      2 = Py.decode(elem(Py.remote_eval(node, "1 + 1", %{}), 0))
      executor = Process.get({Oxbeam.Python.Remote, node})

      error =
        try do
          Py.remote_eval(node, "while True: pass", %{}, timeout: 200)
        rescue
          error in Py.TimeoutError -> error
        end

      next = Py.decode(elem(Py.remote_eval(node, "3 * 3", %{}), 0))
      send(parent, {:done, error, next, Process.get({Oxbeam.Python.Remote, node}) == executor})
    end)

    assert_receive {:done, %Py.TimeoutError{}, 9, true}, 10_000
  end

  test "a caller's executor goes when the caller dies", %{node: node} do
    parent = self()

    caller =
      spawn(fn ->
        2 = Py.decode(elem(Py.remote_eval(node, "1 + 1", %{}), 0))
        send(parent, {:executor, Process.get({Oxbeam.Python.Remote, node})})
        Process.sleep(:infinity)
      end)

    assert_receive {:executor, executor}, 10_000
    assert :erpc.call(node, Process, :alive?, [executor])
    Process.exit(caller, :kill)
    assert eventually(fn -> not :erpc.call(node, Process, :alive?, [executor]) end)
  end

  test "first calls from many processes at once to a node just started" do
    {peer, node} = Peers.start!()

    try do
      results =
        1..16
        |> Enum.map(fn i -> Task.async(fn -> Py.remote_eval(node, "[#{i}]", %{}) end) end)
        |> Enum.map(&Task.await(&1, 30_000))
        |> Enum.map(fn {result, _} -> Py.decode(result) end)

      assert results == Enum.map(1..16, &[&1])
    after
      :peer.stop(peer)
    end
  end

  test "a process's pool evals stay on the worker it used last while the pool is idle" do
    {:ok, pool} = Pool.start_link(name: Oxbeam.Python.RemoteCallsTest.Pool2, size: 2)

    try do
      assert eventually(fn -> length(Pool.workers(Oxbeam.Python.RemoteCallsTest.Pool2)) == 2 end)

      nodes =
        for _ <- 1..20 do
          {r, _} = Py.eval("1", %{}, pool: Oxbeam.Python.RemoteCallsTest.Pool2)
          node(r.resource)
        end

      assert length(Enum.uniq(nodes)) == 1
    after
      Supervisor.stop(pool)
    end
  end

  test "an object dropped here is freed there while its caller's executor is idle",
       %{node: node} do
    code = """
    import sys, weakref
    class Thing: pass
    thing = Thing()
    sys.oxbeam_thing = weakref.ref(thing)
    thing
    """

    alive? = fn ->
      Py.decode(elem(Py.remote_eval(node, "import sys\nsys.oxbeam_thing() is not None", %{}), 0))
    end

    # Made by this process's executor there, which then has nothing more to do.
    {thing, _} = Py.remote_eval(node, code, %{})
    assert node(thing.resource) == node

    # (From another process: this one's executor must stay idle.)
    assert Task.await(Task.async(alive?))
    _ = thing
    thing = nil
    _ = thing
    :erlang.garbage_collect()
    assert eventually(fn -> not Task.await(Task.async(alive?)) end, 5_000, 100)
  end

  # The held count once the objects of earlier tests are let go.
  defp settled(node) do
    :erlang.garbage_collect()
    Process.sleep(100)
    Peers.held(node)
  end
end
