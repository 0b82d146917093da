//! Starting the interpreter (once per VM) and the `oxbeam` helper module.

use crate::output::PyPid;
use oxbeam::{nif, Atom, Env, LocalPid, Term};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

mod atoms {
    oxbeam::atoms! { ok }
}

/// What the interpreter was started with; a second `init` must ask for the same.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Setup {
    site_dirs: Vec<String>,
}

static SETUP: Mutex<Option<Setup>> = Mutex::new(None);
static HELPER: OnceLock<Py<PyModule>> = OnceLock::new();
static MAIN_TEMPLATE: OnceLock<Py<PyDict>> = OnceLock::new();

thread_local! {
    /// The namespace of this thread's last eval, when that eval left it as fresh as a
    /// copy of the template and nothing else holds it (see `recycle_namespace`).
    static SPARE_NAMESPACE: std::cell::Cell<Option<Py<PyDict>>> =
        const { std::cell::Cell::new(None) };
}

/// A fresh `__main__` namespace for one eval: `__name__` and `__builtins__` only (the
/// last eval's on this thread when it is as fresh, else a copy of a template, which
/// costs less than building it).
pub fn fresh_namespace(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    if let Some(spare) = SPARE_NAMESPACE.take() {
        return Ok(spare.into_bound(py));
    }
    match MAIN_TEMPLATE.get() {
        Some(template) => template.bind(py).copy(),
        None => Err(pyo3::exceptions::PyRuntimeError::new_err(
            "Python interpreter is not initialized",
        )),
    }
}

/// The template's two entries, key and value objects by address (the template keeps
/// them alive): a namespace's own entries are told apart without hashing.
static OWN_ENTRIES: OnceLock<[(usize, usize); 2]> = OnceLock::new();

/// If `key` is one of a namespace's own keys (the very `__name__` or `__builtins__`
/// object of the template): whether `value` is still its initial object. Only compares
/// addresses.
pub fn own_entry(key: *mut pyo3::ffi::PyObject, value: *mut pyo3::ffi::PyObject) -> Option<bool> {
    let entries = OWN_ENTRIES.get()?;
    let (_, initial) = entries.iter().find(|(own, _)| *own == key as usize)?;
    Some(*initial == value as usize)
}

/// Keeps an eval's `namespace` for the next eval on this thread when it cannot be told
/// from a fresh one: `pristine` (its only entries are its own two, with their initial
/// objects: see `own_entry`) and nothing else holds it (no function, frame or
/// traceback made by the eval refers to it). Otherwise it is dropped.
pub fn recycle_namespace(namespace: Bound<'_, PyDict>, pristine: bool) {
    // SAFETY: GIL held (the Bound proves it); reads the reference count of a live
    // object.
    if pristine && unsafe { pyo3::ffi::Py_REFCNT(namespace.as_ptr()) } == 1 {
        SPARE_NAMESPACE.set(Some(namespace.unbind()));
    }
}

const HELPER_SOURCE: &str = include_str!("oxbeam_helper.py");

