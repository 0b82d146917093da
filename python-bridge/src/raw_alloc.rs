//! Python's raw memory domain, with large blocks from the VM's allocator.
//!
//! Every Python block above 512 bytes (a `bytes`, a list's storage, ...) comes from
//! `PyMem_RawMalloc`, which by default is glibc `malloc`. Inside the BEAM glibc serves
//! every block of 128 KiB or more with a fresh `mmap` and gives it back with `munmap`
//! when it is freed (ERTS sets `M_TRIM_THRESHOLD`, which freezes glibc's mmap
//! threshold), so each new 10 MiB `bytes` costs a system call pair and a page fault per
//! 4 KiB page it touches. This module installs an allocator for Python's raw domain
//! (`PyMem_SetAllocator(PYMEM_DOMAIN_RAW, ...)`) that sends blocks from [`LARGE_FROM`]
//! bytes on to the VM's allocator (`enif_alloc`, whose large carriers ERTS caches and
//! reuses, as `oxbeam::alloc::BeamAllocator` does for Rust's blocks) and every other
//! block to the allocator it replaces (CPython's default, `malloc`).
//!
//! **When.** CPython documents that a custom allocator may be installed before
//! `Py_PreInitialize()` when the pre-configuration's allocator is
//! `PYMEM_ALLOCATOR_NOT_SET` (or after it and before `Py_InitializeFromConfig()`).
//! The bridge starts Python with `Py_InitializeEx` (pyo3), whose pre-configuration
//! takes its allocator from `PYTHONMALLOC` and `PYTHONDEVMODE` only: [`install`] runs
//! just before it, and only when Python is not initialized yet and neither variable is
//! set (a user who asked for `PYTHONMALLOC=malloc`, `debug`, ... gets exactly that).
//!
//! **Which allocator frees a block.** `free` and `realloc` get no size, so every block
//! (small ones too) starts with a 16-byte [`Header`] just before the pointer Python
//! gets: which allocator made it, where that allocator's block starts, and the size
//! Python asked for (a `realloc` that moves a block across [`LARGE_FROM`] copies that
//! many bytes). CPython frees a block with the allocator that made it (its runtime
//! keeps the blocks it makes before initialization on its default allocator); a
//! pointer whose header names neither allocator (a caller breaking that rule) is
//! passed unchanged to the previous allocator, as it would have been without this
//! module.
//!
//! **Alignment.** Python expects `malloc`'s alignment (16 bytes); `enif_alloc`
//! guarantees 8, so each block is over-allocated by 8 bytes and the pointer handed out
//! is rounded up to 16 (the offset is in the header; a `realloc` that moves the block
//! to a different alignment moves the contents to the new offset).
//!
//! **Threads.** The raw domain is called without the GIL, from any thread: dirty
//! schedulers, Python's own threads, the decref thread. `enif_alloc`, `enif_realloc`
//! and `enif_free` are the VM's thread-safe allocator entry points (erts_alloc with
//! the NIF type; the same functions `BeamAllocator` calls from any thread); the
//! previous allocator is thread-safe as CPython requires of every raw allocator.

use oxbeam::sys;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Blocks of at least this many bytes go to `enif_alloc`: below glibc's 128 KiB mmap
/// threshold with room for the header and glibc's own overhead, so that no block this
/// module hands to `malloc` is served by `mmap`. Smaller blocks are reused by glibc's
/// heap, and `enif_alloc` would cost more per call than `malloc` there.
pub const LARGE_FROM: usize = 120 * 1024;

/// CPython's `PyMemAllocatorEx` (`Include/cpython/pymem.h`, the same from 3.5 to
/// 3.14). Not in the limited API, so pyo3's `abi3` build does not declare it.
#[repr(C)]
#[derive(Clone, Copy)]
struct PyMemAllocatorEx {
    ctx: *mut c_void,
    malloc: Option<unsafe extern "C" fn(ctx: *mut c_void, size: usize) -> *mut c_void>,
    calloc:
        Option<unsafe extern "C" fn(ctx: *mut c_void, nelem: usize, elsize: usize) -> *mut c_void>,
    realloc: Option<
        unsafe extern "C" fn(ctx: *mut c_void, ptr: *mut c_void, size: usize) -> *mut c_void,
    >,
    free: Option<unsafe extern "C" fn(ctx: *mut c_void, ptr: *mut c_void)>,
}

/// `PYMEM_DOMAIN_RAW` of CPython's `PyMemAllocatorDomain` (a C enum: an `int`).
const PYMEM_DOMAIN_RAW: std::ffi::c_int = 0;

