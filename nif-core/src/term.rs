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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
        use sys::ErlNifTermType::*;
        // SAFETY: the term belongs to `env` (same lifetime), as erl_nif requires.
        match unsafe { sys::enif_term_type(env.as_raw(), self.raw) } {
            ERL_NIF_TERM_TYPE_ATOM => TermType::Atom,
            ERL_NIF_TERM_TYPE_BITSTRING => TermType::Bitstring,
            ERL_NIF_TERM_TYPE_FLOAT => TermType::Float,
            ERL_NIF_TERM_TYPE_FUN => TermType::Fun,
            ERL_NIF_TERM_TYPE_INTEGER => TermType::Integer,
            ERL_NIF_TERM_TYPE_LIST => TermType::List,
            ERL_NIF_TERM_TYPE_MAP => TermType::Map,
            ERL_NIF_TERM_TYPE_PID => TermType::Pid,
            ERL_NIF_TERM_TYPE_PORT => TermType::Port,
            ERL_NIF_TERM_TYPE_REFERENCE => TermType::Reference,
            ERL_NIF_TERM_TYPE_TUPLE => TermType::Tuple,
            ERL_NIF_TERM_TYPE__MISSING_DEFAULT_CASE__READ_THE_MANUAL => {
                unreachable!("enif_term_type returned an unknown type")
            }
        }
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
