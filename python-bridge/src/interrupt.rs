//! Interrupting a running eval: on timeout, and when the calling process dies.
//!
//! Each eval registers its Python thread here. A background thread waits for the
//! earliest deadline (or a caller's death, reported by a process monitor on an
//! `CallerWatch` resource) and raises `KeyboardInterrupt` in that thread with
//! `PyThreadState_SetAsyncExc`. It checks the registration again while holding the
//! GIL, and an eval unregisters while holding the GIL, so an interrupt can never land
//! in a later eval that happens to run on the same thread.

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
    deadline: Option<Instant>,
    /// Set when the interrupter decided to interrupt (or the caller died).
    cause: Option<Cause>,
    delivered: bool,
}

/// Keys here are tokens and pids: unique integers, used as their own hash.
#[derive(Default)]
struct IdentityHasher(u64);

impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        // Mixed, so that sequential tokens do not crowd hashbrown's top-bit groups.
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<IdentityHasher>>;

struct Registry {
    entries: Mutex<IdMap<Entry>>,
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
            entries: Mutex::new(IdMap::default()),
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
        let current = {
            let mut callers = callers().lock().unwrap_or_else(|e| e.into_inner());
            callers.remove(&self.pid).and_then(|caller| caller.current)
        };
        if let Some(token) = current {
            cancel(token, Cause::CallerDown);
        }
    }
}

struct Caller {
    _watch: ResourceArc<CallerWatch>,
    current: Option<u64>,
}

fn callers() -> &'static Mutex<IdMap<Caller>> {
    static CALLERS: OnceLock<Mutex<IdMap<Caller>>> = OnceLock::new();
    CALLERS.get_or_init(|| Mutex::new(IdMap::default()))
}

/// A registered eval; unregister (with the GIL held) when it ends.
pub struct Registration {
    token: u64,
    pid: u64,
}

/// Registers the eval running on this thread (call with the GIL held).
pub fn register(env: Env<'_>, timeout: Option<Duration>) -> Registration {
    let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
    // SAFETY: no preconditions; the thread id of the calling OS thread.
    let thread = unsafe { pyo3::ffi::PyThread_get_thread_ident() } as u64;
    let registry = registry();
    registry
        .entries
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            token,
            Entry {
                thread,
                deadline: timeout.map(|t| Instant::now() + t),
                cause: None,
                delivered: false,
            },
        );
    if timeout.is_some() {
        registry.wake.notify_one();
    }
    let pid = env.pid();
    let key = pid.as_raw().pid;
    let mut callers = callers().lock().unwrap_or_else(|e| e.into_inner());
    match callers.get_mut(&key) {
        Some(caller) => caller.current = Some(token),
        None => {
            let watch = ResourceArc::new(CallerWatch { pid: key });
            if watch.monitor(Some(env), &pid).is_some() {
                callers.insert(
                    key,
                    Caller {
                        _watch: watch,
                        current: Some(token),
                    },
                );
            }
        }
    }
    Registration { token, pid: key }
}

impl Registration {
    /// Unregisters (call with the GIL held); says whether the eval was interrupted.
    pub fn finish(self) -> Option<Cause> {
        if let Some(caller) = callers()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&self.pid)
        {
            if caller.current == Some(self.token) {
                caller.current = None;
            }
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

/// Asks for an eval to be interrupted (never blocks on the GIL).
fn cancel(token: u64, cause: Cause) {
    let registry = registry();
    if let Some(entry) = registry
        .entries
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_mut(&token)
    {
        entry.cause.get_or_insert(cause);
        entry.deadline = Some(Instant::now());
    }
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
                    .filter(|(_, e)| !e.delivered && e.deadline.is_some_and(|d| d <= now))
                    .map(|(token, _)| *token)
                    .collect();
                if !due.is_empty() {
                    break due;
                }
                let next = entries
                    .values()
                    .filter(|e| !e.delivered)
                    .filter_map(|e| e.deadline)
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
