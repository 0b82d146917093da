//! Paired with `elixir/test/nif/inspect_test.exs`: `Term::inspect` against
//! `Kernel.inspect/1` and `io_lib:format("~0p")`.

use oxbeam::{nif, Env, Term};

/// `Term::inspect_elixir`.
#[nif]
fn inspect_elixir<'a>(env: Env<'a>, term: Term<'a>) -> String {
    term.inspect_elixir(env)
}

/// `Term::inspect_erlang`.
#[nif]
fn inspect_erlang<'a>(env: Env<'a>, term: Term<'a>) -> String {
    term.inspect_erlang(env)
}

/// `oxbeam::inspect::set_elixir_version` (the test passes `System.version()`).
#[nif]
fn inspect_set_elixir_version(version: &str) -> bool {
    oxbeam::inspect::set_elixir_version(version)
}

/// `oxbeam::inspect::register_struct` (the test passes `M.__info__(:struct)`'s fields).
#[nif]
fn inspect_register_struct(
    env: Env<'_>,
    module: oxbeam::Atom,
    fields: Vec<oxbeam::Atom>,
) -> oxbeam::Result<()> {
    let names = fields
        .iter()
        .map(|field| field.name(env))
        .collect::<oxbeam::Result<Vec<String>>>()?;
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    oxbeam::inspect::register_struct(&module.name(env)?, &names);
    Ok(())
}
