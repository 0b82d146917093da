defmodule Oxbeam.NIF.RustTestsTest do
  # Paired with tests/conformance/src/rust_tests.rs: its #[oxbeam::test] functions run
  # here, one ExUnit test each; the two that fail on purpose are checked by hand.
  use ExUnit.Case, async: true

  use Oxbeam.RustTests,
    module: Oxbeam.Test.Conformance,
    except: [
      "oxbeam_conformance::rust_tests::deliberately_fails",
      "oxbeam_conformance::rust_tests::deliberately_returns_err"
    ]

  alias Oxbeam.Test.Conformance, as: NIF

  test "the library lists its Rust tests with file and line" do
    tests = NIF.__oxbeam_tests__()
    names = for {name, _, _} <- tests, do: name

    assert "oxbeam_conformance::rust_tests::lists_round_trip" in names

    assert {_, "tests/conformance/src/rust_tests.rs", line} =
             List.keyfind(tests, "oxbeam_conformance::rust_tests::lists_round_trip", 0)

    assert is_integer(line)
  end

  test "a failing Rust test reports its name, location and the panic with its file:line" do
    name = "oxbeam_conformance::rust_tests::deliberately_fails"

    error =
      assert_raise ExUnit.AssertionError, fn ->
        Oxbeam.RustTests.__run__(NIF, name, "tests/conformance/src/rust_tests.rs:37")
      end

    assert error.message =~
             ~r"^oxbeam_conformance::rust_tests::deliberately_fails failed \(tests/conformance/src/rust_tests.rs:37\):\npanicked at tests/conformance/src/rust_tests.rs:\d+:\d+: assertion `left == right` failed: seven is not eight"
  end

  test "a Rust test returning Err fails with it; an unknown name is an error" do
    assert NIF.__oxbeam_run_test__("oxbeam_conformance::rust_tests::deliberately_returns_err") ==
             {:error, ~s|returned Err("not this time")|}

    assert NIF.__oxbeam_run_test__("nope") ==
             {:error, ~s|no #[oxbeam::test] named "nope" in this library|}
  end
end
