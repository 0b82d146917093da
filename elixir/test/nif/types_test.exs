defmodule Oxbeam.NIF.TypesTest do
  # Paired with tests/conformance/src/types.rs.
  use ExUnit.Case, async: true
  alias Oxbeam.Test.Conformance, as: NIF

  @mod "Oxbeam.Test.Conformance"

  defp bad(fun, arity, arg, rest) do
    "#{@mod}.#{fun}/#{arity}: argument 1 (#{arg}): #{rest}"
  end

  describe "integers" do
    for {type, min, max} <- [
          {:i8, -128, 127},
          {:i16, -32768, 32767},
          {:i32, -2_147_483_648, 2_147_483_647},
          {:i64, -9_223_372_036_854_775_808, 9_223_372_036_854_775_807},
          {:isize, -9_223_372_036_854_775_808, 9_223_372_036_854_775_807},
          {:u8, 0, 255},
          {:u16, 0, 65535},
          {:u32, 0, 4_294_967_295},
          {:u64, 0, 18_446_744_073_709_551_615},
          {:usize, 0, 18_446_744_073_709_551_615},
          {:i128, -170_141_183_460_469_231_731_687_303_715_884_105_728,
           170_141_183_460_469_231_731_687_303_715_884_105_727},
          {:u128, 0, 340_282_366_920_938_463_463_374_607_431_768_211_455}
        ] do
      fun = :"roundtrip_#{type}"

      test "#{type}: min, max, zero round-trip; out of range raises" do
        fun = unquote(fun)
        min = unquote(min)
        max = unquote(max)
        for v <- [min, max, 0, 1, div(max, 3)], do: assert(apply(NIF, fun, [v]) === v)

        for v <- [min - 1, max + 1] do
          assert_raise ArgumentError,
                       bad(
                         fun,
                         1,
                         "value",
                         "expected an integer in #{min}..#{max} (#{unquote(type)}), got: #{v}"
                       ),
                       fn -> apply(NIF, fun, [v]) end
        end

        assert_raise ArgumentError,
                     bad(fun, 1, "value", "expected an integer (#{unquote(type)}), got: 1.0"),
                     fn -> apply(NIF, fun, [1.0]) end
      end
    end
  end

  test "integers of any size through BigInteger" do
    for v <- [0, 1, -1, 2 ** 63, -(2 ** 63) - 1, 2 ** 64, 2 ** 1000, -(2 ** 4000) + 7, 10 ** 5000] do
      assert NIF.roundtrip_big_integer(v) === v
    end

    assert_raise ArgumentError,
                 bad(
                   :roundtrip_big_integer,
                   1,
                   "value",
                   "expected an integer (BigInteger), got: 1.5"
                 ),
                 fn -> NIF.roundtrip_big_integer(1.5) end
  end

  test "floats: f64 round-trips, integers are accepted, f32 range is checked" do
    assert NIF.roundtrip_f64(1.5) === 1.5
    assert NIF.roundtrip_f64(-0.0) === -0.0
    assert NIF.roundtrip_f64(1.7976931348623157e308) === 1.7976931348623157e308
    assert NIF.roundtrip_f64(3) === 3.0
    assert NIF.roundtrip_f32(0.5) === 0.5

    assert_raise ArgumentError,
                 bad(
                   :roundtrip_f32,
                   1,
                   "value",
                   "expected a float in the range of f32 (f32), got: 1.0e300"
                 ),
                 fn -> NIF.roundtrip_f32(1.0e300) end

    assert_raise ArgumentError,
                 bad(:roundtrip_f64, 1, "value", "expected a float (f64), got: \"1.0\""),
                 fn -> NIF.roundtrip_f64("1.0") end
  end

  test "bool, atoms, unit" do
    assert NIF.roundtrip_bool(true) === true
    assert NIF.roundtrip_bool(false) === false
    assert NIF.roundtrip_atom(:hello) === :hello
    assert NIF.roundtrip_atom(nil) === nil
    assert NIF.roundtrip_unit() === :ok

    assert_raise ArgumentError,
                 bad(:roundtrip_bool, 1, "value", "expected a boolean (bool), got: nil"),
                 fn ->
                   NIF.roundtrip_bool(nil)
                 end

    assert_raise ArgumentError,
                 bad(:roundtrip_atom, 1, "value", "expected an atom (Atom), got: \"a\""),
                 fn ->
                   NIF.roundtrip_atom("a")
                 end
  end

  test "strings and binaries, including non-UTF-8 and empty" do
    assert NIF.roundtrip_string("José ☃") == "José ☃"
    assert NIF.roundtrip_str("") == ""
    assert NIF.roundtrip_bytes(<<0, 255, 1>>) == <<0, 255, 1>>
    assert NIF.roundtrip_binary(<<255, 254>>) == <<255, 254>>
    assert NIF.owned_copy("abc") == "abc"
    assert NIF.new_binary(4) == <<0, 1, 2, 3>>
    assert NIF.new_binary(0) == ""
    assert NIF.sub_binary("hello world", 6, 5) == "world"
    assert NIF.iodata_to_binary(["a", ?b, ["cd", [<<"e">>]]]) == "abcde"
    assert NIF.iodata_to_binary("plain") == "plain"
    assert NIF.split_words(" a bb  ccc ") == ["a", "bb", "ccc"]

    assert_raise ArgumentError,
                 bad(
                   :roundtrip_string,
                   1,
                   "value",
                   "expected a UTF-8 string (String), got: <<255, 0>>"
                 ),
                 fn -> NIF.roundtrip_string(<<255, 0>>) end

    assert_raise ArgumentError,
                 bad(:roundtrip_bytes, 1, "value", "expected a binary (&[u8]), got: [1, 2]"),
                 fn -> NIF.roundtrip_bytes([1, 2]) end

    assert_raise ArgumentError,
                 "sub-binary 8..12 out of bounds of a binary of 11 bytes",
                 fn -> NIF.sub_binary("hello world", 8, 4) end

    assert_raise ArgumentError,
                 bad(:iodata_to_binary, 1, "data", "expected iodata (IoData), got: [:a]"),
                 fn -> NIF.iodata_to_binary([:a]) end
  end

  test "a long Vec of term-sized items is encoded in its own buffer" do
    # Box<i64> is a term's size: past 256 items the Vec's buffer holds the terms.
    for n <- [0, 1, 256, 257, 100_000] do
      assert NIF.boxed_list(n) == Enum.to_list(0..(n - 1)//1)
    end

    assert NIF.drop_counted_list(1000, 1000) == Enum.to_list(0..999)
    assert NIF.counted_drops() == 1000
  end

  test "a panic while encoding a long Vec in place drops every item exactly once" do
    # Items 0..499 are consumed by their encode, 500 panics (dropped while unwinding),
    # 501..999 are still in the buffer: dropped by the guard, never as terms.
    assert_raise RuntimeError, ~r/encoding item 500/, fn -> NIF.drop_counted_list(1000, 500) end
    assert NIF.counted_drops() == 1000

    assert_raise RuntimeError, ~r/encoding item 999/, fn -> NIF.drop_counted_list(1000, 999) end
    assert NIF.counted_drops() == 1000
    # Short lists take the stack path: the same count.
    assert_raise RuntimeError, ~r/encoding item 5/, fn -> NIF.drop_counted_list(10, 5) end
    assert NIF.counted_drops() == 10
  end

  test "lists: empty, long, nested, lazy, from iterators" do
    assert NIF.roundtrip_vec_i64([]) == []
    long = Enum.to_list(1..100_000)
    assert NIF.roundtrip_vec_i64(long) == long
    assert NIF.roundtrip_vec_string(["a", "", "ü"]) == ["a", "", "ü"]

    assert NIF.roundtrip_nested([[{1, "a"}], [], [{2, "b"}, {3, "c"}]]) == [
             [{1, "a"}],
             [],
             [{2, "b"}, {3, "c"}]
           ]

    assert NIF.sum_lazy(Enum.to_list(1..1000)) == 500_500
    assert NIF.range_list(0) == []
    assert NIF.range_list(300) == Enum.to_list(0..299)
    assert NIF.even_list(10) == [0, 2, 4, 6, 8]

    assert_raise ArgumentError,
                 bad(
                   :roundtrip_nested,
                   1,
                   "value",
                   "element 1 of the list: element 0 of the list: element 1 of the tuple: expected a string (String), got: :b"
                 ),
                 fn -> NIF.roundtrip_nested([[], [{1, :b}]]) end

    assert_raise ArgumentError,
                 bad(
                   :count_lazy,
                   1,
                   "xs",
                   "expected a proper list (ListIterator), got: [1, 2 | :tail]"
                 ),
                 fn -> NIF.count_lazy([1, 2 | :tail]) end

    assert_raise ArgumentError,
                 bad(
                   :sum_lazy,
                   1,
                   "xs",
                   "element 2 of the list: expected an integer (i64), got: \"3\""
                 ),
                 fn -> NIF.sum_lazy([1, 2, "3"]) end

    assert_raise ArgumentError,
                 bad(:sum_lazy, 1, "xs", "expected a list (ListIterator), got: %{}"),
                 fn -> NIF.sum_lazy(%{}) end

    assert NIF.count_lazy([]) == 0
  end

  test "tuples up to 12" do
    assert NIF.roundtrip_tuple2({1, "a"}) == {1, "a"}
    assert NIF.roundtrip_tuple3({:x, 1.5, true}) == {:x, 1.5, true}
    t12 = List.to_tuple(Enum.to_list(1..12))
    assert NIF.roundtrip_tuple12(t12) == t12

    assert_raise ArgumentError,
                 bad(
                   :roundtrip_tuple2,
                   1,
                   "value",
                   "expected a tuple of 2 elements ((i64, String)), got: {1, \"a\", 3}"
                 ),
                 fn -> NIF.roundtrip_tuple2({1, "a", 3}) end
  end

  test "maps: HashMap, BTreeMap, atom keys, borrowed view, from iterators" do
    assert NIF.roundtrip_hashmap(%{}) == %{}
    m = Map.new(1..100, &{"k#{&1}", &1})
    assert NIF.roundtrip_hashmap(m) == m
    assert NIF.roundtrip_btreemap(%{1 => ["a"], -1 => []}) == %{1 => ["a"], -1 => []}
    assert NIF.roundtrip_atom_map(%{a: 1, b: 2}) == %{a: 1, b: 2}
    assert NIF.map_get(%{name: "x"}, :name) == "x"
    assert NIF.map_get(%{name: "x"}, :other) == nil
    assert NIF.map_invert(%{a: 1, b: 2}) == %{1 => :a, 2 => :b}
    assert NIF.map_from_pairs([{:a, 1}, {:b, 2}, {:a, 3}]) == %{a: 3, b: 2}
    pairs = for i <- 1..1000, do: {rem(i, 100), i}
    assert NIF.map_from_pairs(pairs) == Map.new(pairs)

    assert_raise ArgumentError,
                 bad(
                   :roundtrip_hashmap,
                   1,
                   "value",
                   "value at key \"b\": expected an integer (i64), got: :x"
                 ),
                 fn -> NIF.roundtrip_hashmap(%{"a" => 1, "b" => :x}) end

    assert_raise ArgumentError,
                 bad(
                   :roundtrip_atom_map,
                   1,
                   "value",
                   "key \"a\": expected an atom (Atom), got: \"a\""
                 ),
                 fn -> NIF.roundtrip_atom_map(%{"a" => 1}) end

    assert_raise ArgumentError,
                 bad(
                   :roundtrip_hashmap,
                   1,
                   "value",
                   "expected a map (HashMap<String, i64>), got: [{\"a\", 1}]"
                 ),
                 fn -> NIF.roundtrip_hashmap([{"a", 1}]) end
  end

  test "Option, Result, pids, references" do
    assert NIF.roundtrip_option(nil) == nil
    assert NIF.roundtrip_option(5) == 5
    assert NIF.roundtrip_result({:ok, 1}) == {:ok, 1}
    assert NIF.roundtrip_result({:error, "no"}) == {:error, "no"}
    assert NIF.roundtrip_pid(self()) == self()
    ref = make_ref()
    assert NIF.roundtrip_reference(ref) == ref

    assert_raise ArgumentError,
                 bad(
                   :roundtrip_result,
                   1,
                   "value",
                   "the value of {:error, _}: expected a string (String), got: 1"
                 ),
                 fn -> NIF.roundtrip_result({:error, 1}) end

    assert_raise ArgumentError,
                 bad(:roundtrip_pid, 1, "value", "expected a local pid (LocalPid), got: :me"),
                 fn -> NIF.roundtrip_pid(:me) end

    assert_raise ArgumentError,
                 bad(
                   :roundtrip_reference,
                   1,
                   "value",
                   "expected a reference (Reference), got: 1"
                 ),
                 fn -> NIF.roundtrip_reference(1) end

    assert_raise ArgumentError,
                 bad(:roundtrip_option, 1, "value", "expected an integer (i64), got: :none"),
                 fn -> NIF.roundtrip_option(:none) end
  end

  test "huge values are cut in messages" do
    message =
      assert_raise(ArgumentError, fn -> NIF.roundtrip_vec_i64(Enum.to_list(1..1000) ++ [:x]) end).message

    assert message ==
             bad(
               :roundtrip_vec_i64,
               1,
               "value",
               "element 1000 of the list: expected an integer (i64), got: :x"
             )

    message =
      assert_raise(ArgumentError, fn -> NIF.roundtrip_i64(Enum.to_list(1..1000)) end).message

    assert message =~ ~r/got: \[1, 2, 3, .*, 20, \.\.\.\]$/
  end
end
