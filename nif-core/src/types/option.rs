//! `Option<T>` ↔ `nil` or the value.

use crate::atoms;
use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::term::Term;

impl<'a, T: Decode<'a>> Decode<'a> for Option<T> {
    #[inline]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        if term.as_raw() == atoms::nil().as_raw() {
            Ok(None)
        } else {
            T::decode(term, env).map(Some)
        }
    }
}

impl<'a, T: Encode<'a>> Encode<'a> for Option<T> {
    #[inline]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        match self {
            Some(value) => value.encode(env),
            None => atoms::nil().to_term(env),
        }
    }
}
