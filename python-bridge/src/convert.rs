//! Whole values between Elixir and Python, in one call under one GIL hold.
//!
//! | Elixir | Python |
//! |---|---|
//! | `nil`, `true`/`false` | `None`, `bool` |
//! | `:nan`, `:infinity`, `:neg_infinity` | `float('nan')`, `inf`, `-inf` |
//! | other atoms | `str` |
//! | integers (any size) | `int` |
//! | floats | `float` |
//! | binaries | `bytes` (or `str`, if asked and valid UTF-8; or a read-only `memoryview`) |
//! | `%Oxbeam.Python.Array{}` | a numpy array over the binary (`numpy.rs`) |
//! | lists, tuples, maps | `list`, `tuple`, `dict` |
//! | `MapSet` | `set` |
//! | pids | `oxbeam.PID` (decodes back to the pid) |
//! | `%Oxbeam.Python.Object{}` | the object |
//!
//! Decoding maps `str`, `bytes` and other buffers to binaries (`buffer.rs`), numpy
//! arrays to `%Oxbeam.Python.Array{}`, `set`/`frozenset` to `MapSet`, and any
//! other object to `%Oxbeam.Python.Object{}`. Integers use `int.to_bytes` /
//! `int.from_bytes`, so Python's 4300-digit limit on `int(str)` does not apply.

use crate::object::PyObjectRef;
use crate::output::PyPid;
use oxbeam::types::tuple::{make_tuple, tuple_elements};
use oxbeam::{
    Atom, BigInteger, Encode, Env, LocalPid, MapFromIter, MapIter, MapView, ResourceArc, Term,
    TermType,
};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyIterator, PyList, PySet, PyString,
    PyTuple,
};
use std::collections::HashSet;

pub mod atoms {
    oxbeam::atoms! {
        nil, nan, infinity, neg_infinity, resource, map,
        __struct__,
        object_struct = "Elixir.Oxbeam.Python.Object",
        map_set = "Elixir.MapSet",
    }
}

/// The fields of a `MapSet` struct besides `__struct__` and `map` (`version: 2` up to
/// Elixir 1.14, none since 1.15), as the running Elixir makes them: given by
/// `Oxbeam.Python.init`, so decoded sets equal `MapSet.new/1`'s on every version.
static MAP_SET_FIELDS: std::sync::OnceLock<Vec<(Atom, i64)>> = std::sync::OnceLock::new();

pub fn set_map_set_fields(fields: Vec<(Atom, i64)>) {
    let _ = MAP_SET_FIELDS.set(fields);
}

#[derive(Clone, Copy, Default)]
pub struct EncodeOptions {
    pub binary_as: BinaryAs,
}

/// What binaries become (`binary_as:`).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub enum BinaryAs {
    /// `bytes` (one copy).
    #[default]
    Bytes,
    /// `str` when valid UTF-8, else `bytes`.
    Str,
    /// A read-only `memoryview` over the binary's bytes (no copy; `buffer.rs`).
    Buffer,
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
///
/// Iterative: containers waiting for their elements are kept on a heap-allocated work
/// stack, never on the thread's stack, so a value of any depth converts (Elixir terms
/// cannot be cyclic).
pub fn to_python<'py, 'a>(
    py: Python<'py>,
    env: Env<'a>,
    term: Term<'a>,
    options: EncodeOptions,
) -> Result<Bound<'py, PyAny>, EncodeError> {
    let mut top = match encode_one(py, env, term, options)? {
        Encoded::Value(value) => return Ok(value),
        Encoded::Container(container) => container,
    };
    let mut parents: Vec<Encoding<'py, 'a>> = Vec::new();
    loop {
        match top.next_element(py, env)? {
            Some(element) => match encode_one(py, env, element, options)? {
                Encoded::Value(value) => top.put(value)?,
                Encoded::Container(container) => {
                    parents.push(std::mem::replace(&mut top, container))
                }
            },
            None => {
                let value = top.finish(py)?;
                match parents.pop() {
                    Some(parent) => {
                        top = parent;
                        top.put(value)?;
                    }
                    None => return Ok(value),
                }
            }
        }
    }
}

