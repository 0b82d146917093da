//! Maps: `HashMap<K, V>` and `BTreeMap<K, V>` both ways. Keys decode as the key type
//! says (atoms for `Atom`, binaries for `String`/`&str`, ...).

use crate::codec::{Decode, DecodeError, Encode, PathStep};
use crate::env::Env;
use crate::sys;
use crate::term::Term;
use crate::types::TermBuffer;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};
use std::mem::MaybeUninit;

/// Number of entries of a map term, `None` if not a map.
#[inline(always)]
pub(crate) fn map_size(env: Env<'_>, term: Term<'_>) -> Option<usize> {
    let mut size = 0;
    // SAFETY: term belongs to env; size is a valid out-pointer.
    (unsafe { sys::enif_get_map_size(env.as_raw(), term.as_raw(), &mut size) } != 0).then_some(size)
}

/// Calls `f` on each key/value of a map term (which must be a map).
#[inline]
pub(crate) fn for_each_entry<'a, E>(
    env: Env<'a>,
    map: Term<'a>,
    mut f: impl FnMut(Term<'a>, Term<'a>) -> Result<(), E>,
) -> Result<(), E> {
    let mut iter = MaybeUninit::<sys::ErlNifMapIterator>::uninit();
    // SAFETY: map is a map term of env; the iterator is destroyed before returning and
    // the terms it yields are terms of env.
    unsafe {
        if sys::enif_map_iterator_create(
            env.as_raw(),
            map.as_raw(),
            iter.as_mut_ptr(),
            sys::ErlNifMapIteratorEntry::ERL_NIF_MAP_ITERATOR_HEAD,
        ) == 0
        {
            return Ok(());
        }
        let mut result = Ok(());
        let (mut key, mut value) = (0, 0);
        while sys::enif_map_iterator_get_pair(env.as_raw(), iter.as_mut_ptr(), &mut key, &mut value)
            != 0
        {
            result = f(Term::from_raw(key), Term::from_raw(value));
            if result.is_err() {
                break;
            }
            sys::enif_map_iterator_next(env.as_raw(), iter.as_mut_ptr());
        }
        sys::enif_map_iterator_destroy(env.as_raw(), iter.as_mut_ptr());
        result
    }
}

#[cold]
#[inline(never)]
fn not_a_map<'a>(term: Term<'a>, rust: &str) -> DecodeError<'a> {
    DecodeError::new(
        term,
        format!("a map ({})", crate::types::short_type_name(rust)),
    )
}

impl<'a, K, V, S> Decode<'a> for HashMap<K, V, S>
where
    K: Decode<'a> + Eq + Hash,
    V: Decode<'a>,
    S: BuildHasher + Default,
{
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        let size =
            map_size(env, term).ok_or_else(|| not_a_map(term, std::any::type_name::<Self>()))?;
        let mut out = HashMap::with_capacity_and_hasher(size, S::default());
        for_each_entry(env, term, |k, v| {
            let key = K::decode(k, env).map_err(|e| e.inside(PathStep::MapKey(k)))?;
            let value = V::decode(v, env).map_err(|e| e.inside(PathStep::MapValue(k)))?;
            out.insert(key, value);
            Ok(())
        })?;
        Ok(out)
    }
}

impl<'a, K, V> Decode<'a> for BTreeMap<K, V>
where
    K: Decode<'a> + Ord,
    V: Decode<'a>,
{
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        map_size(env, term).ok_or_else(|| not_a_map(term, std::any::type_name::<Self>()))?;
        let mut out = BTreeMap::new();
        for_each_entry(env, term, |k, v| {
            let key = K::decode(k, env).map_err(|e| e.inside(PathStep::MapKey(k)))?;
            let value = V::decode(v, env).map_err(|e| e.inside(PathStep::MapValue(k)))?;
            out.insert(key, value);
            Ok(())
        })?;
        Ok(out)
    }
}

/// Builds a map from distinct keys with one `enif_make_map_from_arrays`. Raises
/// `ArgumentError` if two keys encode to the same term.
pub(crate) fn make_map_unique<'a>(
    env: Env<'a>,
    entries: impl Iterator<Item = (Term<'a>, Term<'a>)>,
    len: usize,
) -> Term<'a> {
    let mut keys = TermBuffer::new(len);
    let mut values = TermBuffer::new(len);
    for (k, v) in entries {
        keys.push(k.as_raw());
        values.push(v.as_raw());
    }
    let mut map = 0;
    // SAFETY: both buffers hold keys.len() terms of env.
    let ok = unsafe {
        sys::enif_make_map_from_arrays(
            env.as_raw(),
            keys.as_mut_ptr(),
            values.as_mut_ptr(),
            keys.len(),
            &mut map,
        )
    };
    if ok == 0 {
        crate::raise(crate::Error::argument_error(
            "cannot encode a map: two keys encode to the same term",
        ));
    }
    // SAFETY: map was built in env.
    unsafe { Term::from_raw(map) }
}

impl<'a, K: Encode<'a>, V: Encode<'a>, S> Encode<'a> for HashMap<K, V, S> {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        let len = self.len();
        make_map_unique(
            env,
            self.into_iter()
                .map(|(k, v)| (k.encode(env), v.encode(env))),
            len,
        )
    }
}

impl<'a, K: Encode<'a>, V: Encode<'a>> Encode<'a> for BTreeMap<K, V> {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        let len = self.len();
        make_map_unique(
            env,
            self.into_iter()
                .map(|(k, v)| (k.encode(env), v.encode(env))),
            len,
        )
    }
}
