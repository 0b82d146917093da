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

  test "scale/2 takes and returns a struct (a derived type)" do
    assert Hello.scale(%Hello.Point{x: 1.0, y: 2.0}, 3) == %Hello.Point{x: 3.0, y: 6.0}

    assert_raise ArgumentError,
                 ~s|Hello.scale/2: argument 1 (point): field :y of %Hello.Point{}: expected a float (f64), got: "a"|,
                 fn -> Hello.scale(%Hello.Point{x: 1.0, y: "a"}, 2) end
  end

  test "scale/2's @spec uses the derived type's @type" do
    {:ok, [{{:scale, 2}, [spec]}]} =
      with {:ok, specs} <- Code.Typespec.fetch_specs(Hello),
           do: {:ok, Enum.filter(specs, &match?({{:scale, 2}, _}, &1))}

    assert Code.Typespec.spec_to_quoted(:scale, spec) |> Macro.to_string() ==
             "scale(point(), number()) :: point()"

    {:ok, types} = Code.Typespec.fetch_types(Hello)
    [point] = for {:type, {:point, _, []} = type} <- types, do: type

    assert Code.Typespec.type_to_quoted(point) |> Macro.to_string() ==
             "point() :: %Hello.Point{x: float(), y: float()}"
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

  test "this project has no Python bridge: it depends on :oxbeam only, not :oxbeam_python" do
    assert Application.spec(:oxbeam, :vsn)
    assert Application.spec(:oxbeam_python, :vsn) == nil
    assert Code.ensure_loaded(Oxbeam.Python) == {:error, :nofile}
  end
end
