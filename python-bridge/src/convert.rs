//! Whole values between Elixir and Python, in one call under one GIL hold.
//!
//! | Elixir | Python |
//! |---|---|
//! | `nil`, `true`/`false` | `None`, `bool` |
//! | `:nan`, `:infinity`, `:neg_infinity` | `float('nan')`, `inf`, `-inf` |
//! | other atoms | `str` |
//! | integers (any size) | `int` |
//! | floats | `float` |
//! | binaries | `bytes` (or `str`, if asked and valid UTF-8) |
//! | lists, tuples, maps | `list`, `tuple`, `dict` |
//! | `MapSet` | `set` |
//! | pids | `oxbeam.Pid` |
//! | `%Oxbeam.Python.Object{}` | the object |
//!
//! Decoding maps `str` and `bytes` to binaries, `set`/`frozenset` to `MapSet`, and any
//! other object to `%Oxbeam.Python.Object{}`. Integers use `int.to_bytes` /
//! `int.from_bytes`, so Python's 4300-digit limit on `int(str)` does not apply.

use crate::object::PyObjectRef;
use crate::output::PyPid;
use oxbeam::types::tuple::{make_tuple, tuple_elements};
use oxbeam::{
    Atom, BigInteger, Encode, Env, LocalPid, MapFromIter, MapView, ResourceArc, Term, TermType,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple,
};

pub mod atoms {
    oxbeam::atoms! {
        nil, nan, infinity, neg_infinity, resource, map, version,
        __struct__,
        object_struct = "Elixir.Oxbeam.Python.Object",
        map_set = "Elixir.MapSet",
    }
}

#[derive(Clone, Copy, Default)]
pub struct EncodeOptions {
    /// Binaries that are valid UTF-8 become `str` instead of `bytes`.
    pub binary_as_str: bool,
}

/// Why an Elixir value could not be encoded.
pub enum EncodeError {
    /// A struct other than Object/MapSet: the Elixir side encodes it with the
    /// Encoder protocol and calls again.
    NeedsEncoder,
    Python(PyErr),
}

impl From<PyErr> for EncodeError {
    fn from(error: PyErr) -> Self {
        EncodeError::Python(error)
    }
}

/// Elixir → Python.
pub fn to_python<'py, 'a>(
    py: Python<'py>,
    env: Env<'a>,
    term: Term<'a>,
    options: EncodeOptions,
) -> Result<Bound<'py, PyAny>, EncodeError> {
    match term.term_type(env) {
        TermType::Atom => {
            let atom: Atom = term.decode(env).map_err(|_| cannot(env, term))?;
            if atom == atoms::nil() {
                Ok(py.None().into_bound(py))
            } else if let Ok(b) = term.decode::<bool>(env) {
                Ok(PyBool::new(py, b).to_owned().into_any())
            } else if atom == atoms::nan() {
                Ok(PyFloat::new(py, f64::NAN).into_any())
            } else if atom == atoms::infinity() {
                Ok(PyFloat::new(py, f64::INFINITY).into_any())
            } else if atom == atoms::neg_infinity() {
                Ok(PyFloat::new(py, f64::NEG_INFINITY).into_any())
            } else {
                let name = atom.name(env).map_err(|_| cannot(env, term))?;
                Ok(PyString::new(py, &name).into_any())
            }
        }
        TermType::Integer => {
            if let Ok(v) = term.decode::<i64>(env) {
                let Ok(int) = v.into_pyobject(py);
                return Ok(int.into_any());
            }
            let big: BigInteger = term.decode(env).map_err(|_| cannot(env, term))?;
            let magnitude = py
                .get_type::<PyInt>()
                .call_method1("from_bytes", (PyBytes::new(py, &big.magnitude), "little"))?;
            Ok(if big.negative {
                magnitude.neg()?
            } else {
                magnitude
            })
        }
        TermType::Float => Ok(PyFloat::new(
            py,
            term.decode::<f64>(env).map_err(|_| cannot(env, term))?,
        )
        .into_any()),
        TermType::Bitstring => {
            let bytes: &[u8] = term.decode(env).map_err(|_| cannot(env, term))?;
            if options.binary_as_str {
                if let Ok(text) = std::str::from_utf8(bytes) {
                    return Ok(PyString::new(py, text).into_any());
                }
            }
            Ok(PyBytes::new(py, bytes).into_any())
        }
        TermType::List => {
            let items: Vec<Term> = term.decode(env).map_err(|_| cannot(env, term))?;
            // SAFETY: PyList_New(n) gives a list of n NULL slots, each filled exactly
            // once below with a new reference (PyList_SET_ITEM steals it) before the
            // list is used; on error the partly filled list is dropped, which
            // CPython allows (NULL slots are skipped).
            unsafe {
                let list = pyo3::ffi::PyList_New(items.len() as pyo3::ffi::Py_ssize_t);
                let list = Bound::from_owned_ptr_or_err(py, list)?;
                for (i, item) in items.into_iter().enumerate() {
                    let object = match item.decode::<i64>(env) {
                        Ok(v) => {
                            Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyLong_FromLongLong(v))?
                        }
                        Err(_) => to_python(py, env, item, options)?,
                    };
                    pyo3::ffi::PyList_SET_ITEM(
                        list.as_ptr(),
                        i as pyo3::ffi::Py_ssize_t,
                        object.into_ptr(),
                    );
                }
                Ok(list)
            }
        }
        TermType::Tuple => {
            let elements = tuple_elements(env, term).unwrap_or(&[]);
            let items = elements
                .iter()
                .copied()
                .map(|e| to_python(py, env, e, options))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(PyTuple::new(py, items)?.into_any())
        }
        TermType::Map => {
            let map: MapView = term.decode(env).map_err(|_| cannot(env, term))?;
            if let Some(name) = map.get(atoms::__struct__()) {
                return struct_to_python(py, env, term, map, name, options);
            }
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(
                    to_python(py, env, k, options)?,
                    to_python(py, env, v, options)?,
                )?;
            }
            Ok(dict.into_any())
        }
        TermType::Pid => {
            let pid: LocalPid = term.decode(env).map_err(|_| cannot(env, term))?;
            Ok(Bound::new(py, PyPid { pid })?.into_any())
        }
        _ => Err(cannot(env, term)),
    }
}

