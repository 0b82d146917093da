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

/// The bytes as UTF-8, with exactly the rules of `std::str::from_utf8` (no overlong
/// forms, no surrogates, nothing above U+10FFFF). Short ASCII strings (the common case)
/// are checked word by word; everything else goes to `simdutf8`, a vetted SIMD
/// validator (AVX2/SSE4.2 chosen at run time, std's validator on other CPUs), which is
/// several times faster than std's on long or non-ASCII text.
#[inline(always)]
pub(crate) fn utf8(bytes: &[u8]) -> Option<&str> {
    if bytes.len() < SHORT && bytes.is_ascii() {
        // SAFETY: ASCII is valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        simdutf8::basic::from_utf8(bytes).ok()
    }
}

/// Below this many bytes, an ASCII check before the SIMD validator pays off.
const SHORT: usize = 64;

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

#[cfg(test)]
mod tests {
    use super::utf8;

    /// `seq` alone, and inside long ASCII text across a 64-byte SIMD block boundary,
    /// must be accepted exactly when std accepts it.
    fn agrees(seq: &[u8], padded: &mut Vec<u8>) {
        assert_eq!(
            utf8(seq).is_some(),
            std::str::from_utf8(seq).is_ok(),
            "{seq:x?}"
        );
        padded.clear();
        padded.extend_from_slice(&[b'a'; 62]);
        padded.extend_from_slice(seq);
        padded.extend_from_slice(&[b'a'; 70]);
        assert_eq!(
            utf8(padded).is_some(),
            std::str::from_utf8(padded).is_ok(),
            "{seq:x?} at offset 62"
        );
    }

    #[test]
    fn every_one_and_two_byte_sequence_agrees_with_std() {
        let mut padded = Vec::new();
        for a in 0..=255u8 {
            agrees(&[a], &mut padded);
            for b in 0..=255u8 {
                agrees(&[a, b], &mut padded);
            }
        }
    }

    #[test]
    fn every_three_byte_sequence_with_a_three_or_four_byte_lead_agrees_with_std() {
        let mut padded = Vec::new();
        for a in 0xE0..=0xF4u8 {
            for b in 0..=255u8 {
                for c in 0..=255u8 {
                    agrees(&[a, b, c], &mut padded);
                }
            }
        }
    }

    #[test]
    fn four_byte_sequences_around_every_boundary_agree_with_std() {
        // Every lead byte from 0xF0 (and the invalid ones above 0xF4), with the
        // continuation bytes at and around each edge of the valid ranges.
        let edges = [
            0x00, 0x7F, 0x80, 0x81, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF,
        ];
        let mut padded = Vec::new();
        for a in 0xF0..=0xFFu8 {
            for b in 0..=255u8 {
                for &c in &edges {
                    for &d in &edges {
                        agrees(&[a, b, c, d], &mut padded);
                    }
                }
            }
        }
    }

    #[test]
    fn long_mixed_text_and_its_corruptions_agree_with_std() {
        let text = "aé€😀".repeat(50);
        let mut padded = Vec::new();
        assert!(utf8(text.as_bytes()).is_some());
        for i in 0..text.len() {
            for bad in [0x80u8, 0xC0, 0xED, 0xF5, 0xFF, b'a'] {
                let mut bytes = text.as_bytes().to_vec();
                bytes[i] = bad;
                agrees(&bytes, &mut padded);
                agrees(&bytes[..i], &mut padded);
            }
        }
    }
}