extern "C" {
    // Exported by libpython 3.5+ (Include/cpython/pymem.h), outside the limited API.
    fn PyMem_GetAllocator(domain: std::ffi::c_int, allocator: *mut PyMemAllocatorEx);
    fn PyMem_SetAllocator(domain: std::ffi::c_int, allocator: *mut PyMemAllocatorEx);
}

/// The allocator this module replaced: the `ctx` of every call of ours points at it.
struct Previous {
    ctx: *mut c_void,
    malloc: unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void,
    calloc: unsafe extern "C" fn(*mut c_void, usize, usize) -> *mut c_void,
    realloc: unsafe extern "C" fn(*mut c_void, *mut c_void, usize) -> *mut c_void,
    free: unsafe extern "C" fn(*mut c_void, *mut c_void),
}

/// The two allocators a block can come from, as written in its header (the upper 56
/// bits of its first word; the low 8 bits hold the block's offset).
const FROM_PREVIOUS: u64 = 0x4f58_5059_5052_4500; // "OXPYPRE\0"
const FROM_BEAM: u64 = 0x4f58_5059_4245_4100; // "OXPYBEA\0"
const TAG_MASK: u64 = !0xff;

/// What is written just before each block Python gets.
#[repr(C)]
struct Header {
    /// [`FROM_PREVIOUS`] or [`FROM_BEAM`], plus the distance from the allocator's block
    /// to the pointer handed out (16 or 24).
    tag_and_offset: u64,
    /// The size Python asked for.
    size: u64,
}

const HEADER: usize = std::mem::size_of::<Header>();
/// The alignment Python gets (`malloc`'s on 64-bit platforms).
const ALIGN: usize = 16;
/// The least alignment either allocator guarantees (`enif_alloc`: 8 bytes).
const MIN_SOURCE_ALIGN: usize = 8;
/// Added to every request: the header, and the slack to round an 8-aligned block up.
const OVERHEAD: usize = HEADER + (ALIGN - MIN_SOURCE_ALIGN);

static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Large blocks made so far and large blocks freed so far (for tests and diagnostics).
static LARGE_MADE: AtomicU64 = AtomicU64::new(0);
static LARGE_FREED: AtomicU64 = AtomicU64::new(0);

/// Installs the allocator, if Python is not initialized yet and the environment does
/// not choose Python's allocator (see the module docs). Call right before Python is
/// initialized, once.
pub fn install() {
    // SAFETY: Py_IsInitialized has no preconditions (it reads a flag of libpython).
    if unsafe { pyo3::ffi::Py_IsInitialized() } != 0 || INSTALLED.load(Ordering::SeqCst) {
        return;
    }
    let chosen_by_environment = ["PYTHONMALLOC", "PYTHONDEVMODE"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()));
    if chosen_by_environment {
        return;
    }
    let mut current = std::mem::MaybeUninit::<PyMemAllocatorEx>::zeroed();
    // SAFETY: PyMem_GetAllocator fills the struct with the raw domain's allocator; it
    // may be called before Python is initialized (CPython's allocators are static).
    let current = unsafe {
        PyMem_GetAllocator(PYMEM_DOMAIN_RAW, current.as_mut_ptr());
        current.assume_init()
    };
    let (Some(malloc), Some(calloc), Some(realloc), Some(free)) = (
        current.malloc,
        current.calloc,
        current.realloc,
        current.free,
    ) else {
        return;
    };
    // Leaked on purpose: Python calls through it for the life of the process.
    let previous: &'static Previous = Box::leak(Box::new(Previous {
        ctx: current.ctx,
        malloc,
        calloc,
        realloc,
        free,
    }));
    let mut ours = PyMemAllocatorEx {
        ctx: previous as *const Previous as *mut c_void,
        malloc: Some(raw_malloc),
        calloc: Some(raw_calloc),
        realloc: Some(raw_realloc),
        free: Some(raw_free),
    };
    // SAFETY: before Python's pre-initialization with no allocator chosen by the
    // environment, which CPython documents as allowed; PyMem_SetAllocator copies the
    // struct. Our functions keep the contract of the raw domain (see their docs).
    unsafe { PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &mut ours) };
    INSTALLED.store(true, Ordering::SeqCst);
}

/// Whether `install` installed the allocator.
pub fn installed() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

/// Whether Python's raw domain is ours right now (false if `install` did not install
/// it, or something replaced it since).
fn active() -> bool {
    if !INSTALLED.load(Ordering::SeqCst) {
        return false;
    }
    let mut current = std::mem::MaybeUninit::<PyMemAllocatorEx>::zeroed();
    // SAFETY: PyMem_GetAllocator fills the struct (a copy of the raw domain's).
    let current = unsafe {
        PyMem_GetAllocator(PYMEM_DOMAIN_RAW, current.as_mut_ptr());
        current.assume_init()
    };
    current.malloc.map(|f| f as *const () as usize) == Some(raw_malloc as *const () as usize)
}

