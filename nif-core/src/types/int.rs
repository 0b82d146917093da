//! Integers: `i8`..`i64`, `u8`..`u64`, `isize`/`usize`, `i128`/`u128` (bignums).
//!
//! A value out of the Rust type's range is an `ArgumentError`, never a wrap.

use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::sys;
use crate::term::{Term, TermType};
use std::sync::atomic::{AtomicBool, Ordering};

// Small integers (60-bit on 64-bit VMs) are immediate terms: `value << 4 | 0xF`.
// erl_nif does not promise this layout, so `check_immediate_ints` verifies it against
// `enif_make_int64`/`enif_get_int64` when the library loads, and only then are small
// integers read and made inline; otherwise every integer goes through erl_nif.
// `OXBEAM_NO_SMALL_INT_FAST_PATH` (any value but empty or "0") in the VM's environment
// at load switches the inline path off, so that the fallback can be tested
// (scripts/test runs the conformance suites once that way).
static IMMEDIATE_INTS: AtomicBool = AtomicBool::new(false);
const SMALL_TAG_MASK: u64 = 0xF;
const SMALL_TAG: u64 = 0xF;
const SMALL_MIN: i64 = -(1 << 59);
const SMALL_MAX: i64 = (1 << 59) - 1;

/// The environment variable that switches the inline path off.
pub const NO_FAST_PATH_VAR: &str = "OXBEAM_NO_SMALL_INT_FAST_PATH";

/// Whether the value of [`NO_FAST_PATH_VAR`] switches the inline path off.
fn switched_off(value: Option<&str>) -> bool {
    !matches!(value, None | Some("") | Some("0"))
}

/// Verifies the immediate-integer layout with the VM; enables the inline fast path
/// unless [`NO_FAST_PATH_VAR`] switches it off.
pub(crate) fn check_immediate_ints(env: Env<'_>) {
    if switched_off(crate::env::getenv(NO_FAST_PATH_VAR).as_deref()) {
        IMMEDIATE_INTS.store(false, Ordering::Relaxed);
        return;
    }
    let samples = [0, 1, -1, 42, -42, 1 << 40, -(1 << 40), SMALL_MAX, SMALL_MIN];
    let matches = samples.iter().all(|&v| {
        let expected = ((v as u64) << 4) | SMALL_TAG;
        let mut back = 0i64;
        // SAFETY: make/get on env with valid out-pointers; `expected` is only passed to
        // enif_get_int64 after the VM itself produced the same word for v.
        unsafe {
            sys::enif_make_int64(env.as_raw(), v) == expected
                && sys::enif_get_int64(env.as_raw(), expected, &mut back) != 0
                && back == v
        }
    });
    // Just outside the range must not be immediate (the width is what we think).
    // SAFETY: as above.
    let wider =
        unsafe { sys::enif_make_int64(env.as_raw(), SMALL_MAX + 1) } & SMALL_TAG_MASK == SMALL_TAG;
    IMMEDIATE_INTS.store(matches && !wider, Ordering::Relaxed);
}

/// Whether the inline small-integer path was verified and enabled at load.
pub fn immediate_ints_enabled() -> bool {
    IMMEDIATE_INTS.load(Ordering::Relaxed)
}

#[inline(always)]
pub(crate) fn get_i64(env: Env<'_>, term: Term<'_>) -> Option<i64> {
    let raw = term.as_raw();
    if raw & SMALL_TAG_MASK == SMALL_TAG && IMMEDIATE_INTS.load(Ordering::Relaxed) {
        return Some((raw as i64) >> 4);
    }
    let mut value = 0i64;
    // SAFETY: term belongs to env; value is a valid out-pointer.
    (unsafe { sys::enif_get_int64(env.as_raw(), raw, &mut value) } != 0).then_some(value)
}

