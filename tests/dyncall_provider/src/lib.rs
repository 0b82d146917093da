//! The provider library of `elixir/test/nif/dynamic_resource_test.exs`, loaded into
//! `Oxbeam.Test.DynProvider`. Its `Counter` is registered under the explicit name
//! `"oxbeam_test.counter"` with a dynamic call, which `tests/dyncall_consumer` (another
//! library, which does not link to this one) runs on counters made here.
//!
//! Version 2 (the feature `v2`) gives `Counter` another layout under the same name:
//! a hot upgrade to it is refused. The feature `duplicate_name` registers a second
//! type under `Counter`'s name: that library refuses to load.

use oxbeam::resource::{DynCall, DynCallData};
use oxbeam::{nif, Env, ResourceArc};
use std::sync::atomic::{AtomicI64, Ordering};

#[cfg(not(feature = "v2"))]
const VERSION: &str = "v1";
#[cfg(feature = "v2")]
const VERSION: &str = "v2";

/// The call data agreed with the consumer (which declares the same struct and tag).
#[repr(C)]
pub struct CounterCall {
    /// [`ADD`], [`READ`] or [`PANIC`].
    pub op: u32,
    pub amount: i64,
    /// The counter's value after the call.
    pub result: i64,
}

pub const ADD: u32 = 1;
pub const READ: u32 = 2;
pub const PANIC: u32 = 3;

// SAFETY: #[repr(C)] of a u32 and two i64s (any bit pattern is valid); the consumer's
// type with this tag declares the same fields in the same order.
unsafe impl DynCallData for CounterCall {
    const TAG: &'static str = "oxbeam_test.counter_call/1";
}

#[oxbeam::resource(name = "oxbeam_test.counter", dyncall)]
pub struct Counter {
    value: AtomicI64,
    #[cfg(feature = "v2")]
    extra: u64,
}

impl DynCall for Counter {
    type Data = CounterCall;

    fn dyncall<'a>(&self, _env: Env<'a>, call: &mut CounterCall) {
        match call.op {
            ADD => call.result = self.value.fetch_add(call.amount, Ordering::Relaxed) + call.amount,
            READ => call.result = self.value.load(Ordering::Relaxed),
            PANIC => panic!("asked to panic with {}", call.amount),
            other => panic!("unknown op {other}"),
        }
    }
}

/// A type with an explicit name and no dynamic call.
#[oxbeam::resource(name = "oxbeam_test.silent")]
pub struct Silent(pub u8);

/// A second type under the counter's name.
#[cfg(feature = "duplicate_name")]
#[oxbeam::resource(name = "oxbeam_test.counter")]
pub struct Impostor(pub u8);

/// A type with the derived name.
#[oxbeam::resource]
pub struct Plain(pub u8);

#[nif]
fn version() -> &'static str {
    VERSION
}

#[nif]
fn new_counter(value: i64) -> ResourceArc<Counter> {
    ResourceArc::new(Counter {
        value: AtomicI64::new(value),
        #[cfg(feature = "v2")]
        extra: 0,
    })
}

/// The value, read here (not through the dynamic call).
#[nif]
fn counter_value(counter: &Counter) -> i64 {
    counter.value.load(Ordering::Relaxed)
}

#[nif]
fn new_silent() -> ResourceArc<Silent> {
    ResourceArc::new(Silent(0))
}

#[nif]
fn new_plain() -> ResourceArc<Plain> {
    ResourceArc::new(Plain(0))
}

oxbeam::init!("Elixir.Oxbeam.Test.DynProvider");