/// One term converted: a finished value, or a container whose elements come next.
enum Encoded<'py, 'a> {
    Value(Bound<'py, PyAny>),
    Container(Encoding<'py, 'a>),
}

/// A container being converted, with the elements still to convert.
enum Encoding<'py, 'a> {
    /// `list` has `len` slots, NULL from `filled` on; `items` the terms still to come.
    List {
        list: Bound<'py, PyList>,
        items: std::vec::IntoIter<Term<'a>>,
        filled: usize,
    },
    Tuple {
        elements: std::slice::Iter<'a, Term<'a>>,
        items: Vec<Bound<'py, PyAny>>,
    },
    /// `key` is the converted key of the entry whose value (`value`) comes next.
    Dict {
        entries: MapIter<'a>,
        dict: Bound<'py, PyDict>,
        key: Option<Bound<'py, PyAny>>,
        value: Option<Term<'a>>,
    },
    Set {
        elements: MapIter<'a>,
        set: Bound<'py, PySet>,
    },
}

impl<'py, 'a> Encoding<'py, 'a> {
    /// The next element that needs converting, or None when all are in. Small integers
    /// in lists are put in right here (the common case of a long list of numbers).
    fn next_element(
        &mut self,
        py: Python<'py>,
        env: Env<'a>,
    ) -> Result<Option<Term<'a>>, EncodeError> {
        Ok(match self {
            Encoding::List {
                list,
                items,
                filled,
            } => {
                for item in items.by_ref() {
                    let Ok(v) = item.decode::<i64>(env) else {
                        return Ok(Some(item));
                    };
                    // SAFETY: GIL held (py); PyLong_FromLongLong returns a new
                    // reference or NULL with an exception set.
                    let int = unsafe {
                        Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyLong_FromLongLong(v))?
                    };
                    set_list_item(list, filled, int);
                }
                None
            }
            Encoding::Tuple { elements, .. } => elements.next().copied(),
            Encoding::Dict {
                entries,
                key,
                value,
                ..
            } => {
                if key.is_some() {
                    value.take()
                } else {
                    entries.next().map(|(k, v)| {
                        *value = Some(v);
                        k
                    })
                }
            }
            Encoding::Set { elements, .. } => elements.next().map(|(k, _)| k),
        })
    }

    /// Puts the converted form of the element `next_element` gave last.
    fn put(&mut self, object: Bound<'py, PyAny>) -> Result<(), EncodeError> {
        match self {
            Encoding::List { list, filled, .. } => set_list_item(list, filled, object),
            Encoding::Tuple { items, .. } => items.push(object),
            Encoding::Dict { dict, key, .. } => match key.take() {
                Some(k) => dict.set_item(k, object)?,
                None => *key = Some(object),
            },
            Encoding::Set { set, .. } => set.add(object)?,
        }
        Ok(())
    }

    fn finish(self, py: Python<'py>) -> Result<Bound<'py, PyAny>, EncodeError> {
        Ok(match self {
            Encoding::List { list, .. } => list.into_any(),
            Encoding::Tuple { items, .. } => PyTuple::new(py, items)?.into_any(),
            Encoding::Dict { dict, .. } => dict.into_any(),
            Encoding::Set { set, .. } => set.into_any(),
        })
    }
}

/// Fills the next NULL slot of a list made by `PyList_New`.
fn set_list_item(list: &Bound<'_, PyList>, filled: &mut usize, object: Bound<'_, PyAny>) {
    // SAFETY: the list was made by PyList_New with one slot per item of the Elixir list,
    // and `filled` counts the slots filled so far, each once, in order: this slot
    // exists and is NULL (PyList_SetItem, of the stable ABI, also checks the index).
    // PyList_SetItem steals the new reference, also when it fails. A list dropped
    // before it is full is fine (CPython skips NULL slots).
    unsafe {
        pyo3::ffi::PyList_SetItem(
            list.as_ptr(),
            *filled as pyo3::ffi::Py_ssize_t,
            object.into_ptr(),
        );
    }
    *filled += 1;
}

