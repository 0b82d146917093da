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

/// `%Bench.Point4{x: float, y: float, z: float, w: float}`.
#[derive(rustler::NifStruct)]
#[module = "Bench.Point4"]
pub struct Point4 {
    x: f64,
    y: f64,
    z: f64,
    w: f64,
}

/// `{:rec, a, b, c}`.
#[derive(rustler::NifRecord)]
#[tag = "rec"]
pub struct Rec {
    a: i64,
    b: f64,
    c: bool,
}

/// `:idle | :done | {:count, integer} | {:ratio, float}`.
#[derive(rustler::NifTaggedEnum)]
pub enum State {
    Idle,
    Done,
    Count(i64),
    Ratio(f64),
}

/// Decode only.
#[rustler::nif]
fn point_sum(p: Point4) -> f64 {
    p.x + p.y + p.z + p.w
}

/// Encode only.
#[rustler::nif]
fn point_new(f: f64) -> Point4 {
    Point4 {
        x: f,
        y: f + 1.0,
        z: f + 2.0,
        w: f + 3.0,
    }
}

/// Both.
#[rustler::nif]
fn point_bump(p: Point4) -> Point4 {
    Point4 { x: p.x + 1.0, ..p }
}

#[rustler::nif]
fn rec_bump(r: Rec) -> Rec {
    Rec {
        a: r.a + 1,
        b: r.b * 2.0,
        c: !r.c,
    }
}

#[rustler::nif]
fn state_step(s: State) -> State {
    match s {
        State::Idle => State::Count(0),
        State::Done => State::Done,
        State::Count(n) => State::Count(n + 1),
        State::Ratio(r) => State::Ratio(r / 2.0),
    }
}

// One module name per build (see Cargo.toml, feature `lto-module`).
#[cfg(not(feature = "lto-module"))]
rustler::init!("Elixir.Bench.Rustler");
#[cfg(feature = "lto-module")]
rustler::init!("Elixir.Bench.RustlerLto");
