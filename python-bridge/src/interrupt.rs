//! Interrupting a running eval: on timeout, and when the calling process dies.
//!
//! Every eval is recorded on its caller's watch (a `CallerWatch` resource monitoring
//! the process); an eval with a timeout also gets a registry entry with its deadline.
//! A background thread waits for the earliest deadline (a caller's death moves its
//! eval into the registry, due now) and raises `KeyboardInterrupt` in that eval's
//! thread with `PyThreadState_SetAsyncExc`. It checks the entry again while holding
//! the GIL, and an eval unregisters while holding the GIL, so an interrupt can never
//! land in a later eval that happens to run on the same thread.

use oxbeam::{Env, LocalPid, Monitor, Resource, ResourceArc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Why an eval was interrupted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    Timeout,
    CallerDown,
}

struct Entry {
    thread: u64,
    deadline: Instant,
    /// Set when the interrupter decided to interrupt (or the caller died).
    cause: Option<Cause>,
    delivered: bool,
}

struct Registry {
    entries: Mutex<HashMap<u64, Entry>>,
    wake: Condvar,
}

static REGISTRY: OnceLock<Registry> = OnceLock::new();
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

fn registry() -> &'static Registry {
    REGISTRY.get_or_init(|| {
        std::thread::Builder::new()
            .name("oxbeam-python-interrupt".into())
            .spawn(run)
            .expect("could not start the interrupt thread");
        Registry {
            entries: Mutex::new(HashMap::new()),
            wake: Condvar::new(),
        }
    })
}

/// Watches a process that calls `eval`; its `down` interrupts the eval that process
/// is running, if any. One watch per process, made on its first eval and kept until
/// the process exits, so an eval costs no monitor/demonitor pair.
pub struct CallerWatch {
    pid: u64,
}

#[oxbeam::resource]
impl Resource for CallerWatch {
    fn down<'a>(&self, _env: Env<'a>, _pid: LocalPid, _monitor: Monitor) {
        let mut callers = callers().lock().unwrap_or_else(|e| e.into_inner());
        // Taken while the callers lock is held: the eval's `finish` then sees that its
        // run was taken and looks for it in the registry.
        if let Some(Running { token, thread }) =
            callers.remove(&self.pid).and_then(|caller| caller.current)
        {
            cancel(token, thread, Cause::CallerDown);
        }
    }
}

/// The eval a caller is running.
#[derive(Clone, Copy)]
struct Running {
    token: u64,
    thread: u64,
}

struct Caller {
    _watch: ResourceArc<CallerWatch>,
    current: Option<Running>,
}

fn callers() -> &'static Mutex<HashMap<u64, Caller>> {
    static CALLERS: OnceLock<Mutex<HashMap<u64, Caller>>> = OnceLock::new();
    CALLERS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// A registered eval; unregister (with the GIL held) when it ends.
pub struct Registration {
    token: u64,
    pid: u64,
    /// Whether the eval has a registry entry of its own (it has a timeout).
    timed: bool,
}

/// Registers the eval running on this thread (call with the GIL held). Only an eval
/// with a timeout gets a registry entry; the caller's watch records every eval, and
/// its death moves the eval into the registry.
pub fn register(env: Env<'_>, timeout: Option<Duration>) -> Registration {
    let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
    // SAFETY: no preconditions; the thread id of the calling OS thread.
    let thread = unsafe { pyo3::ffi::PyThread_get_thread_ident() } as u64;
    if let Some(timeout) = timeout {
        let registry = registry();
        registry
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                token,
                Entry {
                    thread,
                    deadline: Instant::now() + timeout,
                    cause: None,
                    delivered: false,
                },
            );
        registry.wake.notify_one();
    }
    let pid = env.pid();
    let key = pid.as_raw().pid;
    let running = Some(Running { token, thread });
    let mut callers = callers().lock().unwrap_or_else(|e| e.into_inner());
    match callers.get_mut(&key) {
        Some(caller) => caller.current = running,
        None => {
            let watch = ResourceArc::new(CallerWatch { pid: key });
            if watch.monitor(Some(env), &pid).is_some() {
                callers.insert(
                    key,
                    Caller {
                        _watch: watch,
                        current: running,
                    },
                );
            }
        }
    }
    Registration {
        token,
        pid: key,
        timed: timeout.is_some(),
    }
}

impl Registration {
    /// Unregisters (call with the GIL held); says whether the eval was interrupted.
    pub fn finish(self) -> Option<Cause> {
        let taken_by_down = {
            let mut callers = callers().lock().unwrap_or_else(|e| e.into_inner());
            match callers.get_mut(&self.pid) {
                Some(caller) if caller.current.is_some_and(|r| r.token == self.token) => {
                    caller.current = None;
                    false
                }
                _ => true,
            }
        };
        if !self.timed && !taken_by_down {
            return None;
        }
        let entry = registry()
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.token)?;
        if !entry.delivered {
            return None;
        }
        // The interrupt may not have been raised yet (the code ended first): drop it,
        // so it cannot fire in the next eval on this thread.
        // SAFETY: called with the GIL held; NULL clears the pending exception.
        unsafe { pyo3::ffi::PyThreadState_SetAsyncExc(entry.thread as _, std::ptr::null_mut()) };
        entry.cause
    }
}

/// Asks for the eval `token` (running on `thread`) to be interrupted now (never
/// blocks on the GIL).
fn cancel(token: u64, thread: u64, cause: Cause) {
    let registry = registry();
    let mut entries = registry.entries.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    let entry = entries.entry(token).or_insert(Entry {
        thread,
        deadline: now,
        cause: None,
        delivered: false,
    });
    entry.cause.get_or_insert(cause);
    entry.deadline = now;
    drop(entries);
    registry.wake.notify_one();
}

fn run() {
    let registry = registry();
    loop {
        let due: Vec<u64> = {
            let mut entries = registry.entries.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                let now = Instant::now();
                let due: Vec<u64> = entries
                    .iter()
                    .filter(|(_, e)| !e.delivered && e.deadline <= now)
                    .map(|(token, _)| *token)
                    .collect();
                if !due.is_empty() {
                    break due;
                }
                let next = entries
                    .values()
                    .filter(|e| !e.delivered)
                    .map(|e| e.deadline)
                    .min();
                entries = match next {
                    Some(deadline) => {
                        registry
                            .wake
                            .wait_timeout(entries, deadline.saturating_duration_since(now))
                            .unwrap_or_else(|e| e.into_inner())
                            .0
                    }
                    None => registry
                        .wake
                        .wait(entries)
                        .unwrap_or_else(|e| e.into_inner()),
                };
            }
        };
        crate::gil::with_gil(|_py| {
            // With the GIL held, no eval can unregister: an entry still here belongs to
            // an eval that is running right now.
            let mut entries = registry.entries.lock().unwrap_or_else(|e| e.into_inner());
            for token in due {
                if let Some(entry) = entries.get_mut(&token) {
                    entry.cause.get_or_insert(Cause::Timeout);
                    entry.delivered = true;
                    // SAFETY: GIL held; the thread runs the registered eval.
                    unsafe {
                        pyo3::ffi::PyThreadState_SetAsyncExc(
                            entry.thread as _,
                            pyo3::ffi::PyExc_KeyboardInterrupt,
                        );
                    }
                }
            }
        });
    }
}
