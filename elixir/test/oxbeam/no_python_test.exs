defmodule Oxbeam.NoPythonTest do
  # Issue 12: a project that only writes NIFs (`use Oxbeam`, no :oxbeam_python) builds
  # and runs with no Python anywhere, and builds no pyo3: examples/hello, its tests
  # run through `mix test` with Python's programs off PATH (Oxbeam.Test.NoPython).
  use ExUnit.Case, async: false

  @moduletag :build
  @moduletag timeout: 900_000
  @moduletag :tmp_dir

  @hello_dir Path.expand("../../../examples/hello", __DIR__)
  # Shared with the build tests, so nif-core is compiled once.
  @target_dir Path.expand("../../_build/oxbeam_build_test_cargo", __DIR__)

  test "examples/hello builds and passes its tests with no Python, building no pyo3", %{
    tmp_dir: tmp_dir
  } do
    env = Oxbeam.Test.NoPython.env(tmp_dir)

    # No Python to be found: the shell finds none on this PATH.
    for program <- ~w(python3 python) do
      assert {"", 127} = System.cmd("sh", ["-c", "command -v #{program}"], env: env)
    end

    # A build of its own (hello and :oxbeam compiled from scratch), away from the test
    # run's Mix settings.
    env =
      env ++
        [
          {"MIX_ENV", "test"},
          {"MIX_BUILD_PATH", Path.join(tmp_dir, "_build")},
          {"CARGO_TARGET_DIR", @target_dir}
        ] ++ for(var <- ~w(MIX_BUILD_ROOT MIX_DEPS_PATH MIX_EXS MIX_LOCKFILE), do: {var, nil})

    {output, status} =
      Oxbeam.Test.ChildVM.cmd("mix", ["test"], cd: @hello_dir, env: env, timeout: 840)

    assert status == 0, output
    assert output =~ ~r/\d+ tests, 0 failures/
    assert output =~ "Compiling NIF crate hello"
    refute output =~ "oxbeam-python"

    built = Path.wildcard(Path.join(@target_dir, "debug/{deps,build,.fingerprint}/*"))
    assert Enum.any?(built, &(Path.basename(&1) =~ ~r/^oxbeam(_|-)/))
    assert Enum.filter(built, &(Path.basename(&1) =~ "pyo3")) == []
  end
end
