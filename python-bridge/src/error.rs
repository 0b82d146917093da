//! Python exceptions as `%Oxbeam.Python.Error{}`: `type`, `value` and `traceback` are
//! objects, `lines` the formatted traceback (what the message shows).

use crate::convert::object_term;
use oxbeam::{Encode, Env, MapFromIter, Term};
use pyo3::prelude::*;

mod atoms {
    oxbeam::atoms! {
        __struct__, __exception__, lines, value, traceback,
        type_ = "type",
        error_struct = "Elixir.Oxbeam.Python.Error",
    }
}

/// The `%Oxbeam.Python.Error{}` term for `error`.
pub fn error_term<'a>(
    env: Env<'a>,
    py: Python<'_>,
    error: &PyErr,
    helper: &Bound<'_, PyAny>,
) -> Term<'a> {
    let value = error.value(py);
    // The traceback of the error, which `value.__traceback__` lacks when the exception
    // never passed through a Python frame's handler (code run from Rust).
    let tb = error.traceback(py);
    if let Some(tb) = &tb {
        // Keep it on the exception too, for Python code that gets the value later.
        let _ = value.setattr(pyo3::intern!(py, "__traceback__"), tb);
    }
    let lines: Vec<String> = helper
        .call_method1("_format_exception", (value, &tb))
        .and_then(|l| l.extract())
        .unwrap_or_else(|_| vec![format!("{error}\n")]);
    let traceback = match &tb {
        Some(tb) => object_term(env, tb.as_any()),
        None => crate::convert::atoms::nil().to_term(env),
    };
    let fields = vec![
        (
            atoms::__struct__().to_term(env),
            atoms::error_struct().to_term(env),
        ),
        (atoms::__exception__().to_term(env), true.encode(env)),
        (
            atoms::type_().to_term(env),
            object_term(env, error.get_type(py).as_any()),
        ),
        (
            atoms::value().to_term(env),
            object_term(env, value.as_any()),
        ),
        (atoms::traceback().to_term(env), traceback),
        (atoms::lines().to_term(env), lines.encode(env)),
    ];
    MapFromIter(fields).encode(env)
}

/// Raises `error` as `%Oxbeam.Python.Error{}`.
pub fn raise_python(
    env: Env<'_>,
    py: Python<'_>,
    error: &PyErr,
    helper: &Bound<'_, PyAny>,
) -> oxbeam::Error {
    oxbeam::Error::term(env, error_term(env, py, error, helper))
}
