defmodule Oxbeam.NifError do
  @moduledoc """
  Argument errors of NIFs as `:badarg`, with EEP 54 `error_info`.

  A library built with `oxbeam::init!` (without `wrappers = false`) registers each
  `#[nif]` under a hidden name, `__oxbeam_nif__<name>`, and the module's `<name>` is a
  wrapper that calls it (`use Oxbeam` generates the wrappers; an Erlang module writes
  them, see below). When an argument does not decode, the wrapper raises the error
  `:badarg` with `error_info` (`:erlang.error/3`), so that:

    * `catch error:badarg` (Erlang), `catch_error(f(x)) == :badarg` (ExUnit) match, as
      with a Rustler NIF that returns `Error::BadArg`;
    * Elixir's `rescue ArgumentError` and `assert_raise ArgumentError, message` see
      `%ArgumentError{message: "MyApp.Native.sum/1: argument 1 (xs): element 1 of the
      list: expected an integer (i64), got: :a"}`: Elixir builds it from
      `format_error/2` of this module (the `reason` and `general` keys of EEP 54);
    * Erlang's shell and crash reports print `*** argument 1: (xs) element 1 of the
      list: ...` under the call, as for a BIF.

  `Error::badarg(msg)` from the NIF's code is raised the same way (Elixir's message:
  `MyApp.Native.f/2: msg`). Every other exception of the NIF
  (`Error::argument_error(msg)`, a panic, a derived exception, ...) is raised as it is. In both cases the stack trace is the one a direct
  NIF call has: the NIF's frame under its own name, then the caller (the wrapper's own
  frame is dropped).

  ## An Erlang module

      -module(my_nif).
      -export([add/2]).
      -on_load(init/0).

      init() -> erlang:load_nif("priv/native/libmy_nif", 0).

      add(A, B) ->
          try '__oxbeam_nif__add'(A, B)
          catch error:Reason:Stack -> 'Elixir.Oxbeam.NifError':reraise(Reason, Stack, ?MODULE, add)
          end.

      '__oxbeam_nif__add'(_, _) -> erlang:nif_error(not_loaded).
  """

  @tag :"$oxbeam_badarg"

  @doc """
  Raises again the error `reason` that the hidden NIF of `name` in `module` raised
  (with `stacktrace`): an argument error as `:badarg` with `error_info`, anything else
  as it is. The stack trace names the NIF `name` and leaves the wrapper's frame out.
  """
  @spec reraise(term(), Exception.stacktrace(), module(), atom()) :: no_return()
  def reraise(reason, stacktrace, module, name) do
    stacktrace = clean(stacktrace, module, name)

    case {reason, stacktrace} do
      {{@tag, function, position, arg_name, description}, [{m, f, args, location} | rest]} ->
        cause = %{
          function: function,
          position: position,
          argument: arg_name,
          description: description
        }

        error_info = %{module: __MODULE__, cause: cause}

        :erlang.raise(:error, :badarg, [{m, f, args, location ++ [error_info: error_info]} | rest])

      _ ->
        :erlang.raise(:error, reason, stacktrace)
    end
  end

  # The hidden NIF's frame under the public name; the wrapper's frame (called from
  # its caller, right below) dropped. The stub of a NIF that is not loaded raises
  # through :erlang.nif_error/1, whose frame comes first.
  defp clean([{:erlang, :nif_error, _, _} = top | rest], module, name),
    do: [top | clean(rest, module, name)]

  defp clean([{module, hidden, args, location} | rest], module, name) do
    {top, rest} =
      if hidden == :"__oxbeam_nif__#{name}" do
        {{module, name, args, location}, drop_wrapper(rest, module, name, arity(args))}
      else
        {{module, hidden, args, location}, rest}
      end

    [top | rest]
  end

  defp clean(stacktrace, _module, _name), do: stacktrace

  defp drop_wrapper([{module, name, arity, _} | rest], module, name, arity), do: rest
  defp drop_wrapper(rest, _module, _name, _arity), do: rest

  defp arity(args) when is_list(args), do: length(args)
  defp arity(arity), do: arity

  @doc """
  The EEP 54 callback (`error_info`'s `module`): Elixir's `ArgumentError` message is
  `reason <> ": " <> general` (the message an Elixir module's NIF has always raised);
  an Erlang module's NIF gets the per-argument form Erlang prints for BIFs.
  """
  @spec format_error(term(), Exception.stacktrace()) :: map()
  def format_error(_reason, [{module, _, _, location} | _]) do
    case location[:error_info] do
      %{cause: %{function: function, position: position} = cause} ->
        format(elixir_module?(module), function, position, cause)

      _ ->
        %{}
    end
  end

  def format_error(_reason, _stacktrace), do: %{}

  defp format(true, function, 0, cause), do: %{reason: function, general: cause.description}

  defp format(true, function, position, cause),
    do: %{
      reason: function,
      general: "argument #{position} (#{cause.argument}): #{cause.description}"
    }

  defp format(false, _function, 0, cause), do: %{general: cause.description}

  defp format(false, _function, position, cause),
    do: %{position => "(#{cause.argument}) #{cause.description}"}

  defp elixir_module?(module), do: match?("Elixir." <> _, Atom.to_string(module))
end
