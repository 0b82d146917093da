defmodule Oxbeam.NIF.DerivesTest do
  # Paired with tests/conformance/src/derives.rs.
  use ExUnit.Case, async: true
  alias Oxbeam.Test.Conformance, as: NIF
  alias Oxbeam.Test.{NotFound, Point, Polygon, Profile}

  @m "Oxbeam.Test.Conformance"

  describe "struct" do
    test "round-trips, and extra keys are ignored" do
      assert NIF.derive_point(%Point{x: 1.5, y: 2}) == %Point{x: 3.0, y: 4.0}

      assert NIF.derive_point(Map.put(%Point{x: 1.0, y: 1.0}, :extra, 1)) == %Point{
               x: 2.0,
               y: 2.0
             }
    end

    test "field attributes: rename, defaults, Option as nil, skip" do
      given = %Profile{name: "ann", years: 30, tags: ["a"], nickname: nil, score: 5}
      assert NIF.derive_profile(given) == given

      minimal = %{__struct__: Profile, name: "bob", years: 41}

      assert NIF.derive_profile(minimal) ==
               %Profile{name: "bob", years: 41, tags: [], nickname: nil, score: 100}
    end

    test "errors: not a map, wrong __struct__, missing key, a field's value" do
      assert_raise ArgumentError,
                   "#{@m}.derive_point/1: argument 1 (point): expected a %Oxbeam.Test.Point{} struct (Point), got: {1, 2}",
                   fn -> NIF.derive_point({1, 2}) end

      assert_raise ArgumentError,
                   "#{@m}.derive_point/1: argument 1 (point): expected a %Oxbeam.Test.Point{} struct (Point), got: %{x: 1, y: 2}",
                   fn -> NIF.derive_point(%{x: 1, y: 2}) end

      assert_raise ArgumentError,
                   ~s|#{@m}.derive_point/1: argument 1 (point): expected a %Oxbeam.Test.Point{} struct (Point), got: %{__struct__: Oxbeam.Test.Profile, name: nil, nickname: nil, score: nil, tags: nil, years: nil}|,
                   fn -> NIF.derive_point(%Profile{}) end

      assert_raise ArgumentError,
                   "#{@m}.derive_profile/1: argument 1 (profile): expected a %Oxbeam.Test.Profile{} struct with the field :years (Profile), got: %{__struct__: Oxbeam.Test.Profile, name: \"x\"}",
                   fn -> NIF.derive_profile(%{__struct__: Profile, name: "x"}) end

      assert_raise ArgumentError,
                   ~s|#{@m}.derive_point/1: argument 1 (point): field :y of %Oxbeam.Test.Point{}: expected a float (f64), got: "a"|,
                   fn -> NIF.derive_point(%Point{x: 1.0, y: "a"}) end
    end
  end

  describe "map" do
    test "atom keys" do
      assert NIF.derive_settings(%{verbose: true, level: 3}) == %{verbose: true, level: 3}

      assert_raise ArgumentError,
                   "#{@m}.derive_settings/1: argument 1 (settings): expected a map (Settings), got: [verbose: true]",
                   fn -> NIF.derive_settings(verbose: true) end

      assert_raise ArgumentError,
                   "#{@m}.derive_settings/1: argument 1 (settings): expected a map with the key :level (Settings), got: %{verbose: true}",
                   fn -> NIF.derive_settings(%{verbose: true}) end

      assert_raise ArgumentError,
                   "#{@m}.derive_settings/1: argument 1 (settings): field :level of the map: expected an integer in 0..255 (u8), got: 300",
                   fn -> NIF.derive_settings(%{verbose: true, level: 300}) end
    end

    test "string keys" do
      headers = %{"content_type" => "text/plain", "X-Id" => 7}
      assert NIF.derive_headers(headers) == headers

      assert_raise ArgumentError,
                   ~s|#{@m}.derive_headers/1: argument 1 (headers): expected a map with the key "X-Id" (Headers), got: %{"content_type" => "a"}|,
                   fn -> NIF.derive_headers(%{"content_type" => "a"}) end
    end
  end

  describe "tuple and record" do
    test "round-trip" do
      assert NIF.derive_pair({1, "one"}) == {1, "one"}
      assert NIF.derive_vec3({1.0, 2.0, 3.0}) == {1.0, 2.0, 3.0}
      assert NIF.derive_user({:user, "ann", 1}) == {:user, "ann", 1}
    end

    test "errors: wrong size, wrong tag, an element" do
      assert_raise ArgumentError,
                   "#{@m}.derive_pair/1: argument 1 (pair): expected a tuple of 2 elements (Pair), got: {1}",
                   fn -> NIF.derive_pair({1}) end

      assert_raise ArgumentError,
                   "#{@m}.derive_pair/1: argument 1 (pair): element 1 of the tuple: expected a string (String), got: :one",
                   fn -> NIF.derive_pair({1, :one}) end

      assert_raise ArgumentError,
                   "#{@m}.derive_user/1: argument 1 (user): expected a :user record {:user, name, id} (User), got: {:person, \"ann\", 1}",
                   fn -> NIF.derive_user({:person, "ann", 1}) end

      assert_raise ArgumentError,
                   "#{@m}.derive_user/1: argument 1 (user): expected a :user record {:user, name, id} (User), got: {:user, \"ann\"}",
                   fn -> NIF.derive_user({:user, "ann"}) end

      assert_raise ArgumentError,
                   "#{@m}.derive_user/1: argument 1 (user): field id of the :user record: expected an integer (i64), got: \"1\"",
                   fn -> NIF.derive_user({:user, "ann", "1"}) end
    end
  end

  describe "enums" do
    test "unit variants are atoms: snake_case, rename, rename_all" do
      assert NIF.derive_color(:dark_blue) == :dark_blue
      assert NIF.derive_color(:GREEN) == :GREEN
      assert NIF.derive_mode(:"read-only") == :"read-only"

      assert_raise ArgumentError,
                   "#{@m}.derive_color/1: argument 1 (color): expected one of :red, :dark_blue, :GREEN (Color), got: :green",
                   fn -> NIF.derive_color(:green) end
    end

    test "tagged: atoms for unit variants, tagged tuples for the others" do
      for shape <- [
            :empty,
            {:circle, 1.0},
            {:rect, 1.0, 2.0},
            {:labeled, %{label: "a", sides: 3}}
          ] do
        assert NIF.derive_shape(shape) == shape
      end

      assert_raise ArgumentError,
                   "#{@m}.derive_shape/1: argument 1 (shape): expected one of :empty, {:circle, _}, {:rect, _, _}, {:labeled, %{label: _, sides: _}} (Shape), got: {:circle, 1.0, 2.0}",
                   fn -> NIF.derive_shape({:circle, 1.0, 2.0}) end

      assert_raise ArgumentError,
                   "#{@m}.derive_shape/1: argument 1 (shape): value of {:circle, _}: expected a float (f64), got: :big",
                   fn -> NIF.derive_shape({:circle, :big}) end

      assert_raise ArgumentError,
                   "#{@m}.derive_shape/1: argument 1 (shape): element 2 of {:rect, _, _}: expected a float (f64), got: nil",
                   fn -> NIF.derive_shape({:rect, 1.0, nil}) end

      assert_raise ArgumentError,
                   "#{@m}.derive_shape/1: argument 1 (shape): field :sides of {:labeled, %{label: _, sides: _}}: expected an integer in 0..4294967295 (u32), got: -1",
                   fn -> NIF.derive_shape({:labeled, %{label: "a", sides: -1}}) end
    end

    test "untagged: the first variant that decodes; the error lists what each tried" do
      for value <- [1, "text", {1, 2}, %{x: 1.0, y: 2.0}, :nothing] do
        assert NIF.derive_loose(value) == value
      end

      assert_raise ArgumentError,
                   "#{@m}.derive_loose/1: argument 1 (value): expected one of the variants of Loose (tried " <>
                     "Int: expected an integer (i64), got: [1]; Text: expected a string (String), got: [1]; " <>
                     "Pair: expected a tuple of 2 elements, got: [1]; Point: expected a map, got: [1]; " <>
                     "Nothing: expected :nothing, got: [1]), got: [1]",
                   fn -> NIF.derive_loose([1]) end
    end
  end

  describe "exception" do
    test "round-trips as an exception struct" do
      error = %NotFound{path: "/x", message: "gone"}
      assert NIF.derive_not_found(error) == error
    end

    test "Err(exception) returned from a NIF raises it" do
      assert NIF.derive_find("/here") == "found"
      error = assert_raise NotFound, fn -> NIF.derive_find("/gone") end
      assert error == %NotFound{path: "/gone", message: "no file at /gone"}
    end

    test "Err of a type that is not an exception is returned as {:error, value}" do
      assert NIF.derive_color_result(true) == {:ok, 1}
      assert NIF.derive_color_result(false) == {:error, :dark_blue}
    end

    test "raised through oxbeam::Error with ?" do
      error = assert_raise NotFound, fn -> NIF.derive_raise_not_found("/etc/x") end
      assert error == %NotFound{path: "/etc/x", message: "no file at /etc/x"}
    end
  end

  describe "generics, borrowed fields, nesting, resources" do
    test "a generic type" do
      assert NIF.derive_wrapper(%{value: [:red, :GREEN], count: 2}) ==
               %{value: [:red, :GREEN], count: 2}
    end

    test "borrowed fields: &str, Term, Binary" do
      assert NIF.derive_borrowed({"name", {:any, :term}, <<1, 2>>}) ==
               {"name", {:any, :term}, <<1, 2>>}
    end

    test "derived types inside Vec, Option, maps, tuples, Result and other derived types" do
      polygon = %Polygon{
        name: "p",
        points: [%Point{x: 0.0, y: 0.0}, %Point{x: 1.0, y: 1.0}],
        color: :red,
        shapes: %{"a" => :empty, "b" => {:circle, 2.0}},
        pairs: [{:dark_blue, {1, "x"}}]
      }

      assert NIF.derive_polygon(polygon) == polygon
      assert NIF.derive_polygon(%{polygon | color: nil}) == %{polygon | color: nil}

      assert NIF.derive_nested(
               [%Point{x: 1.0, y: 2.0}, nil],
               %{"k" => %Point{x: 3.0, y: 4.0}},
               {:ok, :red}
             ) ==
               {[%Point{x: 1.0, y: 2.0}, nil], %{"k" => %Point{x: 3.0, y: 4.0}}, {:ok, :red}}

      assert NIF.derive_nested([], %{}, {:error, {:circle, 1.0}}) ==
               {[], %{}, {:error, {:circle, 1.0}}}

      assert_raise ArgumentError,
                   "#{@m}.derive_polygon/1: argument 1 (polygon): field :points of %Oxbeam.Test.Polygon{}: element 1 of the list: field :x of %Oxbeam.Test.Point{}: expected a float (f64), got: :zero",
                   fn ->
                     NIF.derive_polygon(%{
                       polygon
                       | points: [%Point{x: 0.0, y: 0.0}, %Point{x: :zero, y: 0.0}]
                     })
                   end
    end

    test "as a resource's field" do
      boxed = NIF.derive_box_new(%Point{x: 1.0, y: 2.0})
      assert NIF.derive_box_get(boxed) == %Point{x: 1.0, y: 2.0}
    end

    test "encoding alone" do
      assert NIF.derive_encode_samples() == [:dark_blue, {:rect, 1.0, 2.0}, :nothing, 3]
    end
  end

  describe "specs" do
    defp spec(name, arity) do
      {:ok, specs} = Code.Typespec.fetch_specs(NIF)
      [spec] = for {{^name, ^arity}, [spec]} <- specs, do: spec
      Code.Typespec.spec_to_quoted(name, spec) |> one_line()
    end

    defp type(name) do
      {:ok, types} = Code.Typespec.fetch_types(NIF)
      [type] = for {:type, {^name, _, []} = type} <- types, do: type
      type |> Code.Typespec.type_to_quoted() |> one_line()
    end

    defp one_line(ast), do: ast |> Macro.to_string() |> String.replace(~r/\s+/, " ")

    test "a NIF taking or returning a derived type is specced with its @type" do
      assert spec(:derive_point, 1) == "derive_point(point()) :: point()"
      assert spec(:derive_polygon, 1) == "derive_polygon(polygon()) :: polygon()"
      assert spec(:derive_wrapper, 1) == "derive_wrapper(wrapper()) :: wrapper()"
    end

    test "each derived type has a @type of the shape it encodes to" do
      assert type(:point) == "point() :: %Oxbeam.Test.Point{x: float(), y: float()}"
      assert type(:pair) == "pair() :: {integer(), String.t()}"
      assert type(:user) == "user() :: {:user, String.t(), integer()}"
      assert type(:color) == "color() :: :red | :dark_blue | :GREEN"

      assert type(:shape) ==
               "shape() :: :empty | {:circle, float()} | {:rect, float(), float()} | " <>
                 "{:labeled, %{label: String.t(), sides: non_neg_integer()}}"

      assert type(:polygon) ==
               "polygon() :: %Oxbeam.Test.Polygon{ name: String.t(), points: [point()], color: color() | nil, " <>
                 "shapes: %{optional(String.t()) => shape()}, pairs: [{color(), pair()}] }"

      assert type(:wrapper) == "wrapper() :: %{value: term(), count: non_neg_integer()}"
    end

    test "resources are opaque types; Vec<u8> is a list of bytes, &[u8] a binary" do
      assert spec(:counter_new, 1) == "counter_new(integer()) :: counter()"
      assert spec(:counter_bump, 1) == "counter_bump(counter()) :: integer()"
      {:ok, types} = Code.Typespec.fetch_types(NIF)
      assert [_] = for({:opaque, {:counter, _, []} = t} <- types, do: t)
      assert spec(:spec_bytes, 2) == "spec_bytes([byte()], binary()) :: [byte()]"
      assert NIF.spec_bytes([1, 2], <<3>>) == [1, 2, 3]
    end

    test "#[nif(spec = ...)] replaces the derived spec" do
      assert spec(:spec_written, 1) == "spec_written(pos_integer()) :: pos_integer()"
    end

    test "Result<T, E> is T when E raises (by type: oxbeam::Error, a derived exception)" do
      assert spec(:spec_full_result, 1) == "spec_full_result(integer()) :: integer()"
      assert spec(:checked_half, 1) == "checked_half(integer()) :: integer()"
    end

    test "Result with a derived exception is its Ok type; with another type, the tuple union" do
      assert spec(:derive_find, 1) == "derive_find(String.t()) :: String.t()"

      assert spec(:derive_color_result, 1) ==
               "derive_color_result(boolean()) :: {:ok, integer()} | {:error, color()}"
    end
  end
end
