defmodule Oxbeam.Python.NoPythonTest do
  # Issue 12: :oxbeam_python on a host with no Python. The bridge builds anyway (pyo3
  # against the stable ABI, extension-module, needs no interpreter on Unix), and what
  # does need one (uv_init, at run time or configured at compile time) fails with a
  # message that says what to install. A project of its own in tmp_dir, built with
  # Python's programs off PATH (Oxbeam.Test.NoPython).
  use ExUnit.Case, async: true

  @moduletag :build
  @moduletag :tmp_dir
  @moduletag timeout: 900_000

  @package_dir Path.expand("..", __DIR__)
  @bridge_manifest Path.expand("../../../python-bridge/Cargo.toml", __DIR__)
  # A cargo target directory of its own (kept between runs): pyo3's build scripts are
  # cleaned below, so they run again here, with no Python.
  @target_dir Path.expand("../_build/no_python_cargo", __DIR__)

  @pyproject """
  [project]
  name = "no-python"
  version = "0.0.0"
  requires-python = ">=3.10"
  dependencies = []
  """

  defp project(dir, config) do
    File.mkdir_p!(Path.join(dir, "config"))

    File.write!(Path.join(dir, "mix.exs"), """
    defmodule NoPython.MixProject do
      use Mix.Project

      def project do
        [app: :no_python, version: "0.1.0", deps: [{:oxbeam_python, path: #{inspect(@package_dir)}}]]
      end
    end
    """)

    File.write!(Path.join(dir, "config/config.exs"), "import Config\n" <> config)
  end

  # The test run's own Mix settings must not reach the project's build.
  defp mix_env(dir) do
    [
      {"MIX_ENV", "dev"},
      # Debug builds (a release build with LTO takes minutes).
      {"OXBEAM_MODE", "debug"},
      {"MIX_BUILD_PATH", Path.join(dir, "_build")},
      {"CARGO_TARGET_DIR", @target_dir}
    ] ++ for(var <- ~w(MIX_BUILD_ROOT MIX_DEPS_PATH MIX_EXS MIX_LOCKFILE), do: {var, nil})
  end

  defp mix(dir, args, env) do
    Oxbeam.Test.ChildVM.cmd("mix", args, cd: dir, env: env ++ mix_env(dir), timeout: 840)
  end

  test "builds without Python; uv_init, at run time or configured, names what to install",
       %{tmp_dir: tmp_dir} do
    dir = Path.join(tmp_dir, "no_python")
    # No uv either (on PATH or in the cache): uv_init would install it with python3.
    env = Oxbeam.Test.NoPython.env(tmp_dir, ["uv"])
    cache = Path.join(tmp_dir, "cache")
    env = [{"OXBEAM_PYTHON_CACHE", cache} | env]
    pyenv_root = Path.join(tmp_dir, "no-pyenv")

    started = System.os_time(:second)

    {"", 0} =
      System.cmd("cargo", [
        "clean",
        "--quiet",
        "-p",
        "pyo3-build-config",
        "--manifest-path",
        @bridge_manifest,
        "--target-dir",
        @target_dir
      ])

    project(dir, "")
    {output, status} = mix(dir, ["compile"], env)
    assert status == 0, output
    assert output =~ "Compiling NIF crate oxbeam-python (cargo build, debug)"
    # pyo3's build script ran again, here, and found no interpreter: it took the
    # stable ABI's defaults (abi3-py310).
    assert [ffi_build] = Path.wildcard(Path.join(@target_dir, "debug/build/pyo3-ffi-*/output"))
    assert File.stat!(ffi_build, time: :posix).mtime >= started
    ffi_build = File.read!(ffi_build)
    assert ffi_build =~ "cargo:warning=Compiling without a working Python interpreter.\n"
    assert ffi_build =~ "cargo:rustc-cfg=Py_3_10\n"
    refute ffi_build =~ "cargo:rustc-cfg=Py_3_11\n"

    {output, status} =
      mix(dir, ["run", "-e", "Oxbeam.Python.uv_init(#{inspect(@pyproject)})"], env)

    assert status == 1, output

    assert output =~
             "** (RuntimeError) no python3 on PATH for Oxbeam.Python (and no uv to set up " <>
               "an environment): install CPython 3.10+ (e.g. `apt install python3`, or " <>
               "pyenv), and uv if you like (it is installed from PyPI otherwise)\n"

    # With uv (the test environment's, as if installed), configured at compile time.
    uv = System.find_executable("uv") || Path.join(Oxbeam.Python.Uv.default_cache(), "uv/bin/uv")
    assert File.exists?(uv)
    File.mkdir_p!(Path.join(cache, "uv/bin"))
    File.ln_s!(uv, Path.join(cache, "uv/bin/uv"))

    project(dir, "config :oxbeam_python, :uv_init, pyproject_toml: #{inspect(@pyproject)}\n")
    {output, status} = mix(dir, ["compile"], env)
    assert status == 1, output

    assert output =~
             "** (RuntimeError) no CPython 3.10+ on this host for Oxbeam.Python: none on " <>
               "PATH (python3) nor in pyenv (#{pyenv_root}/versions), and uv never " <>
               "downloads one. Install one (e.g. `apt install python3`, or " <>
               "`pyenv install 3.12`), or pass its executable with the :python option.\n\n" <>
               "error: No interpreter found for Python >=3.10 in search path"
  end

  test "config :oxbeam, :uv_init (the form before the bridge's own package) still works; :oxbeam_python's wins",
       %{tmp_dir: tmp_dir} do
    dir = Path.join(tmp_dir, "old_config")

    project(dir, "config :oxbeam, :uv_init, pyproject_toml: #{inspect(@pyproject)}\n")

    # The workspace's target directory (the bridge is built there already).
    env = [{"CARGO_TARGET_DIR", nil}]

    code = """
    {:ok, _} = Application.ensure_all_started(:oxbeam_python)
    {result, _} = Oxbeam.Python.eval("import sys\\nsys.executable", %{})
    IO.puts("EXECUTABLE " <> Oxbeam.Python.decode(result))
    """

    {output, status} =
      Oxbeam.Test.ChildVM.cmd("mix", ["run", "-e", code],
        cd: dir,
        env: env ++ (mix_env(dir) |> List.keydelete("CARGO_TARGET_DIR", 0)),
        timeout: 840
      )

    assert status == 0, output

    venv_python = Path.join(dir, "_build/lib/oxbeam_python/priv/uv/project/.venv/bin/python")

    assert output =~ "EXECUTABLE #{venv_python}\n"
    made_from = Path.join(dir, "_build/lib/oxbeam_python/priv/uv/project/pyproject.toml")
    assert File.read!(made_from) == @pyproject

    # Both forms given: :oxbeam_python's is the one used.
    newer = String.replace(@pyproject, ~s(name = "no-python"), ~s(name = "newer-form"))

    File.write!(
      Path.join(dir, "config/config.exs"),
      File.read!(Path.join(dir, "config/config.exs")) <>
        "config :oxbeam_python, :uv_init, pyproject_toml: #{inspect(newer)}\n"
    )

    {output, status} =
      Oxbeam.Test.ChildVM.cmd("mix", ["run", "-e", code],
        cd: dir,
        env: env ++ (mix_env(dir) |> List.keydelete("CARGO_TARGET_DIR", 0)),
        timeout: 840
      )

    assert status == 0, output
    assert output =~ "EXECUTABLE #{venv_python}\n"
    assert File.read!(made_from) == newer
  end
end
