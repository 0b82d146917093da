defmodule Oxbeam.Test.NifStubs do
  @moduledoc """
  For tests that load a NIF library into a module of their own making (a hot upgrade,
  a failing load): `:erlang.load_nif/2` wants a function in the module for every NIF
  of the library (the hidden test-runner NIFs of debug builds included).
  """

  @doc """
  One `def` per function `module` exports that comes from its library, raising
  `:not_loaded` until the library replaces it, and the wrapper of each wrapped NIF.
  """
  def stubs(module) do
    functions = module.__info__(:functions)

    for {name, arity} <- functions, name not in [:__oxbeam_load__, :__mix_recompile__?] do
      hidden = :"__oxbeam_nif__#{name}"

      if {hidden, arity} in functions do
        # A wrapped NIF (registered as `__oxbeam_nif__<name>`): the wrapper `use Oxbeam`
        # generates.
        args = Macro.generate_arguments(arity, __MODULE__)

        quote do
          def unquote(name)(unquote_splicing(args)) do
            unquote(hidden)(unquote_splicing(args))
          catch
            :error, reason ->
              Oxbeam.NifError.reraise(reason, __STACKTRACE__, __MODULE__, unquote(name))
          end
        end
      else
        args = for i <- 1..arity//1, do: Macro.var(:"_arg#{i}", nil)
        quote do: def(unquote(name)(unquote_splicing(args)), do: :erlang.nif_error(:not_loaded))
      end
    end
  end

  @doc """
  Recompiles `module` around `library` (a new image of its NIF library: a hot upgrade
  when `module` has one loaded) with `load_data`, and returns what
  `:erlang.load_nif/2` returned (the VM's reason text as a string: Elixir versions
  inspect charlists differently).
  """
  def reload(module, library, load_data \\ 0) do
    path = library |> Path.rootname() |> String.to_charlist()
    key = {__MODULE__, :load_result, module}

    ast =
      quote do
        defmodule unquote(module) do
          @on_load :__load__
          def __load__ do
            result = :erlang.load_nif(unquote(path), unquote(Macro.escape(load_data)))
            :persistent_term.put(unquote(Macro.escape(key)), result)
            result
          end

          unquote_splicing(stubs(module))
        end
      end

    Code.put_compiler_option(:ignore_module_conflict, true)

    try do
      Code.compile_quoted(ast)
    after
      Code.put_compiler_option(:ignore_module_conflict, false)
    end

    case :persistent_term.get(key) do
      {:error, {kind, text}} -> {:error, {kind, to_string(text)}}
      other -> other
    end
  end
end
