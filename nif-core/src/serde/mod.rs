//! serde's data model to and from terms (feature `serde`): [`to_term`], [`from_term`]
//! and the [`SerdeTerm`] wrapper, usable directly as a `#[nif]` argument or result.
//!
//! The terms are the ones `#[derive(oxbeam::Encode, oxbeam::Decode)]` makes for the
//! same shapes:
//!
//! | serde | term |
//! |---|---|
//! | bool, integers (up to `i128`/`u128`), floats | `true`/`false`, integers, floats (NaN and infinities are an error) |
//! | char, str, String | a UTF-8 binary (a char is a one-character binary) |
//! | bytes (`serialize_bytes`) | a binary |
//! | `None` / `Some(v)`, unit, unit struct | `nil` / `v`, `nil`, `nil` |
//! | newtype struct | its inner value |
//! | seq | a list |
//! | tuple, tuple struct | a tuple |
//! | map | a map (keys as their own terms) |
//! | struct | a map with atom keys; an Elixir struct when its serde name is a module (`"Elixir.MyApp.Point"` or `"MyApp.Point"`) |
//! | unit variant | an atom: the variant's serde name as given |
//! | newtype / tuple / struct variant | `{:tag, v}` / `{:tag, v1, v2}` / `{:tag, %{field: v}}` |
//!
//! Unlike the derive, serde does not snake_case variant names: `Red` becomes `:Red`
//! unless the type says `#[serde(rename_all = "snake_case")]`.
//!
//! Decoding errors are [`DecodeError`]s with the derive's path steps and wording, so
//! a bad argument raises the same `ArgumentError`. Untagged and internally tagged
//! enums go through `deserialize_any`, which reads integers, floats, binaries (strings
//! when UTF-8, bytes otherwise), `nil`/`true`/`false` (unit, booleans), other atoms
//! (strings), lists and tuples (sequences) and maps.

mod de;
mod names;
mod ser;

pub use de::{Deserializer, Error as DeError};
pub use names::{MAX_DEPTH, STACK_BUDGET};
pub use ser::{Error as SerError, Scratch, Serializer};

use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::term::Term;

/// `value` as a term. NaN, infinities and names that cannot be atoms are an
/// `ArgumentError` (as for [`Encode`] of floats).
pub fn to_term<'a, T: ::serde::Serialize + ?Sized>(
    env: Env<'a>,
    value: &T,
) -> Result<Term<'a>, crate::Error> {
    let scratch = Scratch::new(env);
    value
        .serialize(Serializer::new(&scratch))
        .map_err(|error| crate::Error::argument_error(error.to_string()))
}

/// `term` as a `T`; the error says where and what, as for a derived [`Decode`].
#[inline]
pub fn from_term<'a, T: ::serde::Deserialize<'a>>(
    env: Env<'a>,
    term: Term<'a>,
) -> Result<T, DecodeError<'a>> {
    match T::deserialize(Deserializer::new(env, term)) {
        Ok(value) => Ok(value),
        Err(error) => Err(decode_error(error, term)),
    }
}

/// serde's error as a [`DecodeError`], off the hot path.
#[cold]
#[inline(never)]
fn decode_error<'a>(error: DeError<'a>, term: Term<'a>) -> DecodeError<'a> {
    error.into_decode_error(term)
}

/// A value crossing the boundary through serde: a `#[nif]` argument (`Deserialize`) or
/// result (`Serialize`).
///
/// ```ignore
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Point { x: f64, y: f64 }
///
/// #[oxbeam::nif]
/// fn mirror(point: SerdeTerm<Point>) -> SerdeTerm<Point> {
///     let SerdeTerm(Point { x, y }) = point;
///     SerdeTerm(Point { x: y, y: x })
/// }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SerdeTerm<T>(pub T);

impl<T> SerdeTerm<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for SerdeTerm<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for SerdeTerm<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<'a, T: ::serde::Deserialize<'a>> Decode<'a> for SerdeTerm<T> {
    #[inline]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        // Built in place (no Result of T to move the value out of).
        match T::deserialize(Deserializer::new(env, term)) {
            Ok(value) => Ok(SerdeTerm(value)),
            Err(error) => Err(decode_error(error, term)),
        }
    }
}

impl<'a, T: ::serde::Serialize> Encode<'a> for SerdeTerm<T> {
    #[inline]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        match to_term(env, &self.0) {
            Ok(term) => term,
            Err(error) => crate::raise(error),
        }
    }
}
