//! Paired with `elixir/test/nif/errors_test.exs`: panics, raises and bad arguments.

use oxbeam::nif;

#[nif]
fn panic_now(message: &str) -> i64 {
    panic!("{message}")
}

#[nif]
fn raise_deep(depth: u32) -> i64 {
    fn descend(depth: u32) -> i64 {
        if depth == 0 {
            oxbeam::raise(oxbeam::Error::exception(
                "ArgumentError",
                "raised from the bottom",
            ))
        }
        descend(depth - 1) + 1
    }
    descend(depth)
}

#[nif]
fn parse_int(text: &str) -> oxbeam::Result<i64> {
    Ok(text.parse::<i64>()?)
}

/// Raises what `kind` says: any term, a bare atom, an exception by module name.
#[nif]
fn raise_kind<'a>(
    env: oxbeam::Env<'a>,
    kind: oxbeam::Atom,
    payload: oxbeam::Term<'a>,
) -> oxbeam::Result<i64> {
    let kind = kind.name(env)?;
    Err(match kind.as_str() {
        "term" => oxbeam::Error::term(env, payload),
        "atom" => oxbeam::Error::atom(payload.decode::<&str>(env).unwrap_or("bad")),
        "exception" => oxbeam::Error::exception("Oxbeam.Test.CustomError", "custom failure"),
        _ => oxbeam::Error::runtime_error(format!("unknown kind {kind}")),
    })
}

/// Fails while encoding its result: NaN is not an Erlang float.
#[nif]
fn encode_nan() -> f64 {
    f64::NAN
}

/// Panics while encoding its result (inside an `Encode` impl).
#[nif]
fn panic_in_encode() -> PanickingValue {
    PanickingValue
}

struct PanickingValue;

impl<'a> oxbeam::Encode<'a> for PanickingValue {
    fn encode(self, _env: oxbeam::Env<'a>) -> oxbeam::Term<'a> {
        panic!("cannot encode this")
    }
}

mod atoms {
    oxbeam::atoms! { hello, created_at_load = "created at load" }
}

/// Returns atoms declared with `atoms!`.
#[nif]
fn declared_atoms() -> (oxbeam::Atom, oxbeam::Atom) {
    (atoms::hello(), atoms::created_at_load())
}

/// Raises `:badarg` with a message (`Error::badarg`), returned or raised from deep in
/// plain Rust code (`deep`).
#[nif]
fn raise_badarg(message: String, deep: bool) -> oxbeam::Result<i64> {
    if deep {
        oxbeam::raise(oxbeam::Error::badarg(message))
    }
    Err(oxbeam::Error::badarg(message))
}
