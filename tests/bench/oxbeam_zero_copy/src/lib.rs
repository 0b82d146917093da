//! The benchmark NIFs with oxbeam's zero-copy forms: borrowed strings and binaries,
//! lazy list iteration, a borrowed map view, lists and maps encoded from iterators.

use oxbeam::{nif, Binary, Env, ListFromIter, ListIterator, MapFromIter, MapView, NewBinary, Term};
use std::io::Write;

#[nif]
fn noop() {}

#[nif]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[nif]
fn tuple_swap<'a>(pair: (Term<'a>, Term<'a>)) -> (Term<'a>, Term<'a>) {
    (pair.1, pair.0)
}

#[nif]
fn bin_len(bin: &[u8]) -> usize {
    bin.len()
}

#[nif]
fn echo_string(s: &str) -> &str {
    s
}

#[nif]
fn sum_list(xs: ListIterator<'_>) -> i64 {
    xs.decode_each::<i64>().sum()
}

#[nif]
fn make_list(n: i64) -> ListFromIter<std::ops::Range<i64>> {
    ListFromIter(0..n)
}

#[nif]
fn map_sum<'a>(env: Env<'a>, map: MapView<'a>) -> oxbeam::Result<i64> {
    let mut sum = 0i64;
    for (key, value) in map {
        // Keys must be binaries, as the C version checks.
        key.decode::<Binary>(env).map_err(|_| oxbeam::Error::argument_error("keys must be binaries"))?;
        sum += value.decode::<i64>(env).map_err(|_| oxbeam::Error::argument_error("values must be integers"))?;
    }
    Ok(sum)
}

#[nif]
fn make_map<'a>(env: Env<'a>, n: i64) -> MapFromIter<impl Iterator<Item = (Term<'a>, i64)>> {
    MapFromIter((0..n).map(move |i| {
        let mut digits = [0u8; 24];
        let len = {
            let mut cursor = &mut digits[..];
            let _ = write!(cursor, "k{i}");
            24 - cursor.len()
        };
        let mut key = NewBinary::new(env, len);
        key.copy_from_slice(&digits[..len]);
        (key.finish(), i)
    }))
}

oxbeam::init!("Elixir.Bench.OxbeamZeroCopy");
