defmodule Oxbeam.NIF.SerdeTest do
  # Paired with tests/conformance/src/serde.rs.
  use ExUnit.Case, async: true
  import Bitwise
  alias Oxbeam.Test.Conformance, as: NIF
  alias Oxbeam.Test.{NifChild, Point, Polygon}

  @m "Oxbeam.Test.Conformance"

  @polygon %Polygon{
    name: "p",
    points: [%Point{x: 0.0, y: 0.0}, %Point{x: 1.0, y: 1.0}],
    color: :dark_blue,
    shapes: %{"a" => :empty, "b" => {:circle, 2.0}, "c" => {:labeled, %{label: "l", sides: 3}}},
    pairs: [{:red, {1, "x"}}]
  }

  describe "the derive and serde forms of the same type" do
    test "decode to equal values and encode to the same term" do
      for {fun, term} <- [
            {:serde_both_point, %Point{x: 1.5, y: -2.0}},
            {:serde_both_settings, %{verbose: true, level: 3, nickname: nil}},
            {:serde_both_settings, %{verbose: false, level: 0, nickname: "n"}},
            {:serde_both_pair, {1, "one"}},
            {:serde_both_color, :red},
            {:serde_both_color, :dark_blue},
            {:serde_both_shape, :empty},
            {:serde_both_shape, {:circle, 1.0}},
            {:serde_both_shape, {:rect, 1.0, 2.0}},
            {:serde_both_shape, {:labeled, %{label: "a", sides: 3}}},
            {:serde_both_polygon, @polygon},
            {:serde_both_polygon, %{@polygon | color: nil, points: [], shapes: %{}}}
          ] do
        assert apply(NIF, fun, [term]) == {term, term, true}, "#{fun}(#{inspect(term)})"
      end
    end

    test "a missing Option field reads as nil in both; extra keys are ignored by both" do
      assert NIF.serde_both_settings(%{verbose: true, level: 1, other: 2}) ==
               {%{verbose: true, level: 1, nickname: nil},
                %{verbose: true, level: 1, nickname: nil}, true}

      assert NIF.serde_both_point(Map.put(%Point{x: 1.0, y: 2.0}, :extra, 1)) ==
               {%Point{x: 1.0, y: 2.0}, %Point{x: 1.0, y: 2.0}, true}
    end

    test "generated polygons: the same terms both ways (property)" do
      :rand.seed(:exsss, {11, 12, 13})

      for _ <- 1..200 do
        polygon = random_polygon()
        assert NIF.serde_both_polygon(polygon) == {polygon, polygon, true}
        assert NIF.serde_polygon(polygon) == polygon
      end
    end
  end

  describe "errors: the derive's messages" do
    test "structs and maps: not a map, wrong __struct__, missing key, a field's value" do
      for {term, message} <- [
            {{1, 2}, "expected a %Oxbeam.Test.Point{} struct (Point), got: {1, 2}"},
            {%{x: 1, y: 2}, "expected a %Oxbeam.Test.Point{} struct (Point), got: %{x: 1, y: 2}"},
            {%{__struct__: Polygon, x: 1.0, y: 1.0},
             "expected a %Oxbeam.Test.Point{} struct (Point), got: %{__struct__: Oxbeam.Test.Polygon, x: 1.0, y: 1.0}"},
            {%{__struct__: Point, x: 1.0},
             "expected a %Oxbeam.Test.Point{} struct with the field :y (Point), got: %{__struct__: Oxbeam.Test.Point, x: 1.0}"},
            {%Point{x: 1.0, y: "a"},
             ~s|field :y of %Oxbeam.Test.Point{}: expected a float (f64), got: "a"|}
          ] do
        assert NIF.serde_messages_point(term) == {message, message}
      end

      for {term, message} <- [
            {[verbose: true], "expected a map (Settings), got: [verbose: true]"},
            {%{verbose: true},
             "expected a map with the key :level (Settings), got: %{verbose: true}"},
            {%{verbose: true, level: 300},
             "field :level of the map: expected an integer in 0..255 (u8), got: 300"},
            {%{verbose: 1, level: 3},
             "field :verbose of the map: expected a boolean (bool), got: 1"}
          ] do
        assert NIF.serde_messages_settings(term) == {message, message}
      end
    end

    test "tuples: wrong size, an element" do
      for {term, message} <- [
            {{1}, "expected a tuple of 2 elements (Pair), got: {1}"},
            {[1, "a"], "expected a tuple of 2 elements (Pair), got: [1, \"a\"]"},
            {{1, :one}, "element 1 of the tuple: expected a string (String), got: :one"}
          ] do
        assert NIF.serde_messages_pair(term) == {message, message}
      end
    end

    test "enums: a variant's value, element, field, map" do
      for {term, message} <- [
            {{:circle, :big}, "value of {:circle, _}: expected a float (f64), got: :big"},
            {{:rect, 1.0, nil}, "element 2 of {:rect, _, _}: expected a float (f64), got: nil"},
            {{:labeled, %{label: "a", sides: -1}},
             "field :sides of {:labeled, %{label: _, sides: _}}: expected an integer in 0..4294967295 (u32), got: -1"},
            {{:labeled, %{label: "a"}},
             "expected a map with the key :sides (in {:labeled, %{label: _, sides: _}} of Shape), got: %{label: \"a\"}"},
            {{:labeled, 5},
             "{:labeled, %{label: _, sides: _}}: expected a map (in {:labeled, %{label: _, sides: _}} of Shape), got: 5"}
          ] do
        assert NIF.serde_messages_shape(term) == {message, message}
      end
    end

    test "enums: an unknown variant or a wrong shape lists the variants by name only" do
      # serde tells the deserializer the variants' names, not their shapes.
      assert NIF.serde_messages_color(:green) ==
               {"expected one of :red, :dark_blue (Color), got: :green",
                "expected one of :red, :dark_blue (Color), got: :green"}

      assert NIF.serde_messages_shape({:circle, 1.0, 2.0}) ==
               {"expected one of :empty, {:circle, _}, {:rect, _, _}, {:labeled, %{label: _, sides: _}} (Shape), got: {:circle, 1.0, 2.0}",
                "expected one of :empty, :circle, :rect, :labeled (Shape), got: {:circle, 1.0, 2.0}"}

      assert NIF.serde_messages_shape("circle") ==
               {"expected one of :empty, {:circle, _}, {:rect, _, _}, {:labeled, %{label: _, sides: _}} (Shape), got: \"circle\"",
                "expected one of :empty, :circle, :rect, :labeled (Shape), got: \"circle\""}
    end

    test "nested: the whole path" do
      bad = %{@polygon | points: [%Point{x: 0.0, y: 0.0}, %Point{x: :zero, y: 0.0}]}

      message =
        "field :points of %Oxbeam.Test.Polygon{}: element 1 of the list: field :x of %Oxbeam.Test.Point{}: expected a float (f64), got: :zero"

      assert NIF.serde_messages_polygon(bad) == {message, message}

      bad = %{@polygon | shapes: %{"a" => {:rect, 1.0, "2"}}}

      message =
        ~s|field :shapes of %Oxbeam.Test.Polygon{}: value at key "a": element 2 of {:rect, _, _}: expected a float (f64), got: "2"|

      assert NIF.serde_messages_polygon(bad) == {message, message}
    end

    test "as a NIF argument: the ArgumentError names the function and the argument" do
      assert_raise ArgumentError,
                   ~s|#{@m}.serde_point/1: argument 1 (point): field :y of %Oxbeam.Test.Point{}: expected a float (f64), got: "a"|,
                   fn -> NIF.serde_point(%Point{x: 1.0, y: "a"}) end

      assert_raise ArgumentError,
                   "#{@m}.serde_settings/1: argument 1 (settings): expected a map with the key :level (Settings), got: %{verbose: true}",
                   fn -> NIF.serde_settings(%{verbose: true}) end
    end
  end

  describe "every mapping, both ways" do
    @everything %{
      flag: true,
      small: -8,
      short: 65535,
      int: -2_000_000_000,
      long: -9_223_372_036_854_775_808,
      ulong: 18_446_744_073_709_551_615,
      big: -170_141_183_460_469_231_731_687_303_715_884_105_728,
      ubig: 340_282_366_920_938_463_463_374_607_431_768_211_455,
      single: 1.5,
      double: -0.25,
      letter: "é",
      text: "hello",
      bytes: <<0, 255, 1>>,
      none: nil,
      some: 7,
      unit: nil,
      unit_struct: nil,
      newtype: 3.5,
      seq: [1, 2, 3],
      tuple: {1, "one", false},
      tuple_struct: {2, "two"},
      map: %{"a" => 1, "b" => 2},
      int_keys: %{1 => true, -1 => false},
      array: {1, 2, 3}
    }

    test "a struct of every kind of field: encoded, and round-tripped" do
      assert NIF.serde_everything_sample() == @everything
      assert NIF.serde_everything(@everything) == @everything
    end

    test "borrowed &str and &[u8]" do
      assert NIF.serde_borrowed(%{name: "ab", raw: <<1, 2, 3>>}) ==
               {5, %{name: "ab", raw: <<1, 2, 3>>}}
    end

    test "scalars and their errors" do
      assert NIF.serde_char("é") == "é"

      assert_raise ArgumentError,
                   ~s|#{@m}.serde_char/1: argument 1 (c): expected a one-character string (char), got: "ab"|,
                   fn -> NIF.serde_char("ab") end

      assert NIF.serde_unit(nil) == nil

      assert_raise ArgumentError,
                   "#{@m}.serde_unit/1: argument 1 (unit): expected nil (()), got: :ok",
                   fn -> NIF.serde_unit(:ok) end

      assert NIF.serde_u8(255) == 255

      assert_raise ArgumentError,
                   "#{@m}.serde_u8/1: argument 1 (n): expected an integer in 0..255 (u8), got: 256",
                   fn -> NIF.serde_u8(256) end

      assert NIF.serde_i128(-(2 ** 100)) == -(2 ** 100)

      assert_raise ArgumentError,
                   "#{@m}.serde_i128/1: argument 1 (n): expected an integer in -170141183460469231731687303715884105728..170141183460469231731687303715884105727 (i128), got: #{2 ** 127}",
                   fn -> NIF.serde_i128(2 ** 127) end

      assert NIF.serde_bytes(<<0, 255>>) == <<0, 255>>

      assert_raise ArgumentError,
                   "#{@m}.serde_bytes/1: argument 1 (bytes): expected a binary (bytes), got: 1",
                   fn -> NIF.serde_bytes(1) end
    end

    test "lists and maps, and their errors" do
      assert NIF.serde_list([1, 2]) == [1, 2]

      assert_raise ArgumentError,
                   "#{@m}.serde_list/1: argument 1 (list): element 1 of the list: expected an integer (i64), got: :a",
                   fn -> NIF.serde_list([1, :a]) end

      assert_raise ArgumentError,
                   "#{@m}.serde_list/1: argument 1 (list): expected a list (Vec<i64>), got: {1}",
                   fn -> NIF.serde_list({1}) end

      assert_raise ArgumentError,
                   "#{@m}.serde_list/1: argument 1 (list): expected a proper list (Vec<i64>), got: [1 | 2]",
                   fn -> NIF.serde_list([1 | 2]) end

      assert NIF.serde_string_map(%{"a" => 1}) == %{"a" => 1}
      # Atom keys read as strings (as Jason encodes them).
      assert NIF.serde_string_map(%{a: 1}) == %{"a" => 1}

      assert_raise ArgumentError,
                   ~s|#{@m}.serde_string_map/1: argument 1 (map): value at key "b": expected an integer (i64), got: :x|,
                   fn -> NIF.serde_string_map(%{"a" => 1, "b" => :x}) end

      assert_raise ArgumentError,
                   "#{@m}.serde_string_map/1: argument 1 (map): key 1: expected a string (String), got: 1",
                   fn -> NIF.serde_string_map(%{1 => 1}) end

      assert_raise ArgumentError,
                   "#{@m}.serde_string_map/1: argument 1 (map): expected a map (HashMap<String, i64>), got: []",
                   fn -> NIF.serde_string_map([]) end
    end

    test "a Deserialize impl's own error keeps the path" do
      assert NIF.serde_checked(%{count: 2}) == %{count: 2}

      assert_raise ArgumentError,
                   "#{@m}.serde_checked/1: argument 1 (value): field :count of the map: expected a valid value (must be positive), got: -1",
                   fn -> NIF.serde_checked(%{count: -1}) end
    end

    test "encoding errors raise ArgumentError: NaN, a name that cannot be an atom" do
      assert NIF.serde_encode_float(1.5, false) == 1.5

      assert_raise ArgumentError,
                   "cannot encode NaN as an Erlang float: the BEAM has no NaN or infinity",
                   fn -> NIF.serde_encode_float(1.5, true) end

      long = String.duplicate("a", 256)

      assert_raise ArgumentError,
                   ~s|cannot make an atom of "#{long}": an atom name is at most 255 characters|,
                   fn -> NIF.serde_encode_unnamable() end

      assert NIF.serde_to_term_error() ==
               "(ArgumentError) cannot encode inf as an Erlang float: the BEAM has no NaN or infinity"
    end
  end

  describe "untagged and internally tagged enums (deserialize_any)" do
    test "untagged: the first variant that reads" do
      for value <- [1, "text", {1, 2}, %{x: 1.0, y: 2.0}, nil] do
        assert NIF.serde_loose(value) == value
      end

      assert_raise ArgumentError,
                   "#{@m}.serde_loose/1: argument 1 (value): expected one of the variants of Loose, got: [1]",
                   fn -> NIF.serde_loose([1]) end
    end

    test "internally tagged: atom or string keys, the tag a string or an atom" do
      assert NIF.serde_event(%{type: "click", x: 1, y: 2}) == %{type: "click", x: 1, y: 2}
      assert NIF.serde_event(%{"type" => "key", "code" => "a"}) == %{type: "key", code: "a"}
      assert NIF.serde_event(%{type: :key, code: "b"}) == %{type: "key", code: "b"}

      assert_raise ArgumentError,
                   ~s|#{@m}.serde_event/1: argument 1 (event): value at key :type: expected one of :click, :key, got: "scroll"|,
                   fn -> NIF.serde_event(%{type: "scroll"}) end

      assert_raise ArgumentError,
                   "#{@m}.serde_event/1: argument 1 (event): expected a map with the key :type, got: %{x: 1}",
                   fn -> NIF.serde_event(%{x: 1}) end
    end
  end

  describe "adjacently tagged enums and flatten" do
    test "adjacently tagged: the tag an atom, the content under its key" do
      for value <- [%{t: :ping}, %{t: :move, c: {1, 2}}, %{t: :say, c: %{text: "hi"}}] do
        assert NIF.serde_adjacent(value) == value
      end
    end

    test "skip_serializing_if: the keys of one struct differ between values" do
      values = [%{a: 1, b: 2, c: 3}, %{b: 3}, %{b: 4, c: 5}, %{a: 6, b: 7}, %{a: 1, b: 2, c: 3}]
      assert NIF.serde_skipping(values) == values
    end

    test "a later value whose fields differ from the first's at one place (same count)" do
      # The first value's keys ({a, b}) are kept; %{a: 3, c: 4} matches them at :a,
      # then not: its entries leave the kept keys midway. Each call's terms stand alone.
      values = [%{a: 1, b: 2}, %{a: 3, c: 4}, %{a: 5, b: 6}, %{a: 7}, %{a: 8, b: 9, c: 10}]
      assert NIF.serde_varying(values) == values
      assert NIF.serde_varying(Enum.reverse(values)) == Enum.reverse(values)
      assert NIF.serde_varying([%{a: 3, c: 4}]) == [%{a: 3, c: 4}]
    end

    test "flatten: serde makes the struct a map whose keys are strings" do
      # serde serializes a flattened struct with serialize_map and string keys; it
      # reads atom or string keys.
      assert NIF.serde_flattened(%{id: 1, verbose: true}) == %{"id" => 1, "verbose" => true}

      assert NIF.serde_flattened(%{"id" => 1, "verbose" => true}) == %{
               "id" => 1,
               "verbose" => true
             }
    end
  end

  describe "serde_json::Value: as Jason decodes JSON" do
    test "round-trips JSON-shaped terms" do
      value = %{
        "a" => [1, -2, 2.5, "s", true, false, nil, %{"b" => %{}}],
        "c" => [],
        "big" => 18_446_744_073_709_551_615,
        "neg" => -9_223_372_036_854_775_808
      }

      assert NIF.serde_json_value(value) == value
    end

    test "what JSON has no form for: atom keys and atoms become strings, tuples lists" do
      assert NIF.serde_json_value(%{a: :b, c: {1, 2}}) == %{"a" => "b", "c" => [1, 2]}
    end

    test "JSON text to terms and back" do
      assert NIF.serde_json_parse(~s({"a":[1,2.5,"x",null,true],"b":{"c":-3}})) ==
               %{"a" => [1, 2.5, "x", nil, true], "b" => %{"c" => -3}}

      assert NIF.serde_json_dump(%{"a" => [1, nil, "x"]}) == ~s({"a":[1,null,"x"]})
    end

    test "errors: bytes, pids, integers past u64" do
      assert_raise ArgumentError,
                   "#{@m}.serde_json_value/1: argument 1 (value): element 0 of the list: expected any valid JSON value, got: <<255>>",
                   fn -> NIF.serde_json_value([<<255>>]) end

      assert_raise ArgumentError,
                   "#{@m}.serde_json_value/1: argument 1 (value): expected a value serde can read (not a fun, pid, port or reference), got: #{inspect(self())}",
                   fn -> NIF.serde_json_value(self()) end

      assert_raise ArgumentError,
                   "#{@m}.serde_json_value/1: argument 1 (value): expected a valid value (JSON number out of range), got: 18446744073709551616",
                   fn -> NIF.serde_json_value(2 ** 64) end
    end

    test "nesting is bounded: a deep term raises instead of overflowing the stack" do
      nest = fn levels -> Enum.reduce(1..(levels - 1), [], fn _, acc -> [acc] end) end
      assert NIF.serde_json_value(nest.(20)) == nest.(20)

      # 129 levels: past the count (or, in a debug build, the stack budget).
      for levels <- [129, 100_000] do
        error = assert_raise ArgumentError, fn -> NIF.serde_json_value(nest.(levels)) end

        assert error.message =~
                 ~r/^#{@m}.serde_json_value\/1: argument 1 \(value\): (element 0 of the list: )+expected data nested less deeply \(serde reads and writes at most 128 levels, in 192 KiB of stack\), got: \[/
      end
    end

    test "the deepest terms fit a dirty scheduler's stack, the smallest (child VM)" do
      {output, status} =
        NifChild.run("""
        alias Oxbeam.Test.Conformance, as: NIF
        for levels <- [16, 128, 100_000] do
          lists = Enum.reduce(1..(levels - 1), [], fn _, acc -> [acc] end)
          maps = Enum.reduce(1..(levels - 1), %{}, fn _, acc -> %{"a" => acc, "b" => [1, "x"]} end)
          for value <- [lists, maps] do
            result =
              try do
                NIF.serde_json_value_dirty(value) == value
              rescue
                error in ArgumentError -> if error.message =~ "less deeply", do: :too_deep, else: error.message
              end
            IO.puts("\#{levels}: \#{result}")
          end
        end
        """)

      assert status == 0, output
      assert output =~ "16: true\n16: true\n"
      assert output =~ "100000: too_deep\n100000: too_deep\n"
      assert output =~ ~r/128: (true|too_deep)\n128: (true|too_deep)\n/
    end

    test "generated JSON values round-trip (property)" do
      :rand.seed(:exsss, {1, 2, 3})

      for _ <- 1..300 do
        value = random_json(3)
        assert NIF.serde_json_value(value) == value
      end
    end
  end

  describe "round-trip property over generated values" do
    test "nil, booleans, integers, bignums, floats, strings, binaries, lists, tuples, maps, structs" do
      :rand.seed(:exsss, {7, 8, 9})

      for _ <- 1..300 do
        node = random_node(4)
        assert NIF.serde_node(node) == node
        assert NIF.serde_node_functions(node) == node
      end
    end
  end

  # --- generators (seeded by each test) --------------------------------------------

  defp random_int do
    case :rand.uniform(4) do
      1 -> :rand.uniform(100) - 50
      2 -> :rand.uniform(1 <<< 62) * sign()
      3 -> 0
      4 -> :rand.uniform(1 <<< 40)
    end
  end

  defp sign, do: if(:rand.uniform(2) == 1, do: 1, else: -1)

  defp random_float, do: (:rand.uniform() * 1.0e6 + 0.5) * sign()

  defp random_string do
    alphabet = ~c"abcxyz é€ 0-9_"
    for _ <- 1..:rand.uniform(8), into: "", do: <<Enum.random(alphabet)::utf8>>
  end

  defp random_binary, do: :crypto.strong_rand_bytes(:rand.uniform(6) - 1)

  defp random_json(0) do
    Enum.random([
      fn -> nil end,
      fn -> true end,
      fn -> false end,
      &random_int/0,
      &random_float/0,
      &random_string/0
    ]).()
  end

  defp random_json(depth) do
    case :rand.uniform(4) do
      1 -> for _ <- 1..:rand.uniform(4), do: random_json(depth - 1)
      2 -> Map.new(1..:rand.uniform(4), fn _ -> {random_string(), random_json(depth - 1)} end)
      _ -> random_json(0)
    end
  end

  defp random_node(0) do
    case :rand.uniform(7) do
      1 -> nil
      2 -> {:flag, :rand.uniform(2) == 1}
      3 -> {:int, random_int()}
      4 -> {:big, :rand.uniform(1 <<< 100) * sign()}
      5 -> {:float, random_float()}
      6 -> {:text, random_string()}
      7 -> {:raw, random_binary()}
    end
  end

  defp random_node(depth) do
    child = fn -> random_node(:rand.uniform(depth) - 1) end

    case :rand.uniform(6) do
      1 ->
        {:list, for(_ <- 1..:rand.uniform(4), do: child.())}

      2 ->
        {:pair, child.(), child.()}

      3 ->
        {:map, Map.new(1..:rand.uniform(3), fn _ -> {random_string(), child.()} end)}

      4 ->
        {:record, %{name: random_string(), kids: [child.()], extra: Enum.random([nil, child.()])}}

      _ ->
        random_node(0)
    end
  end

  defp random_point, do: %Point{x: random_float(), y: random_float()}

  defp random_shape do
    case :rand.uniform(4) do
      1 -> :empty
      2 -> {:circle, random_float()}
      3 -> {:rect, random_float(), random_float()}
      4 -> {:labeled, %{label: random_string(), sides: :rand.uniform(10)}}
    end
  end

  defp random_color, do: Enum.random([:red, :dark_blue])

  defp random_polygon do
    %Polygon{
      name: random_string(),
      points: for(_ <- 0..:rand.uniform(4), do: random_point()) |> Enum.drop(1),
      color: Enum.random([nil, random_color()]),
      shapes: Map.new(1..:rand.uniform(3), fn _ -> {random_string(), random_shape()} end),
      pairs: for(_ <- 1..:rand.uniform(3), do: {random_color(), {random_int(), random_string()}})
    }
  end
end
