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
    #[inline]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        let size =
            map_size(env, term).ok_or_else(|| not_a_map(term, std::any::type_name::<Self>()))?;
        let mut out = HashMap::with_hasher(S::default());
        if out.try_reserve(size).is_err() {
            crate::types::cannot_reserve::<Self>(size)
        }
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
    #[inline]
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

/// Builds a map with one `enif_make_map_from_arrays`; when keys repeat, the last one
/// wins (as in `Map.new/1`).
///
/// The VM refuses repeated keys in small maps (up to 32 keys) and resolves them itself
/// in large ones, so it is not a duplicate check to rely on: a refusal, or a map
/// smaller than the number of keys, sends the entries through [`dedupe_keep_last`]
/// first (a cold path; distinct keys cost nothing extra).
pub(crate) fn make_map<'a>(
    env: Env<'a>,
    keys: &mut TermBuffer,
    values: &mut TermBuffer,
) -> Term<'a> {
    // SAFETY: both buffers hold keys.len() terms of env.
    match unsafe { try_from_arrays(env, keys.as_mut_ptr(), values.as_mut_ptr(), keys.len()) } {
        Some(map) => map,
        None => make_map_with_duplicates(env, keys, values),
    }
}

/// `enif_make_map_from_arrays`, trusted only when it built a map of all `n` keys.
///
/// # Safety
/// `ks` and `vs` hold `n` initialized terms of env each.
#[inline]
unsafe fn try_from_arrays<'a>(
    env: Env<'a>,
    ks: *mut sys::ERL_NIF_TERM,
    vs: *mut sys::ERL_NIF_TERM,
    n: usize,
) -> Option<Term<'a>> {
    let mut map = 0;
    // SAFETY: per the contract.
    let ok = unsafe { sys::enif_make_map_from_arrays(env.as_raw(), ks, vs, n, &mut map) };
    // SAFETY: on success map is a map term of env.
    let map = unsafe { Term::from_raw(map) };
    (ok != 0 && map_size(env, map) == Some(n)).then_some(map)
}

#[cold]
#[inline(never)]
fn make_map_with_duplicates<'a>(
    env: Env<'a>,
    keys: &mut TermBuffer,
    values: &mut TermBuffer,
) -> Term<'a> {
    dedupe_keep_last(keys, values);
    // SAFETY: both buffers hold keys.len() terms of env, now with distinct keys.
    unsafe { try_from_arrays(env, keys.as_mut_ptr(), values.as_mut_ptr(), keys.len()) }
        .expect("enif_make_map_from_arrays refused distinct keys")
}

/// Up to this many entries, the keys and values of a map being built sit on the stack.
const STACK_ENTRIES: usize = 256;

/// Builds a map from exactly `len` entries (fewer if the iterator ends early), the
/// terms written straight into two uninitialized arrays (on the stack up to
/// STACK_ENTRIES, else two enif_alloc blocks): no zeroing, no moves of a buffer
/// struct, no capacity checks.
#[inline]
pub(crate) fn make_map_exact<'a>(
    env: Env<'a>,
    len: usize,
    entries: impl Iterator<Item = (Term<'a>, Term<'a>)>,
) -> Term<'a> {
    #[inline(always)]
    fn fill<'a>(
        ks: *mut sys::ERL_NIF_TERM,
        vs: *mut sys::ERL_NIF_TERM,
        len: usize,
        entries: impl Iterator<Item = (Term<'a>, Term<'a>)>,
    ) -> usize {
        let mut n = 0;
        for (k, v) in entries.take(len) {
            // SAFETY: n < len, and both blocks hold len terms.
            unsafe {
                ks.add(n).write(k.as_raw());
                vs.add(n).write(v.as_raw());
            }
            n += 1;
        }
        n
    }
    if len <= STACK_ENTRIES {
        let mut ks = [MaybeUninit::<sys::ERL_NIF_TERM>::uninit(); STACK_ENTRIES];
        let mut vs = [MaybeUninit::<sys::ERL_NIF_TERM>::uninit(); STACK_ENTRIES];
        let n = fill(
            ks.as_mut_ptr() as *mut _,
            vs.as_mut_ptr() as *mut _,
            len,
            entries,
        );
        // SAFETY: the first n terms of each array are initialized.
        unsafe { make_map_raw(env, ks.as_mut_ptr() as *mut _, vs.as_mut_ptr() as *mut _, n) }
    } else {
        let ks = crate::types::RawTerms::new(len);
        let vs = crate::types::RawTerms::new(len);
        let n = fill(ks.ptr, vs.ptr, len, entries);
        // SAFETY: as above.
        unsafe { make_map_raw(env, ks.ptr, vs.ptr, n) }
    }
}

