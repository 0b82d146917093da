defmodule Oxbeam.Python.Uv do
  @moduledoc false
  # Virtual environments for Oxbeam.Python.uv_init/2, made by uv from a pyproject.toml.
  # Each distinct pyproject (and :python) gets its own directory under the cache, so the
  # same pyproject reuses its environment. uv itself is installed from PyPI into the
  # cache when it is not on PATH. uv never downloads interpreters: it chooses, by the
  # project's requires-python, among the CPythons on this host (PATH, then pyenv's
  # installs under $PYENV_ROOT or ~/.pyenv, newest first), or takes :python.

  @doc "Creates (or reuses) the environment; returns its python executable."
  def sync!(pyproject, opts) do
    python = Keyword.get(opts, :python)
    cache = Keyword.get_lazy(opts, :cache_dir, &default_cache/0)
    sync_into!(project_dir(cache, pyproject, python), pyproject, opts)
  end

  @doc """
  Creates (or reuses) the environment of `pyproject` in `dir` (its `.venv`); returns
  its python executable. uv's own cache stays under the cache directory.
  """
  def sync_into!(dir, pyproject, opts) do
    python = Keyword.get(opts, :python)
    cache = Keyword.get_lazy(opts, :cache_dir, &default_cache/0)
    venv_python = Path.join([dir, ".venv", "bin", "python"])
    done = Path.join(dir, ".oxbeam-synced")

    synced? = File.exists?(done) and File.read!(done) == pyproject and File.exists?(venv_python)

    if synced? and not Keyword.get(opts, :force, false) do
      venv_python
    else
      File.mkdir_p!(dir)
      File.write!(Path.join(dir, "pyproject.toml"), pyproject)
      File.rm(done)
      uv = uv!(cache)
      python_args = if python, do: ["--python", python], else: []

      {output, status} =
        System.cmd(
          uv,
          ["sync", "--no-install-project", "--python-preference", "only-system" | python_args],
          cd: dir,
          stderr_to_stdout: true,
          env: [
            {"UV_PYTHON_DOWNLOADS", "never"},
            {"UV_PROJECT_ENVIRONMENT", Path.join(dir, ".venv")},
            {"UV_CACHE_DIR", Path.join(cache, "uv-cache")},
            {"PATH", search_path()}
          ]
        )

      if status != 0 do
        raise RuntimeError, sync_error(python, String.trim(output))
      end

      File.write!(done, pyproject)
      venv_python
    end
  end

  # No CPython at all on this host (none on PATH nor in pyenv) is the one failure whose
  # fix is not in the pyproject: the message says what to install.
  defp sync_error(nil, output) do
    if output =~ "No interpreter found" and host_pythons() == [] do
      "no CPython 3.10+ on this host for Oxbeam.Python: none on PATH (python3) nor in " <>
        "pyenv (#{pyenv_root()}/versions), and uv never downloads one. Install one " <>
        "(e.g. `apt install python3`, or `pyenv install 3.12`), or pass its executable " <>
        "with the :python option.\n\n" <> output
    else
      sync_error(:host, output)
    end
  end

  defp sync_error(python, output) do
    "uv could not set up the Python environment for this pyproject.toml " <>
      "(with #{if python == :host, do: "the CPythons on this host", else: python}):\n\n" <>
      output
  end

  # The python executables uv could choose among: on PATH, or pyenv's 3.10+.
  defp host_pythons do
    search_path()
    |> String.split(":", trim: true)
    |> Enum.flat_map(&Path.wildcard(Path.join(&1, "python3*")))
    |> Enum.filter(&(Path.basename(&1) =~ ~r/^python3(\.\d+)?$/))
  end

  defp pyenv_root, do: System.get_env("PYENV_ROOT") || Path.join(System.user_home!(), ".pyenv")

  @doc "The project directory of `pyproject` under `cache`."
  def project_dir(cache, pyproject, python) do
    key =
      :erlang.md5([pyproject, 0, python || ""])
      |> Base.encode16(case: :lower)
      |> binary_part(0, 16)

    Path.join([cache, "projects", key])
  end

  # PATH, then the bin/ directories of pyenv's CPythons 3.10+ (the versions the bridge
  # supports; uv stops at interpreters it cannot inspect, like a Python 2), newest
  # first: uv looks for interpreters along PATH.
  defp search_path do
    pyenv =
      Path.wildcard(Path.join([pyenv_root(), "versions", "*", "bin"]))
      |> Enum.map(&{version_key(Path.basename(Path.dirname(&1))), &1})
      |> Enum.filter(fn {version, _} -> match?([3, minor | _] when minor >= 10, version) end)
      |> Enum.sort(:desc)
      |> Enum.map(fn {_, dir} -> dir end)

    Enum.join([System.get_env("PATH", "") | pyenv], ":")
  end

  defp version_key(name) do
    if name =~ ~r/^\d+\.\d+(\.\d+)?$/,
      do: name |> String.split(".") |> Enum.map(&String.to_integer/1),
      else: []
  end

  @doc "The cache directory: `$OXBEAM_PYTHON_CACHE`, or `~/.cache/oxbeam_python`."
  def default_cache do
    System.get_env("OXBEAM_PYTHON_CACHE") ||
      Path.join([System.user_home!(), ".cache", "oxbeam_python"])
  end

  # uv on PATH, or installed from PyPI into the cache (once).
  defp uv!(cache) do
    installed = Path.join([cache, "uv", "bin", "uv"])

    cond do
      path = System.find_executable("uv") ->
        path

      File.exists?(installed) ->
        installed

      true ->
        python =
          System.find_executable("python3") ||
            raise RuntimeError,
                  "no python3 on PATH for Oxbeam.Python (and no uv to set up an " <>
                    "environment): install CPython 3.10+ (e.g. `apt install python3`, or " <>
                    "pyenv), and uv if you like (it is installed from PyPI otherwise)"

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
