//! Paired with `elixir/test/nif/rustler_test.exs`: the tools a Rustler user reaches
//! for (term order and hashing, external term format, list/map/tuple operations on
//! terms, existing atoms, pid and reference order).

use oxbeam::{nif, Atom, Encode, Env, LocalPid, Reference, Term};
use std::cmp::Ordering;

fn ordering(order: Ordering) -> i64 {
    order as i64
}

/// `Term::compare` (the VM's `<`/`==`): -1, 0 or 1.
#[nif]
fn term_compare<'a>(a: Term<'a>, b: Term<'a>) -> i64 {
    ordering(a.compare(b))
}

/// `Ord` on `Term`: -1, 0 or 1.
#[nif]
fn term_cmp<'a>(a: Term<'a>, b: Term<'a>) -> i64 {
    ordering(a.cmp(&b))
}

/// `Term::equals` (`==`) and `PartialEq` (`===`).
#[nif]
fn term_equality<'a>(a: Term<'a>, b: Term<'a>) -> (bool, bool) {
    (a.equals(b), a == b)
}

/// The terms sorted with `Ord` on `Term`.
#[nif]
fn term_sort(terms: Vec<Term<'_>>) -> Vec<Term<'_>> {
    let mut terms = terms;
    terms.sort();
    terms
}

/// `Term::hash_phash2`.
#[nif]
fn term_phash2(term: Term<'_>) -> u32 {
    term.hash_phash2()
}

/// `Term::hash_internal` of two terms with one salt: whether they hash alike.
#[nif]
fn term_same_internal_hash<'a>(a: Term<'a>, b: Term<'a>, salt: u64) -> bool {
    a.hash_internal(salt) == b.hash_internal(salt)
}

/// The number of distinct terms, by a `HashSet<Term>`.
#[nif]
fn term_distinct(terms: Vec<Term<'_>>) -> usize {
    terms
        .into_iter()
        .collect::<std::collections::HashSet<_>>()
        .len()
}

/// `Term::to_binary`.
#[nif]
fn term_to_binary<'a>(env: Env<'a>, term: Term<'a>) -> oxbeam::OwnedBinary {
    term.to_binary(env)
}

/// `Term::from_binary` (safe): `{term, bytes_read}` or `nil`.
#[nif]
fn binary_to_term_safe<'a>(env: Env<'a>, bytes: &[u8]) -> Option<(Term<'a>, usize)> {
    Term::from_binary(env, bytes)
}

/// `Term::from_binary_trusted`: `{term, bytes_read}` or `nil`.
#[nif]
fn binary_to_term_trusted<'a>(env: Env<'a>, bytes: &[u8]) -> Option<(Term<'a>, usize)> {
    Term::from_binary_trusted(env, bytes)
}

/// `Term::list_prepend`.
#[nif]
fn list_prepend<'a>(env: Env<'a>, list: Term<'a>, head: Term<'a>) -> Term<'a> {
    list.list_prepend(env, head)
}

/// `Term::list_reverse` (`nil` for anything but a proper list).
#[nif]
fn list_reverse<'a>(env: Env<'a>, list: Term<'a>) -> Option<Term<'a>> {
    list.list_reverse(env)
}

/// `Term::list_length` (`nil` for anything but a proper list).
#[nif]
fn list_length<'a>(env: Env<'a>, list: Term<'a>) -> Option<usize> {
    list.list_length(env)
}

/// `%{}` built with `Term::map_new`, then `map_put` of each pair.
#[nif]
fn term_map_from_pairs<'a>(env: Env<'a>, pairs: Vec<(Term<'a>, Term<'a>)>) -> Option<Term<'a>> {
    pairs
        .into_iter()
        .try_fold(Term::map_new(env), |map, (k, v)| map.map_put(env, k, v))
}

/// `Term::map_put` (`nil` when not a map).
#[nif]
fn map_put<'a>(env: Env<'a>, map: Term<'a>, key: Term<'a>, value: Term<'a>) -> Option<Term<'a>> {
    map.map_put(env, key, value)
}

/// `Term::map_update` (`nil` when not a map or the key is absent).
#[nif]
fn map_update<'a>(env: Env<'a>, map: Term<'a>, key: Term<'a>, value: Term<'a>) -> Option<Term<'a>> {
    map.map_update(env, key, value)
}

/// `Term::map_remove` (`nil` when not a map).
#[nif]
fn map_remove<'a>(env: Env<'a>, map: Term<'a>, key: Term<'a>) -> Option<Term<'a>> {
    map.map_remove(env, key)
}

