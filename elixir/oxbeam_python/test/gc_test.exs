defmodule Oxbeam.Python.GcTest do
  # Python objects held by Elixir, released by Erlang's GC.
  use ExUnit.Case, async: false
  import Oxbeam.Test.Eventually
  alias Oxbeam.Python, as: Py

  @moduletag timeout: 300_000

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
  end

  test "dropping 1 000 000 objects does not hold up the next eval, and they are all released" do
    {_, %{"Tracked" => tracked_class, "alive" => alive}} =
      Py.eval(
        """
        alive = [0]
        class Tracked:
            def __init__(self):
                alive[0] += 1
            def __del__(self):
                alive[0] -= 1
        """,
        %{}
      )

    # One decode call gives 1 000 000 Elixir-held objects, in a process that then exits.
    {pid, ref} =
      spawn_monitor(fn ->
        {objects, _} = Py.eval("[T() for _ in range(1_000_000)]", %{"T" => tracked_class})
        objects = Py.decode(objects)
        1_000_000 = length(objects)
      end)

    assert_receive {:DOWN, ^ref, :process, ^pid, :normal}, 120_000

    # The next eval runs right away (with a timeout it must not hit) while the
    # references are released in the background.
    {result, _} = Py.eval("1 + 1", %{}, timeout: 10_000)
    assert Py.decode(result) == 2

    assert eventually(fn -> Py.decode(alive) == [0] end, 300, 50),
           "objects still alive: #{inspect(Py.decode(alive))}"

    assert eventually(fn -> Oxbeam.Python.NIF.pending_decrefs() == 0 end, 300, 50)
  end

  test "10 000 Python exceptions leave the VM and the interpreter fine" do
    for i <- 1..10_000 do
      assert_raise Py.Error, fn -> Py.eval("raise ValueError(#{i})", %{}) end
    end

    assert Py.decode(elem(Py.eval("'still here'", %{}), 0)) == "still here"
  end
end
