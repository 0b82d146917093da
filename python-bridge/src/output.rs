//! Python's output to Elixir's IO: `print` and `sys.stdout`/`sys.stderr` writes become
//! `put_chars` IO requests to the devices of the eval that runs (or started the
//! thread that runs) them, by default the caller's group leader.

use oxbeam::{Atom, Encode, Env, LocalPid, OwnedEnv, Term};
use pyo3::prelude::*;
use std::cell::Cell;

mod atoms {
    oxbeam::atoms! { io_request, put_chars, unicode, oxbeam_python_output, standard_error }
}

/// An Elixir pid, as seen from Python (`oxbeam.PID`, as Pythonx's `pythonx.PID`); it
/// decodes back to the same pid.
#[pyclass(frozen, module = "oxbeam", name = "PID")]
pub struct PyPid {
    pub pid: LocalPid,
}

#[pymethods]
impl PyPid {
    fn __repr__(&self) -> &'static str {
        "<oxbeam.PID>"
    }
}

thread_local! {
    /// The environment of the NIF call running on this thread, if any: sends from a
    /// VM thread must name it.
    static CALL_ENV: Cell<*mut oxbeam::sys::ErlNifEnv> = const { Cell::new(std::ptr::null_mut()) };
}

/// Where IO replies go: a process of `Oxbeam.Python` that discards them.
static REPLY_TO: std::sync::Mutex<Option<LocalPid>> = std::sync::Mutex::new(None);

/// Marks the current thread as running a NIF call with `env` for as long as the guard
/// lives, so Python code it runs can send messages.
pub struct CallEnvGuard {
    previous: *mut oxbeam::sys::ErlNifEnv,
}

impl CallEnvGuard {
    pub fn enter(env: Env<'_>) -> CallEnvGuard {
        let previous = CALL_ENV.with(|c| c.replace(env.as_raw()));
        CallEnvGuard { previous }
    }
}

impl Drop for CallEnvGuard {
    fn drop(&mut self) {
        CALL_ENV.with(|c| c.set(self.previous));
    }
}

/// Sends a message built by `build` to `pid`, from whatever thread Python runs on.
pub fn send(pid: &LocalPid, build: impl for<'a> FnOnce(Env<'a>) -> Term<'a>) {
    let raw = CALL_ENV.with(|c| c.get());
    if raw.is_null() {
        // A thread started by Python code: not a VM thread.
        let mut owned = OwnedEnv::new();
        let _ = owned.send_and_clear(pid, build);
    } else {
        // SAFETY: CALL_ENV is set only while the NIF call with this environment runs
        // on this thread (CallEnvGuard).
        let env = unsafe { Env::from_raw(raw) };
        let message = build(env);
        let _ = env.send(pid, message);
    }
}

/// Sets the process IO replies are sent to.
pub fn set_reply_to(pid: LocalPid) {
    *REPLY_TO.lock().unwrap_or_else(|e| e.into_inner()) = Some(pid);
}

/// Where one eval's output goes.
#[derive(Clone, Copy)]
pub struct Device {
    pub stdout: LocalPid,
    /// `None`: the process registered as `:standard_error` when Python writes to
    /// stderr, or `stdout` when there is none (eval's default: looked up only when
    /// there is output, not on every eval).
    pub stderr: Option<LocalPid>,
}

/// The process registered as `:standard_error`, if any.
fn standard_error() -> Option<LocalPid> {
    let raw = CALL_ENV.with(|c| c.get());
    if !raw.is_null() {
        // SAFETY: CALL_ENV is set only while the NIF call with this environment runs
        // on this thread (CallEnvGuard).
        return unsafe { Env::from_raw(raw) }.whereis(atoms::standard_error());
    }
    let mut pid = std::mem::MaybeUninit::<oxbeam::sys::ErlNifPid>::uninit();
    // SAFETY: a thread started by Python code, which the VM did not create:
    // enif_whereis_pid takes a NULL environment there; the name is an atom, and pid is
    // written when the call returns non-zero.
    let found = unsafe {
        oxbeam::sys::enif_whereis_pid(
            std::ptr::null_mut(),
            atoms::standard_error().as_raw(),
            pid.as_mut_ptr(),
        )
    } != 0;
    // SAFETY (the closure): the VM wrote one of its pids (the call succeeded).
    found.then(|| unsafe { LocalPid::from_raw(pid.assume_init()) })
}

thread_local! {
    /// The devices of the eval running on this thread, or of the eval that started
    /// this (Python) thread.
    static DEVICE: Cell<Option<Device>> = const { Cell::new(None) };
}

/// Sends this thread's Python output to `device` for as long as the guard lives.
pub struct DeviceGuard {
    previous: Option<Device>,
}

impl DeviceGuard {
    pub fn enter(device: Device) -> DeviceGuard {
        DeviceGuard {
            previous: DEVICE.with(|d| d.replace(Some(device))),
        }
    }
}

impl Drop for DeviceGuard {
    fn drop(&mut self) {
        DEVICE.with(|d| d.set(self.previous));
    }
}

