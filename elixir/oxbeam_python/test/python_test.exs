defmodule Oxbeam.PythonTest do
  # Paired with python-bridge/: the Python bridge through a real BEAM and a real CPython.
  use ExUnit.Case, async: true
  import Oxbeam.Test.Eventually
  import ExUnit.CaptureIO
  alias Oxbeam.Python, as: Py

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
  end

  defp roundtrip(value, opts \\ []), do: value |> Py.encode!(opts) |> Py.decode()

  describe "uv_init" do
    test "the same pyproject reuses its environment" do
      cache = System.get_env("OXBEAM_PYTHON_CACHE") || Path.expand("~/.cache/oxbeam_python")
      dir = Oxbeam.Python.Uv.project_dir(cache, Oxbeam.Test.PythonEnv.pyproject(), nil)
      marker = Path.join(dir, ".oxbeam-synced")
      before = File.stat!(marker, time: :posix).mtime
      assert :ok = Oxbeam.Test.PythonEnv.init!()
      assert File.stat!(marker, time: :posix).mtime == before
    end

    test "a requires-python that excludes the interpreter is a clear error" do
      pyproject = """
      [project]
      name = "needs-future-python"
      version = "0.0.0"
      requires-python = ">=3.99"
      dependencies = []
      """

      message = assert_raise(RuntimeError, fn -> Py.uv_init(pyproject) end).message
      assert message =~ "uv could not set up the Python environment for this pyproject.toml"
      assert message =~ ">=3.99"
    end
  end

  describe "eval" do
    test "the last expression is the result; a final statement gives nil" do
      {result, _} = Py.eval("x = 1\ny = x + 1\ny * 10", %{})
      assert Py.decode(result) == 20
      assert {nil, %{"x" => _}} = Py.eval("x = 1", %{})
    end

    test "globals go in as Elixir values and come out as objects" do
      {result, globals} = Py.eval("total = sum(xs)\ntotal * k", %{"xs" => [1, 2, 3], "k" => 2})
      assert Py.decode(result) == 12
      assert Py.decode(globals["total"]) == 6
      assert Py.decode(globals["xs"]) == [1, 2, 3]
      refute Map.has_key?(globals, "__builtins__")
    end

    test "global names are strings or atoms" do
      {result, globals} = Py.eval("a + b", %{"a" => 1, b: 2})
      assert Py.decode(result) == 3
      assert Map.keys(globals) == ["a", "b"]

      assert_raise ArgumentError, "globals keys must be strings or atoms, got: 1", fn ->
        Py.eval("1", %{1 => 2})
      end
    end

    test "objects can be passed back in" do
      {_, %{"d" => d}} = Py.eval("d = {'a': [1, 2]}", %{})
      {result, _} = Py.eval("d['a'].append(3)\nd", %{"d" => d})
      assert Py.decode(result) == %{"a" => [1, 2, 3]}
    end

    test "each eval has a fresh namespace" do
      Py.eval("leaked = 1", %{})

      assert_raise Py.Error, ~r/NameError: name 'leaked' is not defined/, fn ->
        Py.eval("leaked", %{})
      end
    end

    test "each eval's namespace is fresh, whatever the eval before did with its own" do
      value = fn code -> code |> Py.eval(%{}) |> elem(0) |> Py.decode() end

      # Many times: a process's evals mostly run on one dirty thread, which keeps an
      # eval's namespace for its next eval when nothing can tell it from a fresh one.
      for _ <- 1..20 do
        # Added and deleted again.
        Py.eval("x = 1\ndel x", %{})
        assert value.("'x' in globals()") == false

        # Still referred to by Python after the eval (no new global name).
        Py.eval("__import__('builtins')._oxbeam_test_kept = globals()", %{})
        assert value.("__import__('builtins')._oxbeam_test_kept is globals()") == false

        # The namespace's own entries rebound.
        Py.eval("__name__ = 'changed'\n__builtins__ = {}", %{})
        assert value.("__name__") == "__main__"
        assert value.("len([1, 2])") == 2
      end

      Py.eval("del __import__('builtins')._oxbeam_test_kept", %{})
    end
  end

  describe "conversions" do
    test "scalars, nil, booleans, atoms" do
      for v <- [0, -5, 1.5, nil, true, false, "text", <<0, 255>>, []] do
        assert roundtrip(v) === v
      end

      assert roundtrip(:atom) == "atom"
    end

    test "integers of any size, beyond Python's 4300-digit str limit" do
      for v <- [2 ** 64, -(2 ** 64), 10 ** 5000, -(10 ** 5000) + 1] do
        assert roundtrip(v) == v
      end

      {result, _} = Py.eval("10 ** 6000 + 7", %{})
      assert Py.decode(result) == 10 ** 6000 + 7
    end

    test "NaN and infinities are atoms on the Elixir side" do
      {result, _} = Py.eval("[float('nan'), float('inf'), -float('inf')]", %{})
      assert Py.decode(result) == [:nan, :infinity, :neg_infinity]

      {result, _} =
        Py.eval("import math\n[math.isnan(x[0]), x[1] == math.inf, x[2] == -math.inf]", %{
          "x" => [:nan, :infinity, :neg_infinity]
        })

      assert Py.decode(result) == [true, true, true]
    end

    test "short scalars decode without the GIL to the same values as through it" do
      code = """
      [True, False, 0, -1, 2**63 - 1, -2**63, 2**63, 1.5, -0.0, float('nan'),
       float('inf'), -float('inf'), '', 'a' * 22, 'a' * 23, 'é' * 11, 'é' * 12,
       b'', b'x' * 22, b'x' * 23]
      """

      {list, _} = Py.eval(code, %{})
      {items, _} = Py.eval("tuple(items)", %{"items" => list})

      for index <- 0..19 do
        {item, _} = Py.eval("items[#{index}]", %{"items" => items})
        assert Py.decode(item) === Oxbeam.Python.NIF.decode_with_gil(item.resource)
      end

      {item, _} = Py.eval("'é' * 11", %{})
      assert Py.decode(item) == String.duplicate("é", 11)
      {item, _} = Py.eval("2**63", %{})
      assert Py.decode(item) == 2 ** 63
    end

    test "short scalars decode while every dirty I/O scheduler is busy; other values wait" do
      busy = :erlang.system_info(:dirty_io_schedulers)
      parent = self()
      {number, _} = Py.eval("12345", %{})
      {list, _} = Py.eval("[1, 2]", %{})

      sleepers =
        for _ <- 1..busy do
          Task.async(fn ->
            code =
              "import oxbeam, time\noxbeam.send_tagged_object(parent, 'running', None)\ntime.sleep(0.5)"

            Py.eval(code, %{"parent" => parent})
            System.monotonic_time(:millisecond)
          end)
        end

      for _ <- 1..busy, do: assert_receive({:running, _}, 10_000)
      all_busy = System.monotonic_time(:millisecond)
      assert Py.decode(number) == 12345
      number_decoded = System.monotonic_time(:millisecond)
      assert Py.decode(list) == [1, 2]
      list_decoded = System.monotonic_time(:millisecond)
      sleepers_done = Enum.min(Task.await_many(sleepers, 30_000))
      # The short scalar did not wait for a dirty scheduler; the list did (until a
      # sleeper's 0.5 s sleep ended: its task notes the time a little after the
      # scheduler is free, so compare with the moment every scheduler was busy).
      assert number_decoded < sleepers_done
      assert list_decoded - all_busy >= 100
    end

    test "nested containers, tuples, sets, bytes keys" do
      value = %{
        "list" => [1, {2, [3.5, nil]}],
        7 => %{"deep" => [[]]},
        {1, 2} => MapSet.new([1, 2])
      }

      assert roundtrip(value) == value
      {result, _} = Py.eval("{b'k': frozenset([1]), 'k2': (1,)}", %{})
      assert Py.decode(result) == %{"k" => MapSet.new([1]), "k2" => {1}}
    end

    test "binaries are bytes by default and str when asked" do
      {result, _} = Py.eval("type(s).__name__", %{"s" => "héllo"})
      assert Py.decode(result) == "bytes"
      {result, _} = Py.eval("type(s).__name__", %{"s" => "héllo"}, binary_as: :str)
      assert Py.decode(result) == "str"
      {result, _} = Py.eval("type(s).__name__", %{"s" => <<255>>}, binary_as: :str)
      assert Py.decode(result) == "bytes"
    end

    test "objects that are not data stay objects, with repr as inspect" do
      {result, _} = Py.eval("import datetime\ndatetime.date(2024, 1, 2)", %{})
      assert %Py.Object{} = Py.decode(result)
      assert inspect(result) =~ "datetime.date(2024, 1, 2)"
    end

    test "a large value converts in one call" do
      xs = Enum.to_list(1..100_000)
      assert roundtrip(xs) == xs
      map = Map.new(1..10_000, &{"k#{&1}", &1})
      assert roundtrip(map) == map
    end

    test "structs go through the Encoder protocol, or a custom encoder" do
      assert_raise Protocol.UndefinedError, ~r/implement Oxbeam.Python.Encoder for URI/, fn ->
        Py.encode!(URI.parse("http://x"))
      end

      encoder = fn
        %URI{host: host}, encoder -> encoder.(host, encoder)
        other, encoder -> Py.Encoder.encode(other, encoder)
      end

      assert Py.encode!(%{"u" => URI.parse("http://x")}, encoder) |> Py.decode() == %{"u" => "x"}
    end

    test "structs inside eval globals are encoded with their Encoder" do
      point = %Oxbeam.Test.Point{x: 1, y: 2}
      {result, _} = Py.eval("[p[0] + p[1] for p in ps]", %{"ps" => [point, point]})
      assert Py.decode(result) == [3, 3]
    end

    test "terms Python cannot hold raise ArgumentError" do
      assert_raise ArgumentError, ~r/^cannot encode #Reference<.*> as a Python value$/, fn ->
        Py.encode!(make_ref())
      end
    end
  end

  describe "errors" do
    test "a Python exception raises Oxbeam.Python.Error with the traceback as message" do
      error = assert_raise Py.Error, fn -> Py.eval("def f():\n    return 1 / 0\nf()", %{}) end

      assert Exception.message(error) ==
               """
               Traceback (most recent call last):
                 File "<string>", line 3, in <module>
                 File "<string>", line 2, in f
               ZeroDivisionError: division by zero\
               """

      assert Py.decode(Py.eval("str(e)", %{"e" => error.value}) |> elem(0)) == "division by zero"
      assert inspect(error.type) =~ "ZeroDivisionError"
    end

    test "syntax errors" do
      assert_raise Py.Error, ~r/SyntaxError/, fn -> Py.eval("1 +", %{}) end
    end

    test "SystemExit and KeyboardInterrupt raised by user code do not take the VM down" do
      assert_raise Py.Error, ~r/SystemExit: 3/, fn -> Py.eval("import sys\nsys.exit(3)", %{}) end

      assert_raise Py.Error, ~r/KeyboardInterrupt/, fn ->
        Py.eval("raise KeyboardInterrupt", %{})
      end

      assert Py.decode(elem(Py.eval("1 + 1", %{}), 0)) == 2
    end
  end

  describe "output" do
    test "print goes to the caller's group leader" do
      assert capture_io(fn -> Py.eval("print('hello', 42)", %{}) end) == "hello 42\n"
    end

    test "stderr, and threads started by the eval" do
      out =
        capture_io(:stderr, fn ->
          Py.eval(
            """
            import sys, threading
            sys.stderr.write('to stderr\\n')
            t = threading.Thread(target=lambda: print('from a thread', file=sys.stderr))
            t.start()
            t.join()
            """,
            %{}
          )

          Process.sleep(100)
        end)

      assert out =~ "to stderr\n"
      assert out =~ "from a thread\n"
    end

    test "devices given in options" do
      {:ok, device} = StringIO.open("")
      Py.eval("print('to the device')", %{}, stdout_device: device)
      Process.sleep(50)
      assert StringIO.contents(device) == {"", "to the device\n"}
    end

    test "reading stdin raises in Python" do
      assert_raise Py.Error,
                   ~r/RuntimeError: stdin not supported$/,
                   fn ->
                     Py.eval("input()", %{})
                   end
    end
  end

  describe "interrupting" do
    test "a timeout interrupts the Python code and raises" do
      assert_raise Py.TimeoutError,
                   "Python eval timed out after 100 ms (interrupted with KeyboardInterrupt)",
                   fn -> Py.eval("while True:\n    pass", %{}, timeout: 100) end

      # The interpreter is fine afterwards, and a fast eval is not affected.
      assert Py.decode(elem(Py.eval("1 + 1", %{}, timeout: 5_000), 0)) == 2
    end

    test "the code sees a KeyboardInterrupt it can clean up after" do
      {_, %{"state" => state}} = Py.eval("state = {}", %{})

      assert_raise Py.TimeoutError, fn ->
        Py.eval(
          "try:\n    while True:\n        pass\nfinally:\n    state['cleaned_up'] = True",
          %{"state" => state},
          timeout: 50
        )
      end

      assert Py.decode(state) == %{"cleaned_up" => true}
    end

    test "a timeout belongs to its eval: a later eval of the process runs past it" do
      # Still running when the interrupt thread looks at its deadline first.
      assert Py.decode(elem(Py.eval("import time\ntime.sleep(0.03)\n2", %{}, timeout: 150), 0)) ==
               2

      busy =
        "import time\nend = time.monotonic() + 0.4\nwhile time.monotonic() < end:\n    pass\n'done'"

      assert Py.decode(elem(Py.eval(busy, %{}), 0)) == "done"
    end

    test "when the calling process dies, its eval is interrupted" do
      {_, %{"state" => state}} = Py.eval("state = {}", %{})
      parent = self()

      pid =
        spawn(fn ->
          # Evals before the one interrupted (each process's record is used again).
          for _ <- 1..3, do: Py.eval("1 + 1", %{}, timeout: 60_000)

          Py.eval(
            """
            import oxbeam
            oxbeam.send_tagged_object(parent, 'started', None)
            try:
                while True:
                    pass
            except KeyboardInterrupt:
                state['interrupted'] = True
            """,
            %{"state" => state, "parent" => parent}
          )
        end)

      assert_receive {:started, _}, 5_000
      Process.exit(pid, :kill)
      assert eventually(fn -> Py.decode(state) == %{"interrupted" => true} end)
    end
  end

  test "Python sends tagged objects to Elixir processes" do
    Py.eval("import oxbeam\noxbeam.send_tagged_object(pid, 'result', [1, 2])", %{"pid" => self()})
    assert_receive {:result, %Py.Object{} = object}
    assert Py.decode(object) == [1, 2]
  end

  test "C extensions load: numpy works" do
    {result, _} =
      Py.eval("import numpy as np\nnp.arange(12).reshape(3, 4).sum(axis=0).tolist()", %{})

    assert Py.decode(result) == [12, 15, 18, 21]
  end

  test "subprocess.run works inside an eval" do
    {result, _} =
      Py.eval(
        "import subprocess\nsubprocess.run(['echo', 'hi'], capture_output=True).stdout",
        %{}
      )

    assert Py.decode(result) == "hi\n"
  end

  test "objects dropped by Erlang are released by Python" do
    {_, %{"tracker" => tracker}} =
      Py.eval("import weakref\nclass T: pass\nobj = T()\ntracker = weakref.ref(obj)", %{})

    # The only strong reference left is the globals object of the eval above, which
    # this process no longer holds after GC.
    {pid, ref} =
      spawn_monitor(fn ->
        {_, _globals} =
          Py.eval("import weakref\nclass T: pass\nobj = T()\nw = weakref.ref(obj)", %{})
      end)

    assert_receive {:DOWN, ^ref, :process, ^pid, :normal}
    _ = tracker
    :erlang.garbage_collect()

    {_, %{"w" => w}} =
      Py.eval("import gc\nclass T: pass\no = T()\nimport weakref\nw = weakref.ref(o)", %{})

    :erlang.garbage_collect()
    # Nothing holds `o` but the globals map we dropped: it goes once the decref runs.
    assert eventually(fn -> Py.decode(elem(Py.eval("w() is None", %{"w" => w}), 0)) end)
  end

  test "8 concurrent sleeps overlap (the GIL is released while Python waits)" do
    parent = self()

    tasks =
      for i <- 1..8 do
        Task.async(fn ->
          send(parent, {:started, i, System.monotonic_time()})
          Py.eval("import time\ntime.sleep(0.2)", %{})
          send(parent, {:finished, i, System.monotonic_time()})
        end)
      end

    Task.await_many(tasks, 30_000)
    starts = for _ <- 1..8, do: assert_receive({:started, _, t}) && t
    ends = for _ <- 1..8, do: assert_receive({:finished, _, t}) && t
    # Every eval started before any finished: they ran at the same time.
    assert Enum.max(starts) < Enum.min(ends)
  end
end
