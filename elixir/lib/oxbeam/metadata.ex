defmodule Oxbeam.Metadata do
  @moduledoc false
  # Reads the records `#[nif]` and `init!` embed in a library (docs/architecture.md):
  #   OXBEAM 0x1F init 0x1F <module> 0x1F wrapped|direct 0x1E
  #     (wrapped: the NIFs are registered as `__oxbeam_nif__<name>`, and the module's
  #     `<name>` is a wrapper (Oxbeam.NifError); direct, or no field (libraries built
  #     before it existed): under their own names)
  #   OXBEAM 0x1F nif 0x1F name 0x1F arity 0x1F argnames 0x1F specs 0x1F ret 0x1F schedule 0x1F doc
  #     0x1F written_spec 0x1E   (written_spec: #[nif(spec = "...")], may be empty)
  #   OXBEAM 0x1F type 0x1F RustName 0x1F exception|value|resource 0x1F spec 0x1E
  #   (derived types and resource types)
  #
  # Specs may hold `oxbeam_type(Name)` (a type the Rust side does not know by name):
  # `resolve/2` turns it into the derived or resource type's `@type`, or `term()`.

  @us <<0x1F>>
  @rs <<0x1E>>
  @gs <<0x1D>>

  defmodule Nif do
    @moduledoc false
    # `spec` is the @spec written with #[nif(spec = "...")], or "".
    # `registered` is the name the library registers the NIF under: `name`, or
    # `__oxbeam_nif__<name>` when the module wraps its NIFs.
    defstruct [
      :name,
      :arity,
      :arg_names,
      :arg_specs,
      :return_spec,
      :schedule,
      :doc,
      :registered,
      spec: ""
    ]
  end

  defmodule Type do
    @moduledoc false
    # `type_name` is the name of its `@type` in the stub module.
    defstruct [:name, :kind, :spec, :type_name]
  end

  # Types Elixir defines itself: a derived type of such a name gets a suffix.
  @builtin_types ~w(any arity as_boolean atom binary bitstring boolean byte char charlist
    dynamic float fun function identifier integer iodata iolist keyword list map mfa
    maybe_improper_list module neg_integer no_return node none nonempty_charlist
    nonempty_improper_list nonempty_list nonempty_maybe_improper_list non_neg_integer
    number pid port pos_integer reference string struct term timeout tuple)a

  @doc """
  The derived types recorded in a library binary, by Rust name (the first record of
  a name wins).
  """
  def types(binary) do
    binary
    |> :binary.matches("OXBEAM" <> @us <> "type" <> @us)
    |> Enum.reduce(%{}, fn {pos, len}, acc ->
      rest = binary_part(binary, pos + len, byte_size(binary) - pos - len)

      with [record | _] <- :binary.split(rest, @rs),
           [name, kind, spec] when kind in ["exception", "value", "resource"] and name != "" <-
             :binary.split(record, @us, [:global]) do
        Map.put_new(acc, name, %Type{
          name: name,
          kind: kind,
          spec: spec,
          type_name: type_name(name)
        })
      else
        _ -> acc
      end
    end)
  end

  defp type_name(rust_name) do
    name = rust_name |> Macro.underscore() |> String.to_atom()
    if name in @builtin_types, do: :"#{name}_value", else: name
  end

  @doc """
  The quoted type definitions of the derived and resource types, as `{:type | :opaque,
  name :: spec}`; a type whose spec does not parse is left out.
  """
  def type_asts(types) do
    for {_, %Type{} = type} <- Enum.sort(types),
        {:ok, ast} <- [Code.string_to_quoted(type.spec)] do
      {type_attribute(type), {:"::", [], [{type.type_name, [], []}, resolve(ast, types)]}}
    end
  end

  # A resource is opaque: callers get it from a NIF and pass it back.
  defp type_attribute(%Type{kind: "resource"}), do: :opaque
  defp type_attribute(%Type{}), do: :type

  @doc """
  Replaces `oxbeam_type(Name)` in a quoted type: a known derived or resource type
  becomes its `@type`, anything else `term()`.
  """
  def resolve(ast, types) do
    Macro.prewalk(ast, fn
      {:oxbeam_type, _, [name]} ->
        case Map.get(types, name_of(name)) do
          %Type{type_name: type_name} -> {type_name, [], []}
          nil -> {:term, [], []}
        end

      other ->
        other
    end)
  end

  defp name_of({:__aliases__, _, parts}), do: Enum.map_join(parts, ".", &Atom.to_string/1)

  defp name_of({name, _, context}) when is_atom(name) and is_atom(context),
    do: Atom.to_string(name)

  defp name_of(_), do: nil

  @doc "The NIFs of the library at `path`, checking that it was built for `module`."
  def read!(path, module, crate) do
    binary = File.read!(path)
    {inits, nifs} = records(binary)
    expected = Atom.to_string(module)

    registration =
      case Enum.uniq_by(inits, &elem(&1, 0)) do
        [{^expected, registration}] ->
          registration

        [] ->
          fail!(
            "the library of crate #{inspect(crate)} (#{path}) has no `oxbeam::init!`: " <>
              "add `oxbeam::init!(\"#{expected}\");` to its lib.rs"
          )

        [{other, _} | _] ->
          fail!(
            "the crate #{inspect(crate)} calls `oxbeam::init!(\"#{other}\")` but is used " <>
              "from #{inspect(module)}: write `oxbeam::init!(\"#{expected}\");`"
          )
      end

    nifs
    |> Enum.uniq_by(&{&1.name, &1.arity})
    |> Enum.sort_by(&{&1.name, &1.arity})
    |> Enum.map(&%{&1 | registered: registered_name(&1.name, registration)})
  end

  @doc """
  The name a NIF is registered under in a library whose `init!` record says
  `registration` (`:wrapped` or `:direct`): oxbeam's own hidden NIFs (`__oxbeam_tests__`)
  keep their names.
  """
  def registered_name(name, :wrapped) do
    text = Atom.to_string(name)
    if String.starts_with?(text, "__oxbeam_"), do: name, else: :"__oxbeam_nif__#{text}"
  end

  def registered_name(name, :direct), do: name

  @doc false
  def records(binary) do
    binary
    |> :binary.matches("OXBEAM" <> @us)
    |> Enum.reduce({[], []}, fn {pos, len}, {inits, nifs} ->
      rest = binary_part(binary, pos + len, byte_size(binary) - pos - len)

      with [record | _] <- :binary.split(rest, @rs),
           {:ok, parsed} <- parse(record) do
        case parsed do
          {:init, _, _} = init -> {[Tuple.delete_at(init, 0) | inits], nifs}
          %Nif{} = nif -> {inits, [nif | nifs]}
        end
      else
        _ -> {inits, nifs}
      end
    end)
    |> then(fn {inits, nifs} -> {Enum.reverse(inits), Enum.reverse(nifs)} end)
  end

  defp parse(record) do
    case :binary.split(record, @us, [:global]) do
      ["init", module] ->
        {:ok, {:init, module, :direct}}

      ["init", module, "wrapped"] ->
        {:ok, {:init, module, :wrapped}}

      ["init", module, "direct"] ->
        {:ok, {:init, module, :direct}}

      # A record without the written-spec field (libraries built before it existed).
      ["nif", _, _, _, _, _, _, _] ->
        parse(record <> @us)

      ["nif", name, arity, arg_names, arg_specs, ret, schedule, doc, spec] ->
        with {arity, ""} <- Integer.parse(arity) do
          names = if arg_names == "", do: [], else: String.split(arg_names, ",")
          specs = if arg_specs == "", do: [], else: :binary.split(arg_specs, @gs, [:global])

          {:ok,
           %Nif{
             name: String.to_atom(name),
             arity: arity,
             arg_names: names,
             arg_specs: specs,
             return_spec: ret,
             schedule: schedule,
             doc: doc,
             spec: spec
           }}
        end

      _ ->
        :error
    end
  end

  @doc """
  Argument names for a NIF's stub: valid lowercase variable names, unique, one per
  argument (`arg1`, `arg2`, ... where the record gives none).
  """
  def arg_vars(%Nif{arity: arity, arg_names: names}) do
    names = if length(names) == arity, do: names, else: List.duplicate("", arity)

    names
    |> Enum.with_index(1)
    |> Enum.map_reduce(MapSet.new(), fn {name, index}, seen ->
      var =
        name
        |> String.replace_prefix("r#", "")
        |> String.replace(~r/[^A-Za-z0-9_]/, "_")
        |> String.trim_leading("_")
        |> Macro.underscore()
        |> case do
          # `fn` (`r#fn` in Rust) cannot be a variable of a generated function head.
          "fn" -> "arg#{index}"
          <<first, _::binary>> = var when first in ?a..?z -> var
          _ -> "arg#{index}"
        end

      var = if MapSet.member?(seen, var), do: "#{var}_#{index}", else: var
      {var, MapSet.put(seen, var)}
    end)
    |> elem(0)
  end

  @doc """
  The quoted `name(args) :: return` of a NIF's `@spec`, or `:error` if one of the
  type strings does not parse (the stub then has no `@spec`).
  """
  def spec_ast(nif, types \\ %{})

  def spec_ast(%Nif{spec: written} = nif, types) when written != "" do
    case Code.string_to_quoted(written) do
      {:ok, {:"::", _, [{name, _, args}, _]} = ast}
      when name == nif.name and is_list(args) and length(args) == nif.arity ->
        {:ok, resolve(ast, types)}

      _ ->
        fail!(
          "the spec written for #{nif.name}/#{nif.arity} with #[nif(spec = ...)] is not a " <>
            "typespec for #{nif.name}/#{nif.arity}: #{inspect(written)}"
        )
    end
  end

  def spec_ast(%Nif{} = nif, types) do
    with {:ok, args} <- quote_types(nif.arg_specs),
         {:ok, [ret]} <- quote_types([nif.return_spec]) do
      args = Enum.map(args, &resolve(&1, types))
      {:ok, {:"::", [], [{nif.name, [], args}, resolve(ret, types)]}}
    end
  end

  defp quote_types(sources) do
    Enum.reduce_while(sources, {:ok, []}, fn source, {:ok, acc} ->
      case Code.string_to_quoted(source) do
        {:ok, ast} when source != "" -> {:cont, {:ok, [ast | acc]}}
        _ -> {:halt, :error}
      end
    end)
    |> case do
      {:ok, asts} -> {:ok, Enum.reverse(asts)}
      :error -> :error
    end
  end

  @spec fail!(String.t()) :: no_return()
  defp fail!(message), do: Oxbeam.Build.fail!(message)
end
