//! Panics inside NIF calls become Elixir exceptions.
//!
//! The NIF wrapper runs the call under one `catch_unwind`. A panic hook (installed
//! once, when the library loads) records the panic's message and `file:line` for the
//! wrapper, and prints nothing when the panic happens on a BEAM scheduler thread —
//! there, every panic is caught and becomes an exception. Panics on other threads
//! (threads the NIF author spawned) go to the previous hook as usual.

use crate::sys;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::sync::Once;

thread_local! {
    /// The message and location of the last panic on this thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Set while a VM callback runs under `with_hook_recording` on any thread: its
    /// panics are caught and reported, so the hook records them instead of printing.
    static RECORDING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the hook recording panics on this thread (any thread), as on a
/// scheduler thread: for callbacks whose panics oxbeam catches and reports.
pub(crate) fn with_hook_recording<R>(f: impl FnOnce() -> R) -> R {
    let was = RECORDING.with(|r| r.replace(true));
    let result = f();
    RECORDING.with(|r| r.set(was));
    result
}

static INSTALL: Once = Once::new();

/// Installs the hook, once per library.
pub(crate) fn install_hook() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if RECORDING.with(Cell::get) || on_scheduler_thread() {
                let message = payload_message(info.payload());
                let text = match info.location() {
                    Some(loc) => format!(
                        "panicked at {}:{}:{}: {message}",
                        loc.file(),
                        loc.line(),
                        loc.column()
                    ),
                    None => format!("panicked: {message}"),
                };
                LAST_PANIC.with(|last| *last.borrow_mut() = Some(text));
            } else {
                previous(info);
            }
        }));
    });
}

/// True on normal and dirty scheduler threads, where panics come from NIF calls.
fn on_scheduler_thread() -> bool {
    // SAFETY: enif_thread_type has no preconditions and may be called from any thread.
    let kind = unsafe { sys::enif_thread_type() } as u32;
    kind == sys::ERL_NIF_THR_NORMAL_SCHEDULER
        || kind == sys::ERL_NIF_THR_DIRTY_CPU_SCHEDULER
        || kind == sys::ERL_NIF_THR_DIRTY_IO_SCHEDULER
}

fn payload_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "Box<dyn Any>"
    }
}

/// The exception message for a caught panic: what the hook recorded, or (if the hook
/// did not run, e.g. a payload resumed with `resume_unwind`) the payload's text.
#[cold]
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    LAST_PANIC
        .with(|last| last.borrow_mut().take())
        .unwrap_or_else(|| format!("panicked: {}", payload_message(payload)))
}
