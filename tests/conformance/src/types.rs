//! Paired with `elixir/test/nif/types_test.exs` and `decode_property_test.exs`: every
//! codec, round-tripped. `roundtrip_<type>` decodes its argument as the type and
//! encodes it back.

use oxbeam::{
    nif, Atom, Binary, Env, IoData, ListFromIter, ListIterator, LocalPid, MapFromIter, MapView,
    NewBinary, OwnedBinary, Reference, Term,
};
use std::collections::{BTreeMap, HashMap};

macro_rules! roundtrip {
    ($($name:ident: $t:ty),* $(,)?) => {$(
        #[nif]
        fn $name(value: $t) -> $t {
            value
        }
    )*};
}

roundtrip! {
    roundtrip_i8: i8, roundtrip_i16: i16, roundtrip_i32: i32, roundtrip_i64: i64, roundtrip_isize: isize,
    roundtrip_u8: u8, roundtrip_u16: u16, roundtrip_u32: u32, roundtrip_u64: u64, roundtrip_usize: usize,
    roundtrip_i128: i128, roundtrip_u128: u128,
    roundtrip_f32: f32, roundtrip_f64: f64, roundtrip_bool: bool, roundtrip_atom: Atom,
    roundtrip_string: String, roundtrip_vec_i64: Vec<i64>, roundtrip_vec_string: Vec<String>,
    roundtrip_nested: Vec<Vec<(i64, String)>>,
    roundtrip_tuple2: (i64, String), roundtrip_tuple3: (Atom, f64, bool),
    roundtrip_tuple12: (u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8),
    roundtrip_hashmap: HashMap<String, i64>, roundtrip_btreemap: BTreeMap<i64, Vec<String>>,
    roundtrip_atom_map: HashMap<Atom, i64>,
    roundtrip_option: Option<i64>, roundtrip_result: Result<i64, String>, roundtrip_pid: LocalPid,
}

#[nif]
fn roundtrip_str(value: &str) -> &str {
    value
}

#[nif]
fn roundtrip_bytes(value: &[u8]) -> &[u8] {
    value
}

#[nif]
fn roundtrip_binary<'a>(value: Binary<'a>) -> Binary<'a> {
    value
}

#[nif]
fn roundtrip_reference<'a>(value: Reference<'a>) -> Reference<'a> {
    value
}

#[nif]
fn roundtrip_unit() {}

/// The bytes of a binary, copied into an owned binary.
#[nif]
fn owned_copy(value: &[u8]) -> OwnedBinary {
    OwnedBinary::from_slice(value)
}

/// A new binary of `size` bytes 0, 1, 2, ... written in place.
#[nif]
fn new_binary(env: Env<'_>, size: usize) -> Term<'_> {
    let mut out = NewBinary::new(env, size);
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = i as u8;
    }
    out.finish()
}

/// `bytes[start..start + len]` as a sub-binary.
#[nif]
fn sub_binary<'a>(env: Env<'a>, bytes: Binary<'a>, start: usize, len: usize) -> Binary<'a> {
    bytes.sub_binary(env, start, len)
}

/// Flattens iodata into one binary.
#[nif]
fn iodata_to_binary(data: IoData<'_>) -> &[u8] {
    data.as_slice()
}

/// Sums a list lazily, without allocating.
#[nif]
fn sum_lazy(xs: ListIterator<'_>) -> i64 {
    xs.decode_each::<i64>().sum()
}

/// Counts the elements of a list lazily (raises on an improper tail).
#[nif]
fn count_lazy(xs: ListIterator<'_>) -> usize {
    xs.count()
}

/// The value under `key` in a borrowed map, or nil.
#[nif]
fn map_get<'a>(map: MapView<'a>, key: Term<'a>) -> Option<Term<'a>> {
    map.get(key)
}

/// Swaps keys and values of a borrowed map (encoded straight from the iterator; equal
/// values collapse, the last one winning).
#[nif]
fn map_invert<'a>(map: MapView<'a>) -> MapFromIter<impl Iterator<Item = (Term<'a>, Term<'a>)>> {
    MapFromIter(map.into_iter().map(|(k, v)| (v, k)))
}

/// A map built from a list of pairs, duplicates resolved like `Map.new/1`.
#[nif]
fn map_from_pairs<'a>(pairs: Vec<(Term<'a>, Term<'a>)>) -> MapFromIter<Vec<(Term<'a>, Term<'a>)>> {
    MapFromIter(pairs)
}

/// `[0, 1, ..., n - 1]`, encoded from an iterator.
#[nif]
fn range_list(n: i64) -> ListFromIter<std::ops::Range<i64>> {
    ListFromIter(0..n)
}

/// `[0, 2, 4, ...]` below n, from an iterator of unknown length.
#[nif]
fn even_list(n: i64) -> ListFromIter<impl Iterator<Item = i64>> {
    ListFromIter((0..n).filter(|x| x % 2 == 0))
}

/// A slice of borrowed strings, encoded by reference.
#[nif]
fn split_words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

/// Any integer, through sign and magnitude.
#[nif]
fn roundtrip_big_integer(value: oxbeam::BigInteger) -> oxbeam::BigInteger {
    value
}

/// `[0, 1, ..., n - 1]` as a `Vec<Box<i64>>`: term-sized items, encoded in place in
/// the `Vec`'s buffer when the list is long.
#[allow(clippy::vec_box)] // the point: a Vec of pointer-sized items
#[nif]
fn boxed_list(n: i64) -> Vec<Box<i64>> {
    (0..n).map(Box::new).collect()
}

static COUNTED_DROPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A term-sized item (8 bytes, aligned as a term) that counts its drops and whose
/// encoding panics at one value.
#[repr(align(8))]
struct DropCounted {
    value: u32,
    panic_at: u32,
}

// The in-place path is taken only for term-sized items: keep this one term-sized.
const _: () =
    assert!(std::mem::size_of::<DropCounted>() == 8 && std::mem::align_of::<DropCounted>() == 8);

impl Drop for DropCounted {
    fn drop(&mut self) {
        COUNTED_DROPS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl<'a> oxbeam::Encode<'a> for DropCounted {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        assert!(self.value != self.panic_at, "encoding item {}", self.value);
        oxbeam::Encode::encode(self.value, env)
    }
}

/// `[0, ..., n - 1]` from `DropCounted` items whose encoding panics at `panic_at`
/// (never when `panic_at >= n`). Returns the items and the drops counted before.
#[nif]
fn drop_counted_list(n: u32, panic_at: u32) -> Vec<DropCounted> {
    COUNTED_DROPS.store(0, std::sync::atomic::Ordering::SeqCst);
    (0..n)
        .map(|value| DropCounted { value, panic_at })
        .collect()
}

/// How many `DropCounted` items were dropped since the last `drop_counted_list`.
#[nif]
fn counted_drops() -> usize {
    COUNTED_DROPS.load(std::sync::atomic::Ordering::SeqCst)
}
