//! Dynamic resource calls between NIF libraries (erl_nif's `enif_dynamic_resource_call`,
//! NIF 2.16): a library runs a callback of a resource type another library made, on a
//! resource term of that type, without linking to it.
//!
//! The provider names its type and adds the callback:
//!
//! ```ignore
//! #[repr(C)]
//! pub struct AddCall {
//!     pub amount: i64,
//!     pub total: i64,
//! }
//! // SAFETY: #[repr(C)] of i64s; every library using the tag declares these fields.
//! unsafe impl oxbeam::resource::DynCallData for AddCall {
//!     const TAG: &'static str = "counter.add/1";
//! }
//!
//! #[oxbeam::resource(name = "counter", dyncall)]
//! pub struct Counter { value: AtomicI64 }
//!
//! impl oxbeam::resource::DynCall for Counter {
//!     type Data = AddCall;
//!     fn dyncall(&self, _env: Env<'_>, call: &mut AddCall) {
//!         call.total = self.value.fetch_add(call.amount, Ordering::Relaxed) + call.amount;
//!     }
//! }
//! ```
//!
//! and the consumer, with its own copy of `AddCall` (same fields, same `TAG`), calls it
//! on a term it got from Elixir:
//!
//! ```ignore
//! let mut call = AddCall { amount: 5, total: 0 };
//! oxbeam::resource::dynamic_call(env, "Elixir.MyApp.Counters", "counter", term, &mut call)?;
//! ```
//!
//! What crosses the VM is a pointer to a [`Frame`]: a header that says which call data
//! type (its `TAG`, size and alignment) the caller passes, so the provider refuses
//! data of another type instead of reading it as its own. The two libraries are
//! compiled separately, maybe by different compilers: the data type's layout must be
//! fixed by the C ABI (`#[repr(C)]`), which [`DynCallData`]'s implementer promises.

use super::Resource;
use crate::atom::Atom;
use crate::env::Env;
use crate::sys;
use crate::term::Term;
use std::ffi::c_void;
use std::fmt;

/// The type of the value a dynamic call passes, agreed between the provider and the
/// caller by its [`TAG`](Self::TAG).
///
/// # Safety
/// - `Self`'s layout is fixed by the C ABI, so that another library compiled apart
///   (another crate, another compiler version) lays it out the same: a `#[repr(C)]`
///   struct (or a primitive) whose fields are integers, floats, `bool`, raw pointers,
///   `Option<extern "C" fn ...>`, arrays of those, or other `DynCallData` types. No
///   Rust-layout types (`String`, `Vec`, `Option<T>` in general, tuples, references):
///   their layout may differ between the two libraries.
/// - Every type of any library that implements `DynCallData` with the same `TAG` (and
///   the same size and alignment) declares the same fields in the same order, and
///   any value valid for one is valid for the other: the provider reads and writes the
///   caller's value as its own type. Change the `TAG` when the fields change.
pub unsafe trait DynCallData: Sized {
    /// The name both libraries know the type by (e.g. `"my_app.counter.add/1"`).
    const TAG: &'static str;
}

/// A resource type's dynamic call: what another NIF library runs on its objects with
/// [`dynamic_call`]. Registered by `#[oxbeam::resource(name = "...", dyncall)]` (the
/// explicit name is what callers pass).
pub trait DynCall: Resource {
    /// The call data, agreed with the callers (see [`DynCallData`]).
    type Data: DynCallData;

    /// Runs on the caller's thread, inside the caller's NIF, with the caller's
    /// environment: keep it as short as a NIF. Many callers may run it at once. A panic
    /// or raise in it is caught, logged through the VM's logger, and the caller gets
    /// [`DynCallError::Panicked`].
    fn dyncall<'a>(&self, env: Env<'a>, data: &mut Self::Data);
}

/// Why a [`dynamic_call`] did not run the callback to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DynCallError {
    /// The VM found no such call: the term is not a resource, or its type is not
    /// `name` of `module` (another type, or the module has no library loaded), or that
    /// type has no dynamic call.
    NotFound { module: String, name: String },
    /// The provider expects another call data type.
    DataMismatch {
        module: String,
        name: String,
        /// The provider's `TAG`, size and alignment.
        expected: (String, usize, usize),
        /// The caller's.
        passed: (&'static str, usize, usize),
    },
    /// The provider's callback panicked or raised (the provider logged it).
    Panicked { module: String, name: String },
    /// The callback ran but did not answer: the type's `dyncall` is not oxbeam's (a
    /// library in C or another framework), so it cannot be called with [`dynamic_call`]
    /// (see [`dynamic_call_raw`]).
    NoAnswer { module: String, name: String },
}

