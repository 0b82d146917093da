//! `eval`, `encode`, `decode`, `repr`: each one dirty NIF call, under one GIL hold.

use crate::convert::{
    decode_failure, encode_failure, object_resource, to_python, to_term, BinaryAs, EncodeOptions,
};
use crate::error::raise_python;
use crate::interpreter::helper;
use crate::object::PyObjectRef;
use crate::output::{CallEnvGuard, Device, DeviceGuard};
use oxbeam::{nif, Atom, Encode, Env, LocalPid, MapFromIter, MapView, Next, Term};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyCode, PyDict, PyString};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

mod atoms {
    oxbeam::atoms! { str, buffer, value, none }
}

/// Options of `encode`/`eval` that change how values are converted: `binary_as` is
/// `:bytes`, `:str` or `:buffer` (checked by the Elixir side).
fn options(binary_as: Atom) -> EncodeOptions {
    let binary_as = if binary_as == atoms::str() {
        BinaryAs::Str
    } else if binary_as == atoms::buffer() {
        BinaryAs::Buffer
    } else {
        BinaryAs::Bytes
    };
    EncodeOptions { binary_as }
}

/// The code objects of one snippet: its statements and its final expression (whose
/// value is the eval's result), each absent when there is none.
struct Compiled {
    statements: Option<Py<PyCode>>,
    last: Option<Py<PyCode>>,
}

impl Compiled {
    /// Runs the snippet in `globals`; the value of the final expression (`None`
    /// included), or nothing when the code ends with a statement.
    fn run<'py>(&self, globals: &Bound<'py, PyDict>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let py = globals.py();
        if let Some(statements) = &self.statements {
            run_code(statements.bind(py), globals)?;
        }
        match &self.last {
            Some(last) => run_code(last.bind(py), globals).map(Some),
            None => Ok(None),
        }
    }
}

fn run_code<'py>(
    code: &Bound<'py, PyCode>,
    globals: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: GIL held (the Bounds prove it); code is a code object and globals a dict,
    // both alive for the call; PyEval_EvalCode returns a new reference or NULL with an
    // exception set, which from_owned_ptr_or_err turns into a PyErr.
    unsafe {
        let result = pyo3::ffi::PyEval_EvalCode(code.as_ptr(), globals.as_ptr(), globals.as_ptr());
        Bound::from_owned_ptr_or_err(globals.py(), result)
    }
}

/// Compiled snippets, by source: parsing and compiling cost more than running small
/// snippets. Emptied when it reaches `COMPILED_MAX` entries.
static COMPILED: Mutex<Option<HashMap<String, Arc<Compiled>>>> = Mutex::new(None);
const COMPILED_MAX: usize = 512;

/// The compiled form of `code`, from the cache or compiled now (by the helper's
/// `_compile`, which splits off the final expression).
fn compiled(py: Python<'_>, code: &str) -> PyResult<Arc<Compiled>> {
    thread_local! {
        /// The last snippet this thread ran: a loop of evals of the same code skips the
        /// shared cache's lock and hash.
        static LAST: std::cell::RefCell<Option<(String, Arc<Compiled>)>> =
            const { std::cell::RefCell::new(None) };
    }
    let last = LAST.with_borrow(|last| match last {
        Some((source, compiled)) if source == code => Some(compiled.clone()),
        _ => None,
    });
    if let Some(compiled) = last {
        return Ok(compiled);
    }
    let compiled = compiled_shared(py, code)?;
    LAST.with_borrow_mut(|last| *last = Some((code.to_owned(), compiled.clone())));
    Ok(compiled)
}

fn compiled_shared(py: Python<'_>, code: &str) -> PyResult<Arc<Compiled>> {
    let cached = COMPILED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .and_then(|cache| cache.get(code).cloned());
    if let Some(compiled) = cached {
        return Ok(compiled);
    }
    let helper = helper(py).map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("no helper"))?;
    let (statements, last): (Option<Bound<PyCode>>, Option<Bound<PyCode>>) = helper
        .call_method1(intern!(py, "_compile"), (code,))?
        .extract()?;
    let compiled = Arc::new(Compiled {
        statements: statements.map(Bound::unbind),
        last: last.map(Bound::unbind),
    });
    let mut cache = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
    let cache = cache.get_or_insert_with(HashMap::new);
    if cache.len() >= COMPILED_MAX {
        // Dropping the code objects needs the GIL, which this thread holds.
        cache.clear();
    }
    cache.insert(code.to_owned(), compiled.clone());
    Ok(compiled)
}

