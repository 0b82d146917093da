defmodule Oxbeam.Python.RemoteEvalTest do
  # remote_eval/4 and remote objects, over real distribution to real peer nodes.
  use ExUnit.Case, async: false
  import Oxbeam.Test.Eventually
  alias Oxbeam.Python, as: Py
  alias Oxbeam.Python.RemoteError
  alias Oxbeam.Test.Peers

  @moduletag timeout: 120_000

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
    {peer, node} = Peers.start!()
    on_exit(fn -> :peer.stop(peer) end)
    %{node: node}
  end

  test "evaluates there and returns remote objects that decode and inspect here", %{
    node: node
  } do
    {result, globals} =
      Py.remote_eval(node, "import os\ny = x * 2\n(os.getpid(), y + 1)", %{"x" => 20})

    assert node(result.resource) == node
    assert node(globals["y"].resource) == node
    {pid, 41} = Py.decode(result)
    assert pid == :erpc.call(node, System, :pid, []) |> String.to_integer()
    assert pid != String.to_integer(System.pid())
    assert Py.decode(globals["y"]) == 40
    assert Py.decode(globals["x"]) == 20
    assert inspect(globals["y"]) == "#Oxbeam.Python.Object<\n  40\n>"
  end

  test "decode of a remote value holding objects gives remote objects", %{node: node} do
    {result, _} = Py.remote_eval(node, "[1, object()]", %{})
    [1, inner] = Py.decode(result)
    assert node(inner.resource) == node
    assert inspect(inner) =~ ~r/^#Oxbeam.Python.Object<\n  <object object at 0x[0-9a-f]+>\n>$/
  end

  test "objects of the node are used in place; local ones are copied there", %{node: node} do
    {list, _} = Py.remote_eval(node, "[]", %{})
    {_, _} = Py.remote_eval(node, "l.append(1)", %{"l" => list})
    {_, _} = Py.remote_eval(node, "l[0].append(2)", %{"l" => [list]})
    assert Py.decode(list) == [1, 2]

    {local, _} = Py.eval("[10]", %{})
    {result, _} = Py.remote_eval(node, "l.append(11)\n(l, [m])", %{"l" => local, "m" => list})
    assert Py.decode(result) == {[10, 11], [[1, 2]]}
    # The copy changed, not the local list.
    assert Py.decode(local) == [10]
  end

  test "copy_remote_object/1 copies a remote object here; a local one is itself", %{node: node} do
    {result, _} = Py.remote_eval(node, "{'a': [1, 2.5, b'x']}", %{})
    copy = Py.copy_remote_object(result)
    assert node(copy.resource) == node()
    assert Py.decode(copy) == %{"a" => [1, 2.5, "x"]}

    {local, _} = Py.eval("1", %{})
    assert Py.copy_remote_object(local) === local
  end

  test "a value pickle cannot serialize says so", %{node: node} do
    {result, _} = Py.remote_eval(node, "import threading\nthreading.Lock()", %{})

    assert_raise ArgumentError,
                 "cannot copy the Python object to another node: pickle failed with " <>
                   "TypeError: cannot pickle '_thread.lock' object (the cloudpickle package, " <>
                   "when installed in the environment, serializes more: functions, lambdas " <>
                   "and classes defined in an eval)",
                 fn -> Py.copy_remote_object(result) end
  end

  test "encode! of a remote object raises; eval/3 copies remote globals here", %{node: node} do
    {result, _} = Py.remote_eval(node, "[1, 2]", %{})

    assert_raise ArgumentError,
                 "cannot encode a remote Python object (it lives on node #{node}): call " <>
                   "Oxbeam.Python.copy_remote_object/1 first to get a local copy",
                 fn -> Py.encode!(result) end

    {sum, _} = Py.eval("sum(x) + len(y)", %{"x" => result, "y" => [result]})
    assert Py.decode(sum) == 4
  end

  test "output goes to the caller's group leader", %{node: node} do
    {:ok, device} = StringIO.open("")
    parent = self()

    spawn(fn ->
      Process.group_leader(self(), device)
      Py.remote_eval(node, "import os\nprint('from', os.getpid())", %{})
      send(parent, :done)
    end)

    assert_receive :done, 10_000
    worker_pid = :erpc.call(node, System, :pid, [])
    assert eventually(fn -> StringIO.contents(device) == {"", "from #{worker_pid}\n"} end)
  end

  test "Python exceptions are raised here, with remote objects", %{node: node} do
    error = assert_raise Py.Error, fn -> Py.remote_eval(node, "raise ValueError('bad')", %{}) end

    assert Exception.message(error) =~ ~r/ValueError: bad$/
    assert node(error.value.resource) == node
    assert inspect(error.value) == "#Oxbeam.Python.Object<\n  ValueError('bad')\n>"
  end

  test "timeout: interrupts the remote eval", %{node: node} do
    assert_raise Py.TimeoutError, fn ->
      Py.remote_eval(node, "while True: pass", %{}, timeout: 200)
    end
  end

  test "the caller's death stops its remote eval", %{node: node} do
    code =
      "import sys, time\nsys.oxbeam_ticks = 0\nwhile True:\n  sys.oxbeam_ticks += 1\n  time.sleep(0.001)"

    caller = spawn(fn -> Py.remote_eval(node, code, %{}) end)

    ticks = fn ->
      Py.decode(elem(Py.remote_eval(node, "import sys\nsys.oxbeam_ticks", %{}), 0))
    end

    assert eventually(fn -> ticks_started?(node) end)
    Process.exit(caller, :kill)

    # The loop stops (bounded wait: the kill reaches the worker, then the interrupt).
    assert stops_changing(ticks, 30, 50)
  end

  # How many objects `node` holds for others once this node's garbage is collected.
  defp settled(node) do
    collect_garbage()
    Process.sleep(100)
    Peers.held(node)
  end

  defp ticks_started?(node) do
    {r, _} = Py.remote_eval(node, "import sys\ngetattr(sys, 'oxbeam_ticks', 0)", %{})
    Py.decode(r) > 0
  end

  test "an object lives on its node while held here, and is released after", %{node: node} do
    base = settled(node)
    parent = self()

    holder =
      spawn(fn ->
        {result, globals} = Py.remote_eval(node, "x = [1]\ny = [2]\nx + y", %{})
        send(parent, {:held, result})

        receive do
          :drop_globals -> send(parent, {:globals, map_size(globals)})
        end

        receive do
          :stop -> send(parent, {:result, Py.decode(result)})
        end
      end)

    assert_receive {:held, result}, 10_000
    # result, x, y
    assert Peers.held(node) == base + 3
    assert Py.decode(result) == [1, 2]
    send(holder, :drop_globals)
    assert_receive {:globals, 2}
    # result is still held (also by this process); x and y are let go.
    assert eventually(fn -> Peers.held(node) == base + 1 end)
    send(holder, :stop)
    assert_receive {:result, [1, 2]}
    Process.sleep(50)
    assert Peers.held(node) == base + 1
    assert Py.decode(result) == [1, 2]
    _ = result
  end

  test "a caller that dies holding remote objects releases them", %{node: node} do
    base = settled(node)

    {pid, ref} =
      spawn_monitor(fn ->
        {_result, _globals} = Py.remote_eval(node, "a = 1\nb = [a]", %{})
        exit(:boom)
      end)

    assert_receive {:DOWN, ^ref, :process, ^pid, :boom}, 10_000
    assert eventually(fn -> Peers.held(node) == base end)
  end

  test "a holder node that goes down has its objects released", %{node: node} do
    base = settled(node)
    {peer, holder} = Peers.start!(python: false)

    objects = :erpc.call(holder, Peers, :hold_remote_result, [node, "[42]"])
    assert objects == [42]
    assert Peers.held(node) == base + 1
    :peer.stop(peer)
    assert eventually(fn -> Peers.held(node) == base end)
  end

  test "objects of a node that went down raise a clear error when used" do
    {peer, node} = Peers.start!()
    {result, _} = Py.remote_eval(node, "[1]", %{})
    :peer.stop(peer)

    message =
      "the Python object lived on node #{node}, which is down or not reachable: the " <>
        "object is gone"

    assert_raise RemoteError, message, fn -> Py.decode(result) end
    assert_raise RemoteError, message, fn -> Py.copy_remote_object(result) end
    assert inspect(result) == "#Oxbeam.Python.Object<\n  <repr failed: #{message}>\n>"

    assert_raise RemoteError,
                 "remote_eval: node #{node} is down or not reachable (it did not answer, " <>
                   "or went down during the eval)",
                 fn -> Py.remote_eval(node, "1", %{}) end
  end

  test "on this node, remote_eval is eval" do
    {result, _} = Py.remote_eval(node(), "1 + 1", %{})
    assert node(result.resource) == node()
    assert Py.decode(result) == 2
  end

  test "a node without Oxbeam.Python's code" do
    {:ok, peer, node} =
      :peer.start(%{
        name: :"bare_#{System.unique_integer([:positive])}",
        host: ~c"127.0.0.1",
        longnames: true,
        args: [~c"-hidden"]
      })

    try do
      # (The bare node logs the undefined function.)
      ExUnit.CaptureLog.capture_log(fn ->
        error = assert_raise RemoteError, fn -> Py.remote_eval(node, "1", %{}) end

        assert error.message ==
                 "node #{node} does not have Oxbeam.Python's code (:oxbeam_python) loaded"
      end)
    after
      :peer.stop(peer)
    end
  end

  test "a node without Python initialized: the error is the one from there" do
    {peer, node} = Peers.start!(python: false)

    try do
      assert_raise RuntimeError,
                   "Python interpreter is not initialized: call Oxbeam.Python.uv_init/2 or " <>
                     "Oxbeam.Python.init/1 first",
                   fn -> Py.remote_eval(node, "1", %{}) end
    after
      :peer.stop(peer)
    end
  end
end
