//! The library entry point: `init!("Elixir.Mod")` expands to a `nif_init` that calls
//! [`entry`], which builds the function table from every registered `#[nif]`.

use crate::env::Env;
use crate::error::Error;
use crate::nif::{NifDef, NifRegistration};
use crate::sys;
use crate::term::Term;
use std::any::Any;
use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

/// The entry and the function table it points to, built once.
struct Entry {
    entry: sys::ErlNifEntry,
    _funcs: Vec<sys::ErlNifFunc>,
}

// SAFETY: the entry only holds pointers to 'static data (names, the leaked-for-the-
// library's-life function table) and function pointers; it is never mutated.
unsafe impl Send for Entry {}
unsafe impl Sync for Entry {}

static ENTRY: OnceLock<Entry> = OnceLock::new();
static MODULE: OnceLock<String> = OnceLock::new();

/// `ERL_NIF_DIRTY_NIF_OPTION`: the library may have dirty NIFs.
const DIRTY_NIF_OPTION: u32 = 1;

/// Whether this library's module is an Erlang module (its name does not start with
/// `Elixir.`): oxbeam then renders terms in Erlang syntax.
pub(crate) fn module_is_erlang() -> bool {
    MODULE_IS_ERLANG.get().copied().unwrap_or(false)
}

static MODULE_IS_ERLANG: OnceLock<bool> = OnceLock::new();

/// The Elixir module name this library was built for, without `Elixir.`.
pub(crate) fn module_name() -> &'static str {
    MODULE.get().map(String::as_str).unwrap_or("?")
}

/// Builds (once) and returns the library's `ErlNifEntry`. Called by the `nif_init`
/// that `init!` generates.
///
/// `record` is the metadata record naming the module, read by the Elixir side.
pub fn entry(module: &'static CStr, record: &'static str, hooks: Hooks) -> *const sys::ErlNifEntry {
    crate::alloc::enable();
    let built = ENTRY.get_or_init(|| {
        std::hint::black_box(record);
        let name = module.to_string_lossy();
        let _ = MODULE.set(name.strip_prefix("Elixir.").unwrap_or(&name).to_string());
        let _ = MODULE_IS_ERLANG.set(!name.starts_with("Elixir."));
        let _ = HOOKS.set(hooks);
        let mut defs: Vec<&NifDef> = inventory::iter::<NifRegistration>
            .into_iter()
            .map(|r| r.0)
            .collect();
        defs.sort_by(|a, b| (a.name, a.arity).cmp(&(b.name, b.arity)));
        let funcs: Vec<sys::ErlNifFunc> = defs
            .iter()
            .map(|def| sys::ErlNifFunc {
                name: def.name.as_ptr(),
                arity: def.arity,
                fptr: Some(def.fptr),
                flags: def.flags,
            })
            .collect();
        let entry = sys::ErlNifEntry {
            major: sys::ERL_NIF_MAJOR_VERSION,
            minor: sys::ERL_NIF_MINOR_VERSION,
            name: module.as_ptr(),
            num_of_funcs: funcs.len() as c_int,
            funcs: funcs.as_ptr(),
            load: Some(load),
            reload: None,
            upgrade: Some(upgrade),
            unload: Some(unload),
            vm_variant: sys::ERL_NIF_VM_VARIANT.as_ptr() as *const _,
            options: DIRTY_NIF_OPTION,
            sizeof_ErlNifResourceTypeInit: std::mem::size_of::<sys::ErlNifResourceTypeInit>(),
            min_erts: sys::ERL_NIF_MIN_ERTS_VERSION.as_ptr() as *const _,
        };
        // The Vec's heap buffer does not move when the Vec is moved into Entry.
        Entry {
            entry,
            _funcs: funcs,
        }
    });
    &built.entry
}

/// The library's optional `load` and `unload` hooks (`init!("Mod", load = f, unload = g)`).
#[derive(Clone, Copy, Default)]
pub struct Hooks {
    /// Runs after oxbeam's own setup, on load and on upgrade; returns the library's
    /// private data.
    pub load: Option<LoadHook>,
    /// Runs when the library is unloaded, before its private data is dropped.
    pub unload: Option<fn()>,
}

