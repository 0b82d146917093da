//! Paired with `elixir/test/nif/rustler_test.exs`: the tools a Rustler user reaches
//! for (term order and hashing, external term format, list/map/tuple operations on
//! terms, existing atoms, pid and reference order).

use oxbeam::{nif, Atom, Env, LocalPid, Reference, Term};
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
