defmodule Oxbeam.Python.NestingTest do
  # Deep and cyclic values, and deep recursion in Python (issue 10, item 12). Every case
  # here but `repr_deep_list` took the VM down before the fix (a segfault on a dirty
  # scheduler's small stack), so each runs in a child VM (Oxbeam.Test.NestingChildVM)
  # and the test checks the child's exit status and what it printed: each case's
  # result, as `inspect` shows it (see Oxbeam.Test.NestingCases).
  use ExUnit.Case, async: true
  alias Oxbeam.Test.NestingChildVM

  @depth Oxbeam.Test.NestingCases.depth()
  @zeros String.duplicate("[0]", 8)

  python_error = fn last_line -> "{:raised, Oxbeam.Python.Error, #{inspect(last_line)}}" end
  argument_error = fn message -> "{:raised, ArgumentError, #{inspect(message)}}" end
  cyclic = &argument_error.("cannot decode a cyclic Python value: " <> &1)

  @expected %{
    encode_deep_list: "{#{@depth}, true}",
    encode_deep_tuple: "{#{@depth}, true}",
    encode_deep_map: "{#{@depth}, true}",
    eval_globals_deep_list: "#{@depth}",
    eval_globals_deep_tuple: "#{@depth}",
    eval_globals_deep_map: "#{@depth}",
    decode_deep_list: "#{@depth}",
    decode_deep_tuple: "#{@depth}",
    decode_deep_dict: "#{@depth}",
    repr_deep_list:
      inspect(
        "#Oxbeam.Python.Object<\n  <repr failed: RecursionError: maximum recursion depth " <>
          "exceeded while getting the repr of an object>\n>"
      ),
    cyclic_list: cyclic.("the list at value contains itself at value[0]"),
    cyclic_dict: cyclic.("the dict at value contains itself at value['self']"),
    cyclic_through_tuple: cyclic.("the list at value contains itself at value[1][1]"),
    cyclic_nested: cyclic.("the dict at value[1] contains itself at value[1]['a'][1][0]"),
    cyclic_bytes_key: cyclic.("the dict at value contains itself at value[b'a'][1]"),
    # Keys longer than 60 characters (as repr shows them) are cut.
    cyclic_long_key:
      cyclic.("the dict at value contains itself at value['#{String.duplicate("k", 59)}...]"),
    cyclic_deep:
      cyclic.(
        "the list at value contains itself at value#{@zeros}...#{@zeros} (#{@depth + 1} levels down)"
      ),
    shared_not_cyclic: ~s|[[1], [1], {[1], %{"k" => [1]}}]|,
    shared_deep: "65536",
    nested_literal_199: "199",
    nested_source_199: "199",
    nested_literal_5000: python_error.("SyntaxError: too many nested parentheses"),
    nested_source_5000: python_error.("SyntaxError: too many nested parentheses"),
    python_recursion: python_error.("RecursionError: maximum recursion depth exceeded"),
    c_recursion_at_limit: "{1000, 950}",
    c_recursion_beyond_limit: python_error.("RecursionError: maximum recursion depth exceeded"),
    # Where the limit is hit (in the call or in repr) decides the message's ending.
    repr_recursion_beyond_limit:
      ~r/^\{:raised, Oxbeam.Python.Error, "RecursionError: maximum recursion depth exceeded[^"]*"\}$/
  }

  # Runs `cases` with `runner`: the child VM must exit 0, and print each case's
  # expected result.
  defp check(cases, runner \\ &NestingChildVM.run/1) do
    {status, results, output} = runner.(cases)
    assert status == 0, "the child VM exited with status #{status}:\n#{output}"

    for name <- cases do
      assert Map.has_key?(results, name), "no result for #{name}:\n#{output}"

      case @expected[name] do
        %Regex{} = pattern -> assert results[name] =~ pattern, "#{name}"
        expected -> assert {name, results[name]} == {name, expected}
      end
    end
  end

  describe "Elixir values #{@depth} levels deep" do
    test "encode! and decode back: lists, tuples, maps" do
      check([:encode_deep_list, :encode_deep_tuple, :encode_deep_map])
    end

    test "as eval globals" do
      check([:eval_globals_deep_list, :eval_globals_deep_tuple, :eval_globals_deep_map])
    end
  end

  describe "Python values #{@depth} levels deep" do
    test "decode lists, tuples, dicts" do
      check([:decode_deep_list, :decode_deep_tuple, :decode_deep_dict])
    end

    test "inspect (repr) shows Python's RecursionError" do
      check([:repr_deep_list])
    end
  end

  describe "cyclic Python values" do
    test "decode raises ArgumentError naming the path of the cycle" do
      check([
        :cyclic_list,
        :cyclic_dict,
        :cyclic_through_tuple,
        :cyclic_nested,
        :cyclic_bytes_key,
        :cyclic_long_key,
        :cyclic_deep
      ])
    end

    test "shared references that form no cycle decode as copies" do
      check([:shared_not_cyclic, :shared_deep])
    end
  end

  describe "CPython's own recursion" do
    test "a literal nested 199 deep (the parser's limit is 200) evaluates" do
      check([:nested_literal_199, :nested_source_199])
    end

    test "a literal nested 5000 deep raises SyntaxError" do
      check([:nested_literal_5000, :nested_source_5000])
    end

    test "recursion past the recursion limit raises RecursionError; up to it, it runs" do
      check([
        :python_recursion,
        :c_recursion_at_limit,
        :c_recursion_beyond_limit,
        :repr_recursion_beyond_limit
      ])
    end
  end

  # The same cases against the bridge built in release mode (its own build directory;
  # the first run builds it: about a minute and a half on 2 cores).
  @tag timeout: 900_000
  test "every case, release build" do
    check(Map.keys(@expected), &NestingChildVM.run_release(&1, 840))
  end
end
