//! Python objects held by Elixir terms: a resource owning one strong reference.
//!
//! An object of an immutable scalar type (`None`, `bool`, `int` that fits 64 bits,
//! `float`, and `str`/`bytes` of at most [`SHORT`] bytes) also keeps its Elixir value,
//! taken when the resource is made (the GIL is held then): `decode` of such an object
//! runs on a normal scheduler without the GIL. The value can never change, so the copy
//! is always right. Everything else is decoded on a dirty scheduler, under the GIL.

use oxbeam::{Encode, Env, Term};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyString};
use std::ptr::NonNull;

/// The longest `str` (in UTF-8 bytes) or `bytes` kept as a value.
pub const SHORT: usize = 22;

/// The Elixir value of an immutable scalar object, when it has a short one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A `str` (as UTF-8, `str` true) or `bytes`: both decode to a binary.
    Binary {
        len: u8,
        bytes: [u8; SHORT],
        str: bool,
    },
}

impl Value {
    /// The value of `object`, if it is an immutable scalar with a short value.
    fn of(object: &Bound<'_, PyAny>) -> Option<Value> {
        if object.is_none() {
            return Some(Value::Nil);
        }
        // Exact types only: a subclass may carry mutable state of its own.
        if let Ok(b) = object.cast_exact::<PyBool>() {
            return Some(Value::Bool(b.is_true()));
        }
        if let Ok(int) = object.cast_exact::<PyInt>() {
            return int.extract::<i64>().ok().map(Value::Int);
        }
        if let Ok(f) = object.cast_exact::<PyFloat>() {
            return Some(Value::Float(f.value()));
        }
        if let Ok(s) = object.cast_exact::<PyString>() {
            // The length in code points bounds the UTF-8 length from below: skip long
            // strings before asking for their UTF-8.
            if s.len().ok()? > SHORT {
                return None;
            }
            return Value::binary(s.to_str().ok()?.as_bytes(), true);
        }
        if let Ok(b) = object.cast_exact::<PyBytes>() {
            return Value::binary(b.as_bytes(), false);
        }
        None
    }

    fn binary(data: &[u8], str: bool) -> Option<Value> {
        if data.len() > SHORT {
            return None;
        }
        let mut bytes = [0; SHORT];
        bytes[..data.len()].copy_from_slice(data);
        Some(Value::Binary {
            len: data.len() as u8,
            bytes,
            str,
        })
    }
}

impl<'a> Encode<'a> for Value {
    /// The same term `convert::to_term` makes of the object.
    fn encode(self, env: Env<'a>) -> Term<'a> {
        match self {
            Value::Nil => crate::convert::atoms::nil().to_term(env),
            Value::Bool(b) => b.encode(env),
            Value::Int(v) => v.encode(env),
            Value::Float(v) => crate::convert::float_term(env, v),
            Value::Binary { len, bytes, .. } => bytes[..len as usize].encode(env),
        }
    }
}

/// One strong reference to a Python object, owned by Erlang terms.
#[oxbeam::resource]
pub struct PyObjectRef {
    ptr: NonNull<pyo3::ffi::PyObject>,
    value: Option<Value>,
}

// SAFETY: the pointer is only dereferenced with the GIL held (Python::attach); the
// reference it owns is released by the decref thread, which takes the GIL. `value`
// is plain data, never changed after creation.
unsafe impl Send for PyObjectRef {}
unsafe impl Sync for PyObjectRef {}

impl PyObjectRef {
    /// Takes a new strong reference to `object`.
    pub fn new(object: &Bound<'_, PyAny>) -> PyObjectRef {
        PyObjectRef {
            value: Value::of(object),
            ptr: NonNull::new(object.clone().into_ptr()).expect("a Bound is never NULL"),
        }
    }

    /// The object, borrowed for the GIL lifetime `'py`.
    pub fn bind<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        // SAFETY: we own a strong reference, so the object is alive; from_borrowed_ptr
        // takes a new reference for the Bound.
        unsafe { Bound::from_borrowed_ptr(py, self.ptr.as_ptr()) }
    }

    /// The Elixir value, for immutable scalars (see the module docs).
    pub fn value(&self) -> Option<Value> {
        self.value
    }
}

impl Drop for PyObjectRef {
    fn drop(&mut self) {
        // Never wait for the GIL here: this runs wherever the VM frees the resource,
        // often a normal scheduler.
        crate::decref::release(self.ptr);
    }
}

/// One resource each for `None`, `False`, `True` and the small ints CPython keeps one
/// object of (-5 to 256), made once and kept for the life of the VM: an eval whose
/// result is one of them (a function returning `None`, a flag, a count) hands out a
/// new term for the same resource instead of allocating one (an allocation on a dirty
/// scheduler costs a large part of a small eval) and its drop queues no decref. Only
/// the very object is matched (by address), so identity is kept.
static SINGLETONS: std::sync::OnceLock<Vec<oxbeam::ResourceArc<PyObjectRef>>> =
    std::sync::OnceLock::new();

const SMALLEST_INT: i64 = -5;
const LARGEST_INT: i64 = 256;

/// The kept resource for `object`, if it is one of the singletons (the GIL is held).
pub fn singleton(object: &Bound<'_, PyAny>) -> Option<&'static oxbeam::ResourceArc<PyObjectRef>> {
    let py = object.py();
    let singletons = SINGLETONS.get_or_init(|| {
        let mut objects = vec![
            py.None().into_bound(py),
            PyBool::new(py, false).to_owned().into_any(),
            PyBool::new(py, true).to_owned().into_any(),
        ];
        for v in SMALLEST_INT..=LARGEST_INT {
            let Ok(int) = v.into_pyobject(py);
            objects.push(int.into_any());
        }
        objects
            .iter()
            .map(|object| oxbeam::ResourceArc::new(PyObjectRef::new(object)))
            .collect()
    });
    let index = if object.is_none() {
        0
    } else if let Ok(b) = object.cast_exact::<PyBool>() {
        1 + b.is_true() as usize
    } else if let Ok(int) = object.cast_exact::<PyInt>() {
        let v = int.extract::<i64>().ok()?;
        if !(SMALLEST_INT..=LARGEST_INT).contains(&v) {
            return None;
        }
        3 + (v - SMALLEST_INT) as usize
    } else {
        return None;
    };
    let kept = singletons.get(index)?;
    (kept.ptr == NonNull::new(object.as_ptr())?).then_some(kept)
}
