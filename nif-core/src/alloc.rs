//! [`BeamAllocator`]: the global allocator `init!` installs in a NIF library.
//!
//! Inside the BEAM, glibc `malloc` serves every block of 128 KiB or more with a fresh
//! `mmap` (ERTS sets `M_TRIM_THRESHOLD`, which freezes glibc's mmap threshold), so a
//! NIF that builds a large `Vec` pays a system call and a page fault per 4 KiB on every
//! call. `BeamAllocator` sends large blocks to the VM's own allocator (`enif_alloc`),
//! which keeps and reuses its carriers, and everything else to the system allocator
//! (making `enif_alloc` serve small blocks too would cost 30–40 ns per allocation).
//!
//! # Small blocks (64-bit Linux)
//!
//! A NIF that decodes a map of a thousand `String` keys makes and frees a thousand
//! small blocks per call; glibc's per-thread cache (tcache) holds 7 blocks of a size,
//! so all the others go through its shared bins (`_int_free`, `malloc_consolidate`,
//! `_int_malloc`): 44% of the samples of such a call (`map_sum/1` in the benchmark, at
//! n = 1 000), 33% at n = 10. So blocks of up to
//! [`SMALL_MAX`] bytes (alignment up to 16) come in glibc's own size classes
//! (24, 40, 56, ... bytes: `16 * c + 24`, what glibc's chunks hold), and a block freed
//! on a VM scheduler thread (`enif_thread_type() > 0`: normal, dirty CPU or dirty I/O,
//! threads that live as long as the VM) goes on that thread's free list for its class,
//! up to [`CACHE_BUDGET`] bytes per thread and library image; past it, and on any other
//! thread, it goes back to glibc at once. The lists are protected as glibc's are:
//! links mangled with the block's address and a per-image random secret (a link broken
//! by a write after free aborts the VM instead of handing out a wild pointer), and a
//! key in every cached block (freeing a cached block again aborts the VM: a double
//! free). The cache is on only if `malloc` of every small size gives a block holding its
//! whole class, as glibc's does (checked when the library loads: a `malloc` put in with
//! `LD_PRELOAD` that rounds less turns it off), so a block is never handed out for more
//! than it holds, whichever image made it. When
//! the VM unloads the library image (after a hot upgrade and purge, or an unload),
//! every thread's cached blocks go back to glibc. Elsewhere (other systems, 32-bit),
//! small blocks come from and go back to the system allocator directly.
//!
//! Opt out with `oxbeam::init!("Elixir.Mod", allocator = false)`, e.g. to use a
//! global allocator of your own.

use crate::sys;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
mod small;
/// Blocks up to this size (alignment up to 16) are small: glibc's own per-thread cache
/// (tcache) covers the same sizes. (Cached on 64-bit Linux only.)
pub const SMALL_MAX: usize = 1032;

/// The most bytes (counted as class sizes) of small blocks one scheduler thread keeps
/// cached for one library image; a block freed past it goes back to glibc at once.
pub const CACHE_BUDGET: usize = 64 * 1024;

/// Without the cache no layout is small: every branch on it folds away.
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
mod small {
    use std::alloc::Layout;

    #[inline(always)]
    pub(super) fn class_of(_layout: Layout) -> Option<usize> {
        None
    }

    // # Safety (the four functions below): as on Linux; they are never reached, since
    // no layout has a class here, and touch no memory.

    pub(super) unsafe fn alloc(_class: usize) -> *mut u8 {
        unreachable!("no small blocks on this platform")
    }

    pub(super) unsafe fn alloc_zeroed(_class: usize, _size: usize) -> *mut u8 {
        unreachable!("no small blocks on this platform")
    }

    pub(super) unsafe fn dealloc(_class: usize, _ptr: *mut u8) {
        unreachable!("no small blocks on this platform")
    }

    pub(super) unsafe fn holds(_ptr: *mut u8, _size: usize) -> bool {
        unreachable!("no small blocks on this platform")
    }

    pub(crate) fn release_all() -> usize {
        0
    }

    pub(super) fn cached_bytes() -> usize {
        0
    }
}

/// Blocks of at least this size go to `enif_alloc` (below glibc's 128 KiB threshold,
/// so a `Vec` growing through it does not bounce between allocators near the trap).
pub const LARGE_BLOCK: usize = 16 * 1024;

