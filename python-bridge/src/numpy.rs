//! numpy arrays and `%Oxbeam.Python.Array{data: binary, dtype: dtype, shape: tuple}`.
//!
//! `decode` of a numpy array (numpy already imported by Python code: the bridge never
//! imports it to decode) gives its bytes in C order as one binary, shared with the
//! array when `buffer.rs` may share it (large, and the array read-only all the way to
//! the memory's owner), its dtype in Nx's notation (`{:f, 64}`, `{:s, 32}`, `{:u, 8}`,
//! `{:c, 128}`; `:bool`; any other dtype as `{:numpy, dtype.str}`), and its shape as a
//! tuple. Encoding the struct gives `numpy.frombuffer(view, dtype).reshape(shape)`
//! over a read-only view of the binary: the array shares the binary's memory.
//! Arrays of Python objects (dtype `object`) stay objects.

use crate::buffer::{binary_term, binary_view, shareable, HeldBuffer};
use oxbeam::types::tuple::{make_tuple, tuple_elements};
use oxbeam::{Atom, Encode, Env, MapFromIter, MapView, Term};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyTuple, PyType};

mod atoms {
    oxbeam::atoms! {
        __struct__, data, dtype, shape, f, s, u, c, bool, numpy,
        array_struct = "Elixir.Oxbeam.Python.Array",
    }
}

pub fn array_struct_name() -> Atom {
    atoms::array_struct()
}

/// numpy's `ndarray` and `generic` (its scalars), once Python code has imported numpy.
static NUMPY_TYPES: PyOnceLock<(Py<PyType>, Py<PyType>)> = PyOnceLock::new();

pub(crate) fn numpy_types(py: Python<'_>) -> Option<&(Py<PyType>, Py<PyType>)> {
    if let Some(types) = NUMPY_TYPES.get(py) {
        return Some(types);
    }
    let numpy = py
        .import(intern!(py, "sys"))
        .ok()?
        .getattr(intern!(py, "modules"))
        .ok()?
        .get_item(intern!(py, "numpy"))
        .ok()?;
    let ndarray = numpy
        .getattr(intern!(py, "ndarray"))
        .ok()?
        .cast_into::<PyType>()
        .ok()?;
    let generic = numpy
        .getattr(intern!(py, "generic"))
        .ok()?
        .cast_into::<PyType>()
        .ok()?;
    let _ = NUMPY_TYPES.set(py, (ndarray.unbind(), generic.unbind()));
    NUMPY_TYPES.get(py)
}

/// What `decode` makes of an object numpy may own.
pub enum Numpy<'a> {
    /// An array: its `%Oxbeam.Python.Array{}`.
    Array(Term<'a>),
    /// A numpy scalar or an array of Python objects: an `%Object{}`.
    Object,
    /// Not numpy's (or numpy is not imported).
    Other,
}

pub fn decode<'a>(env: Env<'a>, object: &Bound<'_, PyAny>) -> PyResult<Numpy<'a>> {
    let py = object.py();
    let Some((ndarray, generic)) = numpy_types(py) else {
        return Ok(Numpy::Other);
    };
    if object.is_instance(generic.bind(py))? {
        return Ok(Numpy::Object);
    }
    if !object.is_instance(ndarray.bind(py))? {
        return Ok(Numpy::Other);
    }
    let dtype = object.getattr(intern!(py, "dtype"))?;
    if dtype.getattr(intern!(py, "hasobject"))?.is_truthy()? {
        return Ok(Numpy::Object);
    }
    let dtype_term = dtype_term(env, &dtype)?;
    let shape: Vec<usize> = object.getattr(intern!(py, "shape"))?.extract()?;
    let shape: Vec<Term> = shape.into_iter().map(|n| n.encode(env)).collect();
    let contiguous = object
        .getattr(intern!(py, "flags"))?
        .getattr(intern!(py, "c_contiguous"))?
        .is_truthy()?;
    // A subclass is read through a plain ndarray view of the same memory (a subclass
    // may export something else as its buffer); a non-C-contiguous array (transposed,
    // strided) is copied in C order.
    let array = if object.is_exact_instance(ndarray.bind(py)) {
        object.clone()
    } else {
        object.call_method1(intern!(py, "view"), (ndarray.bind(py),))?
    };
    let array = if contiguous {
        array
    } else {
        py.import(intern!(py, "numpy"))?
            .call_method1(intern!(py, "ascontiguousarray"), (array,))?
    };
    let data = match HeldBuffer::c_contiguous(&array) {
        Ok(export) => binary_term(env, py, export, || shareable(&array))?,
        // A dtype numpy does not export as a buffer (datetime64): copied.
        Err(_) => {
            let bytes = array.call_method0(intern!(py, "tobytes"))?;
            bytes.cast::<PyBytes>()?.as_bytes().encode(env)
        }
    };
    let fields = vec![
        (
            atoms::__struct__().to_term(env),
            atoms::array_struct().to_term(env),
        ),
        (atoms::data().to_term(env), data),
        (atoms::dtype().to_term(env), dtype_term),
        (atoms::shape().to_term(env), make_tuple(env, &shape)),
    ];
    Ok(Numpy::Array(MapFromIter(fields).encode(env)))
}

