//! The small blocks of [`BeamAllocator`](super::BeamAllocator): size classes and the
//! per-scheduler-thread cache (64-bit Linux only; see the module documentation of
//! `alloc` for the policy, and docs/safety.md for what it keeps and checks).
//!
//! A cached block is a live `malloc` block (glibc still counts it as in use) holding,
//! in its first word, the link to the next cached block of its class, mangled as glibc's
//! "safe-linking" does (`next ^ (address >> 12) ^ secret`), and in its second word this
//! library image's key, which marks it as cached: freeing a block whose second word is
//! the key is a double free, and aborts the VM (as glibc's `free(): double free
//! detected in tcache 2`). A link that does not unmangle to a 16-aligned address (a
//! write after free overwrote it) aborts too (as glibc's `malloc(): unaligned tcache
//! chunk detected`).

use super::{CACHE_BUDGET, IN_BEAM, SMALL_MAX};
use crate::sys;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering};

/// The alignment of every `malloc` block on 64-bit Linux (glibc and musl): small
/// layouts may ask for up to this much.
pub(super) const ALIGN: usize = 16;

/// The class of a small layout: class `c` holds `16 * c + 24` bytes, what glibc's
/// chunks of `16 * c + 32` bytes hold on 64-bit (8 of them are glibc's header), so a
/// `malloc` of any size in the class gives a block that holds the whole class (24 for
/// 1..=24 bytes, 40 for 25..=40, ...).
#[inline(always)]
pub(super) fn class_of(layout: Layout) -> Option<usize> {
    (layout.size() <= SMALL_MAX && layout.align() <= ALIGN)
        .then(|| layout.size().saturating_sub(9) / 16)
}

/// The bytes a block of `class` holds.
#[inline(always)]
pub(super) const fn class_size(class: usize) -> usize {
    16 * class + 24
}

/// How many classes there are.
pub(super) const CLASSES: usize = (SMALL_MAX - 24) / 16 + 1;

const _: () = assert!(class_size(CLASSES - 1) == SMALL_MAX);

/// The layout every block of `class` is made with (so that it holds the class even if
/// the system allocator rounds less than glibc does).
#[inline(always)]
fn class_layout(class: usize) -> Layout {
    // SAFETY: a non-zero size, aligned to 16 (a power of two); below isize::MAX.
    unsafe { Layout::from_size_align_unchecked(class_size(class), ALIGN) }
}

/// This library image's secret: mangles the links and keys the cached blocks. Set when
/// the library is loaded (a process-random value), if the system allocator rounds
/// small blocks as glibc does ([`malloc_rounds_to_classes`]); 0 until then, and for good
/// otherwise: nothing is cached, and freeing checks nothing.
static SECRET: AtomicUsize = AtomicUsize::new(0);

/// Turns caching on for this image with a secret drawn from `seed`, if the system
/// allocator passes [`malloc_rounds_to_classes`]; returns whether it is on. Called
/// when the library is loaded, before any block is cached.
pub(crate) fn set_secret(seed: u64) -> bool {
    if SECRET.load(Ordering::Relaxed) != 0 {
        return true;
    }
    if !malloc_rounds_to_classes() {
        return false;
    }
    let _ = SECRET.compare_exchange(0, secret_from(seed), Ordering::Relaxed, Ordering::Relaxed);
    true
}

/// The secret drawn from `seed`: never 0 (0 means "off"), and its key is never 0 (what
/// a handed-out block's second word is cleared to).
pub(super) fn secret_from(seed: u64) -> usize {
    let secret = (seed as usize) | 1;
    if key(secret) == 0 {
        secret ^ 2
    } else {
        secret
    }
}

/// Whether `malloc` of every small size gives a 16-aligned block holding the size's
/// whole class, as glibc's does (its chunks are 16-byte multiples with an 8-byte
/// header). Then any small block, whoever made it with `malloc` (this image, or an
/// older one before a hot upgrade), can be cached and handed out for any request of
/// its class without asking its size on every free. Another `malloc` (one put in with
/// `LD_PRELOAD`) that rounds less fails this, and nothing is cached.
pub(super) fn malloc_rounds_to_classes() -> bool {
    (1..=SMALL_MAX).all(|size| {
        let layout = Layout::from_size_align(size, 1).expect("a small layout");
        // SAFETY: a non-zero layout; the block is freed right after.
        unsafe {
            let p = System.alloc(layout);
            if p.is_null() {
                return false;
            }
            let ok = (p as usize) % ALIGN == 0
                && class_of(layout).is_some_and(|class| usable_size(p) >= class_size(class));
            System.dealloc(p, layout);
            ok
        }
    })
}