fn struct_to_python<'py, 'a>(
    py: Python<'py>,
    env: Env<'a>,
    term: Term<'a>,
    map: MapView<'a>,
    name: Term<'a>,
    options: EncodeOptions,
) -> Result<Bound<'py, PyAny>, EncodeError> {
    if name == atoms::object_struct().to_term(env) {
        let resource = map
            .get(atoms::resource())
            .ok_or_else(|| cannot(env, term))?;
        let object: &PyObjectRef = resource.decode(env).map_err(|_| cannot(env, term))?;
        return Ok(object.bind(py));
    }
    if name == atoms::map_set().to_term(env) {
        let inner: MapView = map
            .get(atoms::map())
            .and_then(|m| m.decode(env).ok())
            .ok_or_else(|| cannot(env, term))?;
        let set = PySet::empty(py)?;
        for (k, _) in inner {
            set.add(to_python(py, env, k, options)?)?;
        }
        return Ok(set.into_any());
    }
    Err(EncodeError::NeedsEncoder)
}

fn cannot<'a>(env: Env<'a>, term: Term<'a>) -> EncodeError {
    EncodeError::Python(PyValueError::new_err(format!(
        "cannot encode {} as a Python value",
        term.inspect(env)
    )))
}

mod encode_atoms {
    oxbeam::atoms! { oxbeam_python_needs_encoder }
}

/// The error a NIF raises for an `EncodeError`: `ArgumentError` with Python's text, or
/// the term `:oxbeam_python_needs_encoder` that makes `Oxbeam.Python` apply the
/// Encoder protocol and call again.
pub fn encode_failure(
    env: Env<'_>,
    py: Python<'_>,
    error: EncodeError,
    context: &str,
) -> oxbeam::Error {
    match error {
        EncodeError::NeedsEncoder => oxbeam::Error::term(
            env,
            encode_atoms::oxbeam_python_needs_encoder().to_term(env),
        ),
        EncodeError::Python(e) => {
            oxbeam::Error::argument_error(format!("{context}{}", e.value(py)))
        }
    }
}

