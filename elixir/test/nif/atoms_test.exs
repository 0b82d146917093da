defmodule Oxbeam.NIF.AtomsTest do
  # Paired with tests/conformance/src/atoms.rs: atoms whose names are not ASCII.
  #
  # The VM (OTP 20+) holds any Unicode atom name; erl_nif before 2.17 (OTP 26) only
  # makes and reads latin-1 names, so oxbeam goes through the external term format
  # (ATOM_UTF8_EXT) for the others: the same names work on OTP 25.
  use ExUnit.Case, async: true
  alias Oxbeam.Test.Conformance, as: NIF

  @names [
    {"ASCII", "ok"},
    {"latin-1", "café"},
    {"the last latin-1 character", "ÿ"},
    {"beyond latin-1", "日本"},
    {"mixed latin-1 and beyond", "é日"},
    {"an emoji (4-byte UTF-8)", "👍"}
  ]

  for {what, name} <- @names do
    test "#{what}: #{name} round-trips through Atom::name and Atom::from_str" do
      atom = String.to_atom(unquote(name))
      assert NIF.atom_name(atom) == unquote(name)
      assert NIF.atom_from_str(unquote(name)) === atom
      assert NIF.atom_try_from_str(unquote(name)) === atom
    end
  end

  test "a latin-1 atom made in Rust is the atom Elixir knows" do
    assert NIF.atom_from_str("ÿ") === :ÿ
    assert NIF.atom_from_str("naïve") === :naïve
    assert NIF.atom_from_str("日本") === :日本
  end

  test "atoms! declares non-ASCII atoms (created when the library loads)" do
    assert NIF.non_ascii_declared_atoms() == {:café, :日本}
  end

  test "the longest names: 255 characters, whatever their UTF-8 size" do
    for char <- ["a", "é", "日", "👍"] do
      name = String.duplicate(char, 255)
      atom = String.to_atom(name)
      assert NIF.atom_name(atom) == name
      assert NIF.atom_from_str(name) === atom
    end
  end

  test "a name of more than 255 characters is refused, with the reason" do
    for char <- ["a", "é", "日"] do
      name = String.duplicate(char, 256)
      assert NIF.atom_try_from_str(name) == nil

      assert_raise ArgumentError,
                   "cannot make an atom of #{inspect(name)}: " <>
                     "an atom name is at most 255 characters, this one has 256",
                   fn -> NIF.atom_from_str(name) end
    end
  end

  test "an empty name is the empty atom" do
    assert NIF.atom_from_str("") === :""
    assert NIF.atom_name(:"") == ""
  end

  test "messages render non-latin-1 atoms with their names" do
    assert NIF.inspect_term(:日本) == ~s(:"日本")
    assert NIF.inspect_term({:café, [:ÿ]}) == inspect({:café, [:ÿ]})

    assert_raise ArgumentError, ~r/got: :"日本"/, fn -> NIF.add(:日本, 1) end
  end
end
