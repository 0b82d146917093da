defmodule Oxbeam.BuildTest do
  # `use Oxbeam` in a fresh Mix project: cargo runs when the crate changes and only
  # then, failures show cargo's own text, and a missing library is explained.
  use ExUnit.Case, async: false

  @moduletag timeout: 900_000
  @elixir_dir Path.expand("../..", __DIR__)
  @core_dir Path.expand("../../../nif-core", __DIR__)

  setup_all do
    root = Path.join(System.tmp_dir!(), "oxbeam_build_test_#{System.unique_integer([:positive])}")
    File.rm_rf!(root)
    File.mkdir_p!(Path.join(root, "lib"))
    File.mkdir_p!(Path.join(root, "native/demo_nif/src"))

    File.write!(Path.join(root, "mix.exs"), """
    defmodule Demo.MixProject do
      use Mix.Project
      def project, do: [app: :demo, version: "0.1.0", deps: [{:oxbeam, path: #{inspect(@elixir_dir)}}]]
    end
    """)

    File.write!(Path.join(root, "lib/demo.ex"), """
    defmodule Demo do
      use Oxbeam, otp_app: :demo, crate: "demo_nif", target_dir: "_build/cargo"
    end
    """)

    File.write!(Path.join(root, "native/demo_nif/Cargo.toml"), """
    [package]
    name = "demo_nif"
    version = "0.1.0"
    edition = "2021"

    [lib]
    crate-type = ["cdylib"]

    [dependencies]
    oxbeam = { path = #{inspect(@core_dir)} }

    [workspace]
    """)

    write_lib(root, "1")
    on_exit(fn -> File.rm_rf!(root) end)
    %{root: root}
  end

  defp write_lib(root, answer, module \\ "Elixir.Demo") do
    File.write!(Path.join(root, "native/demo_nif/src/lib.rs"), """
    /// The answer.
    #[oxbeam::nif]
    fn answer() -> i64 {
        #{answer}
    }

    oxbeam::init!("#{module}");
    """)
  end

  defp mix(root, args, env \\ []) do
    System.cmd("mix", args, cd: root, stderr_to_stdout: true, env: [{"MIX_ENV", "dev"} | env])
  end

  # Mix compares modification times in seconds: make the change land in a later
  # second than the last compile.
  defp touch_later(path) do
    Process.sleep(1100)
    File.touch!(path)
  end

  test "builds, rebuilds on change only, and reports failures", %{root: root} do
    {out, 0} = mix(root, ["compile"])
    assert out =~ "Compiling NIF crate demo_nif"
    assert {"1\n", 0} = mix(root, ["run", "-e", "IO.puts(Demo.answer())"])

    # Nothing changed: cargo is not run.
    {out, 0} = mix(root, ["compile"])
    refute out =~ "Compiling NIF crate"

    # A .rs file changed: rebuilt and reloaded.
    write_lib(root, "2")
    touch_later(Path.join(root, "native/demo_nif/src/lib.rs"))
    {out, 0} = mix(root, ["compile"])
    assert out =~ "Compiling NIF crate demo_nif"
    assert {"2\n", 0} = mix(root, ["run", "-e", "IO.puts(Demo.answer())"])

    # Cargo.toml changed: rebuilt.
    touch_later(Path.join(root, "native/demo_nif/Cargo.toml"))
    {out, 0} = mix(root, ["compile"])
    assert out =~ "Compiling NIF crate demo_nif"

    # A compile error: cargo's own message and the crate path.
    write_lib(root, "not valid rust (")
    touch_later(Path.join(root, "native/demo_nif/src/lib.rs"))
    {out, status} = mix(root, ["compile"])
    assert status != 0
    crate_dir = Path.join(root, "native/demo_nif")
    assert out =~ "cargo failed to build the crate \"demo_nif\" at #{crate_dir}:"
    assert out =~ "error"
    assert out =~ "src/lib.rs"

    # The crate names another module in init!.
    write_lib(root, "3", "Elixir.Other")
    touch_later(Path.join(root, "native/demo_nif/src/lib.rs"))
    {out, status} = mix(root, ["compile"])
    assert status != 0

    assert out =~
             "the crate \"demo_nif\" calls `oxbeam::init!(\"Elixir.Other\")` but is used from Demo: " <>
               "write `oxbeam::init!(\"Elixir.Demo\");`"

    # Back to a good state; then the library goes missing: the stub explains.
    write_lib(root, "4")
    touch_later(Path.join(root, "native/demo_nif/src/lib.rs"))
    {_, 0} = mix(root, ["compile"])
    [library] = Path.wildcard(Path.join(root, "_build/dev/lib/demo/priv/native/libdemo_nif-*.so"))
    File.rm!(library)

    {out, 0} =
      mix(root, [
        "run",
        "-e",
        "try do Demo.answer() rescue e in Oxbeam.NotLoadedError -> IO.puts(e.message) end"
      ])

    assert out =~ "the NIF library for Demo is not loaded: "
    assert out =~ "#{library}: cannot open shared object file"

    # cargo missing: no cargo on PATH and none in ~/.cargo/bin.
    touch_later(Path.join(root, "native/demo_nif/src/lib.rs"))
    mix_dir = Path.dirname(System.find_executable("mix"))
    elixir_dir = Path.dirname(System.find_executable("erl"))
    path = Enum.uniq([mix_dir, elixir_dir, "/usr/bin", "/bin"]) |> Enum.join(":")
    fake_home = Path.join(root, "home")
    File.mkdir_p!(fake_home)

    if File.exists?("/usr/bin/cargo") do
      IO.puts("skipping the no-cargo case: /usr/bin/cargo exists")
    else
      {out, status} = mix(root, ["compile"], [{"PATH", path}, {"HOME", fake_home}])
      assert status != 0

      assert out =~
               "could not build the crate \"demo_nif\" at #{crate_dir}: cargo was not found (install Rust: https://rustup.rs)"
    end
  end
end
