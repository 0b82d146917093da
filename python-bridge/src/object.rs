//! Python objects held by Elixir terms: a resource owning one strong reference.

use pyo3::prelude::*;
use std::ptr::NonNull;

/// One strong reference to a Python object, owned by Erlang terms.
#[oxbeam::resource]
pub struct PyObjectRef {
    ptr: NonNull<pyo3::ffi::PyObject>,
}

// SAFETY: the pointer is only dereferenced with the GIL held (Python::attach); the
// reference it owns is released by the decref thread, which takes the GIL.
unsafe impl Send for PyObjectRef {}
unsafe impl Sync for PyObjectRef {}

impl PyObjectRef {
    /// Takes a new strong reference to `object`.
    pub fn new(object: &Bound<'_, PyAny>) -> PyObjectRef {
        PyObjectRef {
            ptr: NonNull::new(object.clone().into_ptr()).expect("a Bound is never NULL"),
        }
    }

    /// The object, borrowed for the GIL lifetime `'py`.
    pub fn bind<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        // SAFETY: we own a strong reference, so the object is alive; from_borrowed_ptr
        // takes a new reference for the Bound.
        unsafe { Bound::from_borrowed_ptr(py, self.ptr.as_ptr()) }
    }
}

impl Drop for PyObjectRef {
    fn drop(&mut self) {
        // Never wait for the GIL here: this runs wherever the VM frees the resource,
        // often a normal scheduler.
        crate::decref::release(self.ptr);
    }
}
