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

    /// Renders the term in the syntax of the NIF module's language (cut when huge), for
    /// messages: as Elixir's `inspect/1` ([`Term::inspect_elixir`]), or, when the
    /// library's module is an Erlang module, as `io_lib:format("~0p", [T])`
    /// ([`Term::inspect_erlang`]).
    pub fn inspect(self, env: Env<'a>) -> String {
        crate::inspect::inspect(env, self)
    }

    /// Renders the term as Elixir's `inspect/1` does (cut when huge; see
    /// docs/nifs.md for the few terms a NIF cannot render exactly, and
    /// [`crate::inspect::set_elixir_version`]).
    pub fn inspect_elixir(self, env: Env<'a>) -> String {
        crate::inspect::inspect_elixir(env, self)
    }

    /// Renders the term as Erlang's `io_lib:format("~0p", [T])` does (`~p` on one
    /// line; cut when huge).
    pub fn inspect_erlang(self, env: Env<'a>) -> String {
        crate::inspect::inspect_erlang(env, self)
    }
}

/// The options of [`Term::from_binary`]: `ERL_NIF_BIN2TERM_SAFE`, as
/// `:erlang.binary_to_term(bin, [:safe])` (no new atoms, no external funs).
const BIN2TERM_SAFE: std::ffi::c_uint = 0x2000_0000;

impl<'a> Term<'a> {
    /// Compares as the VM's `<`, `==`, `>` do (`1 == 1.0`; numbers < atoms < refs <
    /// funs < ports < pids < tuples < maps < lists < bitstrings), with `enif_compare`.
    ///
    /// [`Ord`] is this order with a tie-break between terms equal but not identical
    /// (`1` and `1.0`), so that it agrees with `==` on [`Term`] (`===`).
    pub fn compare(self, other: Term<'_>) -> std::cmp::Ordering {
        // SAFETY: enif_compare only reads the two terms, each alive for its lifetime.
        unsafe { sys::enif_compare(self.raw, other.raw) }.cmp(&0)
    }

    /// `==` as the VM compares (`1 == 1.0` is true); `self == other` is `===`.
    pub fn equals(self, other: Term<'_>) -> bool {
        self.compare(other).is_eq()
    }

    /// `:erlang.phash2(term)`: the portable hash, the same on every node and release
    /// (0..2^27).
    pub fn hash_phash2(self) -> u32 {
        // SAFETY: enif_hash only reads the term; ERL_NIF_PHASH2 is a listed value.
        unsafe { sys::enif_hash(sys::ErlNifHash::ERL_NIF_PHASH2, self.raw, 0) as u32 }
    }

    /// The VM's internal hash with `salt`: fast, but it may change between VM
    /// instances and releases (never store it).
    pub fn hash_internal(self, salt: u64) -> u64 {
        // SAFETY: as above, ERL_NIF_INTERNAL_HASH is a listed value.
        unsafe { sys::enif_hash(sys::ErlNifHash::ERL_NIF_INTERNAL_HASH, self.raw, salt) }
    }

    /// `:erlang.term_to_binary(term)`: the external term format, in a new binary.
    /// Raises `SystemLimitError` if the VM cannot allocate it.
    pub fn to_binary(self, env: Env<'a>) -> crate::OwnedBinary {
        let mut bin = std::mem::MaybeUninit::<sys::ErlNifBinary>::uninit();
        // SAFETY: the term belongs to env; on success bin is initialized and owned by
        // us (handed to OwnedBinary, which releases it).
        unsafe {
            if sys::enif_term_to_binary(env.as_raw(), self.raw, bin.as_mut_ptr()) == 0 {
                crate::raise(crate::Error::exception(
                    "Elixir.SystemLimitError",
                    "term_to_binary: the VM could not encode or allocate the term",
                ));
            }
            crate::types::binary::owned_from_raw(bin.assume_init())
        }
    }

    /// `:erlang.binary_to_term(bytes, [:safe])`: for bytes from anyone. Refuses what
    /// would create atoms or external funs, and anything malformed: `None`. On success,
    /// the term and how many bytes it took (trailing bytes are left alone).
    pub fn from_binary(env: Env<'a>, bytes: &[u8]) -> Option<(Term<'a>, usize)> {
        binary_to_term(env, bytes, BIN2TERM_SAFE)
    }

    /// `:erlang.binary_to_term(bytes)`: like [`Term::from_binary`], but new atoms are
    /// created (the atom table is never collected: only for bytes you trust).
    pub fn from_binary_trusted(env: Env<'a>, bytes: &[u8]) -> Option<(Term<'a>, usize)> {
        binary_to_term(env, bytes, 0)
    }

