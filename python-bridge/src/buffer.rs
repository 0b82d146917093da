//! Binaries and buffers between Elixir and Python without copies.
//!
//! **Python → Elixir.** `decode` of a `bytes`, or of any other object exporting a
//! C-contiguous buffer (`bytearray`, `memoryview`, `array.array`, ...), gives a binary.
//! From [`SHARE_FROM`] bytes on, when the memory cannot change through Python objects
//! ([`shareable`]: `bytes`, and read-only views whose memory comes from a `bytes`, an
//! Erlang binary or a numpy array made read-only), the binary
//! points at the Python memory: a resource binary ([`SharedMemory`]) holding one buffer
//! export of the object, released through the decref thread (the GIL is not held where
//! the VM frees it). Smaller or mutable buffers are copied (one `memcpy`).
//!
//! **Elixir → Python.** `binary_as: :buffer` (and the data of `%Oxbeam.Python.Array{}`)
//! passes a binary as a read-only `memoryview` over the Erlang binary's bytes, exported
//! by a [`BinaryBuffer`] object that keeps the binary alive: a copy of its term in an
//! environment of its own (a refc binary is shared by reference, only binaries under 64
//! bytes, which live on a process heap, are copied).
//!
//! **The buffer protocol on Python 3.10.** `PyObject_GetBuffer`, `PyBuffer_Release`,
//! `PyBuffer_FillInfo`, `Py_buffer` and the `Py_bf_getbuffer` type slot are in the
//! stable ABI from Python 3.11, so pyo3's `abi3-py310` does not declare them. CPython
//! 3.10 exports the same functions with the same signatures and the same `Py_buffer`
//! layout (unchanged since 3.3), and its `PyType_FromSpec` takes the buffer slots (since
//! 3.9): this module declares them itself and uses them on every version; the tests run
//! on 3.10 to 3.13.

use oxbeam::{Encode, Env, OwnedEnv, ResourceArc, Term};
use pyo3::exceptions::PyBufferError;
use pyo3::ffi;
use pyo3::prelude::*;
use std::ffi::{c_char, c_int, c_void};

/// From this size on, `decode` shares immutable Python memory instead of copying it.
/// Below it a copy costs less than the resource that sharing needs (measured with
/// `tests/bench/python/run.exs`: a copy of 64 KiB is a few µs, sharing ~1 µs).
pub const SHARE_FROM: usize = 64 * 1024;

/// CPython's `Py_buffer` (`Include/pybuffer.h`), the same layout from 3.3 to 3.14.
#[repr(C)]
pub struct RawBuffer {
    buf: *mut c_void,
    obj: *mut ffi::PyObject,
    len: ffi::Py_ssize_t,
    itemsize: ffi::Py_ssize_t,
    readonly: c_int,
    ndim: c_int,
    format: *mut c_char,
    shape: *mut ffi::Py_ssize_t,
    strides: *mut ffi::Py_ssize_t,
    suboffsets: *mut ffi::Py_ssize_t,
    internal: *mut c_void,
}

/// `PyBUF_ND | PyBUF_STRIDES | 0x20`: a C-contiguous buffer, or `BufferError`.
const PYBUF_C_CONTIGUOUS: c_int = 0x0038;
/// The `Py_bf_getbuffer` type slot (`Include/typeslots.h`).
const PY_BF_GETBUFFER: c_int = 1;

extern "C" {
    // In libpython 3.10 as in 3.11+ (see the module docs).
    fn PyObject_GetBuffer(obj: *mut ffi::PyObject, view: *mut RawBuffer, flags: c_int) -> c_int;
    fn PyBuffer_Release(view: *mut RawBuffer);
    fn PyBuffer_FillInfo(
        view: *mut RawBuffer,
        obj: *mut ffi::PyObject,
        buf: *mut c_void,
        len: ffi::Py_ssize_t,
        readonly: c_int,
        flags: c_int,
    ) -> c_int;
}

/// One buffer export of a Python object (it holds a strong reference to the object
/// too). Released under the GIL by [`release`](Self::release), or, when dropped, by the
/// decref thread.
pub struct HeldBuffer {
    // Boxed: some exporters point the view's fields into the view itself
    // (PyBuffer_FillInfo sets `shape = &view->len`), so it must not move. None once
    // released or handed to the decref thread.
    view: Option<Box<RawBuffer>>,
}

// SAFETY: the export is only read (its bytes, immutable while exported for the
// sharing we do) and released under the GIL, by whichever thread holds it.
unsafe impl Send for HeldBuffer {}
unsafe impl Sync for HeldBuffer {}

