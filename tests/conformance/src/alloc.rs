//! The global allocator `init!` installs (`oxbeam::alloc::BeamAllocator`): small blocks
//! made and freed on normal and dirty schedulers and on other threads, the cache's
//! bytes, and deliberate misuse (a double free, a write after free) for child VMs.
//! Paired with elixir/test/nif/allocator_test.exs.

use oxbeam::nif;
use std::alloc::{alloc, dealloc, Layout};

/// Makes `blocks` small blocks of sizes 1..=1032 (Strings and Vecs, as user code
/// does), grows some, frees them all; returns the bytes asked for (a check that the
/// blocks held what was written).
fn churn(blocks: usize) -> u64 {
    let mut strings: Vec<String> = Vec::with_capacity(blocks);
    let mut total = 0u64;
    for i in 0..blocks {
        let size = 1 + (i * 37) % 1032;
        let s = "x".repeat(size);
        total += s.len() as u64;
        strings.push(s);
        if i % 3 == 0 {
            // A formatted key: a 2-byte block grown in place within its class.
            strings.push(format!("k{i}"));
        }
    }
    let checked: u64 = strings
        .iter()
        .filter(|s| s.starts_with('x'))
        .map(|s| s.bytes().filter(|&b| b == b'x').count() as u64)
        .sum();
    assert_eq!(checked, total);
    total
}

#[nif]
fn alloc_churn(blocks: usize) -> u64 {
    churn(blocks)
}

#[nif(schedule = "dirty_cpu")]
fn alloc_churn_dirty_cpu(blocks: usize) -> u64 {
    churn(blocks)
}

#[nif(schedule = "dirty_io")]
fn alloc_churn_dirty_io(blocks: usize) -> u64 {
    churn(blocks)
}

/// Blocks made on another (non-scheduler) thread and freed here, and blocks made here
/// and freed there; returns the bytes of both.
#[nif]
fn alloc_across_threads(blocks: usize) -> u64 {
    let made_there = std::thread::spawn(move || {
        (0..blocks)
            .map(|i| vec![1u8; 1 + i % 500])
            .collect::<Vec<_>>()
    })
    .join()
    .unwrap_or_default();
    let made_here: Vec<Vec<u8>> = (0..blocks).map(|i| vec![2u8; 1 + i % 500]).collect();
    let here: u64 = made_here.iter().map(|v| v.len() as u64).sum();
    let freed_there = std::thread::spawn(move || made_here.len())
        .join()
        .unwrap_or(0);
    assert_eq!(freed_there, blocks);
    made_there.iter().map(|v| v.len() as u64).sum::<u64>() + here
}

/// The bytes of small blocks this scheduler thread keeps cached for this image.
#[nif]
fn alloc_cached_bytes() -> usize {
    oxbeam::alloc::cached_bytes()
}

/// glibc's count of bytes in blocks `malloc` handed out and not freed (cached blocks
/// included), all threads: `mallinfo2().uordblks`.
#[nif]
fn alloc_malloc_in_use() -> usize {
    #[repr(C)]
    struct Mallinfo2 {
        arena: usize,
        ordblks: usize,
        smblks: usize,
        hblks: usize,
        hblkhd: usize,
        usmblks: usize,
        fsmblks: usize,
        uordblks: usize,
        fordblks: usize,
        keepcost: usize,
    }
    extern "C" {
        fn mallinfo2() -> Mallinfo2;
    }
    // SAFETY: mallinfo2 has no preconditions (glibc 2.33+) and returns a struct of counts.
    unsafe { mallinfo2() }.uordblks
}

/// Frees one small block twice (undefined behaviour on purpose, for a child VM): the
/// allocator must abort the VM.
#[nif]
fn alloc_double_free() -> bool {
    let layout = Layout::from_size_align(32, 8).expect("a valid layout");
    // SAFETY: none: this frees the block twice, to see the allocator catch it.
    unsafe {
        let block = alloc(layout);
        block.write_bytes(7, 32);
        dealloc(block, layout);
        dealloc(block, layout);
    }
    false
}

/// Writes over a freed small block's first word, then allocates blocks of its class
/// (undefined behaviour on purpose, for a child VM): the allocator must abort the VM
/// instead of handing out the written address.
#[nif]
fn alloc_write_after_free() -> bool {
    let layout = Layout::from_size_align(40, 8).expect("a valid layout");
    // SAFETY: none: this writes to a freed block, to see the allocator catch it.
    unsafe {
        let block = alloc(layout);
        dealloc(block, layout);
        // One bit of the freed block's first word (the cache's link) changed.
        let word = (block as *mut usize).read();
        (block as *mut usize).write(word ^ 1);
        let again = alloc(layout);
        let next = alloc(layout);
        dealloc(again, layout);
        dealloc(next, layout);
    }
    false
}
