defmodule Oxbeam.NIF.BasicsTest do
  # Paired with tests/conformance/src/basics.rs.
  use ExUnit.Case, async: true
  alias Oxbeam.Test.Conformance, as: NIF

  test "integers in and out" do
    assert NIF.add(1, 2) == 3
    assert NIF.add(-5, 2) == -3
  end

  test "a borrowed &str in, a String out" do
    assert NIF.greet("José") == "Hello, José!"
    assert NIF.greet("") == "Hello, !"
  end

  test "a list decoded into a Vec" do
    assert NIF.sum([]) == 0
    assert NIF.sum(Enum.to_list(1..1000)) == 500_500
  end

  test "a function returning () returns :ok" do
    assert NIF.noop() == :ok
  end

  test "#[nif(name = ...)] sets the Erlang name" do
    assert NIF.positive?(3)
    refute NIF.positive?(-3)
  end

  test "a Term passes any term through unchanged" do
    for term <- [%{a: [1, {2}]}, self(), make_ref(), 1.5, "bin", [], {}] do
      assert NIF.echo(term) === term
    end
  end

  test "the stubs are generated with the Rust docs and typespecs" do
    {:docs_v1, _, _, _, _, _, docs} = Code.fetch_docs(NIF)

    assert [%{"en" => "Adds two integers."}] =
             for({{:function, :add, 2}, _, _, d, _} <- docs, do: d)

    {:ok, specs} = Code.Typespec.fetch_specs(NIF)
    assert [{{:add, 2}, [spec]}] = Enum.filter(specs, &match?({{:add, 2}, _}, &1))

    assert Macro.to_string(Code.Typespec.spec_to_quoted(:add, spec)) ==
             "add(integer(), integer()) :: integer()"
  end

  test "NIFs are called concurrently from many processes" do
    results =
      1..50
      |> Task.async_stream(fn i -> NIF.add(i, i) end, max_concurrency: 50)
      |> Enum.map(fn {:ok, r} -> r end)

    assert results == Enum.map(1..50, &(&1 * 2))
  end

  test "the inline small-integer path is verified and enabled on this VM, unless switched off" do
    # If the VM's term layout ever differs, this turns false and integers still work
    # through erl_nif (the integer tests cover both ends of every range). scripts/test
    # runs these suites a second time with the path switched off
    # (OXBEAM_NO_SMALL_INT_FAST_PATH=1, see fast_path_test.exs).
    switched_off? = System.get_env("OXBEAM_NO_SMALL_INT_FAST_PATH") not in [nil, "", "0"]
    assert NIF.immediate_ints_enabled() == not switched_off?
  end
end
