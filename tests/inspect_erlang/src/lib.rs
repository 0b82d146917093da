//! A NIF library for an Erlang module: `Term::inspect` renders in Erlang syntax here
//! (paired with `elixir/test/nif/inspect_test.exs`).

use oxbeam::{nif, Env, Term};

/// `Term::inspect`, which picks Erlang syntax for an Erlang module.
#[nif]
fn inspect_term<'a>(env: Env<'a>, term: Term<'a>) -> String {
    term.inspect(env)
}

/// A NIF whose bad arguments raise: the message shows the value in Erlang syntax.
#[nif]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

// The Erlang module the test compiles around it writes plain stubs (no `:badarg`
// wrappers): argument errors raise `ArgumentError` directly.
oxbeam::init!("oxbeam_inspect_erlang", wrappers = false);
