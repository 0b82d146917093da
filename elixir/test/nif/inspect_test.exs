defmodule Oxbeam.NIF.InspectTest do
  # Paired with tests/conformance/src/inspect.rs: `Term::inspect_elixir` against
  # `Kernel.inspect/1` and `Term::inspect_erlang` against `io_lib:format("~0p", [T])`,
  # over generated terms, on whichever Elixir runs the tests (1.14 and 1.18 are run).
  use ExUnit.Case, async: true
  import Bitwise
  alias Oxbeam.Test.Conformance, as: NIF

  # No setup: `use Oxbeam` passes System.version() to the library at load, so
  # Term::inspect prints as this Elixir does (charlists differ between 1.14 and 1.18).
  test "the library was told this Elixir's version at load" do
    assert NIF.inspect_elixir(~c"abc") == inspect(~c"abc")
  end

  defp erl(term),
    do: term |> then(&:io_lib.format(~c"~0p", [&1])) |> List.flatten() |> List.to_string()

  @atoms [:ok, :a_b, :valid?, :run!, :"with space", :"9lives", :A, Foo.Bar, nil, true, :a@b] ++
           [:+, :.., :"a-b", :"Elixir.foo", :after, :"it's", :"a\nb", :""] ++
           [:café, :Ärger, :ÿ, :ßa, :"a×", :"ª", :"µ", :"Ωmega", :é@b, :éa?] ++
           [:"a\0b", :"a\u0085b", :"a\uFFFFb", :"a\u200Bb", :"a\uFEFF"]
  @strings ["", "abc", "a\nb\t\"q\"\\", "héllo", "\#{x}", <<0, 1, 255>>, "a\e\d\a\v\b\f"] ++
             [<<233, 255>>, "\x01", "it's", "\uFEFF", "a\u200Bb", "\u00A0", "\uFFFF", "\u0085"] ++
             ["\u2028\u202E", "a\u{10FFFF}", "\uE000"]

  defp random_term(0), do: leaf()

  defp random_term(depth) do
    case :rand.uniform(12) do
      1 ->
        List.to_tuple(for _ <- 1..:rand.uniform(4)//1, do: random_term(depth - 1))

      2 ->
        for _ <- 0..:rand.uniform(4)//1, do: random_term(depth - 1)

      3 ->
        Map.new(1..:rand.uniform(4)//1, fn _ ->
          {Enum.random(@atoms), random_term(depth - 1)}
        end)

      4 ->
        Map.new(1..:rand.uniform(4)//1, fn _ -> {random_term(0), random_term(depth - 1)} end)

      5 ->
        [random_term(depth - 1) | leaf()]

      6 ->
        %{__struct__: NotAStruct, x: random_term(depth - 1)}

      7 ->
        for _ <- 1..:rand.uniform(3)//1, do: {Enum.random(@atoms), random_term(depth - 1)}

      8 ->
        MapSet.new(for _ <- 1..:rand.uniform(4)//1, do: random_term(depth - 1))

      _ ->
        leaf()
    end
  end

  defp leaf do
    case :rand.uniform(17) do
      1 -> :rand.uniform(1000) - 500
      2 -> (1 <<< 80) * (:rand.uniform(3) - 2) + :rand.uniform(99)
      3 -> Enum.random(@atoms)
      4 -> Enum.random(@strings)
      5 -> Enum.random(charlists())
      6 -> Enum.random([1..10, 5..4//1, 1..10//3, 10..1//-1, -3..-1])
      7 -> Enum.random([<<1::3>>, <<255, 1::1>>, <<1, 2, 3::7>>])
      8 -> Enum.random([self(), spawn(fn -> :ok end)])
      9 -> make_ref()
      10 -> Enum.random([[], {}, %{}])
      11 -> random_float()
      12 -> Enum.random(Port.list())
      13 -> Enum.random([&Enum.map/2, &:erlang.+/2, &:erlang."=:="/2, &:lists.reverse/1])
      14 -> random_calendar()
      15 -> Enum.random([[a: 1], [{Foo, 1}], [{:a, 1} | 2], ["9": 1]])
      16 -> Enum.random([1.0, 0.1, 1.0e15, 1.0e16, 1.0e-5, 0.0001, -0.0, 5.0e-324])
      17 -> Enum.random([[233, 255], [160], [127], [8, 9, 10, 11, 12, 13, 27], [7], [1000]])
    end
  end

  defp charlists do
    [
      ~c"abc",
      ~c"it's",
      ~c"a\nb",
      ~c"q\"#\{x}",
      [7, 8, 9, 10, 11, 12, 13, 27],
      [127],
      [1, 2],
      [200]
    ]
  end

  # Any finite float, from random bits.
  defp random_float do
    <<float::float-64>> =
      Stream.repeatedly(fn -> <<:rand.uniform(1 <<< 64) - 1::64>> end)
      |> Enum.find(fn <<_::1, exponent::11, _::52>> -> exponent != 0x7FF end)

    float
  end

  defp random_calendar do
    {year, month, day} = {:rand.uniform(19999) - 10000, :rand.uniform(12), :rand.uniform(28)}
    {hour, minute, second} = {:rand.uniform(24) - 1, :rand.uniform(60) - 1, :rand.uniform(60) - 1}
    microsecond = {:rand.uniform(1_000_000) - 1, :rand.uniform(7) - 1}
    date = %Date{year: year, month: month, day: day}
    time = %Time{hour: hour, minute: minute, second: second, microsecond: microsecond}
    naive = NaiveDateTime.new!(date, time)

    case :rand.uniform(5) do
      1 ->
        date

      2 ->
        time

      3 ->
        naive

      4 ->
        DateTime.from_naive!(naive, "Etc/UTC")

      5 ->
        offset = (:rand.uniform(49) - 25) * 1800

        %DateTime{
          DateTime.from_naive!(naive, "Etc/UTC")
          | time_zone: "Europe/Somewhere",
            zone_abbr: "XYZ",
            utc_offset: offset,
            std_offset: Enum.random([0, 3600])
        }
    end
  end

  describe "Term::inspect_elixir is Kernel.inspect/1" do
    test "over generated terms" do
      :rand.seed(:exsss, {14, 14, 14})

      for _ <- 1..3000 do
        term = random_term(3)
        expected = inspect(term)

        if String.length(expected) < 250 do
          assert NIF.inspect_elixir(term) == expected
        end
      end
    end

    test "floats: every float as Inspect.Float prints it" do
      :rand.seed(:exsss, {14, 1, 1})

      special = [1.0e20, 1.0e-5, 123_456_789_012_345_680.0, 5.0e-324, 1.7976931348623157e308]
      special = special ++ [-0.0, 0.0, 1.0e15, 1.0e16, 9_007_199_254_740_992.0, 0.0001, 100.0]
      integral = for e <- 0..30, do: :math.pow(10, e)
      decimal = for _ <- 1..2000, do: :rand.uniform(100_000) / Enum.random([1, 10, 1000, 1.0e7])

      for float <- special ++ integral ++ decimal ++ for(_ <- 1..20_000, do: random_float()) do
        assert NIF.inspect_elixir(float) == inspect(float)
        assert NIF.inspect_elixir(-float) == inspect(-float)
      end
    end

    test "structs with their own Inspect: Range, MapSet, Date, Time, NaiveDateTime, DateTime" do
      :rand.seed(:exsss, {14, 2, 2})

      for term <- [1..3, 1..3//2, 3..1//1, 1..-1//-1, MapSet.new(), MapSet.new([~c"ab", 1])] do
        assert NIF.inspect_elixir(term) == inspect(term)
      end

      for _ <- 1..2000, term = random_calendar(), Kernel.inspect(term) =~ ~r/^[~#]/ do
        assert NIF.inspect_elixir(term) == inspect(term)
      end

      # Fields no Date has, as Elixir prints them; a time Elixir's Inspect raises on (its
      # Inspect.Error text aside): map form.
      for date <- [%{~D[2024-01-02] | month: 13}, %{~D[2024-01-02] | day: 0}] do
        assert NIF.inspect_elixir(date) == inspect(date)
      end

      for time <- [%{~T[01:02:03] | hour: 24}, %{~T[01:02:03] | second: 60}] do
        assert inspect(time) =~ ~r/^#Inspect.Error</
        assert NIF.inspect_elixir(time) =~ ~r/^%\{__struct__: Time, /
      end

      # Offsets no DateTime has: as Elixir prints them (the sum past 64 bits).
      for {utc, std} <- [{-(1 <<< 63), -1}, {(1 <<< 63) - 1, 1}, {-(1 <<< 63), 0}] do
        huge = %{DateTime.utc_now() | utc_offset: utc, std_offset: std, time_zone: "X"}
        assert NIF.inspect_elixir(huge) == inspect(huge)
      end
    end

    test "Version and the standard exceptions: derived Inspect, fields in definition order" do
      for term <- [
            Version.parse!("1.2.3-rc.1+build"),
            %ArgumentError{message: "m"},
            %RuntimeError{message: "m"},
            %ArithmeticError{},
            %SystemLimitError{},
            %Enum.EmptyError{},
            %Enum.OutOfBoundsError{},
            %MatchError{term: [1]},
            %CaseClauseError{term: 1},
            %WithClauseError{term: 1},
            %TryClauseError{term: 1},
            %BadMapError{term: 1},
            %BadFunctionError{term: 1},
            %CondClauseError{},
            %KeyError{key: :a, term: %{b: 1}},
            %ErlangError{original: :x},
            %BadArityError{function: &Enum.map/2, args: [1]},
            %BadBooleanError{term: 1, operator: :and},
            %UndefinedFunctionError{module: M, function: :f, arity: 1},
            %Protocol.UndefinedError{protocol: Enumerable, value: 1},
            %File.Error{reason: :enoent, path: "p", action: "read"},
            %UnicodeConversionError{encoded: "a", message: "m"}
          ] do
        assert NIF.inspect_elixir(term) == inspect(term)
      end
    end

    defmodule Point do
      defstruct [:y, :x, label: "p"]
    end

    defmodule Unregistered do
      defstruct [:b, :a]
    end

    defmodule Failure do
      defexception [:reason, :message]
    end

    test "a struct registered with oxbeam::inspect::register_struct prints as Elixir does" do
      fields = fn module -> Enum.map(module.__info__(:struct), & &1.field) end
      assert NIF.inspect_register_struct(Point, fields.(Point)) == :ok
      assert NIF.inspect_register_struct(Failure, fields.(Failure)) == :ok

      for term <- [%Point{x: 1, y: [a: 2]}, %Failure{reason: :r}, %Point{x: %Point{}}] do
        assert NIF.inspect_elixir(term) == inspect(term)
      end

      # Keys that are not the struct's: map form, in Elixir too.
      for term <- [Map.put(%Point{}, :z, 1), Map.delete(%Point{}, :x)] do
        assert NIF.inspect_elixir(term) == inspect(term)
        assert NIF.inspect_elixir(term) =~ ~r/^%\{__struct__: Oxbeam.NIF.InspectTest.Point, /
      end
    end

    test "a struct oxbeam does not know prints in map form" do
      # Elixir asks the struct's module for its fields or its own Inspect
      # implementation; a NIF cannot. Exact when the module is not a struct.
      assert NIF.inspect_elixir(%{__struct__: NotAStruct, x: 1}) ==
               "%{__struct__: NotAStruct, x: 1}"

      assert inspect(%Unregistered{a: 1}) == "%Oxbeam.NIF.InspectTest.Unregistered{b: nil, a: 1}"

      assert NIF.inspect_elixir(%Unregistered{a: 1}) ==
               "%{__struct__: Oxbeam.NIF.InspectTest.Unregistered, a: 1, b: nil}"

      # A calendar other than Calendar.ISO: Elixir asks the calendar module.
      date = %{~D[2024-01-02] | calendar: Some.Calendar}
      assert NIF.inspect_elixir(date) =~ ~r/^%\{__struct__: Date, /
    end

    test "an atom with letters beyond Latin-1 prints quoted" do
      # Elixir's rule for those is Unicode identifier syntax with its script-mixing
      # restrictions (not implemented); Latin-1 letters are exact (the generated terms).
      assert inspect(:日本) == ":日本"
      assert NIF.inspect_elixir(:日本) == ~s(:"日本")
      assert NIF.inspect_elixir([{:日本, 1}]) == ~s(["日本": 1])
      assert NIF.inspect_elixir(:"Ωmega") == inspect(:"Ωmega")
    end

    test "ports, external funs, pids, references" do
      for term <- Port.list() ++ [self(), make_ref(), &Enum.map/2, &:erlang.+/2, &:erlang."=:="/2] do
        assert NIF.inspect_elixir(term) == inspect(term)
      end
    end

    test "a local fun: all but the name of the function that defined it" do
      fun = fn x -> x end
      ours = NIF.inspect_elixir(fun)
      assert ours =~ ~r"^#Function<\d+\.\d+/1 in Oxbeam.NIF.InspectTest>$"
      assert String.starts_with?(inspect(fun), String.trim_trailing(ours, ">") <> ".")
    end

    test "huge terms are cut" do
      assert NIF.inspect_elixir(Enum.to_list(1..100)) == "[" <> Enum.join(1..20, ", ") <> ", ...]"

      # A long charlist: a charlist cut as a string is.
      long = List.duplicate(?a, 500)
      ours = NIF.inspect_elixir(long)

      assert ours ==
               NIF.inspect_elixir(~c"a")
               |> String.replace("a", String.duplicate("a", 64) <> "...")

      assert String.starts_with?(inspect(long), String.slice(ours, 0..-5//1))

      # Keyword syntax or not is decided by every element or key, shown or not.
      for term <- [
            for(i <- 1..25, do: {:"k#{i}", i}),
            for(i <- 1..25, do: {:"k#{i}", i}) ++ [{"k", 0}],
            MapSet.new(for i <- 1..25, do: {:"k#{i}", i}),
            MapSet.new([{"k", 0} | for(i <- 1..25, do: {:"k#{i}", i})])
          ] do
        ours = NIF.inspect_elixir(term)
        assert ours =~ ~r/, \.\.\.\]\)?$/
        assert String.starts_with?(inspect(term), String.replace(ours, ~r/\.\.\.\]\)?$/, ""))
      end

      map = Map.new(1..25, &{:"k#{&1}", &1}) |> Map.put("string", 0)
      ours = NIF.inspect_elixir(map)
      assert ours =~ ~r/^%\{:k1 => 1, .*, \.\.\.\}$/
      assert String.starts_with?(inspect(map), String.trim_trailing(ours, "...}"))

      assert NIF.inspect_elixir(String.duplicate("a", 100)) ==
               ~s(") <> String.duplicate("a", 64) <> ~s(...")

      long = for i <- 1..19, do: String.duplicate("#{rem(i, 10)}", 40)
      text = NIF.inspect_elixir(long)
      assert text == String.slice(inspect(long), 0, 300) <> "..."
    end

    test "a map of more than 32 keys: the VM's order, as inspect/1" do
      map = Map.new(1..40, &{&1 * 7919, &1})
      first = map |> Map.to_list() |> Enum.take(20)
      entries = Enum.map_join(first, ", ", fn {k, v} -> "#{k} => #{v}" end)
      assert NIF.inspect_elixir(map) == "%{" <> entries <> ", ...}"
      assert String.starts_with?(inspect(map), "%{" <> entries <> ", ")
      # Erlang's ~p prints maps:iterator/1's order: for a map this large, on OTP 25, the
      # reverse of maps:to_list/1's.
      iterated =
        Stream.unfold(:maps.next(:maps.iterator(map)), fn
          :none -> nil
          {k, v, next} -> {{k, v}, :maps.next(next)}
        end)

      erl_entries =
        iterated |> Enum.take(20) |> Enum.map_join(",", fn {k, v} -> "#{k} => #{v}" end)

      assert String.starts_with?(erl(map), "\#{" <> erl_entries <> ",")
      assert NIF.inspect_erlang(map) == "\#{" <> erl_entries <> ",...}"

      set = MapSet.new(1..40)
      elements = set |> MapSet.to_list() |> Enum.take(20) |> Enum.join(", ")
      assert NIF.inspect_elixir(set) == "MapSet.new([" <> elements <> ", ...])"
      assert String.starts_with?(inspect(set), "MapSet.new([" <> elements <> ", ")
    end

    test "Term::inspect is Elixir's syntax for a library of an Elixir module" do
      term = {~c"abc", 1.0e20, %{a: [b: 1]}}
      assert NIF.inspect_term(term) == NIF.inspect_elixir(term)
      assert NIF.inspect_term(term) == inspect(term)
    end
  end

  describe "Term::inspect_erlang is io_lib:format(\"~0p\", [Term])" do
    test "over generated terms" do
      :rand.seed(:exsss, {14, 3, 3})

      for _ <- 1..3000 do
        term = random_term(3)
        expected = erl(term)

        if String.length(expected) < 250 do
          assert NIF.inspect_erlang(term) == expected
        end
      end
    end

    test "floats" do
      :rand.seed(:exsss, {14, 4, 4})

      for float <-
            [1.0e15, 100.0, 0.0001, 1.0e-5, -0.0] ++ for(_ <- 1..20_000, do: random_float()) do
        assert NIF.inspect_erlang(float) == erl(float)
      end
    end

    test "atoms, strings and binaries as Erlang quotes them" do
      latin1 = for c <- 0..255, do: <<c::utf8>>

      for name <-
            latin1 ++
              Enum.map(@atoms, &Atom.to_string/1) ++
              ["日本", "é\d", "maybe", "else", "Ärger", "ärger"] do
        atom = String.to_atom(name)
        assert NIF.inspect_erlang(atom) == erl(atom)
      end

      for c <- 0..300 do
        assert NIF.inspect_erlang([c]) == erl([c])
        assert NIF.inspect_erlang([?a, c]) == erl([?a, c])
      end

      for c <- 0..255, do: assert(NIF.inspect_erlang(<<?a, c>>) == erl(<<?a, c>>))
    end

    test "funs, ports, pids, references" do
      local = fn x -> x end

      for term <- Port.list() ++ [self(), make_ref(), local, &Enum.map/2, &:erlang.+/2] do
        assert NIF.inspect_erlang(term) == erl(term)
      end
    end

    test "huge terms are cut" do
      assert NIF.inspect_erlang(Enum.to_list(1..100)) == "[" <> Enum.join(1..20, ",") <> ",...]"
      assert NIF.inspect_erlang(Enum.to_list(1..21) ++ [:x | :y]) =~ ~r/,20,\.\.\.\]$/

      # A long string: cut as a binary is.
      long = List.duplicate(?a, 500)
      assert NIF.inspect_erlang(long) == ~s(") <> String.duplicate("a", 64) <> ~s(...")
      assert String.starts_with?(erl(long), ~s(") <> String.duplicate("a", 64))

      binary = String.duplicate("a", 500)
      assert NIF.inspect_erlang(binary) == ~s(<<") <> String.duplicate("a", 64) <> ~s(...">>)
    end
  end

  describe "a library of an Erlang module" do
    @describetag timeout: 600_000
    @describetag :tmp_dir

    # tests/inspect_erlang is built for the Erlang module oxbeam_inspect_erlang, which
    # is compiled here around it.
    test "Term::inspect renders in Erlang syntax, in messages too", %{tmp_dir: tmp_dir} do
      load_erlang_module!(tmp_dir)
      module = :oxbeam_inspect_erlang
      :rand.seed(:exsss, {14, 5, 5})

      for _ <- 1..500 do
        term = random_term(3)
        expected = erl(term)

        if String.length(expected) < 250,
          do: assert(apply(module, :inspect_term, [term]) == expected)
      end

      message =
        try do
          apply(module, :add, [Foo.Bar, 1])
        rescue
          error -> Exception.message(error)
        end

      assert message ==
               "oxbeam_inspect_erlang:add/2: argument 1 (a): expected an integer (i64), got: 'Elixir.Foo.Bar'"
    end
  end

  defp load_erlang_module!(tmp_dir) do
    manifest = Path.expand("../tests/inspect_erlang/Cargo.toml", File.cwd!())
    cargo = System.find_executable("cargo") || Path.expand("~/.cargo/bin/cargo")

    args =
      ["build", "--manifest-path", manifest, "--message-format=json-render-diagnostics"] ++
        if Oxbeam.Build.default_mode() == :release, do: ["--release"], else: []

    {output, status} = System.cmd("timeout", ["400", cargo | args], stderr_to_stdout: true)
    assert status == 0, output
    json = output |> String.split("\n") |> Enum.filter(&String.starts_with?(&1, "{\"reason\":"))
    artifact = Oxbeam.Build.find_artifact(json, "oxbeam_inspect_erlang", manifest)

    source = Path.join(tmp_dir, "oxbeam_inspect_erlang.erl")

    File.write!(source, """
    -module(oxbeam_inspect_erlang).
    -export([inspect_term/1, add/2, '__oxbeam_tests__'/0, '__oxbeam_run_test__'/1]).
    -on_load(load/0).
    load() -> erlang:load_nif("#{Path.rootname(artifact)}", 0).
    inspect_term(_) -> erlang:nif_error(not_loaded).
    add(_, _) -> erlang:nif_error(not_loaded).
    %% The test-runner NIFs oxbeam adds to a debug build.
    '__oxbeam_tests__'() -> erlang:nif_error(not_loaded).
    '__oxbeam_run_test__'(_) -> erlang:nif_error(not_loaded).
    """)

    {:ok, module, beam} = :compile.file(String.to_charlist(source), [:binary, :report])
    {:module, ^module} = :code.load_binary(module, String.to_charlist(source), beam)
  end
end
