//! Resources: native state owned by Erlang terms, as the smart pointer [`ResourceArc`].
//!
//! ```ignore
//! use std::sync::atomic::{AtomicI64, Ordering};
//!
//! #[oxbeam::resource]
//! struct Counter {
//!     value: AtomicI64,
//! }
//!
//! #[oxbeam::nif]
//! fn new_counter() -> ResourceArc<Counter> {
//!     ResourceArc::new(Counter { value: AtomicI64::new(0) })
//! }
//!
//! #[oxbeam::nif]
//! fn bump(counter: &Counter) -> i64 {
//!     counter.value.fetch_add(1, Ordering::Relaxed) + 1
//! }
//! ```
//!
//! Rules: a resource type is `Send + Sync + 'static` — its value is shared by every
//! process holding the term and used from any scheduler thread at once, so mutation
//! goes through `Mutex`, `RwLock` or atomics. `Drop` runs when the last term and the
//! last `ResourceArc` are gone, on whatever thread the VM's garbage collector or the
//! last holder runs: keep it short and never block in it.
//!
//! Registration is automatic: `#[oxbeam::resource]` registers the type, and the
//! library opens every registered type when it loads. On a hot upgrade (the module is
//! recompiled and reloaded), the new library *takes over* the types of the old one:
//! existing resources stay valid, and their `Drop` and `down` now run the new code.

use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::sys;
use crate::term::Term;
use crate::types::pid::LocalPid;
use std::ffi::{c_void, CStr};
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, Ordering};

/// A type whose values Erlang terms can hold. Implement it with `#[oxbeam::resource]`
/// (on the struct, or on an `impl Resource for T` block to add callbacks).
pub trait Resource: RegisteredResource + Send + Sync + Sized + 'static {
    /// Called when a process this resource monitors (see [`ResourceArc::monitor`])
    /// exits. Runs on a scheduler thread: keep it short.
    fn down<'a>(&self, _env: Env<'a>, _pid: LocalPid, _monitor: Monitor) {}
}

/// The VM resource type of `Self`, implemented by `#[oxbeam::resource]`.
///
/// # Safety
/// `__resource_type` must return a `ResourceType` made by `ResourceType::new::<Self>`,
/// one per type: the VM hands out objects of that type as `Self`, so another type's
/// resource type would be type confusion.
#[doc(hidden)]
pub unsafe trait RegisteredResource {
    fn __resource_type() -> &'static ResourceType;
}

/// The VM-side type of a [`Resource`]; filled in when the library loads.
#[doc(hidden)]
pub struct ResourceType {
    pub name: &'static CStr,
    /// The Rust type name, for messages.
    pub rust_name: &'static str,
    raw: AtomicPtr<sys::ErlNifResourceType>,
    init: sys::ErlNifResourceTypeInit,
}

// SAFETY: the init struct only holds function pointers; raw is atomic.
unsafe impl Sync for ResourceType {}

impl ResourceType {
    pub const fn new<T: Resource>(name: &'static CStr, rust_name: &'static str) -> ResourceType {
        ResourceType {
            name,
            rust_name,
            raw: AtomicPtr::new(std::ptr::null_mut()),
            init: sys::ErlNifResourceTypeInit {
                dtor: Some(destructor::<T>),
                stop: None,
                down: Some(down::<T>),
            },
        }
    }

    fn raw(&self) -> *mut sys::ErlNifResourceType {
        let raw = self.raw.load(Ordering::Acquire);
        if raw.is_null() {
            not_opened(self.rust_name)
        }
        raw
    }

    /// Opens (or, on upgrade, takes over) the type. Only valid in load/upgrade.
    fn open(&self, env: Env<'_>) -> bool {
        let mut tried = 0;
        // SAFETY: called from the load or upgrade callback with its environment; name
        // and init are 'static.
        let raw = unsafe {
            sys::open_resource_type_x(
                env.as_raw(),
                self.name.as_ptr(),
                &self.init,
                sys::RT_CREATE | sys::RT_TAKEOVER,
                &mut tried,
            )
        };
        if raw.is_null() {
            return false;
        }
        self.raw.store(raw, Ordering::Release);
        true
    }
}

#[cold]
#[inline(never)]
fn not_opened(name: &str) -> ! {
    panic!("resource type {name} used before the NIF library was loaded")
}

