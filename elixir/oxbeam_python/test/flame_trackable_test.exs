defmodule Oxbeam.Python.FlameTrackableTest do
  # FLAME cannot be fetched here (no hex.pm): a stand-in FLAME.Trackable protocol with
  # FLAME's signature is defined, then lib/oxbeam/python/flame.ex (the real
  # implementation, which compiles to nothing without the protocol) is compiled
  # against it and called on a real object of a real peer node.
  use ExUnit.Case, async: false
  import Oxbeam.Test.Eventually
  alias Oxbeam.Python, as: Py
  alias Oxbeam.Test.Peers

  @moduletag timeout: 120_000

  setup_all do
    Oxbeam.Test.PythonEnv.init!()

    if not Code.ensure_loaded?(FLAME.Trackable) do
      Code.compile_string("""
      defprotocol FLAME.Trackable do
        def track(data, acc, node)
      end
      """)
    end

    [{impl, _}] = Code.compile_file("lib/oxbeam/python/flame.ex")
    {peer, node} = Peers.start!()
    on_exit(fn -> :peer.stop(peer) end)
    %{node: node, impl: impl}
  end

  # The protocol is defined at run time: called through apply/3.
  defp track(data, acc, node), do: apply(FLAME.Trackable, :track, [data, acc, node])

  test "a runner's object is tracked from here: kept there, with a marker pid", %{
    node: node,
    impl: impl
  } do
    assert impl == FLAME.Trackable.Oxbeam.Python.Object
    {object, keeper} = :erpc.call(node, Peers, :eval_and_keep, ["[1, 2, 3]"])
    assert Map.get(object, :remote) == nil

    {tracked, [marker]} = track(object, [], node())
    assert node(marker) == node
    assert :erpc.call(node, Process, :alive?, [marker])
    # The runner's own reference goes; the tracked handle keeps the object.
    send(keeper, :stop)
    Process.sleep(100)
    assert Py.decode(tracked) == [1, 2, 3]

    # Tracking it again from here changes nothing.
    assert track(tracked, [:acc], node()) == {tracked, [:acc]}
    {local, _} = Py.eval("1", %{})
    assert track(local, [], node()) == {local, []}
    # Dropped here: released there, and the marker (nothing else held) ends.
    _ = Py.decode(tracked)
    assert eventually(fn -> not :erpc.call(node, Process, :alive?, [marker]) end)
  end
end