impl fmt::Display for DynCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DynCallError::NotFound { module, name } => write!(
                f,
                "dynamic resource call: the term is not a resource of type {name:?} of module \
                 {module} with a dynamic call (another term or type, no such library loaded, \
                 or no dyncall)"
            ),
            DynCallError::DataMismatch {
                module,
                name,
                expected,
                passed,
            } => write!(
                f,
                "dynamic resource call to {name:?} of module {module}: the provider expects \
                 call data {:?} ({} bytes, align {}), the caller passed {:?} ({} bytes, align {})",
                expected.0, expected.1, expected.2, passed.0, passed.1, passed.2
            ),
            DynCallError::Panicked { module, name } => write!(
                f,
                "dynamic resource call to {name:?} of module {module}: the provider's callback \
                 failed (see the VM's log)"
            ),
            DynCallError::NoAnswer { module, name } => write!(
                f,
                "dynamic resource call to {name:?} of module {module}: the callback did not \
                 answer (not an oxbeam dynamic call)"
            ),
        }
    }
}

impl std::error::Error for DynCallError {}

/// `"OXBDYNC1"`: the first field of every [`Frame`].
const MAGIC: u64 = u64::from_le_bytes(*b"OXBDYNC1");

/// [`Frame::status`] values.
const NOT_RUN: u32 = 0;
const DONE: u32 = 1;
const MISMATCH: u32 = 2;
const PANICKED: u32 = 3;

/// What the call data pointer of an oxbeam dynamic call points to (`#[repr(C)]`, so a
/// library in C can speak it too; see docs/nifs.md). The caller fills everything but
/// the `provider_*` fields and `status`, which the provider writes.
#[repr(C)]
struct Frame {
    /// [`MAGIC`].
    magic: u64,
    /// The caller's `DynCallData::TAG` (UTF-8, not NUL-terminated), size, alignment.
    tag: *const u8,
    tag_len: usize,
    size: usize,
    align: usize,
    /// The caller's value, a `&mut` for the duration of the call.
    data: *mut c_void,
    /// The provider's tag, size and alignment, written on a mismatch (the tag points
    /// into the provider's static data, read before the call returns).
    provider_tag: *const u8,
    provider_tag_len: usize,
    provider_size: usize,
    provider_align: usize,
    /// [`NOT_RUN`] until the provider answers.
    status: u32,
}

/// The `len` bytes at `ptr`; empty for NULL (a slice may not be made from NULL, even
/// empty).
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes that outlive the returned slice.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() {
        &[]
    } else {
        // SAFETY (caller): `len` readable bytes at a non-NULL `ptr`.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// Runs the dynamic call `name` of `module` (`"Elixir.MyApp.Counters"`) on `resource`,
/// passing `data`: `Ok` once the provider's [`DynCall::dyncall`] returned (having read
/// or written `data`).
///
/// `module` is the module the provider's library is loaded for, and `name` the
/// provider's `#[oxbeam::resource(name = "...")]`; neither atom is created (a name
/// that is no atom yet cannot name a loaded type). The provider checks that `D` is its
/// call data type (same `TAG`, size and alignment) before it runs.
pub fn dynamic_call<'a, D: DynCallData>(
    env: Env<'a>,
    module: &str,
    name: &str,
    resource: Term<'a>,
    data: &mut D,
) -> Result<(), DynCallError> {
    let mut frame = Frame {
        magic: MAGIC,
        tag: D::TAG.as_ptr(),
        tag_len: D::TAG.len(),
        size: std::mem::size_of::<D>(),
        align: std::mem::align_of::<D>(),
        data: data as *mut D as *mut c_void,
        provider_tag: std::ptr::null(),
        provider_tag_len: 0,
        provider_size: 0,
        provider_align: 0,
        status: NOT_RUN,
    };
    // SAFETY: frame is a valid Frame for the whole call, its data a unique borrow; a
    // provider that is an oxbeam library reads it as a Frame (the protocol), checks D
    // before touching the data, and writes only the frame's provider fields and status.
    unsafe { dynamic_call_raw(env, module, name, resource, &mut frame as *mut Frame as _) }?;
    let names = || (module.to_string(), name.to_string());
    match frame.status {
        DONE => Ok(()),
        MISMATCH => {
            // SAFETY: the provider wrote its 'static tag, `provider_tag_len` bytes (or
            // left it NULL).
            let expected = unsafe { bytes(frame.provider_tag, frame.provider_tag_len) };
            let (module, name) = names();
            Err(DynCallError::DataMismatch {
                module,
                name,
                expected: (
                    String::from_utf8_lossy(expected).into_owned(),
                    frame.provider_size,
                    frame.provider_align,
                ),
                passed: (D::TAG, frame.size, frame.align),
            })
        }
        PANICKED => {
            let (module, name) = names();
            Err(DynCallError::Panicked { module, name })
        }
        _ => {
            let (module, name) = names();
            Err(DynCallError::NoAnswer { module, name })
        }
    }
}

