//! [`BeamAllocator`]: the global allocator `init!` installs in a NIF library.
//!
//! Inside the BEAM, glibc `malloc` serves every block of 128 KiB or more with a fresh
//! `mmap` (ERTS sets `M_TRIM_THRESHOLD`, which freezes glibc's mmap threshold), so a
//! NIF that builds a large `Vec` pays a system call and a page fault per 4 KiB on every
//! call. `BeamAllocator` sends large blocks to the VM's own allocator (`enif_alloc`),
//! which keeps and reuses its carriers, and everything else to the system allocator
//! (making `enif_alloc` serve small blocks too would cost 30–40 ns per allocation).
//!
//! Small blocks (up to [`SMALL_MAX`] bytes, in 16-byte size classes) freed on a VM
//! scheduler thread are kept in a per-thread cache and handed out again by that thread
//! (see "Small blocks" below): a NIF that decodes a map of a thousand `String`
//! keys makes and frees a thousand small blocks per call, and glibc serves all but seven
//! of them (its per-thread cache) from its shared bins, under the arena lock.
//!
//! # Small blocks
//!
//! Every block of up to [`SMALL_MAX`] bytes (alignment up to 16) is allocated with the
//! size of its class (17 bytes take 32), so that any block of a class can serve any
//! request of that class. A block freed on a VM scheduler thread (normal or dirty, as
//! `enif_thread_type` says; such threads live as long as the VM) goes on that thread's
//! free list for its class, up to [`CACHE_BUDGET`] bytes per thread; other threads, and
//! blocks past the budget, go straight back to the system allocator. A block is only
//! cached if the system allocator says it really holds its class's size
//! (`malloc_usable_size`), so a block made elsewhere (by an older library before a hot
//! upgrade) is never handed out for more than it holds (outside Linux, where that size
//! is not asked, nothing is cached). A thread keeps at most [`CACHE_BUDGET`] bytes:
//! memory that glibc would otherwise keep in its own free bins. Cached blocks of a
//! library that is unloaded are not returned (at most the budget per scheduler thread,
//! once).
//!
//! Opt out with `oxbeam::init!("Elixir.Mod", allocator = false)`, e.g. to use a
//! global allocator of your own.

use crate::sys;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

/// Blocks up to this size (and alignment up to 16) are allocated by size class and
/// cached per scheduler thread (see the module documentation).
pub const SMALL_MAX: usize = 128;

/// The most bytes of small blocks one scheduler thread keeps cached.
pub const CACHE_BUDGET: usize = 2 * 1024 * 1024;

/// Blocks of at least this size go to `enif_alloc` (below glibc's 128 KiB threshold,
/// so a `Vec` growing through it does not bounce between allocators near the trap).
pub const LARGE_BLOCK: usize = 16 * 1024;

/// Set when the library is loaded by a VM: before that (a dependency's static
/// initializer, or a test executable that links the library without a VM),
/// `enif_alloc` does not exist and large blocks come from the system allocator too.
static IN_BEAM: AtomicBool = AtomicBool::new(false);