/// `make_map` over raw arrays: the duplicate path (cold) copies them into TermBuffers.
///
/// # Safety
/// `ks` and `vs` hold `n` initialized terms of env each.
#[inline]
pub(crate) unsafe fn make_map_raw<'a>(
    env: Env<'a>,
    ks: *mut sys::ERL_NIF_TERM,
    vs: *mut sys::ERL_NIF_TERM,
    n: usize,
) -> Term<'a> {
    // `%{}` without building it (enif_make_map_from_arrays costs several times more).
    if n == 0 {
        return Term::map_new(env);
    }
    // SAFETY: per the contract.
    if let Some(map) = unsafe { try_from_arrays(env, ks, vs, n) } {
        return map;
    }
    let mut keys = TermBuffer::new(n);
    let mut values = TermBuffer::new(n);
    for i in 0..n {
        // SAFETY: i < n.
        unsafe {
            keys.push(*ks.add(i));
            values.push(*vs.add(i));
        }
    }
    make_map_with_duplicates(env, &mut keys, &mut values)
}

/// Encodes the entries of a Rust map (distinct keys) as a map term.
#[inline]
fn encode_entries<'a>(
    env: Env<'a>,
    len: usize,
    entries: impl Iterator<Item = (Term<'a>, Term<'a>)>,
) -> Term<'a> {
    make_map_exact(env, len, entries)
}

impl<'a, K: Encode<'a>, V: Encode<'a>, S> Encode<'a> for HashMap<K, V, S> {
    #[inline]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        let len = self.len();
        encode_entries(
            env,
            len,
            self.into_iter()
                .map(|(k, v)| (k.encode(env), v.encode(env))),
        )
    }
}

impl<'a, K: Encode<'a>, V: Encode<'a>> Encode<'a> for BTreeMap<K, V> {
    #[inline]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        let len = self.len();
        encode_entries(
            env,
            len,
            self.into_iter()
                .map(|(k, v)| (k.encode(env), v.encode(env))),
        )
    }
}

/// A map argument, borrowed: look up keys and iterate entries without building a
/// Rust map (no hashing, no allocation).
#[derive(Clone, Copy, Debug)]
pub struct MapView<'a> {
    env: Env<'a>,
    term: Term<'a>,
    len: usize,
}

impl<'a> MapView<'a> {
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn term(&self) -> Term<'a> {
        self.term
    }

    /// The value under `key`, if any.
    #[inline]
    pub fn get(&self, key: impl Encode<'a>) -> Option<Term<'a>> {
        let key = key.encode(self.env);
        let mut value = 0;
        // SAFETY: both terms belong to env; value is a valid out-pointer.
        (unsafe {
            sys::enif_get_map_value(
                self.env.as_raw(),
                self.term.as_raw(),
                key.as_raw(),
                &mut value,
            )
        } != 0)
            // SAFETY: value is a term of env.
            .then(|| unsafe { Term::from_raw(value) })
    }

    /// Iterates over the entries (in the map's internal order); `.rev()` walks them
    /// from the other end.
    #[inline]
    pub fn iter(&self) -> MapIter<'a> {
        MapIter {
            env: self.env,
            map: self.term,
            front: None,
            back: None,
            remaining: self.len,
        }
    }

    /// The entries decoded as `(K, V)`, lazily (and from the other end with `.rev()`).
    /// A key or value that does not decode raises `ArgumentError` naming the argument
    /// and the key, with the message a `HashMap<K, V>` argument would give.
    pub fn iter_as<K: Decode<'a>, V: Decode<'a>>(&self) -> MapDecodeEach<'a, K, V> {
        MapDecodeEach {
            iter: self.iter(),
            _types: std::marker::PhantomData,
        }
    }
}

