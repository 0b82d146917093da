//! I/O readiness without blocking a scheduler (`enif_select`): the VM watches a file
//! descriptor for a resource and sends a process `{:select, resource, ref,
//! :ready_input | :ready_output}` when it is readable or writable, once per
//! [`ResourceArc::select`]. Something Rustler does not offer.
//!
//! ```ignore
//! #[oxbeam::resource]
//! struct Conn { socket: std::os::unix::net::UnixStream }
//!
//! #[nif]
//! fn wait_readable<'a>(env: Env<'a>, conn: ResourceArc<Conn>) -> oxbeam::Result<Reference<'a>> {
//!     let reference = Reference::new(env);
//!     conn.select(env, |c| c.socket.as_fd(), Interest::Read, None, Some(reference))?;
//!     Ok(reference) // then: receive {:select, ^conn, ^ref, :ready_input}
//! }
//! ```
//!
//! The descriptor comes from a closure borrowing it from the resource's value, so it
//! is owned by the resource (or lives for ever): it stays open while the VM watches
//! it, because the VM keeps the resource alive from the first `select` until its
//! [`stop`](crate::Resource::stop) callback, and only the value's `Drop` (after that)
//! can close it. [`ResourceArc::select_stop`] ends the watch; implement `stop` to
//! learn when it is over.

use crate::env::Env;
use crate::error::Error;
use crate::resource::{Resource, ResourceArc};
use crate::sys;
use crate::types::pid::LocalPid;
use crate::types::reference::Reference;
use std::ffi::c_int;
use std::os::fd::{AsRawFd, BorrowedFd};

/// What to watch a descriptor for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// Readable: the message ends with `:ready_input`.
    Read,
    /// Writable: the message ends with `:ready_output`.
    Write,
}

impl Interest {
    fn bits(self) -> c_int {
        match self {
            Interest::Read => sys::SELECT_READ,
            Interest::Write => sys::SELECT_WRITE,
        }
    }
}

/// How [`ResourceArc::select_stop`] ended the watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The `stop` callback already ran, inside the call.
    Called,
    /// The `stop` callback will run on a scheduler thread soon (the VM was still
    /// polling the descriptor).
    Deferred,
}

// erl_nif.h's result bits.
const STOP_CALLED: c_int = 1;
const STOP_SCHEDULED: c_int = 2;
const INVALID_EVENT: c_int = 4;
const FAILED: c_int = 8;
const READ_CANCELLED: c_int = 16;
const WRITE_CANCELLED: c_int = 32;

impl<T: Resource> ResourceArc<T> {
    /// Asks the VM to send `{:select, resource, ref, :ready_input | :ready_output}` to
    /// `pid` (the calling process when `None`) once the descriptor `fd(&value)` is
    /// ready for `interest`; `ref` is `reference`, or `:undefined` when `None`. One
    /// message per call: select again after reading or writing. Must be called on a VM
    /// thread (in a NIF or a resource callback).
    pub fn select<'a>(
        &self,
        env: Env<'a>,
        fd: impl FnOnce(&T) -> BorrowedFd<'_>,
        interest: Interest,
        pid: Option<&LocalPid>,
        reference: Option<Reference<'a>>,
    ) -> Result<(), Error> {
        require_vm_thread("select")?;
        let pid = match pid {
            Some(pid) => *pid,
            None => env.try_pid().ok_or_else(|| {
                Error::argument_error(
                    "select: this environment belongs to no process: pass the pid to notify",
                )
            })?,
        };
        let reference = match reference {
            Some(reference) => reference.term().as_raw(),
            None => crate::Atom::from_str(env, "undefined").as_raw(),
        };
        let raw_fd = fd(self).as_raw_fd();
        let rc = self.select_raw(env, raw_fd, interest.bits(), pid.as_raw(), reference);
        if rc < 0 {
            return Err(select_failed("select", raw_fd, rc));
        }
        Ok(())
    }

    /// Cancels a pending [`select`](Self::select) for `interest`: true if one was
    /// pending (no message will come for it), false if there was none (its message
    /// may already be on its way).
    pub fn select_cancel(
        &self,
        env: Env<'_>,
        fd: impl FnOnce(&T) -> BorrowedFd<'_>,
        interest: Interest,
    ) -> Result<bool, Error> {
        require_vm_thread("select_cancel")?;
        let raw_fd = fd(self).as_raw_fd();
        let undefined = crate::Atom::from_str(env, "undefined").as_raw();
        let mode = sys::SELECT_CANCEL | interest.bits();
        let rc = self.select_raw(env, raw_fd, mode, std::ptr::null(), undefined);
        if rc < 0 {
            return Err(select_failed("select_cancel", raw_fd, rc));
        }
        let bit = match interest {
            Interest::Read => READ_CANCELLED,
            Interest::Write => WRITE_CANCELLED,
        };
        Ok(rc & bit != 0)
    }

    /// Ends every watch of the descriptor for this resource; the resource's
    /// [`stop`](crate::Resource::stop) callback runs, in this call or soon after.
    pub fn select_stop(
        &self,
        env: Env<'_>,
        fd: impl FnOnce(&T) -> BorrowedFd<'_>,
    ) -> Result<Stopped, Error> {
        require_vm_thread("select_stop")?;
        let raw_fd = fd(self).as_raw_fd();
        let undefined = crate::Atom::from_str(env, "undefined").as_raw();
        let rc = self.select_raw(env, raw_fd, sys::SELECT_STOP, std::ptr::null(), undefined);
        if rc < 0 {
            return Err(select_failed("select_stop", raw_fd, rc));
        }
        if rc & STOP_CALLED != 0 {
            Ok(Stopped::Called)
        } else if rc & STOP_SCHEDULED != 0 {
            Ok(Stopped::Deferred)
        } else {
            Err(Error::runtime_error(format!(
                "select_stop: the VM answered {rc:#x} for fd {raw_fd}"
            )))
        }
    }

    fn select_raw(
        &self,
        env: Env<'_>,
        fd: c_int,
        mode: c_int,
        pid: *const sys::ErlNifPid,
        reference: sys::ERL_NIF_TERM,
    ) -> c_int {
        // SAFETY: env is the environment of the calling VM thread (checked by the
        // callers) and reference a term of it (a reference, or an atom); pid is NULL
        // (cancel/stop, where the VM ignores it) or a valid pid; obj is this live
        // resource, of a type opened with a stop callback, which the VM keeps alive
        // until stop; fd is open and stays open until then: it was borrowed from the
        // resource's value (or is 'static), which only its Drop can close, and Drop
        // cannot run while the VM holds the resource. mode holds only listed bits.
        unsafe {
            sys::select_raw(
                env.as_raw(),
                fd,
                mode,
                self.as_ptr() as *mut std::ffi::c_void,
                pid,
                reference,
            )
        }
    }
}

fn require_vm_thread(what: &str) -> Result<(), Error> {
    if crate::schedule::thread_kind() == crate::schedule::ThreadKind::Other {
        return Err(Error::runtime_error(format!(
            "{what}: called on a thread the VM does not manage: call it from a NIF"
        )));
    }
    Ok(())
}

#[cold]
fn select_failed(what: &str, fd: c_int, rc: c_int) -> Error {
    let why = if rc & INVALID_EVENT != 0 {
        "not a valid file descriptor"
    } else if rc & FAILED != 0 {
        "the VM's poll set refused it"
    } else {
        "the VM refused"
    };
    Error::argument_error(format!("{what}: fd {fd}: {why}"))
}
