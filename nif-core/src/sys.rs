//! Raw erl_nif FFI.
//!
//! Everything comes from the `erl_nif_sys` crate; this module only re-exports it, so the
//! rest of oxbeam has one place to look for raw symbols. Anything `erl_nif_sys` lacks is
//! declared here, and only here.

pub use erl_nif_sys::*;

/// `ERL_NIF_DIRTY_JOB_CPU_BOUND` / `ERL_NIF_DIRTY_JOB_IO_BOUND` as the `flags` of an
/// `ErlNifFunc` (erl_nif.h: `ErlNifDirtyTaskFlags`).
pub const DIRTY_JOB_CPU_BOUND: u32 = 1;
pub const DIRTY_JOB_IO_BOUND: u32 = 2;
