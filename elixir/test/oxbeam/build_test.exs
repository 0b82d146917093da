defmodule Oxbeam.BuildTest do
  # `use Oxbeam` in fresh Mix projects built with `mix compile`: cargo runs when the
  # crate changes and only then (seen through a `cargo` shim on PATH that logs every
  # call), failures show cargo's own text and the crate's path, and a library that
  # goes missing is explained by the stubs.
  use ExUnit.Case, async: false

  @moduletag :build
  @moduletag timeout: 900_000

  @elixir_dir Path.expand("../..", __DIR__)
  @core_dir Path.expand("../../../nif-core", __DIR__)
  # Shared by every project of every run, so nif-core is compiled once.
  @target_dir Path.expand("../../_build/oxbeam_build_test_cargo", __DIR__)

  setup_all do
    root = Path.join(System.tmp_dir!(), "oxbeam_build_test_#{System.unique_integer([:positive])}")
    File.rm_rf!(root)
    shim_dir = Path.join(root, "bin")
    File.mkdir_p!(shim_dir)

    cargo =
      System.find_executable("cargo") ||
        Enum.find([Path.expand("~/.cargo/bin/cargo")], &File.exists?/1) ||
        raise "these tests need cargo"

    log = Path.join(root, "cargo.log")
    File.write!(log, "")
    shim = Path.join(shim_dir, "cargo")

    File.write!(shim, """
    #!/bin/sh
    echo "$*" >> '#{log}'
    exec '#{cargo}' "$@"
    """)

    File.chmod!(shim, 0o755)
    on_exit(fn -> File.rm_rf!(root) end)
    %{root: root, log: log, path: shim_dir <> ":" <> System.get_env("PATH", "")}
  end

  # A Mix project `root/<name>` whose module (`Macro.camelize(name)`) uses the crate
  # `<name>_nif`, which depends on oxbeam and on a path crate `<name>_helper`.
  defp project(%{root: root} = context, name, answer, init_module \\ nil) do
    dir = Path.join(root, name)
    module = Macro.camelize(name)
    crate = "#{name}_nif"
    crate_dir = Path.join(dir, "native/#{crate}")
    helper_dir = Path.join(dir, "native/helper")
    File.mkdir_p!(Path.join(dir, "lib"))
    File.mkdir_p!(Path.join(crate_dir, "src"))
    File.mkdir_p!(Path.join(helper_dir, "src"))

    File.write!(Path.join(dir, "mix.exs"), """
    defmodule #{module}.MixProject do
      use Mix.Project

      def project do
        [app: :#{name}, version: "0.1.0", deps: [{:oxbeam, path: #{inspect(@elixir_dir)}}]]
      end
    end
    """)

    File.write!(Path.join(dir, "lib/#{name}.ex"), """
    defmodule #{module} do
      use Oxbeam, otp_app: :#{name}, crate: "#{crate}", target_dir: #{inspect(@target_dir)}
    end
    """)

    File.write!(Path.join(crate_dir, "Cargo.toml"), """
    [package]
    name = "#{crate}"
    version = "0.1.0"
    edition = "2021"

    [lib]
    crate-type = ["cdylib"]

    [dependencies]
    oxbeam = { path = #{inspect(@core_dir)} }
    #{name}_helper = { path = "../helper" }

    [workspace]
    """)

    File.write!(Path.join(helper_dir, "Cargo.toml"), """
    [package]
    name = "#{name}_helper"
    version = "0.1.0"
    edition = "2021"
    """)

    File.write!(Path.join(helper_dir, "src/lib.rs"), "pub fn zero() -> i64 { 0 }\n")

    project = %{
      dir: dir,
      module: module,
      crate: crate,
      crate_dir: crate_dir,
      lib_rs: Path.join(crate_dir, "src/lib.rs"),
      helper_rs: Path.join(helper_dir, "src/lib.rs"),
      init_module: init_module || "Elixir.#{module}"
    }

    write_lib(project, answer)
    Map.merge(context, project)
  end

  defp write_lib(project, answer, init_module \\ nil) do
    File.write!(project.lib_rs, """
    /// The answer.
    #[oxbeam::nif]
    fn answer() -> i64 {
        #{name_helper(project)}::zero() + #{answer}
    }

    fn never_called() {}

    oxbeam::init!("#{init_module || project.init_module}");
    """)
  end

  defp name_helper(project), do: String.replace_suffix(project.crate, "_nif", "_helper")

  defp mix(project, args, env \\ []) do
    # The project builds into its own _build (a test run may set MIX_BUILD_PATH).
    env = [{"MIX_ENV", "dev"}, {"PATH", project.path}, {"MIX_BUILD_PATH", nil} | env]
    System.cmd("mix", args, cd: project.dir, stderr_to_stdout: true, env: env)
  end

  # How many times cargo was run for the project's crate.
  defp cargo_runs(project) do
    project.log
    |> File.read!()
    |> String.split("\n")
    |> Enum.count(&String.contains?(&1, "#{project.crate_dir}/Cargo.toml"))
  end

  # Mix compares modification times in seconds: make the change land in a later
  # second than the last compile.
  defp touch_later(path) do
    Process.sleep(1100)
    File.touch!(path)
  end

  defp call(project, code) do
    {out, status} = mix(project, ["run", "-e", code])
    {String.trim(out), status}
  end

  test "builds once, rebuilds when the crate or a path dependency changes", context do
    p = project(context, "demo_a", "1")

    {out, 0} = mix(p, ["compile"])
    assert out =~ "Compiling NIF crate demo_a_nif (cargo build, debug)"
    assert cargo_runs(p) == 1
    # cargo's warnings are shown, its progress lines are not.
    assert out =~ "function `never_called` is never used"
    refute out =~ ~r/^\s*Finished/m
    assert {"1", 0} = call(p, "IO.puts(DemoA.answer())")

    # The stub carries the Rust doc comment.
    assert {"The answer.", 0} =
             call(p, """
             {:docs_v1, _, _, _, _, _, docs} = Code.fetch_docs(DemoA)
             IO.puts(for {{:function, :answer, 0}, _, _, %{"en" => doc}, _} <- docs, do: doc)
             """)

    # Nothing changed: cargo is not run, by `mix compile` nor by `mix run`.
    {out, 0} = mix(p, ["compile"])
    refute out =~ "Compiling NIF crate"
    assert cargo_runs(p) == 1

    # The crate's source changed: rebuilt, and the new library is the one loaded.
    write_lib(p, "2")
    touch_later(p.lib_rs)
    {out, 0} = mix(p, ["compile"])
    assert out =~ "Compiling NIF crate demo_a_nif"
    assert cargo_runs(p) == 2
    assert {"2", 0} = call(p, "IO.puts(DemoA.answer())")
    assert cargo_runs(p) == 2

    # A path dependency's source changed.
    File.write!(p.helper_rs, "pub fn zero() -> i64 { 40 }\n")
    touch_later(p.helper_rs)
    {_, 0} = mix(p, ["compile"])
    assert cargo_runs(p) == 3
    assert {"42", 0} = call(p, "IO.puts(DemoA.answer())")

    # Cargo.toml changed.
    cargo_toml = Path.join(p.crate_dir, "Cargo.toml")
    File.write!(cargo_toml, File.read!(cargo_toml) <> "# edited\n")
    touch_later(cargo_toml)
    {_, 0} = mix(p, ["compile"])
    assert cargo_runs(p) == 4

    {_, 0} = mix(p, ["compile"])
    assert cargo_runs(p) == 4

    # The library goes missing from priv/: the module loads and the stub explains.
    [library] =
      Path.wildcard(Path.join(p.dir, "_build/dev/lib/demo_a/priv/native/libdemo_a_nif-*.so"))

    File.rm!(library)

    {out, 0} =
      call(p, """
      IO.puts(Oxbeam.loaded?(DemoA))
      try do DemoA.answer() rescue e in Oxbeam.NotLoadedError -> IO.puts(e.message) end
      """)

    assert out =~ "false\nthe NIF library for DemoA is not loaded: "
    assert out =~ "#{library}: cannot open shared object file"
    assert cargo_runs(p) == 4
  end

  test "a crate that does not compile: cargo's errors and the crate's path", context do
    p = project(context, "demo_b", "not valid rust (")

    {out, status} = mix(p, ["compile"])
    assert status != 0
    assert out =~ "cargo failed to build the crate \"demo_b_nif\" at #{p.crate_dir}:"
    assert out =~ "error"
    # cargo's errors only: paths from the project's root, no progress lines, no stack
    # trace of the build code.
    assert out =~ ~r"--> native/demo_b_nif/src/lib.rs:\d+:\d+"
    refute out =~ ~r/^\s+Compiling \S+ v\d/m
    refute out =~ "lib/oxbeam/build.ex"
    refute out =~ "Mix.raise"
    refute out =~ "could not load"

    # Fixed: compiles and runs.
    write_lib(p, "5")
    touch_later(p.lib_rs)
    {_, 0} = mix(p, ["compile"])
    assert {"5", 0} = call(p, "IO.puts(DemoB.answer())")

    # cargo missing: not on PATH and not in ~/.cargo/bin. (The source changes: a touch
    # alone made Elixir 1.18's Mix rebuild nothing, which is right, as oxbeam's own
    # stamps are the content too.)
    write_lib(p, "6")
    mix_dir = Path.dirname(System.find_executable("mix"))
    erl_dir = Path.dirname(System.find_executable("erl"))
    path = Enum.uniq([mix_dir, erl_dir, "/usr/bin", "/bin"]) |> Enum.join(":")
    fake_home = Path.join(p.dir, "home")
    File.mkdir_p!(fake_home)

    if File.exists?("/usr/bin/cargo") or File.exists?(Path.join(mix_dir, "cargo")) do
      IO.puts("skipping the no-cargo case: cargo is installed next to mix")
    else
      {out, status} = mix(p, ["compile"], [{"PATH", path}, {"HOME", fake_home}])
      assert status != 0

      assert out =~
               "could not build the crate \"demo_b_nif\" at #{p.crate_dir}: " <>
                 "cargo was not found (install Rust: https://rustup.rs)"
    end
  end

  @tag :tmp_dir
  test "a build input's stamp is its content: a same-second, same-size edit is seen", %{
    tmp_dir: dir
  } do
    path = Path.join(dir, "lib.rs")
    File.write!(path, "fn a() -> i64 { 1 }")
    File.touch!(path, 1_700_000_000)
    before = Oxbeam.Build.stamp(path)
    File.write!(path, "fn a() -> i64 { 2 }")
    File.touch!(path, 1_700_000_000)
    assert File.stat!(path, time: :posix).mtime == 1_700_000_000
    assert Oxbeam.Build.stamp(path) != before
    assert Oxbeam.Build.stamp(Path.join(dir, "missing.rs")) == :missing
  end

  test "a crate whose init! names another module", context do
    p = project(context, "demo_c", "3", "Elixir.Other")

    {out, status} = mix(p, ["compile"])
    assert status != 0

    assert out =~
             "the crate \"demo_c_nif\" calls `oxbeam::init!(\"Elixir.Other\")` but is used " <>
               "from DemoC: write `oxbeam::init!(\"Elixir.DemoC\");`"

    write_lib(p, "3", "Elixir.DemoC")
    touch_later(p.lib_rs)
    {_, 0} = mix(p, ["compile"])
    assert {"3", 0} = call(p, "IO.puts(DemoC.answer())")
  end

  test "Rustler's options: crate: as an atom, load_data_fun: called at load, binaries not built",
       context do
    p = project(context, "demo_d", "4")

    File.write!(Path.join(p.dir, "lib/demo_d.ex"), """
    defmodule DemoD do
      use Oxbeam,
        otp_app: :demo_d,
        crate: :demo_d_nif,
        target_dir: #{inspect(@target_dir)},
        load_data_fun: {DemoD.LoadData, :nif_data}
    end
    """)

    File.write!(Path.join(p.dir, "lib/load_data.ex"), """
    defmodule DemoD.LoadData do
      def nif_data do
        if System.get_env("DEMO_LOAD_DATA_FAIL"), do: raise("no load data")
        System.get_env("DEMO_LOAD_DATA", "unset")
      end
    end
    """)

    File.write!(p.lib_rs, """
    fn load(_env: oxbeam::Env<'_>, info: String) -> oxbeam::Result<String> {
        Ok(info)
    }

    /// The load data the library was loaded with.
    #[oxbeam::nif]
    fn loaded_with(env: oxbeam::Env<'_>) -> String {
        env.priv_data::<String>().cloned().unwrap_or_default()
    }

    oxbeam::init!("Elixir.DemoD", load = load);
    """)

    # A binary next to the library (src/main.rs and a [[bin]]) that does not compile:
    # only the cdylib is built.
    File.write!(Path.join(p.crate_dir, "src/main.rs"), """
    compile_error!("the binary src/main.rs must not be built");
    fn main() {}
    """)

    File.write!(Path.join(p.crate_dir, "src/tool.rs"), """
    compile_error!("the [[bin]] tool must not be built");
    fn main() {}
    """)

    File.write!(
      Path.join(p.crate_dir, "Cargo.toml"),
      File.read!(Path.join(p.crate_dir, "Cargo.toml")) <>
        "\n[[bin]]\nname = \"demo_d_tool\"\npath = \"src/tool.rs\"\n"
    )

    {out, status} = mix(p, ["compile"])
    assert status == 0, out
    assert out =~ "Compiling NIF crate demo_d_nif (cargo build, debug)"
    refute out =~ "must not be built"

    # Called when the module is loaded, not when it was compiled.
    {out, 0} =
      mix(p, ["run", "-e", "IO.puts(DemoD.loaded_with())"], [{"DEMO_LOAD_DATA", "at load"}])

    assert String.trim(out) == "at load"
    assert {"unset", 0} = call(p, "IO.puts(DemoD.loaded_with())")

    # If it raises, the library is not loaded and the stubs say why.
    code = """
    IO.puts(Oxbeam.load_error(DemoD))
    try do
      DemoD.loaded_with()
    rescue
      e in Oxbeam.NotLoadedError -> IO.puts(Exception.message(e))
    end
    """

    {out, 0} = mix(p, ["run", "-e", code], [{"DEMO_LOAD_DATA_FAIL", "1"}])

    assert String.trim(out) ==
             "load_data_fun: DemoD.LoadData.nif_data/0 failed: ** (RuntimeError) no load data\n" <>
               "the NIF library for DemoD is not loaded: load_data_fun: DemoD.LoadData.nif_data/0 " <>
               "failed: ** (RuntimeError) no load data"
  end
end
