defmodule Mix.Tasks.Oxbeam.Gen.Nif do
  @shortdoc "Adds a Rust NIF crate and the Elixir module that uses it"

  @moduledoc """
  Adds a NIF written in Rust to the current Mix project:

      mix oxbeam.gen.nif MyApp.Native

  creates

    * `native/my_app_native/Cargo.toml` — a `cdylib` depending on oxbeam (a path
      dependency when the `:oxbeam` package comes from a source checkout, else the
      crates.io version matching the Elixir package),
    * `native/my_app_native/src/lib.rs` — one documented `#[nif]` and `init!`,
    * `lib/my_app/native.ex` — `use Oxbeam, otp_app: ..., crate: ...`,
    * `test/my_app/native_test.exs` — a test of the NIF.

  `mix test` passes right after it. Options: `--crate NAME` (the crate's name,
  default: the module's name in snake case). Existing files are never overwritten.
  """

  use Mix.Task

  @impl true
  def run(args) do
    {opts, argv} = OptionParser.parse!(args, strict: [crate: :string])

    module =
      case argv do
        [name] -> parse_module!(name)
        _ -> Mix.raise("usage: mix oxbeam.gen.nif MyApp.Native [--crate my_crate]")
      end

    app = Mix.Project.config()[:app] || Mix.raise("mix oxbeam.gen.nif runs inside a Mix project")
    crate = opts[:crate] || default_crate(module)

    unless crate =~ ~r/^[a-z][a-z0-9_]*$/ do
      Mix.raise("--crate #{inspect(crate)}: a crate name is lowercase letters, digits and _")
    end

    crate_dir = Path.join("native", crate)
    module_path = Path.join("lib", Macro.underscore(module) <> ".ex")
    test_path = Path.join("test", Macro.underscore(module) <> "_test.exs")

    files = [
      {Path.join(crate_dir, "Cargo.toml"), cargo_toml(crate, crate_dir)},
      {Path.join(crate_dir, "src/lib.rs"), lib_rs(module)},
      {Path.join(crate_dir, ".gitignore"), "/target\n"},
      {module_path, elixir_module(module, app, crate)},
      {test_path, elixir_test(module)}
    ]

    case Enum.filter(files, fn {path, _} -> File.exists?(path) end) do
      [] ->
        :ok

      existing ->
        Mix.raise(
          "mix oxbeam.gen.nif: not overwriting #{Enum.map_join(existing, ", ", &elem(&1, 0))}"
        )
    end

    for {path, content} <- files do
      File.mkdir_p!(Path.dirname(path))
      File.write!(path, content)
      Mix.shell().info([:green, "* creating ", :reset, path])
    end

    Mix.shell().info("""

    #{inspect(module)}.add/2 is written in Rust (#{crate_dir}/src/lib.rs).
    `mix test` builds it with cargo and runs its test.
    """)
  end

  defp parse_module!(name) do
    if name =~ ~r/^[A-Z][A-Za-z0-9_]*(\.[A-Z][A-Za-z0-9_]*)*$/ do
      Module.concat([name])
    else
      Mix.raise("#{inspect(name)} is not a module name (write it like MyApp.Native)")
    end
  end

  defp default_crate(module) do
    module |> Module.split() |> Enum.map_join("_", &Macro.underscore/1)
  end

  # The oxbeam dependency: the source checkout the :oxbeam package comes from, when it
  # has one, else the crates.io release of the same version.
  defp oxbeam_dependency(crate_dir) do
    core =
      case Mix.Project.deps_paths()[:oxbeam] do
        nil -> nil
        path -> Path.join([path, "..", "nif-core"]) |> Path.expand()
      end

    if core && File.exists?(Path.join(core, "Cargo.toml")) do
      relative = relative_path(core, Path.expand(crate_dir))
      ~s(oxbeam = { path = "#{relative}" })
    else
      version = Application.spec(:oxbeam, :vsn) |> to_string()
      ~s(oxbeam = "#{version}")
    end
  end

  # `to` relative to the directory `from` (both absolute), with `..` where needed.
  defp relative_path(to, from) do
    {to, from} = {Path.split(to), Path.split(from)}
    common = Enum.zip(to, from) |> Enum.take_while(fn {a, b} -> a == b end) |> length()
    ups = List.duplicate("..", length(from) - common)
    Path.join(ups ++ Enum.drop(to, common))
  end

  defp cargo_toml(crate, crate_dir) do
    """
    [package]
    name = "#{crate}"
    version = "0.1.0"
    edition = "2021"
    publish = false

    [lib]
    crate-type = ["cdylib"]
    # The NIFs are tested from Elixir, through a real BEAM (mix test).
    test = false
    doctest = false

    [dependencies]
    #{oxbeam_dependency(crate_dir)}

    # A crate of its own, not part of a parent directory's cargo workspace.
    [workspace]
    """
  end

  defp lib_rs(module) do
    """
    use oxbeam::nif;

    /// Adds two integers.
    #[nif]
    fn add(a: i64, b: i64) -> i64 {
        a + b
    }

    oxbeam::init!("#{Atom.to_string(module)}");
    """
  end

  defp elixir_module(module, app, crate) do
    """
    defmodule #{inspect(module)} do
      @moduledoc \"\"\"
      NIFs written in Rust (`native/#{crate}/src/lib.rs`), built with cargo when this
      module compiles.
      \"\"\"
      use Oxbeam, otp_app: #{inspect(app)}, crate: #{inspect(crate)}
    end
    """
  end

  defp elixir_test(module) do
    """
    defmodule #{inspect(module)}Test do
      use ExUnit.Case, async: true

      test "add/2 adds two integers" do
        assert #{inspect(module)}.add(40, 2) == 42
      end

      test "a bad argument raises ArgumentError saying which and why" do
        assert_raise ArgumentError, ~r/argument 1 \\(a\\): expected an integer/, fn ->
          #{inspect(module)}.add(:forty, 2)
        end
      end
    end
    """
  end
end
