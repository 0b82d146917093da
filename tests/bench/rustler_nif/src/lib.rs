//! The benchmark NIFs as Rustler users write them (owned types).

use rustler::{Binary, Term};
use std::collections::HashMap;

mod atoms {
    rustler::atoms! { ok }
}

#[rustler::nif]
fn noop() -> rustler::Atom {
    atoms::ok()
}

#[rustler::nif]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[rustler::nif]
fn tuple_swap<'a>(pair: (Term<'a>, Term<'a>)) -> (Term<'a>, Term<'a>) {
    (pair.1, pair.0)
}

#[rustler::nif]
fn bin_len(bin: Binary) -> usize {
    bin.len()
}

#[rustler::nif]
fn echo_string(s: String) -> String {
    s
}

#[rustler::nif]
fn sum_list(xs: Vec<i64>) -> i64 {
    xs.iter().sum()
}

#[rustler::nif]
fn make_list(n: i64) -> Vec<i64> {
    (0..n).collect()
}

#[rustler::nif]
fn map_sum(map: HashMap<String, i64>) -> i64 {
    map.values().sum()
}

#[rustler::nif]
fn make_map(n: i64) -> HashMap<String, i64> {
    (0..n).map(|i| (format!("k{i}"), i)).collect()
}

rustler::init!("Elixir.Bench.Rustler");