/// Set when the library is loaded by a VM: before that (a dependency's static
/// initializer, or a test executable that links the library without a VM),
/// `enif_alloc` does not exist and large blocks come from the system allocator too.
static IN_BEAM: AtomicBool = AtomicBool::new(false);

/// Called when a VM loads the library (before any NIF runs): large blocks from the VM
/// from now on, and the small-block cache's secret (process-random) is drawn.
pub(crate) fn enable() {
    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    {
        use std::hash::BuildHasher;
        // RandomState's keys come from the OS's random source once per process
        // (per thread after that); hashing this image's address tells images apart.
        let seed = std::collections::hash_map::RandomState::new().hash_one(&IN_BEAM as *const _);
        let _ = small::set_secret(seed);
    }
    IN_BEAM.store(true, Ordering::Release);
}

/// The bytes of small blocks this thread keeps cached for this library image (0 off
/// scheduler threads, and where there is no cache): at most [`CACHE_BUDGET`].
pub fn cached_bytes() -> usize {
    small::cached_bytes()
}

/// Called when the VM unloads the library image: every scheduler thread's cached small
/// blocks go back to the system allocator (see the module documentation). Returns the
/// bytes released.
pub(crate) fn release_cached_blocks() -> usize {
    small::release_all()
}

/// The hybrid allocator: `enif_alloc` for large blocks, the system allocator for the rest.
///
/// Freeing is correct by construction, whenever a block was made: whether a block is
/// large depends only on its layout (which Rust passes back unchanged to `dealloc`
/// and `realloc`), and every large block starts with a header naming the allocator
/// that made it. A large block made before the library was loaded (by the system
/// allocator) and freed after goes back to the system allocator.
pub struct BeamAllocator;

/// Room kept in front of a large block for its [`Origin`]; keeps 8-byte alignment.
const HEADER: usize = 16;

/// Which allocator made a large block: written in its header.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
enum Origin {
    System = 0x5359_5354,
    Beam = 0x4245_414d,
}

#[inline(always)]
fn is_large(layout: Layout) -> bool {
    // enif_alloc aligns to 8 bytes; larger alignments stay with the system allocator.
    layout.size() >= LARGE_BLOCK && layout.align() <= 8
}

/// The layout of a large block with its header, as the system allocator sees it.
#[inline(always)]
fn with_header(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, 8).ok()
}

impl BeamAllocator {
    /// A large block of `size` bytes (plus its header), from the VM once it is loaded.
    ///
    /// # Safety
    /// As `GlobalAlloc::alloc`.
    #[inline]
    unsafe fn alloc_large(&self, size: usize) -> *mut u8 {
        let Some(full) = with_header(size) else {
            return std::ptr::null_mut();
        };
        let (base, origin) = if IN_BEAM.load(Ordering::Acquire) {
            // SAFETY: enif_alloc returns NULL or an 8-byte aligned block of the size.
            (
                unsafe { sys::enif_alloc(full.size()) as *mut u8 },
                Origin::Beam,
            )
        } else {
            // SAFETY: full has a non-zero size.
            (unsafe { System.alloc(full) }, Origin::System)
        };
        if base.is_null() {
            return base;
        }
        // SAFETY: the block has HEADER + size bytes, 8-byte aligned: the header holds
        // the origin, and the caller gets the bytes after it (8-byte aligned too).
        unsafe {
            (base as *mut Origin).write(origin);
            base.add(HEADER)
        }
    }

    /// Frees a block made by `alloc_large`, with the allocator its header names.
    ///
    /// # Safety
    /// `ptr` must come from `alloc_large(size)` and not be freed yet.
    #[inline]
    unsafe fn dealloc_large(&self, ptr: *mut u8, size: usize) {
        // SAFETY (caller): the header is HEADER bytes before ptr.
        let base = unsafe { ptr.sub(HEADER) };
        if unsafe { origin(base) } == Origin::Beam {
            // SAFETY: the block came from enif_alloc.
            unsafe { sys::enif_free(base as *mut _) }
        } else if let Some(full) = with_header(size) {
            // SAFETY: the block came from System with this layout (alloc_large).
            unsafe { System.dealloc(base, full) }
        }
    }