impl HeldBuffer {
    /// A C-contiguous export of `object`; `BufferError` if it has none.
    pub fn c_contiguous(object: &Bound<'_, PyAny>) -> PyResult<HeldBuffer> {
        let mut view = Box::new(RawBuffer {
            buf: std::ptr::null_mut(),
            obj: std::ptr::null_mut(),
            len: 0,
            itemsize: 0,
            readonly: 0,
            ndim: 0,
            format: std::ptr::null_mut(),
            shape: std::ptr::null_mut(),
            strides: std::ptr::null_mut(),
            suboffsets: std::ptr::null_mut(),
            internal: std::ptr::null_mut(),
        });
        // SAFETY: GIL held (the Bound); `view` is a writable Py_buffer that stays in
        // place (boxed); on success the exporter filled it and we own the export, on
        // failure an exception is set and the view is left unfilled.
        if unsafe { PyObject_GetBuffer(object.as_ptr(), &mut *view, PYBUF_C_CONTIGUOUS) } != 0 {
            return Err(PyErr::fetch(object.py()));
        }
        Ok(HeldBuffer { view: Some(view) })
    }

    /// The exported bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.view {
            Some(view) if view.len > 0 && !view.buf.is_null() => {
                // SAFETY: a successful C-contiguous export describes `len` readable
                // bytes at `buf`, valid until the export is released, which needs
                // `self` (by value).
                unsafe { std::slice::from_raw_parts(view.buf as *const u8, view.len as usize) }
            }
            _ => &[],
        }
    }

    /// Releases the export now (the caller holds the GIL).
    pub fn release(mut self, _py: Python<'_>) {
        if let Some(mut view) = self.view.take() {
            // SAFETY: GIL held (py); the export is ours, released once (taken out).
            unsafe { PyBuffer_Release(&mut *view) }
        }
    }

    /// For the decref thread, which holds the GIL.
    ///
    /// # Safety
    /// The GIL must be held, and `view` an export handed over by a dropped
    /// `HeldBuffer`, released only this once.
    pub unsafe fn release_with_gil_held(view: &mut RawBuffer) {
        // SAFETY: as the caller promises.
        unsafe { PyBuffer_Release(view) }
    }
}

impl Drop for HeldBuffer {
    fn drop(&mut self) {
        // Never wait for the GIL here: this may run on a normal scheduler.
        if let Some(view) = self.view.take() {
            crate::decref::release_buffer(view);
        }
    }
}

/// Python memory an Elixir binary points at: the binary keeps this resource, and so
/// the export, alive.
#[oxbeam::resource]
pub struct SharedMemory {
    export: HeldBuffer,
}

/// The binary of an export: shared from [`SHARE_FROM`] bytes on when `shareable`
/// says the memory cannot change, else copied (and the export released now).
pub fn binary_term<'a>(
    env: Env<'a>,
    py: Python<'_>,
    export: HeldBuffer,
    shareable: impl FnOnce() -> PyResult<bool>,
) -> PyResult<Term<'a>> {
    if export.bytes().len() >= SHARE_FROM && shareable()? {
        let shared = ResourceArc::new(SharedMemory { export });
        return Ok(shared.make_binary(env, |shared| shared.export.bytes()));
    }
    let term = export.bytes().encode(env);
    export.release(py);
    Ok(term)
}

/// `decode` of a `bytes` (immutable: shared from [`SHARE_FROM`] bytes on, unless its
/// class exports some other buffer: then its bytes are copied).
pub fn bytes_term<'a>(env: Env<'a>, bytes: &Bound<'_, pyo3::types::PyBytes>) -> PyResult<Term<'a>> {
    if bytes.as_bytes().len() < SHARE_FROM || !exports_own_bytes(bytes.as_any()) {
        return Ok(bytes.as_bytes().encode(env));
    }
    binary_term(
        env,
        bytes.py(),
        HeldBuffer::c_contiguous(bytes.as_any())?,
        || Ok(true),
    )
}

/// Whether `object` is a `bytes` whose buffer is its own immutable bytes: `bytes`'s
/// own `bf_getbuffer`, not one a subclass put in its place (`__buffer__`, Python
/// 3.12+), which could export any memory.
fn exports_own_bytes(object: &Bound<'_, PyAny>) -> bool {
    let py = object.py();
    object.is_instance_of::<pyo3::types::PyBytes>()
        && exports_like(object, &py.get_type::<pyo3::types::PyBytes>())
}

