defmodule Oxbeam.Python.AtomNamesTest do
  # Atoms whose names are not ASCII, through the Python bridge (python-bridge/src/
  # convert.rs and eval.rs read them with oxbeam's Atom::name; see also
  # test/nif/atoms_test.exs).
  use ExUnit.Case, async: true
  alias Oxbeam.Python, as: Py

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
  end

  test "an atom becomes a str with its whole name" do
    for atom <- [:café, :ÿ, :日本, :"👍"] do
      assert atom |> Py.encode!() |> Py.decode() == Atom.to_string(atom)
    end
  end

  test "an atom global name beyond latin-1" do
    {result, _} = Py.eval("日本 * 2", %{日本: 21})
    assert Py.decode(result) == 42
  end
end
