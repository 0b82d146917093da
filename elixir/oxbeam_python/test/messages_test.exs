defmodule Oxbeam.Python.MessagesTest do
  # Errors in Python callbacks are Python exceptions with the real message, and bad
  # inputs get errors naming what was wrong (issue 10, items 14 and 17).
  use ExUnit.Case, async: false
  alias Oxbeam.Python, as: Py
  alias Oxbeam.Test.HazardChild

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
  end

  defp eval_value(code, globals) do
    {result, _} = Py.eval(code, globals)
    Py.decode(result)
  end

  describe "oxbeam.send_tagged_object" do
    test "a tag that is not an existing atom raises ValueError in Python, and no atom is made" do
      tag = "oxbeam_no_such_atom_#{System.unique_integer([:positive])}"

      message =
        eval_value(
          """
          import oxbeam
          try:
              oxbeam.send_tagged_object(pid, tag.decode(), [1])
          except ValueError as e:
              message = str(e)
          message
          """,
          %{"pid" => self(), "tag" => tag}
        )

      assert message ==
               "send_tagged_object: the tag must be the name of an existing atom " <>
                 "(atoms are never made from Python data), got '#{tag}'"

      assert_raise ArgumentError, fn -> String.to_existing_atom(tag) end
      refute_received _
    end

    test "an uncaught bad tag is an Oxbeam.Python.Error naming it" do
      error =
        assert_raise Py.Error, fn ->
          Py.eval("import oxbeam\noxbeam.send_tagged_object(pid, 'x' * 300, None)", %{
            "pid" => self()
          })
        end

      assert List.last(error.lines) ==
               "ValueError: send_tagged_object: the tag must be the name of an existing atom " <>
                 "(atoms are never made from Python data), got '#{String.duplicate("x", 80)}...' (300 characters)\n"
    end

    test "existing atoms work, latin-1 names included" do
      _ = :café

      Py.eval("import oxbeam\noxbeam.send_tagged_object(pid, 'café', 1)", %{"pid" => self()})
      assert_receive {:café, %Py.Object{} = object}
      assert Py.decode(object) == 1
    end

    test "the error prints nothing on the VM's stderr (no pyo3 panic banner)" do
      {output, 0} =
        HazardChild.run(~S"""
        try do
          Oxbeam.Python.eval("import oxbeam\noxbeam.send_tagged_object(pid, 'oxbeam_no_such_atom_stderr', 1)", %{"pid" => self()})
        rescue
          e -> IO.puts(List.last(e.lines))
        end
        """)

      assert output ==
               "ValueError: send_tagged_object: the tag must be the name of an existing atom " <>
                 "(atoms are never made from Python data), got 'oxbeam_no_such_atom_stderr'\n\n"
    end
  end

  describe "bad inputs" do
    test "a map whose :__struct__ is not a module, as a global or inside a value" do
      message =
        "cannot encode %{__struct__: 5}: its :__struct__ key is 5, not a module name " <>
          "(a map with a :__struct__ key is taken for a struct)"

      assert_raise ArgumentError, message, fn -> Py.eval("x", %{"x" => %{__struct__: 5}}) end
      assert_raise ArgumentError, message, fn -> Py.encode!([1, {%{__struct__: 5}}]) end
      assert_raise ArgumentError, message, fn -> Py.encode!(%{"k" => %{__struct__: 5}}) end
    end

    test "init with an executable that is not Python" do
      assert_raise ArgumentError,
                   "/bin/true is not a Python interpreter: asked for its version and " <>
                     "site-packages directories, it printed \"\" (exit status 0)",
                   fn -> Py.init("/bin/true") end

      assert_raise ArgumentError,
                   "/bin/false is not a Python interpreter: asked for its version and " <>
                     "site-packages directories, it printed \"\" (exit status 1)",
                   fn -> Py.init("/bin/false") end
    end

    test "init with something that is not an executable name" do
      assert_raise ArgumentError,
                   "Python executable not found: \"/nonexistent/python3\"",
                   fn -> Py.init("/nonexistent/python3") end

      assert_raise ArgumentError,
                   "init: expected the path or name of a Python executable (a string), got: :python3",
                   fn -> Py.init(:python3) end
    end

    test "eval, decode and encode! name the argument that is wrong" do
      assert_raise ArgumentError,
                   "eval: expected the code as a string, got: #{inspect(~c"x = 1")}",
                   fn -> Py.eval(~c"x = 1", %{}) end

      assert_raise ArgumentError,
                   "eval: expected the globals as a map of names to values, got: [x: 1]",
                   fn -> Py.eval("x", x: 1) end

      assert_raise ArgumentError, "eval: expected options as a keyword list, got: 5", fn ->
        Py.eval("1", %{}, 5)
      end

      assert_raise ArgumentError,
                   "stdout_device: expected a pid or a registered name, got: \"out\"",
                   fn -> Py.eval("1", %{}, stdout_device: "out") end

      assert_raise ArgumentError, "no process named :oxbeam_no_such_device", fn ->
        Py.eval("1", %{}, stderr_device: :oxbeam_no_such_device)
      end

      assert_raise ArgumentError, "decode: expected an Oxbeam.Python.Object, got: 5", fn ->
        Py.decode(5)
      end

      assert_raise ArgumentError,
                   "encode!: expected options (a keyword list) or an encoder function of arity 2, got: :str",
                   fn -> Py.encode!("x", :str) end
    end
  end
end