/// The `oxbeam` helper module; raises if the interpreter is not initialized.
pub fn helper(py: Python<'_>) -> oxbeam::Result<Bound<'_, PyModule>> {
    match HELPER.get() {
        Some(module) => Ok(module.bind(py).clone()),
        None => Err(not_initialized()),
    }
}

/// Raises unless the interpreter was initialized; call before attaching to Python.
pub fn ensure_initialized() -> oxbeam::Result<()> {
    if HELPER.get().is_some() {
        Ok(())
    } else {
        Err(not_initialized())
    }
}

pub fn not_initialized() -> oxbeam::Error {
    oxbeam::Error::runtime_error(
        "Python interpreter is not initialized: call Oxbeam.Python.uv_init/2 or Oxbeam.Python.init/1 first",
    )
}

/// Starts the interpreter with `site_dirs` added to `sys.path` (a venv's
/// site-packages), `executable` as `sys.executable`, and IO replies going to `io_sink`.
/// Idempotent for the same setup; a different setup raises.
#[nif(schedule = "dirty_io")]
fn init(
    site_dirs: Vec<String>,
    executable: Option<String>,
    io_sink: LocalPid,
    map_set_fields: Vec<(Atom, i64)>,
) -> oxbeam::Result<Atom> {
    crate::convert::set_map_set_fields(map_set_fields);
    let wanted = Setup { site_dirs };
    let mut setup = SETUP.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(current) = setup.as_ref() {
        if *current == wanted {
            return Ok(atoms::ok());
        }
        return Err(oxbeam::Error::runtime_error(format!(
            "Python interpreter is already initialized with a different environment \
             (site directories {:?}); restart the VM to use {:?}",
            current.site_dirs, wanted.site_dirs
        )));
    }
    // From here on this library image must never be unmapped (see `pin_this_image`).
    pin_this_image()?;
    STARTED_PYTHON.store(true, Ordering::SeqCst);
    promote_libpython_to_global();
    crate::output::set_reply_to(io_sink);
    // Python's large blocks from the VM's allocator (raw_alloc.rs): before Python's
    // pre-initialization, which Python::initialize runs (Py_InitializeEx).
    crate::raw_alloc::install();
    Python::initialize();
    Python::attach(|py| -> oxbeam::Result<()> {
        let sys = py.import("sys").map_err(py_error)?;
        let site = py.import("site").map_err(py_error)?;
        for dir in &wanted.site_dirs {
            site.call_method1("addsitedir", (dir,)).map_err(py_error)?;
        }
        if let Some(executable) = &executable {
            sys.setattr("executable", executable).map_err(py_error)?;
        }
        let native = PyModule::new(py, "_oxbeam_native").map_err(py_error)?;
        for function in [
            pyo3::wrap_pyfunction!(crate::output::write, &native),
            pyo3::wrap_pyfunction!(crate::output::current_device, &native),
            pyo3::wrap_pyfunction!(crate::output::set_device, &native),
            pyo3::wrap_pyfunction!(crate::output::send_tagged_object, &native),
        ] {
            native
                .add_function(function.map_err(py_error)?)
                .map_err(py_error)?;
        }
        native.add_class::<PyPid>().map_err(py_error)?;
        native
            .add_class::<crate::output::PyDevice>()
            .map_err(py_error)?;
        let source = CString::new(HELPER_SOURCE).expect("no NUL in the helper");
        let helper = PyModule::new(py, "oxbeam").map_err(py_error)?;
        helper.setattr("_native", &native).map_err(py_error)?;
        for name in ["PID", "Pid"] {
            helper
                .setattr(name, py.get_type::<PyPid>())
                .map_err(py_error)?;
        }
        py.run(&source, Some(&helper.dict()), None)
            .map_err(py_error)?;
        sys.getattr("modules")
            .and_then(|m| m.set_item("oxbeam", &helper))
            .map_err(py_error)?;
        let template = PyDict::new(py);
        template
            .set_item(pyo3::intern!(py, "__name__"), "__main__")
            .and_then(|_| {
                template.set_item(pyo3::intern!(py, "__builtins__"), py.import("builtins")?)
            })
            .map_err(py_error)?;
        let mut entries = [(0, 0); 2];
        for (entry, (key, value)) in entries.iter_mut().zip(template.iter()) {
            *entry = (key.as_ptr() as usize, value.as_ptr() as usize);
        }
        let _ = OWN_ENTRIES.set(entries);
        let _ = MAIN_TEMPLATE.set(template.unbind());
        let _ = HELPER.set(helper.unbind());
        Ok(())
    })?;
    *setup = Some(wanted);
    Ok(atoms::ok())
}

fn py_error(error: PyErr) -> oxbeam::Error {
    oxbeam::Error::runtime_error(format!("could not initialize Python: {error}"))
}

/// The VM loads this library (and with it libpython) with local symbol scope, but C
/// extension modules (numpy, ...) expect libpython's symbols to be global. Reopen it
/// with RTLD_GLOBAL (RTLD_NOLOAD: it is already loaded; this only widens its scope).
fn promote_libpython_to_global() {
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    // SAFETY: dladdr reads the address of a libpython function and fills info; the
    // file name it returns stays valid while libpython is loaded, and we only pass it
    // to dlopen, which keeps libpython loaded (one more reference, never dropped).
    unsafe {
        let symbol = pyo3::ffi::Py_IsInitialized as *const libc::c_void;
        if libc::dladdr(symbol, info.as_mut_ptr()) != 0 {
            let info = info.assume_init();
            if !info.dli_fname.is_null() {
                libc::dlopen(
                    info.dli_fname,
                    libc::RTLD_NOW | libc::RTLD_GLOBAL | libc::RTLD_NOLOAD,
                );
            }
        }
    }
}

/// Set (before Python starts) by the `init` of this library image.
static STARTED_PYTHON: AtomicBool = AtomicBool::new(false);

/// The library's load hook, run on load and on upgrade.
///
/// Once an image of this library has started Python, the interpreter depends on that
/// image for the life of the VM: its decref and interrupt threads run its code, and
/// the `oxbeam` module's functions and types (`_native.write`, `oxbeam.Pid`) point
/// into it. A second image (a hot upgrade, or a reload after the module was purged)
/// would start over with empty state next to a running interpreter: refuse it.
/// Loading the same image again (same file, still mapped) is fine: it shares the
/// state.
pub fn on_load(_env: Env<'_>, _info: Term<'_>) -> oxbeam::Result<()> {
    // SAFETY: Py_IsInitialized has no preconditions (it reads a flag of libpython,
    // which is loaded with this library).
    let running = unsafe { pyo3::ffi::Py_IsInitialized() } != 0;
    if running && !STARTED_PYTHON.load(Ordering::SeqCst) {
        return Err(oxbeam::Error::runtime_error(
            "Oxbeam.Python's NIF library cannot be loaded again into a VM where it already \
             started Python (a hot code upgrade or reload of Oxbeam.Python.NIF): the \
             interpreter's threads and Python types live in the library image that started \
             it, which stays loaded; restart the VM to use the new library",
        ));
    }
    Ok(())
}

/// Keeps this library image mapped for the life of the OS process, whatever happens
/// to its module: when the module's old code is purged the VM unloads the library,
/// and an unmapped image would pull the code from under the threads and Python
/// objects that run it.
fn pin_this_image() -> oxbeam::Result<()> {
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    // SAFETY: dladdr reads the address of a function of this image and fills info;
    // the file name it gives stays valid while the image is loaded, and we only pass
    // it to dlopen. RTLD_NOLOAD finds the image already loaded (nothing new is
    // loaded); RTLD_NODELETE makes the dynamic linker never unmap it, and the handle,
    // never closed, holds one more reference too.
    let pinned = unsafe {
        let symbol = pin_this_image as *const libc::c_void;
        if libc::dladdr(symbol, info.as_mut_ptr()) == 0 {
            false
        } else {
            let info = info.assume_init();
            !info.dli_fname.is_null()
                && !libc::dlopen(
                    info.dli_fname,
                    libc::RTLD_NOW | libc::RTLD_NOLOAD | libc::RTLD_NODELETE,
                )
                .is_null()
        }
    };
    if pinned {
        Ok(())
    } else {
        Err(oxbeam::Error::runtime_error(
            "could not initialize Python: could not pin the NIF library in memory (dladdr/dlopen failed)",
        ))
    }
}
