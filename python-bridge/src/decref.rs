//! Releasing Python references without waiting for the GIL.
//!
//! A resource destructor may run on a normal scheduler, which must not block on the
//! GIL. It hands the pointer to one background thread that takes the GIL, releases a
//! batch of at most [`BATCH`] references, and lets go of the GIL again before the
//! next batch, so a burst of a million drops never holds Python up for long: an
//! `eval` waiting for the GIL gets it between two batches. The thread always takes
//! everything queued, so the queue cannot fall behind the drops.

use std::ptr::NonNull;
use std::sync::{Condvar, Mutex, OnceLock};

const BATCH: usize = 4096;

/// One reference to release: an object's, or a buffer export's (`buffer.rs`; the
/// export holds a reference to its object too).
enum Pending {
    Object(usize),
    Buffer(Box<crate::buffer::RawBuffer>),
}

// SAFETY: the export is only released, with the GIL, by the decref thread.
unsafe impl Send for Pending {}

struct Queue {
    pending: Mutex<Vec<Pending>>,
    wake: Condvar,
}

static QUEUE: OnceLock<Queue> = OnceLock::new();

fn queue() -> &'static Queue {
    QUEUE.get_or_init(|| {
        std::thread::Builder::new()
            .name("oxbeam-python-decref".into())
            .spawn(run)
            .expect("could not start the decref thread");
        Queue {
            pending: Mutex::new(Vec::new()),
            wake: Condvar::new(),
        }
    })
}

/// Releases one strong reference, later, with the GIL.
pub fn release(ptr: NonNull<pyo3::ffi::PyObject>) {
    push(Pending::Object(ptr.as_ptr() as usize));
}

/// Releases one buffer export, later, with the GIL.
pub fn release_buffer(view: Box<crate::buffer::RawBuffer>) {
    push(Pending::Buffer(view));
}

fn push(item: Pending) {
    let queue = queue();
    let mut pending = queue.pending.lock().unwrap_or_else(|e| e.into_inner());
    pending.push(item);
    if pending.len() == 1 {
        queue.wake.notify_one();
    }
}

/// After waking, wait this long for more releases before taking the GIL: a steady
/// trickle of drops (one per eval) then costs one GIL handoff per batch instead of
/// one per object, which would ping-pong the GIL with the evals.
const GATHER: std::time::Duration = std::time::Duration::from_millis(2);

fn run() {
    let queue = queue();
    loop {
        {
            let mut pending = queue.pending.lock().unwrap_or_else(|e| e.into_inner());
            while pending.is_empty() {
                pending = queue.wake.wait(pending).unwrap_or_else(|e| e.into_inner());
            }
        }
        std::thread::sleep(GATHER);
        let mut batch = {
            let mut pending = queue.pending.lock().unwrap_or_else(|e| e.into_inner());
            while pending.is_empty() {
                pending = queue.wake.wait(pending).unwrap_or_else(|e| e.into_inner());
            }
            std::mem::take(&mut *pending)
        };
        for chunk in batch.chunks_mut(BATCH) {
            crate::gil::with_gil(|_py| release_all(chunk));
        }
    }
}

/// Releases, right now, every reference waiting for the decref thread (the caller
/// holds the GIL): called before a large allocation, so that memory the Elixir side
/// already let go of is free again for it.
pub fn release_pending_now(_py: pyo3::Python<'_>) {
    let Some(queue) = QUEUE.get() else {
        return;
    };
    let mut batch = {
        let mut pending = queue.pending.lock().unwrap_or_else(|e| e.into_inner());
        // A long queue is the decref thread's (it lets go of the GIL between batches).
        if pending.len() > BATCH {
            return;
        }
        std::mem::take(&mut *pending)
    };
    release_all(&mut batch);
}

/// Releases each reference of `batch` (the caller holds the GIL).
fn release_all(batch: &mut [Pending]) {
    for item in batch.iter_mut() {
        match item {
            // SAFETY: each pointer carries one strong reference handed over by a
            // dropped PyObjectRef; the caller holds the GIL.
            Pending::Object(ptr) => unsafe {
                pyo3::ffi::Py_DECREF(*ptr as *mut pyo3::ffi::PyObject)
            },
            // SAFETY: an export handed over by a dropped HeldBuffer, released this once
            // (the batch is dropped after); the caller holds the GIL.
            Pending::Buffer(view) => unsafe {
                crate::buffer::HeldBuffer::release_with_gil_held(view)
            },
        }
    }
}

/// Number of references waiting to be released (for tests and diagnostics).
pub fn pending() -> usize {
    QUEUE
        .get()
        .map(|q| q.pending.lock().unwrap_or_else(|e| e.into_inner()).len())
        .unwrap_or(0)
}
