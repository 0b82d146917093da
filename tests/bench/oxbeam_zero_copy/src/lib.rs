//! The benchmark NIFs with oxbeam's zero-copy forms: borrowed strings and binaries,
//! lazy list iteration, a borrowed map view, lists and maps encoded from iterators.

use oxbeam::{nif, Binary, Encode, Env, ListFromIter, ListIterator, MapFromIter, MapView, Term};

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

/// "k" followed by the decimal digits of `i` (i >= 0), as the C version writes it.
#[inline]
fn key_name(buf: &mut [u8; 24], mut i: i64) -> usize {
    let mut digits = [0u8; 20];
    let mut n = 0;
    loop {
        digits[n] = b'0' + (i % 10) as u8;
        n += 1;
        i /= 10;
        if i == 0 {
            break;
        }
    }
    buf[0] = b'k';
    for k in 0..n {
        buf[1 + k] = digits[n - 1 - k];
    }
    n + 1
}

#[nif]
fn make_map<'a>(env: Env<'a>, n: i64) -> MapFromIter<impl Iterator<Item = (Term<'a>, i64)>> {
    MapFromIter((0..n).map(move |i| {
        let mut buf = [0u8; 24];
        let len = key_name(&mut buf, i);
        // One copy of the bytes into a new binary, as enif_make_new_binary + memcpy.
        (buf[..len].encode(env), i)
    }))
}

include!("../../oxbeam_derives.rs");

// One module name per build (see Cargo.toml, feature `lto-module`).
#[cfg(not(feature = "lto-module"))]
oxbeam::init!("Elixir.Bench.OxbeamZeroCopy");
#[cfg(feature = "lto-module")]
oxbeam::init!("Elixir.Bench.OxbeamZeroCopyLto");
