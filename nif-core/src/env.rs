//! [`Env`]: the environment a NIF call (or an owned environment) builds terms in.

use crate::sys;
use std::marker::PhantomData;

/// A NIF environment.
///
/// `Env<'a>` is a copyable handle valid for `'a`: the duration of one NIF call for the
/// environment the VM passes in. Every [`Term<'a>`](crate::Term) carries the same
/// lifetime, so a term cannot outlive its environment or be mixed with the terms of
/// another one; both mistakes are compile errors.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    raw: *mut sys::ErlNifEnv,
    // Invariant in 'a: terms of two different environments never unify.
    _lifetime: PhantomData<fn(&'a ()) -> &'a ()>,
}

impl<'a> Env<'a> {
    /// Wraps a raw environment pointer.
    ///
    /// # Safety
    /// `raw` must be a valid environment for all of `'a` (e.g. the `env` argument of a
    /// NIF call, used only during that call).
    #[inline(always)]
    pub unsafe fn from_raw(raw: *mut sys::ErlNifEnv) -> Env<'a> {
        Env {
            raw,
            _lifetime: PhantomData,
        }
    }

    /// The raw `ErlNifEnv*`, for calling erl_nif functions oxbeam does not wrap.
    #[inline(always)]
    pub fn as_raw(self) -> *mut sys::ErlNifEnv {
        self.raw
    }
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Env({:p})", self.raw)
    }
}

use crate::codec::Encode;
use crate::error::Error;
use crate::term::Term;
use crate::types::pid::LocalPid;
use crate::Atom;

impl<'a> Env<'a> {
    /// The calling process. Raises if this environment is not a process's (e.g. an
    /// [`OwnedEnv`](crate::OwnedEnv) or a callback's; see [`try_pid`](Self::try_pid)).
    #[track_caller]
    pub fn pid(self) -> LocalPid {
        self.try_pid().unwrap_or_else(|| {
            crate::raise(Error::runtime_error(
                "Env::pid: this environment belongs to no process",
            ))
        })
    }

    /// The calling process, or `None` if this environment is not a process's.
    pub fn try_pid(self) -> Option<LocalPid> {
        let mut pid = std::mem::MaybeUninit::<sys::ErlNifPid>::uninit();
        // SAFETY: enif_self writes the pid and returns it, or NULL when the
        // environment is not process bound.
        let got = unsafe { sys::enif_self(self.raw, pid.as_mut_ptr()) };
        // SAFETY: initialized by enif_self with the VM's pid of this process.
        (!got.is_null()).then(|| unsafe { LocalPid::from_raw(pid.assume_init()) })
    }

    /// Sends `message` (a term of this environment, or anything encodable) to `pid`
    /// from within a NIF call. Returns `Err` if the process is not alive.
    pub fn send(self, pid: &LocalPid, message: impl Encode<'a>) -> Result<(), Error> {
        let message = message.encode(self);
        // SAFETY: self is the process-bound environment of this call; with msg_env
        // NULL the message is copied from it.
        let sent = unsafe {
            sys::enif_send(
                self.raw,
                pid.as_raw(),
                std::ptr::null_mut(),
                message.as_raw(),
            )
        };
        if sent != 0 {
            Ok(())
        } else {
            Err(Error::exception(
                "Elixir.ArgumentError",
                "cannot send to a process that is not alive",
            ))
        }
    }

    /// The pid registered under `name`, if any.
    pub fn whereis(self, name: Atom) -> Option<LocalPid> {
        let mut pid = std::mem::MaybeUninit::<sys::ErlNifPid>::uninit();
        // SAFETY: name is an atom; pid is initialized on success.
        (unsafe { sys::enif_whereis_pid(self.raw, name.as_raw(), pid.as_mut_ptr()) } != 0)
            // SAFETY (the closure): initialized by the VM with one of its pids (the call succeeded).
            .then(|| unsafe { LocalPid::from_raw(pid.assume_init()) })
    }

    /// Whether the process `pid` is alive.
    pub fn is_process_alive(self, pid: &LocalPid) -> bool {
        let mut raw = *pid.as_raw();
        // SAFETY: raw is a valid pid; the call only reads it.
        unsafe { sys::enif_is_process_alive(self.raw, &mut raw) != 0 }
    }

    /// Reports that the NIF used `percent` of a timeslice (1..=100); true when the
    /// slice is used up and a long-running NIF should yield (return, or reschedule).
    pub fn consume_timeslice(self, percent: u8) -> bool {
        let percent = percent.clamp(1, 100) as std::ffi::c_int;
        // SAFETY: self is a process-bound environment of a NIF call.
        unsafe { sys::enif_consume_timeslice(self.raw, percent) != 0 }
    }

    /// The private data the library's `load` hook returned (see `init!`), if it is
    /// a `T`.
    pub fn priv_data<T: std::any::Any>(self) -> Option<&'a T> {
        crate::init::priv_data(self)
    }

    /// A new unique reference (`make_ref()`).
    pub fn make_ref(self) -> Term<'a> {
        crate::types::reference::Reference::new(self).term()
    }
}

/// A variable of the VM's environment, as `System.get_env/1` sees it (`System.put_env/2`
/// changes the VM's copy, which `std::env::var` does not read).
pub fn getenv(name: &str) -> Option<String> {
    let name = std::ffi::CString::new(name).ok()?;
    let mut size: usize = 256;
    loop {
        let mut buf = vec![0u8; size];
        let mut len = size;
        // SAFETY: buf has len writable bytes; enif_getenv writes at most len bytes and
        // stores the needed size in len when the buffer is too small (returns 1).
        match unsafe { sys::enif_getenv(name.as_ptr(), buf.as_mut_ptr() as *mut _, &mut len) } {
            0 => {
                buf.truncate(len);
                return Some(String::from_utf8_lossy(&buf).into_owned());
            }
            1 if len > size => size = len,
            _ => return None,
        }
    }
}