impl<'a> IntoIterator for MapView<'a> {
    type Item = (Term<'a>, Term<'a>);
    type IntoIter = MapIter<'a>;
    fn into_iter(self) -> MapIter<'a> {
        self.iter()
    }
}

impl<'a> Decode<'a> for MapView<'a> {
    #[inline(always)]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        match map_size(env, term) {
            Some(len) => Ok(MapView { env, term, len }),
            None => Err(not_a_map(term, "MapView")),
        }
    }
}

impl<'a> Encode<'a> for MapView<'a> {
    #[inline]
    fn encode(self, _env: Env<'a>) -> Term<'a> {
        self.term
    }
}

/// The entries of a [`MapView`], as `(key, value)` terms. Walks from either end: the
/// VM's map iterators (one per end, created when first used) never cross, because
/// both ends count down the same number of remaining entries.
pub struct MapIter<'a> {
    env: Env<'a>,
    map: Term<'a>,
    front: Option<sys::ErlNifMapIterator>,
    back: Option<sys::ErlNifMapIterator>,
    remaining: usize,
}

impl<'a> MapIter<'a> {
    /// One step of the iterator at one end: the pair under it, then it moves.
    #[inline]
    fn step(&mut self, back: bool) -> Option<(Term<'a>, Term<'a>)> {
        if self.remaining == 0 {
            return None;
        }
        let (env, map) = (self.env, self.map);
        let slot = if back {
            &mut self.back
        } else {
            &mut self.front
        };
        let iter = match slot {
            Some(iter) => iter,
            None => {
                let mut iter = MaybeUninit::<sys::ErlNifMapIterator>::uninit();
                let entry = if back {
                    sys::ErlNifMapIteratorEntry::ERL_NIF_MAP_ITERATOR_TAIL
                } else {
                    sys::ErlNifMapIteratorEntry::ERL_NIF_MAP_ITERATOR_HEAD
                };
                // SAFETY: map is a map term of env (checked when the MapView was
                // decoded); on success the iterator is initialized, and it is destroyed
                // by MapIter's Drop (it is stored before anything else can fail).
                unsafe {
                    if sys::enif_map_iterator_create(
                        env.as_raw(),
                        map.as_raw(),
                        iter.as_mut_ptr(),
                        entry,
                    ) == 0
                    {
                        self.remaining = 0;
                        return None;
                    }
                    slot.insert(iter.assume_init())
                }
            }
        };
        let (mut key, mut value) = (0, 0);
        // SAFETY: the iterator was created on a map of env and is not yet destroyed;
        // key/value are valid out-pointers, set to terms of env on success.
        unsafe {
            if sys::enif_map_iterator_get_pair(env.as_raw(), iter, &mut key, &mut value) == 0 {
                self.remaining = 0;
                return None;
            }
            if back {
                sys::enif_map_iterator_prev(env.as_raw(), iter);
            } else {
                sys::enif_map_iterator_next(env.as_raw(), iter);
            }
            self.remaining -= 1;
            Some((Term::from_raw(key), Term::from_raw(value)))
        }
    }
}

impl<'a> Iterator for MapIter<'a> {
    type Item = (Term<'a>, Term<'a>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.step(false)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl DoubleEndedIterator for MapIter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        self.step(true)
    }
}

impl ExactSizeIterator for MapIter<'_> {}

impl Drop for MapIter<'_> {
    fn drop(&mut self) {
        for iter in [self.front.as_mut(), self.back.as_mut()]
            .into_iter()
            .flatten()
        {
            // SAFETY: created in MapIter::step, destroyed exactly once here.
            unsafe { sys::enif_map_iterator_destroy(self.env.as_raw(), iter) }
        }
    }
}

/// The entries of a [`MapView`] decoded as `(K, V)` (see [`MapView::iter_as`]).
pub struct MapDecodeEach<'a, K, V> {
    iter: MapIter<'a>,
    _types: std::marker::PhantomData<fn() -> (K, V)>,
}

