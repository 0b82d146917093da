defmodule Oxbeam.NIF.BadargTest do
  # An argument that does not decode raises :badarg with EEP 54 error_info (through the
  # wrapper `use Oxbeam` generates, Oxbeam.NifError): Rustler-style `catch error:badarg`
  # matches, and Elixir's ArgumentError has the message oxbeam has always given.
  # Paired with tests/conformance (errors.rs, schedule.rs).
  use ExUnit.Case, async: true
  alias Oxbeam.Test.Conformance, as: NIF

  @add_message "Oxbeam.Test.Conformance.add/2: argument 2 (b): expected an integer (i64), got: :a"

  defp caught(fun) do
    try do
      fun.()
    catch
      kind, reason -> {kind, reason, __STACKTRACE__}
    end
  end

  describe "a decode error" do
    test "is the error :badarg for catch, catch_error and the Erlang pattern" do
      assert catch_error(NIF.add(1, :a)) == :badarg
      assert {:error, :badarg, _} = caught(fn -> NIF.add(1, :a) end)

      # `catch error:badarg -> ...` written in Erlang.
      {:ok, tokens, _} =
        :erl_scan.string(
          ~c"try 'Elixir.Oxbeam.Test.Conformance':add(1, a) catch error:badarg -> caught end."
        )

      {:ok, exprs} = :erl_parse.parse_exprs(tokens)
      assert {:value, :caught, _} = :erl_eval.exprs(exprs, [])
    end

    test "is ArgumentError with the exact message for rescue and assert_raise" do
      assert_raise ArgumentError, @add_message, fn -> NIF.add(1, :a) end

      assert (try do
                NIF.sum([1, :a])
              rescue
                e in ArgumentError -> e.message
              end) ==
               "Oxbeam.Test.Conformance.sum/1: argument 1 (xs): element 1 of the list: " <>
                 "expected an integer (i64), got: :a"

      {:error, reason, stacktrace} = caught(fn -> NIF.add(1, :a) end)

      assert Exception.normalize(:error, reason, stacktrace) == %ArgumentError{
               message: @add_message
             }

      assert Exception.format(:error, reason, stacktrace) =~
               ~r/\A\*\* \(ArgumentError\) #{Regex.escape(@add_message)}\n    \(oxbeam [^)]+\) Oxbeam.Test.Conformance.add\(1, :a\)\n/
    end

    test "has the stack trace of a direct NIF call, with error_info on the NIF's frame" do
      {:error, :badarg, stacktrace} = caught(fn -> NIF.add(1, :a) end)

      assert [{NIF, :add, [1, :a], location}, {__MODULE__, _, _, _} | _] = stacktrace

      assert location[:error_info] == %{
               module: Oxbeam.NifError,
               cause: %{
                 function: "Oxbeam.Test.Conformance.add/2",
                 position: 2,
                 argument: "b",
                 description: "expected an integer (i64), got: :a"
               }
             }

      refute inspect(stacktrace) =~ "__oxbeam_nif__"
    end

    test "found lazily (DecodeError::raise_for) names the argument too" do
      assert catch_error(NIF.double_where(:x)) == :badarg

      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.double_where/1: argument 1 (n): expected an integer (i64), got: :x",
                   fn -> NIF.double_where(:x) end
    end

    test "in a continuation (env.schedule) names the continuation" do
      assert catch_error(NIF.schedule_checked_half(:seven)) == :badarg

      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.checked_half/1: argument 1 (n): expected an integer (i64), got: :seven",
                   fn -> NIF.schedule_checked_half(:seven) end
    end

    test "Erlang's formatter prints the message under the call" do
      {:error, :badarg, stacktrace} = caught(fn -> NIF.add(1, :a) end)

      text =
        :erl_error.format_exception(
          1,
          :error,
          :badarg,
          stacktrace,
          fn _, _, _ -> false end,
          fn term, _ -> :io_lib.print(term) end,
          :unicode
        )
        |> IO.chardata_to_string()

      assert text =~
               "exception error: Oxbeam.Test.Conformance.add/2\n" <>
                 "  in function  'Elixir.Oxbeam.Test.Conformance':add/2\n" <>
                 "     called as 'Elixir.Oxbeam.Test.Conformance':add(1,a)\n" <>
                 "     *** argument 2 (b): expected an integer (i64), got: :a\n"
    end
  end

  describe "Error::badarg(message) from the NIF's code" do
    test "is :badarg for catch, and ArgumentError naming the function for Elixir" do
      for deep <- [false, true] do
        assert catch_error(NIF.raise_badarg("too big", deep)) == :badarg

        assert_raise ArgumentError,
                     "Oxbeam.Test.Conformance.raise_badarg/2: too big",
                     fn -> NIF.raise_badarg("too big", deep) end
      end

      {:error, :badarg, stacktrace} = caught(fn -> NIF.raise_badarg("too big", false) end)
      assert [{NIF, :raise_badarg, ["too big", false], location} | _] = stacktrace
      assert location[:error_info].cause.position == 0
    end
  end

  describe "other exceptions are raised as they are" do
    test "Error::argument_error from the NIF's code stays an ArgumentError struct" do
      assert catch_error(NIF.raise_deep(1)) == %ArgumentError{message: "raised from the bottom"}
    end

    test "a raised atom, a raised term, a panic" do
      assert catch_error(NIF.raise_kind(:atom, "my_reason")) == :my_reason
      assert catch_error(NIF.raise_kind(:term, {:my, "reason"})) == {:my, "reason"}

      {:error, reason, stacktrace} = caught(fn -> NIF.panic_now("boom") end)

      assert reason == %RuntimeError{
               message: "panicked at tests/conformance/src/errors.rs:7:5: boom"
             }

      # The NIF's frame under its own name, then the caller: no wrapper frame.
      assert [{NIF, :panic_now, ["boom"], []}, {__MODULE__, _, _, _} | _] = stacktrace
    end
  end

  test "the NIF is registered under a hidden name; the test-runner NIFs keep theirs" do
    assert function_exported?(NIF, :__oxbeam_nif__add, 2)
    assert NIF.__oxbeam_nif__add(1, 2) == 3
    # Called directly, the hidden NIF raises what the wrapper converts.
    assert {:error, {:"$oxbeam_badarg", "Oxbeam.Test.Conformance.add/2", 2, "b", _}, _} =
             caught(fn -> NIF.__oxbeam_nif__add(1, :a) end)

    assert function_exported?(NIF, :__oxbeam_tests__, 0)
    refute function_exported?(NIF, :__oxbeam_nif____oxbeam_tests__, 0)
    assert is_list(NIF.__oxbeam_tests__())

    {:docs_v1, _, :elixir, _, _, _, docs} = Code.fetch_docs(NIF)
    assert Enum.any?(docs, &match?({{:function, :__oxbeam_nif__add, 2}, _, _, :hidden, _}, &1))
    assert Enum.any?(docs, &match?({{:function, :add, 2}, _, ["add(a, b)"], %{}, _}, &1))
  end
end