/// Converts a term that is not a container, or opens a container.
fn encode_one<'py, 'a>(
    py: Python<'py>,
    env: Env<'a>,
    term: Term<'a>,
    options: EncodeOptions,
) -> Result<Encoded<'py, 'a>, EncodeError> {
    let value = match term.term_type(env) {
        TermType::Atom => {
            let atom: Atom = term.decode(env).map_err(|_| cannot(env, term))?;
            if atom == atoms::nil() {
                py.None().into_bound(py)
            } else if let Ok(b) = term.decode::<bool>(env) {
                PyBool::new(py, b).to_owned().into_any()
            } else if atom == atoms::nan() {
                PyFloat::new(py, f64::NAN).into_any()
            } else if atom == atoms::infinity() {
                PyFloat::new(py, f64::INFINITY).into_any()
            } else if atom == atoms::neg_infinity() {
                PyFloat::new(py, f64::NEG_INFINITY).into_any()
            } else {
                let name = atom.name(env).map_err(|_| cannot(env, term))?;
                PyString::new(py, &name).into_any()
            }
        }
        TermType::Integer => {
            if let Ok(v) = term.decode::<i64>(env) {
                let Ok(int) = v.into_pyobject(py);
                return Ok(Encoded::Value(int.into_any()));
            }
            let big: BigInteger = term.decode(env).map_err(|_| cannot(env, term))?;
            let magnitude = py
                .get_type::<PyInt>()
                .call_method1("from_bytes", (PyBytes::new(py, &big.magnitude), "little"))?;
            if big.negative {
                magnitude.neg()?
            } else {
                magnitude
            }
        }
        TermType::Float => {
            PyFloat::new(py, term.decode::<f64>(env).map_err(|_| cannot(env, term))?).into_any()
        }
        TermType::Bitstring => {
            // A bitstring that is not a binary: the Encoder protocol raises for it
            // (Protocol.UndefinedError, as in Pythonx).
            let bytes: &[u8] = term.decode(env).map_err(|_| EncodeError::NeedsEncoder)?;
            match options.binary_as {
                BinaryAs::Buffer => crate::buffer::binary_view(py, term)?,
                BinaryAs::Str => match std::str::from_utf8(bytes) {
                    Ok(text) => PyString::new(py, text).into_any(),
                    Err(_) => crate::buffer::new_bytes(py, bytes)?,
                },
                // One memcpy into the new object.
                BinaryAs::Bytes => crate::buffer::new_bytes(py, bytes)?,
            }
        }
        TermType::List => {
            let items: Vec<Term> = term.decode(env).map_err(|_| cannot(env, term))?;
            // SAFETY: GIL held (py); PyList_New returns a new reference to a list of
            // `len` NULL slots (filled by set_list_item), or NULL with an exception set.
            let list = unsafe {
                let list = pyo3::ffi::PyList_New(items.len() as pyo3::ffi::Py_ssize_t);
                Bound::from_owned_ptr_or_err(py, list)?.cast_into_unchecked::<PyList>()
            };
            return Ok(Encoded::Container(Encoding::List {
                list,
                items: items.into_iter(),
                filled: 0,
            }));
        }
        TermType::Tuple => {
            let elements = tuple_elements(env, term).unwrap_or(&[]);
            return Ok(Encoded::Container(Encoding::Tuple {
                elements: elements.iter(),
                items: Vec::with_capacity(elements.len()),
            }));
        }
        TermType::Map => {
            let map: MapView = term.decode(env).map_err(|_| cannot(env, term))?;
            if let Some(name) = map.get(atoms::__struct__()) {
                return struct_to_python(py, env, term, map, name);
            }
            return Ok(Encoded::Container(Encoding::Dict {
                entries: map.iter(),
                dict: PyDict::new(py),
                key: None,
                value: None,
            }));
        }
        TermType::Pid => {
            let pid: LocalPid = term.decode(env).map_err(|_| cannot(env, term))?;
            Bound::new(py, PyPid { pid })?.into_any()
        }
        _ => return Err(cannot(env, term)),
    };
    Ok(Encoded::Value(value))
}