/// The name of a global: a string key, or an atom's name.
fn global_name<'a>(env: Env<'a>, key: Term<'a>) -> oxbeam::Result<std::borrow::Cow<'a, str>> {
    if let Ok(name) = key.decode::<&str>(env) {
        return Ok(name.into());
    }
    if let Ok(atom) = key.decode::<Atom>(env) {
        return Ok(atom.name(env)?.into());
    }
    Err(oxbeam::Error::argument_error(format!(
        "globals keys must be strings or atoms, got: {}",
        key.inspect(env)
    )))
}

/// Runs `code` with `globals` (string or atom keys, encoded values) and output going to
/// `stdout`/`stderr` (`nil`: `:standard_error`, looked up when there is output); returns `{result, globals}`: the result's resource (or nil) and a
/// map of name → resource. The Elixir side wraps each resource in an `Object` struct,
/// which costs less there than building maps here (they would be copied from this
/// dirty call's heap to the process).
#[nif(schedule = "dirty_io")]
fn eval<'a>(
    env: Env<'a>,
    code: &str,
    globals: MapView<'a>,
    stdout: LocalPid,
    stderr: Option<LocalPid>,
    binary_as: Atom,
    timeout_ms: Option<u64>,
) -> oxbeam::Result<(Term<'a>, Term<'a>)> {
    crate::interpreter::ensure_initialized()?;
    let _guard = CallEnvGuard::enter(env);
    // Registered before waiting for the GIL (the caller may die meanwhile); released on
    // every path out of this call.
    let registration =
        crate::interrupt::register(env, timeout_ms.map(std::time::Duration::from_millis));
    crate::gil::with_gil(|py| {
        let helper = helper(py)?;
        let fail = |e: PyErr| raise_python(env, py, &e, helper.as_any());
        let dict = crate::interpreter::fresh_namespace(py).map_err(fail)?;
        for (key, value) in globals {
            let name = global_name(env, key)?;
            let name = name.as_ref();
            let value = to_python(py, env, value, options(binary_as))
                .map_err(|e| encode_failure(env, py, e, &format!("global {name:?}: ")))?;
            dict.set_item(name, value).map_err(fail)?;
        }
        let compiled = compiled(py, code).map_err(fail)?;
        let _device = DeviceGuard::enter(Device { stdout, stderr });
        if let Err(cause) = registration.start() {
            return Err(crate::interrupt::not_started(cause, timeout_ms));
        }
        let result = compiled.run(&dict);
        let interrupted = registration.finish();
        let result = match (result, interrupted) {
            (Ok(result), _) => result,
            (Err(_), Some(crate::interrupt::Cause::Timeout)) => {
                return Err(oxbeam::Error::exception(
                    "Oxbeam.Python.TimeoutError",
                    format!(
                        "Python eval timed out after {} ms (interrupted with KeyboardInterrupt)",
                        timeout_ms.unwrap_or(0)
                    ),
                ))
            }
            (Err(error), _) => return Err(fail(error)),
        };
        // Code ending in an expression gives an object, even for `None` (as in
        // Pythonx); code ending in a statement gives nil.
        let result = match result {
            Some(result) => object_resource(env, &result),
            None => crate::convert::atoms::nil().to_term(env),
        };
        let (globals, pristine) = globals_out(env, &dict).map_err(fail)?;
        crate::interpreter::recycle_namespace(dict, pristine);
        Ok((result, globals))
    })
}