pub(crate) fn enable() {
    IN_BEAM.store(true, Ordering::Release);
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

// SAFETY: small blocks (by layout: the same on alloc and dealloc) are class-sized
// blocks of the system allocator, cached and reused only as blocks of their class (see
// `small`); other blocks below LARGE_BLOCK come from System and go back to it; large
// blocks carry a header naming the allocator that made them (see BeamAllocator), so each
// goes back where it came from.
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
            // The block already has its class's size (made by this allocator; one made
            // by an older library before a hot upgrade may hold less: checked).
            // SAFETY: a small layout's block is a live system allocator block.
            Route::Keep if unsafe { small::usable_size(ptr) } >= new_size => return ptr,
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

/// The small blocks: size classes and the per-scheduler-thread cache.
mod small {
    use super::{CACHE_BUDGET, IN_BEAM, SMALL_MAX};
    use crate::sys;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;
    use std::sync::atomic::Ordering;

    const CLASS_STEP: usize = 16;
    pub(super) const CLASSES: usize = SMALL_MAX / CLASS_STEP;

    /// The size class of a small layout (class `c` holds `16 * (c + 1)` bytes).
    #[inline(always)]
    pub(super) fn class_of(layout: Layout) -> Option<usize> {
        (layout.size() <= SMALL_MAX && layout.align() <= CLASS_STEP)
            .then(|| layout.size().saturating_sub(1) / CLASS_STEP)
    }

    /// The bytes a block of `class` holds.
    #[inline(always)]
    pub(super) const fn class_size(class: usize) -> usize {
        CLASS_STEP * (class + 1)
    }

    /// The layout every block of `class` is made with: its size, aligned to 16 (what
    /// `malloc` gives any block of 16 bytes or more, so `System` calls plain `malloc`).
    #[inline(always)]
    fn class_layout(class: usize) -> Layout {
        // SAFETY: a non-zero multiple of 16, aligned to 16: a valid layout.
        unsafe { Layout::from_size_align_unchecked(class_size(class), CLASS_STEP) }
    }

    const UNKNOWN: u8 = 0;
    const ON: u8 = 1;
    const OFF: u8 = 2;

    /// One thread's free lists: a cached block holds the address of the next block of
    /// its list in its first word.
    pub(super) struct Cache {
        state: Cell<u8>,
        heads: [Cell<*mut u8>; CLASSES],
        bytes: Cell<usize>,
    }

    impl Cache {
        pub(super) const fn new() -> Cache {
            Cache {
                state: Cell::new(UNKNOWN),
                heads: [const { Cell::new(std::ptr::null_mut()) }; CLASSES],
                bytes: Cell::new(0),
            }
        }

        /// Whether this thread caches: only VM scheduler threads (normal or dirty),
        /// which live as long as the VM, so that no thread exits with blocks cached.
        #[inline(always)]
        fn enabled(&self) -> bool {
            match self.state.get() {
                ON => true,
                OFF => false,
                _ => self.decide(),
            }
        }

        #[cold]
        fn decide(&self) -> bool {
            // Before the library is loaded by a VM, enif_thread_type does not exist;
            // decide later (this thread may be a scheduler that loads the library).
            if !IN_BEAM.load(Ordering::Acquire) {
                return false;
            }
            let on = vm_thread_type() != sys::ERL_NIF_THR_UNDEFINED;
            self.state.set(if on { ON } else { OFF });
            on
        }

        /// A cached block of `class`, or null.
        #[inline(always)]
        pub(super) fn pop(&self, class: usize) -> *mut u8 {
            let head = self.heads[class].get();
            if !head.is_null() {
                // SAFETY: head is a cached block (push wrote the next pointer in its
                // first word; blocks are 16-aligned and at least 16 bytes).
                let next = unsafe { (head as *mut *mut u8).read() };
                self.heads[class].set(next);
                self.bytes.set(self.bytes.get() - class_size(class));
            }
            head
        }

        /// Keeps `ptr` (a block of `class`, no longer used by anyone) if this thread
        /// caches, the budget allows and the block really holds the class's size;
        /// false if the caller must free it.
        ///
        /// # Safety
        /// `ptr` must be a live block of the system allocator of `class`'s layout, that
        /// the caller gives up.
        #[inline(always)]
        pub(super) unsafe fn push(&self, class: usize, ptr: *mut u8) -> bool {
            let size = class_size(class);
            if !self.enabled() || self.bytes.get() + size > CACHE_BUDGET {
                return false;
            }
            // SAFETY (caller): a live malloc block.
            if unsafe { usable_size(ptr) } < size {
                return false;
            }
            // SAFETY (caller): the block is ours now and holds at least 16 bytes,
            // 16-aligned: its first word takes the list's next pointer.
            unsafe { (ptr as *mut *mut u8).write(self.heads[class].get()) };
            self.heads[class].set(ptr);
            self.bytes.set(self.bytes.get() + size);
            true
        }
    }

    /// Makes this thread cache as a scheduler thread does (tests run without a VM).
    #[cfg(test)]
    pub(super) fn cache_on_this_thread() {
        CACHE.with(|cache| cache.state.set(ON));
    }

    #[cfg(test)]
    pub(super) fn cached_bytes_on_this_thread() -> usize {
        CACHE.with(|cache| cache.bytes.get())
    }

    #[cfg(test)]
    pub(super) fn force_on(cache: &Cache) {
        cache.state.set(ON);
    }

    /// What `enif_thread_type` says of this thread.
    #[cfg(not(test))]
    #[inline]
    fn vm_thread_type() -> u32 {
        // SAFETY: enif_thread_type has no preconditions and allocates nothing; the VM
        // is there (IN_BEAM is set).
        unsafe { sys::enif_thread_type() as u32 }
    }

    /// Unit tests run without a VM, and their executables must not refer to `enif_*`
    /// symbols (see build.rs): a thread is never a scheduler's there.
    #[cfg(test)]
    fn vm_thread_type() -> u32 {
        sys::ERL_NIF_THR_UNDEFINED
    }

    thread_local! {
        // const-initialized and without Drop: no destructor is registered, so a thread
        // that exits registers nothing and holds the library loaded by nothing.
        static CACHE: Cache = const { Cache::new() };
    }

    #[cfg(target_os = "linux")]
    extern "C" {
        // glibc and musl: the bytes a malloc block really holds.
        fn malloc_usable_size(ptr: *mut std::ffi::c_void) -> usize;
    }

    /// The bytes the malloc block `ptr` really holds.
    ///
    /// # Safety
    /// `ptr` must be a live block of the system allocator (`malloc`).
    #[cfg(target_os = "linux")]
    #[inline(always)]
    pub(super) unsafe fn usable_size(ptr: *mut u8) -> usize {
        // SAFETY (caller): a live malloc block.
        unsafe { malloc_usable_size(ptr as *mut _) }
    }

    /// Elsewhere the size of a block is not checked, so nothing is cached (0 bytes is
    /// less than any class).
    ///
    /// # Safety
    /// None needed; `unsafe` as the Linux version.
    #[cfg(not(target_os = "linux"))]
    #[inline(always)]
    pub(super) unsafe fn usable_size(_ptr: *mut u8) -> usize {
        0
    }

    /// A block of `class`: from this thread's cache, else from the system allocator.
    ///
    /// # Safety
    /// As `GlobalAlloc::alloc`, for a layout of this class.
    #[inline(always)]
    pub(super) unsafe fn alloc(class: usize) -> *mut u8 {
        let cached = CACHE.with(|cache| cache.pop(class));
        if !cached.is_null() {
            return cached;
        }
        // SAFETY: a valid non-zero layout.
        unsafe { System.alloc(class_layout(class)) }
    }

    /// A block of `class` with its first `size` bytes zeroed (a cached block is dirty).
    ///
    /// # Safety
    /// As `GlobalAlloc::alloc_zeroed`, for a layout of this class and `size`.
    #[inline(always)]
    pub(super) unsafe fn alloc_zeroed(class: usize, size: usize) -> *mut u8 {
        // SAFETY (caller): a layout of this class; the block holds at least size bytes.
        unsafe {
            let ptr = alloc(class);
            if !ptr.is_null() {
                std::ptr::write_bytes(ptr, 0, size);
            }
            ptr
        }
    }

    /// Frees a block made by [`alloc`] for `class`: into this thread's cache, else to
    /// the system allocator.
    ///
    /// # Safety
    /// `ptr` must come from `alloc(class)` (of this or an earlier library: a system
    /// allocator block) and not be freed yet.
    #[inline(always)]
    pub(super) unsafe fn dealloc(class: usize, ptr: *mut u8) {
        // SAFETY (caller): ptr is a live system block the caller gives up.
        if !CACHE.with(|cache| unsafe { cache.push(class, ptr) }) {
            // SAFETY: made by System with this class's layout (or, before a hot
            // upgrade, with a smaller one: free() does not read the size).
            unsafe { System.dealloc(ptr, class_layout(class)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::small::{self, Cache, CLASSES};
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn small_layouts_fall_in_16_byte_classes() {
        assert_eq!(small::class_of(layout(1, 1)), Some(0));
        assert_eq!(small::class_of(layout(16, 8)), Some(0));
        assert_eq!(small::class_of(layout(17, 1)), Some(1));
        assert_eq!(small::class_of(layout(128, 16)), Some(CLASSES - 1));
        assert_eq!(small::class_size(CLASSES - 1), SMALL_MAX);
        assert_eq!(small::class_of(layout(129, 1)), None);
        assert_eq!(small::class_of(layout(16, 32)), None);
    }

    #[test]
    fn a_cache_hands_back_its_blocks_last_in_first_out_within_its_budget() {
        let cache = Cache::new();
        // Off (no VM, not forced): nothing is kept.
        let block = unsafe { System.alloc(layout(32, 16)) };
        assert!(!unsafe { cache.push(1, block) });
        small::force_on(&cache);
        assert!(unsafe { cache.push(1, block) });
        let other = unsafe { System.alloc(layout(32, 16)) };
        assert!(unsafe { cache.push(1, other) });
        assert!(cache.pop(0).is_null(), "another class is empty");
        assert_eq!(cache.pop(1), other);
        assert_eq!(cache.pop(1), block);
        assert!(cache.pop(1).is_null());
        // The budget: blocks past it are refused (the caller frees them).
        let blocks: Vec<*mut u8> = (0..CACHE_BUDGET / SMALL_MAX + 1)
            .map(|_| unsafe { System.alloc(layout(SMALL_MAX, 16)) })
            .collect();
        let kept = blocks
            .iter()
            .filter(|&&b| unsafe { cache.push(CLASSES - 1, b) })
            .count();
        assert_eq!(kept, CACHE_BUDGET / SMALL_MAX);
        for &b in &blocks[kept..] {
            unsafe { System.dealloc(b, layout(SMALL_MAX, 16)) };
        }
        for _ in 0..kept {
            let b = cache.pop(CLASSES - 1);
            assert!(!b.is_null());
            unsafe { System.dealloc(b, layout(SMALL_MAX, 16)) };
        }
        unsafe {
            System.dealloc(block, layout(32, 16));
            System.dealloc(other, layout(32, 16));
        }
    }

    #[test]
    fn a_block_smaller_than_its_class_is_never_cached() {
        // As a block made by an older library (before a hot upgrade) could be: 8 bytes
        // asked, so it cannot serve a 128-byte request.
        let cache = Cache::new();
        small::force_on(&cache);
        let block = unsafe { System.alloc(layout(8, 8)) };
        assert!(!unsafe { cache.push(CLASSES - 1, block) });
        unsafe { System.dealloc(block, layout(8, 8)) };
    }

    #[test]
    fn a_reused_small_block_comes_back_zeroed_when_asked() {
        small::cache_on_this_thread();
        unsafe {
            let p = small::alloc(1);
            std::ptr::write_bytes(p, 0xAB, 32);
            small::dealloc(1, p);
            assert_eq!(small::cached_bytes_on_this_thread(), 32);
            let z = small::alloc_zeroed(1, 20);
            assert_eq!(z, p, "the cached block is reused");
            assert!(std::slice::from_raw_parts(z, 20).iter().all(|&b| b == 0));
            assert_eq!(small::cached_bytes_on_this_thread(), 0);
            small::dealloc(1, z);
        }
    }

    #[test]
    fn realloc_keeps_a_block_only_within_its_class_and_moves_it_across_kinds() {
        let route = |from: usize, to: usize| realloc_route(layout(from, 8), layout(to, 8));
        assert_eq!(route(17, 32), Route::Keep);
        assert_eq!(route(32, 17), Route::Keep);
        assert_eq!(route(16, 17), Route::Move);
        assert_eq!(route(128, 129), Route::Move);
        assert_eq!(route(129, 128), Route::Move);
        assert_eq!(route(129, 5000), Route::System);
        assert_eq!(route(5000, LARGE_BLOCK), Route::Move);
        assert_eq!(route(LARGE_BLOCK, LARGE_BLOCK * 4), Route::Large);
        assert_eq!(route(LARGE_BLOCK, 64), Route::Move);
        // Over-aligned blocks are never small.
        let aligned = |size| layout(size, 32);
        assert_eq!(realloc_route(aligned(16), aligned(32)), Route::System);
    }
}
