defmodule Oxbeam.Python.Uv do
  @moduledoc false
  # Virtual environments for Oxbeam.Python.uv_init/2, made by uv from a pyproject.toml.
  # Each distinct (pyproject, interpreter) gets its own directory under the cache, so
  # the same pyproject reuses its environment. uv itself is installed from PyPI into
  # the cache when it is not on PATH. uv never downloads interpreters here: the venv is
  # based on the CPython the bridge was built against (or the one given).

  @doc "Creates (or reuses) the environment; returns its python executable."
  def sync!(pyproject, opts) do
    python = Keyword.get_lazy(opts, :python, fn -> elem(Oxbeam.Python.NIF.python_info(), 0) end)
    cache = Keyword.get_lazy(opts, :cache_dir, &default_cache/0)
    key = :erlang.md5([pyproject, 0, python]) |> Base.encode16(case: :lower) |> binary_part(0, 16)
    dir = Path.join([cache, "projects", key])
    venv_python = Path.join([dir, ".venv", "bin", "python"])
    done = Path.join(dir, ".oxbeam-synced")

    if File.exists?(done) and File.exists?(venv_python) and not Keyword.get(opts, :force, false) do
      venv_python
    else
      File.mkdir_p!(dir)
      File.write!(Path.join(dir, "pyproject.toml"), pyproject)
      File.rm(done)
      uv = uv!(cache, python)

      {output, status} =
        System.cmd(uv, ["sync", "--python", python, "--no-install-project"],
          cd: dir,
          stderr_to_stdout: true,
          env: [
            {"UV_PYTHON_DOWNLOADS", "never"},
            {"UV_PROJECT_ENVIRONMENT", Path.join(dir, ".venv")},
            {"UV_CACHE_DIR", Path.join(cache, "uv-cache")}
          ]
        )

      if status != 0 do
        raise RuntimeError,
              "uv could not set up the Python environment for this pyproject.toml " <>
                "(with #{python}):\n\n" <> String.trim(output)
      end

      File.write!(done, "")
      venv_python
    end
  end

  defp default_cache do
    System.get_env("OXBEAM_PYTHON_CACHE") ||
      Path.join([System.user_home!(), ".cache", "oxbeam_python"])
  end

  # uv on PATH, or installed from PyPI into the cache (once).
  defp uv!(cache, python) do
    installed = Path.join([cache, "uv", "bin", "uv"])

    cond do
      path = System.find_executable("uv") ->
        path

      File.exists?(installed) ->
        installed

      true ->
        venv = Path.join(cache, "uv")
        run!(python, ["-m", "venv", venv], "create a virtual environment for uv")

        run!(
          Path.join([venv, "bin", "python"]),
          ["-m", "pip", "install", "--quiet", "uv"],
          "install uv from PyPI"
        )

        installed
    end
  end

  defp run!(command, args, what) do
    case System.cmd(command, args, stderr_to_stdout: true) do
      {_, 0} ->
        :ok

      {output, _} ->
        raise RuntimeError, "could not #{what} (#{command}):\n\n" <> String.trim(output)
    end
  end
end