/// The adapter `init!` generates around a user's `load` function.
pub type LoadHook = for<'a> fn(Env<'a>, Term<'a>) -> Result<PrivData, Error>;

/// The private data a `load` hook returned, kept for the life of the library image.
pub type PrivData = Box<dyn Any + Send + Sync>;

static HOOKS: OnceLock<Hooks> = OnceLock::new();

/// Everything a freshly loaded library image sets up; 0 on success.
fn on_load(env: Env<'_>, priv_data: *mut *mut c_void, info: sys::ERL_NIF_TERM) -> c_int {
    crate::panic::install_hook();
    let result = crate::report::catching(
        || "loading the NIF library".to_string(),
        Some(env),
        || {
            crate::atom::create_all(env);
            crate::types::int::check_immediate_ints(env);
            if !crate::resource::open_all(env) {
                return Err("could not open a resource type".to_string());
            }
            let hooks = HOOKS.get().copied().unwrap_or_default();
            if let Some(load) = hooks.load {
                // SAFETY: info is the load info term of this callback's environment.
                let data = load(env, unsafe { Term::from_raw(info) }).map_err(|e| e.to_string())?;
                // SAFETY: priv_data is the VM's slot for this library image.
                unsafe { *priv_data = Box::into_raw(Box::new(data)) as *mut c_void };
            }
            Ok(())
        },
    );
    match result {
        Some(Ok(())) => 0,
        Some(Err(message)) => {
            // load_nif/2 can only report a number: say what failed where an operator
            // looks (a panic or raise was reported by `catching`).
            crate::report::report(
                Some(env),
                &format!("loading the NIF library failed: {message}"),
            );
            1
        }
        None => 2,
    }
}

unsafe extern "C" fn load(
    env: *mut sys::ErlNifEnv,
    priv_data: *mut *mut c_void,
    info: sys::ERL_NIF_TERM,
) -> c_int {
    // SAFETY: the VM passes a valid environment for the duration of the callback.
    on_load(unsafe { Env::from_raw(env) }, priv_data, info)
}

unsafe extern "C" fn upgrade(
    env: *mut sys::ErlNifEnv,
    priv_data: *mut *mut c_void,
    _old_priv: *mut *mut c_void,
    info: sys::ERL_NIF_TERM,
) -> c_int {
    // A new library image (a new file) has its own statics: set them up as on load.
    // Resource types are opened with takeover, so the old image's resources stay
    // valid; the old image's private data stays with it (its unload drops it).
    // SAFETY: as in `load`.
    on_load(unsafe { Env::from_raw(env) }, priv_data, info)
}

unsafe extern "C" fn unload(env: *mut sys::ErlNifEnv, priv_data: *mut c_void) {
    // SAFETY: the VM passes this callback's environment (or NULL).
    let env = (!env.is_null()).then(|| unsafe { Env::from_raw(env) });
    if let Some(unload) = HOOKS.get().and_then(|h| h.unload) {
        crate::report::catching(|| "the unload hook".to_string(), env, unload);
    }
    if !priv_data.is_null() {
        // A panicking Drop of the private data is reported too, never an abort.
        crate::report::catching(
            || "dropping the private data on unload".to_string(),
            env,
            || {
                // SAFETY: priv_data was made by Box::into_raw in on_load of this image, and
                // the VM calls unload once.
                drop(unsafe { Box::from_raw(priv_data as *mut PrivData) });
            },
        );
    }
}

/// The private data the `load` hook returned, if it is a `T`.
pub(crate) fn priv_data<'a, T: Any>(env: Env<'a>) -> Option<&'a T> {
    // SAFETY: enif_priv_data returns what on_load stored (a Box<PrivData>) or NULL;
    // it lives until unload, after every call of this image has returned.
    let raw = unsafe { sys::enif_priv_data(env.as_raw()) } as *const PrivData;
    if raw.is_null() {
        return None;
    }
    // SAFETY: see above.
    unsafe { (*raw).downcast_ref::<T>() }
}
