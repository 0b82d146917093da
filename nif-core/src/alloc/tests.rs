//! Unit tests of the pure parts of `BeamAllocator`'s small blocks: size classes,
//! budget, list protection, routes. (The VM-facing parts, scheduler threads, unload
//! and a double free in a live VM, are tested in elixir/test/nif/allocator_test.exs.)

use super::small::{self, testing, Cache, Registry, CLASSES};
use super::*;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// A malloc block of `class`, as `small::alloc` makes one (without a cache).
fn block(class: usize) -> *mut u8 {
    // SAFETY: a non-zero layout.
    let p = unsafe { System.alloc(layout(small::class_size(class), 16)) };
    assert!(!p.is_null());
    p
}

fn free(p: *mut u8, class: usize) {
    // SAFETY: p came from `block(class)`, made with this layout, and is freed once.
    unsafe { System.dealloc(p, layout(small::class_size(class), 16)) }
}

fn leaked_cache() -> &'static Cache {
    testing::set_test_secret();
    let cache: &'static Cache = Box::leak(Box::new(Cache::new()));
    testing::on(cache);
    cache
}

#[test]
fn classes_are_glibcs_chunk_sizes() {
    // 16c + 24: what glibc's 32, 48, 64, ... byte chunks hold on 64-bit.
    assert_eq!(small::class_of(layout(1, 1)), Some(0));
    assert_eq!(small::class_of(layout(24, 8)), Some(0));
    assert_eq!(small::class_of(layout(25, 1)), Some(1));
    assert_eq!(small::class_of(layout(40, 8)), Some(1));
    assert_eq!(small::class_of(layout(41, 8)), Some(2));
    assert_eq!(small::class_size(0), 24);
    assert_eq!(small::class_size(1), 40);
    assert_eq!(small::class_of(layout(SMALL_MAX, 16)), Some(CLASSES - 1));
    assert_eq!(small::class_size(CLASSES - 1), SMALL_MAX);
    assert_eq!(small::class_of(layout(SMALL_MAX + 1, 1)), None);
    // Over-aligned layouts are never small (malloc aligns to 16).
    assert_eq!(small::class_of(layout(16, 32)), None);
    // Every size maps to the smallest class that holds it.
    for size in 1..=SMALL_MAX {
        let class = small::class_of(layout(size, 1)).unwrap();
        assert!(small::class_size(class) >= size, "{size}");
        assert!(class == 0 || small::class_size(class - 1) < size, "{size}");
    }
}

#[test]
fn what_string_vec_and_hashbrown_ask_for_fits_glibcs_chunk_exactly() {
    // A String of 3 bytes, a formatted key (capacity 8), a Vec<u64> of 4, the table
    // of a HashMap<String, i64> of 10 entries (16 buckets of 32 bytes + 32 control
    // bytes, aligned to 16): malloc of that size gives a block holding exactly the
    // class (no class wastes a glibc chunk size).
    for size in [3, 8, 32, 544] {
        let class = small::class_of(layout(size, 1)).unwrap();
        // SAFETY: a non-zero layout; p is a live malloc block until the dealloc, which
        // uses the same layout.
        unsafe {
            let p = System.alloc(layout(size, 1));
            assert_eq!(small::usable_size(p), small::class_size(class));
            System.dealloc(p, layout(size, 1));
        }
    }
}

#[test]
fn a_cache_hands_back_its_blocks_last_in_first_out_within_its_budget() {
    let cache = leaked_cache();
    let (a, b) = (block(1), block(1));
    // SAFETY (every push below): the blocks are live malloc blocks of the class pushed,
    // owned by this test and not in any cache.
    assert!(unsafe { cache.push(1, a, true) });
    assert!(unsafe { cache.push(1, b, true) });
    assert_eq!(cache.bytes(), 80);
    assert!(cache.pop(0).is_null(), "another class is empty");
    assert_eq!(cache.pop(1), b);
    assert_eq!(cache.pop(1), a);
    assert!(cache.pop(1).is_null());
    assert_eq!(cache.bytes(), 0);
    // A cache that is off keeps nothing.
    assert!(!unsafe { cache.push(1, a, false) });
    // The budget: blocks past it are refused (the caller frees them at once).
    let last = CLASSES - 1;
    let blocks: Vec<*mut u8> = (0..CACHE_BUDGET / SMALL_MAX + 1)
        .map(|_| block(last))
        .collect();
    let kept = blocks
        .iter()
        .filter(|&&p| unsafe { cache.push(last, p, true) })
        .count();
    assert_eq!(kept, CACHE_BUDGET / SMALL_MAX);
    assert!(cache.bytes() <= CACHE_BUDGET);
    for &p in &blocks[kept..] {
        free(p, last);
    }
    testing::drain(cache);
    assert_eq!(cache.bytes(), 0);
    free(a, 1);
    free(b, 1);
}