#[inline(always)]
pub(crate) fn get_u64(env: Env<'_>, term: Term<'_>) -> Option<u64> {
    let raw = term.as_raw();
    if raw & SMALL_TAG_MASK == SMALL_TAG && IMMEDIATE_INTS.load(Ordering::Relaxed) {
        let value = (raw as i64) >> 4;
        return (value >= 0).then_some(value as u64);
    }
    let mut value = 0u64;
    // SAFETY: as above.
    (unsafe { sys::enif_get_uint64(env.as_raw(), raw, &mut value) } != 0).then_some(value)
}

#[inline(always)]
pub(crate) fn make_i64<'a>(env: Env<'a>, value: i64) -> Term<'a> {
    if (SMALL_MIN..=SMALL_MAX).contains(&value) && IMMEDIATE_INTS.load(Ordering::Relaxed) {
        // SAFETY: the VM's own encoding of this small integer (verified at load).
        return unsafe { Term::from_raw(((value as u64) << 4) | SMALL_TAG) };
    }
    // SAFETY: enif_make_int64 builds a term in env.
    unsafe { Term::from_raw(sys::enif_make_int64(env.as_raw(), value)) }
}

#[inline(always)]
fn make_u64<'a>(env: Env<'a>, value: u64) -> Term<'a> {
    if value <= SMALL_MAX as u64 {
        return make_i64(env, value as i64);
    }
    // SAFETY: enif_make_uint64 builds a term in env.
    unsafe { Term::from_raw(sys::enif_make_uint64(env.as_raw(), value)) }
}

/// The error for an integer type: says the range only when the term is an integer.
#[cold]
#[inline(never)]
fn int_error<'a>(
    env: Env<'a>,
    term: Term<'a>,
    rust: &str,
    min: &str,
    max: &str,
) -> DecodeError<'a> {
    if term.term_type(env) == TermType::Integer {
        DecodeError::new(term, format!("an integer in {min}..{max} ({rust})"))
    } else {
        DecodeError::new(term, format!("an integer ({rust})"))
    }
}

macro_rules! signed {
    ($($t:ty),*) => {$(
        impl<'a> Decode<'a> for $t {
            #[inline(always)]
            fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
                match get_i64(env, term).and_then(|v| <$t>::try_from(v).ok()) {
                    Some(v) => Ok(v),
                    None => Err(int_error(env, term, stringify!($t), &<$t>::MIN.to_string(), &<$t>::MAX.to_string())),
                }
            }
        }
        impl<'a> Encode<'a> for $t {
            #[inline(always)]
            fn encode(self, env: Env<'a>) -> Term<'a> {
                make_i64(env, self as i64)
            }
        }
    )*};
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl<'a> Decode<'a> for $t {
            #[inline(always)]
            fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
                match get_u64(env, term).and_then(|v| <$t>::try_from(v).ok()) {
                    Some(v) => Ok(v),
                    None => Err(int_error(env, term, stringify!($t), "0", &<$t>::MAX.to_string())),
                }
            }
        }
        impl<'a> Encode<'a> for $t {
            #[inline(always)]
            fn encode(self, env: Env<'a>) -> Term<'a> {
                make_u64(env, self as u64)
            }
        }
    )*};
}

signed!(i8, i16, i32, i64, isize);
unsigned!(u8, u16, u32, u64, usize);

// Bignums go through the external term format: SMALL_BIG_EXT (tag 110) is
// `131, 110, n, sign, n little-endian digit bytes`; LARGE_BIG_EXT (111) has a 4-byte n.
const VERSION_MAGIC: u8 = 131;
const SMALL_BIG_EXT: u8 = 110;
const LARGE_BIG_EXT: u8 = 111;