/// Whether `object`'s type exports its buffer with the same function as `base` (a
/// subclass that did not replace it with `__buffer__`).
pub fn exports_like(object: &Bound<'_, PyAny>, base: &Bound<'_, pyo3::types::PyType>) -> bool {
    // SAFETY: GIL held (the Bounds); PyType_GetSlot reads a slot of a live type object
    // (any type from 3.10 on).
    unsafe {
        ffi::PyType_GetSlot(ffi::Py_TYPE(object.as_ptr()), PY_BF_GETBUFFER)
            == ffi::PyType_GetSlot(base.as_type_ptr(), PY_BF_GETBUFFER)
    }
}

/// Whether objects of `object`'s type export buffers.
pub fn exports_buffer(object: &Bound<'_, PyAny>) -> bool {
    // SAFETY: GIL held (the Bound); PyType_GetSlot takes any type object from 3.10 on
    // (static types included) and returns the slot or NULL.
    unsafe { !ffi::PyType_GetSlot(ffi::Py_TYPE(object.as_ptr()), PY_BF_GETBUFFER).is_null() }
}

/// `decode` of an object exporting a buffer (not numpy's, see `numpy.rs`): its bytes,
/// in C order. Shared when large and immutable ([`shareable`]), copied otherwise.
pub fn exporter_term<'a>(env: Env<'a>, object: &Bound<'_, PyAny>) -> PyResult<Term<'a>> {
    let py = object.py();
    match HeldBuffer::c_contiguous(object) {
        Ok(export) => binary_term(env, py, export, || shareable(object)),
        Err(error) if error.is_instance_of::<PyBufferError>(py) => {
            // Not C-contiguous (a strided memoryview): a copy in C order.
            let bytes = memoryview(object)?.call_method0(pyo3::intern!(py, "tobytes"))?;
            Ok(bytes.cast::<pyo3::types::PyBytes>()?.as_bytes().encode(env))
        }
        Err(error) => Err(error),
    }
}

/// Whether the memory behind `object` can never change through Python objects, so
/// that an Elixir binary may point at it: a `bytes`, an Erlang binary's
/// `BinaryBuffer`, or a read-only `memoryview` or numpy array whose memory comes from
/// one of those, or from a read-only numpy array that owns its memory. Anything else
/// (a `bytearray`, `array.array`, a writable view, a read-only view of writable
/// memory, an `mmap`) may change, and is copied.
pub fn shareable(object: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = object.py();
    let mut current = object.clone();
    // A chain of views is short; a pathological one is copied.
    for _ in 0..64 {
        if exports_own_bytes(&current) || current.get_type().is(binary_buffer_type(py)?) {
            return Ok(true);
        }
        if current.is_instance_of::<pyo3::types::PyMemoryView>() {
            if !current
                .getattr(pyo3::intern!(py, "readonly"))?
                .is_truthy()?
            {
                return Ok(false);
            }
            // None for a view of raw memory: not shareable.
            current = current.getattr(pyo3::intern!(py, "obj"))?;
            continue;
        }
        match crate::numpy::numpy_types(py) {
            Some((ndarray, _)) if current.is_instance(ndarray.bind(py))? => {
                // A subclass exporting other memory (`__buffer__`) may export anything.
                if !exports_like(&current, ndarray.bind(py)) {
                    return Ok(false);
                }
                let writeable = current
                    .getattr(pyo3::intern!(py, "flags"))?
                    .getattr(pyo3::intern!(py, "writeable"))?
                    .is_truthy()?;
                if writeable {
                    return Ok(false);
                }
                let base = current.getattr(pyo3::intern!(py, "base"))?;
                if base.is_none() {
                    // Owns its memory and was made read-only.
                    return Ok(true);
                }
                current = base;
            }
            _ => return Ok(false),
        }
    }
    Ok(false)
}

/// `memoryview(object)`.
fn memoryview<'py>(object: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: GIL held (the Bound); PyMemoryView_FromObject returns a new reference or
    // NULL with an exception set.
    unsafe {
        Bound::from_owned_ptr_or_err(object.py(), ffi::PyMemoryView_FromObject(object.as_ptr()))
    }
}

/// An Erlang binary kept alive outside any process: a copy of its term in an
/// environment of its own, and where its bytes are.
struct KeptBinary {
    _env: OwnedEnv,
    data: *const u8,
    len: usize,
}

