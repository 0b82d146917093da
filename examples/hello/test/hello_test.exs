defmodule HelloTest do
  use ExUnit.Case, async: true

  test "add/2 adds integers" do
    assert Hello.add(40, 2) == 42
    assert Hello.add(-1, 1) == 0
  end

  test "greet/1 takes and returns a UTF-8 string" do
    assert Hello.greet("José") == "Hello, José!"
  end

  test "sum/1 sums a list" do
    assert Hello.sum([]) == 0
    assert Hello.sum(Enum.to_list(1..100)) == 5050
  end

  test "a bad argument says which one, what was expected and what came" do
    assert_raise ArgumentError,
                 "Hello.sum/1: argument 1 (numbers): element 2 of the list: expected an integer (i64), got: :three",
                 fn -> Hello.sum([1, 2, :three]) end
  end

  test "the stubs carry the Rust docs" do
    {:docs_v1, _, _, _, _, _, docs} = Code.fetch_docs(Hello)

    assert [%{"en" => "Adds two integers."}] =
             for({{:function, :add, 2}, _, _, doc, _} <- docs, do: doc)
  end

  test "this project builds without oxbeam's Python bridge (config :oxbeam, python: false)" do
    assert_raise RuntimeError,
                 "Oxbeam.Python is disabled in this build (config :oxbeam, python: false)",
                 fn -> Oxbeam.Python.eval("1", %{}) end
  end
end