/// Sign and little-endian magnitude of any integer term; `None` if not an integer.
pub(crate) fn integer_parts<'a>(env: Env<'a>, term: Term<'a>) -> Option<(bool, Vec<u8>)> {
    if let Some(v) = get_i64(env, term) {
        return Some((v < 0, v.unsigned_abs().to_le_bytes().to_vec()));
    }
    if term.term_type(env) != TermType::Integer {
        return None;
    }
    let mut bin = std::mem::MaybeUninit::<sys::ErlNifBinary>::uninit();
    // SAFETY: term belongs to env; on success bin is an owned binary we release below.
    if unsafe { sys::enif_term_to_binary(env.as_raw(), term.as_raw(), bin.as_mut_ptr()) } == 0 {
        return None;
    }
    // SAFETY: enif_term_to_binary succeeded, so bin is initialized.
    let mut bin = unsafe { bin.assume_init() };
    // SAFETY: data/size describe the binary just allocated.
    let bytes = unsafe { std::slice::from_raw_parts(bin.data, bin.size) };
    let parts = match bytes {
        [VERSION_MAGIC, SMALL_BIG_EXT, n, sign, rest @ ..] if rest.len() == *n as usize => {
            Some((*sign != 0, rest.to_vec()))
        }
        [VERSION_MAGIC, LARGE_BIG_EXT, a, b, c, d, sign, rest @ ..]
            if rest.len() == u32::from_be_bytes([*a, *b, *c, *d]) as usize =>
        {
            Some((*sign != 0, rest.to_vec()))
        }
        _ => None,
    };
    // SAFETY: we own bin and release it once.
    unsafe { sys::enif_release_binary(&mut bin) };
    parts
}

/// Makes an integer term of any size from a sign and a little-endian magnitude.
pub(crate) fn make_integer<'a>(env: Env<'a>, negative: bool, magnitude_le: &[u8]) -> Term<'a> {
    let len = magnitude_le
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |i| i + 1);
    let digits = &magnitude_le[..len];
    let mut ext = Vec::with_capacity(len + 7);
    ext.push(VERSION_MAGIC);
    if len <= 255 {
        ext.extend_from_slice(&[SMALL_BIG_EXT, len as u8, negative as u8]);
    } else {
        ext.push(LARGE_BIG_EXT);
        ext.extend_from_slice(&(len as u32).to_be_bytes());
        ext.push(negative as u8);
    }
    ext.extend_from_slice(digits);
    let mut out = 0;
    // SAFETY: ext is a complete external term; binary_to_term builds a term in env and
    // returns 0 on malformed input, which cannot happen for the bytes built above.
    let read =
        unsafe { sys::enif_binary_to_term(env.as_raw(), ext.as_ptr(), ext.len(), &mut out, 0) };
    assert!(read != 0, "oxbeam: could not build a bignum term");
    // SAFETY: out was set by enif_binary_to_term in env.
    unsafe { Term::from_raw(out) }
}

impl<'a> Decode<'a> for i128 {
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        if let Some(v) = get_i64(env, term) {
            return Ok(v as i128);
        }
        let value = integer_parts(env, term).and_then(|(negative, mag)| {
            if mag.len() > 16 {
                return None;
            }
            let mut buf = [0u8; 16];
            buf[..mag.len()].copy_from_slice(&mag);
            let m = u128::from_le_bytes(buf);
            if negative {
                if m <= i128::MAX as u128 + 1 {
                    Some((m as i128).wrapping_neg())
                } else {
                    None
                }
            } else {
                i128::try_from(m).ok()
            }
        });
        value.ok_or_else(|| {
            int_error(
                env,
                term,
                "i128",
                &i128::MIN.to_string(),
                &i128::MAX.to_string(),
            )
        })
    }
}

impl<'a> Decode<'a> for u128 {
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        if let Some(v) = get_u64(env, term) {
            return Ok(v as u128);
        }
        let value = integer_parts(env, term).and_then(|(negative, mag)| {
            if negative || mag.len() > 16 {
                return None;
            }
            let mut buf = [0u8; 16];
            buf[..mag.len()].copy_from_slice(&mag);
            Some(u128::from_le_bytes(buf))
        });
        value.ok_or_else(|| int_error(env, term, "u128", "0", &u128::MAX.to_string()))
    }
}

impl<'a> Encode<'a> for i128 {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        match i64::try_from(self) {
            Ok(v) => v.encode(env),
            Err(_) => make_integer(env, self < 0, &self.unsigned_abs().to_le_bytes()),
        }
    }
}

