//! `Result<T, E>` ↔ `{:ok, t}` / `{:error, e}`.

use crate::atoms;
use crate::codec::{Decode, DecodeError, Encode, PathStep};
use crate::env::Env;
use crate::term::Term;
use crate::types::tuple::tuple_elements;

impl<'a, T: Encode<'a>, E: Encode<'a>> Encode<'a> for Result<T, E> {
    #[inline]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        match self {
            Ok(value) => (atoms::ok(), value).encode(env),
            Err(error) => (atoms::error(), error).encode(env),
        }
    }
}

impl<'a, T: Decode<'a>, E: Decode<'a>> Decode<'a> for Result<T, E> {
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        if let Some([tag, value]) = tuple_elements(env, term) {
            if tag.as_raw() == atoms::ok().as_raw() {
                return T::decode(*value, env)
                    .map(Ok)
                    .map_err(|e| e.inside(PathStep::Field("the value of {:ok, _}")));
            }
            if tag.as_raw() == atoms::error().as_raw() {
                return E::decode(*value, env)
                    .map(Err)
                    .map_err(|e| e.inside(PathStep::Field("the value of {:error, _}")));
            }
        }
        Err(DecodeError::new(
            term,
            "{:ok, value} or {:error, reason} (Result)",
        ))
    }
}