impl KeptBinary {
    fn new(binary: Term<'_>) -> Option<KeptBinary> {
        let mut kept = OwnedEnv::new();
        let (data, len) = kept.run(|own| {
            // SAFETY: enif_make_copy copies a valid term of `env` into `own` (a refc
            // binary by reference: its bytes are not copied).
            let copy = unsafe {
                Term::from_raw(oxbeam::sys::enif_make_copy(own.as_raw(), binary.as_raw()))
            };
            let bytes: &[u8] = copy.decode(own).ok()?;
            Some((bytes.as_ptr(), bytes.len()))
        })?;
        // The bytes belong to the copy, which lives (unmoved: nothing collects an
        // environment's terms) until the environment is freed with this struct.
        Some(KeptBinary {
            _env: kept,
            data,
            len,
        })
    }
}

/// The `oxbeam.BinaryBuffer` object: `PyObject_HEAD` and the kept binary.
#[repr(C)]
struct BinaryBufferObject {
    ob_base: ffi::PyObject,
    kept: *mut KeptBinary,
}

/// `bf_getbuffer`: a read-only export of the kept bytes; asking for a writable one
/// raises `BufferError: Object is not writable.` (`PyBuffer_FillInfo`).
///
/// # Safety
/// A CPython type slot: called by CPython only, with the GIL, on a live object of this
/// type and a view to fill.
unsafe extern "C" fn binary_buffer_getbuffer(
    object: *mut ffi::PyObject,
    view: *mut RawBuffer,
    flags: c_int,
) -> c_int {
    // SAFETY: CPython calls this slot with the GIL held, a live object of our type and
    // a view to fill; `kept` is set right after allocation (NULL only for an object
    // that was never finished, refused below) and freed only by dealloc.
    unsafe {
        let kept = (*(object as *mut BinaryBufferObject)).kept;
        if kept.is_null() {
            ffi::PyErr_SetString(ffi::PyExc_BufferError, c"empty BinaryBuffer".as_ptr());
            return -1;
        }
        PyBuffer_FillInfo(
            view,
            object,
            (*kept).data as *mut c_void,
            (*kept).len as ffi::Py_ssize_t,
            1,
            flags,
        )
    }
}

/// `tp_dealloc` of `oxbeam.BinaryBuffer`.
///
/// # Safety
/// A CPython type slot: called by CPython only, once, with the GIL, when the object's
/// last reference is gone.
unsafe extern "C" fn binary_buffer_dealloc(object: *mut ffi::PyObject) {
    // SAFETY: CPython calls tp_dealloc once, with the GIL, when the last reference
    // (exports included: each holds one) is gone; we free the kept binary (its
    // environment may be freed from any thread), then the object with the type's
    // tp_free, then drop the reference every instance of a heap type holds on it.
    unsafe {
        let this = object as *mut BinaryBufferObject;
        let kept = std::mem::replace(&mut (*this).kept, std::ptr::null_mut());
        if !kept.is_null() {
            drop(Box::from_raw(kept));
        }
        let ty = ffi::Py_TYPE(object);
        let free = ffi::PyType_GetSlot(ty, ffi::Py_tp_free);
        if !free.is_null() {
            let free: ffi::freefunc = std::mem::transmute(free);
            free(object as *mut c_void);
        }
        ffi::Py_DECREF(ty as *mut ffi::PyObject);
    }
}

static BINARY_BUFFER_TYPE: pyo3::sync::PyOnceLock<Py<pyo3::types::PyType>> =
    pyo3::sync::PyOnceLock::new();

/// The `oxbeam.BinaryBuffer` type, made once.
pub fn binary_buffer_type(py: Python<'_>) -> PyResult<&Bound<'_, pyo3::types::PyType>> {
    BINARY_BUFFER_TYPE
        .get_or_try_init(py, || {
            let mut slots = [
                ffi::PyType_Slot {
                    slot: PY_BF_GETBUFFER,
                    pfunc: binary_buffer_getbuffer as *mut c_void,
                },
                ffi::PyType_Slot {
                    slot: ffi::Py_tp_dealloc,
                    pfunc: binary_buffer_dealloc as *mut c_void,
                },
                ffi::PyType_Slot {
                    slot: ffi::Py_tp_doc,
                    pfunc: c"An Erlang binary's bytes, exported read-only (Oxbeam.Python).".as_ptr()
                        as *mut c_void,
                },
                ffi::PyType_Slot {
                    slot: 0,
                    pfunc: std::ptr::null_mut(),
                },
            ];
            let mut spec = ffi::PyType_Spec {
                name: c"oxbeam.BinaryBuffer".as_ptr(),
                basicsize: std::mem::size_of::<BinaryBufferObject>() as c_int,
                itemsize: 0,
                flags: (ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION)
                    as std::ffi::c_uint,
                slots: slots.as_mut_ptr(),
            };
            // SAFETY: GIL held (py); the spec and its slots are valid for the call
            // (PyType_FromSpec copies what it keeps; the name and doc are 'static);
            // it returns a new reference to a heap type or NULL with an exception.
            let ty = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyType_FromSpec(&mut spec))? };
            Ok(ty.cast_into::<pyo3::types::PyType>()?.unbind())
        })
        .map(|ty| ty.bind(py))
}

