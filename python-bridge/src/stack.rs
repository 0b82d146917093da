//! Running Python on a stack big enough for it.
//!
//! Python runs on dirty I/O scheduler threads, whose stacks are small (`+sssdio`, 40
//! kilowords = 320 KiB by default on 64-bit). CPython 3.10–3.13 do not look at the
//! stack: they count nesting (`sys.getrecursionlimit()`, the parser's and compiler's
//! own depth limits, 3.12's C recursion counter) against limits chosen for the main
//! thread's 8 MiB stack. So legal Python (a literal nested 199 deep, a recursion
//! through `map` 900 deep) overflowed a dirty scheduler's stack and killed the VM.
//!
//! [`run`] moves the current thread onto a stack of its own for the call: a
//! [`SIZE`] mapping with a guard page below it, made the first time the thread runs
//! Python and kept until the thread exits (a fresh mapping per call would cost a
//! `mmap`/`munmap` pair each time). The switch itself is a few instructions (the
//! `psm` crate), so `eval` keeps its speed. Only the pages Python really touches are
//! ever committed.
//!
//! CPython 3.14 and later measure the real stack instead (the bounds of the OS
//! thread, read once per thread state): there, switching stacks would confuse that
//! check, and it is not needed, so [`run`] calls straight through (deep code raises
//! `RecursionError` when the scheduler's own stack runs low).

/// The stack Python runs on: twice the 8 MiB main thread stack CPython's limits are
/// chosen for (Linux's default), so any code that runs in `python3` runs here.
pub const SIZE: usize = 16 << 20;

/// Runs `f` on this thread's Python stack (see the module docs). A panic in `f` is
/// caught on that stack and resumed after switching back.
#[cfg(not(oxbeam_python_checks_stack))]
pub fn run<R>(f: impl FnOnce() -> R) -> R {
    use std::cell::{Cell, RefCell};
    use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

    thread_local! {
        static STACK: RefCell<Option<Stack>> = const { RefCell::new(None) };
        /// Set while this thread runs on its Python stack (a nested `run` stays there).
        static ON_STACK: Cell<bool> = const { Cell::new(false) };
    }

    if ON_STACK.get() {
        return f();
    }
    let region = STACK.with_borrow_mut(|stack| {
        if stack.is_none() {
            *stack = Stack::map(SIZE);
        }
        stack.as_ref().map(|s| (s.base, s.size))
    });
    let Some((base, size)) = region else {
        // No address space left for a stack: run where we are (as before this module
        // existed); only very deep code is then at risk.
        return f();
    };
    ON_STACK.set(true);
    // SAFETY: [base, base + size) is a read-write mapping owned by this thread's STACK,
    // which is never unmapped while this thread runs (only at thread exit, and never
    // replaced once made); base and size are page aligned, which satisfies every
    // target's stack alignment; size fits isize. The page below base is PROT_NONE, so an
    // overflow faults instead of writing over other memory. ON_STACK keeps a nested call
    // from switching onto the same stack again. The callback never unwinds: every panic
    // is caught inside it and resumed after the switch back.
    let result = unsafe { psm::on_stack(base, size, || catch_unwind(AssertUnwindSafe(f))) };
    ON_STACK.set(false);
    match result {
        Ok(value) => value,
        Err(panic) => resume_unwind(panic),
    }
}

#[cfg(oxbeam_python_checks_stack)]
pub fn run<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// One thread's Python stack: `size` usable bytes from `base`, a guard page below.
#[cfg(not(oxbeam_python_checks_stack))]
struct Stack {
    base: *mut u8,
    size: usize,
}

#[cfg(not(oxbeam_python_checks_stack))]
impl Stack {
    fn map(size: usize) -> Option<Stack> {
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .ok()
            .filter(|&p| p > 0)?;
        let size = size.div_ceil(page) * page;
        #[cfg(target_os = "linux")]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK;
        #[cfg(not(target_os = "linux"))]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANON;
        // SAFETY: a fresh anonymous mapping (no address hint, no file): it overlaps
        // nothing; the result is checked against MAP_FAILED.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size + page,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: the first page of the mapping just made, which nothing uses yet.
        if unsafe { libc::mprotect(start, page, libc::PROT_NONE) } != 0 {
            // SAFETY: the whole mapping just made, used by nothing.
            unsafe { libc::munmap(start, size + page) };
            return None;
        }
        Some(Stack {
            // SAFETY: start + page is inside the mapping (its second page).
            base: unsafe { start.cast::<u8>().add(page) },
            size,
        })
    }
}

#[cfg(not(oxbeam_python_checks_stack))]
impl Drop for Stack {
    fn drop(&mut self) {
        // Runs at thread exit, on the thread's own stack (never on this one).
        // SAFETY: the mapping made in `map` (guard page included), used by nothing now.
        unsafe {
            let page = libc::sysconf(libc::_SC_PAGESIZE) as usize;
            libc::munmap(self.base.sub(page).cast(), self.size + page);
        }
    }
}
