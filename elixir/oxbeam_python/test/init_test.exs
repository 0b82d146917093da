defmodule Oxbeam.Python.InitTest do
  # init is once per VM: these run after the async tests (which initialize with the
  # default python3), or in a fresh VM.
  use ExUnit.Case, async: false
  alias Oxbeam.Python, as: Py

  @moduletag :tmp_dir

  test "eval before init raises a clear error" do
    {output, 0} =
      System.cmd(
        "elixir",
        Oxbeam.Test.ChildVM.code_path_args() ++
          [
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

  test "another CPython (another libpython) is refused once one runs" do
    {version, _} = Py.eval("import sys\nf'{sys.version_info[0]}.{sys.version_info[1]}'", %{})
    version = Py.decode(version)

    other =
      Path.wildcard(Path.expand("~/.pyenv/versions/3.1[0-3]*/bin/python3"))
      |> Enum.reject(&String.contains?(&1, "/#{version}."))
      |> List.first()

    assert other, "this test needs a second CPython 3.10-3.13 under ~/.pyenv/versions"

    message = assert_raise(RuntimeError, fn -> Py.init(other) end).message

    assert message =~
             ~r/^Python interpreter is already initialized with a different environment \(.*libpython#{version}\.so\); restart the VM to use .*libpython3\.1\d\.so$/
  end

  test "an interpreter without a shared libpython, or older than 3.10, is refused" do
    for python <- Path.wildcard(Path.expand("~/.pyenv/versions/3.9*/bin/python3")) do
      assert_raise ArgumentError,
                   ~r/is Python 3\.9; Oxbeam.Python needs CPython 3.10 or later$/,
                   fn ->
                     Py.init(python)
                   end
    end
  end
end
