defmodule Oxbeam.NIF.RustlerTest do
  # Paired with tests/conformance/src/rustler.rs: what a Rustler user reaches for on
  # terms (order, hashing, external term format, list/map/tuple operations), existing
  # atoms, and the order of pids and references.
  use ExUnit.Case, async: true
  import Bitwise
  alias Oxbeam.Test.Conformance, as: NIF

  defp sample_terms do
    [
      -3,
      7,
      1 <<< 70,
      2.5,
      :a,
      :b,
      make_ref(),
      fn -> :ok end,
      self(),
      {},
      {1, :a},
      {1, :b, "c"},
      %{},
      %{a: 1},
      %{"k" => [1, 2]},
      [],
      [1, 2],
      [1 | 2],
      "",
      "abc",
      <<1::3>>
    ]
  end

  describe "term order (Term::compare, Ord)" do
    test "compare is the VM's order: sign of the comparison" do
      terms = sample_terms()

      for a <- terms, b <- terms do
        expected =
          cond do
            a < b -> -1
            a > b -> 1
            true -> 0
          end

        assert NIF.term_compare(a, b) == expected, "#{inspect(a)} vs #{inspect(b)}"
        assert NIF.term_cmp(a, b) == expected, "#{inspect(a)} vs #{inspect(b)}"
      end
    end

    test "sorting with Ord agrees with Enum.sort/1" do
      terms = sample_terms()
      assert NIF.term_sort(Enum.shuffle(terms)) === Enum.sort(terms)
    end

    test "== but not === (1 and 1.0): compare says equal, Ord and === do not" do
      assert NIF.term_compare(1, 1.0) == 0
      assert NIF.term_equality(1, 1.0) == {true, false}
      assert NIF.term_equality({1, [2]}, {1.0, [2]}) == {true, false}
      assert NIF.term_equality({1, [2]}, {1, [2]}) == {true, true}
      order = NIF.term_cmp(1, 1.0)
      assert order in [-1, 1]
      assert NIF.term_cmp(1.0, 1) == -order
      assert NIF.term_cmp({1}, {1.0}) == -NIF.term_cmp({1.0}, {1})
      # A total order: the same result whatever the input order.
      assert NIF.term_sort([1.0, 2, 1]) === NIF.term_sort([1, 1.0, 2])
    end
  end

  describe "hashing" do
    test "hash_phash2 is :erlang.phash2/1" do
      for term <- sample_terms() ++ [1.0, "日本", :café, {[], %{1 => 2}}] do
        assert NIF.term_phash2(term) == :erlang.phash2(term), inspect(term)
      end
    end

    test "hash_internal: identical terms hash alike, with any salt" do
      for term <- sample_terms(), salt <- [0, 1, 1 <<< 40] do
        copy = :erlang.binary_to_term(:erlang.term_to_binary(term))
        assert NIF.term_same_internal_hash(term, copy, salt), inspect(term)
      end

      refute NIF.term_same_internal_hash(1, 2, 0)
    end

    test "Hash on Term agrees with ===: a HashSet counts identical terms once" do
      assert NIF.term_distinct([1, 1, 1.0, :a, :a, "a", "a", {1}, {1.0}]) == 6
    end
  end

  describe "external term format" do
    test "to_binary is :erlang.term_to_binary/1" do
      for term <- sample_terms() -- [hd(for(f <- sample_terms(), is_function(f), do: f))] do
        assert NIF.term_to_binary(term) == :erlang.term_to_binary(term), inspect(term)
      end
    end

    test "from_binary (safe) reads a term and says how many bytes it took" do
      for term <- [1, {:a, "b", [1.5]}, %{"k" => :ok}, <<1::3>>] do
        bin = :erlang.term_to_binary(term)
        assert NIF.binary_to_term_safe(bin) === {term, byte_size(bin)}
        assert NIF.binary_to_term_safe(bin <> "trailing") === {term, byte_size(bin)}
        assert NIF.binary_to_term_trusted(bin) === {term, byte_size(bin)}
      end
    end

    test "malformed bytes are nil, never a crash" do
      for bytes <- ["", "abc", <<131>>, <<131, 104, 3, 97, 1>>, <<131, 109, 255, 255, 255, 255>>] do
        assert NIF.binary_to_term_safe(bytes) == nil, inspect(bytes)
        assert NIF.binary_to_term_trusted(bytes) == nil, inspect(bytes)
      end
    end

    test "safe decoding creates no atom; trusted decoding does" do
      name = "oxbeam_rustler_new_atom_#{System.unique_integer([:positive])}"
      bin = <<131, 119, byte_size(name), name::binary>>
      assert NIF.binary_to_term_safe(bin) == nil
      assert_raise ArgumentError, fn -> String.to_existing_atom(name) end
      assert {atom, _} = NIF.binary_to_term_trusted(bin)
      assert atom === String.to_existing_atom(name)
      # Now that it exists, safe decoding reads it.
      assert NIF.binary_to_term_safe(bin) === {atom, byte_size(bin)}
    end
  end

  describe "lists, maps and tuples as terms" do
    test "list prepend, reverse and length" do
      assert NIF.list_prepend([2, 3], 1) == [1, 2, 3]
      assert NIF.list_prepend([], :a) == [:a]
      assert NIF.list_prepend(:tail, 1) == [1 | :tail]
      assert NIF.list_reverse([1, 2, 3]) == [3, 2, 1]
      assert NIF.list_reverse([]) == []
      assert NIF.list_reverse([1 | 2]) == nil
      assert NIF.list_reverse(:a) == nil
      assert NIF.list_length(Enum.to_list(1..1000)) == 1000
      assert NIF.list_length([1 | 2]) == nil
      assert NIF.list_length("abc") == nil
    end

    test "map new, put, update, remove, get" do
      assert NIF.term_map_from_pairs([]) == %{}
      assert NIF.term_map_from_pairs([{:a, 1}, {"b", 2}, {:a, 3}]) == %{:a => 3, "b" => 2}
      assert NIF.map_put(%{a: 1}, :b, 2) == %{a: 1, b: 2}
      assert NIF.map_put([], :b, 2) == nil
      assert NIF.map_update(%{a: 1}, :a, 2) == %{a: 2}
      assert NIF.map_update(%{a: 1}, :b, 2) == nil
      assert NIF.map_update(:x, :a, 2) == nil
      assert NIF.map_remove(%{a: 1, b: 2}, :a) == %{b: 2}
      assert NIF.map_remove(%{a: 1}, :zz) == %{a: 1}
      assert NIF.map_remove({}, :a) == nil
      assert NIF.term_map_get(%{1.0 => :float}, 1.0) == :float
      assert NIF.term_map_get(%{1.0 => :float}, 1) == nil
      assert NIF.term_map_get("no", 1) == nil
    end

    test "tuple from a slice of any length" do
      assert NIF.tuple_from_list([]) == {}
      assert NIF.tuple_from_list([1, :a, "b"]) == {1, :a, "b"}
      assert NIF.tuple_from_list(Enum.to_list(1..300)) == List.to_tuple(Enum.to_list(1..300))
    end
  end

  describe "Atom::try_existing" do
    test "finds existing atoms, latin-1 or not" do
      assert NIF.atom_try_existing("ok") === :ok
      assert NIF.atom_try_existing("café") === :café
      assert NIF.atom_try_existing("日本") === :日本
      assert NIF.atom_try_existing("") === :""
    end

    test "never creates one" do
      for prefix <- ["oxbeam_missing_", "oxbeam_absent_é_", "oxbeam_absent_日本_"] do
        name = prefix <> Integer.to_string(System.unique_integer([:positive]))
        assert NIF.atom_try_existing(name) == nil
        assert_raise ArgumentError, fn -> String.to_existing_atom(name) end
      end
    end

    test "a name too long to be an atom is nil" do
      assert NIF.atom_try_existing(String.duplicate("a", 256)) == nil
      assert NIF.atom_try_existing(String.duplicate("日", 256)) == nil
    end
  end

  describe "pids and references" do
    test "LocalPid is ordered as the VM orders pids, and hashes by identity" do
      pids = for _ <- 1..5, do: spawn(fn -> :ok end)
      pids = [self() | pids]
      assert NIF.pid_sort(Enum.shuffle(pids)) == Enum.sort(pids)
      assert NIF.pid_distinct([self(), self() | pids]) == length(pids)
    end

    test "Reference is ordered as the VM orders references" do
      refs = for _ <- 1..5, do: make_ref()

      for a <- refs, b <- refs do
        expected =
          cond do
            a < b -> -1
            a > b -> 1
            true -> 0
          end

        assert NIF.reference_cmp(a, b) == expected
      end
    end
  end

  describe "MapView::iter_as and reverse iteration" do
    test "entries decoded as (K, V)" do
      assert NIF.map_iter_as(%{}) == []
      map = Map.new(1..100, &{"k#{&1}", &1})
      assert NIF.map_iter_as(map) == Enum.sort(Enum.to_list(map))
    end

    test "a key or value that does not decode: ArgumentError as for HashMap<String, i64>" do
      message =
        "Oxbeam.Test.Conformance.map_iter_as/1: argument 1 (map): value at key \"b\": expected an integer (i64), got: :x"

      assert_raise ArgumentError, message, fn -> NIF.map_iter_as(%{"a" => 1, "b" => :x}) end

      message =
        "Oxbeam.Test.Conformance.map_iter_as/1: argument 1 (map): key :a: expected a string (String), got: :a"

      assert_raise ArgumentError, message, fn -> NIF.map_iter_as(%{:a => 1}) end
    end

    test "the argument must be a map" do
      message =
        "Oxbeam.Test.Conformance.map_iter_as/1: argument 1 (map): expected a map (MapView), got: [1]"

      assert_raise ArgumentError, message, fn -> NIF.map_iter_as([1]) end
    end

    test "backwards is forwards reversed, for small and large (hashed) maps" do
      for n <- [0, 1, 5, 32, 33, 1000] do
        map = Map.new(1..n//1, &{&1, &1})
        {forwards, backwards} = NIF.map_keys_both_ways(map)
        assert Enum.sort(forwards) == Enum.to_list(1..n//1)
        assert backwards == Enum.reverse(forwards)
      end
    end

    test "both ends together yield every entry once" do
      for n <- [0, 1, 2, 7, 33, 500] do
        map = Map.new(1..n//1, &{&1, -&1})
        entries = NIF.map_iter_as_both_ends(map)
        assert length(entries) == n
        assert Enum.sort(entries) == Enum.sort(Enum.to_list(map))
      end
    end

    test "only the entries taken are decoded" do
      {forwards, _} = NIF.map_keys_both_ways(%{1 => 1, 2 => 2, 3 => 3})
      last = List.last(forwards)
      map = Map.new(forwards, fn k -> {k, if(k == last, do: k, else: :not_an_integer)} end)
      assert NIF.map_iter_as_last(map) == {last, last}
    end
  end

  describe "codecs" do
    test "Term::is_truthy is Elixir's truthiness" do
      for term <- [true, 0, "", [], :ok, {}] do
        assert NIF.term_truthy(term) == true
      end

      assert NIF.term_truthy(false) == false
      assert NIF.term_truthy(nil) == false
    end

    test "PathBuf from a binary, a charlist or chardata; &Path from a binary; back as a binary" do
      assert NIF.path_join("/tmp", "a.txt") == "/tmp/a.txt"
      assert NIF.path_join(~c"/tmp/日本", "a") == "/tmp/日本/a"
      assert NIF.path_join(["/tmp", ?/, ~c"dir", ["/x" | "y"]], "z") == "/tmp/dir/xy/z"
      assert NIF.path_join(<<"/raw", 0xFF>>, "b") == <<"/raw", 0xFF, "/b">>
    end

    test "a path that is not a binary or chardata: ArgumentError" do
      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.path_join/2: argument 1 (dir): expected a path as a binary or chardata (PathBuf), got: :tmp",
                   fn -> NIF.path_join(:tmp, "a") end

      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.path_join/2: argument 1 (dir): expected a path as a binary or chardata (PathBuf), got: [47, :x]",
                   fn -> NIF.path_join([?/, :x], "a") end

      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.path_join/2: argument 2 (child): expected a path as a binary (&Path), got: #{inspect(~c"a")}",
                   fn -> NIF.path_join("/", ~c"a") end
    end

    test "RangeInclusive and Range with step 1 are Elixir ranges, both ways" do
      assert NIF.range_inclusive_sum(1..10) == {1..10, 55}
      assert NIF.range_inclusive_sum(5..4//1) == {5..4//1, 0}
      assert NIF.range_len(0..9) == {0..9, 10}
      assert NIF.range_len(3..2//1) == {3..2//1, 0}
      assert NIF.range_make(0, 3) == 0..2
      assert NIF.range_make(7, 7) == 7..6//1
      assert Enum.to_list(NIF.range_make(-2, 2)) == [-2, -1, 0, 1]
      assert NIF.range_make_i8(-128, -128) == -128..-129//1
    end

    test "ranges that do not fit: ArgumentError" do
      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.range_inclusive_sum/1: argument 1 (range): expected a range first..last with step 1 (RangeInclusive<i64>), got: 1..10//2",
                   fn -> NIF.range_inclusive_sum(1..10//2) end

      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.range_inclusive_sum/1: argument 1 (range): expected a range first..last//step (RangeInclusive<i64>), got: [1, 2]",
                   fn -> NIF.range_inclusive_sum([1, 2]) end

      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.range_len/1: argument 1 (range): last: expected an integer in 0..255 (u8), got: 300",
                   fn -> NIF.range_len(0..300) end

      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.range_len/1: argument 1 (range): expected a range whose end (last + 1) fits the type (Range<u8>), got: 0..255",
                   fn -> NIF.range_len(0..255) end

      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.range_len/1: argument 1 (range): expected a range first..last with step 1 and last >= first - 1 (Range<u8>), got: 5..1//1",
                   fn -> NIF.range_len(5..1//1) end
    end

    test "StepRange keeps any step" do
      assert NIF.step_range_double(1..10//3) == 1..10//6
      assert NIF.step_range_double(10..1//-1) == 10..1//-2
    end

    test "Duration is an integer of nanoseconds; SystemTime nanoseconds since the epoch" do
      assert NIF.duration_double(1_500_000_000) == 3_000_000_000
      assert NIF.duration_double(0) == 0
      big = 18_446_744_073_709_551_615 * 1_000_000_000
      assert NIF.duration_double(div(big, 2)) == div(big, 2) * 2

      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.duration_double/1: argument 1 (duration): expected a non-negative integer of nanoseconds (Duration), got: -1",
                   fn -> NIF.duration_double(-1) end

      assert NIF.system_time_plus_second(0) == 1_000_000_000
      assert NIF.system_time_plus_second(-1_500_000_000) == -500_000_000
      now = System.os_time(:nanosecond)
      assert_in_delta NIF.system_time_now(), now, 5_000_000_000
      assert {:ok, _} = DateTime.from_unix(NIF.system_time_now(), :nanosecond)

      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.system_time_plus_second/1: argument 1 (time): expected an integer of nanoseconds since the Unix epoch (SystemTime), got: 1.5",
                   fn -> NIF.system_time_plus_second(1.5) end
    end

    test "Cow<str> borrows when decoded; Box, Rc, Arc are their values" do
      assert NIF.cow_upper("héllo") == {true, "HÉLLO"}
      assert NIF.smart_pointers(41, "rc", [1, 2]) == {42, "rc", [1, 2], [1, 2]}
    end

    test "[T; N] is a list of exactly N elements" do
      assert NIF.array_reverse([1, 2, 3]) == [3, 2, 1]

      for bad <- [[1, 2], [1, 2, 3, 4], {1, 2, 3}, [1, 2 | 3]] do
        assert_raise ArgumentError,
                     "Oxbeam.Test.Conformance.array_reverse/1: argument 1 (array): expected a list of 3 elements ([i64; 3]), got: #{inspect(bad)}",
                     fn -> NIF.array_reverse(bad) end
      end

      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.array_reverse/1: argument 1 (array): element 1 of the list: expected an integer (i64), got: :x",
                   fn -> NIF.array_reverse([1, :x, 3]) end
    end
  end

  describe "oxbeam::thread::spawn" do
    test "the closure's term is sent to the caller" do
      assert NIF.thread_sum([1, 2, 3], :ok) == :ok
      assert_receive {:sum, 6}, 5_000
    end

    test "a panic is sent as {:error, %RuntimeError{}} with its message and place" do
      assert NIF.thread_sum([], :panic) == :ok
      assert_receive {:error, %RuntimeError{message: message}}, 5_000

      assert message =~
               ~r"^panicked at tests/conformance/src/rustler.rs:\d+:\d+: boom in a thread$"
    end

    test "a raise is sent as {:error, exception}" do
      assert NIF.thread_sum([], :raise) == :ok
      assert_receive {:error, %ArgumentError{message: "raised in a thread"}}, 5_000
    end

    test "many threads, each answers once" do
      for i <- 1..20, do: NIF.thread_sum([i], :ok)

      sums =
        for _ <- 1..20,
            do:
              (receive do
                 {:sum, s} -> s
               after
                 5_000 -> :timeout
               end)

      assert Enum.sort(sums) == Enum.to_list(1..20)
    end
  end

  test "ResourceArc: From<T> (.into()) makes the resource" do
    resource = NIF.resource_into(42)
    assert is_reference(resource)
    assert NIF.resource_value(resource) == 42
  end

  describe "num-bigint (feature)" do
    test "BigInt and BigUint are integers of any size, both ways" do
      for {x, y} <- [{0, 5}, {-3, 7}, {1 <<< 64, -(1 <<< 70)}, {-(3 ** 100), -(7 ** 50)}] do
        assert NIF.bigint_mul(x, y) == x * y
      end

      for x <- [0, 41, (1 <<< 64) - 1, 10 ** 40] do
        assert NIF.biguint_succ(x) == x + 1
      end
    end

    test "errors" do
      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.bigint_mul/2: argument 1 (x): expected an integer (BigInt), got: 1.0",
                   fn -> NIF.bigint_mul(1.0, 1) end

      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.biguint_succ/1: argument 1 (x): expected a non-negative integer (BigUint), got: -1",
                   fn -> NIF.biguint_succ(-1) end
    end
  end

  describe "growable OwnedBinary" do
    test "io::Write and fmt::Write append, growing as needed" do
      assert NIF.binary_format(0, "x") == "end"
      expected = Enum.map_join(0..999, fn i -> "#{i}: héllo\n" end) <> "end"
      assert NIF.binary_format(1000, "héllo") == expected
    end

    test "FromIterator<u8>" do
      assert NIF.binary_collect("") == ""
      assert NIF.binary_collect("HAL") == "IBM"
      big = :binary.copy(<<0, 255>>, 1000)
      assert NIF.binary_collect(big) == :binary.copy(<<1, 0>>, 1000)
    end

    test "realloc cuts or extends with zeros" do
      assert NIF.binary_realloc("abcdef", 3) == "abc"
      assert NIF.binary_realloc("ab", 5) == <<"ab", 0, 0, 0>>
      assert NIF.binary_realloc("ab", 0) == ""
      assert NIF.binary_realloc("", 100_000) == :binary.copy(<<0>>, 100_000)
    end

    test "a size the VM cannot allocate raises SystemLimitError" do
      assert_raise SystemLimitError, ~r/could not allocate a binary of \d+ bytes/, fn ->
        NIF.binary_realloc("ab", 1 <<< 62)
      end
    end
  end
end
