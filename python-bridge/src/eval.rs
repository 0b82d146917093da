//! `eval`, `encode`, `decode`, `repr`: each one dirty NIF call, under one GIL hold.

use crate::convert::{encode_failure, object_term, to_python, to_term, EncodeOptions};
use crate::error::raise_python;
use crate::interpreter::helper;
use crate::object::PyObjectRef;
use crate::output::{send, CallEnvGuard, PyPid};
use oxbeam::{nif, Atom, Encode, Env, LocalPid, MapFromIter, MapView, Term};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

/// Options of `encode`/`eval` that change how values are converted.
fn options(binary_as_str: bool) -> EncodeOptions {
    EncodeOptions { binary_as_str }
}

/// Runs `code` with `globals` (string keys, encoded values) and output going to
/// `stdout`/`stderr`; returns `{result_object_or_nil, globals_objects}`.
#[nif(schedule = "dirty_io")]
fn eval<'a>(
    env: Env<'a>,
    code: &str,
    globals: MapView<'a>,
    stdout: LocalPid,
    stderr: LocalPid,
    binary_as_str: bool,
    timeout_ms: Option<u64>,
) -> oxbeam::Result<(Term<'a>, Term<'a>)> {
    crate::interpreter::ensure_initialized()?;
    let _guard = CallEnvGuard::enter(env);
    crate::gil::with_gil(|py| {
        let helper = helper(py)?;
        let dict = PyDict::new(py);
        let fail = |e: PyErr| raise_python(env, py, &e, helper.as_any());
        dict.set_item("__name__", "__main__").map_err(fail)?;
        dict.set_item("__builtins__", crate::interpreter::builtins(py)?)
            .map_err(fail)?;
        for (key, value) in globals {
            let name: &str = key.decode(env).map_err(|_| {
                oxbeam::Error::argument_error(format!(
                    "globals keys must be strings, got: {}",
                    key.inspect(env)
                ))
            })?;
            let value = to_python(py, env, value, options(binary_as_str))
                .map_err(|e| encode_failure(env, py, e, &format!("global {name:?}: ")))?;
            dict.set_item(name, value).map_err(fail)?;
        }
        let device = PyTuple::new(
            py,
            [
                Bound::new(py, PyPid { pid: stdout }).map_err(fail)?,
                Bound::new(py, PyPid { pid: stderr }).map_err(fail)?,
            ],
        )
        .map_err(fail)?;
        let registration =
            crate::interrupt::register(env, timeout_ms.map(std::time::Duration::from_millis));
        let result = helper.call_method1("_eval", (code, &dict, device));
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
        let result = if result.is_none() {
            crate::convert::atoms::nil().to_term(env)
        } else {
            object_term(env, &result)
        };
        let mut out = Vec::new();
        for (key, value) in dict.iter() {
            let Ok(name) = key.cast::<PyString>() else {
                continue;
            };
            let name = name.to_cow().map_err(fail)?;
            if name == "__builtins__" || name == "__name__" {
                continue;
            }
            out.push((name.as_ref().encode(env), object_term(env, &value)));
        }
        Ok((result, MapFromIter(out).encode(env)))
    })
}

/// Elixir value → Python object, the whole value in one call.
#[nif(schedule = "dirty_io")]
fn encode<'a>(env: Env<'a>, value: Term<'a>, binary_as_str: bool) -> oxbeam::Result<Term<'a>> {
    crate::interpreter::ensure_initialized()?;
    let _guard = CallEnvGuard::enter(env);
    crate::gil::with_gil(|py| {
        helper(py)?;
        let object = to_python(py, env, value, options(binary_as_str))
            .map_err(|e| encode_failure(env, py, e, ""))?;
        Ok(object_term(env, &object))
    })
}

/// Python object → Elixir value, the whole value in one call. Immutable scalars carry
/// their value (see `object.rs`) and are decoded here, on a normal scheduler, without
/// the GIL; anything else continues in `decode_with_gil` on a dirty I/O scheduler.
#[nif]
fn decode<'a>(env: Env<'a>, object: Term<'a>) -> Term<'a> {
    let resource: &PyObjectRef = object.decode(env).unwrap_or_else(|e| e.raise_for(object));
    match resource.value() {
        Some(value) => value.encode(env),
        None => env.schedule(decode_with_gil::Nif, &[object]).into_term(),
    }
}

/// `decode/1` of an object without a kept value.
#[nif(schedule = "dirty_io")]
fn decode_with_gil<'a>(env: Env<'a>, object: &PyObjectRef) -> oxbeam::Result<Term<'a>> {
    crate::interpreter::ensure_initialized()?;
    let _guard = CallEnvGuard::enter(env);
    crate::gil::with_gil(|py| {
        let helper = helper(py)?;
        to_term(env, &object.bind(py)).map_err(|e| raise_python(env, py, &e, helper.as_any()))
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

/// `oxbeam.send_tagged_object(pid, tag, obj)`: sends `{tag, %Oxbeam.Python.Object{}}`.
#[pyfunction]
pub fn send_tagged_object(
    pid: &Bound<'_, PyPid>,
    tag: &str,
    object: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let pid = pid.get().pid;
    let tag = tag.to_owned();
    let object = PyObjectRef::new(object);
    let object = oxbeam::ResourceArc::new(object);
    send(&pid, move |env| {
        (
            Atom::from_str(env, &tag),
            crate::convert::object_struct(env, object),
        )
            .encode(env)
    });
    Ok(())
}

/// Does nothing on a dirty I/O scheduler (where `eval` runs): the floor of the Python
/// benchmark.
#[nif(schedule = "dirty_io")]
fn dirty_noop() {}
