//! [`Env`]: the environment a NIF call (or an owned environment) builds terms in.

use crate::sys;
use std::marker::PhantomData;

/// A NIF environment.
///
/// `Env<'a>` is a copyable handle valid for `'a`: the duration of one NIF call for the
/// environment the VM passes in. Every [`Term<'a>`](crate::Term) carries the same
/// lifetime, so a term cannot outlive its environment or be mixed with the terms of
/// another one; both mistakes are compile errors.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    raw: *mut sys::ErlNifEnv,
    // Invariant in 'a: terms of two different environments never unify.
    _lifetime: PhantomData<fn(&'a ()) -> &'a ()>,
}

impl<'a> Env<'a> {
    /// Wraps a raw environment pointer.
    ///
    /// # Safety
    /// `raw` must be a valid environment for all of `'a` (e.g. the `env` argument of a
    /// NIF call, used only during that call).
    #[inline(always)]
    pub unsafe fn from_raw(raw: *mut sys::ErlNifEnv) -> Env<'a> {
        Env {
            raw,
            _lifetime: PhantomData,
        }
    }

    /// The raw `ErlNifEnv*`, for calling erl_nif functions oxbeam does not wrap.
    #[inline(always)]
    pub fn as_raw(self) -> *mut sys::ErlNifEnv {
        self.raw
    }
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Env({:p})", self.raw)
    }
}
