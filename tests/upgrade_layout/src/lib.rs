//! A library built in two versions for `elixir/test/nif/upgrade_layout_test.exs`:
//! version 1 (default features) is loaded into `Oxbeam.Test.UpgradeLayout`, then the
//! module is hot-upgraded to version 2 (the feature `v2`; the same crate name, so the
//! same resource type names). Its resource types keep or change their layout:
//!
//! - `Same`: identical, so version 2 takes over version 1's objects;
//! - `Grown`: a field more in version 2 (another size);
//! - `Versioned`: the same layout, but `#[oxbeam::resource(version = 2)]` in version 2;
//! - `Retyped`: the same size and alignment, but a field's type changes (`u64` → `f64`).
//!
//! Every `Drop` and the unload hook append a line to the file named by
//! `OXBEAM_TEST_DROP_LOG`, saying which version's code ran.

use oxbeam::{nif, ResourceArc};
use std::io::Write;

#[cfg(not(feature = "v2"))]
const VERSION: &str = "v1";
#[cfg(feature = "v2")]
const VERSION: &str = "v2";

fn log(line: std::fmt::Arguments<'_>) {
    if let Some(path) = oxbeam::env::getenv("OXBEAM_TEST_DROP_LOG") {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            // One write per line: lines from several threads do not interleave.
            let _ = file.write_all(format!("{VERSION} {line}\n").as_bytes());
        }
    }
}

/// The same layout in both versions.
#[oxbeam::resource]
pub struct Same {
    value: u64,
}

impl Drop for Same {
    fn drop(&mut self) {
        log(format_args!("dropped Same {}", self.value));
    }
}

/// Version 2 adds a field.
#[oxbeam::resource]
pub struct Grown {
    value: u64,
    #[cfg(feature = "v2")]
    extra: u64,
}

impl Drop for Grown {
    fn drop(&mut self) {
        log(format_args!("dropped Grown {}", self.value));
    }
}

/// The same fields, but version 2 declares a new version of the type.
#[cfg_attr(not(feature = "v2"), oxbeam::resource)]
#[cfg_attr(feature = "v2", oxbeam::resource(version = 2))]
pub struct Versioned {
    value: u64,
}

impl Drop for Versioned {
    fn drop(&mut self) {
        log(format_args!("dropped Versioned {}", self.value));
    }
}

/// The same size and alignment in both versions, another field type.
#[oxbeam::resource]
pub struct Retyped {
    #[cfg(not(feature = "v2"))]
    value: u64,
    #[cfg(feature = "v2")]
    value: f64,
}

impl Drop for Retyped {
    fn drop(&mut self) {
        log(format_args!("dropped Retyped {}", self.value));
    }
}

#[nif]
fn retyped_new(value: u32) -> ResourceArc<Retyped> {
    ResourceArc::new(Retyped {
        value: value.into(),
    })
}

/// The value, as an integer in both versions.
#[nif]
#[allow(clippy::unnecessary_cast)] // a u64 in version 1, an f64 in version 2
fn retyped_get(retyped: &Retyped) -> u64 {
    retyped.value as u64
}

/// A tuple struct and an enum (the same in both versions): their fields are part of
/// the fingerprint too; here they only need to compile and be taken over silently.
#[oxbeam::resource]
pub struct Pair(pub u32, #[cfg(any())] pub String, pub u32);

#[oxbeam::resource]
pub enum Shape {
    Point,
    Circle(f64),
    Rect {
        w: f64,
        #[cfg(any())]
        skipped: String,
        h: f64,
    },
}

/// A field type naming `Self` (spelled out as the type in the fingerprint).
#[oxbeam::resource]
pub struct Node {
    pub next: Option<Box<Self>>,
    pub children: Vec<Self>,
}

/// Which version of the library is loaded.
#[nif]
fn version() -> String {
    VERSION.to_string()
}

#[nif]
fn same_new(value: u64) -> ResourceArc<Same> {
    ResourceArc::new(Same { value })
}

#[nif]
fn same_get(same: &Same) -> u64 {
    same.value
}

#[nif]
fn grown_new(value: u64) -> ResourceArc<Grown> {
    ResourceArc::new(Grown {
        value,
        #[cfg(feature = "v2")]
        extra: 1000,
    })
}

/// The value (version 2 adds its extra field, 1000).
#[nif]
fn grown_get(grown: &Grown) -> u64 {
    #[cfg(feature = "v2")]
    return grown.value + grown.extra;
    #[cfg(not(feature = "v2"))]
    grown.value
}

#[nif]
fn versioned_new(value: u64) -> ResourceArc<Versioned> {
    ResourceArc::new(Versioned { value })
}

#[nif]
fn versioned_get(versioned: &Versioned) -> u64 {
    versioned.value
}

fn unload() {
    log(format_args!("unloaded"));
}

oxbeam::init!("Elixir.Oxbeam.Test.UpgradeLayout", unload = unload);
