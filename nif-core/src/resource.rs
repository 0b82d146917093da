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
//! recompiled and reloaded), the new library *takes over* each type of the old one
//! whose layout is unchanged (same Rust type name, size, alignment, fields' types and
//! offsets, and `#[oxbeam::resource(version = N)]`): existing resources stay valid, and
//! their `Drop` and `down` now run the new code. A type whose layout changed is not
//! taken over: the old objects keep the old library's type and code (the VM keeps that
//! library loaded until the last of them is gone), the new library's functions refuse
//! them, and the load says so through the VM's logger. Bump `version` when the
//! definition of a field's own type, or the meaning of the value, changes.
//!
//! `#[oxbeam::resource(name = "counter")]` registers the type under that name instead
//! of the derived one, so that another NIF library finds it (for a dynamic call, see
//! [`dynamic_call`]) and a later version takes it over even if the Rust type moved or
//! was renamed (its fields' types still count by their full paths). Its layout is
//! still checked: a library whose type has another layout
//! under a name the old library holds refuses to load (the VM cannot hold two types of
//! one name in one module, and taking the old objects over would be unsound).
//!
//! `#[oxbeam::resource(name = "counter", dyncall)]` adds the type's [`DynCall`]
//! callback, which other NIF libraries run on its objects with [`dynamic_call`]
//! (erl_nif's `enif_dynamic_resource_call`).

mod dyncall;
pub use dyncall::{dynamic_call, dynamic_call_raw, DynCall, DynCallData, DynCallError};

use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::sys;
use crate::term::Term;
use crate::types::pid::LocalPid;
use std::ffi::{c_void, CStr, CString};
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

    /// Called once when the last reference is gone, right before `Drop`, with the VM's
    /// environment for this callback (Fine's `destructor(ErlNifEnv*)`): e.g. to send
    /// an owner process a "closed" message with [`Env::send`] or
    /// [`OwnedEnv::send_and_clear`](crate::OwnedEnv::send_and_clear), which work here.
    /// Terms made in `env` live until the hook returns.
    ///
    /// It runs on whatever thread drops the last reference (a scheduler during garbage
    /// collection, or a thread of yours dropping the last `ResourceArc`): keep it short,
    /// never block. A panic or raise in it is logged through the VM's logger, and
    /// `Drop` still runs. If the VM passes no environment (no supported VM does), the
    /// hook is skipped and `Drop` runs.
    fn destructor<'a>(&mut self, _env: Env<'a>) {}

    /// The `stop` callback of [`select`](crate::select): called once the VM no longer
    /// watches `fd` for this resource, after [`ResourceArc::select_stop`]. From then
    /// on the descriptor may be closed. `direct` is true when it runs inside the
    /// `select_stop` call itself, false when the VM runs it later on a scheduler. A
    /// panic or raise in it is logged through the VM's logger.
    fn stop<'a>(&self, _env: Env<'a>, _fd: std::os::fd::RawFd, _direct: bool) {}
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
///
/// The VM knows the type by a name: `<module path>::<Type>@<fingerprint>`, where the
/// fingerprint hashes the Rust type name, size, alignment, the user's `version`, and
/// (for a struct or enum carrying `#[oxbeam::resource]`) its fields' types and offsets.
/// A hot upgrade takes over the old library's type (its objects then use the new
/// library's `Drop` and `down`) only when that name is the same, that is when the
/// layout did not change; otherwise the new library opens a type of its own, the old
/// objects keep the old type and code, and the VM keeps the old library loaded until
/// the last of them is gone (it defers unloading a library while objects of its types
/// with callbacks live). A second, callback-free type `<module path>::<Type>@layouts`
/// marks that some version of the type was opened before, so the change is reported
/// (through the VM's logger). A type with an explicit name is known to the VM by that
/// name as is; its markers are `<name>@layouts` and `<name>@<fingerprint>` (see
/// `open`).
#[doc(hidden)]
pub struct ResourceType {
    pub name: &'static CStr,
    /// `name` is the user's `#[oxbeam::resource(name = "...")]`, the VM name as is.
    explicit: bool,
    /// The Rust type name, for messages.
    pub rust_name: &'static str,
    /// `#[oxbeam::resource(version = N)]`, part of the layout fingerprint.
    pub version: u32,
    size: usize,
    align: usize,
    type_name: fn() -> &'static str,
    fields: &'static [FieldLayout],
    raw: AtomicPtr<sys::ErlNifResourceType>,
    init: sys::ResourceTypeInit,
}

// SAFETY: the init struct only holds function pointers; raw is atomic.
unsafe impl Sync for ResourceType {}

