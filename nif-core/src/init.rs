//! The library entry point: `init!("Elixir.Mod")` expands to a `nif_init` that calls
//! [`entry`], which builds the function table from every registered `#[nif]`.

use crate::env::Env;
use crate::nif::{NifDef, NifRegistration};
use crate::sys;
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

/// The Elixir module name this library was built for, without `Elixir.`.
pub(crate) fn module_name() -> &'static str {
    MODULE.get().map(String::as_str).unwrap_or("?")
}

/// Builds (once) and returns the library's `ErlNifEntry`. Called by the `nif_init`
/// that `init!` generates.
///
/// `record` is the metadata record naming the module, read by the Elixir side.
pub fn entry(module: &'static CStr, record: &'static str) -> *const sys::ErlNifEntry {
    let built = ENTRY.get_or_init(|| {
        std::hint::black_box(record);
        let name = module.to_string_lossy();
        let _ = MODULE.set(name.strip_prefix("Elixir.").unwrap_or(&name).to_string());
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
            unload: None,
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

/// Everything a freshly loaded library image sets up.
fn on_load(env: Env<'_>) {
    crate::panic::install_hook();
    crate::atom::create_all(env);
}

unsafe extern "C" fn load(
    env: *mut sys::ErlNifEnv,
    _priv: *mut *mut c_void,
    _info: sys::ERL_NIF_TERM,
) -> c_int {
    // SAFETY: the VM passes a valid environment for the duration of the callback.
    let env = unsafe { Env::from_raw(env) };
    match std::panic::catch_unwind(|| on_load(env)) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

unsafe extern "C" fn upgrade(
    env: *mut sys::ErlNifEnv,
    _priv: *mut *mut c_void,
    _old_priv: *mut *mut c_void,
    _info: sys::ERL_NIF_TERM,
) -> c_int {
    // A new library image (a new file) has its own statics: set them up as on load.
    // SAFETY: as in `load`.
    let env = unsafe { Env::from_raw(env) };
    match std::panic::catch_unwind(|| on_load(env)) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}