/// `enif_dynamic_resource_call` with the caller's own `call_data`: for a provider that
/// is not an oxbeam library (C, Rustler), whose `dyncall` reads `call_data` its own
/// way. `Err(NotFound)` when the VM ran nothing.
///
/// # Safety
/// `call_data` must be what the provider's `dyncall` expects (a pointer to a value of
/// the type it reads and writes, valid for the call), for every type `resource` may
/// have under that name. An oxbeam provider expects the frame [`dynamic_call`] makes.
pub unsafe fn dynamic_call_raw<'a>(
    env: Env<'a>,
    module: &str,
    name: &str,
    resource: Term<'a>,
    call_data: *mut c_void,
) -> Result<(), DynCallError> {
    let not_found = || DynCallError::NotFound {
        module: module.to_string(),
        name: name.to_string(),
    };
    let (Some(module_atom), Some(name_atom)) = (
        Atom::try_existing(env, module),
        Atom::try_existing(env, name),
    ) else {
        return Err(not_found());
    };
    // SAFETY: env is the caller's live environment and resource one of its terms; the
    // atoms are global; the caller vouches for call_data (the function's contract).
    let rc = unsafe {
        sys::enif_dynamic_resource_call(
            env.as_raw(),
            module_atom.as_raw(),
            name_atom.as_raw(),
            resource.as_raw(),
            call_data,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// The `dyncall` callback of a [`DynCall`] type: checks the frame, runs the callback,
/// answers in the frame's `status`.
///
/// # Safety
/// Called by the VM only (`enif_dynamic_resource_call`): `obj` is a live object of
/// this type and `call_data` what the caller passed (checked to be a [`Frame`] by its
/// magic before any other use; `dynamic_call_raw`'s contract makes it valid to read).
pub(super) unsafe extern "C" fn dyncall<T: DynCall>(
    env: *mut sys::ErlNifEnv,
    obj: *mut c_void,
    call_data: *mut c_void,
) {
    let rust_name = || T::__resource_type().rust_name;
    // SAFETY: env is the caller's environment (callers pass their own, never NULL from
    // oxbeam; a NULL one is handled).
    let report_env = unsafe { super::callback_env(env) };
    let frame = call_data as *mut Frame;
    // SAFETY: a caller of this type's dynamic call passes a Frame (the protocol, which
    // `dynamic_call` follows and `dynamic_call_raw`'s contract requires), aligned and
    // valid for the call; the magic is read before anything else.
    if frame.is_null() || unsafe { (*frame).magic } != MAGIC {
        crate::report::report(
            report_env,
            &format!(
                "the dynamic call of resource {} was called with data that is not an oxbeam \
                 call frame: ignored",
                rust_name()
            ),
        );
        return;
    }
    let Some(env) = report_env else { return };
    // SAFETY: as above; the frame is the caller's, borrowed uniquely for the call.
    let frame = unsafe { &mut *frame };
    let tag = <T::Data as DynCallData>::TAG;
    let size = std::mem::size_of::<T::Data>();
    let align = std::mem::align_of::<T::Data>();
    // SAFETY: the caller's tag is `tag_len` bytes of its static data (or NULL).
    let passed_tag = unsafe { bytes(frame.tag, frame.tag_len) };
    if passed_tag != tag.as_bytes() || frame.size != size || frame.align != align {
        frame.provider_tag = tag.as_ptr();
        frame.provider_tag_len = tag.len();
        frame.provider_size = size;
        frame.provider_align = align;
        frame.status = MISMATCH;
        return;
    }
    let data = frame.data as *mut T::Data;
    let ran = crate::report::catching(
        || format!("the dynamic call of resource {}", rust_name()),
        report_env,
        || {
            // SAFETY: the VM passes a live object of this type (it checked the type);
            // data is the caller's value of a type with our TAG, size and alignment,
            // hence (DynCallData's contract) our type, borrowed uniquely for the call.
            let (value, data) = unsafe { (&*(obj as *const T), &mut *data) };
            value.dyncall(env, data);
        },
    );
    frame.status = if ran.is_some() { DONE } else { PANICKED };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_failed() {
        let names = || ("Elixir.P".to_string(), "counter".to_string());
        let (module, name) = names();
        assert_eq!(
            DynCallError::NotFound { module, name }.to_string(),
            "dynamic resource call: the term is not a resource of type \"counter\" of module \
             Elixir.P with a dynamic call (another term or type, no such library loaded, or \
             no dyncall)"
        );
        let (module, name) = names();
        let mismatch = DynCallError::DataMismatch {
            module,
            name,
            expected: ("a/1".into(), 16, 8),
            passed: ("b/1", 8, 8),
        };
        assert_eq!(
            mismatch.to_string(),
            "dynamic resource call to \"counter\" of module Elixir.P: the provider expects call \
             data \"a/1\" (16 bytes, align 8), the caller passed \"b/1\" (8 bytes, align 8)"
        );
    }

    #[test]
    fn the_frame_layout_is_the_documented_one() {
        // docs/nifs.md documents these offsets for callers in C (64-bit targets).
        if cfg!(target_pointer_width = "64") {
            assert_eq!(std::mem::offset_of!(Frame, magic), 0);
            assert_eq!(std::mem::offset_of!(Frame, tag), 8);
            assert_eq!(std::mem::offset_of!(Frame, data), 40);
            assert_eq!(std::mem::offset_of!(Frame, status), 80);
            assert_eq!(std::mem::size_of::<Frame>(), 88);
        }
        assert_eq!(&MAGIC.to_le_bytes(), b"OXBDYNC1");
    }
}