/// One field in a layout fingerprint, as `#[oxbeam::resource]` lists them: for a
/// struct `("", type name, offset)`; for an enum `(variant, type name, usize::MAX)`,
/// with `()` as the type of the entry that opens each variant.
#[doc(hidden)]
pub type FieldLayout = (&'static str, fn() -> &'static str, usize);

/// How [`ResourceType::open`] found the type.
#[derive(Debug, PartialEq, Eq)]
enum Opened {
    /// New: no library of this module opened the type before.
    Created,
    /// The same layout was open in the old library: its objects are now ours.
    TakenOver,
    /// The old library had the type with another layout: both types live on.
    LayoutChanged,
    /// The old library holds the type's explicit name with another layout: the type
    /// is not opened, and the load fails.
    NameHeldByAnotherLayout,
}

/// The marker type's callbacks: none (it never has objects).
static NO_CALLBACKS: sys::ResourceTypeInit = sys::ResourceTypeInit {
    dtor: None,
    stop: None,
    down: None,
    members: 3,
    dyncall: None,
};

impl ResourceType {
    pub const fn new<T: Resource>(
        name: &'static CStr,
        rust_name: &'static str,
        version: u32,
        fields: &'static [FieldLayout],
    ) -> ResourceType {
        ResourceType {
            name,
            explicit: false,
            rust_name,
            version,
            size: std::mem::size_of::<T>(),
            align: std::mem::align_of::<T>(),
            type_name: std::any::type_name::<T>,
            fields,
            raw: AtomicPtr::new(std::ptr::null_mut()),
            init: sys::ResourceTypeInit {
                dtor: Some(destructor::<T>),
                stop: Some(stop::<T>),
                down: Some(down::<T>),
                members: 3,
                dyncall: None,
            },
        }
    }

    /// Registers the type under `name` as is (`#[oxbeam::resource(name = "...")]`):
    /// at most [`MAX_EXPLICIT_NAME`] ASCII bytes, without `@` (checked by the macro).
    pub const fn with_explicit_name(self, name: &'static CStr) -> ResourceType {
        ResourceType {
            name,
            explicit: true,
            ..self
        }
    }

    /// Adds `T`'s [`DynCall`] callback (`#[oxbeam::resource(dyncall)]`).
    pub const fn with_dyncall<T: DynCall>(self) -> ResourceType {
        ResourceType {
            init: sys::ResourceTypeInit {
                members: 4,
                dyncall: Some(dyncall::dyncall::<T>),
                ..self.init
            },
            ..self
        }
    }

    fn raw(&self) -> *mut sys::ErlNifResourceType {
        let raw = self.raw.load(Ordering::Acquire);
        if raw.is_null() {
            not_opened(self.rust_name)
        }
        raw
    }

    /// The layout fingerprint: FNV-1a (stable across builds and compilers) of the Rust
    /// type name (the explicit name instead, when there is one: the type may move),
    /// size, alignment, version, and the fields' types and offsets.
    fn fingerprint(&self) -> u64 {
        let mut hash = Fnv::default();
        if self.explicit {
            hash.write(b"name=");
            hash.write(self.name.to_bytes());
        } else {
            hash.write((self.type_name)().as_bytes());
        }
        hash.write(&[0]);
        hash.write(&(self.size as u64).to_le_bytes());
        hash.write(&(self.align as u64).to_le_bytes());
        hash.write(&self.version.to_le_bytes());
        for (name, type_name, offset) in self.fields {
            hash.write(name.as_bytes());
            hash.write(&[0]);
            hash.write(type_name().as_bytes());
            hash.write(&[0]);
            hash.write(&(*offset as u64).to_le_bytes());
        }
        hash.0
    }

    /// Opens (or, on upgrade, takes over when the layout is the same) the type. Only
    /// valid in load/upgrade. `None` if the VM refused.
    fn open(&'static self, env: Env<'_>) -> Option<Opened> {
        let (name, marker) = vm_names(self.name.to_bytes(), self.fingerprint());
        let open = |name: &CStr, init: &sys::ResourceTypeInit| {
            let mut tried = 0;
            // SAFETY: called from the load or upgrade callback with its environment;
            // the VM copies the name (into an atom) and the `members` callbacks of
            // `init` (3, or 4 with dyncall: the struct has them all), which is 'static
            // anyway (a field of `&'static self`, or NO_CALLBACKS); tried is a valid
            // out-pointer.
            let raw = unsafe {
                sys::enif_init_resource_type(
                    env.as_raw(),
                    name.as_ptr(),
                    init,
                    sys::RT_CREATE | sys::RT_TAKEOVER,
                    &mut tried,
                )
            };
            (!raw.is_null()).then_some((raw, tried))
        };
        let (_, marker_tried) = open(&marker, &NO_CALLBACKS)?;
        let name = if self.explicit {
            // The VM name is the user's name as is, so the layout is checked with a
            // second marker, `<name>@<fingerprint>`: taken over when the old library
            // had this very layout under the name.
            let (_, same_layout_tried) = open(&name, &NO_CALLBACKS)?;
            if marker_tried == sys::RT_TAKEOVER && same_layout_tried != sys::RT_TAKEOVER {
                return Some(Opened::NameHeldByAnotherLayout);
            }
            self.name.to_owned()
        } else {
            name
        };
        let (raw, tried) = open(&name, &self.init)?;
        self.raw.store(raw, Ordering::Release);
        Some(if tried == sys::RT_TAKEOVER {
            Opened::TakenOver
        } else if marker_tried == sys::RT_TAKEOVER {
            Opened::LayoutChanged
        } else {
            Opened::Created
        })
    }