#[inline(always)]
fn is_large(size: usize) -> bool {
    size >= LARGE_FROM
}

/// The header of the block handed out at `ptr`.
///
/// # Safety
/// `ptr` must have been handed out by this module and not be freed yet; or, for a
/// pointer from elsewhere (a caller breaking CPython's rule), the 16 bytes before it
/// must be readable (true of `malloc`'s blocks, whose chunk header is there).
#[inline(always)]
unsafe fn header(ptr: *mut c_void) -> *mut Header {
    // SAFETY (caller): HEADER bytes before ptr belong to its block.
    unsafe { (ptr as *mut u8).sub(HEADER) as *mut Header }
}

/// Puts the header in the block at `base` (of at least `size + OVERHEAD` bytes) and
/// returns the 16-aligned pointer to hand out.
///
/// # Safety
/// `base` must be a live block of at least `size + OVERHEAD` bytes, 8-byte aligned.
#[inline(always)]
unsafe fn finish(base: *mut u8, tag: u64, size: usize) -> *mut c_void {
    let offset = ((base as usize) + HEADER).next_multiple_of(ALIGN) - base as usize;
    // SAFETY (caller): offset is 16 or 24 (base is 8-aligned), so the header and the
    // size bytes after it lie inside the block; the header is 8-byte aligned.
    unsafe {
        let ptr = base.add(offset);
        (ptr.sub(HEADER) as *mut Header).write(Header {
            tag_and_offset: tag | offset as u64,
            size: size as u64,
        });
        ptr as *mut c_void
    }
}

/// A new block of `size` bytes (zeroed if `zeroed`), from the allocator its size
/// calls for; NULL if that allocator has no memory or the size overflows.
///
/// # Safety
/// `previous` must be the allocator `install` saved.
#[inline]
unsafe fn allocate(previous: &Previous, size: usize, zeroed: bool) -> *mut c_void {
    let Some(full) = size.checked_add(OVERHEAD) else {
        return std::ptr::null_mut();
    };
    if is_large(size) {
        // SAFETY: enif_alloc returns NULL or an 8-aligned block of `full` bytes.
        let base = unsafe { sys::enif_alloc(full) } as *mut u8;
        if base.is_null() {
            return std::ptr::null_mut();
        }
        LARGE_MADE.fetch_add(1, Ordering::Relaxed);
        // SAFETY: a fresh block of size + OVERHEAD bytes; its `size` bytes from the
        // pointer handed out are zeroed when asked (memory reused from the VM's
        // carriers is not zero).
        unsafe {
            let ptr = finish(base, FROM_BEAM, size);
            if zeroed {
                std::ptr::write_bytes(ptr as *mut u8, 0, size);
            }
            ptr
        }
    } else {
        // SAFETY: the previous allocator's functions with its own ctx; `full` is never
        // 0; calloc(1, full) zeroes the whole block, header room included.
        let base = unsafe {
            if zeroed {
                (previous.calloc)(previous.ctx, 1, full)
            } else {
                (previous.malloc)(previous.ctx, full)
            }
        } as *mut u8;
        if base.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: a fresh block of size + OVERHEAD bytes, at least 8-aligned (malloc).
        unsafe { finish(base, FROM_PREVIOUS, size) }
    }
}

/// Frees a block handed out by `allocate`/`reallocate`, with the allocator that made
/// it; a pointer whose header names neither goes to the previous allocator unchanged.
///
/// # Safety
/// As `header`; `previous` must be the allocator `install` saved.
#[inline]
unsafe fn release(previous: &Previous, ptr: *mut c_void) {
    // SAFETY (caller): see `header`.
    let tag_and_offset = unsafe { (*header(ptr)).tag_and_offset };
    let base = (ptr as usize - (tag_and_offset & 0xff) as usize) as *mut c_void;
    match tag_and_offset & TAG_MASK {
        FROM_BEAM => {
            LARGE_FREED.fetch_add(1, Ordering::Relaxed);
            // SAFETY: the block's header says enif_alloc made it, at base.
            unsafe { sys::enif_free(base) }
        }
        // SAFETY: the previous allocator made it, at base.
        FROM_PREVIOUS => unsafe { (previous.free)(previous.ctx, base) },
        // SAFETY: not ours: what the previous allocator would have been given.
        _ => unsafe { (previous.free)(previous.ctx, ptr) },
    }
}

