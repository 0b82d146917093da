//! `#[oxbeam::test]`: Rust tests with a real [`Env`], run inside the BEAM by `mix test`.
//!
//! `cargo test` cannot link a NIF crate (the `enif_*` functions live in the VM). A
//! function marked `#[oxbeam::test]` is compiled into the NIF library in debug builds
//! (what `MIX_ENV=test` builds by default) and registered here; two hidden NIFs that
//! `init!` defines in the library list the tests and run one, and `Oxbeam.RustTests` in Elixir turns each into an ExUnit
//! test that reports its name, panic message and `file:line` on failure.
//!
//! ```ignore
//! #[oxbeam::test]
//! fn decodes_a_list(env: Env<'_>) {
//!     let list = vec![1i64, 2].encode(env);
//!     assert_eq!(list.decode::<Vec<i64>>(env).unwrap(), [1, 2]);
//! }
//! ```
//!
//! Logic that needs no VM is better tested with `cargo test` in a crate of its own,
//! which the NIF crate depends on.

use crate::env::Env;

/// One `#[oxbeam::test]` function, registered with `inventory`.
#[doc(hidden)]
pub struct TestCase {
    /// `module::path::name`.
    pub name: &'static str,
    pub file: &'static str,
    pub line: u32,
    pub run: for<'a> fn(Env<'a>) -> Result<(), String>,
}

inventory::collect!(TestCase);

/// What a test function may return: nothing (it passes unless it panics), or a
/// `Result` whose `Err` fails the test with its `Debug` text.
#[doc(hidden)]
pub trait TestOutcome {
    fn into_outcome(self) -> Result<(), String>;
}

impl TestOutcome for () {
    fn into_outcome(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: std::fmt::Debug> TestOutcome for Result<(), E> {
    fn into_outcome(self) -> Result<(), String> {
        self.map_err(|error| format!("returned Err({error:?})"))
    }
}

/// The registered tests, sorted by name: `[{name, file, line}]` (the hidden NIF
/// `__oxbeam_tests__/0` that `init!` defines in debug builds).
pub fn list_tests() -> Vec<(&'static str, &'static str, u32)> {
    let mut tests: Vec<(&str, &str, u32)> = inventory::iter::<TestCase>
        .into_iter()
        .map(|t| (t.name, t.file, t.line))
        .collect();
    tests.sort();
    tests
}

/// Runs the test `name` in the calling process's environment: `Ok`, or the failure
/// (a panic's message with its `file:line`, or the `Err`). The hidden NIF
/// `__oxbeam_run_test__/1`.
pub fn run_test(env: Env<'_>, name: &str) -> Result<(), String> {
    let Some(test) = inventory::iter::<TestCase>
        .into_iter()
        .find(|t| t.name == name)
    else {
        return Err(format!("no #[oxbeam::test] named {name:?} in this library"));
    };
    // The panic hook records the message and location on this (scheduler) thread.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (test.run)(env))) {
        Ok(outcome) => outcome,
        Err(payload) => Err(crate::report::describe_unwind(&*payload)),
    }
}