    fn layout_changed_message(&self) -> String {
        format!(
            "hot upgrade: the resource type {} changed (now size {}, align {}, version {}), \
             so its existing objects are not taken over: they keep the old library's type \
             and Drop, the old library stays loaded until the last of them is gone, and \
             this library's functions refuse them",
            self.rust_name, self.size, self.align, self.version
        )
    }

    fn name_held_message(&self) -> String {
        format!(
            "the resource type {} is registered under the name {:?}, which the old library \
             holds with another layout (now size {}, align {}, version {}): one name \
             cannot stand for two layouts, and taking the old objects over would be \
             unsound, so this library refuses to load (give the changed type another \
             name)",
            self.rust_name,
            self.name.to_string_lossy(),
            self.size,
            self.align,
            self.version
        )
    }
}

/// The longest explicit name: the markers `<name>@<fingerprint>` and `<name>@layouts`
/// must fit in an atom too.
pub const MAX_EXPLICIT_NAME: usize = MAX_VM_NAME - 17;

/// The longest name the VM keeps whole: type names become atoms (255 latin-1 bytes).
const MAX_VM_NAME: usize = 255;

/// The VM names of a type and of its marker: `<base>@<fingerprint>` and
/// `<base>@layouts`. A base too long to leave room for the suffix is cut and made
/// unique again with its own hash (the VM would otherwise cut the suffix off).
fn vm_names(base: &[u8], fingerprint: u64) -> (CString, CString) {
    const SUFFIX: usize = 17; // "@" + 16 hex digits
    let mut base = base.to_vec();
    if base.len() + SUFFIX > MAX_VM_NAME {
        let mut hash = Fnv::default();
        hash.write(&base);
        base.truncate(MAX_VM_NAME - 2 * SUFFIX);
        base.extend_from_slice(format!("~{:016x}", hash.0).as_bytes());
    }
    let with = |suffix: String| {
        let mut name = base.clone();
        name.extend_from_slice(suffix.as_bytes());
        // The base came from a CStr and the suffixes hold no NUL.
        CString::new(name).unwrap_or_default()
    };
    (
        with(format!("@{fingerprint:016x}")),
        with("@layouts".to_string()),
    )
}

/// 64-bit FNV-1a: a hash whose value never depends on the build.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
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

/// Opens every registered resource type; false if one fails. A type the old library
/// had with another layout is reported (not an error: both types live on), unless it
/// has an explicit name: then the load fails (reported), as it does when two types
/// share an explicit name.
pub(crate) fn open_all(env: Env<'_>) -> bool {
    let types: Vec<&'static ResourceType> = inventory::iter::<ResourceRegistration>
        .into_iter()
        .map(|reg| reg.0)
        .collect();
    let explicit = types.iter().filter(|ty| ty.explicit);
    if let Some(message) = duplicate_names(explicit.map(|ty| (ty.name, ty.rust_name))) {
        crate::report::report(Some(env), &message);
        return false;
    }
    for ty in types {
        match ty.open(env) {
            Some(Opened::Created | Opened::TakenOver) => {}
            // Through the VM's logger (stderr without one), as an error event.
            Some(Opened::LayoutChanged) => {
                crate::report::report(Some(env), &ty.layout_changed_message())
            }
            Some(Opened::NameHeldByAnotherLayout) => {
                crate::report::report(Some(env), &ty.name_held_message());
                return false;
            }
            None => return false,
        }
    }
    true
}

