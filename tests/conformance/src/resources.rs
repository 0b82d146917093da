//! Paired with `elixir/test/nif/resources_test.exs`: resources, monitors, resource
//! binaries, messages from threads, dirty scheduling, saved terms.

use oxbeam::{
    nif, Atom, Encode, Env, LocalPid, Monitor, OwnedEnv, Resource, ResourceArc, SavedTerm, Term,
};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

mod atoms {
    oxbeam::atoms! { progress, done, down, started, finished }
}

/// How many `Tracked` values were dropped, ever.
static DROPPED: AtomicU64 = AtomicU64::new(0);

#[oxbeam::resource]
pub struct Counter {
    value: AtomicI64,
}

#[nif]
fn counter_new(start: i64) -> ResourceArc<Counter> {
    ResourceArc::new(Counter {
        value: AtomicI64::new(start),
    })
}

#[nif]
fn counter_bump(counter: &Counter) -> i64 {
    counter.value.fetch_add(1, Ordering::SeqCst) + 1
}

#[nif]
fn counter_get(counter: ResourceArc<Counter>) -> i64 {
    counter.value.load(Ordering::SeqCst)
}

/// A resource whose `Drop` is observable.
#[oxbeam::resource]
pub struct Tracked {
    _payload: [u64; 4],
}

impl Drop for Tracked {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

#[nif]
fn tracked_new() -> ResourceArc<Tracked> {
    ResourceArc::new(Tracked { _payload: [7; 4] })
}

/// `n` new resources, dropped before returning: only the count comes back.
#[nif]
fn tracked_churn(n: u64) -> u64 {
    for _ in 0..n {
        drop(ResourceArc::new(Tracked { _payload: [1; 4] }));
    }
    n
}

#[nif]
fn tracked_dropped() -> u64 {
    DROPPED.load(Ordering::SeqCst)
}

/// Clones of a ResourceArc share the value; the term holds one more reference.
#[nif]
fn tracked_clone_pair(value: ResourceArc<Tracked>) -> (ResourceArc<Tracked>, bool) {
    let copy = value.clone();
    let same = ResourceArc::ptr_eq(&copy, &value);
    (copy, same)
}

/// Watches a process; tells `notify` `{:down, pid}` when it exits.
pub struct Watcher {
    notify: LocalPid,
    monitor: Mutex<Option<Monitor>>,
}

#[oxbeam::resource]
impl Resource for Watcher {
    fn down<'a>(&self, env: Env<'a>, pid: LocalPid, _monitor: Monitor) {
        let _ = env.send(&self.notify, (atoms::down(), pid));
    }
}

#[nif]
fn watch(env: Env<'_>, target: LocalPid, notify: LocalPid) -> oxbeam::Result<ResourceArc<Watcher>> {
    let watcher = ResourceArc::new(Watcher {
        notify,
        monitor: Mutex::new(None),
    });
    match watcher.monitor(Some(env), &target) {
        Some(monitor) => {
            *watcher.monitor.lock().unwrap() = Some(monitor);
            Ok(watcher)
        }
        None => Err(oxbeam::Error::argument_error(
            "cannot monitor a process that is not alive",
        )),
    }
}

#[nif]
fn unwatch(env: Env<'_>, watcher: ResourceArc<Watcher>) -> bool {
    let monitor = watcher.monitor.lock().unwrap().take();
    monitor.is_some_and(|m| watcher.demonitor(Some(env), &m))
}

/// Bytes owned by a resource, handed out as binaries without copying.
#[oxbeam::resource]
pub struct Blob {
    bytes: Vec<u8>,
}

impl Drop for Blob {
    fn drop(&mut self) {
        DROPPED.fetch_add(1_000_000, Ordering::SeqCst);
    }
}

#[nif]
fn blob_new(size: usize) -> ResourceArc<Blob> {
    ResourceArc::new(Blob {
        bytes: (0..size).map(|i| i as u8).collect(),
    })
}

/// A binary pointing into the blob's memory.
#[nif]
fn blob_binary<'a>(env: Env<'a>, blob: ResourceArc<Blob>) -> Term<'a> {
    blob.make_binary(env, |b| &b.bytes)
}

/// Sends `{:progress, i}` for i in 1..=n, then `{:done, n}`, from a new thread.
#[nif]
fn report_from_thread(to: LocalPid, n: u64) -> Atom {
    std::thread::spawn(move || {
        let mut env = OwnedEnv::new();
        for i in 1..=n {
            let _ = env.send_and_clear(&to, |env| (atoms::progress(), i).encode(env));
        }
        let _ = env.send_and_clear(&to, |env| (atoms::done(), n).encode(env));
    });
    atoms::started()
}

/// Sends a message to `to` from the NIF.
#[nif]
fn send_to<'a>(env: Env<'a>, to: LocalPid, message: Term<'a>) -> oxbeam::Result<Atom> {
    env.send(&to, message)?;
    Ok(atoms::done())
}

#[nif]
fn self_pid(env: Env<'_>) -> LocalPid {
    env.pid()
}

#[nif]
fn whereis(env: Env<'_>, name: Atom) -> Option<LocalPid> {
    env.whereis(name)
}

/// Sleeps on a dirty I/O scheduler.
#[nif(schedule = "dirty_io")]
fn dirty_sleep(ms: u64) -> Atom {
    std::thread::sleep(std::time::Duration::from_millis(ms));
    atoms::finished()
}

/// Busy for a while on a dirty CPU scheduler.
#[nif(schedule = "dirty_cpu")]
fn dirty_spin(ms: u64) -> Atom {
    let until = std::time::Instant::now() + std::time::Duration::from_millis(ms);
    while std::time::Instant::now() < until {
        std::hint::spin_loop();
    }
    atoms::finished()
}

/// Works in slices, reporting each to the scheduler; returns how many slices ran
/// before the timeslice was used up (at least 1).
#[nif]
fn consume_timeslice(env: Env<'_>, percent: u8) -> u32 {
    let mut slices = 1;
    while !env.consume_timeslice(percent) && slices < 1000 {
        slices += 1;
    }
    slices
}

/// A term saved in one call and read in another.
#[oxbeam::resource]
pub struct Saved {
    term: Mutex<SavedTerm>,
}

#[nif]
fn save_term(term: Term<'_>) -> ResourceArc<Saved> {
    ResourceArc::new(Saved {
        term: Mutex::new(SavedTerm::new(term)),
    })
}

#[nif]
fn load_term<'a>(env: Env<'a>, saved: &Saved) -> Term<'a> {
    saved.term.lock().unwrap().get(env)
}

/// A log guarded by a VM mutex (visible to the lock checker).
#[oxbeam::resource]
pub struct Log {
    entries: oxbeam::sync::Mutex<Vec<i64>>,
}

#[nif]
fn log_new() -> ResourceArc<Log> {
    ResourceArc::new(Log {
        entries: oxbeam::sync::Mutex::new(c"conformance_log", Vec::new()),
    })
}

#[nif]
fn log_append(log: &Log, value: i64) -> usize {
    let mut entries = log.entries.lock();
    entries.push(value);
    entries.len()
}

#[nif]
fn log_entries(log: &Log) -> Vec<i64> {
    log.entries.lock().clone()
}