/// `Term::map_get` (`nil` when not a map or the key is absent).
#[nif]
fn term_map_get<'a>(env: Env<'a>, map: Term<'a>, key: Term<'a>) -> Option<Term<'a>> {
    map.map_get(env, key)
}

/// `Term::tuple_from_slice` of the list's elements.
#[nif]
fn tuple_from_list<'a>(env: Env<'a>, elements: Vec<Term<'a>>) -> Term<'a> {
    Term::tuple_from_slice(env, &elements)
}

/// `Atom::try_existing`: the atom, or `nil` if no such atom exists.
#[nif]
fn atom_try_existing(env: Env<'_>, name: &str) -> Option<Atom> {
    Atom::try_existing(env, name)
}

/// `Ord` on `LocalPid`: the pids sorted.
#[nif]
fn pid_sort(pids: Vec<LocalPid>) -> Vec<LocalPid> {
    let mut pids = pids;
    pids.sort();
    pids
}

/// `Hash` on `LocalPid`: how many distinct pids.
#[nif]
fn pid_distinct(pids: Vec<LocalPid>) -> usize {
    pids.into_iter()
        .collect::<std::collections::HashSet<_>>()
        .len()
}

/// `Ord` on `Reference`: -1, 0 or 1.
#[nif]
fn reference_cmp<'a>(a: Reference<'a>, b: Reference<'a>) -> i64 {
    ordering(a.cmp(&b))
}

/// `MapView::iter_as::<String, i64>()`: the entries sorted by key.
#[nif]
fn map_iter_as(map: oxbeam::MapView<'_>) -> Vec<(String, i64)> {
    let mut entries: Vec<(String, i64)> = map.iter_as::<String, i64>().collect();
    entries.sort();
    entries
}

/// The keys of a map walked forwards and backwards: `{forwards, backwards}`.
#[nif]
fn map_keys_both_ways<'a>(map: oxbeam::MapView<'a>) -> (Vec<Term<'a>>, Vec<Term<'a>>) {
    let forwards = map.iter().map(|(k, _)| k).collect();
    let backwards = map.iter().rev().map(|(k, _)| k).collect();
    (forwards, backwards)
}

/// Takes entries from both ends alternately, typed: every entry exactly once.
#[nif]
fn map_iter_as_both_ends(map: oxbeam::MapView<'_>) -> Vec<(i64, i64)> {
    let mut iter = map.iter_as::<i64, i64>();
    let mut out = Vec::new();
    while let Some(pair) = iter.next() {
        out.push(pair);
        match iter.next_back() {
            Some(pair) => out.push(pair),
            None => break,
        }
    }
    out
}

/// Reverse typed iteration, stopping at the first element (a bad value later on is
/// never decoded).
#[nif]
fn map_iter_as_last(map: oxbeam::MapView<'_>) -> Option<(i64, i64)> {
    map.iter_as::<i64, i64>().next_back()
}

/// `Term::is_truthy`.
#[nif]
fn term_truthy(term: Term<'_>) -> bool {
    term.is_truthy()
}

/// `PathBuf` both ways: the path with `child` joined.
#[nif]
fn path_join(dir: std::path::PathBuf, child: &std::path::Path) -> std::path::PathBuf {
    dir.join(child)
}

/// `RangeInclusive<i64>` both ways: the range and its sum.
#[nif]
fn range_inclusive_sum(
    range: std::ops::RangeInclusive<i64>,
) -> (std::ops::RangeInclusive<i64>, i64) {
    (range.clone(), range.sum())
}

/// `Range<u8>` both ways: the range and how many elements it has.
#[nif]
fn range_len(range: std::ops::Range<u8>) -> (std::ops::Range<u8>, usize) {
    (range.clone(), range.len())
}

/// `Range<i64>` made in Rust, `start..end`.
#[nif]
fn range_make(start: i64, end: i64) -> std::ops::Range<i64> {
    start..end
}

/// `Range<i8>` made in Rust (to reach the type's minimum).
#[nif]
fn range_make_i8(start: i8, end: i8) -> std::ops::Range<i8> {
    start..end
}

/// `StepRange<i64>` both ways, the step doubled.
#[nif]
fn step_range_double(range: oxbeam::StepRange<i64>) -> oxbeam::StepRange<i64> {
    oxbeam::StepRange {
        step: range.step * 2,
        ..range
    }
}

/// `Duration` both ways: doubled.
#[nif]
fn duration_double(duration: std::time::Duration) -> std::time::Duration {
    duration * 2
}