/// Registration of a resource type, collected at load.
#[doc(hidden)]
pub struct ResourceRegistration(pub &'static ResourceType);
inventory::collect!(ResourceRegistration);

/// Opens every registered resource type; false if one fails.
pub(crate) fn open_all(env: Env<'_>) -> bool {
    inventory::iter::<ResourceRegistration>
        .into_iter()
        .all(|reg| reg.0.open(env))
}

const _: () = assert!(std::mem::align_of::<u64>() == 8);

/// The callback environment, if the VM gave one.
///
/// # Safety
/// `env` must be NULL or the environment the VM passed to the running callback.
unsafe fn callback_env<'a>(env: *mut sys::ErlNifEnv) -> Option<Env<'a>> {
    // SAFETY (caller): valid for the callback.
    (!env.is_null()).then(|| unsafe { Env::from_raw(env) })
}

unsafe extern "C" fn destructor<T: Resource>(env: *mut sys::ErlNifEnv, obj: *mut c_void) {
    // A panicking or raising Drop must not unwind into the VM: it is reported.
    // SAFETY: env is this callback's environment or NULL.
    let env = unsafe { callback_env(env) };
    crate::report::catching(
        || {
            format!(
                "the destructor of resource {}",
                T::__resource_type().rust_name
            )
        },
        env,
        || {
            // SAFETY: the VM calls the destructor once, when the last reference is
            // gone; obj holds the T written by ResourceArc::new.
            unsafe { std::ptr::drop_in_place(obj as *mut T) }
        },
    );
}

unsafe extern "C" fn down<T: Resource>(
    env: *mut sys::ErlNifEnv,
    obj: *mut c_void,
    pid: *mut sys::ErlNifPid,
    monitor: *mut sys::ErlNifMonitor,
) {
    // SAFETY: env is this callback's environment or NULL.
    let report_env = unsafe { callback_env(env) };
    crate::report::catching(
        || {
            format!(
                "the down callback of resource {}",
                T::__resource_type().rust_name
            )
        },
        report_env,
        || {
            // SAFETY: the VM passes a valid callback environment, the live object, and
            // the pid and monitor of the exited process, all valid during the callback.
            unsafe {
                let env = Env::from_raw(env);
                let value = &*(obj as *const T);
                value.down(env, LocalPid::from_raw(*pid), Monitor { raw: *monitor });
            }
        },
    );
}

/// A monitor set with [`ResourceArc::monitor`].
#[derive(Clone, Copy)]
pub struct Monitor {
    raw: sys::ErlNifMonitor,
}

impl PartialEq for Monitor {
    fn eq(&self, other: &Self) -> bool {
        // SAFETY: both point to valid monitors.
        unsafe { sys::enif_compare_monitors(&self.raw, &other.raw) == 0 }
    }
}
impl Eq for Monitor {}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Monitor")
    }
}

/// A reference-counted pointer to a resource value held by Erlang terms.
///
/// Cloning it or copying the term both keep the value alive; `Drop` of the value runs
/// when the last holder is gone.
pub struct ResourceArc<T: Resource> {
    ptr: NonNull<T>,
    _owns: PhantomData<T>,
}

// SAFETY: Resource requires Send + Sync; the VM's reference count is thread-safe.
unsafe impl<T: Resource> Send for ResourceArc<T> {}
unsafe impl<T: Resource> Sync for ResourceArc<T> {}

impl<T: Resource> ResourceArc<T> {
    /// Moves `value` into a new resource. Raises if the type is not opened (used
    /// before the library loaded) or the VM cannot allocate (see
    /// [`try_new`](Self::try_new)).
    #[track_caller]
    pub fn new(value: T) -> ResourceArc<T> {
        ResourceArc::try_new(value).unwrap_or_else(|(_, error)| crate::raise(error))
    }

    /// Moves `value` into a new resource, or gives it back with the error.
    pub fn try_new(value: T) -> Result<ResourceArc<T>, (T, crate::Error)> {
        const {
            assert!(
                std::mem::align_of::<T>() <= 8,
                "resource types must have an alignment of at most 8 bytes"
            )
        };
        let ty = T::__resource_type();
        let kind = ty.raw.load(Ordering::Acquire);
        if kind.is_null() {
            let message = format!(
                "resource type {} used before the NIF library was loaded",
                ty.rust_name
            );
            return Err((value, crate::Error::runtime_error(message)));
        }
        // SAFETY: kind is an opened resource type; the VM returns NULL or memory
        // aligned for 8-byte values (checked above against T), of size_of::<T>()
        // bytes, which we initialize before anyone can see it.
        unsafe {
            let obj = sys::enif_alloc_resource(kind, std::mem::size_of::<T>().max(1)) as *mut T;
            let Some(ptr) = NonNull::new(obj) else {
                let error = crate::Error::exception(
                    "Elixir.SystemLimitError",
                    format!("could not allocate a {} resource", ty.rust_name),
                );
                return Err((value, error));
            };
            ptr.as_ptr().write(value);
            Ok(ResourceArc {
                ptr,
                _owns: PhantomData,
            })
        }
    }

