defmodule Oxbeam.Python.OutputTest do
  # Paired with python-bridge/src/output.rs: where Python's stderr goes when
  # :standard_error changes or is gone (it is looked up when Python writes). Not async:
  # it takes the name :standard_error away from the VM for a moment.
  use ExUnit.Case, async: false
  import ExUnit.CaptureIO
  alias Oxbeam.Python, as: Py

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
  end

  test "stderr goes to the group leader when no process is registered as :standard_error" do
    standard_error = Process.whereis(:standard_error)
    Process.unregister(:standard_error)

    try do
      out =
        capture_io(fn -> Py.eval("import sys\nsys.stderr.write('no standard_error\\n')", %{}) end)

      assert out == "no standard_error\n"
    after
      Process.register(standard_error, :standard_error)
    end
  end

  test "stderr written after the eval, by a thread it started, goes to the :standard_error of that moment" do
    {_, %{"go" => go}} =
      Py.eval(
        """
        import sys, threading
        go = threading.Event()
        def late():
            go.wait()
            sys.stderr.write('written later\\n')
        threading.Thread(target=late).start()
        """,
        %{}
      )

    out =
      capture_io(:stderr, fn ->
        Py.eval("go.set()", %{"go" => go})
        Process.sleep(200)
      end)

    assert out == "written later\n"
  end
end