/// A thread's devices, carried by Python from a thread that starts another to the new
/// thread (see `oxbeam_helper.py`).
#[pyclass(frozen, module = "oxbeam", name = "Device")]
pub struct PyDevice {
    device: Device,
}

/// `oxbeam._native.current_device()`: this thread's devices, if any.
#[pyfunction]
pub fn current_device() -> Option<PyDevice> {
    DEVICE.with(|d| d.get()).map(|device| PyDevice { device })
}

/// `oxbeam._native.set_device(device)`: a new Python thread takes its starter's devices.
#[pyfunction]
pub fn set_device(device: Option<&Bound<'_, PyDevice>>) {
    DEVICE.with(|d| d.set(device.map(|device| device.get().device)));
}

/// `oxbeam._native.write(index, text)`: `text` to this thread's stdout (0) or stderr (1)
/// device, as a `put_chars` IO request; dropped when the thread has none.
#[pyfunction]
pub fn write(index: usize, text: &str) -> PyResult<()> {
    guarded("write", || {
        write_to_device(index, text);
        Ok(())
    })
}

fn write_to_device(index: usize, text: &str) {
    let Some(device) = DEVICE.with(|d| d.get()) else {
        return;
    };
    let device = match (index, device.stderr) {
        (0, _) => device.stdout,
        (_, Some(stderr)) => stderr,
        (_, None) => standard_error().unwrap_or(device.stdout),
    };
    let Some(reply_to) = *REPLY_TO.lock().unwrap_or_else(|e| e.into_inner()) else {
        return;
    };
    let text = text.to_owned();
    send(&device, move |env| {
        let request = (atoms::put_chars(), atoms::unicode(), text.as_str()).encode(env);
        (
            atoms::io_request(),
            reply_to,
            atoms::oxbeam_python_output(),
            request,
        )
            .encode(env)
    });
}

/// Runs the body of a Python callback: a Rust panic in it (a bug) becomes a Python
/// `RuntimeError` with the panic's message, instead of pyo3's `PanicException` (which
/// pyo3 turns back into a panic, with a banner on stderr, when the error reaches the
/// eval). Callbacks report expected failures as Python exceptions themselves and
/// never use oxbeam's raising APIs.
pub fn guarded<T>(name: &str, body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "an internal error".to_string());
            Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
                "{name} failed in Oxbeam.Python: {message}"
            )))
        }
    }
}

/// The existing atom named `name` (latin-1, at most 255 characters), if there is one;
/// never creates an atom.
fn existing_atom(name: &str) -> Option<Atom> {
    let mut latin1 = Vec::with_capacity(name.len().min(oxbeam::atom::MAX_ATOM_LENGTH));
    for c in name.chars() {
        if latin1.len() == oxbeam::atom::MAX_ATOM_LENGTH {
            return None;
        }
        latin1.push(u8::try_from(u32::from(c)).ok()?);
    }
    let mut owned = OwnedEnv::new();
    owned.run(|env| {
        let mut raw: oxbeam::sys::ERL_NIF_TERM = 0;
        // SAFETY: `latin1` holds `len` readable bytes and `raw` is writable; the call
        // only looks the name up in the atom table (it never creates an atom) and
        // writes `raw` when it returns non-zero.
        let found = unsafe {
            oxbeam::sys::enif_make_existing_atom_len(
                env.as_raw(),
                latin1.as_ptr() as _,
                latin1.len(),
                &mut raw,
                oxbeam::sys::ErlNifCharEncoding::ERL_NIF_LATIN1,
            )
        } != 0;
        if !found {
            return None;
        }
        // SAFETY: an atom term, valid in every environment for the life of the VM.
        unsafe { Term::from_raw(raw) }.decode::<Atom>(env).ok()
    })
}

/// `name` for an error message: quoted, and cut after 80 characters.
fn shown(name: &str) -> String {
    match name.char_indices().nth(80) {
        Some((cut, _)) => format!(
            "'{}...' ({} characters)",
            &name[..cut],
            name.chars().count()
        ),
        None => format!("'{name}'"),
    }
}

/// `oxbeam.send_tagged_object(pid, tag, obj)`: sends `{tag, %Oxbeam.Python.Object{}}`.
/// `tag` must name an existing atom: atoms are never made from Python data (the atom
/// table is never garbage-collected).
#[pyfunction]
pub fn send_tagged_object(
    pid: &Bound<'_, PyPid>,
    tag: &str,
    object: &Bound<'_, PyAny>,
) -> PyResult<()> {
    guarded("send_tagged_object", || {
        let Some(tag) = existing_atom(tag) else {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "send_tagged_object: the tag must be the name of an existing atom \
                 (atoms are never made from Python data), got {}",
                shown(tag)
            )));
        };
        let pid = pid.get().pid;
        let object = oxbeam::ResourceArc::new(crate::object::PyObjectRef::new(object));
        send(&pid, move |env| {
            (tag, crate::convert::object_struct(env, object)).encode(env)
        });
        Ok(())
    })
}
