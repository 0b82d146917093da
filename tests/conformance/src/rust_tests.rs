//! `#[oxbeam::test]`: Rust tests with a real `Env`, run inside the BEAM by
//! `elixir/test/nif/rust_tests_test.exs` (one ExUnit test each).

use oxbeam::{Atom, Encode, Env, Term};

mod atoms {
    oxbeam::atoms! { ok }
}

#[oxbeam::test]
fn lists_round_trip(env: Env<'_>) {
    let term = vec![1i64, 2, 3].encode(env);
    assert_eq!(term.decode::<Vec<i64>>(env).ok(), Some(vec![1, 2, 3]));
}

#[oxbeam::test]
fn atoms_made_at_load_are_there(env: Env<'_>) {
    let ok: Term = atoms::ok().encode(env);
    assert_eq!(ok.decode::<Atom>(env).ok(), Some(atoms::ok()));
}

#[oxbeam::test]
fn runs_in_the_calling_process(env: Env<'_>) {
    assert!(
        env.try_pid().is_some(),
        "a test runs in the test's own process"
    );
}

#[oxbeam::test]
fn without_an_env() -> Result<(), String> {
    "42".parse::<i64>().map(|_| ()).map_err(|e| e.to_string())
}

/// Fails on purpose: the ExUnit side checks how a failure is reported.
#[oxbeam::test]
fn deliberately_fails(env: Env<'_>) {
    let decoded = 7i64.encode(env).decode::<i64>(env).ok();
    assert_eq!(decoded, Some(8), "seven is not eight");
}

/// Returns an `Err` on purpose.
#[oxbeam::test]
fn deliberately_returns_err() -> Result<(), String> {
    Err("not this time".into())
}