    /// The resource as a term of `env` (the term holds its own reference).
    pub fn to_term<'a>(&self, env: Env<'a>) -> Term<'a> {
        // SAFETY: ptr is a live resource object.
        unsafe {
            Term::from_raw(sys::enif_make_resource(
                env.as_raw(),
                self.ptr.as_ptr() as *mut c_void,
            ))
        }
    }

    /// Monitors `pid`: [`Resource::down`] runs when it exits. `None` if the process is
    /// not alive.
    pub fn monitor(&self, env: Option<Env<'_>>, pid: &LocalPid) -> Option<Monitor> {
        let mut raw = std::mem::MaybeUninit::<sys::ErlNifMonitor>::uninit();
        let env = env.map_or(std::ptr::null_mut(), |e| e.as_raw());
        // SAFETY: ptr is a live resource of a type opened with a down callback; raw is
        // a valid out-pointer, initialized on success (0).
        let rc = unsafe {
            sys::enif_monitor_process(
                env,
                self.ptr.as_ptr() as *mut c_void,
                pid.as_raw(),
                raw.as_mut_ptr(),
            )
        };
        (rc == 0).then(|| Monitor {
            raw: unsafe { raw.assume_init() },
        })
    }

    /// Removes a monitor; false if it was not active (already fired or removed).
    pub fn demonitor(&self, env: Option<Env<'_>>, monitor: &Monitor) -> bool {
        let env = env.map_or(std::ptr::null_mut(), |e| e.as_raw());
        // SAFETY: ptr is a live resource; monitor is a valid monitor.
        unsafe {
            sys::enif_demonitor_process(env, self.ptr.as_ptr() as *mut c_void, &monitor.raw) == 0
        }
    }

    /// A binary term whose bytes are `bytes(&value)`, pointing into the resource's memory
    /// without copying; the binary keeps the resource alive as long as it lives.
    pub fn make_binary<'a>(&self, env: Env<'a>, bytes: impl FnOnce(&T) -> &[u8]) -> Term<'a> {
        let slice = bytes(self);
        // SAFETY: the slice borrows from the value (the closure's signature ties it to
        // &T), which stays in place and alive while the binary holds a reference to
        // the resource; shared borrows cannot be mutated.
        unsafe {
            Term::from_raw(sys::enif_make_resource_binary(
                env.as_raw(),
                self.ptr.as_ptr() as *mut c_void,
                slice.as_ptr() as *const c_void,
                slice.len(),
            ))
        }
    }

    /// Whether two handles point at the same resource.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        a.ptr == b.ptr
    }
}

impl<T: Resource> Deref for ResourceArc<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold a reference, so the value is alive and initialized.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: Resource> Clone for ResourceArc<T> {
    fn clone(&self) -> Self {
        // SAFETY: ptr is a live resource; keep adds a reference released in Drop.
        unsafe { sys::enif_keep_resource(self.ptr.as_ptr() as *mut c_void) };
        ResourceArc {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T: Resource> Drop for ResourceArc<T> {
    fn drop(&mut self) {
        // SAFETY: releases the reference this handle holds.
        unsafe { sys::enif_release_resource(self.ptr.as_ptr() as *mut c_void) }
    }
}

impl<T: Resource> std::fmt::Debug for ResourceArc<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ResourceArc<{}>({:p})",
            T::__resource_type().rust_name,
            self.ptr
        )
    }
}

/// The resource object of `term`, if it is a resource of type `T`.
#[inline]
fn get<'a, T: Resource>(env: Env<'a>, term: Term<'a>) -> Result<NonNull<T>, DecodeError<'a>> {
    let mut obj = std::ptr::null_mut();
    let kind = T::__resource_type().raw();
    // SAFETY: term belongs to env; obj is a valid out-pointer.
    if unsafe { sys::enif_get_resource(env.as_raw(), term.as_raw(), kind, &mut obj) } != 0 {
        if let Some(ptr) = NonNull::new(obj as *mut T) {
            return Ok(ptr);
        }
    }
    Err(wrong_resource::<T>(term))
}

#[cold]
#[inline(never)]
fn wrong_resource<'a, T: Resource>(term: Term<'a>) -> DecodeError<'a> {
    let name = T::__resource_type().rust_name;
    DecodeError::new(term, format!("a {name} resource (ResourceArc<{name}>)"))
}

impl<'a, T: Resource> Decode<'a> for ResourceArc<T> {
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        let ptr = get::<T>(env, term)?;
        // SAFETY: the term keeps the resource alive now; keep adds our own reference.
        unsafe { sys::enif_keep_resource(ptr.as_ptr() as *mut c_void) };
        Ok(ResourceArc {
            ptr,
            _owns: PhantomData,
        })
    }
}

/// Borrowing a resource argument costs no reference count: the term keeps it alive
/// for the call.
impl<'a, T: Resource> Decode<'a> for &'a T {
    #[inline]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        let ptr = get::<T>(env, term)?;
        // SAFETY: the argument term holds a reference for the whole call ('a).
        Ok(unsafe { &*ptr.as_ptr() })
    }
}

impl<'a, T: Resource> Encode<'a> for ResourceArc<T> {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        self.to_term(env)
    }
}

impl<'a, T: Resource> Encode<'a> for &ResourceArc<T> {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        self.to_term(env)
    }
}
