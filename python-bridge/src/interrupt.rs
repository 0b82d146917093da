//! Interrupting a running eval: on timeout, and when the calling process dies.
//!
//! Every eval is registered from the moment its NIF call starts, before it waits for
//! the GIL, to the moment it returns — by a [`Registration`] guard, released on every
//! path out of the call, unwinds included. An eval's state is a [`Slot`] of atomics:
//! the thread that runs its code (once it runs), why it must stop (if it must),
//! whether an interrupt was raised in it, and whether it is over. The caller's watch
//! (a `CallerWatch` resource monitoring the process) holds the process's current
//! eval and marks it as to stop when the process dies, whatever the eval is doing:
//!
//! * waiting for the GIL, or converting its globals: [`Registration::start`] sees the
//!   mark when the eval is about to run its code, and the eval returns without
//!   running it;
//! * running Python code: a background thread raises `KeyboardInterrupt` in the
//!   eval's thread with `PyThreadState_SetAsyncExc`.
//!
//! The background thread also marks evals whose deadline passed. Whether an eval runs
//! or is interrupted is decided on two atomics, each side writing its own and then
//! reading the other's (sequentially consistent): `start` writes the thread and reads
//! the cause, the side that stops an eval writes the cause and reads the thread; at
//! least one of them sees the other's write, so a marked eval either never runs its
//! code or is interrupted. An interrupt is raised only while holding the GIL, and only
//! in an eval not yet over; an eval is marked over, and clears an interrupt raised
//! but not yet seen, while holding the GIL, so an interrupt can never land in a later
//! eval that happens to run on the same thread.
//!
//! The common call takes no lock shared by all evals: the thread that runs an eval
//! remembers the last caller it served (a loop of evals from one process finds its
//! watch there), and only evals with a timeout, or stopped by their caller's exit,
//! are handed to the background thread.

use oxbeam::{Env, LocalPid, Monitor, Resource, ResourceArc};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{
    AtomicBool, AtomicU64, AtomicU8, Ordering::Acquire, Ordering::Release, Ordering::SeqCst,
};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Why an eval was interrupted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    Timeout,
    CallerDown,
}

const NO_CAUSE: u8 = 0;
const TIMEOUT: u8 = 1;
const CALLER_DOWN: u8 = 2;

fn cause_from(code: u8) -> Option<Cause> {
    match code {
        TIMEOUT => Some(Cause::Timeout),
        CALLER_DOWN => Some(Cause::CallerDown),
        _ => None,
    }
}

/// One registered eval.
struct Slot {
    /// The Python thread id of the thread running its code, once it runs code (0
    /// before: a thread id is a `pthread_t`, never 0 on the platforms we build for).
    thread: AtomicU64,
    /// Why it must stop (`TIMEOUT`, `CALLER_DOWN`), if it must: the first cause wins.
    cause: AtomicU8,
    /// A `KeyboardInterrupt` was raised in its thread (written with the GIL held).
    delivered: AtomicBool,
    /// The eval is over: no interrupt may be raised in it any more (written with the
    /// GIL held once its code may have run).
    over: AtomicBool,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            thread: AtomicU64::new(0),
            cause: AtomicU8::new(NO_CAUSE),
            delivered: AtomicBool::new(false),
            over: AtomicBool::new(false),
        }
    }

    /// Marks the eval as to stop for `cause` (unless it already is).
    fn cancel(&self, cause: u8) {
        let _ = self.cause.compare_exchange(NO_CAUSE, cause, SeqCst, SeqCst);
    }
}

/// The background thread's work: evals to act on at a given time (their deadline, or
/// now for an eval whose caller died).
struct Background {
    pending: Mutex<Vec<(Arc<Slot>, Instant)>>,
    wake: Condvar,
}

static BACKGROUND: OnceLock<Background> = OnceLock::new();

