//! The serde rows of the benchmark: one nested type with both the derive and serde,
//! decoded, encoded and round-tripped each way (`tests/bench/serde/run.exs`).

use oxbeam::{nif, Decode, Encode, SerdeTerm};
use serde::{Deserialize, Serialize};

/// `%Bench.Order{}`: a struct holding a map, a list of maps, a tagged enum, an Option.
#[derive(Encode, Decode, Serialize, Deserialize, Clone)]
#[oxbeam(struct = "Bench.Order")]
#[serde(rename = "Elixir.Bench.Order")]
pub struct Order {
    id: u64,
    customer: Customer,
    lines: Vec<Line>,
    status: Status,
    note: Option<String>,
}

#[derive(Encode, Decode, Serialize, Deserialize, Clone)]
pub struct Customer {
    name: String,
    email: String,
    vip: bool,
}

#[derive(Encode, Decode, Serialize, Deserialize, Clone)]
pub struct Line {
    sku: String,
    qty: u32,
    price: f64,
}

#[derive(Encode, Decode, Serialize, Deserialize, Clone)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Shipped(u64),
    Cancelled { reason: String },
}

fn sample(lines: usize) -> Order {
    Order {
        id: 42,
        customer: Customer {
            name: "Ann".into(),
            email: "ann@example.com".into(),
            vip: true,
        },
        lines: (0..lines)
            .map(|i| Line {
                sku: format!("SKU-{i}"),
                qty: i as u32 + 1,
                price: 9.5,
            })
            .collect(),
        status: Status::Shipped(7),
        note: None,
    }
}

#[nif]
fn derive_decode(order: Order) -> usize {
    order.lines.len()
}

#[nif]
fn serde_decode(order: SerdeTerm<Order>) -> usize {
    order.lines.len()
}

#[nif]
fn derive_encode(lines: usize) -> Order {
    sample(lines)
}

#[nif]
fn serde_encode(lines: usize) -> SerdeTerm<Order> {
    SerdeTerm(sample(lines))
}

#[nif]
fn derive_roundtrip(order: Order) -> Order {
    order
}

#[nif]
fn serde_roundtrip(order: SerdeTerm<Order>) -> SerdeTerm<Order> {
    order
}

/// A flat map of 8 integers: the per-field cost, without allocations.
#[derive(Encode, Decode, Serialize, Deserialize, Clone)]
pub struct Flat {
    a: u64,
    b: u64,
    c: u64,
    d: u64,
    e: u64,
    f: u64,
    g: u64,
    h: u64,
}

#[nif]
fn derive_flat_decode(flat: Flat) -> u64 {
    flat.a + flat.h
}

#[nif]
fn serde_flat_decode(flat: SerdeTerm<Flat>) -> u64 {
    flat.a + flat.h
}

#[nif]
fn derive_flat_encode(n: u64) -> Flat {
    Flat {
        a: n,
        b: n,
        c: n,
        d: n,
        e: n,
        f: n,
        g: n,
        h: n,
    }
}

#[nif]
fn serde_flat_encode(n: u64) -> SerdeTerm<Flat> {
    SerdeTerm(Flat {
        a: n,
        b: n,
        c: n,
        d: n,
        e: n,
        f: n,
        g: n,
        h: n,
    })
}

// The benchmark loads the library into stub modules of its own (tests/bench/run.exs):
// the NIFs under their own names, without the :badarg wrappers of `use Oxbeam`.
oxbeam::init!("Elixir.Bench.Serde", wrappers = false);