    /// Resizes a block made by `alloc_large(size)` to `new_size` (both large), in
    /// place when its allocator can; the header moves with the block.
    ///
    /// # Safety
    /// `ptr` must come from `alloc_large(size)` and not be freed yet.
    #[inline]
    unsafe fn realloc_large(&self, ptr: *mut u8, size: usize, new_size: usize) -> *mut u8 {
        let (Some(full), Some(new_full)) = (with_header(size), with_header(new_size)) else {
            return std::ptr::null_mut();
        };
        // SAFETY (caller): the header is HEADER bytes before ptr; the block goes to
        // the realloc of the allocator that made it, which keeps its contents
        // (header included) or returns NULL and leaves it alone.
        unsafe {
            let base = ptr.sub(HEADER);
            let new_base = if origin(base) == Origin::Beam {
                sys::enif_realloc(base as *mut _, new_full.size()) as *mut u8
            } else {
                System.realloc(base, full, new_full.size())
            };
            if new_base.is_null() {
                return new_base;
            }
            new_base.add(HEADER)
        }
    }
}

/// The origin written in a large block's header (anything unexpected counts as the
/// system allocator's: the header is read as a plain word, never as an enum).
///
/// # Safety
/// `base` must be the start of a live large block.
#[inline(always)]
unsafe fn origin(base: *const u8) -> Origin {
    // SAFETY (caller): the block starts with its header word.
    if unsafe { (base as *const usize).read() } == Origin::Beam as usize {
        Origin::Beam
    } else {
        Origin::System
    }
}

// SAFETY: small blocks (by layout: the same on alloc and dealloc) are malloc blocks
// holding their class, cached and reused only as blocks of their class (see `small`);
// other blocks below LARGE_BLOCK come from System and go back to it; large blocks carry
// a header naming the allocator that made them (see BeamAllocator), so each goes back
// where it came from.
unsafe impl GlobalAlloc for BeamAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(class) = small::class_of(layout) {
            // SAFETY: layout is a small layout of this class.
            unsafe { small::alloc(class) }
        } else if is_large(layout) {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { self.alloc_large(layout.size()) }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc(layout) }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if let Some(class) = small::class_of(layout) {
            // SAFETY: layout is a small layout of this class.
            unsafe { small::alloc_zeroed(class, layout.size()) }
        } else if is_large(layout) {
            // SAFETY: as in alloc; the block is zeroed before use.
            unsafe {
                let ptr = self.alloc_large(layout.size());
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
        if let Some(class) = small::class_of(layout) {
            // SAFETY: a small layout's block was made by small::alloc for this class.
            unsafe { small::dealloc(class, ptr) }
        } else if is_large(layout) {
            // SAFETY: a large layout's block came from alloc_large.
            unsafe { self.dealloc_large(ptr, layout.size()) }
        } else {
            // SAFETY: a block between small and large came from System.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = match Layout::from_size_align(new_size, layout.align()) {
            Ok(new_layout) => new_layout,
            Err(_) => return std::ptr::null_mut(),
        };
        match realloc_route(layout, new_layout) {
            // The block already holds its class (made by this allocator; one made by
            // an older image before a hot upgrade may hold less: checked).
            // SAFETY: a small layout's block is a live malloc block.
            Route::Keep if unsafe { small::holds(ptr, new_size) } => return ptr,
            // SAFETY: neither small nor large: the block came from System.
            Route::System => return unsafe { System.realloc(ptr, layout, new_size) },
            // SAFETY: the block came from alloc_large(layout.size()).
            Route::Large => return unsafe { self.realloc_large(ptr, layout.size(), new_size) },
            Route::Keep | Route::Move => {}
        }
        // A block moving between kinds (small, System, large) or small classes: allocate,
        // copy, free; each block goes back where it came from.
        // SAFETY: new_layout has a non-zero size (GlobalAlloc contract); the old block
        // is valid for layout.size() bytes and is freed once, by its own allocator.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

/// How `realloc` resizes a block.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// Small, and the same class: the block holds the new size if this allocator
    /// made it (checked with `usable_size`; else it moves).
    Keep,
    /// Neither small nor large, before and after: the system allocator's realloc.
    System,
    /// Large before and after: `realloc_large`.
    Large,
    /// Anything else: allocate, copy, free.
    Move,
}

#[inline(always)]
fn realloc_route(layout: Layout, new_layout: Layout) -> Route {
    let (class, new_class) = (small::class_of(layout), small::class_of(new_layout));
    match (is_large(layout), is_large(new_layout)) {
        _ if class.is_some() && class == new_class => Route::Keep,
        (false, false) if class.is_none() && new_class.is_none() => Route::System,
        (true, true) => Route::Large,
        _ => Route::Move,
    }
}

#[cfg(all(test, target_os = "linux", target_pointer_width = "64"))]
mod tests;
