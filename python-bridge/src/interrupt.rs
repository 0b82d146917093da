//! Interrupting a running eval: on timeout, and when the calling process dies.
//!
//! Every eval is registered from the moment its NIF call starts, before it waits for
//! the GIL, to the moment it returns — by a [`Registration`] guard, released on every
//! path out of the call, unwinds included. The registry records each eval's caller,
//! deadline (with a timeout), the thread that runs its code (once it runs), and why it
//! must stop, if it must. The caller's watch (a `CallerWatch` resource monitoring the
//! process) marks the caller's eval as to stop when the process dies, whatever the
//! eval is doing:
//!
//! * waiting for the GIL, or converting its globals: [`Registration::start`] sees the
//!   mark when the eval is about to run its code, and the eval returns without
//!   running it;
//! * running Python code: a background thread raises `KeyboardInterrupt` in the
//!   eval's thread with `PyThreadState_SetAsyncExc`.
//!
//! The background thread also marks evals whose deadline passed. It raises an
//! interrupt only while holding the GIL and the registry lock, and only in an eval
//! still registered and running code; an eval unregisters under the registry lock and
//! clears an interrupt raised but not yet seen while holding the GIL, so an interrupt
//! can never land in a later eval that happens to run on the same thread.

use oxbeam::{Env, LocalPid, Monitor, Resource, ResourceArc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Why an eval was interrupted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    Timeout,
    CallerDown,
}

/// One registered eval.
struct Eval {
    /// The Python thread id of the thread running its code, once it runs code.
    thread: Option<u64>,
    /// When the background thread must act on it: its timeout, or now when its caller
    /// died. `None` once acted on (or without a timeout).
    deadline: Option<Instant>,
    /// Why it must stop, if it must.
    cause: Option<Cause>,
    /// A `KeyboardInterrupt` was raised in its thread.
    delivered: bool,
}

/// Every registered eval (by token) and every watched caller (by pid), under one lock.
struct State {
    evals: HashMap<u64, Eval>,
    callers: HashMap<u64, Caller>,
}

struct Registry {
    state: Mutex<State>,
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
            state: Mutex::new(State {
                evals: HashMap::new(),
                callers: HashMap::new(),
            }),
            wake: Condvar::new(),
        }
    })
}

fn lock(registry: &Registry) -> MutexGuard<'_, State> {
    registry.state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Watches a process that calls `eval`; its `down` stops the eval that process is
/// running, if any. One watch per process, made on its first eval and kept until the
/// process exits, so an eval costs no monitor/demonitor pair.
pub struct CallerWatch {
    pid: u64,
}

#[oxbeam::resource]
impl Resource for CallerWatch {
    fn down<'a>(&self, _env: Env<'a>, _pid: LocalPid, _monitor: Monitor) {
        let registry = registry();
        let mut state = lock(registry);
        let current = state.callers.remove(&self.pid).and_then(|c| c.current);
        let Some(eval) = current.and_then(|token| state.evals.get_mut(&token)) else {
            // No eval running: nothing for the background thread to do (most calls end
            // this way, e.g. every remote call's process, which exits after its eval;
            // waking that thread would cost a context switch each time).
            return;
        };
        cancel(eval, Cause::CallerDown);
        drop(state);
        registry.wake.notify_one();
    }
}

/// Marks `eval` as to stop for `cause` (the first cause wins), and due now for the
/// background thread.
fn cancel(eval: &mut Eval, cause: Cause) {
    eval.cause.get_or_insert(cause);
    if !eval.delivered {
        eval.deadline = Some(Instant::now());
    }
}

struct Caller {
    _watch: ResourceArc<CallerWatch>,
    /// The token of the eval the process is running.
    current: Option<u64>,
}

/// A registered eval: made before the eval waits for the GIL; unregisters when it is
/// finished or dropped (on every path out of the NIF call, unwinds included).
pub struct Registration {
    token: u64,
    pid: u64,
    done: bool,
}

/// Registers the eval the calling process starts (call before taking the GIL).
pub fn register(env: Env<'_>, timeout: Option<Duration>) -> Registration {
    let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
    let pid = env.pid();
    let key = pid.as_raw().pid;
    let registry = registry();
    let mut state = lock(registry);
    // A timeout too far away to be represented is no timeout.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut eval = Eval {
        thread: None,
        deadline,
        cause: None,
        delivered: false,
    };
    match state.callers.get_mut(&key) {
        Some(caller) => caller.current = Some(token),
        None => {
            let watch = ResourceArc::new(CallerWatch { pid: key });
            if watch.monitor(Some(env), &pid).is_some() {
                state.callers.insert(
                    key,
                    Caller {
                        _watch: watch,
                        current: Some(token),
                    },
                );
            } else {
                // The caller is already gone: the eval must not run.
                eval.cause = Some(Cause::CallerDown);
                eval.deadline = None;
            }
        }
    }
    state.evals.insert(token, eval);
    drop(state);
    if deadline.is_some() {
        registry.wake.notify_one();
    }
    Registration {
        token,
        pid: key,
        done: false,
    }
}

