//! Codecs, one file per family of types. Each file implements [`Decode`](crate::Decode)
//! and/or [`Encode`](crate::Encode) for its types and nothing else.

pub mod array;
pub mod binary;
pub mod bool;
pub mod float;
pub mod int;
pub mod list;
pub mod map;
pub mod option;
pub mod path;
pub mod pid;
pub mod pointer;
pub mod range;
pub mod reference;
pub mod result;
pub mod string;
pub mod tagged;
pub mod time;
pub mod tuple;

use crate::sys;
use std::mem::MaybeUninit;

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

/// A growable array of raw terms: inline for up to [`INLINE_TERMS`] terms, then from
/// `enif_alloc` (not glibc `malloc`: inside the BEAM, glibc serves blocks of 128 KiB
/// and more with a fresh `mmap` every time).
pub(crate) struct TermBuffer {
    inline: [MaybeUninit<sys::ERL_NIF_TERM>; INLINE_TERMS],
    heap: *mut sys::ERL_NIF_TERM,
    len: usize,
    cap: usize,
}

pub(crate) const INLINE_TERMS: usize = 64;

impl TermBuffer {
    #[inline]
    pub(crate) fn new(cap: usize) -> TermBuffer {
        let mut buf = TermBuffer {
            inline: [MaybeUninit::uninit(); INLINE_TERMS],
            heap: std::ptr::null_mut(),
            len: 0,
            cap: INLINE_TERMS,
        };
        if cap > INLINE_TERMS {
            buf.grow_to(cap);
        }
        buf
    }

    #[inline(always)]
    pub(crate) fn push(&mut self, term: sys::ERL_NIF_TERM) {
        if self.len == self.cap {
            self.grow_to(self.cap * 2);
        }
        // SAFETY: len < cap, and the storage holds cap terms.
        unsafe { self.as_mut_ptr().add(self.len).write(term) };
        self.len += 1;
    }

    #[cold]
    fn grow_to(&mut self, cap: usize) {
        let bytes = cap
            .checked_mul(std::mem::size_of::<sys::ERL_NIF_TERM>())
            .expect("term buffer too large");
        // SAFETY: the new block holds cap terms; the first len are copied from the old
        // storage, which is freed if it was from enif_alloc.
        unsafe {
            let heap = sys::enif_alloc(bytes) as *mut sys::ERL_NIF_TERM;
            assert!(!heap.is_null(), "enif_alloc({bytes}) failed");
            std::ptr::copy_nonoverlapping(self.as_ptr(), heap, self.len);
            if !self.heap.is_null() {
                sys::enif_free(self.heap as *mut _);
            }
            self.heap = heap;
        }
        self.cap = cap;
    }

    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub(crate) fn as_ptr(&self) -> *const sys::ERL_NIF_TERM {
        if self.heap.is_null() {
            self.inline.as_ptr() as *const _
        } else {
            self.heap
        }
    }

    #[inline(always)]
    pub(crate) fn as_mut_ptr(&mut self) -> *mut sys::ERL_NIF_TERM {
        if self.heap.is_null() {
            self.inline.as_mut_ptr() as *mut _
        } else {
            self.heap
        }
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

/// A fixed block of `len` raw terms from `enif_alloc`, freed on drop: for lists of a
/// known length, written by index with no capacity checks.
pub(crate) struct RawTerms {
    pub(crate) ptr: *mut sys::ERL_NIF_TERM,
}

impl RawTerms {
    pub(crate) fn new(len: usize) -> RawTerms {
        let bytes = len
            .max(1)
            .checked_mul(std::mem::size_of::<sys::ERL_NIF_TERM>())
            .expect("term buffer too large");
        // SAFETY: enif_alloc returns NULL or a block of `bytes` bytes, 8-byte aligned.
        let ptr = unsafe { sys::enif_alloc(bytes) } as *mut sys::ERL_NIF_TERM;
        assert!(!ptr.is_null(), "enif_alloc({bytes}) failed");
        RawTerms { ptr }
    }
}

impl Drop for RawTerms {
    fn drop(&mut self) {
        // SAFETY: ptr came from enif_alloc and is freed once.
        unsafe { sys::enif_free(self.ptr as *mut _) }
    }
}

impl Drop for TermBuffer {
    fn drop(&mut self) {
        if !self.heap.is_null() {
            // SAFETY: heap came from enif_alloc and is freed once.
            unsafe { sys::enif_free(self.heap as *mut _) }
        }
    }
}

/// Raises `SystemLimitError`: a collection of `len` elements sized from a term cannot
/// be allocated (a failed allocation would abort the VM).
#[cold]
#[inline(never)]
pub(crate) fn cannot_reserve<T>(len: usize) -> ! {
    crate::raise(crate::Error::exception(
        "Elixir.SystemLimitError",
        format!(
            "cannot allocate {} for {len} elements",
            short_type_name(std::any::type_name::<T>())
        ),
    ))
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
