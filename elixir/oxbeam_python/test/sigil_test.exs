defmodule Oxbeam.Python.SigilTest do
  # ~PY needs Elixir >= 1.15 to be written as a sigil; here the macro is called by name.
  use ExUnit.Case, async: true
  import Oxbeam.Python, only: [sigil_PY: 2]
  alias Oxbeam.Python, as: Py

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
  end

  test "reads Elixir variables and binds what the code defines" do
    x = 40
    result = sigil_PY(<<"y = x + 2\nz = [y, y]\nlen(z)">>, [])
    assert Py.decode(result) == 2
    assert Py.decode(y) == 42
    assert Py.decode(z) == [42, 42]
  end

  test "names of branches not taken are bound to nil; functions and imports too" do
    flag = false

    sigil_PY(
      <<"import math\nif flag:\n    taken = 1\nelse:\n    other = 2\ndef f(a):\n    local = a\n    return local\nclass C:\n    pass">>,
      []
    )

    assert taken == nil
    assert Py.decode(other) == 2
    assert %Py.Object{} = f
    assert %Py.Object{} = math
  end

  test "the result is nil when the code ends with a statement" do
    assert sigil_PY(<<"a = 1">>, []) == nil
    assert Py.decode(a) == 1
  end
end
