//! Fine's result shapes: flat tagged tuples and bare tags.
//!
//! | Rust | Elixir |
//! |---|---|
//! | `Ok(())` | `:ok` |
//! | `Ok((a,))` | `{:ok, a}` |
//! | `Ok((a, b))` | `{:ok, a, b}` (flat, up to 8 values) |
//! | `Error(())` | `:error` |
//! | `Error((reason,))` | `{:error, reason}` |
//! | `Error((r1, r2))` | `{:error, r1, r2}` |
//! | `Tagged::Ok(..)` / `Tagged::Error(..)` | either, from one return type |
//!
//! `std::result::Result<T, E>` stays `{:ok, t}` / `{:error, e}` with exactly one
//! value; these types are for the other arities. Every one decodes the same shape back
//! (a bare `:ok` only as `Ok(())`, a 3-tuple only as `Ok((a, b))`).
//!
//! Use them qualified (`tagged::Ok`, `tagged::Error`): unqualified they would shadow
//! `Result`'s `Ok` and `oxbeam::Error`.

use crate::atom::Atom;
use crate::atoms;
use crate::codec::{Decode, DecodeError, Encode, PathStep};
use crate::env::Env;
use crate::term::Term;
use crate::types::tuple::{make_tuple, tuple_elements};

/// `:ok` or `{:ok, v1, ...}`: the values are a tuple `()`, `(a,)`, `(a, b)`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ok<V = ()>(pub V);

/// `:error` or `{:error, r1, ...}`: the values are a tuple `()`, `(r,)`, `(r1, r2)`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Error<V = ()>(pub V);

/// One of the two, from one return type: Fine's `std::variant<Ok<...>, Error<...>>`.
///
/// ```ignore
/// #[nif]
/// fn divmod(a: i64, b: i64) -> Tagged<(i64, i64), (String,)> {
///     if b == 0 {
///         return Tagged::Error(("division by zero".into(),));
///     }
///     Tagged::Ok((a / b, a % b)) // {:ok, 2, 1}
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tagged<V = (), R = ()> {
    Ok(V),
    Error(R),
}

/// The values after a tag: tuples of 0 to 8 elements. Implemented for those only.
pub trait TaggedValues<'a>: Sized {
    /// How many values (the tuple's arity without the tag).
    const LEN: usize;
    #[doc(hidden)]
    fn push_terms(self, env: Env<'a>, out: &mut Vec<Term<'a>>);
}

/// The values after a tag, decoded: tuples of 0 to 8 decodable elements.
pub trait DecodeTaggedValues<'a>: Sized {
    /// How many values (the tuple's arity without the tag).
    const LEN: usize;
    #[doc(hidden)]
    fn from_terms(terms: &[Term<'a>], env: Env<'a>) -> Result<Self, DecodeError<'a>>;
}

#[inline]
fn encode_tagged<'a, V: TaggedValues<'a>>(tag: Atom, values: V, env: Env<'a>) -> Term<'a> {
    if V::LEN == 0 {
        return tag.to_term(env);
    }
    let mut terms = Vec::with_capacity(V::LEN + 1);
    terms.push(tag.to_term(env));
    values.push_terms(env, &mut terms);
    make_tuple(env, &terms)
}

/// Whether `term` has the shape `tag` with `len` values; the values if so.
#[inline]
fn tagged_parts<'a>(env: Env<'a>, term: Term<'a>, tag: Atom, len: usize) -> Option<&'a [Term<'a>]> {
    if len == 0 {
        return (term.as_raw() == tag.as_raw()).then_some(&[]);
    }
    match tuple_elements(env, term) {
        Some([first, rest @ ..]) if first.as_raw() == tag.as_raw() && rest.len() == len => {
            Some(rest)
        }
        _ => None,
    }
}

/// `:ok`, `{:ok, _}`, `{:ok, _, _}`, ... for messages.
fn shape(tag: &str, len: usize) -> String {
    if len == 0 {
        format!(":{tag}")
    } else {
        format!("{{:{tag}{}}}", ", _".repeat(len))
    }
}

#[inline]
fn decode_tagged<'a, V: DecodeTaggedValues<'a>>(
    env: Env<'a>,
    term: Term<'a>,
    tag: Atom,
    name: &'static str,
    rust: &'static str,
) -> Result<V, DecodeError<'a>> {
    match tagged_parts(env, term, tag, V::LEN) {
        Some(values) => V::from_terms(values, env),
        None => Err(DecodeError::new(
            term,
            format!(
                "{} ({rust}<{}>)",
                shape(name, V::LEN),
                crate::types::short_type_name(std::any::type_name::<V>())
            ),
        )),
    }
}