/// A read-only `memoryview` over the bytes of the Erlang binary `binary`, which stays
/// alive as long as the view (or anything made from it) needs it.
pub fn binary_view<'py>(py: Python<'py>, binary: Term<'_>) -> PyResult<Bound<'py, PyAny>> {
    let ty = binary_buffer_type(py)?;
    let kept = KeptBinary::new(binary)
        .ok_or_else(|| pyo3::exceptions::PyValueError::new_err("not a binary"))?;
    // SAFETY: GIL held (py); PyType_GenericAlloc returns a new reference to a zeroed
    // object of our type (its basicsize) or NULL with an exception set; `kept` is set
    // before anything can see the object.
    let exporter = unsafe {
        let object = ffi::PyType_GenericAlloc(ty.as_ptr() as *mut ffi::PyTypeObject, 0);
        let object = Bound::from_owned_ptr_or_err(py, object)?;
        (*(object.as_ptr() as *mut BinaryBufferObject)).kept = Box::into_raw(Box::new(kept));
        object
    };
    memoryview(&exporter)
}

/// From this size on, a new `bytes` asks for transparent huge pages (see [`new_bytes`]).
const HUGE_PAGES_FROM: usize = 4 * 1024 * 1024;
const HUGE_PAGE: usize = 2 * 1024 * 1024;

/// A new `bytes` with a copy of `data`: one `memcpy`. A large one comes from the VM's
/// allocator (`raw_alloc.rs`), which reuses the memory of the large blocks freed before
/// it: the copy touches pages already mapped. When that allocator is not installed
/// (`PYTHONMALLOC` set), Python's allocator gets it fresh from the kernel (`mmap`), so
/// the copy first faults its pages in; then, from [`HUGE_PAGES_FROM`] bytes on, its
/// 2 MiB-aligned interior is advised to use huge pages first (`madvise(MADV_HUGEPAGE)`,
/// honoured when the kernel's transparent huge pages are `madvise` or `always`): one
/// fault per 2 MiB instead of per 4 KiB.
pub fn new_bytes<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    if data.len() < HUGE_PAGES_FROM {
        return Ok(pyo3::types::PyBytes::new(py, data).into_any());
    }
    // Objects Elixir already dropped (the previous large bytes, often) are freed first,
    // so that the allocator can give their memory (still mapped) to this one.
    crate::decref::release_pending_now(py);
    // SAFETY: GIL held (py); PyBytes_FromStringAndSize(NULL, n) returns a new bytes of
    // n bytes, not yet initialized, or NULL with an exception set; nobody else can see
    // it until we return it, after its n bytes are written (madvise only gives the
    // kernel a hint about pages inside this allocation, whatever it answers).
    unsafe {
        let object =
            ffi::PyBytes_FromStringAndSize(std::ptr::null(), data.len() as ffi::Py_ssize_t);
        let object = Bound::from_owned_ptr_or_err(py, object)?;
        let target = ffi::PyBytes_AsString(object.as_ptr()) as *mut u8;
        if !crate::raw_alloc::installed() {
            advise_huge_pages(target, data.len());
        }
        std::ptr::copy_nonoverlapping(data.as_ptr(), target, data.len());
        Ok(object)
    }
}

/// Asks for transparent huge pages on the 2 MiB-aligned interior of `len` bytes at
/// `start` (Linux; elsewhere nothing).
///
/// # Safety
/// `start..start + len` must be memory this process allocated and still owns.
unsafe fn advise_huge_pages(start: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    {
        let first = (start as usize).next_multiple_of(HUGE_PAGE);
        let end = (start as usize + len) / HUGE_PAGE * HUGE_PAGE;
        if end > first {
            // SAFETY: a page-aligned range inside the caller's allocation; MADV_HUGEPAGE
            // only changes how the kernel backs it (its content is unchanged), and a
            // failure is harmless.
            unsafe { libc::madvise(first as *mut c_void, end - first, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (start, len, HUGE_PAGE);
}

/// For tests: the address of a binary's bytes.
#[oxbeam::nif]
fn binary_address(binary: oxbeam::Binary<'_>) -> usize {
    binary.as_slice().as_ptr() as usize
}
