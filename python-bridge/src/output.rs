//! Python's output to Elixir's IO: `print` and `sys.stdout`/`sys.stderr` writes become
//! `put_chars` IO requests to the devices of the eval that runs (or started the
//! thread that runs) them, by default the caller's group leader.

use oxbeam::{Encode, Env, LocalPid, OwnedEnv, Term};
use pyo3::prelude::*;
use std::cell::Cell;

mod atoms {
    oxbeam::atoms! { io_request, put_chars, unicode, oxbeam_python_output }
}

/// An Elixir pid, as seen from Python.
#[pyclass(frozen, module = "oxbeam", name = "Pid")]
pub struct PyPid {
    pub pid: LocalPid,
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
    pub stderr: LocalPid,
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
pub fn write(index: usize, text: &str) {
    let Some(device) = DEVICE.with(|d| d.get()) else {
        return;
    };
    let device = if index == 0 {
        device.stdout
    } else {
        device.stderr
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