impl<'a, K: Decode<'a>, V: Decode<'a>> MapDecodeEach<'a, K, V> {
    #[inline]
    fn decode_pair(&self, (k, v): (Term<'a>, Term<'a>)) -> (K, V) {
        let env = self.iter.env;
        let key = match K::decode(k, env) {
            Ok(key) => key,
            Err(error) => error
                .inside(PathStep::MapKey(k))
                .raise_for(env, self.iter.map),
        };
        match V::decode(v, env) {
            Ok(value) => (key, value),
            Err(error) => error
                .inside(PathStep::MapValue(k))
                .raise_for(env, self.iter.map),
        }
    }
}

impl<'a, K: Decode<'a>, V: Decode<'a>> Iterator for MapDecodeEach<'a, K, V> {
    type Item = (K, V);

    #[inline]
    fn next(&mut self) -> Option<(K, V)> {
        let pair = self.iter.next()?;
        Some(self.decode_pair(pair))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

impl<'a, K: Decode<'a>, V: Decode<'a>> DoubleEndedIterator for MapDecodeEach<'a, K, V> {
    #[inline]
    fn next_back(&mut self) -> Option<(K, V)> {
        let pair = self.iter.next_back()?;
        Some(self.decode_pair(pair))
    }
}

impl<'a, K: Decode<'a>, V: Decode<'a>> ExactSizeIterator for MapDecodeEach<'a, K, V> {}

/// Encodes the `(key, value)` pairs of an iterator as a map, built with one
/// `enif_make_map_from_arrays`. When two keys are equal, the last one wins (as in
/// `Map.new/1`; see `make_map` for how duplicates are found without a cost when
/// there are none).
pub struct MapFromIter<I>(pub I);

impl<'a, I, K, V> Encode<'a> for MapFromIter<I>
where
    I: IntoIterator<Item = (K, V)>,
    K: Encode<'a>,
    V: Encode<'a>,
{
    #[inline]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        let iter = self.0.into_iter();
        let (low, high) = iter.size_hint();
        if high == Some(low) {
            return make_map_exact(env, low, iter.map(|(k, v)| (k.encode(env), v.encode(env))));
        }
        let mut keys = TermBuffer::new(iter.size_hint().0);
        let mut values = TermBuffer::new(iter.size_hint().0);
        for (k, v) in iter {
            keys.push(k.encode(env).as_raw());
            values.push(v.encode(env).as_raw());
        }
        make_map(env, &mut keys, &mut values)
    }
}

/// Removes entries whose key equals a later entry's key, keeping order otherwise.
fn dedupe_keep_last(keys: &mut TermBuffer, values: &mut TermBuffer) {
    let n = keys.len();
    if n < 2 {
        return;
    }
    // SAFETY: the buffers hold n initialized terms each.
    let (ks, vs) = unsafe {
        (
            std::slice::from_raw_parts_mut(keys.as_mut_ptr(), n),
            std::slice::from_raw_parts_mut(values.as_mut_ptr(), n),
        )
    };
    let mut order: Vec<(u64, u32)> = ks
        .iter()
        .enumerate()
        // SAFETY: enif_hash only reads the term.
        .map(|(i, &k)| {
            (
                unsafe { sys::enif_hash(sys::ErlNifHash::ERL_NIF_INTERNAL_HASH, k, 0) },
                i as u32,
            )
        })
        .collect();
    order.sort_unstable();
    let mut drop_index = Vec::new();
    for run in order
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|run| run.len() > 1)
    {
        for &(_, i) in run {
            // SAFETY: enif_is_identical only reads the two terms.
            let identical = |other: u32| unsafe { sys::enif_is_identical(ks[i as usize], ks[other as usize]) } != 0;
            if run.iter().any(|&(_, other)| other > i && identical(other)) {
                drop_index.push(i as usize);
            }
        }
    }
    if drop_index.is_empty() {
        return;
    }
    drop_index.sort_unstable();
    let mut write = 0;
    let mut drops = drop_index.iter().peekable();
    for read in 0..n {
        if drops.peek() == Some(&&read) {
            drops.next();
            continue;
        }
        ks[write] = ks[read];
        vs[write] = vs[read];
        write += 1;
    }
    keys.truncate(write);
    values.truncate(write);
}
