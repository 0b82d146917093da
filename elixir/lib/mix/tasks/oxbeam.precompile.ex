defmodule Mix.Tasks.Oxbeam.Precompile do
  @shortdoc "Builds precompiled NIF artifacts and their checksum file"

  @moduledoc """
  Builds the crate of a `use Oxbeam` module for one target, in release mode, into the
  artifact that `use Oxbeam, precompiled: [...]` downloads, and records its checksum.

      mix oxbeam.precompile MyLib.Native
      mix oxbeam.precompile MyLib.Native --target aarch64-unknown-linux-gnu --output-dir out

  Writes `<output-dir>/lib<crate>-v<version>-nif-<nif version>-<target>.so.tar.gz`
  (upload it to the `base_url:` of `precompiled:`) and adds its `"sha256:<hex>"` to
  `checksum-Elixir.MyLib.Native.exs` next to `mix.exs` (ship that file in the
  package). Entries for other targets already in the checksum file are kept, so running
  the task once per target fills it.

  Without module names, every module of the project that uses `Oxbeam` with
  `precompiled:` is built.

  ## Checksums of artifacts built elsewhere

  When each target is built by its own CI job and uploaded to `base_url:`, write the
  checksum file from the published artifacts instead:

      mix oxbeam.precompile MyLib.Native --fetch-checksums

  downloads the artifact of every target of `precompiled:` from `base_url:` (nothing
  is built) and writes the checksum file with all of them; it fails, naming them, if
  some are missing.

  ## Options

    * `--target` - the Rust target triple (default: the running VM's, the one
      `precompiled:` downloads for); passed to `cargo build --target`.
    * `--output-dir` - where the tarballs go (default `_build/oxbeam_precompiled`).
    * `--version` - the version in the artifact's name (default: the `version:` of
      the module's `precompiled:` options).

  The project is compiled first with `OXBEAM_BUILD=1`, so the module's own download
  of an artifact not published yet is not attempted.
  """

  use Mix.Task

  alias Oxbeam.{Build, Precompiled}

  @switches [target: :string, output_dir: :string, version: :string, fetch_checksums: :boolean]

  @impl true
  def run(args) do
    {opts, names} = OptionParser.parse!(args, strict: @switches)
    System.put_env("OXBEAM_BUILD", "1")
    Mix.Task.run("compile", [])

    modules =
      case names do
        [] -> precompiled_modules()
        names -> Enum.map(names, &Module.concat([&1]))
      end

    if modules == [],
      do:
        Mix.raise(
          "mix oxbeam.precompile: no module of this project uses Oxbeam with precompiled:"
        )

    target = opts[:target] || Precompiled.current_target()

    output_dir =
      Path.expand(
        opts[:output_dir] || Path.join(Mix.Project.build_path(), "../oxbeam_precompiled")
      )

    for module <- modules do
      if opts[:fetch_checksums],
        do: fetch_checksums(module, opts[:version]),
        else: precompile(module, target, output_dir, opts[:version])
    end

    :ok
  end

  defp fetch_checksums(module, version) do
    build_opts = build_opts!(module)
    config = Build.config!(module, build_opts)

    precompiled =
      config.precompiled ||
        Mix.raise("mix oxbeam.precompile: #{inspect(module)} has no precompiled: options")

    version = version || precompiled.version

    results =
      for target <- precompiled.targets do
        name = Precompiled.tarball_name(config.library_name, version, target)
        url = "#{precompiled.base_url}/#{name}"
        {name, url, Precompiled.download(url)}
      end

    case for({_, url, {:error, why}} <- results, do: "  #{url}: #{why}") do
      [] ->
        checksums =
          Map.new(for {name, _, {:ok, body}} <- results, do: {name, Precompiled.checksum(body)})

        path = Path.join(File.cwd!(), Precompiled.checksum_file_name(module))
        File.write!(path, format_checksums(checksums))
        Mix.shell().info("Wrote #{path} (#{map_size(checksums)} artifacts)")

      failed ->
        Mix.raise(
          "mix oxbeam.precompile --fetch-checksums: #{length(failed)} of the " <>
            "#{length(results)} artifacts of #{inspect(module)} could not be downloaded " <>
            "(publish them, or remove their targets from precompiled:):\n" <>
            Enum.join(failed, "\n")
        )
    end
  end

  defp precompile(module, target, output_dir, version) do
    build_opts = build_opts!(module)
    precompiled = build_opts[:precompiled] || []

    version =
      version || precompiled[:version] ||
        Mix.raise(
          "mix oxbeam.precompile: #{inspect(module)} has no precompiled: [version: ...]; " <>
            "pass --version"
        )

    cargo_args = Keyword.get(build_opts, :cargo_args, []) ++ ["--target", target]

    config =
      Build.config!(
        module,
        build_opts
        |> Keyword.delete(:precompiled)
        |> Keyword.merge(mode: :release, cargo_args: cargo_args)
      )

    {library, _watched} = Build.build_artifact!(config)
    {name, tarball} = Precompiled.pack!(library, config.library_name, version, target)
    File.mkdir_p!(output_dir)
    File.write!(Path.join(output_dir, name), tarball)

    checksum_path = Path.join(File.cwd!(), Precompiled.checksum_file_name(module))
    checksums = read_checksums(checksum_path) |> Map.put(name, Precompiled.checksum(tarball))
    File.write!(checksum_path, format_checksums(checksums))

    Mix.shell().info("Wrote #{Path.join(output_dir, name)}")
    Mix.shell().info("Wrote #{checksum_path}")
  end

  defp build_opts!(module) do
    case Code.ensure_loaded(module) do
      {:module, _} ->
        case module.__info__(:attributes)[:oxbeam_build] do
          nil -> Mix.raise("mix oxbeam.precompile: #{inspect(module)} does not use Oxbeam")
          [opts] when is_list(opts) -> opts
          opts -> opts
        end

      {:error, _} ->
        Mix.raise("mix oxbeam.precompile: no module #{inspect(module)} in this project")
    end
  end

  defp precompiled_modules do
    app = Mix.Project.config()[:app]
    Application.load(app)

    for module <- Application.spec(app, :modules) || [],
        Code.ensure_loaded?(module),
        opts = module.__info__(:attributes)[:oxbeam_build],
        opts != nil and Keyword.has_key?(List.wrap(opts), :precompiled),
        do: module
  end

  defp read_checksums(path) do
    with {:ok, text} <- File.read(path),
         {%{} = map, _} <- Code.eval_string(text) do
      map
    else
      _ -> %{}
    end
  end

  defp format_checksums(checksums) do
    lines =
      for {name, sum} <- Enum.sort(checksums),
          do: "  #{inspect(name)} => #{inspect(sum)},\n"

    "%{\n" <> Enum.join(lines) <> "}\n"
  end
end
