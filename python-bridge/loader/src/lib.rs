//! `oxbeam-python-loader`: the NIF library `Oxbeam.Python` loads first. The bridge
//! (`oxbeam-python`) is built against CPython's stable ABI and links no libpython, so
//! one build runs on any CPython 3.10+; its Python symbols are resolved when it is
//! loaded, from the libpython this library has made global: the one of the
//! interpreter `Oxbeam.Python.init` chose.

use oxbeam::{nif, Atom, Env, LocalPid, Resource, ResourceArc};
use std::ffi::CString;

/// Loads the shared library at `path` with global symbol scope (`RTLD_GLOBAL`), for the
/// life of the VM. `{:ok, true}`, or `{:error, message}` with the dynamic linker's message.
#[nif(schedule = "dirty_io")]
fn load_global(path: String) -> Result<bool, String> {
    let c_path = CString::new(path.clone()).map_err(|_| format!("{path:?} contains a NUL byte"))?;
    // SAFETY: c_path is a valid C string for the call. dlopen runs the library's
    // constructors (libpython's do no more than set up static data) and returns a
    // handle, never closed: the library stays loaded for the life of the process, as
    // the bridge built on it needs.
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
    if !handle.is_null() {
        return Ok(true);
    }
    // SAFETY: dlerror returns NULL or a C string valid until the next dl* call on this
    // thread; it is copied at once.
    let message = unsafe {
        let error = libc::dlerror();
        if error.is_null() {
            "unknown error".to_string()
        } else {
            std::ffi::CStr::from_ptr(error)
                .to_string_lossy()
                .into_owned()
        }
    };
    Err(message)
}

mod atoms {
    oxbeam::atoms! { oxbeam_python_released }
}

/// A garbage-collection notifier for a remote Python object (`Oxbeam.Python.Remote`):
/// Erlang has no distributed GC, so the node holding a remote object's handle keeps one
/// of these in the handle; when the last term holding it is freed, it tells `target`
/// (the node's object tracker) `{:oxbeam_python_released, owner, id}`, and the tracker
/// tells the owner node to let the object go. It lives in this library because it needs
/// no Python: a node that only holds remote objects never loads the bridge.
pub struct GcNotifier {
    target: LocalPid,
    owner: Atom,
    id: i64,
}

#[oxbeam::resource]
impl Resource for GcNotifier {
    fn destructor<'a>(&mut self, env: Env<'a>) {
        // A tracker that is gone has nothing to release: the send may fail.
        let _ = env.send(
            &self.target,
            (atoms::oxbeam_python_released(), self.owner, self.id),
        );
    }
}

/// A notifier sending `{:oxbeam_python_released, owner, id}` to `target` when Erlang
/// frees it.
#[nif]
fn gc_notifier(target: LocalPid, owner: Atom, id: i64) -> ResourceArc<GcNotifier> {
    ResourceArc::new(GcNotifier { target, owner, id })
}

oxbeam::init!("Elixir.Oxbeam.Python.Loader");