/// `realloc` of a block handed out by this module.
///
/// # Safety
/// As `release`.
unsafe fn reallocate(previous: &Previous, ptr: *mut c_void, new_size: usize) -> *mut c_void {
    // SAFETY (caller): see `header`.
    let Header {
        tag_and_offset,
        size: old_size,
    } = unsafe { header(ptr).read() };
    let old_size = old_size as usize;
    let old_offset = (tag_and_offset & 0xff) as usize;
    let tag = tag_and_offset & TAG_MASK;
    let wanted = if is_large(new_size) {
        FROM_BEAM
    } else {
        FROM_PREVIOUS
    };
    if tag != FROM_BEAM && tag != FROM_PREVIOUS {
        // Not ours: what the previous allocator would have been given.
        // SAFETY: the previous allocator's realloc with its own ctx.
        return unsafe { (previous.realloc)(previous.ctx, ptr, new_size) };
    }
    if tag != wanted {
        // Across LARGE_FROM: a block of the other kind, the contents copied over.
        // SAFETY: both blocks are live and distinct; the copy stays within both sizes.
        unsafe {
            let moved = allocate(previous, new_size, false);
            if moved.is_null() {
                return moved;
            }
            std::ptr::copy_nonoverlapping(
                ptr as *const u8,
                moved as *mut u8,
                old_size.min(new_size),
            );
            release(previous, ptr);
            return moved;
        }
    }
    let Some(full) = new_size.checked_add(OVERHEAD) else {
        return std::ptr::null_mut();
    };
    let base = (ptr as usize - old_offset) as *mut c_void;
    // SAFETY: the allocator that made the block resizes it (in place or moved, its
    // bytes kept up to the smaller size) or returns NULL and leaves it alone.
    let new_base = unsafe {
        if tag == FROM_BEAM {
            sys::enif_realloc(base, full)
        } else {
            (previous.realloc)(previous.ctx, base, full)
        }
    } as *mut u8;
    if new_base.is_null() {
        return std::ptr::null_mut();
    }
    let new_offset = ((new_base as usize) + HEADER).next_multiple_of(ALIGN) - new_base as usize;
    // SAFETY: the contents are at new_base + old_offset (realloc kept the block's bytes
    // where they were relative to its start); moved to the new offset if the block's
    // alignment changed (both ranges lie within the `full` bytes: offsets are at most
    // 24 = OVERHEAD), then the header is rewritten (after the move, which may overlap
    // it).
    unsafe {
        if new_offset != old_offset {
            std::ptr::copy(
                new_base.add(old_offset),
                new_base.add(new_offset),
                old_size.min(new_size),
            );
        }
        finish(new_base, tag, new_size)
    }
}

// The functions CPython calls. Each gets as ctx the `Previous` that `install` leaked
// (never freed): dereferencing it is sound for the life of the process.

unsafe extern "C" fn raw_malloc(ctx: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: ctx is our leaked Previous (see above). A size of 0 gets a distinct
    // non-NULL block (OVERHEAD bytes), as CPython requires.
    unsafe { allocate(&*(ctx as *const Previous), size, false) }
}

unsafe extern "C" fn raw_calloc(ctx: *mut c_void, nelem: usize, elsize: usize) -> *mut c_void {
    let Some(size) = nelem.checked_mul(elsize) else {
        return std::ptr::null_mut();
    };
    // SAFETY: as raw_malloc; the block comes zeroed.
    unsafe { allocate(&*(ctx as *const Previous), size, true) }
}

unsafe extern "C" fn raw_realloc(
    ctx: *mut c_void,
    ptr: *mut c_void,
    new_size: usize,
) -> *mut c_void {
    // SAFETY: as raw_malloc; CPython passes a block of this domain (or NULL: a new
    // block). A new size of 0 keeps a (distinct, non-NULL) block, as PyMem documents.
    unsafe {
        let previous = &*(ctx as *const Previous);
        if ptr.is_null() {
            allocate(previous, new_size, false)
        } else {
            reallocate(previous, ptr, new_size)
        }
    }
}

unsafe extern "C" fn raw_free(ctx: *mut c_void, ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: as raw_malloc; CPython passes a live block of this domain.
    unsafe { release(&*(ctx as *const Previous), ptr) }
}

/// For tests and diagnostics: `{active, large blocks made, large blocks freed}`.
#[oxbeam::nif]
fn raw_allocator_info() -> (bool, u64, u64) {
    (
        active(),
        LARGE_MADE.load(Ordering::Relaxed),
        LARGE_FREED.load(Ordering::Relaxed),
    )
}
