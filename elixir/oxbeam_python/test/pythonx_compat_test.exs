defmodule Oxbeam.Python.PythonxCompatTest do
  # Behaviour a Pythonx user relies on (Pythonx's documented behaviour and its own test
  # suite), with the same values, exception types and messages.
  use ExUnit.Case, async: true
  import ExUnit.CaptureIO
  import Oxbeam.Python, only: [sigil_PY: 2]
  alias Oxbeam.Python, as: Py

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
  end

  defp repr(%Py.Object{resource: resource}), do: Py.NIF.repr(resource)

  defp eval_result(code) do
    assert {result, %{}} = Py.eval(code, %{})
    result
  end

  describe "eval" do
    test "code ending in an expression gives an object, None included" do
      assert %Py.Object{} = result = eval_result("None")
      assert Py.decode(result) == nil
      assert repr(result) == "None"
      assert %Py.Object{} = eval_result("print")
      assert {%Py.Object{} = none, %{"x" => _}} = Py.eval("x = 1\nNone", %{})
      assert Py.decode(none) == nil
    end

    test "code ending in a statement, or empty, gives nil" do
      assert {nil, %{"x" => _}} = Py.eval("x = None", %{})
      assert eval_result("") == nil
      assert eval_result("# Comment") == nil
      assert eval_result("pass") == nil
    end

    test "unknown options raise ArgumentError (Keyword.validate!)" do
      assert_raise ArgumentError,
                   "unknown keys [:stdout] in [stdout: :x], the allowed keys are: " <>
                     "[:stdout_device, :stderr_device, :binary_as, :timeout, :pool]",
                   fn -> Py.eval("1", %{}, stdout: :x) end
    end
  end

  describe "conversions" do
    test "a decoded set equals MapSet.new/1 of its elements" do
      assert Py.decode(eval_result("{1, 2, 3}")) == MapSet.new([1, 2, 3])
      assert Py.decode(eval_result("frozenset({1})")) == MapSet.new([1])
      assert Py.decode(eval_result("set()")) == MapSet.new()

      assert Py.decode(eval_result("[{'a'}, (frozenset(),)]")) == [
               MapSet.new(["a"]),
               {MapSet.new()}
             ]

      # Elixir's own API agrees: the struct is the real one, fields included.
      set = Py.decode(eval_result("{1, 2}"))
      assert MapSet.member?(MapSet.put(set, 3), 3)
      assert MapSet.to_list(MapSet.union(set, MapSet.new([2, 5]))) == [1, 2, 5]
      assert Map.keys(set) == Map.keys(MapSet.new([1]))
    end

    test "a pid comes back as the same pid; its Python repr is <oxbeam.PID>" do
      pid = self()
      assert {result, %{"pid" => _}} = Py.eval("pid", %{"pid" => pid})
      assert Py.decode(result) == pid
      assert repr(Py.encode!(pid)) == "<oxbeam.PID>"
      assert Py.decode(Py.encode!([pid, {pid}])) == [pid, {pid}]

      assert Py.decode(eval_result("import oxbeam\noxbeam.PID")) |> repr() ==
               "<class 'oxbeam.PID'>"
    end

    test "encode! of an object returns that object" do
      object = Py.encode!(1)
      assert Py.encode!(object) == object
      assert Py.encode!(object, &Py.Encoder.encode/2) == object
    end

    test "atoms other than nil/true/false encode as str; :nan and the infinities as floats" do
      assert repr(Py.encode!(nil)) == "None"
      assert repr(Py.encode!(false)) == "False"
      assert repr(Py.encode!(true)) == "True"
      assert repr(Py.encode!(:hello)) == "'hello'"
      assert repr(Py.encode!(Elixir.Kernel)) == "'Elixir.Kernel'"
      assert repr(Py.encode!([:a, %{b: :c}])) == "['a', {'b': 'c'}]"
      assert repr(Py.encode!(:nan)) == "nan"
      assert repr(Py.encode!(:infinity)) == "inf"
      assert repr(Py.encode!(:neg_infinity)) == "-inf"
    end

    test "a bitstring that is not a binary raises Protocol.UndefinedError" do
      for value <- [<<1::4>>, [1, <<1::4>>], %{"k" => {<<1::1>>}}] do
        error = assert_raise Protocol.UndefinedError, fn -> Py.encode!(value) end
        assert error.protocol == Py.Encoder
        assert is_bitstring(error.value) and not is_binary(error.value)
        assert Exception.message(error) =~ "cannot encode a bitstring as a Python object"
      end

      assert_raise Protocol.UndefinedError, fn -> Py.eval("x", %{"x" => <<1::7>>}) end
      assert repr(Py.encode!(<<65, 255>>)) == ~S"b'A\xff'"
    end

    test "a custom encoder is applied at every nesting level, tuples in lists too" do
      # Pythonx's own example: tuples become lists.
      encoder = fn
        tuple, encoder when is_tuple(tuple) -> Py.Encoder.encode(Tuple.to_list(tuple), encoder)
        other, encoder -> Py.Encoder.encode(other, encoder)
      end

      assert repr(Py.encode!({1, 2}, encoder)) == "[1, 2]"
      assert repr(Py.encode!([{1, 2}, [{3}]], encoder)) == "[[1, 2], [[3]]]"
      assert repr(Py.encode!(%{"k" => {1, {2}}}, encoder)) == "{b'k': [1, [2]]}"
      assert repr(Py.encode!({[{1}]}, encoder)) == "[[[1]]]"

      # Every term, at every level, goes through the encoder.
      doubling = fn
        n, _encoder when is_integer(n) -> Py.encode!(n * 2)
        other, encoder -> Py.Encoder.encode(other, encoder)
      end

      assert Py.decode(Py.encode!([1, {2, [3]}, %{4 => 5}], doubling)) ==
               [2, {4, [6]}, %{8 => 10}]

      assert Py.decode(Py.encode!(MapSet.new([1]), doubling)) == MapSet.new([2])
    end
  end

  describe "output" do
    test "stdout goes to the caller's group leader, stderr to :standard_error" do
      stderr =
        capture_io(:stderr, fn ->
          stdout =
            capture_io(fn ->
              Py.eval("import sys\nprint('out')\nprint('err', file=sys.stderr)", %{})
            end)

          assert stdout == "out\n"
        end)

      assert stderr == "err\n"
    end

    test "stdin raises RuntimeError: stdin not supported" do
      for code <- ["input()", "import sys\nsys.stdin.read()", "import sys\nsys.stdin.readline()"] do
        error = assert_raise Py.Error, fn -> Py.eval(code, %{}) end
        assert List.last(error.lines) == "RuntimeError: stdin not supported\n"
      end
    end
  end

  describe "init" do
    test "Pythonx's low-level form checks its paths with Pythonx's messages" do
      python = Oxbeam.Test.HazardChild.python()

      assert_raise ArgumentError,
                   "the given dynamic library file does not exist: /nonexistent/libpython3.so",
                   fn -> Py.init("/nonexistent/libpython3.so", "/", python) end

      assert_raise ArgumentError,
                   "the given python home directory does not exist: /nonexistent",
                   fn -> Py.init(python, "/nonexistent", python) end

      assert_raise ArgumentError,
                   "the given python executable does not exist: /nonexistent/python",
                   fn -> Py.init(python, "/", "/nonexistent/python", sys_paths: []) end

      assert_raise ArgumentError, ~r/unknown keys \[:path\]/, fn ->
        Py.init(python, "/", python, path: [])
      end
    end

    test "Pythonx's low-level form initializes (the same environment again is a no-op)" do
      python = Oxbeam.Test.HazardChild.python()

      {libpython, 0} =
        System.cmd(python, [
          "-c",
          "import sysconfig, os; print(os.path.join(sysconfig.get_config_var('LIBDIR'), " <>
            "sysconfig.get_config_var('LDLIBRARY')), end='')"
        ])

      {home, 0} = System.cmd(python, ["-c", "import sys; print(sys.base_prefix, end='')"])
      assert Py.init(libpython, home, python) == :ok
      assert Py.init(libpython, home, python, sys_paths: []) == :ok
      assert Py.init(python) == :ok
      assert Py.init(python, sys_paths: []) == :ok
    end
  end

  describe "install_paths/0 and install_env/0" do
    test "name the running environment's directories and the variables that find it again" do
      {result, _} = Py.eval("import sys\n(sys.base_prefix, sys.executable)", %{})
      {base_prefix, executable} = Py.decode(result)
      venv = executable |> Path.dirname() |> Path.dirname()
      assert Py.install_paths() == [venv, base_prefix]
      assert File.exists?(Path.join(venv, "pyvenv.cfg"))

      cache = System.get_env("OXBEAM_PYTHON_CACHE") || Path.expand("~/.cache/oxbeam_python")
      assert %{"OXBEAM_PYTHON_CACHE" => ^cache} = Py.install_env()
      assert String.starts_with?(venv, cache)
    end
  end

  describe "~PY" do
    test "augmented assignment reads the Elixir variable" do
      x = 1
      sigil_PY(<<"x += 1">>, [])
      assert Py.decode(x) == 2
    end

    test "walrus targets and match captures are bound" do
      nums = [1, 2, 3]
      sigil_PY(<<"squares = [last := n * n for n in nums]">>, [])
      assert Py.decode(last) == 9
      assert Py.decode(squares) == [1, 4, 9]

      subject = %{"x" => 1, "y" => 2}

      sigil_PY(
        <<"match {k.decode(): v for k, v in subject.items()}:\n    case {'x': x, **rest}:\n        found = x\n    case [first, *more] as whole:\n        pass">>,
        []
      )

      assert Py.decode(x) == 1
      assert Py.decode(found) == 1
      assert Py.decode(rest) == %{"y" => 2}
      assert first == nil and more == nil and whole == nil
    end

    test "uppercase names are bound and read" do
      {result, binding} =
        Code.eval_string(~S'''
        import Oxbeam.Python, only: [sigil_PY: 2]
        sigil_PY(<<"ANSWER = 42">>, [])
        sigil_PY(<<"ANSWER + 1">>, [])
        ''')

      assert [ANSWER: %Py.Object{}] = binding
      assert Py.decode(result) == 43
    end

    test "builtins are not shadowed by Elixir variables unless the code assigns them" do
      len = 5
      sum = :not_a_function
      assert Py.decode(sigil_PY(<<"len([1, 2]) + sum([1])">>, [])) == 3
      assert len == 5 and sum == :not_a_function

      list = [1]
      sigil_PY(<<"list = list + [2]">>, [])
      assert Py.decode(list) == [1, 2]
    end

    test "except ... as e does not clobber an Elixir e" do
      e = :elixir_e
      sigil_PY(<<"try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    msg = str(e)">>, [])
      assert e == :elixir_e
      assert Py.decode(msg) == "division by zero"
    end

    test "function, lambda and comprehension locals and parameters are not read from Elixir" do
      n = "not a number"
      y = "not a number"
      a = "not a number"
      x = 10

      result =
        sigil_PY(
          <<"def f(y):\n    a = y * 2\n    return a + x\ng = lambda a: a + 1\n[f(n) + g(n) for n in range(2)]">>,
          []
        )

      assert Py.decode(result) == [11, 14]
      assert {n, y, a} == {"not a number", "not a number", "not a number"}
      assert %Py.Object{} = f
      assert %Py.Object{} = g
    end

    test "the analysis: what is read and what is defined" do
      cases = [
        {"x = 1", [], ["x"]},
        {"x, y = 1, 2", [], ["x", "y"]},
        {"x += 1", ["x"], ["x"]},
        {"x: int = 1", [], ["x"]},
        {"import ast\nimport numpy.random\nimport math as m", [], ["ast", "m", "numpy"]},
        {"from math import pi\nfrom numpy.linalg import dot, inv", [], ["dot", "inv", "pi"]},
        {"def fun():\n  import ast\n  x = 1\n  return x + 1", [], ["fun"]},
        {"def fun(x=x):\n  return x", ["x"], ["fun"]},
        {"class Cl:\n  def fun():\n    x = 1\n    return x + y", ["y"], ["Cl"]},
        {"[num * num for num in nums]", ["nums"], []},
        {"{num: num for num in nums}", ["nums"], []},
        {"(n for n in nums)", ["nums"], []},
        {"[x * x for x in x]", ["x"], []},
        {"[square := num * num for num in nums]", ["nums"], ["square"]},
        {"{num: (square := num * num) for num in nums}", ["nums"], ["square"]},
        {"x = lambda a, b: a + b", [], ["x"]},
        {"for num in nums:\n  num", ["nums"], ["num"]},
        {"if True:\n  x = 1\nelse:\n  y = 2", [], ["x", "y"]},
        {"match s:\n  case [x] if x > 0:\n    a = 1\n  case tuple():\n    b = 1", ["s"],
         ["a", "b", "x"]},
        {"match s:\n  case [x] as y:\n    a = y", ["s"], ["a", "x", "y"]},
        {"x = 1\nx + 1", [], ["x"]},
        {"x + 1\nx = 1", ["x"], ["x"]},
        {"x = x + 1", ["x"], ["x"]},
        {"print(1)\nlen([])", [], []},
        {"sum = sum + 1", ["sum"], ["sum"]},
        {"try:\n  pass\nexcept E as e:\n  m = e", ["E"], ["m"]},
        {"def f():\n  global G\n  G = 1", [], ["G", "f"]},
        {"ANSWER = 42", [], ["ANSWER"]}
      ]

      for {code, reads, defines} <- cases do
        assert Oxbeam.Python.Sigil.analyze!(code) == {reads, defines}, code
      end
    end
  end
end
