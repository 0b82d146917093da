//! Taking the GIL from dirty scheduler threads, cheaply.
//!
//! `PyGILState_Ensure` creates a Python thread state the first time a thread takes the
//! GIL and destroys it when the thread lets go, which costs microseconds on every
//! call. Each thread that runs Python here keeps its thread state for its whole life
//! instead: the first time, the state is created and the GIL released right away with
//! `PyEval_SaveThread`, leaving the state's count at one, so later
//! `Python::attach`/release pairs only take and drop the GIL.

use pyo3::prelude::*;
use std::cell::Cell;

thread_local! {
    static PINNED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` holding the GIL (see the module docs), on a stack big enough for Python
/// (`stack.rs`).
pub fn with_gil<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    PINNED.with(|pinned| {
        if !pinned.get() {
            // SAFETY: the interpreter is initialized (callers check); Ensure takes the
            // GIL and makes this thread's state, SaveThread releases the GIL and keeps
            // the state (count one), never released: the thread keeps it until it exits.
            unsafe {
                pyo3::ffi::PyGILState_Ensure();
                pyo3::ffi::PyEval_SaveThread();
            }
            pinned.set(true);
        }
    });
    crate::stack::run(|| Python::attach(f))
}
