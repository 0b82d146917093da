//! Raw erl_nif FFI.
//!
//! Everything comes from the `erl_nif_sys` crate; this module only re-exports it, so the
//! rest of oxbeam has one place to look for raw symbols. Anything `erl_nif_sys` lacks is
//! declared here, and only here.
//!
//! Audit of the C enums `erl_nif_sys` declares as Rust enums (a Rust enum holding a
//! value it does not list is undefined behaviour):
//! - returned by the VM: `enif_term_type` (redeclared below with an `int` return);
//!   `enif_thread_type` already returns `c_int`.
//! - written by the VM through a pointer: `tried` of `enif_open_resource_type(_x)`
//!   (`open_resource_type_x` and `enif_init_resource_type` below take `*mut c_int`;
//!   the non-`_x` form is unused).
//! - passed *to* the VM (`ErlNifCharEncoding`, `ErlNifMapIteratorEntry`, `ErlNifHash`,
//!   ...): only values the enum lists are ever made, so these are sound as declared;
//!   the resource flags are passed as plain bits because `CREATE | TAKEOVER` is not a
//!   listed value.

pub use erl_nif_sys::*;

/// `ERL_NIF_DIRTY_JOB_CPU_BOUND` / `ERL_NIF_DIRTY_JOB_IO_BOUND` as the `flags` of an
/// `ErlNifFunc` (erl_nif.h: `ErlNifDirtyTaskFlags`).
pub const DIRTY_JOB_CPU_BOUND: u32 = 1;
pub const DIRTY_JOB_IO_BOUND: u32 = 2;

/// `ERL_NIF_RT_CREATE` / `ERL_NIF_RT_TAKEOVER` as plain bits: `erl_nif_sys` types the
/// flags as a Rust enum, which cannot hold `CREATE | TAKEOVER` (3) without undefined
/// behaviour, so resource types are opened through the declaration below.
pub const RT_CREATE: c_int = 1;
pub const RT_TAKEOVER: c_int = 2;

use std::ffi::{c_char, c_int};

extern "C" {
    /// `enif_open_resource_type_x` with integer flags (see [`RT_CREATE`]).
    #[link_name = "enif_open_resource_type_x"]
    pub fn open_resource_type_x(
        env: *mut ErlNifEnv,
        name: *const c_char,
        init: *const ErlNifResourceTypeInit,
        flags: c_int,
        tried: *mut c_int,
    ) -> *mut ErlNifResourceType;

    /// `enif_term_type` returning the C enum as the `int` it is. `erl_nif_sys` declares
    /// it as returning a Rust enum, and a value the enum lacks (a term type added by a
    /// newer VM) would be undefined behaviour; this declaration shadows that one (a
    /// named item wins over the glob re-export above), so `sys::enif_term_type` is
    /// always this one. `Term::term_type` maps the value.
    pub fn enif_term_type(env: *mut ErlNifEnv, term: ERL_NIF_TERM) -> c_int;

    /// `enif_select` with integer mode bits: `erl_nif_sys` types the mode as a Rust
    /// enum, which cannot hold `CANCEL | READ` (9) without undefined behaviour.
    #[link_name = "enif_select"]
    pub fn select_raw(
        env: *mut ErlNifEnv,
        event: ErlNifEvent,
        mode: c_int,
        obj: *mut std::ffi::c_void,
        pid: *const ErlNifPid,
        reference: ERL_NIF_TERM,
    ) -> c_int;

    /// `enif_init_resource_type` (NIF 2.16, OTP 24): `enif_open_resource_type_x` with
    /// the init struct of NIF 2.16, whose `members` says how many callbacks it holds
    /// (4 with `dyncall`). Flags and `tried` as plain bits (see [`RT_CREATE`]).
    /// `erl_nif_sys` (NIF 2.15) lacks it.
    pub fn enif_init_resource_type(
        env: *mut ErlNifEnv,
        name: *const c_char,
        init: *const ResourceTypeInit,
        flags: c_int,
        tried: *mut c_int,
    ) -> *mut ErlNifResourceType;

    /// `enif_dynamic_resource_call` (NIF 2.16, OTP 24): runs the `dyncall` callback of
    /// `resource`'s type if that type is named `name` in module `module` (both atoms)
    /// and has one; 0 when it ran, non-zero otherwise. `erl_nif_sys` lacks it.
    pub fn enif_dynamic_resource_call(
        env: *mut ErlNifEnv,
        module: ERL_NIF_TERM,
        name: ERL_NIF_TERM,
        resource: ERL_NIF_TERM,
        call_data: *mut std::ffi::c_void,
    ) -> c_int;
}

/// `ErlNifResourceDynCall` (erl_nif.h, NIF 2.16): `void (ErlNifEnv*, void* obj, void*
/// call_data)`.
pub type ErlNifResourceDynCall = Option<
    unsafe extern "C" fn(
        env: *mut ErlNifEnv,
        obj: *mut std::ffi::c_void,
        call_data: *mut std::ffi::c_void,
    ),
>;

/// `ErlNifResourceTypeInit` as NIF 2.16 declares it (erl_nif.h): the three callbacks of
/// `erl_nif_sys`'s struct, then `members` (how many of the callbacks the VM reads:
/// 3 without `dyncall`, 4 with it) and `dyncall`. The VM copies the callbacks when the
/// type is opened.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ResourceTypeInit {
    pub dtor: ErlNifResourceDtor,
    pub stop: ErlNifResourceStop,
    pub down: ErlNifResourceDown,
    pub members: c_int,
    pub dyncall: ErlNifResourceDynCall,
}

/// `ERL_NIF_SELECT_*` mode bits for [`select_raw`].
pub const SELECT_READ: c_int = 1;
pub const SELECT_WRITE: c_int = 2;
pub const SELECT_STOP: c_int = 4;
pub const SELECT_CANCEL: c_int = 8;
