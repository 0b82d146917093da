defmodule Oxbeam.Python.InitTest do
  # init is once per VM: these run after the async tests (which initialize with the
  # default python3), or in a fresh VM.
  use ExUnit.Case, async: false
  alias Oxbeam.Python, as: Py

  @moduletag :tmp_dir

  test "eval before init raises a clear error" do
    ebin = :code.which(Py) |> Path.dirname()

    {output, 0} =
      System.cmd(
        "elixir",
        [
          "-pa",
          ebin,
          "-e",
          ~s|try do Oxbeam.Python.eval("1", %{}) rescue e -> IO.puts(Exception.message(e)) end|
        ],
        stderr_to_stdout: true
      )

    assert output ==
             "Python interpreter is not initialized: call Oxbeam.Python.uv_init/2 or Oxbeam.Python.init/1 first\n"
  end

  test "init again with the same environment is a no-op; with another one it raises", %{
    tmp_dir: tmp_dir
  } do
    assert :ok = Oxbeam.Test.PythonEnv.init!()
    assert :ok = Oxbeam.Test.PythonEnv.init!()

    venv = Path.join(tmp_dir, "venv")
    {_, 0} = System.cmd("python3", ["-m", "venv", "--without-pip", venv])

    message = assert_raise(RuntimeError, fn -> Py.init(Path.join(venv, "bin/python")) end).message
    assert message =~ ~r/^Python interpreter is already initialized with a different environment/
    assert message =~ "restart the VM to use"
  end

  test "an interpreter of another version is refused" do
    {built, version} = Oxbeam.Python.NIF.python_info()

    other =
      Path.wildcard(Path.expand("~/.pyenv/versions/*/bin/python3"))
      |> Enum.find(fn python ->
        {v, 0} =
          System.cmd(python, [
            "-c",
            "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"
          ])

        String.trim(v) != version
      end)

    assert other, "this test needs a second CPython version under ~/.pyenv/versions"

    message = assert_raise(ArgumentError, fn -> Py.init(other) end).message

    assert message =~
             ~r/^#{Regex.escape(other)} is Python \d+\.\d+, but Oxbeam.Python is built against Python #{version} \(#{Regex.escape(built)}\)/
  end
end
