//! Codecs, one file per family of types. Each file implements [`Decode`](crate::Decode)
//! and/or [`Encode`](crate::Encode) for its types and nothing else.

pub mod binary;
pub mod bool;
pub mod float;
pub mod int;
pub mod list;
pub mod map;
pub mod option;
pub mod pid;
pub mod reference;
pub mod result;
pub mod string;
pub mod tuple;

use crate::sys;

/// `alloc::vec::Vec<i64>` → `Vec<i64>`: a Rust type name for messages.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            segment.push(c);
        } else {
            out.push_str(segment.rsplit("::").next().unwrap_or(""));
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(segment.rsplit("::").next().unwrap_or(""));
    out
}

/// A growable array of raw terms from `enif_alloc` (not glibc `malloc`: inside the
/// BEAM, glibc serves blocks of 128 KiB and more with a fresh `mmap` every time).
pub(crate) struct TermBuffer {
    ptr: *mut sys::ERL_NIF_TERM,
    len: usize,
    cap: usize,
}

impl TermBuffer {
    pub(crate) fn new(cap: usize) -> TermBuffer {
        let cap = cap.max(1);
        let bytes = cap
            .checked_mul(std::mem::size_of::<sys::ERL_NIF_TERM>())
            .expect("term buffer too large");
        // SAFETY: enif_alloc returns memory suitably aligned for any type, or NULL.
        let ptr = unsafe { sys::enif_alloc(bytes) } as *mut sys::ERL_NIF_TERM;
        assert!(!ptr.is_null(), "enif_alloc({bytes}) failed");
        TermBuffer { ptr, len: 0, cap }
    }

    #[inline(always)]
    pub(crate) fn push(&mut self, term: sys::ERL_NIF_TERM) {
        if self.len == self.cap {
            self.grow();
        }
        // SAFETY: len < cap after growing, and the buffer holds cap terms.
        unsafe { self.ptr.add(self.len).write(term) };
        self.len += 1;
    }

    #[cold]
    fn grow(&mut self) {
        let cap = self.cap * 2;
        let bytes = cap * std::mem::size_of::<sys::ERL_NIF_TERM>();
        // SAFETY: ptr came from enif_alloc; enif_realloc keeps the first len terms.
        let ptr = unsafe { sys::enif_realloc(self.ptr as *mut _, bytes) } as *mut sys::ERL_NIF_TERM;
        assert!(!ptr.is_null(), "enif_realloc({bytes}) failed");
        self.ptr = ptr;
        self.cap = cap;
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn as_ptr(&self) -> *const sys::ERL_NIF_TERM {
        self.ptr
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut sys::ERL_NIF_TERM {
        self.ptr
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

impl Drop for TermBuffer {
    fn drop(&mut self) {
        // SAFETY: ptr came from enif_alloc/enif_realloc and is freed once.
        unsafe { sys::enif_free(self.ptr as *mut _) }
    }
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn short_type_names_drop_module_paths() {
        assert_eq!(short_type_name("alloc::vec::Vec<i64>"), "Vec<i64>");
        assert_eq!(
            short_type_name("std::collections::hash::map::HashMap<alloc::string::String, i64>"),
            "HashMap<String, i64>"
        );
        assert_eq!(short_type_name("(i64, &str)"), "(i64, &str)");
    }
}
