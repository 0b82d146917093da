//! The runtime of `#[derive(Encode, Decode)]`: small functions the generated code
//! calls (through `oxbeam::__rt::derive`), so that the macro emits little code and
//! every `unsafe` stays here. Field names and module names are atoms created at load
//! (`AtomCell`s the derive registers); decoding finds fields with
//! `enif_get_map_value`, without allocating; encoding builds a map with one
//! `enif_make_map_from_arrays`, a tuple with one `enif_make_tuple_from_array`.

use crate::atom::Atom;
use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::sys;
use crate::term::Term;

pub use crate::codec::PathStep;
pub use crate::types::tuple::{make_tuple, tuple_elements};

/// The metadata record of a derived type (`OXBEAM␟type␟Name␟kind␟spec␞`), which the
/// Elixir side reads from the library file to write the type's `@type`.
pub struct TypeRecord(pub &'static str);

/// Registration of a [`TypeRecord`]: keeps the record in the library.
pub struct TypeRegistration(pub &'static TypeRecord);
inventory::collect!(TypeRegistration);

/// Whether `term` is a map.
#[inline(always)]
pub fn is_map(env: Env<'_>, term: Term<'_>) -> bool {
    // SAFETY: term belongs to env.
    unsafe { sys::enif_is_map(env.as_raw(), term.as_raw()) != 0 }
}

/// The value under `key` in the map `map`, if any.
#[inline(always)]
pub fn map_get<'a>(env: Env<'a>, map: Term<'a>, key: Term<'a>) -> Option<Term<'a>> {
    let mut value = 0;
    // SAFETY: map and key are terms of env; value is set on success and is a term of env.
    (unsafe { sys::enif_get_map_value(env.as_raw(), map.as_raw(), key.as_raw(), &mut value) } != 0)
        // SAFETY (the closure): the VM set `out` to a term of env: the call reported success.
        .then(|| unsafe { Term::from_raw(value) })
}

/// The value under the atom `key`, if any.
#[inline(always)]
pub fn map_get_atom<'a>(env: Env<'a>, map: Term<'a>, key: Atom) -> Option<Term<'a>> {
    map_get(env, map, key.to_term(env))
}

/// The value under the binary key `key`, if any.
#[inline]
pub fn map_get_str<'a>(env: Env<'a>, map: Term<'a>, key: &str) -> Option<Term<'a>> {
    map_get(env, map, key.encode(env))
}

/// A map of `keys.len()` entries whose keys are distinct by construction (the derive
/// refuses two fields with the same name at compile time).
#[inline(always)]
pub fn make_map<'a, const N: usize>(
    env: Env<'a>,
    mut keys: [Term<'a>; N],
    mut values: [Term<'a>; N],
) -> Term<'a> {
    let mut map = 0;
    // SAFETY: Term is a transparent ERL_NIF_TERM, so both arrays are N raw terms of
    // env; with distinct keys enif_make_map_from_arrays succeeds and sets map.
    let ok = unsafe {
        sys::enif_make_map_from_arrays(
            env.as_raw(),
            keys.as_mut_ptr() as *mut sys::ERL_NIF_TERM,
            values.as_mut_ptr() as *mut sys::ERL_NIF_TERM,
            N,
            &mut map,
        )
    };
    if ok == 0 {
        duplicate_keys()
    }
    // SAFETY: a map term of env.
    unsafe { Term::from_raw(map) }
}

#[cold]
#[inline(never)]
fn duplicate_keys() -> ! {
    panic!("a derived Encode built a map with repeated keys")
}

/// Decodes a field's value; on failure the error's path gets `step` (e.g.
/// `field :y of %MyApp.Point{}`).
#[inline(always)]
pub fn field<'a, T: Decode<'a>>(
    env: Env<'a>,
    value: Term<'a>,
    step: &'static str,
) -> Result<T, DecodeError<'a>> {
    match T::decode(value, env) {
        Ok(value) => Ok(value),
        Err(error) => Err(error.inside(PathStep::Field(step))),
    }
}

/// Decodes element `index` of a tuple.
#[inline(always)]
pub fn element<'a, T: Decode<'a>>(
    env: Env<'a>,
    value: Term<'a>,
    index: usize,
) -> Result<T, DecodeError<'a>> {
    match T::decode(value, env) {
        Ok(value) => Ok(value),
        Err(error) => Err(error.inside(PathStep::TupleElement(index))),
    }
}

/// `term` is not what the derived type expects.
#[cold]
#[inline(never)]
pub fn mismatch<'a>(term: Term<'a>, expected: &'static str) -> DecodeError<'a> {
    DecodeError::new(term, expected)
}

/// `term` is none of the variants an untagged enum tried; `tried` lists each
/// variant's own error, rendered here while the terms are alive.
#[cold]
#[inline(never)]
pub fn no_variant<'a>(
    env: Env<'a>,
    term: Term<'a>,
    type_name: &'static str,
    tried: &[(&'static str, DecodeError<'a>)],
) -> DecodeError<'a> {
    let each: Vec<String> = tried
        .iter()
        .map(|(variant, error)| format!("{variant}: {}", error.describe(env)))
        .collect();
    DecodeError::new(
        term,
        format!(
            "one of the variants of {type_name} (tried {})",
            each.join("; ")
        ),
    )
}

/// What a missing key gives a field of type `T`: `Some(None)` for an `Option` field
/// (a missing key reads as `nil`), `None` (the key is required) for anything else.
/// Chosen at compile time by autoref: the generated code calls
/// `(&&Missing::<T>::new()).missing_value()` with both traits in scope.
pub struct Missing<T>(std::marker::PhantomData<T>);

impl<T> Missing<T> {
    #[inline(always)]
    pub const fn new() -> Missing<T> {
        Missing(std::marker::PhantomData)
    }
}

impl<T> Default for Missing<T> {
    fn default() -> Self {
        Missing::new()
    }
}

/// [`Missing`] for `Option` fields: found first.
pub trait OptionMissing<T> {
    fn missing_value(&self) -> Option<T>;
}

impl<T> OptionMissing<Option<T>> for &Missing<Option<T>> {
    #[inline(always)]
    fn missing_value(&self) -> Option<Option<T>> {
        Some(None)
    }
}

/// [`Missing`] for every other field: the key is required.
pub trait RequiredMissing<T> {
    fn missing_value(&self) -> Option<T>;
}

impl<T> RequiredMissing<T> for Missing<T> {
    #[inline(always)]
    fn missing_value(&self) -> Option<T> {
        None
    }
}
