//! `bool` ↔ `true`/`false`, and `()` → `:ok`.

use crate::atoms;
use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::term::Term;

impl<'a> Decode<'a> for bool {
    #[inline]
    fn decode(term: Term<'a>, _env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        let raw = term.as_raw();
        if raw == atoms::true_().as_raw() {
            Ok(true)
        } else if raw == atoms::false_().as_raw() {
            Ok(false)
        } else {
            Err(DecodeError::new(term, "a boolean (bool)"))
        }
    }
}

impl<'a> Encode<'a> for bool {
    #[inline(always)]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        if self {
            atoms::true_()
        } else {
            atoms::false_()
        }
        .to_term(env)
    }
}

impl<'a> Encode<'a> for () {
    #[inline(always)]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        atoms::ok().to_term(env)
    }
}
