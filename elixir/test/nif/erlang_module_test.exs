defmodule Oxbeam.NIF.ErlangModuleTest do
  # A NIF library for an Erlang module (tests/erlang_nif, `init!("oxbeam_erlang_nif")`),
  # loaded by a real .erl module written as docs/nifs.md shows: each NIF registered
  # under its hidden name, and a wrapper that hands errors to Oxbeam.NifError. A bad
  # argument is `error:badarg` with error_info, printed the way Erlang prints a BIF's.
  use ExUnit.Case, async: true

  @module :oxbeam_erlang_nif
  # Compiled and loaded by setup_all, after this file is compiled.
  @compile {:no_warn_undefined, @module}

  setup_all do
    config =
      Oxbeam.Build.config!(@module,
        otp_app: :oxbeam,
        crate: "oxbeam_erlang_nif",
        path: Path.expand("../../../tests/erlang_nif", __DIR__)
      )

    %{library: library} = Oxbeam.Build.run!(config)

    dir =
      Path.join(System.tmp_dir!(), "oxbeam_erlang_module_#{System.unique_integer([:positive])}")

    File.mkdir_p!(dir)
    on_exit(fn -> File.rm_rf!(dir) end)

    source = Path.join(dir, "#{@module}.erl")
    File.write!(source, erlang_source(Path.rootname(library)))
    {:ok, @module, beam} = :compile.file(String.to_charlist(source), [:binary, :return_errors])
    {:module, @module} = :code.load_binary(@module, String.to_charlist(source), beam)
    :ok
  end

  # The module as a user writes it (debug builds also have the two test-runner NIFs).
  defp erlang_source(library) do
    """
    -module(oxbeam_erlang_nif).
    -export([add/2, sum/1, fail/1, refuse/1]).
    -export(['__oxbeam_tests__'/0, '__oxbeam_run_test__'/1]).
    -on_load(init/0).

    init() -> erlang:load_nif(#{inspect(library)}, 0).

    add(A, B) ->
        try '__oxbeam_nif__add'(A, B)
        catch error:Reason:Stack -> 'Elixir.Oxbeam.NifError':reraise(Reason, Stack, ?MODULE, add)
        end.

    sum(Xs) ->
        try '__oxbeam_nif__sum'(Xs)
        catch error:Reason:Stack -> 'Elixir.Oxbeam.NifError':reraise(Reason, Stack, ?MODULE, sum)
        end.

    fail(Message) ->
        try '__oxbeam_nif__fail'(Message)
        catch error:Reason:Stack -> 'Elixir.Oxbeam.NifError':reraise(Reason, Stack, ?MODULE, fail)
        end.

    refuse(Message) ->
        try '__oxbeam_nif__refuse'(Message)
        catch error:Reason:Stack -> 'Elixir.Oxbeam.NifError':reraise(Reason, Stack, ?MODULE, refuse)
        end.

    '__oxbeam_nif__add'(_, _) -> erlang:nif_error(not_loaded).
    '__oxbeam_nif__refuse'(_) -> erlang:nif_error(not_loaded).
    '__oxbeam_nif__sum'(_) -> erlang:nif_error(not_loaded).
    '__oxbeam_nif__fail'(_) -> erlang:nif_error(not_loaded).
    '__oxbeam_tests__'() -> erlang:nif_error(not_loaded).
    '__oxbeam_run_test__'(_) -> erlang:nif_error(not_loaded).
    """
  end

  # The module, through a function: the compiler does not know it exists.
  defp nif, do: @module

  # Evaluates Erlang expressions.
  defp erl(code) do
    {:ok, tokens, _} = :erl_scan.string(String.to_charlist(code))
    {:ok, exprs} = :erl_parse.parse_exprs(tokens)
    {:value, value, _} = :erl_eval.exprs(exprs, [])
    value
  end

  defp caught(fun) do
    try do
      fun.()
    catch
      kind, reason -> {kind, reason, __STACKTRACE__}
    end
  end

  defp erlang_format({:error, reason, stacktrace}) do
    :erl_error.format_exception(
      1,
      :error,
      reason,
      stacktrace,
      fn _, _, _ -> false end,
      fn term, _ -> :io_lib.print(term) end,
      :unicode
    )
    |> IO.chardata_to_string()
  end

  test "the NIFs answer through the wrappers" do
    assert nif().add(1, 2) == 3
    assert erl("oxbeam_erlang_nif:sum([1, 2, 3]).") == 6
  end

  test "a bad argument is error:badarg for Erlang's catch and ExUnit's catch_error" do
    assert erl("try oxbeam_erlang_nif:add(1, 2.5) catch error:badarg -> caught end.") ==
             :caught

    assert catch_error(nif().add(1, 2.5)) == :badarg
  end

  test "Erlang prints the argument's error under the call, as for a BIF" do
    error = caught(fn -> nif().add(1, 2.5) end)

    assert erlang_format(error) =~
             "exception error: bad argument\n" <>
               "  in function  oxbeam_erlang_nif:add/2\n" <>
               "     called as oxbeam_erlang_nif:add(1,2.5)\n" <>
               "     *** argument 2: (b) expected an integer (i64), got: 2.5\n"

    error = caught(fn -> nif().sum([1, 2.5]) end)

    assert erlang_format(error) =~
             "     *** argument 1: (xs) element 1 of the list: expected an integer (i64), got: 2.5\n"

    # The NIF's frame under its public name, then the caller.
    {:error, :badarg, stacktrace} = error
    assert [{@module, :sum, [[1, 2.5]], location}, {__MODULE__, _, _, _} | _] = stacktrace
    assert location[:error_info].cause.function == "oxbeam_erlang_nif:sum/1"
  end

  test "Elixir sees ArgumentError with the per-argument message" do
    assert_raise ArgumentError,
                 "errors were found at the given arguments:\n\n" <>
                   "  * 2nd argument: (b) expected an integer (i64), got: 2.5\n",
                 fn -> nif().add(1, 2.5) end
  end

  test "Error::badarg(message): error:badarg, the message under the call" do
    assert catch_error(nif().refuse("not now")) == :badarg
    error = caught(fn -> nif().refuse("not now") end)

    assert erlang_format(error) =~
             "exception error: bad argument\n" <>
               "  in function  oxbeam_erlang_nif:refuse/1\n" <>
               "     called as oxbeam_erlang_nif:refuse(<<\"not now\">>)\n" <>
               "     *** not now\n"

    assert_raise ArgumentError, "errors were found at the given arguments: not now", fn ->
      nif().refuse("not now")
    end
  end

  test "an error of the NIF's own code is raised as it is" do
    assert catch_error(nif().fail("not today")) ==
             %ArgumentError{message: "not today"}
  end
end
