defmodule Oxbeam.Build do
  @moduledoc false
  # Compile-time side of `use Oxbeam`: options, cargo, copying the library to priv/,
  # and the list of files whose change means a rebuild.

  @fields [
    :module,
    :otp_app,
    :crate,
    :path,
    :mode,
    :features,
    :cargo_args,
    :target_dir,
    :load_data,
    :load_data_fun,
    :skip_compilation?,
    :precompiled,
    :force_build,
    :library_name
  ]

  defstruct @fields

  # The options of `use Oxbeam`: the fields, but for those derived from them.
  @known @fields -- [:module, :library_name]

  @doc "Validated options of `use Oxbeam`."
  def config!(module, opts) do
    unless Keyword.keyword?(opts), do: fail!("use Oxbeam expects a keyword list of options")

    case Keyword.keys(opts) -- @known do
      [] ->
        :ok

      unknown ->
        fail!("unknown option(s) #{inspect(unknown)} for use Oxbeam in #{inspect(module)}")
    end

    otp_app = opts[:otp_app] || fail!("use Oxbeam in #{inspect(module)} needs otp_app: :my_app")
    crate = crate!(module, opts[:crate])
    load_data_fun = load_data_fun!(module, opts)

    mode = Keyword.get_lazy(opts, :mode, &default_mode/0)

    unless mode in [:release, :debug],
      do: fail!("mode: must be :release or :debug, got: #{inspect(mode)}")

    for key <- [:features, :cargo_args] do
      value = Keyword.get(opts, key, [])

      unless is_list(value) and Enum.all?(value, &is_binary/1),
        do: fail!("#{key}: must be a list of strings, got: #{inspect(value)}")
    end

    unless Keyword.get(opts, :force_build, false) in [true, false],
      do: fail!("force_build: must be a boolean, got: #{inspect(opts[:force_build])}")

    %__MODULE__{
      module: module,
      otp_app: otp_app,
      crate: crate,
      path: Path.expand(Keyword.get(opts, :path, Path.join("native", crate))),
      mode: mode,
      features: Keyword.get(opts, :features, []),
      cargo_args: Keyword.get(opts, :cargo_args, []),
      target_dir: opts[:target_dir] && Path.expand(opts[:target_dir]),
      load_data: Keyword.get(opts, :load_data, 0),
      load_data_fun: load_data_fun,
      skip_compilation?: Keyword.get(opts, :skip_compilation?, false),
      precompiled: Oxbeam.Precompiled.options!(module, opts[:precompiled]),
      force_build: Keyword.get(opts, :force_build, false),
      library_name: "lib" <> String.replace(crate, "-", "_")
    }
  end

  # The cargo package name: a string, or an atom as Rustler accepts (`crate: :my_nif`).
  defp crate!(module, nil),
    do: fail!("use Oxbeam in #{inspect(module)} needs crate: \"my_crate\"")

  defp crate!(_module, crate) when is_binary(crate) and crate != "", do: crate

  defp crate!(_module, crate) when is_atom(crate) and crate not in [true, false],
    do: Atom.to_string(crate)

  defp crate!(_module, crate),
    do:
      fail!("crate: must be a string or an atom (the cargo package name), got: #{inspect(crate)}")

  # `{Module, :function}`: called with no arguments when the module is loaded (in its
  # @on_load, as Rustler does); its result is the load data. Not with `load_data:`.
  defp load_data_fun!(module, opts) do
    case Keyword.fetch(opts, :load_data_fun) do
      :error ->
        nil

      {:ok, {fun_module, name}} when is_atom(fun_module) and is_atom(name) ->
        if Keyword.has_key?(opts, :load_data) do
          fail!(
            "use Oxbeam in #{inspect(module)}: load_data: and load_data_fun: exclude each " <>
              "other (load_data_fun's result is the load data)"
          )
        end

        {fun_module, name}

      {:ok, other} ->
        fail!(
          "load_data_fun: must be {Module, :function} (a function of no arguments, " <>
            "called when the module is loaded), got: #{inspect(other)}"
        )
    end
  end

  @doc """
  The build mode when `use Oxbeam` does not set one: `$OXBEAM_MODE` (`release` or
  `debug`) if set, else `:release` when `Mix.env()` is `:prod`, else `:debug`.
  """
  def default_mode do
    case System.get_env("OXBEAM_MODE") do
      "release" -> :release
      "debug" -> :debug
      _ -> if Mix.env() == :prod, do: :release, else: :debug
    end
  end

  @doc """
  Builds the crate (unless skipped) and installs the library in priv/.

  The installed file is named after its content (`lib<crate>-<digest>.so`): the VM
  (through `dlopen`) never reuses a library already loaded from the same path, so a
  rebuilt library is really loaded by a running VM, and the old one stays mapped
  for code that still uses it (hot upgrade). Older builds are removed from priv/.
  """
  def run!(%__MODULE__{} = config) do
    dir = priv_native(config)

    if config.skip_compilation? do
      library =
        case Path.wildcard(Path.join(dir, config.library_name <> "-*.so")) do
          [] ->
            fail!("skip_compilation?: true but there is no #{config.library_name}-*.so in #{dir}")

          found ->
            Enum.max_by(found, &File.stat!(&1, time: :posix).mtime)
        end

      %{library: library, watched: []}
    else
      # precompiled: downloads the library for this target, unless told to build.
      {artifact, watched} =
        if config.precompiled && not Oxbeam.Precompiled.force_build?(config.force_build),
          do: Oxbeam.Precompiled.fetch!(config),
          else: cargo_build!(config)

      File.mkdir_p!(dir)
      digest = digest_of(artifact)
      library = Path.join(dir, "#{config.library_name}-#{digest}.so")

      unless File.exists?(library) do
        # Copy then rename, so a half-written file is never loaded.
        File.cp!(artifact, library <> ".tmp")
        File.rename!(library <> ".tmp", library)
      end

      for old <- Path.wildcard(Path.join(dir, config.library_name <> "-*.so")), old != library do
        File.rm(old)
      end

      %{library: library, watched: watched}
    end
  end

  # A short content digest, without depending on the :crypto application.
  defp digest_of(path) do
    path
    |> File.read!()
    |> :erlang.md5()
    |> binary_part(0, 6)
    |> Base.encode16(case: :lower)
  end

  defp priv_native(config) do
    Path.join([Mix.Project.build_path(), "lib", Atom.to_string(config.otp_app), "priv", "native"])
  end

  @doc "Builds the crate with cargo: `{library_file, watched_files}` (mix oxbeam.precompile)."
  def build_artifact!(%__MODULE__{} = config), do: cargo_build!(config)

  # cargo's progress lines (kept out of what is shown).
  @progress ~r/^\s*(Compiling|Finished|Fresh|Blocking|Updating|Locking|Adding|Downloaded|Downloading|Checking|Running)\b/

  defp cargo_build!(config) do
    manifest = Path.join(config.path, "Cargo.toml")

    File.exists?(manifest) ||
      fail!(
        "could not build the crate #{inspect(config.crate)} at #{config.path}: no Cargo.toml there"
      )

    cargo =
      System.find_executable("cargo") ||
        Enum.find([Path.expand("~/.cargo/bin/cargo")], &File.exists?/1) ||
        fail!(
          "could not build the crate #{inspect(config.crate)} at #{config.path}: " <>
            "cargo was not found (install Rust: https://rustup.rs)"
        )

    # --lib: the cdylib only, not the crate's binaries, examples or tests.
    args =
      ["build", "--lib", "--manifest-path", manifest, "--message-format=json-render-diagnostics"] ++
        if(config.mode == :release, do: ["--release"], else: []) ++
        if(config.features == [], do: [], else: ["--features", Enum.join(config.features, ",")]) ++
        config.cargo_args

    env = if config.target_dir, do: [{"CARGO_TARGET_DIR", config.target_dir}], else: []

    Mix.shell().info("Compiling NIF crate #{config.crate} (cargo build, #{config.mode})")

    {output, status} = System.cmd(cargo, args, cd: config.path, env: env, stderr_to_stdout: true)

    lines = String.split(output, "\n")
    {json, text} = Enum.split_with(lines, &String.starts_with?(&1, "{\"reason\":"))

    if status != 0 do
      # cargo's errors only (no progress lines), with paths editors can open from the
      # Mix project's root; and no stack trace of this build code under them.
      errors =
        text
        |> Enum.reject(&Regex.match?(@progress, &1))
        |> Enum.map(&project_relative(&1, config.path))
        |> Enum.join("\n")
        |> String.replace(~r/\n{3,}/, "\n\n")
        |> String.trim()

      fail_without_trace!(
        "cargo failed to build the crate #{inspect(config.crate)} at #{config.path}:\n\n" <>
          errors
      )
    end

    # Built: show cargo's warnings (its diagnostics), not its progress lines.
    diagnostics = text |> Enum.reject(&progress_line?/1) |> Enum.join("\n") |> String.trim()
    if diagnostics != "", do: Mix.shell().info(diagnostics)

    artifact =
      find_artifact(json, config.crate, manifest) ||
        fail!(
          "cargo built the crate #{inspect(config.crate)} at #{config.path} but produced no " <>
            "cdylib: add `[lib] crate-type = [\"cdylib\"]` to its Cargo.toml"
        )

    watched =
      (dep_info_files(artifact) ++
         [manifest, Path.join(config.path, "Cargo.lock")])
      |> Enum.filter(&File.exists?/1)
      |> Enum.map(&Path.expand/1)
      |> Enum.uniq()

    {artifact, watched}
  end

  # The cdylib of our package: the compiler-artifact message whose manifest_path is
  # the crate's Cargo.toml (or, failing that, whose target is named after the crate;
  # `[lib] name` may differ from the package name).
  @doc false
  def find_artifact(json_lines, crate, manifest) do
    target = String.replace(crate, "-", "_")

    cdylibs =
      Enum.filter(json_lines, fn line ->
        String.contains?(line, "\"reason\":\"compiler-artifact\"") and
          String.contains?(line, "\"cdylib\"")
      end)

    by = fn pattern ->
      Enum.find_value(cdylibs, &(String.contains?(&1, pattern) && library_file(&1)))
    end

    by.("\"manifest_path\":#{json_string(manifest)}") || by.("\"name\":\"#{target}\"")
  end

  defp library_file(line) do
    with [_, files] <- Regex.run(~r/"filenames":\[([^\]]*)\]/, line) do
      ~r/"((?:[^"\\]|\\.)*\.(?:so|dylib))"/
      |> Regex.scan(files, capture: :all_but_first)
      |> Enum.map(fn [path] -> unescape_json(path) end)
      |> List.first()
    else
      _ -> nil
    end
  end

  defp json_string(text) do
    escaped = text |> String.replace("\\", "\\\\") |> String.replace("\"", "\\\"")
    "\"" <> escaped <> "\""
  end

  defp unescape_json(text) do
    Regex.replace(~r/\\(.)/, text, fn _, char ->
      case char do
        "n" -> "\n"
        "t" -> "\t"
        other -> other
      end
    end)
  end

  defp progress_line?(line), do: String.trim(line) == "" or Regex.match?(@progress, line)

  # `  --> src/lib.rs:3:5` (relative to the crate or its cargo workspace) becomes
  # relative to the Mix project's root, where `mix compile` runs.
  @location ~r/^(\s*--> )([^\s:][^:]*)(:\d+:\d+.*)$/
  defp project_relative(line, crate_dir) do
    case Regex.run(@location, line) do
      [_, arrow, path, position] ->
        arrow <> locate(path, Path.expand(crate_dir)) <> position

      nil ->
        line
    end
  end

  defp locate(path, crate_dir) do
    if Path.type(path) == :absolute do
      Path.relative_to_cwd(path)
    else
      # The crate's directory, then its parents (the workspace root cargo used).
      crate_dir
      |> Stream.iterate(&Path.dirname/1)
      |> Enum.take_while(&(&1 != Path.dirname(&1)))
      |> Enum.map(&Path.join(&1, path))
      |> Enum.find(&File.exists?/1)
      |> case do
        nil -> path
        found -> Path.relative_to_cwd(found)
      end
    end
  end

  # cargo writes `<artifact>.d` (make syntax) listing every source file the library was
  # built from, path dependencies included.
  @doc false
  def dep_info_files(artifact) do
    dep_info = Path.rootname(artifact) <> ".d"

    case File.read(dep_info) do
      {:ok, content} ->
        content
        |> String.split("\n")
        |> Enum.find("", &String.contains?(&1, ": "))
        |> String.split(": ", parts: 2)
        |> List.last()
        |> String.split(~r/(?<!\\) /, trim: true)
        |> Enum.map(&String.replace(&1, "\\ ", " "))

      {:error, _} ->
        []
    end
  end

  @doc "A file's modification stamp: changes when the file changes or disappears."
  # The content's digest: an edit within the same second that keeps the size is seen.
  def stamp(path) do
    case File.read(path) do
      {:ok, content} -> :erlang.md5(content)
      {:error, _} -> :missing
    end
  end

  # A compile error whose report is the message alone: a stack trace of the build code
  # would only bury cargo's errors.
  @doc false
  @spec fail_without_trace!(String.t()) :: no_return()
  def fail_without_trace!(message) do
    exception =
      if Code.ensure_loaded?(Mix.Error),
        do: Mix.Error.exception(message: message),
        else: CompileError.exception(description: message)

    :erlang.raise(:error, exception, [])
  end

  @doc false
  @spec fail!(String.t()) :: no_return()
  def fail!(message) do
    if Code.ensure_loaded?(Mix) and function_exported?(Mix, :raise, 1) do
      Mix.raise(message)
    else
      raise CompileError, description: message
    end
  end
end