impl<'a> Encode<'a> for u128 {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        match u64::try_from(self) {
            Ok(v) => v.encode(env),
            Err(_) => make_integer(env, false, &self.to_le_bytes()),
        }
    }
}

/// An integer of any size, as a sign and a little-endian magnitude: for values that
/// do not fit `i128`/`u128` (e.g. to hand them to another runtime).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BigInteger {
    pub negative: bool,
    /// Little-endian bytes of the absolute value; no trailing zero bytes.
    pub magnitude: Vec<u8>,
}

impl BigInteger {
    pub fn from_i64(value: i64) -> BigInteger {
        let mut magnitude = value.unsigned_abs().to_le_bytes().to_vec();
        while magnitude.last() == Some(&0) {
            magnitude.pop();
        }
        BigInteger {
            negative: value < 0,
            magnitude,
        }
    }
}

impl<'a> Decode<'a> for BigInteger {
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        match integer_parts(env, term) {
            Some((negative, mut magnitude)) => {
                while magnitude.last() == Some(&0) {
                    magnitude.pop();
                }
                Ok(BigInteger {
                    negative: negative && !magnitude.is_empty(),
                    magnitude,
                })
            }
            None => Err(DecodeError::new(term, "an integer (BigInteger)")),
        }
    }
}

impl<'a> Encode<'a> for BigInteger {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        if self.magnitude.len() <= 8 {
            let mut bytes = [0u8; 8];
            bytes[..self.magnitude.len()].copy_from_slice(&self.magnitude);
            let abs = u64::from_le_bytes(bytes);
            if abs <= i64::MAX as u64 {
                let value = abs as i64;
                return make_i64(env, if self.negative { -value } else { value });
            }
        }
        make_integer(env, self.negative, &self.magnitude)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_is_off_only_when_unset_empty_or_zero() {
        assert!(!switched_off(None));
        assert!(!switched_off(Some("")));
        assert!(!switched_off(Some("0")));
        assert!(switched_off(Some("1")));
        assert!(switched_off(Some("true")));
    }
}

/// `num_bigint::BigInt` and `BigUint` ↔ integers of any size (feature `num-bigint`).
#[cfg(feature = "num-bigint")]
mod bigint {
    use super::{integer_parts, make_integer};
    use crate::codec::{Decode, DecodeError, Encode};
    use crate::env::Env;
    use crate::term::Term;
    use num_bigint::{BigInt, BigUint, Sign};

    impl<'a> Decode<'a> for BigInt {
        fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
            let (negative, magnitude) = integer_parts(env, term)
                .ok_or_else(|| DecodeError::new(term, "an integer (BigInt)"))?;
            let sign = if negative { Sign::Minus } else { Sign::Plus };
            Ok(BigInt::from_bytes_le(sign, &magnitude))
        }
    }

    impl<'a> Encode<'a> for BigInt {
        fn encode(self, env: Env<'a>) -> Term<'a> {
            let (sign, magnitude) = self.to_bytes_le();
            make_integer(env, sign == Sign::Minus, &magnitude)
        }
    }

    impl<'a> Encode<'a> for &BigInt {
        fn encode(self, env: Env<'a>) -> Term<'a> {
            let (sign, magnitude) = self.to_bytes_le();
            make_integer(env, sign == Sign::Minus, &magnitude)
        }
    }

    impl<'a> Decode<'a> for BigUint {
        fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
            match integer_parts(env, term) {
                Some((false, magnitude)) => Ok(BigUint::from_bytes_le(&magnitude)),
                Some((true, _)) => Err(DecodeError::new(term, "a non-negative integer (BigUint)")),
                None => Err(DecodeError::new(term, "an integer (BigUint)")),
            }
        }
    }

    impl<'a> Encode<'a> for BigUint {
        fn encode(self, env: Env<'a>) -> Term<'a> {
            make_integer(env, false, &self.to_bytes_le())
        }
    }

    impl<'a> Encode<'a> for &BigUint {
        fn encode(self, env: Env<'a>) -> Term<'a> {
            make_integer(env, false, &self.to_bytes_le())
        }
    }
}
