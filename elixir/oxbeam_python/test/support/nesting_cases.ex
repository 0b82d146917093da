defmodule Oxbeam.Test.NestingCases do
  @moduledoc """
  Deep and cyclic values, and deep Python recursion, through the Python bridge (issue
  10, item 12). Each case killed the VM before the fix, so the tests run each one in a
  child VM (`Oxbeam.Test.NestingChildVM`) and compare what it prints.

  A case returns a term; `run/1` prints `RESULT: <inspect of it>`, or, when the case
  raises, `RESULT: {:raised, module, message}` (for `Oxbeam.Python.Error`, the last
  line of the traceback: `Type: message`).
  """
  alias Oxbeam.Python, as: Py

  @depth 100_000

  def depth, do: @depth

  @doc "Runs the cases named (atoms) in this VM, printing one RESULT line each."
  def run(names) do
    Oxbeam.Test.PythonEnv.init!()

    for name <- names do
      result =
        try do
          apply(__MODULE__, name, [])
        rescue
          e in Py.Error -> {:raised, Py.Error, e.lines |> List.last() |> String.trim()}
          e -> {:raised, e.__struct__, Exception.message(e)}
        end

      IO.puts("RESULT #{name}: " <> inspect(result, limit: :infinity, printable_limit: 4096))
    end

    :ok
  end

  # -- Elixir → Python (encode!, eval globals) and back, 100_000 levels ---------------

  @doc "A value `n` levels deep: each level wraps the one below (`0` at the bottom)."
  def deep(kind, n \\ @depth)
  def deep(:list, n), do: Enum.reduce(1..n, 0, fn _, acc -> [acc] end)
  def deep(:tuple, n), do: Enum.reduce(1..n, 0, fn _, acc -> {acc} end)
  def deep(:map, n), do: Enum.reduce(1..n, 0, fn _, acc -> %{"k" => acc} end)

  @doc "How many levels `deep/2` made, counted without recursion."
  def depth_of(value, acc \\ 0)
  def depth_of([inner], acc), do: depth_of(inner, acc + 1)
  def depth_of({inner}, acc), do: depth_of(inner, acc + 1)
  def depth_of(%{"k" => inner}, acc), do: depth_of(inner, acc + 1)
  def depth_of(0, acc), do: acc

  # The depth as Python sees it (a loop, no recursion).
  @python_depth """
  d = 0
  while not isinstance(x, int):
      x = next(iter(x.values())) if isinstance(x, dict) else x[0]
      d += 1
  d
  """

  defp python_depth(globals) do
    {result, _} = Py.eval(@python_depth, globals)
    Py.decode(result)
  end

  for kind <- [:list, :tuple, :map] do
    def unquote(:"encode_deep_#{kind}")() do
      value = deep(unquote(kind))
      object = Py.encode!(value)
      {python_depth(%{"x" => object}), Py.decode(object) == value}
    end

    def unquote(:"eval_globals_deep_#{kind}")() do
      python_depth(%{"x" => deep(unquote(kind))})
    end
  end

  # -- Python → Elixir (decode), 100_000 levels -----------------------------------------

  for {kind, wrap} <- [list: "[x]", tuple: "(x,)", dict: "{'k': x}"] do
    def unquote(:"decode_deep_#{kind}")() do
      {object, _} = Py.eval("x = 0\nfor _ in range(#{@depth}):\n    x = #{unquote(wrap)}\nx", %{})
      depth_of(Py.decode(object))
    end
  end

  @doc "`repr` (what `inspect` shows) of a deep list: Python's RecursionError, no crash."
  def repr_deep_list do
    {object, _} = Py.eval("x = 0\nfor _ in range(#{@depth}):\n    x = [x]\nx", %{})
    inspect(object)
  end

  # -- Cycles ---------------------------------------------------------------------------

  defp decode_eval(code) do
    {object, _} = Py.eval(code, %{})
    Py.decode(object)
  end

  def cyclic_list, do: decode_eval("x = []\nx.append(x)\nx")
  def cyclic_dict, do: decode_eval("d = {}\nd['self'] = d\nd")
  def cyclic_through_tuple, do: decode_eval("x = [0]\nx.append((1, x))\nx")

  def cyclic_nested,
    do: decode_eval("x = [1, {'a': (2, [])}]\nx[1]['a'][1].append(x[1])\nx")

  def cyclic_bytes_key, do: decode_eval("d = {}\nd[b'a'] = [0, d]\nd")
  def cyclic_long_key, do: decode_eval("d = {}\nd['k' * 100] = d\nd")

  def cyclic_deep do
    decode_eval("""
    root = x = []
    for _ in range(#{@depth}):
        y = []
        x.append(y)
        x = y
    x.append(root)
    root
    """)
  end

  def shared_not_cyclic, do: decode_eval("a = [1]\n[a, a, (a, {'k': a})]")

  @doc "Each level refers to the level below twice: 16 objects, 2^16 leaves decoded."
  def shared_deep do
    "x = 0\nfor _ in range(16):\n    x = [x, x]\nx" |> decode_eval() |> List.flatten() |> length()
  end

  # -- CPython's own recursion ----------------------------------------------------------

  def nested_literal_199,
    do: decode_eval(~s|eval("[" * 199 + "]" * 199)|) |> depth_of_list(0)

  def nested_literal_5000, do: decode_eval(~s|eval("[" * 5000 + "]" * 5000)|)

  @doc "The snippet itself is the deep literal (compiled by the bridge, not by eval())."
  def nested_source_199 do
    {object, _} = Py.eval(String.duplicate("[", 199) <> String.duplicate("]", 199), %{})
    depth_of_list(Py.decode(object), 0)
  end

  def nested_source_5000, do: Py.eval(String.duplicate("(", 5000), %{})

  defp depth_of_list([inner], acc), do: depth_of_list(inner, acc + 1)
  defp depth_of_list([], acc), do: acc + 1

  def python_recursion,
    do: decode_eval("def f(n):\n    return f(n + 1)\nf(0)")

  @doc "Recursion through C (map → f → map …) up to 50 below the limit: C stack per level."
  def c_recursion_at_limit do
    decode_eval("""
    import sys
    limit = sys.getrecursionlimit() - 50
    def f(n):
        return n if n >= limit else list(map(f, [n + 1]))[0]
    (sys.getrecursionlimit(), f(0))
    """)
  end

  def c_recursion_beyond_limit do
    decode_eval("def f(n):\n    return list(map(f, [n + 1]))\nf(0)")
  end

  def repr_recursion_beyond_limit do
    decode_eval("""
    class R:
        def __repr__(self):
            return repr(R())
    repr(R())
    """)
  end
end
