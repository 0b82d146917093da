defmodule Oxbeam.Python.SmallCallTest do
  # Paired with python-bridge/src/object.rs (`singleton`): the objects CPython keeps one
  # of (None, False, True, the ints -5 to 256) are handed out as one kept resource
  # each, so a small eval allocates none; identity and behaviour stay the same.
  use ExUnit.Case, async: true
  alias Oxbeam.Python, as: Py

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
  end

  defp result(code), do: code |> Py.eval(%{}) |> elem(0)

  test "None, booleans and small ints from different evals share one resource each" do
    for code <- ["None", "True", "False", "2", "-5", "256"] do
      a = result(code)
      b = result("x = #{code}\nx")
      assert a.resource == b.resource, code
      assert Py.decode(a) == Py.decode(b)
    end

    # Other objects (a larger int, a float) get a resource of their own.
    for code <- ["257", "-6", "2.0", "'s'"] do
      assert result(code).resource != result(code).resource, code
    end
  end

  test "a shared object is still the very Python object" do
    {_, %{"a" => a, "t" => t, "n" => n}} = Py.eval("a = 7\nt = True\nn = None", %{})

    assert Py.decode(result("1 + 1")) == 2

    assert Py.eval("(a is int('7'), t is True, n is None, a + 1)", %{"a" => a, "t" => t, "n" => n})
           |> elem(0)
           |> Py.decode() == {true, true, true, 8}

    assert inspect(result("None")) =~ "None"
    assert inspect(result("255")) =~ "255"
  end

  test "None decodes without the GIL, also while every dirty I/O scheduler is busy" do
    none = result("None")
    assert Py.decode(none) === nil
    assert Oxbeam.Python.NIF.decode_with_gil(none.resource) === nil

    busy = :erlang.system_info(:dirty_io_schedulers)
    parent = self()

    sleepers =
      for _ <- 1..busy do
        Task.async(fn ->
          code =
            "import oxbeam, time\noxbeam.send_tagged_object(p, 'running', None)\ntime.sleep(0.5)"

          Py.eval(code, %{"p" => parent})
          System.monotonic_time(:millisecond)
        end)
      end

    for _ <- 1..busy, do: assert_receive({:running, _}, 10_000)
    assert Py.decode(none) === nil
    decoded = System.monotonic_time(:millisecond)
    assert decoded < Enum.min(Task.await_many(sleepers, 30_000))
  end
end