/// Nx's notation for a numpy dtype of native byte order, else `{:numpy, dtype.str}`.
fn dtype_term<'a>(env: Env<'a>, dtype: &Bound<'_, PyAny>) -> PyResult<Term<'a>> {
    let py = dtype.py();
    let kind: String = dtype.getattr(intern!(py, "kind"))?.extract()?;
    let size: usize = dtype.getattr(intern!(py, "itemsize"))?.extract()?;
    let order: String = dtype.getattr(intern!(py, "byteorder"))?.extract()?;
    let native = order == "=" || order == "|" || (order == "<") == cfg!(target_endian = "little");
    let bits = size * 8;
    let structured = !dtype.getattr(intern!(py, "names"))?.is_none();
    let family = match (kind.as_str(), size) {
        _ if !native || structured => None,
        ("b", 1) => return Ok(atoms::bool().to_term(env)),
        ("f", 2 | 4 | 8) => Some(atoms::f()),
        ("i", 1 | 2 | 4 | 8) => Some(atoms::s()),
        ("u", 1 | 2 | 4 | 8) => Some(atoms::u()),
        ("c", 8 | 16) => Some(atoms::c()),
        _ => None,
    };
    Ok(match family {
        Some(family) => (family, bits).encode(env),
        None => {
            let text: String = dtype.getattr(intern!(py, "str"))?.extract()?;
            (atoms::numpy(), text).encode(env)
        }
    })
}

/// numpy's dtype string for an `Array`'s dtype term, or None if it is not one.
fn dtype_string<'a>(env: Env<'a>, dtype: Term<'a>) -> Option<String> {
    if let Ok(atom) = dtype.decode::<Atom>(env) {
        return (atom == atoms::bool()).then(|| "?".to_owned());
    }
    let elements = tuple_elements(env, dtype)?;
    let [family, detail] = elements else {
        return None;
    };
    let family: Atom = family.decode(env).ok()?;
    if family == atoms::numpy() {
        return detail.decode::<String>(env).ok();
    }
    let bits: usize = detail.decode(env).ok()?;
    let code = match (family, bits) {
        (f, 16 | 32 | 64) if f == atoms::f() => "f",
        (s, 8 | 16 | 32 | 64) if s == atoms::s() => "i",
        (u, 8 | 16 | 32 | 64) if u == atoms::u() => "u",
        (c, 64 | 128) if c == atoms::c() => "c",
        _ => return None,
    };
    Some(format!("={code}{}", bits / 8))
}

/// Why an `Array` struct could not become a numpy array.
pub enum EncodeArrayError {
    /// A field is not what it must be: the message says which.
    Field(String),
    Python(PyErr),
}

impl From<PyErr> for EncodeArrayError {
    fn from(error: PyErr) -> Self {
        EncodeArrayError::Python(error)
    }
}

/// `%Oxbeam.Python.Array{}` → a numpy array over a read-only view of its data.
pub fn encode<'py, 'a>(
    py: Python<'py>,
    env: Env<'a>,
    map: MapView<'a>,
) -> Result<Bound<'py, PyAny>, EncodeArrayError> {
    let got = |value: Option<Term<'a>>| match value {
        Some(value) => value.inspect(env),
        None => "nothing".to_owned(),
    };
    let data = map.get(atoms::data());
    let data = data
        .filter(|d| d.decode::<&[u8]>(env).is_ok())
        .ok_or_else(|| {
            EncodeArrayError::Field(format!("data must be a binary, got: {}", got(data)))
        })?;
    let dtype = map.get(atoms::dtype());
    let dtype = dtype.and_then(|d| dtype_string(env, d)).ok_or_else(|| {
        EncodeArrayError::Field(format!(
            "dtype must be {{:f, 16 | 32 | 64}}, {{:s | :u, 8 | 16 | 32 | 64}}, \
             {{:c, 64 | 128}}, :bool or {{:numpy, dtype_string}}, got: {}",
            got(dtype)
        ))
    })?;
    let shape = map.get(atoms::shape());
    let shape: Vec<usize> = shape
        .and_then(|s| tuple_elements(env, s))
        .and_then(|dims| dims.iter().map(|d| d.decode::<usize>(env).ok()).collect())
        .ok_or_else(|| {
            EncodeArrayError::Field(format!(
                "shape must be a tuple of non-negative integers, got: {}",
                got(shape)
            ))
        })?;
    let numpy = py.import(intern!(py, "numpy"))?;
    let dtype = numpy.call_method1(intern!(py, "dtype"), (dtype,))?;
    let view = binary_view(py, data)?;
    let flat = numpy.call_method1(intern!(py, "frombuffer"), (view, dtype))?;
    Ok(flat.call_method1(intern!(py, "reshape"), (PyTuple::new(py, shape)?,))?)
}
