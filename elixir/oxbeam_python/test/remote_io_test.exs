defmodule Oxbeam.Python.RemoteIoTest do
  # Output when the caller's group leader is on another node (an :erpc call, a remote
  # shell, FLAME): a real peer node (OTP's :peer), over real distribution.
  use ExUnit.Case, async: false
  import Oxbeam.Test.Eventually
  alias Oxbeam.Python, as: Py

  @moduletag timeout: 60_000

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
    started_here = not Node.alive?()

    if started_here do
      {_, 0} = System.cmd("epmd", ["-daemon"])
      name = :"oxbeam_py_#{System.unique_integer([:positive])}@127.0.0.1"
      {:ok, _} = Node.start(name, :longnames)
    end

    {:ok, peer, node} =
      :peer.start(%{
        name: :"peer_#{System.unique_integer([:positive])}",
        host: ~c"127.0.0.1",
        longnames: true
      })

    :ok = :erpc.call(node, :code, :add_paths, [:code.get_path()])

    on_exit(fn ->
      :peer.stop(peer)
      if started_here, do: Node.stop()
    end)

    %{node: node}
  end

  # A StringIO device on the peer (not linked to the short-lived :erpc process).
  defp remote_device(node) do
    {_keeper, device} = :erpc.call(node, Oxbeam.Test.RemoteDevice, :start, [])
    assert node(device) == node
    device
  end

  defp contents(device) do
    {_, output} = :erpc.call(node(device), StringIO, :contents, [device])
    output
  end

  test "a group leader on another node gets the output", %{node: node} do
    device = remote_device(node)
    parent = self()

    spawn(fn ->
      Process.group_leader(self(), device)

      result =
        Py.eval(
          "import threading\nprint('from Python')\n" <>
            "t = threading.Thread(target=lambda: print('from a thread'))\nt.start()\nt.join()",
          %{}
        )

      send(parent, {:done, result})
    end)

    assert_receive {:done, {_, %{"t" => _}}}, 10_000
    assert eventually(fn -> contents(device) == "from Python\nfrom a thread\n" end)
  end

  test "an :erpc call from the other node evaluates, output going back there", %{node: node} do
    device = remote_device(node)
    group_leader = Process.group_leader()
    Process.group_leader(self(), device)

    try do
      # The peer calls back into this node: the process running eval here has the
      # peer's group leader, as with :erpc from a remote shell.
      assert :erpc.call(node, :erpc, :call, [
               node(),
               Oxbeam.Test.RemoteDevice,
               :eval_decoded,
               ["import sys\nprint('via erpc')\nsys.stdout.write('more\\n')\n40 + 2"]
             ]) == 42
    after
      Process.group_leader(self(), group_leader)
    end

    assert eventually(fn -> contents(device) == "via erpc\nmore\n" end)
  end

  test "stdout_device: a pid on another node", %{node: node} do
    device = remote_device(node)
    Py.eval("print('to a remote device')", %{}, stdout_device: device, stderr_device: device)
    assert eventually(fn -> contents(device) == "to a remote device\n" end)
  end
end
