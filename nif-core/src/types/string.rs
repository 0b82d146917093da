//! `&str` (borrowed, zero-copy) and `String`, as UTF-8 binaries.

use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::sys;
use crate::term::Term;
use crate::types::binary::inspect_binary;

/// A new binary term holding a copy of `bytes`.
#[inline]
pub(crate) fn make_binary<'a>(env: Env<'a>, bytes: &[u8]) -> Term<'a> {
    let mut term = 0;
    // SAFETY: enif_make_new_binary returns a writable buffer of `len` bytes owned by
    // the new term (NULL only on allocation failure, which aborts the VM anyway).
    unsafe {
        let data = sys::enif_make_new_binary(env.as_raw(), bytes.len(), &mut term);
        if !bytes.is_empty() {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
        }
        Term::from_raw(term)
    }
}

impl<'a> Decode<'a> for &'a str {
    #[inline(always)]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        match inspect_binary(env, term) {
            Some(bytes) => match std::str::from_utf8(bytes) {
                Ok(s) => Ok(s),
                Err(_) => Err(DecodeError::new(term, "a UTF-8 string (&str)")),
            },
            None => Err(DecodeError::new(term, "a string (&str)")),
        }
    }
}

impl<'a> Decode<'a> for String {
    #[inline(always)]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        match inspect_binary(env, term) {
            Some(bytes) => match std::str::from_utf8(bytes) {
                Ok(s) => Ok(s.to_owned()),
                Err(_) => Err(DecodeError::new(term, "a UTF-8 string (String)")),
            },
            None => Err(DecodeError::new(term, "a string (String)")),
        }
    }
}

impl<'a> Encode<'a> for &str {
    #[inline(always)]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        make_binary(env, self.as_bytes())
    }
}

impl<'a> Encode<'a> for String {
    #[inline(always)]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        make_binary(env, self.as_bytes())
    }
}

impl<'a> Encode<'a> for &String {
    #[inline(always)]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        make_binary(env, self.as_bytes())
    }
}
