//! [`BeamAllocator`]: the global allocator `init!` installs in a NIF library.
//!
//! Inside the BEAM, glibc `malloc` serves every block of 128 KiB or more with a fresh
//! `mmap` (ERTS sets `M_TRIM_THRESHOLD`, which freezes glibc's mmap threshold), so a
//! NIF that builds a large `Vec` pays a system call and a page fault per 4 KiB on every
//! call. `BeamAllocator` sends large blocks to the VM's own allocator (`enif_alloc`),
//! which keeps and reuses its carriers, and everything else to the system allocator
//! (making `enif_alloc` serve small blocks too would cost 30–40 ns per allocation).
//!
//! Opt out with `oxbeam::init!("Elixir.Mod", allocator = false)`, e.g. to use a
//! global allocator of your own.

use crate::sys;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

/// Blocks of at least this size go to `enif_alloc` (below glibc's 128 KiB threshold,
/// so a `Vec` growing through it does not bounce between allocators near the trap).
pub const LARGE_BLOCK: usize = 16 * 1024;

/// Set when the library is loaded by a VM: before that (and in a test executable that
/// links the library without a VM), `enif_alloc` does not exist and everything goes to
/// the system allocator. Nothing allocates a large block before `nif_init` runs.
static IN_BEAM: AtomicBool = AtomicBool::new(false);

pub(crate) fn enable() {
    IN_BEAM.store(true, Ordering::Release);
}

/// The hybrid allocator: `enif_alloc` for large blocks, the system allocator for the rest.
pub struct BeamAllocator;

#[inline(always)]
fn is_large(size: usize, align: usize) -> bool {
    // enif_alloc aligns to 8 bytes; larger alignments stay with the system allocator.
    size >= LARGE_BLOCK && align <= 8 && IN_BEAM.load(Ordering::Relaxed)
}

// SAFETY: each block is freed by the allocator that made it: the choice depends only on
// (size, align) of the layout, which Rust passes back unchanged on dealloc/realloc, and
// on IN_BEAM, which only goes from false to true before any large block exists.
unsafe impl GlobalAlloc for BeamAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_large(layout.size(), layout.align()) {
            // SAFETY: enif_alloc returns NULL or a block of the size asked.
            unsafe { sys::enif_alloc(layout.size()) as *mut u8 }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc(layout) }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_large(layout.size(), layout.align()) {
            // SAFETY: as in alloc; the block is zeroed before use.
            unsafe {
                let ptr = sys::enif_alloc(layout.size()) as *mut u8;
                if !ptr.is_null() {
                    std::ptr::write_bytes(ptr, 0, layout.size());
                }
                ptr
            }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_large(layout.size(), layout.align()) {
            // SAFETY: a large block came from enif_alloc (see the impl's comment).
            unsafe { sys::enif_free(ptr as *mut _) }
        } else {
            // SAFETY: a small block came from System.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let was_large = is_large(layout.size(), layout.align());
        let will_be_large = is_large(new_size, layout.align());
        match (was_large, will_be_large) {
            // SAFETY: the block came from enif_alloc; enif_realloc keeps the contents.
            (true, true) => unsafe { sys::enif_realloc(ptr as *mut _, new_size) as *mut u8 },
            // SAFETY: the block came from System.
            (false, false) => unsafe { System.realloc(ptr, layout, new_size) },
            _ => {
                // SAFETY: new_size is non-zero (GlobalAlloc contract); the old block is
                // valid for layout.size() bytes; each block goes back where it came from.
                unsafe {
                    let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
                    let new = self.alloc(new_layout);
                    if !new.is_null() {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    new
                }
            }
        }
    }
}