    /// `[head | self]`: a new list cell (an improper list when `self` is not a list, as
    /// in Erlang).
    pub fn list_prepend(self, env: Env<'a>, head: impl Encode<'a>) -> Term<'a> {
        let head = head.encode(env);
        // SAFETY: both terms belong to env.
        unsafe { Term::from_raw(sys::enif_make_list_cell(env.as_raw(), head.raw, self.raw)) }
    }

    /// The list reversed (`:lists.reverse/1`); `None` if `self` is not a proper list.
    pub fn list_reverse(self, env: Env<'a>) -> Option<Term<'a>> {
        let mut out = 0;
        // SAFETY: the term belongs to env; out is a valid out-pointer, read on success.
        (unsafe { sys::enif_make_reverse_list(env.as_raw(), self.raw, &mut out) } != 0)
            // SAFETY (the closure): the VM set `out` to a term of env: the call reported success.
            .then(|| unsafe { Term::from_raw(out) })
    }

    /// The length of a proper list; `None` for anything else.
    pub fn list_length(self, env: Env<'a>) -> Option<usize> {
        let mut len = 0;
        // SAFETY: the term belongs to env; len is a valid out-pointer.
        (unsafe { sys::enif_get_list_length(env.as_raw(), self.raw, &mut len) } != 0)
            .then_some(len as usize)
    }

    /// `%{}`.
    pub fn map_new(env: Env<'a>) -> Term<'a> {
        // SAFETY: makes a term in env.
        unsafe { Term::from_raw(sys::enif_make_new_map(env.as_raw())) }
    }

    /// `Map.put(self, key, value)`; `None` if `self` is not a map.
    pub fn map_put(
        self,
        env: Env<'a>,
        key: impl Encode<'a>,
        value: impl Encode<'a>,
    ) -> Option<Term<'a>> {
        let (key, value) = (key.encode(env), value.encode(env));
        let mut out = 0;
        // SAFETY: all terms belong to env; out is a valid out-pointer, read on success.
        (unsafe { sys::enif_make_map_put(env.as_raw(), self.raw, key.raw, value.raw, &mut out) }
            != 0)
            // SAFETY (the closure): the VM set `out` to a term of env: the call reported success.
            .then(|| unsafe { Term::from_raw(out) })
    }

    /// `%{self | key => value}`: `None` if `self` is not a map or has no `key`.
    pub fn map_update(
        self,
        env: Env<'a>,
        key: impl Encode<'a>,
        value: impl Encode<'a>,
    ) -> Option<Term<'a>> {
        let (key, value) = (key.encode(env), value.encode(env));
        let mut out = 0;
        // SAFETY: as in map_put.
        (unsafe { sys::enif_make_map_update(env.as_raw(), self.raw, key.raw, value.raw, &mut out) }
            != 0)
            // SAFETY (the closure): the VM set `out` to a term of env: the call reported success.
            .then(|| unsafe { Term::from_raw(out) })
    }

    /// `Map.delete(self, key)` (the same map when `key` is absent); `None` if `self` is
    /// not a map.
    pub fn map_remove(self, env: Env<'a>, key: impl Encode<'a>) -> Option<Term<'a>> {
        let key = key.encode(env);
        let mut out = 0;
        // SAFETY: as in map_put.
        (unsafe { sys::enif_make_map_remove(env.as_raw(), self.raw, key.raw, &mut out) } != 0)
            // SAFETY (the closure): the VM set `out` to a term of env: the call reported success.
            .then(|| unsafe { Term::from_raw(out) })
    }

    /// The value at `key`; `None` if `self` is not a map or has no `key`.
    pub fn map_get(self, env: Env<'a>, key: impl Encode<'a>) -> Option<Term<'a>> {
        let key = key.encode(env);
        let mut out = 0;
        // SAFETY: as in map_put.
        (unsafe { sys::enif_get_map_value(env.as_raw(), self.raw, key.raw, &mut out) } != 0)
            // SAFETY (the closure): the VM set `out` to a term of env: the call reported success.
            .then(|| unsafe { Term::from_raw(out) })
    }

    /// Elixir's truthiness: everything but `false` and `nil` is true (as `if` and
    /// `&&` see it; a `bool` argument accepts only `true`/`false`).
    pub fn is_truthy(self) -> bool {
        let raw = self.raw;
        raw != crate::atoms::false_().as_raw() && raw != crate::atoms::nil().as_raw()
    }

    /// A tuple of any arity with these elements.
    pub fn tuple_from_slice(env: Env<'a>, elements: &[Term<'a>]) -> Term<'a> {
        crate::types::tuple::make_tuple(env, elements)
    }
}

fn binary_to_term<'a>(
    env: Env<'a>,
    bytes: &[u8],
    options: std::ffi::c_uint,
) -> Option<(Term<'a>, usize)> {
    let mut out = 0;
    // SAFETY: bytes is readable for its length, which we pass; the VM validates the
    // external format (returning 0 on anything malformed) and builds the term in env;
    // out is a valid out-pointer, read only on success.
    let read = unsafe {
        sys::enif_binary_to_term(env.as_raw(), bytes.as_ptr(), bytes.len(), &mut out, options)
    };
    // SAFETY (the closure): the VM set `out` to a term of env: the call reported success.
    (read != 0).then(|| (unsafe { Term::from_raw(out) }, read))
}

impl PartialOrd for Term<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Term<'_> {
    /// The VM's term order ([`Term::compare`]); terms that are `==` but not `===`
    /// (`1` and `1.0`, `{1}` and `{1.0}`) are ordered by their external term format,
    /// so that `Equal` means identical, as [`PartialEq`] does.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match self.compare(*other) {
            std::cmp::Ordering::Equal if self != other => external_order(*self, *other),
            order => order,
        }
    }
}

/// Orders two `==` but not identical terms by their external term format, in a
/// scratch environment (`Ord::cmp` has no environment to hand).
#[cold]
fn external_order(a: Term<'_>, b: Term<'_>) -> std::cmp::Ordering {
    let mut scratch = crate::owned_env::OwnedEnv::new();
    scratch.run(|env| {
        // SAFETY: the terms are only read by enif_term_to_binary (which writes to a
        // new owned binary, not to the environment) while they are alive in the
        // caller's environment, for the whole of this call; nothing keeps them.
        let a = unsafe { Term::from_raw(a.raw) }.to_binary(env);
        let b = unsafe { Term::from_raw(b.raw) }.to_binary(env);
        a[..].cmp(&b[..])
    })
}

impl std::hash::Hash for Term<'_> {
    /// The VM's internal hash (salt 0): identical terms hash alike.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash_internal(0));
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
