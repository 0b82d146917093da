//! `f64` and `f32`. An integer argument is accepted where a float is expected.
//! NaN and infinities are not Erlang floats: encoding one raises `ArgumentError`.

use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::sys;
use crate::term::Term;

#[inline(always)]
fn get_f64(env: Env<'_>, term: Term<'_>) -> Option<f64> {
    let mut value = 0f64;
    // SAFETY: term belongs to env; value is a valid out-pointer.
    if unsafe { sys::enif_get_double(env.as_raw(), term.as_raw(), &mut value) } != 0 {
        return Some(value);
    }
    crate::types::int::get_i64(env, term).map(|int| int as f64)
}

impl<'a> Decode<'a> for f64 {
    #[inline(always)]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        get_f64(env, term).ok_or_else(|| DecodeError::new(term, "a float (f64)"))
    }
}

impl<'a> Decode<'a> for f32 {
    #[inline(always)]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        match get_f64(env, term) {
            Some(v) if v.abs() <= f32::MAX as f64 => Ok(v as f32),
            Some(_) => Err(DecodeError::new(term, "a float in the range of f32 (f32)")),
            None => Err(DecodeError::new(term, "a float (f32)")),
        }
    }
}

impl<'a> Encode<'a> for f64 {
    #[inline(always)]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        if !self.is_finite() {
            non_finite(self)
        }
        // SAFETY: a finite double always makes a float term in env.
        unsafe { Term::from_raw(sys::enif_make_double(env.as_raw(), self)) }
    }
}

impl<'a> Encode<'a> for f32 {
    #[inline(always)]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        (self as f64).encode(env)
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn non_finite(value: f64) -> ! {
    crate::raise(non_finite_error(value))
}

#[cold]
fn non_finite_error(value: f64) -> crate::Error {
    crate::Error::argument_error(format!(
        "cannot encode {value} as an Erlang float: the BEAM has no NaN or infinity"
    ))
}

/// `value` as a float term, or `ArgumentError` for NaN and infinities (where
/// [`Encode`] raises): for code that must not raise, such as a `Drop` or a callback.
#[inline]
pub fn try_make_float<'a>(env: Env<'a>, value: f64) -> Result<Term<'a>, crate::Error> {
    if !value.is_finite() {
        return Err(non_finite_error(value));
    }
    // SAFETY: a finite double always makes a float term in env.
    Ok(unsafe { Term::from_raw(sys::enif_make_double(env.as_raw(), value)) })
}