#[test]
fn a_secret_is_never_zero_nor_keys_blocks_with_zero() {
    // The one odd secret whose key would be 0 (the rotation of the key's constant).
    let zero_key = (0x6f78_6265_616d_6b79usize).rotate_right(29) | 1;
    for seed in [0, 1, 2, zero_key as u64, zero_key as u64 ^ 1, u64::MAX] {
        let secret = small::secret_from(seed);
        assert_ne!(secret, 0);
        assert_ne!(small::key(secret), 0, "{seed:#x}");
    }
}

#[test]
fn links_are_mangled_with_the_address_and_the_secret() {
    let secret = 0x5eed_1234_5678_9ab1;
    let (next, at) = (0x7f00_1234_5670usize, 0x7f00_1234_9990usize);
    let stored = small::mangle(next, at, secret);
    assert_ne!(stored, next, "a link is never stored in clear");
    assert_eq!(small::unmangle(stored, at, secret), Some(next));
    assert_eq!(
        small::unmangle(small::mangle(0, at, secret), at, secret),
        Some(0)
    );
    // A link overwritten with a pointer-looking value (or read at another address)
    // unmangles to an unaligned address: detected.
    assert_eq!(small::unmangle(next, at, secret), None);
    assert_eq!(small::unmangle(stored, at + 0x1000, secret), None);
}

#[test]
fn a_cached_block_is_marked_and_the_mark_is_cleared_when_it_is_handed_out() {
    let cache = leaked_cache();
    let p = block(0);
    // SAFETY (every block below): p is a live malloc block of class 0 (24 bytes, so its
    // second word is in bounds) owned by this test, pushed once and popped back.
    unsafe { small::check_not_cached(p, testing::secret()) };
    assert!(unsafe { cache.push(0, p, true) });
    let key = unsafe { (p as *const usize).add(1).read() };
    assert_ne!(key, 0);
    let q = cache.pop(0);
    assert_eq!(q, p);
    assert_eq!(unsafe { (p as *const usize).add(1).read() }, 0);
    unsafe { small::check_not_cached(p, testing::secret()) };
    free(p, 0);
}

#[test]
fn the_registry_releases_every_registered_cache() {
    let registry = Registry::new();
    let (one, two) = (leaked_cache(), leaked_cache());
    // SAFETY: the caches are leaked ('static, never freed); the blocks are fresh malloc
    // blocks of the classes pushed.
    unsafe {
        registry.register(one);
        registry.register(two);
        assert!(one.push(0, block(0), true));
        assert!(one.push(3, block(3), true));
        assert!(two.push(1, block(1), true));
    }
    assert_eq!(registry.drain_all(), 24 + 72 + 40);
    assert_eq!((one.bytes(), two.bytes()), (0, 0));
    // Drained caches are off: a later free goes straight to the system allocator.
    assert!(one.pop(0).is_null());
}

#[test]
fn a_reused_small_block_comes_back_zeroed_when_asked() {
    testing::on_this_thread();
    // SAFETY: blocks of class 1 (40 bytes) from small::alloc, written within 40 bytes,
    // freed back with their class, each once.
    unsafe {
        let p = small::alloc(1);
        std::ptr::write_bytes(p, 0xAB, 40);
        small::dealloc(1, p);
        assert_eq!(testing::bytes_on_this_thread(), 40);
        let z = small::alloc_zeroed(1, 30);
        assert_eq!(z, p, "the cached block is reused");
        assert!(std::slice::from_raw_parts(z, 30).iter().all(|&b| b == 0));
        assert_eq!(testing::bytes_on_this_thread(), 0);
        small::dealloc(1, z);
        let again = small::alloc(1);
        assert_eq!(again, p);
        small::dealloc(1, again);
    }
}

#[test]
fn glibc_rounds_every_small_size_to_its_class() {
    // What turns the cache on: a malloc that rounds less (a block made by an older
    // image under it could not serve its class's largest request) leaves it off.
    assert!(small::malloc_rounds_to_classes());
}

#[test]
fn realloc_keeps_a_block_only_within_its_class_and_moves_it_across_kinds() {
    let route = |from: usize, to: usize| realloc_route(layout(from, 8), layout(to, 8));
    assert_eq!(route(2, 8), Route::Keep);
    assert_eq!(route(25, 40), Route::Keep);
    assert_eq!(route(24, 25), Route::Move);
    assert_eq!(route(SMALL_MAX, SMALL_MAX + 1), Route::Move);
    assert_eq!(route(SMALL_MAX + 1, SMALL_MAX), Route::Move);
    assert_eq!(route(SMALL_MAX + 1, 5000), Route::System);
    assert_eq!(route(5000, LARGE_BLOCK), Route::Move);
    assert_eq!(route(LARGE_BLOCK, LARGE_BLOCK * 4), Route::Large);
    assert_eq!(route(LARGE_BLOCK, 64), Route::Move);
    let aligned = |size| layout(size, 32);
    assert_eq!(realloc_route(aligned(16), aligned(32)), Route::System);
}
