//! The two conversion traits: [`Decode`] (term → Rust, for arguments) and [`Encode`]
//! (Rust → term, for results). One file per type family in `types/` implements them.

use crate::env::Env;
use crate::term::Term;
use std::borrow::Cow;

/// A Rust value that can be read from a term: the type of a `#[nif]` argument.
///
/// A failed decode returns a [`DecodeError`] saying what was expected; `#[nif]` turns
/// it into an `ArgumentError` naming the function, the argument and the value.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a `#[nif]` argument: it does not implement `oxbeam::Decode`",
    label = "not decodable from an Erlang term",
    note = "oxbeam decodes integers, floats, bool, Atom, &str, String, binaries, Vec, tuples, maps, Option and Term; implement `Decode` for your own types"
)]
pub trait Decode<'a>: Sized {
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>>;
}

/// A Rust value that can be turned into a term: the return type of a `#[nif]`.
///
/// Encoding takes the value; types that are cheap to borrow (`&str`, `&[T]`, `&String`,
/// `&Vec<T>`) implement it for references too. An encoder that cannot encode raises
/// (see [`crate::raise`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned to Erlang: it does not implement `oxbeam::Encode`",
    label = "not encodable as an Erlang term",
    note = "oxbeam encodes integers, floats, bool, (), Atom, strings, binaries, Vec, slices, tuples, maps, Option, Result and Term; implement `Encode` for your own types"
)]
pub trait Encode<'a> {
    fn encode(self, env: Env<'a>) -> Term<'a>;

    /// Set by `#[derive(Encode)]` on an exception type: a `#[nif]` returning
    /// `Result<T, Self>` raises it on `Err`.
    #[doc(hidden)]
    const RAISES_ON_ERR: bool = false;
}

/// Where, inside a container argument, a decode failed.
#[derive(Clone, Debug)]
pub enum PathStep<'a> {
    /// 0-based position in a list.
    ListElement(usize),
    /// 0-based position in a tuple.
    TupleElement(usize),
    /// The value stored under this key of a map.
    MapValue(Term<'a>),
    /// A key of a map.
    MapKey(Term<'a>),
    /// The value inside `{:ok, _}` / `{:error, _}` or another named wrapper.
    Field(&'static str),
}

/// Why a term could not be decoded: what was expected, the term found, and where.
///
/// Built only on the failure path (`#[cold]`); it costs nothing when decoding succeeds.
#[derive(Debug)]
pub struct DecodeError<'a> {
    /// The term that did not match (the innermost one).
    pub term: Term<'a>,
    /// What was expected, in Elixir words with the Rust type: `an integer (i64)`.
    pub expected: Cow<'static, str>,
    /// Outer to inner.
    pub path: Vec<PathStep<'a>>,
}

impl<'a> DecodeError<'a> {
    /// `term` is not what was `expected`.
    #[cold]
    #[inline(never)]
    pub fn new(term: Term<'a>, expected: impl Into<Cow<'static, str>>) -> Self {
        DecodeError {
            term,
            expected: expected.into(),
            path: Vec::new(),
        }
    }

    /// The failure happened inside `step` of an outer container.
    #[cold]
    #[inline(never)]
    pub fn inside(mut self, step: PathStep<'a>) -> Self {
        self.path.insert(0, step);
        self
    }

    /// Raises this error as an `ArgumentError` for the NIF argument `argument` (found
    /// among the call's arguments by identity; without the position if it is not
    /// one of them), from any depth of code: for decoding that happens lazily, after
    /// the arguments were taken.
    ///
    /// The message is rendered here, while the terms are alive: what unwinds owns
    /// plain data only, so it stays harmless wherever it ends up.
    pub fn raise_for(self, env: Env<'a>, argument: Term<'a>) -> ! {
        let description = self.describe(env);
        std::panic::resume_unwind(Box::new(crate::nif::LazyArgError::new(
            argument,
            description,
        )))
    }

    /// The message, without the function and argument: `element 1 of the list:
    /// expected an integer (i64), got: :a`.
    pub fn describe(&self, env: Env<'a>) -> String {
        let mut out = String::new();
        for step in &self.path {
            match step {
                PathStep::ListElement(i) => out.push_str(&format!("element {i} of the list: ")),
                PathStep::TupleElement(i) => out.push_str(&format!("element {i} of the tuple: ")),
                PathStep::MapValue(k) => {
                    out.push_str(&format!("value at key {}: ", k.inspect(env)))
                }
                PathStep::MapKey(k) => out.push_str(&format!("key {}: ", k.inspect(env))),
                PathStep::Field(name) => out.push_str(&format!("{name}: ")),
            }
        }
        out.push_str(&format!(
            "expected {}, got: {}",
            self.expected,
            self.term.inspect(env)
        ));
        out
    }
}
