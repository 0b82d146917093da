//! [`Term`]: one Erlang term, valid for the lifetime of its environment.

use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::sys;
use std::marker::PhantomData;

/// An Erlang term that lives as long as the environment `'a`.
///
/// One machine word (`ERL_NIF_TERM`): terms are passed and returned by value at no
/// cost. The lifetime ties it to its [`Env`], so it cannot be kept past the NIF call
/// that received or built it (use an owned environment to keep terms).
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct Term<'a> {
    raw: sys::ERL_NIF_TERM,
    _env: PhantomData<Env<'a>>,
}

const _: () = assert!(std::mem::size_of::<Term<'static>>() == 8);

/// The type of a term, as `enif_term_type` reports it.
///
/// erl_nif may add term types in later versions: a value this version of oxbeam does not
/// know is [`TermType::Unknown`] (with the VM's raw value), never undefined behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TermType {
    Atom,
    Bitstring,
    Float,
    Fun,
    Integer,
    List,
    Map,
    Pid,
    Port,
    Reference,
    Tuple,
    /// A type this version of oxbeam does not know (a newer VM): the raw value.
    Unknown(i32),
}

impl TermType {
    /// Maps `enif_term_type`'s return value (erl_nif.h's `ErlNifTermType`).
    pub(crate) fn from_raw(raw: std::ffi::c_int) -> TermType {
        match raw {
            1 => TermType::Atom,
            2 => TermType::Bitstring,
            3 => TermType::Float,
            4 => TermType::Fun,
            5 => TermType::Integer,
            6 => TermType::List,
            7 => TermType::Map,
            8 => TermType::Pid,
            9 => TermType::Port,
            10 => TermType::Reference,
            11 => TermType::Tuple,
            other => TermType::Unknown(other),
        }
    }
}

impl<'a> Term<'a> {
    /// Wraps a raw term.
    ///
    /// # Safety
    /// `raw` must be a term valid in an environment that lives for `'a`.
    #[inline(always)]
    pub unsafe fn from_raw(raw: sys::ERL_NIF_TERM) -> Term<'a> {
        Term {
            raw,
            _env: PhantomData,
        }
    }

    /// The raw `ERL_NIF_TERM`.
    #[inline(always)]
    pub fn as_raw(self) -> sys::ERL_NIF_TERM {
        self.raw
    }

    /// Decodes this term as `T` (see [`Decode`]).
    #[inline(always)]
    pub fn decode<T: Decode<'a>>(self, env: Env<'a>) -> Result<T, DecodeError<'a>> {
        T::decode(self, env)
    }

    /// What kind of term this is.
    pub fn term_type(self, env: Env<'a>) -> TermType {
        // SAFETY: the term belongs to `env` (same lifetime), as erl_nif requires; the
        // declaration in `sys` returns a plain int, so any value is defined.
        TermType::from_raw(unsafe { sys::enif_term_type(env.as_raw(), self.raw) })
    }

    /// Renders the term the way Elixir's `inspect` would (cut when huge), for messages.
    pub fn inspect(self, env: Env<'a>) -> String {
        crate::inspect::inspect(env, self)
    }
}

impl PartialEq for Term<'_> {
    /// Exact equality (`===`), as `enif_is_identical`.
    fn eq(&self, other: &Self) -> bool {
        // SAFETY: enif_is_identical only reads the two terms, both alive for their 'a.
        unsafe { sys::enif_is_identical(self.raw, other.raw) != 0 }
    }
}
impl Eq for Term<'_> {}

impl std::fmt::Debug for Term<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Term({:#x})", self.raw)
    }
}

impl<'a> Decode<'a> for Term<'a> {
    #[inline(always)]
    fn decode(term: Term<'a>, _env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        Ok(term)
    }
}

impl<'a> Encode<'a> for Term<'a> {
    #[inline(always)]
    fn encode(self, _env: Env<'a>) -> Term<'a> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_term_type_maps_to_its_variant() {
        let known = [
            (1, TermType::Atom),
            (2, TermType::Bitstring),
            (3, TermType::Float),
            (4, TermType::Fun),
            (5, TermType::Integer),
            (6, TermType::List),
            (7, TermType::Map),
            (8, TermType::Pid),
            (9, TermType::Port),
            (10, TermType::Reference),
            (11, TermType::Tuple),
        ];
        for (raw, expected) in known {
            assert_eq!(TermType::from_raw(raw), expected, "value {raw}");
        }
    }

    #[test]
    fn a_value_from_a_newer_vm_maps_to_unknown() {
        // erl_nif.h reserves -1 (`ERL_NIF_TERM_TYPE__MISSING_DEFAULT_CASE__READ_THE_MANUAL`)
        // to remind that new types may be added; any value we do not know is Unknown.
        for raw in [-1, 0, 12, 13, 255, i32::MAX, i32::MIN] {
            assert_eq!(
                TermType::from_raw(raw),
                TermType::Unknown(raw),
                "value {raw}"
            );
        }
    }
}
