//! Paired with `elixir/test/nif/atoms_test.exs`: atom names beyond ASCII.

use oxbeam::{nif, Atom, Env, Term};

/// The atom's name as `Atom::name` reads it.
#[nif]
fn atom_name(env: Env<'_>, atom: Atom) -> oxbeam::Result<String> {
    atom.name(env)
}

/// `Atom::from_str` (raises when the name cannot be an atom).
#[nif]
fn atom_from_str(env: Env<'_>, name: &str) -> Atom {
    Atom::from_str(env, name)
}

/// `Atom::try_from_str`: `nil` when the name cannot be an atom.
#[nif]
fn atom_try_from_str(env: Env<'_>, name: &str) -> Option<Atom> {
    Atom::try_from_str(env, name)
}

/// How oxbeam renders a term in its messages.
#[nif]
fn inspect_term<'a>(env: Env<'a>, term: Term<'a>) -> String {
    term.inspect(env)
}

mod declared {
    oxbeam::atoms! {
        cafe = "café",
        nihon = "日本",
    }
}

/// Atoms declared with `atoms!` (created at load) whose names are not ASCII.
#[nif]
fn non_ascii_declared_atoms() -> (Atom, Atom) {
    (declared::cafe(), declared::nihon())
}
