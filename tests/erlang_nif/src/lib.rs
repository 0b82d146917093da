//! The NIFs of the Erlang module `oxbeam_erlang_nif` (see
//! `elixir/test/nif/erlang_module_test.exs`, which writes the module).

use oxbeam::nif;

/// Adds two integers.
#[nif]
fn add(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

/// Sums a list of integers.
#[nif]
fn sum(xs: Vec<i64>) -> i64 {
    xs.iter().fold(0, |acc, x| acc.wrapping_add(*x))
}

/// Raises `ArgumentError` with `message` (an error of the NIF's own code, not of its
/// arguments).
#[nif]
fn fail(message: String) -> oxbeam::Result<()> {
    Err(oxbeam::Error::argument_error(message))
}

/// Raises `:badarg` with `message` (`Error::badarg`).
#[nif]
fn refuse(message: String) -> oxbeam::Result<()> {
    Err(oxbeam::Error::badarg(message))
}

oxbeam::init!("oxbeam_erlang_nif");
