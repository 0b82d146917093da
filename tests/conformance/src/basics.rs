//! Paired with `elixir/test/nif/basics_test.exs`: the call path end to end.

use oxbeam::nif;

/// Adds two integers.
#[nif]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Greets by name.
#[nif]
fn greet(name: &str) -> String {
    format!("Hello, {name}!")
}

#[nif]
fn sum(xs: Vec<i64>) -> i64 {
    xs.iter().sum()
}

#[nif]
fn noop() {}

#[nif(name = "positive?")]
fn is_positive(x: i64) -> bool {
    x > 0
}

#[nif]
fn echo<'a>(term: oxbeam::Term<'a>) -> oxbeam::Term<'a> {
    term
}

/// Whether oxbeam verified the VM's small-integer layout at load and reads and makes
/// small integers inline.
#[nif]
fn immediate_ints_enabled() -> bool {
    oxbeam::__rt::immediate_ints_enabled()
}