fn struct_to_python<'py, 'a>(
    py: Python<'py>,
    env: Env<'a>,
    term: Term<'a>,
    map: MapView<'a>,
    name: Term<'a>,
) -> Result<Encoded<'py, 'a>, EncodeError> {
    if name == atoms::object_struct().to_term(env) {
        let resource = map
            .get(atoms::resource())
            .ok_or_else(|| cannot(env, term))?;
        let object: &PyObjectRef = resource.decode(env).map_err(|_| cannot(env, term))?;
        return Ok(Encoded::Value(object.bind(py)));
    }
    if name == crate::numpy::array_struct_name().to_term(env) {
        let reason = match crate::numpy::encode(py, env, map) {
            Ok(array) => return Ok(Encoded::Value(array)),
            Err(crate::numpy::EncodeArrayError::Python(e)) => e.value(py).to_string(),
            Err(crate::numpy::EncodeArrayError::Field(message)) => message,
        };
        // (Not the struct itself in the message: its data may be large.)
        return Err(EncodeError::Python(PyValueError::new_err(format!(
            "cannot encode an Oxbeam.Python.Array as a numpy array: {reason}"
        ))));
    }
    if name == atoms::map_set().to_term(env) {
        let inner: MapView = map
            .get(atoms::map())
            .and_then(|m| m.decode(env).ok())
            .ok_or_else(|| cannot(env, term))?;
        return Ok(Encoded::Container(Encoding::Set {
            elements: inner.iter(),
            set: PySet::empty(py)?,
        }));
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

/// Why a Python value could not be decoded.
pub enum DecodeError {
    /// A container contains itself; the message names where.
    Cyclic(String),
    Python(PyErr),
}

impl From<PyErr> for DecodeError {
    fn from(error: PyErr) -> Self {
        DecodeError::Python(error)
    }
}

/// The error a NIF raises for a `DecodeError`: `ArgumentError` for a cycle,
/// `%Oxbeam.Python.Error{}` for a Python exception.
pub fn decode_failure(
    env: Env<'_>,
    py: Python<'_>,
    error: DecodeError,
    helper: &Bound<'_, PyAny>,
) -> oxbeam::Error {
    match error {
        DecodeError::Cyclic(message) => oxbeam::Error::argument_error(message),
        DecodeError::Python(e) => crate::error::raise_python(env, py, &e, helper),
    }
}

/// Python → Elixir.
///
/// Iterative: containers waiting for their elements are kept on a heap-allocated work
/// stack, never on the thread's stack, so a value of any depth converts. A container
/// met again inside itself (by identity, among the containers on the path from the
/// root) is a cycle: `DecodeError::Cyclic`. The same object met twice on different
/// paths (`[a, a]`) is decoded twice.
pub fn to_term<'a>(env: Env<'a>, object: &Bound<'_, PyAny>) -> Result<Term<'a>, DecodeError> {
    let mut top = match decode_one(env, object)? {
        Decoded::Term(term) => return Ok(term),
        Decoded::Container(container) => container,
    };
    let mut parents: Vec<Decoding<'_, 'a>> = Vec::new();
    // The containers from the root to `top`, by address.
    let mut path: HashSet<*mut pyo3::ffi::PyObject> = HashSet::from([top.as_ptr()]);
    loop {
        match top.next_element()? {
            Some(element) => match decode_one(env, &element)? {
                Decoded::Term(term) => top.put(term),
                Decoded::Container(container) => {
                    if !path.insert(container.as_ptr()) {
                        return Err(cyclic(&parents, &top, &container));
                    }
                    parents.push(std::mem::replace(&mut top, container));
                }
            },
            None => {
                path.remove(&top.as_ptr());
                let term = top.finish(env);
                match parents.pop() {
                    Some(parent) => {
                        top = parent;
                        top.put(term);
                    }
                    None => return Ok(term),
                }
            }
        }
    }
}

/// One object decoded: a finished term, or a container whose elements come next.
enum Decoded<'py, 'a> {
    Term(Term<'a>),
    Container(Decoding<'py, 'a>),
}

/// A container being decoded: the elements decoded so far, and where the next one is.
enum Decoding<'py, 'a> {
    List {
        list: Bound<'py, PyList>,
        next: usize,
        items: Vec<Term<'a>>,
    },
    Tuple {
        tuple: Bound<'py, PyTuple>,
        next: usize,
        items: Vec<Term<'a>>,
    },
    /// `key` is the decoded key of the entry whose value (`value`, `key_object`'s)
    /// comes next; `position` is `PyDict_Next`'s, `len` the size when decoding began.
    Dict {
        dict: Bound<'py, PyDict>,
        position: pyo3::ffi::Py_ssize_t,
        len: usize,
        entries: Vec<(Term<'a>, Term<'a>)>,
        key: Option<Term<'a>>,
        key_object: Option<Bound<'py, PyAny>>,
        value: Option<Bound<'py, PyAny>>,
    },
    Set {
        set: Bound<'py, PyAny>,
        elements: Bound<'py, PyIterator>,
        items: Vec<Term<'a>>,
    },
}

impl<'py, 'a> Decoding<'py, 'a> {
    fn object(&self) -> &Bound<'py, PyAny> {
        match self {
            Decoding::List { list, .. } => list.as_any(),
            Decoding::Tuple { tuple, .. } => tuple.as_any(),
            Decoding::Dict { dict, .. } => dict.as_any(),
            Decoding::Set { set, .. } => set,
        }
    }

    fn as_ptr(&self) -> *mut pyo3::ffi::PyObject {
        self.object().as_ptr()
    }

    /// The next element to decode, or None when all are done.
    fn next_element(&mut self) -> PyResult<Option<Bound<'py, PyAny>>> {
        Ok(match self {
            Decoding::List { list, next, .. } => {
                // The length is read each time: a list changed meanwhile (by a
                // finalizer the garbage collector ran) is never read out of bounds.
                if *next >= list.len() {
                    return Ok(None);
                }
                *next += 1;
                Some(list.get_item(*next - 1)?)
            }
            Decoding::Tuple { tuple, next, .. } => {
                if *next >= tuple.len() {
                    return Ok(None);
                }
                *next += 1;
                Some(tuple.get_item(*next - 1)?)
            }
            Decoding::Dict {
                dict,
                position,
                len,
                key,
                key_object,
                value,
                ..
            } => {
                if key.is_some() {
                    return Ok(value.take());
                }
                if dict.len() != *len {
                    return Err(PyRuntimeError::new_err(
                        "dictionary changed size during decoding",
                    ));
                }
                let (mut k, mut v) = (std::ptr::null_mut(), std::ptr::null_mut());
                // SAFETY: GIL held (dict is a Bound); dict is a dict; PyDict_Next reads
                // at most to the current end of its entries (a dict changed meanwhile
                // is caught by the size check above or yields a valid entry) and gives
                // borrowed references, turned into owned ones at once.
                unsafe {
                    if pyo3::ffi::PyDict_Next(dict.as_ptr(), position, &mut k, &mut v) == 0 {
                        return Ok(None);
                    }
                    let k = Bound::from_borrowed_ptr(dict.py(), k);
                    *value = Some(Bound::from_borrowed_ptr(dict.py(), v));
                    *key_object = Some(k.clone());
                    Some(k)
                }
            }
            Decoding::Set { elements, .. } => elements.next().transpose()?,
        })
    }

    /// Puts the decoded form of the element `next_element` gave last.
    fn put(&mut self, term: Term<'a>) {
        match self {
            Decoding::List { items, .. }
            | Decoding::Tuple { items, .. }
            | Decoding::Set { items, .. } => items.push(term),
            Decoding::Dict { entries, key, .. } => match key.take() {
                Some(k) => entries.push((k, term)),
                None => *key = Some(term),
            },
        }
    }

    fn finish(self, env: Env<'a>) -> Term<'a> {
        match self {
            Decoding::List { items, .. } => items.encode(env),
            Decoding::Tuple { items, .. } => make_tuple(env, &items),
            Decoding::Dict { entries, .. } => MapFromIter(entries).encode(env),
            Decoding::Set { items, .. } => {
                let empty = Vec::<Term>::new().encode(env);
                let inner = MapFromIter(items.into_iter().map(|item| (item, empty))).encode(env);
                let mut fields = vec![
                    (
                        atoms::__struct__().to_term(env),
                        atoms::map_set().to_term(env),
                    ),
                    (atoms::map().to_term(env), inner),
                ];
                for (name, value) in MAP_SET_FIELDS.get().into_iter().flatten() {
                    fields.push((name.to_term(env), value.encode(env)));
                }
                MapFromIter(fields).encode(env)
            }
        }
    }

    /// Where the element being decoded is, inside this container: `[0]`, `['key']`.
    fn segment(&self) -> String {
        match self {
            Decoding::List { next, .. } | Decoding::Tuple { next, .. } => {
                format!("[{}]", next.saturating_sub(1))
            }
            Decoding::Dict {
                key: Some(_),
                key_object: Some(k),
                ..
            } => {
                const LONGEST: usize = 60;
                let repr = k
                    .repr()
                    .map(|r| r.to_string())
                    .unwrap_or_else(|_| "?".into());
                match repr.char_indices().nth(LONGEST) {
                    Some((end, _)) => format!("[{}...]", &repr[..end]),
                    None => format!("[{repr}]"),
                }
            }
            // Keys and set elements are hashable: never mutable containers, never on
            // a cycle. Named anyway.
            Decoding::Dict { .. } => " (a key)".into(),
            Decoding::Set { .. } => " (an element)".into(),
        }
    }
}

/// Converts an object that is not a container, or opens a container.
fn decode_one<'py, 'a>(
    env: Env<'a>,
    object: &Bound<'py, PyAny>,
) -> Result<Decoded<'py, 'a>, DecodeError> {
    if object.is_none() {
        return Ok(Decoded::Term(atoms::nil().to_term(env)));
    }
    if let Ok(b) = object.cast::<PyBool>() {
        return Ok(Decoded::Term(b.is_true().encode(env)));
    }
    if let Ok(int) = object.cast::<PyInt>() {
        return Ok(Decoded::Term(int_term(env, int)?));
    }
    if let Ok(f) = object.cast::<PyFloat>() {
        return Ok(Decoded::Term(float_term(env, f.value())));
    }
    if let Ok(s) = object.cast::<PyString>() {
        let text = s.to_cow()?;
        return Ok(Decoded::Term(text.as_ref().encode(env)));
    }
    if let Ok(b) = object.cast::<PyBytes>() {
        return Ok(Decoded::Term(crate::buffer::bytes_term(env, b)?));
    }
    if let Ok(pid) = object.cast_exact::<PyPid>() {
        return Ok(Decoded::Term(pid.get().pid.encode(env)));
    }
    let container = if let Ok(list) = object.cast::<PyList>() {
        Decoding::List {
            items: Vec::with_capacity(list.len()),
            list: list.clone(),
            next: 0,
        }
    } else if let Ok(tuple) = object.cast::<PyTuple>() {
        Decoding::Tuple {
            items: Vec::with_capacity(tuple.len()),
            tuple: tuple.clone(),
            next: 0,
        }
    } else if let Ok(dict) = object.cast::<PyDict>() {
        Decoding::Dict {
            len: dict.len(),
            entries: Vec::with_capacity(dict.len()),
            dict: dict.clone(),
            position: 0,
            key: None,
            key_object: None,
            value: None,
        }
    } else if object.cast::<PySet>().is_ok() || object.cast::<PyFrozenSet>().is_ok() {
        Decoding::Set {
            set: object.clone(),
            elements: object.try_iter()?,
            items: Vec::new(),
        }
    } else if crate::buffer::exports_buffer(object) {
        // numpy arrays as `%Oxbeam.Python.Array{}`, other buffers as binaries.
        return Ok(Decoded::Term(match crate::numpy::decode(env, object)? {
            crate::numpy::Numpy::Array(term) => term,
            crate::numpy::Numpy::Object => object_term(env, object),
            crate::numpy::Numpy::Other => crate::buffer::exporter_term(env, object)?,
        }));
    } else {
        return Ok(Decoded::Term(object_term(env, object)));
    };
    Ok(Decoded::Container(container))
}

fn int_term<'a>(env: Env<'a>, int: &Bound<'_, PyInt>) -> PyResult<Term<'a>> {
    let mut overflow = 0;
    // SAFETY: int is a live int object; the call only reads it and sets overflow.
    let v = unsafe { pyo3::ffi::PyLong_AsLongLongAndOverflow(int.as_ptr(), &mut overflow) };
    if overflow == 0 && !(v == -1 && PyErr::occurred(int.py())) {
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
    Ok(BigInteger {
        negative,
        magnitude,
    }
    .encode(env))
}

/// The error for `again`, a container met inside itself: `parents` and `top` are the
/// containers from the root down, each at the element being decoded.
fn cyclic<'py, 'a>(
    parents: &[Decoding<'py, 'a>],
    top: &Decoding<'py, 'a>,
    again: &Decoding<'py, 'a>,
) -> DecodeError {
    let path: Vec<&Decoding> = parents.iter().chain(std::iter::once(top)).collect();
    let segments: Vec<String> = path.iter().map(|container| container.segment()).collect();
    let outer = path
        .iter()
        .position(|container| container.as_ptr() == again.as_ptr())
        .unwrap_or(0);
    let type_name = again
        .object()
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "container".into());
    DecodeError::Cyclic(format!(
        "cannot decode a cyclic Python value: the {type_name} at {} contains itself at {}",
        path_text(&segments[..outer]),
        path_text(&segments)
    ))
}

/// `value[0]['k']`: the root, then each segment; a long path shows its first and last
/// eight segments.
fn path_text(segments: &[String]) -> String {
    const SHOWN: usize = 8;
    if segments.len() <= 2 * SHOWN {
        return format!("value{}", segments.concat());
    }
    format!(
        "value{}...{} ({} levels down)",
        segments[..SHOWN].concat(),
        segments[segments.len() - SHOWN..].concat(),
        segments.len()
    )
}

/// `%Oxbeam.Python.Object{resource: ...}` holding a new reference to `object`.
pub fn object_term<'a>(env: Env<'a>, object: &Bound<'_, PyAny>) -> Term<'a> {
    object_struct(env, ResourceArc::new(PyObjectRef::new(object)))
}

/// A new resource holding `object`, as a term (wrapped in `%Object{}` by the caller).
pub fn object_resource<'a>(env: Env<'a>, object: &Bound<'_, PyAny>) -> Term<'a> {
    match crate::object::singleton(object) {
        Some(kept) => kept.encode(env),
        None => ResourceArc::new(PyObjectRef::new(object)).encode(env),
    }
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
