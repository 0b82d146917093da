//! The benchmark NIFs with oxbeam and idiomatic owned types, as a Rustler user
//! would write them.

use oxbeam::{nif, Binary, Term};
use std::collections::HashMap;

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
fn bin_len(bin: Binary<'_>) -> usize {
    bin.len()
}

#[nif]
fn echo_string(s: String) -> String {
    s
}

#[nif]
fn sum_list(xs: Vec<i64>) -> i64 {
    xs.iter().sum()
}

#[nif]
fn make_list(n: i64) -> Vec<i64> {
    (0..n).collect()
}

#[nif]
fn map_sum(map: HashMap<String, i64>) -> i64 {
    map.values().sum()
}

#[nif]
fn make_map(n: i64) -> HashMap<String, i64> {
    (0..n).map(|i| (format!("k{i}"), i)).collect()
}

include!("../../oxbeam_derives.rs");

// One module name per build (see Cargo.toml, feature `lto-module`).
#[cfg(not(feature = "lto-module"))]
oxbeam::init!("Elixir.Bench.Oxbeam");
#[cfg(feature = "lto-module")]
oxbeam::init!("Elixir.Bench.OxbeamLto");
