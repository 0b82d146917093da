defmodule Oxbeam.Test.NoPython do
  @moduledoc """
  An environment with no Python in it, for builds that must not need one: a PATH whose
  directories hold everything the real PATH's do (symlinked) except Python's programs
  (`python*`, `pip*`, `pydoc*`, `py3*`), pyenv's
  directories left out, and the variables that point pyo3 or uv at an interpreter
  unset.
  """

  @doc """
  Makes the PATH directory under `root` (without the programs named in `also_without`
  either); returns the environment for `System.cmd/3` (the variables to set, and those
  to unset as `{name, nil}`). PYENV_ROOT names an empty directory, so that no pyenv
  install (`~/.pyenv`) is found either.
  """
  def env(root, also_without \\ []) do
    bin = Path.join(root, "bin-without-python")
    File.mkdir_p!(bin)

    dirs =
      System.get_env("PATH", "")
      |> String.split(":", trim: true)
      |> Kernel.++([Path.expand("~/.cargo/bin")])
      |> Enum.reject(&String.contains?(&1, "pyenv"))
      |> Enum.uniq()

    for dir <- dirs,
        name <- ls(dir),
        not (name =~ ~r/^(python|pip|pydoc|py3)/),
        name not in also_without do
      link = Path.join(bin, name)
      # The first directory on PATH that has the name wins, as for the shell.
      unless File.exists?(link) or match?({:ok, _}, File.read_link(link)) do
        File.ln_s(Path.join(dir, name), link)
      end
    end

    pyenv_root = Path.join(root, "no-pyenv")
    File.mkdir_p!(pyenv_root)

    [{"PATH", bin}, {"PYENV_ROOT", pyenv_root}] ++
      for var <-
            ~w(PYO3_PYTHON PYO3_CONFIG_FILE PYTHONHOME PYTHONPATH VIRTUAL_ENV PYENV_VERSION UV_PYTHON),
          do: {var, nil}
  end

  defp ls(dir) do
    case File.ls(dir) do
      {:ok, names} -> names
      {:error, _} -> []
    end
  end
end