/// Whether the small block `ptr` holds `size` bytes (for `realloc` within a class).
///
/// # Safety
/// `ptr` must be a live malloc block.
#[inline(always)]
pub(super) unsafe fn holds(ptr: *mut u8, size: usize) -> bool {
    // With the check passed, every malloc block holds its class; else ask.
    // SAFETY (caller): a live malloc block.
    SECRET.load(Ordering::Relaxed) != 0 || unsafe { usable_size(ptr) } >= size
}

/// The word a cached block holds in its second word.
#[inline(always)]
pub(super) fn key(secret: usize) -> usize {
    secret.rotate_left(29) ^ 0x6f78_6265_616d_6b79
}

/// The stored form of the link `next` kept in the block at `at`.
#[inline(always)]
pub(super) fn mangle(next: usize, at: usize, secret: usize) -> usize {
    next ^ (at >> 12) ^ secret
}

/// The link stored (mangled) in the block at `at`, or `None` if it was overwritten
/// (it does not unmangle to a 16-aligned address).
#[inline(always)]
pub(super) fn unmangle(stored: usize, at: usize, secret: usize) -> Option<usize> {
    let next = stored ^ (at >> 12) ^ secret;
    (next % ALIGN == 0).then_some(next)
}

#[cold]
#[inline(never)]
fn corrupted(what: &str) -> ! {
    // No allocation (stderr is unbuffered): the heap is not to be trusted any more.
    let mut stderr = std::io::stderr();
    for part in ["oxbeam BeamAllocator: ", what, "\n"] {
        let _ = std::io::Write::write_all(&mut stderr, part.as_bytes());
    }
    std::process::abort()
}

const UNKNOWN: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

/// One thread's free lists (one per class) for one library image. Its fields are
/// atomics used with `Relaxed` ordering (plain loads and stores on the machine): only
/// its thread touches it, except [`release_all`] at unload, when no code of the image
/// runs anywhere.
pub(super) struct Cache {
    state: AtomicU8,
    bytes: AtomicUsize,
    heads: [AtomicUsize; CLASSES],
    /// The next cache in [`REGISTRY`].
    next_registered: AtomicPtr<Cache>,
}

// No destructor: a thread-local with one would register a thread-exit callback that
// points into this library, which the VM may have unloaded (dlclose) by then.
const _: () = assert!(!std::mem::needs_drop::<Cache>());

