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

/// The bytes as UTF-8. ASCII (the common case) is checked word by word first: for short
/// strings that is several times cheaper than `std::str::from_utf8`.
#[inline(always)]
pub(crate) fn utf8(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: ASCII is valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes).ok()
    }
}

impl<'a> Decode<'a> for &'a str {
    #[inline(always)]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        match inspect_binary(env, term) {
            Some(bytes) => match utf8(bytes) {
                Some(s) => Ok(s),
                None => Err(DecodeError::new(term, "a UTF-8 string (&str)")),
            },
            None => Err(DecodeError::new(term, "a string (&str)")),
        }
    }
}

impl<'a> Decode<'a> for String {
    #[inline(always)]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        match inspect_binary(env, term) {
            Some(bytes) => match utf8(bytes) {
                Some(s) => Ok(s.to_owned()),
                None => Err(DecodeError::new(term, "a UTF-8 string (String)")),
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