/// Two types of one library registered under the same explicit name (the VM would
/// open two types of one name, and a dynamic call would reach either): the message
/// the load fails with.
fn duplicate_names<'n>(explicit: impl Iterator<Item = (&'n CStr, &'n str)>) -> Option<String> {
    let mut seen: std::collections::HashMap<&CStr, &str> = std::collections::HashMap::new();
    for (name, rust_name) in explicit {
        if let Some(first) = seen.insert(name, rust_name) {
            let (a, b) = if first <= rust_name {
                (first, rust_name)
            } else {
                (rust_name, first)
            };
            return Some(format!(
                "the resource types {a} and {b} are both registered under the name {:?}: \
                 a name stands for one type, so this library refuses to load",
                name.to_string_lossy()
            ));
        }
    }
    None
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
    // A panicking or raising hook or Drop must not unwind into the VM: it is reported.
    // SAFETY: env is this callback's environment or NULL.
    let env = unsafe { callback_env(env) };
    if let Some(hook_env) = env {
        let _callback = crate::owned_env::CallbackEnv::enter(hook_env);
        crate::report::catching(
            || {
                format!(
                    "the destructor hook of resource {}",
                    T::__resource_type().rust_name
                )
            },
            env,
            || {
                // SAFETY: the VM calls the destructor once, when the last reference is
                // gone, so nothing else can reach the value: a unique borrow is sound.
                // obj holds the T written by ResourceArc::new (still alive: Drop runs
                // below, whatever the hook did).
                let value = unsafe { &mut *(obj as *mut T) };
                value.destructor(hook_env);
            },
        );
    }
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
                let _callback = crate::owned_env::CallbackEnv::enter(env);
                let value = &*(obj as *const T);
                value.down(env, LocalPid::from_raw(*pid), Monitor { raw: *monitor });
            }
        },
    );
}

/// The `stop` callback of a resource type (`enif_select`).
///
/// # Safety
/// Called by the VM only: `env` is the callback's environment or NULL, `obj` a live
/// object of this type, `fd` the event being stopped.
unsafe extern "C" fn stop<T: Resource>(
    env: *mut sys::ErlNifEnv,
    obj: *mut c_void,
    fd: sys::ErlNifEvent,
    is_direct_call: std::ffi::c_int,
) {
    // SAFETY: env is this callback's environment or NULL.
    let report_env = unsafe { callback_env(env) };
    let Some(env) = report_env else { return };
    crate::report::catching(
        || {
            format!(
                "the stop callback of resource {}",
                T::__resource_type().rust_name
            )
        },
        report_env,
        || {
            let _callback = crate::owned_env::CallbackEnv::enter(env);
            // SAFETY: the VM keeps a reference to a selected object until its stop
            // callback has run, so obj is a live T for the whole call.
            let value = unsafe { &*(obj as *const T) };
            value.stop(env, fd, is_direct_call != 0);
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

    /// The object's address, for erl_nif calls on it.
    pub(crate) fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
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

impl<T: Resource> From<T> for ResourceArc<T> {
    /// `ResourceArc::new(value)` (raises `SystemLimitError` like it when the VM cannot
    /// allocate the resource).
    #[track_caller]
    fn from(value: T) -> ResourceArc<T> {
        ResourceArc::new(value)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_names_carry_the_fingerprint() {
        let (name, marker) = vm_names(b"my_crate::Counter", 0x0123_4567_89ab_cdef);
        assert_eq!(name.to_bytes(), b"my_crate::Counter@0123456789abcdef");
        assert_eq!(marker.to_bytes(), b"my_crate::Counter@layouts");
    }

    #[test]
    fn long_names_keep_the_fingerprint_within_the_atom_limit() {
        let long_a = [b'a'; 300];
        let mut long_b = long_a;
        long_b[299] = b'b';
        let (a, marker_a) = vm_names(&long_a, 1);
        let (b, _) = vm_names(&long_b, 1);
        let (a2, _) = vm_names(&long_a, 2);
        assert_eq!(a.to_bytes().len(), MAX_VM_NAME);
        assert!(marker_a.to_bytes().len() <= MAX_VM_NAME);
        assert!(a.to_bytes().ends_with(b"@0000000000000001"));
        // Two long names that differ only past the cut stay distinct; so do two
        // fingerprints.
        assert_ne!(a, b);
        assert_ne!(a, a2);
        // Exactly at the limit: kept whole.
        let (fits, _) = vm_names(&[b'c'; MAX_VM_NAME - 17], 3);
        assert!(fits.to_bytes().starts_with(&[b'c'; MAX_VM_NAME - 17]));
    }

    #[test]
    fn one_explicit_name_per_type() {
        let names = [
            (c"counter", "Counter"),
            (c"gauge", "Gauge"),
            (c"counter", "OtherCounter"),
        ];
        assert_eq!(
            duplicate_names(names.into_iter()).as_deref(),
            Some(
                "the resource types Counter and OtherCounter are both registered under the \
                 name \"counter\": a name stands for one type, so this library refuses to load"
            )
        );
        assert_eq!(duplicate_names(names[..2].iter().copied()), None);
    }

    #[test]
    fn fnv1a_matches_its_reference_values() {
        let hash = |bytes: &[u8]| {
            let mut h = Fnv::default();
            h.write(bytes);
            h.0
        };
        assert_eq!(hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
