defmodule Oxbeam.Python.ReleaseTest do
  # A project configured at compile time (`config :oxbeam_python, :uv_init, pyproject_toml:`)
  # is built into a `mix release`, the release is moved to another directory and its
  # project and build removed, and it evaluates Python from where it now is.
  use ExUnit.Case, async: true
  alias Oxbeam.Test.ChildVM

  @moduletag :tmp_dir
  @moduletag timeout: 600_000

  test "a release carries its venv: built, moved, run", %{tmp_dir: tmp_dir} do
    project = Path.join(tmp_dir, "py_release")
    oxbeam_python = Path.expand("..", __DIR__)
    File.mkdir_p!(Path.join(project, "config"))
    File.mkdir_p!(Path.join(project, "lib"))

    File.write!(Path.join(project, "mix.exs"), """
    defmodule PyRelease.MixProject do
      use Mix.Project

      def project do
        [app: :py_release, version: "0.1.0", deps: [{:oxbeam_python, path: #{inspect(oxbeam_python)}}]]
      end

      def application, do: [extra_applications: [:logger]]
    end
    """)

    File.write!(Path.join(project, "config/config.exs"), """
    import Config

    config :oxbeam_python, :uv_init,
      pyproject_toml: \"\"\"
      [project]
      name = "py-release"
      version = "0.0.0"
      requires-python = ">=3.10"
      dependencies = []
      \"\"\"
    """)

    File.write!(Path.join(project, "lib/py_release.ex"), """
    defmodule PyRelease do
      def run do
        {result, _} =
          Oxbeam.Python.eval(
            "import sys\\n(sys.executable, [p for p in sys.path if 'site-packages' in p], 6 * 7)",
            %{}
          )

        Oxbeam.Python.decode(result)
      end
    end
    """)

    # Debug builds of the NIF crates (the workspace's target dir is reused): a release
    # build with LTO takes minutes.
    # The test run's own Mix settings (MIX_BUILD_PATH: scripts/test's Elixir 1.18 run)
    # must not reach the release's build, or it would build into this run's _build.
    env =
      [{"MIX_ENV", "prod"}, {"OXBEAM_MODE", "debug"}] ++
        for var <-
              ~w(MIX_BUILD_PATH MIX_BUILD_ROOT MIX_DEPS_PATH MIX_EXS MIX_LOCKFILE MIX_TARGET),
            do: {var, nil}

    assert {output, 0} =
             ChildVM.cmd("mix", ["release", "--overwrite", "--quiet"],
               cd: project,
               env: env,
               timeout: 540
             ),
           "mix release failed"

    assert File.dir?(Path.join(project, "_build/prod/rel/py_release/lib")), output

    moved = Path.join(tmp_dir, "elsewhere/py_release")
    File.mkdir_p!(Path.dirname(moved))
    File.rename!(Path.join(project, "_build/prod/rel/py_release"), moved)
    File.rm_rf!(project)

    venv =
      Path.wildcard(Path.join(moved, "lib/oxbeam_python-*/priv/uv/project/.venv"), match_dot: true)

    assert [_] = venv

    assert {output, 0} =
             ChildVM.cmd(
               Path.join(moved, "bin/py_release"),
               [
                 "eval",
                 "{:ok, _} = Application.ensure_all_started(:oxbeam_python); IO.inspect(PyRelease.run())"
               ],
               timeout: 60
             )

    [venv] = venv
    {executable, site_dirs, 42} = output |> Code.eval_string() |> elem(0)
    assert executable == Path.join(venv, "bin/python")

    assert Enum.any?(site_dirs, &String.starts_with?(&1, Path.join(venv, "lib/python3."))),
           inspect(site_dirs)
  end
end
