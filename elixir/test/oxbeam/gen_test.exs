defmodule Oxbeam.GenTest do
  # `mix oxbeam.gen.nif` in a project made by `mix new`: the generated crate, module
  # and test work as they are (`mix test` passes right after it).
  use ExUnit.Case, async: false

  @moduletag :build
  @moduletag timeout: 900_000
  @moduletag :tmp_dir

  @elixir_dir Path.expand("../..", __DIR__)
  # Shared with the build tests, so nif-core is compiled once.
  @target_dir Path.expand("../../_build/oxbeam_build_test_cargo", __DIR__)

  defp mix(dir, args) do
    # The project builds into its own _build (a test run may set MIX_BUILD_PATH).
    env = [{"MIX_ENV", "test"}, {"CARGO_TARGET_DIR", @target_dir}, {"MIX_BUILD_PATH", nil}]
    System.cmd("mix", args, cd: dir, stderr_to_stdout: true, env: env)
  end

  test "generates a crate, a module and a test that pass at once", %{tmp_dir: tmp} do
    {_, 0} = System.cmd("mix", ["new", "my_app"], cd: tmp, stderr_to_stdout: true)
    dir = Path.join(tmp, "my_app")

    # The :oxbeam package from this checkout (the Python bridge is :oxbeam_python's).
    mix_exs = Path.join(dir, "mix.exs")

    File.write!(
      mix_exs,
      String.replace(
        File.read!(mix_exs),
        "defp deps do\n    [",
        "defp deps do\n    [{:oxbeam, path: #{inspect(@elixir_dir)}}"
      )
    )

    {out, 0} = mix(dir, ["oxbeam.gen.nif", "MyApp.Native"])

    for path <- [
          "native/my_app_native/Cargo.toml",
          "native/my_app_native/src/lib.rs",
          "lib/my_app/native.ex",
          "test/my_app/native_test.exs"
        ] do
      assert out =~ "* creating #{path}"
      assert File.exists?(Path.join(dir, path))
    end

    cargo_toml = File.read!(Path.join(dir, "native/my_app_native/Cargo.toml"))
    assert cargo_toml =~ ~s(oxbeam = { path = ")
    assert cargo_toml =~ ~s(crate-type = ["cdylib"])

    {out, status} = mix(dir, ["test"])
    assert status == 0, out
    # The generated test's two tests, and the one `mix new` wrote.
    assert out =~ "3 tests, 0 failures"
    refute out =~ "warning"

    # Running it again overwrites nothing.
    {out, status} = mix(dir, ["oxbeam.gen.nif", "MyApp.Native"])
    assert status != 0
    assert out =~ "mix oxbeam.gen.nif: not overwriting native/my_app_native/Cargo.toml"

    {out, status} = mix(dir, ["oxbeam.gen.nif", "my_app.native"])
    assert status != 0
    assert out =~ ~s|"my_app.native" is not a module name (write it like MyApp.Native)|
  end
end