/// The globals an eval's code left in its namespace `dict` (all but the namespace's
/// own `__builtins__` and `__name__`), as a map of name → object resource; and whether
/// the namespace is pristine: its own two entries, unchanged, and nothing else (see
/// `interpreter::recycle_namespace`). Walks the dict with borrowed references: most
/// evals leave no globals, and this runs on each.
fn globals_out<'a>(env: Env<'a>, dict: &Bound<'_, PyDict>) -> PyResult<(Term<'a>, bool)> {
    let py = dict.py();
    let mut out = Vec::new();
    let (mut own, mut pristine) = (0, true);
    let mut position: pyo3::ffi::Py_ssize_t = 0;
    let mut key: *mut pyo3::ffi::PyObject = std::ptr::null_mut();
    let mut value: *mut pyo3::ffi::PyObject = std::ptr::null_mut();
    // SAFETY: GIL held (the Bound proves it) and dict is a dict; PyDict_Next gives
    // borrowed references to a live entry, valid while the dict is not changed: the
    // loop changes nothing and runs no Python code before it is done with them (the
    // Bounds made from them hold references of their own).
    while unsafe { pyo3::ffi::PyDict_Next(dict.as_ptr(), &mut position, &mut key, &mut value) } != 0
    {
        if let Some(unchanged) = crate::interpreter::own_entry(key, value) {
            own += 1;
            pristine &= unchanged;
            continue;
        }
        pristine = false;
        // SAFETY: key and value are borrowed references to live objects (above);
        // from_borrowed_ptr takes a new reference of its own.
        let (key, value) = unsafe {
            (
                Bound::from_borrowed_ptr(py, key),
                Bound::from_borrowed_ptr(py, value),
            )
        };
        let Ok(name) = key.cast::<PyString>() else {
            continue;
        };
        let name = name.to_cow()?;
        // The namespace's own names under other (equal) string objects.
        if name == "__builtins__" || name == "__name__" {
            continue;
        }
        out.push((name.as_ref().encode(env), object_resource(env, &value)));
    }
    Ok((MapFromIter(out).encode(env), pristine && own == 2))
}

/// Elixir value → Python object (its resource), the whole value in one call.
#[nif(schedule = "dirty_io")]
fn encode<'a>(env: Env<'a>, value: Term<'a>, binary_as: Atom) -> oxbeam::Result<Term<'a>> {
    crate::interpreter::ensure_initialized()?;
    let _guard = CallEnvGuard::enter(env);
    crate::gil::with_gil(|py| {
        helper(py)?;
        let object = to_python(py, env, value, options(binary_as))
            .map_err(|e| encode_failure(env, py, e, ""))?;
        Ok(object_resource(env, &object))
    })
}

/// Python object → Elixir value, the whole value in one call. Immutable scalars carry
/// their value (see `object.rs`) and are decoded here, on a normal scheduler, without
/// the GIL; anything else continues in `decode_with_gil` on a dirty I/O scheduler.
#[nif]
fn decode<'a>(env: Env<'a>, object: Term<'a>) -> Next<'a, Term<'a>> {
    let resource: &PyObjectRef = object
        .decode(env)
        .unwrap_or_else(|e| e.raise_for(env, object));
    match resource.value() {
        Some(value) => Next::Done(value.encode(env)),
        None => env.schedule(decode_with_gil::Nif, &[object]).into(),
    }
}

/// The value an immutable scalar object keeps (see `object.rs`), without the GIL:
/// `{:str, binary}` for a `str`, `{:value, term}` for the others (what `decode/1`
/// gives), `:none` for an object without a kept value. A pool worker sends it with
/// the object, so that `decode/1` of the object on the calling node needs no call.
#[nif]
fn kept_value<'a>(env: Env<'a>, object: &PyObjectRef) -> Term<'a> {
    match object.value() {
        Some(value @ crate::object::Value::Binary { str: true, .. }) => {
            (atoms::str(), value.encode(env)).encode(env)
        }
        Some(value) => (atoms::value(), value.encode(env)).encode(env),
        None => atoms::none().encode(env),
    }
}

/// `decode/1` of an object without a kept value.
#[nif(schedule = "dirty_io")]
fn decode_with_gil<'a>(env: Env<'a>, object: &PyObjectRef) -> oxbeam::Result<Term<'a>> {
    crate::interpreter::ensure_initialized()?;
    let _guard = CallEnvGuard::enter(env);
    crate::gil::with_gil(|py| {
        let helper = helper(py)?;
        to_term(env, &object.bind(py)).map_err(|e| decode_failure(env, py, e, helper.as_any()))
    })
}

/// `repr(object)`, for `inspect`.
#[nif(schedule = "dirty_io")]
fn repr(env: Env<'_>, object: &PyObjectRef) -> oxbeam::Result<String> {
    crate::interpreter::ensure_initialized()?;
    let _guard = CallEnvGuard::enter(env);
    crate::gil::with_gil(|py| {
        let helper = helper(py)?;
        object
            .bind(py)
            .repr()
            .and_then(|r| r.to_cow().map(|c| c.into_owned()))
            .map_err(|e| raise_python(env, py, &e, helper.as_any()))
    })
}

/// References waiting for the decref thread (diagnostics; tests).
#[nif]
fn pending_decrefs() -> usize {
    crate::decref::pending()
}

/// Does nothing on a dirty I/O scheduler (where `eval` runs): the floor of the Python
/// benchmark.
#[nif(schedule = "dirty_io")]
fn dirty_noop() {}