impl<'a, V: TaggedValues<'a>> Encode<'a> for Ok<V> {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        encode_tagged(atoms::ok(), self.0, env)
    }
}

impl<'a, V: TaggedValues<'a>> Encode<'a> for Error<V> {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        encode_tagged(atoms::error(), self.0, env)
    }
}

impl<'a, V: TaggedValues<'a>, R: TaggedValues<'a>> Encode<'a> for Tagged<V, R> {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        match self {
            Tagged::Ok(values) => encode_tagged(atoms::ok(), values, env),
            Tagged::Error(reasons) => encode_tagged(atoms::error(), reasons, env),
        }
    }
}

impl<'a, V: DecodeTaggedValues<'a>> Decode<'a> for Ok<V> {
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        decode_tagged(env, term, atoms::ok(), "ok", "Ok").map(Ok)
    }
}

impl<'a, V: DecodeTaggedValues<'a>> Decode<'a> for Error<V> {
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        decode_tagged(env, term, atoms::error(), "error", "Error").map(Error)
    }
}

impl<'a, V, R> Decode<'a> for Tagged<V, R>
where
    V: DecodeTaggedValues<'a>,
    R: DecodeTaggedValues<'a>,
{
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        if let Some(values) = tagged_parts(env, term, atoms::ok(), V::LEN) {
            return V::from_terms(values, env).map(Tagged::Ok);
        }
        if let Some(reasons) = tagged_parts(env, term, atoms::error(), R::LEN) {
            return R::from_terms(reasons, env).map(Tagged::Error);
        }
        Err(DecodeError::new(
            term,
            format!(
                "{} or {} (Tagged<{}, {}>)",
                shape("ok", V::LEN),
                shape("error", R::LEN),
                crate::types::short_type_name(std::any::type_name::<V>()),
                crate::types::short_type_name(std::any::type_name::<R>()),
            ),
        ))
    }
}

macro_rules! values {
    ($n:expr; $($t:ident $i:tt),*) => {
        impl<'a, $($t: Encode<'a>),*> TaggedValues<'a> for ($($t,)*) {
            const LEN: usize = $n;
            #[allow(unused_variables)]
            fn push_terms(self, env: Env<'a>, out: &mut Vec<Term<'a>>) {
                $(out.push(self.$i.encode(env));)*
            }
        }

        impl<'a, $($t: Decode<'a>),*> DecodeTaggedValues<'a> for ($($t,)*) {
            const LEN: usize = $n;
            #[allow(unused_variables)]
            fn from_terms(terms: &[Term<'a>], env: Env<'a>) -> Result<Self, DecodeError<'a>> {
                // The tag is element 0 of the tuple: value i is element i + 1.
                Result::Ok(($(
                    match <$t as Decode<'a>>::decode(terms[$i], env) {
                        Result::Ok(value) => value,
                        Err(error) => return Err(error.inside(PathStep::TupleElement($i + 1))),
                    },
                )*))
            }
        }
    };
}

values!(0;);
values!(1; A 0);
values!(2; A 0, B 1);
values!(3; A 0, B 1, C 2);
values!(4; A 0, B 1, C 2, D 3);
values!(5; A 0, B 1, C 2, D 3, E 4);
values!(6; A 0, B 1, C 2, D 3, E 4, F 5);
values!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
values!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

#[cfg(test)]
mod tests {
    use super::shape;

    #[test]
    fn shapes_name_the_arity() {
        assert_eq!(shape("ok", 0), ":ok");
        assert_eq!(shape("ok", 1), "{:ok, _}");
        assert_eq!(shape("error", 2), "{:error, _, _}");
    }
}