impl Registration {
    /// Called with the GIL held right before the eval runs its code: `Err` if the eval
    /// must not run (its caller died or its deadline passed while it waited); otherwise
    /// the eval's thread can be interrupted from now on.
    pub fn start(&self) -> Result<(), Cause> {
        let mut state = lock(registry());
        let Some(eval) = state.evals.get_mut(&self.token) else {
            return Ok(());
        };
        if let Some(cause) = eval.cause {
            return Err(cause);
        }
        // SAFETY: no preconditions; the thread id of the calling OS thread.
        eval.thread = Some(unsafe { pyo3::ffi::PyThread_get_thread_ident() } as u64);
        Ok(())
    }

    /// Unregisters (call with the GIL held); says why the eval was interrupted, if an
    /// interrupt was raised in it.
    pub fn finish(mut self) -> Option<Cause> {
        self.done = true;
        let eval = unregister(self.token, self.pid)?;
        if !eval.delivered {
            return None;
        }
        if let Some(thread) = eval.thread {
            clear_pending_interrupt(thread);
        }
        eval.cause
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Left without `finish`: an early return or an unwind. An interrupt raised in
        // this thread but not seen yet must not fire in the next eval it runs.
        if let Some(Eval {
            delivered: true,
            thread: Some(thread),
            ..
        }) = unregister(self.token, self.pid)
        {
            crate::gil::with_gil(|_py| clear_pending_interrupt(thread));
        }
    }
}

/// Removes eval `token` of caller `pid`; the eval's record, if it was registered.
fn unregister(token: u64, pid: u64) -> Option<Eval> {
    let mut state = lock(registry());
    if let Some(caller) = state.callers.get_mut(&pid) {
        if caller.current == Some(token) {
            caller.current = None;
        }
    }
    state.evals.remove(&token)
}

/// Drops an interrupt raised in `thread` and not yet seen (call with the GIL held).
fn clear_pending_interrupt(thread: u64) {
    // SAFETY: called with the GIL held; NULL clears the thread's pending async
    // exception (a no-op if there is none or the thread is gone).
    unsafe { pyo3::ffi::PyThreadState_SetAsyncExc(thread as _, std::ptr::null_mut()) };
}

fn run() {
    let registry = registry();
    loop {
        let due: Vec<u64> = {
            let mut state = lock(registry);
            loop {
                let now = Instant::now();
                let mut due = Vec::new();
                let mut next: Option<Instant> = None;
                for (token, eval) in state.evals.iter_mut() {
                    let Some(deadline) = eval.deadline else {
                        continue;
                    };
                    if deadline > now {
                        next = Some(next.map_or(deadline, |n| n.min(deadline)));
                        continue;
                    }
                    eval.cause.get_or_insert(Cause::Timeout);
                    eval.deadline = None;
                    // An eval not running code yet sees its cause in `start`.
                    if eval.thread.is_some() {
                        due.push(*token);
                    }
                }
                if !due.is_empty() {
                    break due;
                }
                state = match next {
                    Some(deadline) => {
                        registry
                            .wake
                            .wait_timeout(state, deadline.saturating_duration_since(now))
                            .unwrap_or_else(|e| e.into_inner())
                            .0
                    }
                    None => registry.wake.wait(state).unwrap_or_else(|e| e.into_inner()),
                };
            }
        };
        crate::gil::with_gil(|_py| {
            // With the GIL held no eval can be between running code and clearing a
            // pending interrupt; under the lock none can unregister. An eval still
            // registered here is running its code right now.
            let mut state = lock(registry);
            for token in due {
                if let Some(Eval {
                    thread: Some(thread),
                    delivered,
                    ..
                }) = state.evals.get_mut(&token)
                {
                    if !*delivered {
                        *delivered = true;
                        // SAFETY: GIL held; the thread runs the registered eval.
                        unsafe {
                            pyo3::ffi::PyThreadState_SetAsyncExc(
                                *thread as _,
                                pyo3::ffi::PyExc_KeyboardInterrupt,
                            );
                        }
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
