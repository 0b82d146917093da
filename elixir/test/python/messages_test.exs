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
end
