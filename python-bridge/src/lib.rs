//! `oxbeam-python`: CPython embedded in the BEAM, the NIF library behind
//! `Oxbeam.Python`. Written with oxbeam (NIFs, resources, errors) and pyo3 (Python).
//!
//! Python only runs on dirty schedulers: every NIF that touches Python is a dirty I/O
//! NIF (one pool: a dirty thread that just finished an `eval` picks up the `decode`
//! that follows, where switching between the CPU and I/O pools cost several µs);
//! the GIL is taken for the duration of one call and released in between (and
//! whenever Python releases it, e.g. in `time.sleep`). Objects held by Elixir are
//! resources; dropping one never waits for the GIL on a normal scheduler (see
//! `object.rs`).

mod buffer;
mod convert;
mod decref;
mod error;
mod eval;
mod gil;
mod interpreter;
mod interrupt;
mod numpy;
mod object;
mod output;
mod raw_alloc;
mod stack;

// The load hook refuses a second library image once one has started Python (a hot
// upgrade): see `interpreter::on_load`.
oxbeam::init!(
    "Elixir.Oxbeam.Python.NIF",
    load = crate::interpreter::on_load
);
