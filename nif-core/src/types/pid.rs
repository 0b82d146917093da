//! [`LocalPid`]: the pid of a process on this node.

use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::sys;
use crate::term::Term;
use std::mem::MaybeUninit;

/// A local process identifier.
#[derive(Clone, Copy)]
pub struct LocalPid {
    raw: sys::ErlNifPid,
}

impl LocalPid {
    /// Wraps a raw pid.
    ///
    /// # Safety
    /// `raw` must be a pid the VM made (by `enif_self`, `enif_get_local_pid`, a
    /// callback's argument, ...): its word is put into terms as it is, so any other
    /// value would be a forged term.
    pub unsafe fn from_raw(raw: sys::ErlNifPid) -> LocalPid {
        LocalPid { raw }
    }

    /// The raw `ErlNifPid`, for erl_nif calls oxbeam does not wrap.
    pub fn as_raw(&self) -> &sys::ErlNifPid {
        &self.raw
    }
}

impl PartialEq for LocalPid {
    fn eq(&self, other: &Self) -> bool {
        self.raw.pid == other.raw.pid
    }
}
impl Eq for LocalPid {}

impl PartialOrd for LocalPid {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for LocalPid {
    /// The VM's order of pids (`<` on pids), with `enif_compare`.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // SAFETY: a local pid is an immediate term, valid in every environment;
        // enif_compare only reads the two terms.
        unsafe { sys::enif_compare(self.raw.pid, other.raw.pid) }.cmp(&0)
    }
}

impl std::hash::Hash for LocalPid {
    /// Hashes the pid's word (equal pids are the same word, as `PartialEq` says).
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.raw.pid.hash(state);
    }
}

impl std::fmt::Debug for LocalPid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalPid({:#x})", self.raw.pid)
    }
}

impl<'a> Decode<'a> for LocalPid {
    #[inline]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        let mut raw = MaybeUninit::<sys::ErlNifPid>::uninit();
        // SAFETY: term belongs to env; raw is initialized on success.
        if unsafe { sys::enif_get_local_pid(env.as_raw(), term.as_raw(), raw.as_mut_ptr()) } != 0 {
            Ok(LocalPid {
                raw: unsafe { raw.assume_init() },
            })
        } else {
            Err(DecodeError::new(term, "a local pid (LocalPid)"))
        }
    }
}

impl<'a> Encode<'a> for LocalPid {
    #[inline]
    fn encode(self, _env: Env<'a>) -> Term<'a> {
        // SAFETY: a pid term is an immediate, valid in every environment
        // (enif_make_pid is a macro returning the `pid` field in erl_nif.h).
        unsafe { Term::from_raw(self.raw.pid) }
    }
}