fn background() -> &'static Background {
    BACKGROUND.get_or_init(|| {
        std::thread::Builder::new()
            .name("oxbeam-python-interrupt".into())
            .spawn(run)
            .expect("could not start the interrupt thread");
        Background {
            pending: Mutex::new(Vec::new()),
            wake: Condvar::new(),
        }
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Hands `slot` to the background thread, to act on at `when`.
fn watch_until(slot: &Arc<Slot>, when: Instant) {
    let background = background();
    lock(&background.pending).push((slot.clone(), when));
    background.wake.notify_one();
}

/// A process that calls `eval`: its current eval, until it exits.
struct Caller {
    /// False once the process exited (its `down` ran).
    alive: bool,
    current: Option<Arc<Slot>>,
}

/// Watches a process that calls `eval`; its `down` stops the eval that process is
/// running, if any. One watch per process, made on its first eval and kept (in
/// `CALLERS`) until the process exits, so an eval costs no monitor/demonitor pair.
pub struct CallerWatch {
    pid: u64,
    caller: Arc<Mutex<Caller>>,
}

/// The watch of each process that called `eval` and is alive, by pid.
static CALLERS: Mutex<Option<HashMap<u64, ResourceArc<CallerWatch>>>> = Mutex::new(None);

#[oxbeam::resource]
impl Resource for CallerWatch {
    fn down<'a>(&self, _env: Env<'a>, _pid: LocalPid, _monitor: Monitor) {
        let current = {
            let mut caller = lock(&self.caller);
            caller.alive = false;
            caller.current.take()
        };
        if let Some(callers) = lock(&CALLERS).as_mut() {
            if callers
                .get(&self.pid)
                .is_some_and(|watch| Arc::ptr_eq(&watch.caller, &self.caller))
            {
                callers.remove(&self.pid);
            }
        }
        // No eval running (none, or one over): nothing for the background thread to do (most calls end
        // this way, e.g. every remote call's process, which exits after its eval;
        // waking that thread would cost a context switch each time).
        if let Some(slot) = current.filter(|slot| !slot.over.load(Acquire)) {
            slot.cancel(CALLER_DOWN);
            watch_until(&slot, Instant::now());
        }
    }
}

thread_local! {
    /// The last caller this thread registered an eval for.
    static LAST_CALLER: RefCell<Option<(u64, Arc<Mutex<Caller>>)>> = const { RefCell::new(None) };
}

/// The record of the calling process, made (with its watch) on its first eval; `None`
/// if the process is already gone.
fn caller_of(env: Env<'_>, pid: &LocalPid, key: u64) -> Option<Arc<Mutex<Caller>>> {
    let mut callers = lock(&CALLERS);
    let callers = callers.get_or_insert_with(HashMap::new);
    if let Some(watch) = callers.get(&key) {
        return Some(watch.caller.clone());
    }
    let caller = Arc::new(Mutex::new(Caller {
        alive: true,
        current: None,
    }));
    let watch = ResourceArc::new(CallerWatch {
        pid: key,
        caller: caller.clone(),
    });
    watch.monitor(Some(env), pid)?;
    callers.insert(key, watch);
    Some(caller)
}

/// A registered eval: made before the eval waits for the GIL; unregisters when it is
/// finished or dropped (on every path out of the NIF call, unwinds included).
pub struct Registration {
    slot: Arc<Slot>,
    done: bool,
}

/// Registers the eval the calling process starts (call before taking the GIL).
pub fn register(env: Env<'_>, timeout: Option<Duration>) -> Registration {
    let pid = env.pid();
    let key = pid.as_raw().pid;
    let cached = LAST_CALLER.with_borrow(|last| match last {
        Some((cached_key, caller)) if *cached_key == key => enter(caller),
        _ => None,
    });
    // Not cached, or a cached caller no longer alive (another process with this pid).
    let slot = cached.or_else(|| {
        let caller = caller_of(env, &pid, key)?;
        let slot = enter(&caller)?;
        LAST_CALLER.with_borrow_mut(|last| *last = Some((key, caller)));
        Some(slot)
    });
    let slot = match slot {
        Some(slot) => {
            // (A timeout too far away to be represented is no timeout.)
            if let Some(deadline) = timeout.and_then(|t| Instant::now().checked_add(t)) {
                watch_until(&slot, deadline);
            }
            slot
        }
        None => {
            // The caller is already gone: the eval must not run.
            let slot = Arc::new(Slot::new());
            slot.cancel(CALLER_DOWN);
            slot
        }
    };
    Registration { slot, done: false }
}

/// Makes a new eval `caller`'s current one: its slot, or `None` if the caller exited.
/// The slot of the caller's previous eval is used again when nothing else holds it
/// (the eval is over, and the background thread let go of it): no allocation.
fn enter(caller: &Mutex<Caller>) -> Option<Arc<Slot>> {
    let mut caller = lock(caller);
    if !caller.alive {
        return None;
    }
    match caller.current.as_mut().and_then(Arc::get_mut) {
        Some(slot) => *slot = Slot::new(),
        None => caller.current = Some(Arc::new(Slot::new())),
    }
    caller.current.clone()
}

impl Registration {
    /// Called with the GIL held right before the eval runs its code: `Err` if the eval
    /// must not run (its caller died or its deadline passed while it waited); otherwise
    /// the eval's thread can be interrupted from now on.
    pub fn start(&self) -> Result<(), Cause> {
        // SAFETY: no preconditions; the thread id of the calling OS thread.
        let thread = unsafe { pyo3::ffi::PyThread_get_thread_ident() } as u64;
        self.slot.thread.store(thread, SeqCst);
        match cause_from(self.slot.cause.load(SeqCst)) {
            Some(cause) => Err(cause),
            None => Ok(()),
        }
    }

    /// Unregisters (call with the GIL held); says why the eval was interrupted, if an
    /// interrupt was raised in it.
    pub fn finish(mut self) -> Option<Cause> {
        self.done = true;
        self.end_with_gil()
    }

    /// Marks the eval over (the GIL held, or its code never started) and clears an
    /// interrupt raised in it and not yet seen. (Its caller's record keeps pointing at
    /// it until the caller's next eval: an eval over is never interrupted.)
    fn end_with_gil(&self) -> Option<Cause> {
        self.slot.over.store(true, Release);
        if !self.slot.delivered.load(Acquire) {
            return None;
        }
        clear_pending_interrupt(self.slot.thread.load(SeqCst));
        cause_from(self.slot.cause.load(SeqCst))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Left without `finish`: an early return or an unwind. Before `start` no
        // interrupt can be raised in the eval (its thread is unknown); after, one
        // raised but not seen yet must not fire in the next eval this thread runs.
        if self.slot.thread.load(SeqCst) == 0 {
            self.end_with_gil();
        } else {
            crate::gil::with_gil(|_py| self.end_with_gil());
        }
    }
}

/// Drops an interrupt raised in `thread` and not yet seen (call with the GIL held).
fn clear_pending_interrupt(thread: u64) {
    // SAFETY: called with the GIL held; NULL clears the thread's pending async
    // exception (a no-op if there is none or the thread is gone).
    unsafe { pyo3::ffi::PyThreadState_SetAsyncExc(thread as _, std::ptr::null_mut()) };
}

/// The background thread: marks evals whose deadline passed, and interrupts the
/// marked evals that run code.
fn run() {
    let background = background();
    loop {
        let due: Vec<Arc<Slot>> = {
            let mut pending = lock(&background.pending);
            loop {
                let now = Instant::now();
                let mut due = Vec::new();
                let mut next: Option<Instant> = None;
                pending.retain(|(slot, when)| {
                    if slot.over.load(Acquire) {
                        return false;
                    }
                    if *when > now {
                        next = Some(next.map_or(*when, |n| n.min(*when)));
                        return true;
                    }
                    slot.cancel(TIMEOUT);
                    // An eval not running code yet sees its cause in `start`.
                    if slot.thread.load(SeqCst) != 0 {
                        due.push(slot.clone());
                    }
                    false
                });
                if !due.is_empty() {
                    break due;
                }
                pending = match next {
                    Some(when) => {
                        background
                            .wake
                            .wait_timeout(pending, when.saturating_duration_since(now))
                            .unwrap_or_else(|e| e.into_inner())
                            .0
                    }
                    None => background
                        .wake
                        .wait(pending)
                        .unwrap_or_else(|e| e.into_inner()),
                };
            }
        };
        crate::gil::with_gil(|_py| {
            // With the GIL held no eval can be between running code and being marked
            // over: an eval not over here is running its code right now.
            for slot in due {
                if !slot.over.load(Acquire) && !slot.delivered.swap(true, SeqCst) {
                    // SAFETY: GIL held; the thread runs the eval's code.
                    unsafe {
                        pyo3::ffi::PyThreadState_SetAsyncExc(
                            slot.thread.load(SeqCst) as _,
                            pyo3::ffi::PyExc_KeyboardInterrupt,
                        );
                    }
                }
            }
        });
    }
}
/// The error of an eval stopped before it ran its code.
pub fn not_started(cause: Cause, timeout_ms: Option<u64>) -> oxbeam::Error {
    match cause {
        Cause::Timeout => oxbeam::Error::exception(
            "Oxbeam.Python.TimeoutError",
            format!(
                "Python eval timed out after {} ms, before its code started to run",
                timeout_ms.unwrap_or(0)
            ),
        ),
        // Nobody sees this: the caller is gone.
        Cause::CallerDown => {
            oxbeam::Error::runtime_error("the process that called eval exited before it started")
        }
    }
}