/// A float: NaN and the infinities as `:nan`, `:infinity`, `:neg_infinity`.
pub fn float_term(env: Env<'_>, v: f64) -> Term<'_> {
    if v.is_nan() {
        atoms::nan().to_term(env)
    } else if v == f64::INFINITY {
        atoms::infinity().to_term(env)
    } else if v == f64::NEG_INFINITY {
        atoms::neg_infinity().to_term(env)
    } else {
        v.encode(env)
    }
}

/// Python → Elixir.
pub fn to_term<'a>(env: Env<'a>, object: &Bound<'_, PyAny>) -> PyResult<Term<'a>> {
    let py = object.py();
    if object.is_none() {
        return Ok(atoms::nil().to_term(env));
    }
    if let Ok(b) = object.cast::<PyBool>() {
        return Ok(b.is_true().encode(env));
    }
    if let Ok(int) = object.cast::<PyInt>() {
        let mut overflow = 0;
        // SAFETY: int is a live int object; the call only reads it and sets overflow.
        let v = unsafe { pyo3::ffi::PyLong_AsLongLongAndOverflow(int.as_ptr(), &mut overflow) };
        if overflow == 0 && !(v == -1 && PyErr::occurred(py)) {
            return Ok(v.encode(env));
        }
        let negative = int.lt(0)?;
        let abs = if negative {
            int.neg()?
        } else {
            int.clone().into_any()
        };
        let bits: usize = abs.call_method0("bit_length")?.extract()?;
        let bytes = abs.call_method1("to_bytes", (bits.div_ceil(8), "little"))?;
        let magnitude = bytes.cast::<PyBytes>()?.as_bytes().to_vec();
        return Ok(BigInteger {
            negative,
            magnitude,
        }
        .encode(env));
    }
    if let Ok(f) = object.cast::<PyFloat>() {
        return Ok(float_term(env, f.value()));
    }
    if let Ok(s) = object.cast::<PyString>() {
        let text = s.to_cow()?;
        return Ok(text.as_ref().encode(env));
    }
    if let Ok(b) = object.cast::<PyBytes>() {
        return Ok(b.as_bytes().encode(env));
    }
    if let Ok(list) = object.cast::<PyList>() {
        let items = list
            .iter()
            .map(|item| to_term(env, &item))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(items.encode(env));
    }
    if let Ok(tuple) = object.cast::<PyTuple>() {
        let items = tuple
            .iter()
            .map(|item| to_term(env, &item))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(make_tuple(env, &items));
    }
    if let Ok(dict) = object.cast::<PyDict>() {
        let entries = dict
            .iter()
            .map(|(k, v)| Ok((to_term(env, &k)?, to_term(env, &v)?)))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(MapFromIter(entries).encode(env));
    }
    if object.cast::<PySet>().is_ok() || object.cast::<PyFrozenSet>().is_ok() {
        let nil_list: Vec<i64> = Vec::new();
        let entries = object
            .try_iter()?
            .map(|item| Ok((to_term(env, &item?)?, nil_list.clone().encode(env))))
            .collect::<PyResult<Vec<_>>>()?;
        let inner = MapFromIter(entries).encode(env);
        let fields = vec![
            (
                atoms::__struct__().to_term(env),
                atoms::map_set().to_term(env),
            ),
            (atoms::map().to_term(env), inner),
            (atoms::version().to_term(env), 2i64.encode(env)),
        ];
        return Ok(MapFromIter(fields).encode(env));
    }
    let _ = py;
    Ok(object_term(env, object))
}

/// `%Oxbeam.Python.Object{resource: ...}` holding a new reference to `object`.
pub fn object_term<'a>(env: Env<'a>, object: &Bound<'_, PyAny>) -> Term<'a> {
    object_struct(env, ResourceArc::new(PyObjectRef::new(object)))
}

/// A new resource holding `object`, as a term (wrapped in `%Object{}` by the caller).
pub fn object_resource<'a>(env: Env<'a>, object: &Bound<'_, PyAny>) -> Term<'a> {
    ResourceArc::new(PyObjectRef::new(object)).encode(env)
}

/// `%Oxbeam.Python.Object{resource: resource}`.
pub fn object_struct<'a>(env: Env<'a>, resource: ResourceArc<PyObjectRef>) -> Term<'a> {
    let fields = vec![
        (
            atoms::__struct__().to_term(env),
            atoms::object_struct().to_term(env),
        ),
        (atoms::resource().to_term(env), resource.encode(env)),
    ];
    MapFromIter(fields).encode(env)
}
