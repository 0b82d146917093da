defmodule Oxbeam.NIF.UpgradeTest do
  # Hot code upgrade: the module is reloaded with a new library image (a real copy of
  # the library, so dlopen maps it anew), and resources made by the old image stay
  # usable; their destructors now run the new image's code (resource type takeover).
  # Not async: it replaces Oxbeam.Test.Conformance while no other test uses it.
  use ExUnit.Case, async: false
  import Oxbeam.Test.Eventually
  alias Oxbeam.Test.Conformance, as: NIF

  @tag :tmp_dir
  test "hot upgrade keeps existing resources usable", %{tmp_dir: tmp_dir} do
    counter = NIF.counter_new(41)
    # A resource made by the old image, held by a process until it exits.
    test_pid = self()

    holder =
      spawn(fn ->
        tracked = NIF.tracked_new()
        send(test_pid, :holding)
        receive(do: (:exit -> tracked))
      end)

    assert_receive :holding
    assert NIF.counter_bump(counter) == 42

    [library] =
      Path.wildcard(Application.app_dir(:oxbeam, "priv/native/liboxbeam_conformance-*.so"))

    copy = Path.join(tmp_dir, "liboxbeam_conformance-upgraded.so")
    File.cp!(library, copy)

    :ok = Oxbeam.Test.NifStubs.reload(NIF, copy, {:greeting, "upgraded"})
    assert :code.is_loaded(NIF) != false
    assert :erlang.check_old_code(NIF)

    # The new image ran its load hook with the new load info.
    assert NIF.loaded_greeting() == "upgraded"

    # The old resource works through the new code.
    assert NIF.counter_bump(counter) == 43
    assert NIF.counter_get(counter) == 43
    # New resources too.
    assert NIF.counter_bump(NIF.counter_new(0)) == 1

    # The new image counts its own drops: the old resource's destructor is now its.
    assert NIF.tracked_dropped() == 0
    ref = Process.monitor(holder)
    send(holder, :exit)
    assert_receive {:DOWN, ^ref, _, _, _}
    assert eventually(fn -> NIF.tracked_dropped() >= 1 end)

    # Purging the old code unloads the old library image: its unload hook runs.
    marker = Path.join(tmp_dir, "unloaded")
    System.put_env("OXBEAM_TEST_UNLOAD_MARKER", marker)

    try do
      assert :code.soft_purge(NIF)
      # The VM unloads the library once no scheduler can still be running old code.
      assert eventually(fn -> File.exists?(marker) end)
      assert File.read!(marker) == "unloaded"
    after
      System.delete_env("OXBEAM_TEST_UNLOAD_MARKER")
    end

    assert NIF.counter_get(counter) == 43
  end
end
