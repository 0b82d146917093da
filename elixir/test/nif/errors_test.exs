defmodule Oxbeam.NIF.ErrorsTest do
  # Paired with tests/conformance/src/errors.rs.
  use ExUnit.Case, async: true
  alias Oxbeam.Test.Conformance, as: NIF

  describe "a bad argument raises ArgumentError naming it" do
    test "wrong type" do
      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.add/2: argument 2 (b): expected an integer (i64), got: :a",
                   fn -> NIF.add(1, :a) end
    end

    test "inside a list" do
      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.sum/1: argument 1 (xs): element 1 of the list: expected an integer (i64), got: :a",
                   fn -> NIF.sum([1, :a]) end
    end

    test "an improper list" do
      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.sum/1: argument 1 (xs): expected a proper list (Vec<i64>), got: [1 | 2]",
                   fn -> NIF.sum([1 | 2]) end
    end

    test "invalid UTF-8 for a &str" do
      assert_raise ArgumentError,
                   "Oxbeam.Test.Conformance.greet/1: argument 1 (name): expected a UTF-8 string (&str), got: <<255>>",
                   fn -> NIF.greet(<<255>>) end
    end
  end

  describe "a panic" do
    test "raises RuntimeError with the message and the location, and the VM keeps answering" do
      assert_raise RuntimeError,
                   "panicked at tests/conformance/src/errors.rs:7:5: boom",
                   fn -> NIF.panic_now("boom") end

      assert NIF.add(1, 2) == 3
    end

    test "many panics from many processes leave the VM running" do
      1..200
      |> Task.async_stream(fn i ->
        assert_raise RuntimeError, ~r/panicked at .*: #{i}$/, fn -> NIF.panic_now("#{i}") end
      end)
      |> Stream.run()

      assert NIF.add(2, 2) == 4
    end

    test "prints nothing to stderr" do
      ebin = :code.which(NIF) |> Path.dirname()

      {output, 0} =
        System.cmd(
          "elixir",
          [
            "-pa",
            ebin,
            "-e",
            ~s|try do Oxbeam.Test.Conformance.panic_now("quiet") rescue e -> IO.puts(Exception.message(e)) end|
          ],
          stderr_to_stdout: true
        )

      assert output == "panicked at tests/conformance/src/errors.rs:7:5: quiet\n"
    end
  end

  describe "raising" do
    test "oxbeam::raise from deep inside plain Rust code" do
      assert_raise ArgumentError, "raised from the bottom", fn -> NIF.raise_deep(50) end
    end

    test "? on a std::error::Error raises RuntimeError with its Display text" do
      assert NIF.parse_int("42") == 42

      assert_raise RuntimeError, "invalid digit found in string", fn -> NIF.parse_int("4x2") end
    end
  end

  describe "raising any term" do
    test "a term, as is" do
      assert catch_error(NIF.raise_kind(:term, {:my, "reason"})) == {:my, "reason"}
    end

    test "an atom" do
      assert catch_error(NIF.raise_kind(:atom, "my_reason")) == :my_reason
    end

    test "an exception struct by module name" do
      assert_raise Oxbeam.Test.CustomError, "custom failure", fn ->
        NIF.raise_kind(:exception, nil)
      end
    end
  end

  describe "failures while encoding the result" do
    test "an encoder that raises" do
      assert_raise ArgumentError,
                   "cannot encode NaN as an Erlang float: the BEAM has no NaN or infinity",
                   fn -> NIF.encode_nan() end
    end

    test "an encoder that panics" do
      assert_raise RuntimeError,
                   ~r"^panicked at tests/conformance/src/errors.rs:\d+:\d+: cannot encode this$",
                   fn ->
                     NIF.panic_in_encode()
                   end
    end
  end

  test "atoms! atoms are created when the library loads" do
    assert NIF.declared_atoms() == {:hello, :"created at load"}
  end
end
