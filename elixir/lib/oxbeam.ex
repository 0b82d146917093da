defmodule Oxbeam do
  @moduledoc """
  Use a Rust crate written with `oxbeam` as the NIF library of a module.

      defmodule MyApp.Native do
        use Oxbeam, otp_app: :my_app, crate: "my_nif"
      end

  Compiling the module builds the crate with cargo, copies the library to the
  application's `priv/native/`, defines one function per `#[nif]` (with the Rust `///`
  docs as `@doc` and a `@spec` derived from the Rust types) and loads the library when
  the module is loaded. A function the module defines itself is left alone, but for a
  Rustler-style stub (`def add(_a, _b), do: :erlang.nif_error(:nif_not_loaded)`),
  which becomes the NIF (keeping its own `@doc` and `@spec`).

  An argument that does not decode raises `:badarg` with EEP 54 `error_info` (see
  `Oxbeam.NifError`): `catch error:badarg` matches it, and Elixir shows it as
  `ArgumentError` saying which function, argument, path and value.

  The module is recompiled (and cargo run) when a source file of the crate or of its
  path dependencies, its `Cargo.toml` or its `Cargo.lock` changes, and not otherwise.

  ## Options

    * `:otp_app` (required) - the application whose `priv/` holds the library.
    * `:crate` (required) - the cargo package name, a string or an atom
      (`crate: :my_nif`). Only its library target is built (`cargo build --lib`): its
      binaries, examples and tests are not.
    * `:path` - the crate directory, relative to the Mix project root
      (default `"native/<crate>"`).
    * `:mode` - `:release` or `:debug` (default: `$OXBEAM_MODE` if set, else
      `:release` when `Mix.env()` is `:prod`, otherwise `:debug`).
    * `:features` - cargo features to enable (a list of strings).
    * `:cargo_args` - extra arguments for `cargo build`.
    * `:target_dir` - the cargo target directory (`CARGO_TARGET_DIR`).
    * `:load_data` - the term passed to the library's load callback (default `0`).
    * `:load_data_fun` - `{Module, :function}`: the function (of no arguments) is
      called each time the module is loaded, in its `@on_load`, and its result is the
      load data (as Rustler's option; not with `:load_data`). If it raises, the library
      is not loaded and `load_error/1` says why.
    * `:skip_compilation?` - do not run cargo; load the library already in `priv/`.
    * `:precompiled` - `[base_url: "https://...", version: "0.1.0", targets: [...]]`:
      download the library built by `mix oxbeam.precompile` for the running target
      instead of running cargo, checked against the checksum file shipped next to
      `mix.exs` (see docs/shipping.md).
    * `:force_build` - with `:precompiled`, build from source anyway (as does
      `OXBEAM_BUILD=1` in the environment).

  If the library cannot be loaded, the module still loads and every NIF raises
  `Oxbeam.NotLoadedError` with the reason; `loaded?/1` and `load_error/1` tell it
  from code.

  ## Errors at compile time

  Compiling the module fails, with a message naming the crate and its directory, when
  cargo is not installed, when the crate does not build (the message holds cargo's
  own errors), when it builds no `cdylib`, and when the library's
  `oxbeam::init!("...")` is missing or names another module.
  """

  alias Oxbeam.{Build, Metadata}

  @doc false
  defmacro __using__(opts) do
    quote do
      @oxbeam_opts unquote(opts)
      @before_compile Oxbeam
      @on_load :__oxbeam_load__
    end
  end

  @doc false
  defmacro __before_compile__(env) do
    opts = Module.get_attribute(env.module, :oxbeam_opts)
    config = Build.config!(env.module, opts)
    build = Build.run!(config)
    nifs = Metadata.read!(build.library, env.module, config.crate)
    types = build.library |> File.read!() |> Metadata.types()

    stubs = Enum.map(nifs, &stub(&1, types, env.module))

    # Each derived type of the library gets a @type, which the NIFs' specs use.
    type_defs =
      for {attribute, ast} <- Metadata.type_asts(types) do
        case attribute do
          :opaque -> quote(do: @opaque(unquote(ast)))
          :type -> quote(do: @type(unquote(ast)))
        end
      end

    watched = Enum.map(build.watched, &{&1, Build.stamp(&1)})

    load_data =
      case config.load_data_fun do
        nil -> {:value, config.load_data}
        {module, name} -> {:fun, module, name}
      end

    library_file = build.library |> Path.basename() |> Path.rootname()
    # Only a module whose build mode follows MIX_ENV checks the mode (a constant `false`
    # in generated code would be a Dialyzer warning in every user module).
    mode_changed =
      if Keyword.has_key?(opts, :mode),
        do: false,
        else: quote(do: Oxbeam.Build.default_mode() != unquote(config.mode))

    # What `mix oxbeam.precompile` needs to build this module's crate again.
    build_opts =
      Keyword.take(opts, [
        :otp_app,
        :crate,
        :path,
        :features,
        :cargo_args,
        :target_dir,
        :precompiled
      ])

    quote do
      Module.register_attribute(__MODULE__, :oxbeam_build, persist: true)
      @oxbeam_build unquote(Macro.escape(build_opts))

      # Cargo.lock may be written by the build itself, after Mix noted the compile
      # time: it is only checked by __mix_recompile__?/0, against its stamp after the build.
      for {path, _} <- unquote(Macro.escape(watched)), Path.basename(path) != "Cargo.lock" do
        @external_resource path
      end

      @doc false
      def __mix_recompile__? do
        unquote(mode_changed) or
          Enum.any?(unquote(Macro.escape(watched)), fn {path, stamp} ->
            Oxbeam.Build.stamp(path) != stamp
          end)
      end

      @doc false
      def __oxbeam_load__ do
        # load_nif/2 must be called from the module the library is for.
        result =
          with {:ok, path} <-
                 Oxbeam.__library_path__(unquote(config.otp_app), unquote(library_file)),
               {:ok, load_data} <- Oxbeam.__load_data__(unquote(Macro.escape(load_data))) do
            :erlang.load_nif(path, {:"$oxbeam_load", System.version(), load_data})
          end

        Oxbeam.__loaded__(__MODULE__, result)
      end

      unquote_splicing(type_defs)
      unquote_splicing(stubs)
    end
  end

  # A NIF registered under its own name: a stub the library replaces. A wrapped NIF
  # (registered as `__oxbeam_nif__<name>`): a hidden stub the library replaces, and the
  # public function, which calls it and turns its argument errors into `:badarg`
  # (Oxbeam.NifError). A function the module defines itself is left alone.
  #
  # A stub the module writes itself as Rustler's guide does (every clause
  # `:erlang.nif_error(...)`) is replaced by the wrapper, keeping the module's own @doc
  # and @spec: with a wrapped NIF the library would never replace it.
  defp stub(nif, types, module) do
    name = nif.name
    arity = nif.arity
    own? = Module.defines?(module, {name, arity})
    wrapped? = nif.registered != name
    hidden? = wrapped? and not Module.defines?(module, {nif.registered, arity})
    replace? = own? and wrapped? and nif_error_stub?(module, {name, arity})
    if replace?, do: Module.delete_definition(module, {name, arity})

    public =
      cond do
        replace? -> wrapper(nif, nil)
        own? -> nil
        not wrapped? -> public_stub(nif, types)
        true -> wrapper(nif, types)
      end

    hidden =
      if hidden? do
        args = Enum.map(Metadata.arg_vars(nif), &Macro.var(:"_#{&1}", __MODULE__))

        quote do
          @doc false
          def unquote(nif.registered)(unquote_splicing(args)) do
            :erlang.nif_error(Oxbeam.__not_loaded__(__MODULE__, unquote(name), unquote(arity)))
          end
        end
      end

    quote do
      unquote(public)
      unquote(hidden)
    end
  end

  defp public_stub(nif, types) do
    args = Enum.map(Metadata.arg_vars(nif), &Macro.var(:"_#{&1}", __MODULE__))
    name = nif.name
    arity = nif.arity

    quote do
      unquote(doc_and_spec(nif, types))

      def unquote(name)(unquote_splicing(args)) do
        # nif_error, not raise: Dialyzer then takes the stub for a function that
        # returns (the NIF replaces it), so callers keep their checks.
        :erlang.nif_error(Oxbeam.__not_loaded__(__MODULE__, unquote(name), unquote(arity)))
      end
    end
  end

  # `types` nil: no @doc and @spec (the module's own stay).
  defp wrapper(nif, types) do
    args = Enum.map(Metadata.arg_vars(nif), &Macro.var(String.to_atom(&1), __MODULE__))
    name = nif.name

    quote do
      unquote(types && doc_and_spec(nif, types))

      def unquote(name)(unquote_splicing(args)) do
        unquote(nif.registered)(unquote_splicing(args))
      catch
        :error, reason ->
          Oxbeam.NifError.reraise(reason, __STACKTRACE__, __MODULE__, unquote(name))
      end
    end
  end

  defp nif_error_stub?(module, function) do
    case Module.get_definition(module, function) do
      {:v1, :def, _meta, [_ | _] = clauses} ->
        Enum.all?(clauses, fn {_meta, _args, _guards, body} ->
          match?({{:., _, [:erlang, :nif_error]}, _, [_ | _]}, body)
        end)

      _ ->
        false
    end
  end

  defp doc_and_spec(nif, types) do
    # A NIF without `///` docs is still public: no @doc (not @doc false).
    doc =
      if String.trim(nif.doc) != "" do
        quote do: @doc(unquote(nif.doc))
      end

    spec =
      case Metadata.spec_ast(nif, types) do
        {:ok, ast} -> quote do: @spec(unquote(ast))
        :error -> nil
      end

    quote do
      unquote(doc)
      unquote(spec)
    end
  end

  @doc """
  Whether the NIF library of `module` (a module that does `use Oxbeam`) is loaded.

  `false` before the module is loaded and when loading the library failed; then
  `load_error/1` says why.
  """
  @spec loaded?(module()) :: boolean()
  def loaded?(module), do: load_status(module) == :ok

  @doc """
  Why the NIF library of `module` is not loaded, or `nil` if it is.

      Oxbeam.load_error(MyApp.Native)
      #=> "Failed to load NIF library: '.../libmy_nif-1a2b3c.so: cannot open shared object file'"
  """
  @spec load_error(module()) :: String.t() | nil
  def load_error(module) do
    case load_status(module) do
      :ok -> nil
      {:error, reason} -> reason
    end
  end

  defp load_status(module) do
    case :persistent_term.get({__MODULE__, module}, :unknown) do
      :ok ->
        :ok

      :unknown ->
        {:error, "#{inspect(module)} was not loaded by the VM yet (or does not use Oxbeam)"}

      {:error, reason} ->
        {:error, reason}
    end
  end

  @doc false
  def __library_path__(otp_app, library_name) do
    case :code.priv_dir(otp_app) do
      {:error, reason} ->
        {:error, {reason, ~c"no priv directory for application #{inspect(otp_app)}"}}

      priv ->
        {:ok, String.to_charlist(Path.join([to_string(priv), "native", library_name]))}
    end
  end

  @doc false
  # The load data: `load_data:`'s value, or what `load_data_fun:` returns now (at load).
  def __load_data__({:value, data}), do: {:ok, data}

  def __load_data__({:fun, module, name}) do
    {:ok, apply(module, name, [])}
  catch
    kind, reason ->
      message = Exception.format_banner(kind, reason, __STACKTRACE__)

      {:error,
       {:load_data_fun,
        "load_data_fun: #{Exception.format_mfa(module, name, 0)} failed: #{message}"}}
  end

  @doc false
  def __loaded__(module, result) do
    status =
      case result do
        :ok -> :ok
        {:error, {:reload, _}} -> :ok
        {:error, {_kind, text}} -> {:error, to_string(text)}
        {:error, other} -> {:error, inspect(other)}
      end

    :persistent_term.put({__MODULE__, module}, status)
    # The module loads either way: the stubs explain what went wrong.
    :ok
  end

  @doc false
  # The exception a stub raises (through :erlang.nif_error/1) when its NIF is missing.
  def __not_loaded__(module, name, arity) do
    message =
      case load_status(module) do
        :ok ->
          "the NIF library for #{inspect(module)} does not define #{name}/#{arity} " <>
            "(rebuild the crate?)"

        {:error, reason} ->
          "the NIF library for #{inspect(module)} is not loaded: #{reason}"
      end

    %Oxbeam.NotLoadedError{message: message}
  end
end