/// `SystemTime` both ways: one second later.
#[nif]
fn system_time_plus_second(time: std::time::SystemTime) -> std::time::SystemTime {
    time + std::time::Duration::from_secs(1)
}

/// `SystemTime::now()`.
#[nif]
fn system_time_now() -> std::time::SystemTime {
    std::time::SystemTime::now()
}

/// `Cow<str>` decoded borrowed (true when it is), encoded back upper-cased.
#[nif]
fn cow_upper(text: std::borrow::Cow<'_, str>) -> (bool, std::borrow::Cow<'static, str>) {
    let borrowed = matches!(text, std::borrow::Cow::Borrowed(_));
    (borrowed, std::borrow::Cow::Owned(text.to_uppercase()))
}

type Pointers = (
    Box<i64>,
    std::rc::Rc<String>,
    std::sync::Arc<Vec<i64>>,
    std::sync::Arc<Vec<i64>>,
);

/// `Box`, `Rc` and `Arc` of values, both ways (a `Box` argument is what a Rustler
/// user's signature may say).
#[allow(clippy::boxed_local)]
#[nif]
fn smart_pointers(
    boxed: Box<i64>,
    rc: std::rc::Rc<String>,
    arc: std::sync::Arc<Vec<i64>>,
) -> Pointers {
    let shared = arc.clone();
    (Box::new(*boxed + 1), rc, arc, shared)
}

/// `[i64; 3]` both ways: reversed.
#[nif]
fn array_reverse(array: [i64; 3]) -> [i64; 3] {
    let mut array = array;
    array.reverse();
    array
}

/// `oxbeam::thread::spawn`: sends `{:sum, total}` from a new thread; `:panic` makes the
/// closure panic, `:raise` raise.
#[nif]
fn thread_sum(env: Env<'_>, xs: Vec<i64>, mode: Atom) -> Atom {
    let mode = mode.name(env).unwrap_or_default();
    oxbeam::thread::spawn(env, move |env| {
        match mode.as_str() {
            "panic" => panic!("boom in a thread"),
            "raise" => oxbeam::raise(oxbeam::Error::exception(
                "Elixir.ArgumentError",
                "raised in a thread",
            )),
            _ => {}
        }
        let sum: i64 = xs.iter().sum();
        (Atom::from_str(env, "sum"), sum).encode(env)
    });
    Atom::from_str(env, "ok")
}

/// A resource made with `From<T>` (`.into()`).
#[oxbeam::resource]
pub struct Wrapped {
    value: i64,
}

/// `ResourceArc::from` / `.into()`.
#[nif]
fn resource_into(value: i64) -> oxbeam::ResourceArc<Wrapped> {
    Wrapped { value }.into()
}

/// The value inside a `Wrapped`.
#[nif]
fn resource_value(wrapped: &Wrapped) -> i64 {
    wrapped.value
}

/// `num_bigint::BigInt` both ways: `x * y`.
#[nif]
fn bigint_mul(
    x: oxbeam::num_bigint::BigInt,
    y: oxbeam::num_bigint::BigInt,
) -> oxbeam::num_bigint::BigInt {
    x * y
}

/// `num_bigint::BigUint` both ways: `x + 1`.
#[nif]
fn biguint_succ(x: oxbeam::num_bigint::BigUint) -> oxbeam::num_bigint::BigUint {
    x + 1u32
}

/// `OwnedBinary` as a `std::io::Write` and `std::fmt::Write`: `n` lines formatted
/// straight into the binary.
#[nif]
fn binary_format(n: u32, word: &str) -> oxbeam::OwnedBinary {
    use std::io::Write as _;
    let mut out = oxbeam::OwnedBinary::with_capacity(0);
    for i in 0..n {
        writeln!(out, "{i}: {word}").expect("a small binary");
    }
    std::fmt::Write::write_str(&mut out, "end").expect("a small binary");
    out
}

/// `OwnedBinary: FromIterator<u8>`: each byte plus one (wrapping).
#[nif]
fn binary_collect(bytes: &[u8]) -> oxbeam::OwnedBinary {
    bytes.iter().map(|b| b.wrapping_add(1)).collect()
}

/// `OwnedBinary::realloc`: a copy of `bytes` cut or zero-extended to `size`.
#[nif]
fn binary_realloc(bytes: &[u8], size: usize) -> oxbeam::OwnedBinary {
    let mut out = oxbeam::OwnedBinary::from_slice(bytes);
    out.realloc(size);
    out
}
