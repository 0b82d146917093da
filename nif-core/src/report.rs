//! Reporting failures that no caller can receive: a panic or a raise inside a resource
//! destructor, a `down` callback, or the library's load, upgrade or unload. Such a
//! failure is caught (unwinding into the VM would abort it) and logged through the
//! VM's logger, with its message and `file:line`, as an `error` event.
//!
//! The event goes to the `logger_proxy` process, which is where the VM itself sends
//! log events from native code (`{log, Level, Format, Args, Metadata}`), so it reaches
//! every handler `:logger` has (Elixir's `Logger` included). Without a running
//! `logger_proxy` (a VM started without the kernel's logger), it goes to stderr.

use crate::env::Env;
use crate::sys;
use std::any::Any;

/// Runs `f`, a callback the VM made; a panic or raise in it is reported as the failure
/// of `what` ("the destructor of resource Counter") instead of unwinding into the VM.
pub(crate) fn catching<R>(
    what: impl FnOnce() -> String,
    env: Option<Env<'_>>,
    f: impl FnOnce() -> R,
) -> Option<R> {
    let result = crate::panic::with_hook_recording(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
    });
    match result {
        Ok(value) => Some(value),
        Err(payload) => {
            report(
                env,
                &format!("{} failed: {}", what(), describe_unwind(&*payload)),
            );
            None
        }
    }
}

/// The message of a caught unwind: a panic (with the `file:line` the hook recorded),
/// an `oxbeam::raise` (with where it was raised), or a lazily found decode error.
pub(crate) fn describe_unwind(payload: &(dyn Any + Send)) -> String {
    if let Some(raised) = payload.downcast_ref::<crate::error::RaisePayload>() {
        return raised.describe();
    }
    if let Some(lazy) = payload.downcast_ref::<crate::nif::LazyArgError>() {
        return lazy.describe();
    }
    crate::panic::panic_message(payload)
}

/// Logs `message` as an error through the VM's logger (stderr without one).
/// `env` is the callback's environment, when there is one.
pub(crate) fn report(env: Option<Env<'_>>, message: &str) {
    let text = format!("oxbeam: {}: {message}", crate::init::module_name());
    if !send_to_logger(env, &text) {
        eprintln!("{text}");
    }
}

fn send_to_logger(env: Option<Env<'_>>, text: &str) -> bool {
    // The caller's environment may be used for whereis/send only on a VM thread; on a
    // thread of the library's own, erl_nif wants NULL.
    let caller = match (env, crate::schedule::thread_kind()) {
        (_, crate::schedule::ThreadKind::Other) => std::ptr::null_mut(),
        (Some(env), _) => env.as_raw(),
        (None, _) => return false,
    };
    // SAFETY: a process-independent environment, freed below; every term is built in
    // it; `caller` is NULL or this thread's callback/call environment (see above);
    // enif_whereis_pid writes the pid only when it returns true; enif_send with a
    // msg_env copies nothing and takes the message out of msg_env, which is then
    // cleared by enif_free_env.
    unsafe {
        let msg_env = sys::enif_alloc_env();
        if msg_env.is_null() {
            return false;
        }
        let name = b"logger_proxy";
        let proxy = sys::enif_make_atom_len(msg_env, name.as_ptr() as *const _, name.len());
        let mut pid = std::mem::MaybeUninit::<sys::ErlNifPid>::uninit();
        let mut sent = false;
        if sys::enif_whereis_pid(caller, proxy, pid.as_mut_ptr()) != 0 {
            let message = log_event(msg_env, text);
            sent = sys::enif_send(caller, pid.as_ptr(), msg_env, message) != 0;
        }
        sys::enif_free_env(msg_env);
        sent
    }
}

/// `{log, error, "~ts", [Text], #{oxbeam => true}}` in `env`.
///
/// # Safety
/// `env` must be a live process-independent environment.
unsafe fn log_event(env: *mut sys::ErlNifEnv, text: &str) -> sys::ERL_NIF_TERM {
    let atom = |name: &str| {
        // SAFETY (caller): env is live; the names are ASCII.
        unsafe { sys::enif_make_atom_len(env, name.as_ptr() as *const _, name.len()) }
    };
    let binary = |bytes: &[u8]| {
        let mut term = 0;
        // SAFETY (caller): env is live; the new binary has bytes.len() writable bytes.
        unsafe {
            let data = sys::enif_make_new_binary(env, bytes.len(), &mut term);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
        }
        term
    };
    // SAFETY (caller): every term is built in env.
    unsafe {
        let args = sys::enif_make_list_from_array(env, [binary(text.as_bytes())].as_ptr(), 1);
        let mut meta = sys::enif_make_new_map(env);
        let mut with_key = 0;
        sys::enif_make_map_put(env, meta, atom("oxbeam"), atom("true"), &mut with_key);
        meta = with_key;
        let elements = [atom("log"), atom("error"), binary(b"~ts"), args, meta];
        sys::enif_make_tuple_from_array(env, elements.as_ptr(), elements.len() as _)
    }
}