impl Cache {
    pub(super) const fn new() -> Cache {
        Cache {
            state: AtomicU8::new(UNKNOWN),
            bytes: AtomicUsize::new(0),
            heads: [const { AtomicUsize::new(0) }; CLASSES],
            next_registered: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Whether this thread caches (decided on the first free once the library is
    /// loaded): only VM scheduler threads (normal, dirty CPU, dirty I/O:
    /// `enif_thread_type() > 0`), which live as long as the VM.
    #[inline(always)]
    fn enabled(&self) -> bool {
        match self.state.load(Ordering::Relaxed) {
            ON => true,
            OFF => false,
            _ => self.decide(),
        }
    }

    #[cold]
    fn decide(&self) -> bool {
        // Before the library is loaded by a VM, enif_thread_type does not exist;
        // decide later (this thread may be a scheduler that loads the library).
        if !IN_BEAM.load(Ordering::Acquire) || SECRET.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let on = vm_thread_type() > 0;
        if on {
            // SAFETY: a scheduler thread's thread-local lives as long as the VM (such
            // threads never exit before it); decided (and registered) once.
            unsafe { REGISTRY.register(self) };
        }
        self.state
            .store(if on { ON } else { OFF }, Ordering::Relaxed);
        on
    }

    /// Bytes cached now.
    #[inline(always)]
    pub(super) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// A cached block of `class`, or null. Aborts if the block's link was overwritten.
    #[inline(always)]
    pub(super) fn pop(&self, class: usize) -> *mut u8 {
        let head = self.heads[class].load(Ordering::Relaxed);
        if head == 0 {
            return std::ptr::null_mut();
        }
        let block = head as *mut usize;
        // SAFETY: head is a cached block: a live malloc block of at least 24 bytes,
        // 16-aligned, owned by this cache (push wrote its two words).
        let stored = unsafe { block.read() };
        let Some(next) = unmangle(stored, head, SECRET.load(Ordering::Relaxed)) else {
            corrupted("a free block was written to after it was freed (its link is broken)")
        };
        // SAFETY: as above; clearing the key marks the block as no longer cached.
        unsafe { block.add(1).write(0) };
        self.heads[class].store(next, Ordering::Relaxed);
        self.bytes
            .store(self.bytes() - class_size(class), Ordering::Relaxed);
        block as *mut u8
    }

    /// Keeps `ptr` (a block of `class` that its owner gives up) if this cache is on and
    /// its budget allows; false if the caller must free it.
    ///
    /// # Safety
    /// `ptr` must be a live malloc block holding at least `class_size(class)` bytes,
    /// 16-aligned, not cached (see `check_not_cached`), that the caller gives up.
    #[inline(always)]
    pub(super) unsafe fn push(&self, class: usize, ptr: *mut u8, on: bool) -> bool {
        let size = class_size(class);
        let bytes = self.bytes();
        if !on || bytes + size > CACHE_BUDGET {
            return false;
        }
        let secret = SECRET.load(Ordering::Relaxed);
        let block = ptr as *mut usize;
        let head = self.heads[class].load(Ordering::Relaxed);
        // SAFETY (caller): the block is ours now and holds two words.
        unsafe {
            block.write(mangle(head, ptr as usize, secret));
            block.add(1).write(key(secret));
        }
        self.heads[class].store(ptr as usize, Ordering::Relaxed);
        self.bytes.store(bytes + size, Ordering::Relaxed);
        true
    }

    /// Frees every cached block to the system allocator and turns the cache off.
    fn drain(&self) {
        self.state.store(OFF, Ordering::Relaxed);
        for class in 0..CLASSES {
            loop {
                let block = self.pop(class);
                if block.is_null() {
                    break;
                }
                // SAFETY: a cached block is a live malloc block nobody else uses.
                unsafe { System.dealloc(block, class_layout(class)) };
            }
        }
    }
}

/// Aborts if `ptr` is a cached block (its second word is the key of `secret`):
/// freeing it again is a double free.
///
/// # Safety
/// `ptr` must be a live or cached malloc block holding at least 16 bytes.
#[inline(always)]
pub(super) unsafe fn check_not_cached(ptr: *mut u8, secret: usize) {
    // SAFETY (caller): the block holds two words.
    if unsafe { (ptr as *const usize).add(1).read() } == key(secret) {
        corrupted("double free of a small block detected")
    }
}

/// Every scheduler thread's cache of this library image, for [`release_all`]: a list
/// threaded through the caches, which are thread-locals of threads that never exit
/// before the VM does.
pub(super) struct Registry {
    head: AtomicPtr<Cache>,
}

impl Registry {
    pub(super) const fn new() -> Registry {
        Registry {
            head: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Adds `cache` to the list.
    ///
    /// # Safety
    /// `cache` must live as long as the library image (a thread-local of a thread that
    /// never exits before the VM, or a leaked test cache), and be registered once.
    pub(super) unsafe fn register(&self, cache: *const Cache) {
        let cache_ptr = cache as *mut Cache;
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            // SAFETY (caller): the cache is alive.
            unsafe { &*cache }
                .next_registered
                .store(head, Ordering::Relaxed);
            match self.head.compare_exchange_weak(
                head,
                cache_ptr,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }

    /// Drains every registered cache; returns how many bytes were released.
    pub(super) fn drain_all(&self) -> usize {
        let mut released = 0;
        let mut cache = self.head.load(Ordering::Acquire);
        while !cache.is_null() {
            // SAFETY: registered caches are 'static (thread-locals of threads that
            // live as long as the VM, or statics in tests).
            let c = unsafe { &*cache };
            released += c.bytes();
            c.drain();
            cache = c.next_registered.load(Ordering::Relaxed);
        }
        released
    }
}

static REGISTRY: Registry = Registry::new();

/// Releases every scheduler thread's cached blocks of this library image to the
/// system allocator, and stops caching: called when the VM unloads the image, when
/// none of its code runs on any thread any more (the same guarantee its `dlclose`
/// relies on). Returns the bytes released.
pub(crate) fn release_all() -> usize {
    REGISTRY.drain_all()
}

/// Bytes this thread keeps cached.
pub(super) fn cached_bytes() -> usize {
    CACHE.with(|cache| cache.bytes())
}

thread_local! {
    // const-initialized and without Drop (asserted above): no destructor is
    // registered, so a thread that exits holds no pointer into the library.
    static CACHE: Cache = const { Cache::new() };
}

/// What `enif_thread_type` says of this thread.
#[cfg(not(test))]
#[inline]
fn vm_thread_type() -> i32 {
    // SAFETY: enif_thread_type has no preconditions and allocates nothing; the VM is
    // there (IN_BEAM is set).
    unsafe { sys::enif_thread_type() as i32 }
}

/// Unit tests run without a VM, and their executables must not refer to `enif_*`
/// symbols (see build.rs): a thread is never a scheduler's there.
#[cfg(test)]
fn vm_thread_type() -> i32 {
    sys::ERL_NIF_THR_UNDEFINED as i32
}

extern "C" {
    // glibc and musl: the bytes a malloc block really holds.
    fn malloc_usable_size(ptr: *mut std::ffi::c_void) -> usize;
}

/// The bytes the malloc block `ptr` really holds.
///
/// # Safety
/// `ptr` must be a live block of the system allocator (`malloc`).
#[inline(always)]
pub(super) unsafe fn usable_size(ptr: *mut u8) -> usize {
    // SAFETY (caller): a live malloc block.
    unsafe { malloc_usable_size(ptr as *mut _) }
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

/// A block of `class` with its first `size` bytes zeroed.
///
/// # Safety
/// As `GlobalAlloc::alloc_zeroed`, for a layout of this class and `size`.
#[inline(always)]
pub(super) unsafe fn alloc_zeroed(class: usize, size: usize) -> *mut u8 {
    let cached = CACHE.with(|cache| cache.pop(class));
    if !cached.is_null() {
        // SAFETY: a cached block holds the class, at least size bytes.
        unsafe { std::ptr::write_bytes(cached, 0, size) };
        return cached;
    }
    // SAFETY: a valid non-zero layout.
    unsafe { System.alloc_zeroed(class_layout(class)) }
}

/// Frees a small block of `class`: into this thread's cache if it is a scheduler's
/// and the budget allows, else to the system allocator. Aborts on a double free of a
/// cached block.
///
/// # Safety
/// `ptr` must come from `alloc(class)` (of this or an earlier library image: a malloc
/// block) and not be freed yet.
#[inline(always)]
pub(super) unsafe fn dealloc(class: usize, ptr: *mut u8) {
    let secret = SECRET.load(Ordering::Relaxed);
    // SAFETY (caller): a live malloc block the caller gives up. With a secret, malloc
    // passed `malloc_rounds_to_classes`: the block holds its class (at least 24 bytes,
    // two words), whoever made it with malloc.
    unsafe {
        if secret != 0 && (ptr as usize) % ALIGN == 0 {
            check_not_cached(ptr, secret);
            let cache = CACHE.with(|cache| cache as *const Cache);
            // The cache is this thread's: it lives as long as the thread.
            let cache = &*cache;
            if cache.push(class, ptr, cache.enabled()) {
                return;
            }
        }
        // Made by System with this class's layout (or, before a hot upgrade, with
        // another small one: free() does not read the size).
        System.dealloc(ptr, class_layout(class))
    }
}

/// Test hooks: a cache turned on as a scheduler thread's would be, and the secret.
#[cfg(test)]
pub(super) mod testing {
    use super::*;

    pub(crate) fn set_test_secret() {
        assert!(
            set_secret(0x1234_5678_9abc_def1),
            "glibc rounds to the classes"
        );
    }

    pub(crate) fn on(cache: &Cache) {
        cache.state.store(ON, Ordering::Relaxed);
    }

    pub(crate) fn on_this_thread() {
        set_test_secret();
        CACHE.with(|cache| cache.state.store(ON, Ordering::Relaxed));
    }

    pub(crate) fn secret() -> usize {
        SECRET.load(Ordering::Relaxed)
    }

    pub(crate) fn bytes_on_this_thread() -> usize {
        CACHE.with(|cache| cache.bytes())
    }

    pub(crate) fn drain(cache: &Cache) {
        cache.drain()
    }
}
