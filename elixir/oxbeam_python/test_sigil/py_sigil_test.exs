defmodule Oxbeam.Python.PySigilTest do
  # ~PY written as a sigil, as Pythonx users write it (Elixir >= 1.15 parses it).
  use ExUnit.Case, async: true
  import Oxbeam.Python
  alias Oxbeam.Python, as: Py

  test "reads Elixir variables, binds what the code defines, returns the last value" do
    x = 1

    result = ~PY"""
    y = 10
    x + y
    """

    assert Py.decode(result) == 11
    assert x == 1
    assert Py.decode(y) == 10
  end

  test "augmented assignment, walrus, match captures" do
    x = 1
    nums = [1, 2, 3]

    ~PY"""
    x += 1
    squares = [last := n * n for n in nums]
    match squares:
        case [first, *rest]:
            pass
    """

    assert Py.decode(x) == 2
    assert Py.decode(last) == 9
    assert Py.decode(first) == 1
    assert Py.decode(rest) == [4, 9]
  end

  test "builtins stay Python's; except-as leaves an Elixir variable alone" do
    len = :elixir_len
    e = :elixir_e

    ~PY"""
    n = len([1, 2])
    try:
        1 / 0
    except ZeroDivisionError as e:
        message = str(e)
    """

    assert Py.decode(n) == 2
    assert {len, e} == {:elixir_len, :elixir_e}
    assert Py.decode(message) == "division by zero"
  end

  test "a trailing None expression is an object; a statement gives nil" do
    assert %Py.Object{} = none = ~PY"None"
    assert Py.decode(none) == nil
    assert ~PY"z = 1" == nil
    assert Py.decode(z) == 1
  end

  test "uppercase names, as Pythonx's sigil test" do
    {result, binding} =
      Code.eval_string(~S'''
      import Oxbeam.Python

      ~PY"""
      ANSWER = 42
      """

      ~PY"""
      ANSWER + 1
      """
      ''')

    assert [ANSWER: %Py.Object{}] = binding
    assert Py.decode(result) == 43
  end

  test "no unused-variable diagnostics for names the caller does not use" do
    {_result, diagnostics} =
      Code.with_diagnostics(fn ->
        Code.eval_string(~s'''
        defmodule PySigilUnused#{System.unique_integer([:positive])} do
          import Oxbeam.Python

          def run do
            ~PY"""
            x = 1
            _private = 2
            """
          end
        end
        ''')
      end)

    assert diagnostics == []
  end

  test "a decoded set equals MapSet.new/1 on this Elixir too" do
    assert Py.decode(~PY"{1, 2}") == MapSet.new([1, 2])
    assert Py.decode(~PY"frozenset()") == MapSet.new()
  end

  test "only the variables the code reads are passed (binding pruned)" do
    quoted =
      Code.string_to_quoted!(~S'''
      import Oxbeam.Python
      ~PY"""
      x + 1
      """
      ''')

    {_result, binding, _env} =
      Code.eval_quoted_with_env(quoted, [x: 1, unused: 1], Code.env_for_eval([]),
        prune_binding: true
      )

    assert Keyword.keys(binding) == [:x]
  end
end
