//! Paired with `elixir/test/nif/fine_test.exs`: what a Fine user writes, in oxbeam —
//! the VM's rwlock and condition variable under contention, Fine's result shapes,
//! atoms as ordered keys, exception structs with arbitrary fields, destructor hooks
//! with an environment, and I/O readiness with `enif_select`.

use oxbeam::select::{Interest, Stopped};
use oxbeam::sync::{Condvar, Mutex, RwLock};
use oxbeam::tagged::{self, Tagged};
use oxbeam::{nif, Atom, Encode, Env, LocalPid, OwnedEnv, Reference, Resource, ResourceArc, Term};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod atoms {
    oxbeam::atoms! { timeout, closed, consistent, torn }
}

// ---------------------------------------------------------------------------------
// RwLock

/// A table of `len` counters that writers bump all together: a reader that ever sees
/// two different values saw a torn write.
#[oxbeam::resource]
pub struct Table {
    counters: RwLock<Vec<u64>>,
    torn_reads: AtomicU64,
}

#[nif]
fn table_new(len: usize) -> oxbeam::ResourceArc<Table> {
    oxbeam::ResourceArc::new(Table {
        counters: RwLock::new(c"oxbeam_conformance.table", vec![0; len]),
        torn_reads: AtomicU64::new(0),
    })
}

fn bump_all(table: &Table) {
    let mut counters = table.counters.write();
    for c in counters.iter_mut() {
        // Spread the write out, so a reader without the lock would see it half done.
        *c += 1;
        std::hint::spin_loop();
    }
}

fn read_consistent(table: &Table) -> u64 {
    let counters = table.counters.read();
    let first = counters.first().copied().unwrap_or(0);
    if counters.iter().any(|&c| c != first) {
        table.torn_reads.fetch_add(1, Ordering::SeqCst);
    }
    first
}

/// One writer bump, on a dirty CPU scheduler.
#[nif(schedule = "dirty_cpu")]
fn table_bump_dirty(table: &Table) -> u64 {
    bump_all(table);
    1
}

/// A read, on a dirty I/O scheduler; the counters' common value.
#[nif(schedule = "dirty_io")]
fn table_read_dirty(table: &Table) -> u64 {
    read_consistent(table)
}

/// A read on a normal scheduler.
#[nif]
fn table_read(table: &Table) -> u64 {
    read_consistent(table)
}

#[nif]
fn table_torn_reads(table: &Table) -> u64 {
    table.torn_reads.load(Ordering::SeqCst)
}

/// `writers` and `readers` OS threads hammer the table, each `rounds` times; returns
/// `{value, reads_done, max_readers_at_once}`. Readers hold their guard a little while
/// so that several overlap (shared locking really is shared).
#[nif(schedule = "dirty_cpu")]
fn table_contend(
    table: oxbeam::ResourceArc<Table>,
    writers: usize,
    readers: usize,
    rounds: u64,
) -> (u64, u64, u64) {
    let reads = Arc::new(AtomicU64::new(0));
    let inside = Arc::new(AtomicU64::new(0));
    let max_inside = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for _ in 0..writers {
        let table = table.clone();
        threads.push(std::thread::spawn(move || {
            for _ in 0..rounds {
                bump_all(&table);
            }
        }));
    }
    for _ in 0..readers {
        let (table, reads, inside, max_inside) = (
            table.clone(),
            reads.clone(),
            inside.clone(),
            max_inside.clone(),
        );
        threads.push(std::thread::spawn(move || {
            for _ in 0..rounds {
                let counters = table.counters.read();
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                max_inside.fetch_max(now, Ordering::SeqCst);
                let first = counters[0];
                std::thread::sleep(Duration::from_micros(50));
                if counters.iter().any(|&c| c != first) {
                    table.torn_reads.fetch_add(1, Ordering::SeqCst);
                }
                inside.fetch_sub(1, Ordering::SeqCst);
                drop(counters);
                reads.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    for t in threads {
        let _ = t.join();
    }
    (
        table.counters.read()[0],
        reads.load(Ordering::SeqCst),
        max_inside.load(Ordering::SeqCst),
    )
}

/// `try_read`/`try_write` while another guard is held: `{try_write_while_reading,
/// try_read_while_reading, try_read_while_writing, try_write_while_writing}`.
#[nif]
fn table_try_locks(table: &Table) -> (bool, bool, bool, bool) {
    let reading = table.counters.read();
    let w1 = table.counters.try_write().is_some();
    let r1 = table.counters.try_read().is_some();
    drop(reading);
    let writing = table.counters.write();
    // Ask from another thread: the VM's rwlock is not reentrant.
    let (r2, w2) = std::thread::scope(|s| {
        s.spawn(|| {
            (
                table.counters.try_read().is_some(),
                table.counters.try_write().is_some(),
            )
        })
        .join()
        .unwrap_or((true, true))
    });
    drop(writing);
    (w1, r1, r2, w2)
}

/// Sets counter 0 to 999 under the write lock, then panics with the guard held.
#[nif]
fn table_panic_while_writing(table: &Table) -> u64 {
    let mut counters = table.counters.write();
    counters[0] = 999;
    panic!("boom while writing");
}

/// The counters (locks for reading: after a panic the lock is free again).
#[nif]
fn table_values(table: &Table) -> Vec<u64> {
    table.counters.read().clone()
}

// ---------------------------------------------------------------------------------
// Condvar

/// A queue with a condition variable: consumers wait for items.
#[oxbeam::resource]
pub struct Queue {
    items: Mutex<(VecDeque<i64>, bool)>,
    ready: Condvar,
    other: Mutex<()>,
}

#[nif]
fn queue_new() -> oxbeam::ResourceArc<Queue> {
    oxbeam::ResourceArc::new(Queue {
        items: Mutex::new(c"oxbeam_conformance.queue", (VecDeque::new(), false)),
        ready: Condvar::new(c"oxbeam_conformance.queue_ready"),
        other: Mutex::new(c"oxbeam_conformance.queue_other", ()),
    })
}

#[nif]
fn queue_push(queue: &Queue, item: i64) -> usize {
    let mut items = queue.items.lock();
    items.0.push_back(item);
    let len = items.0.len();
    drop(items);
    queue.ready.notify_one();
    len
}

#[nif]
fn queue_len(queue: &Queue) -> usize {
    queue.items.lock().0.len()
}

/// Marks the queue closed and wakes every waiter.
#[nif]
fn queue_close(queue: &Queue) -> Atom {
    queue.items.lock().1 = true;
    queue.ready.notify_all();
    atoms::closed()
}

/// Waits (on a dirty I/O scheduler) up to `timeout_ms` for an item: `{:ok, item}`,
/// `:closed` or `:timeout`.
#[nif(schedule = "dirty_io")]
fn queue_pop<'a>(env: Env<'a>, queue: &Queue, timeout_ms: u64) -> Term<'a> {
    let items = queue.items.lock();
    let (mut items, result) = queue.ready.wait_timeout_while(
        items,
        Duration::from_millis(timeout_ms),
        |(items, closed)| items.is_empty() && !*closed,
    );
    match items.0.pop_front() {
        Some(item) => tagged::Ok((item,)).encode(env),
        None if items.1 => atoms::closed().encode(env),
        None => {
            debug_assert!(result.timed_out());
            atoms::timeout().encode(env)
        }
    }
}

/// Waits with no timeout (`wait_while`), on a dirty I/O scheduler.
#[nif(schedule = "dirty_io")]
fn queue_pop_forever<'a>(env: Env<'a>, queue: &Queue) -> Term<'a> {
    let items = queue.items.lock();
    let mut items = queue
        .ready
        .wait_while(items, |(items, closed)| items.is_empty() && !*closed);
    match items.0.pop_front() {
        Some(item) => tagged::Ok((item,)).encode(env),
        None => atoms::closed().encode(env),
    }
}

/// A timed wait nobody notifies: `{timed_out, elapsed_ms}`.
#[nif(schedule = "dirty_io")]
fn queue_wait_unnotified(queue: &Queue, ms: u64) -> (bool, u64) {
    let start = Instant::now();
    let guard = queue.items.lock();
    let (_guard, result) = queue.ready.wait_timeout(guard, Duration::from_millis(ms));
    (result.timed_out(), start.elapsed().as_millis() as u64)
}

/// Waits on the queue's condition variable with a second mutex: a panic (the VM's
/// condition variable is undefined with two mutexes).
#[nif]
fn queue_wait_with_other_mutex(queue: &Queue) -> bool {
    // Bind the condition variable to the queue's mutex first.
    let guard = queue.items.lock();
    let _ = queue.ready.wait_timeout(guard, Duration::from_millis(1));
    let other = queue.other.lock();
    let _ = queue.ready.wait_timeout(other, Duration::from_millis(1));
    true
}

/// `producers` OS threads push `per_producer` items each (1, 2, 3, ...) while
/// `consumers` OS threads pop with untimed and timed waits until the queue is closed;
/// returns `{items_popped, sum}`.
#[nif(schedule = "dirty_cpu")]
fn queue_contend(
    queue: oxbeam::ResourceArc<Queue>,
    producers: u64,
    consumers: u64,
    per_producer: u64,
) -> (u64, i64) {
    let popped = Arc::new(AtomicU64::new(0));
    let sum = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let consumers: Vec<_> = (0..consumers)
        .map(|n| {
            let (queue, popped, sum) = (queue.clone(), popped.clone(), sum.clone());
            std::thread::spawn(move || loop {
                let guard = queue.items.lock();
                let mut guard = if n % 2 == 0 {
                    queue
                        .ready
                        .wait_while(guard, |(items, closed)| items.is_empty() && !*closed)
                } else {
                    queue
                        .ready
                        .wait_timeout_while(guard, Duration::from_millis(5), |(items, closed)| {
                            items.is_empty() && !*closed
                        })
                        .0
                };
                match guard.0.pop_front() {
                    Some(item) => {
                        popped.fetch_add(1, Ordering::SeqCst);
                        sum.fetch_add(item, Ordering::SeqCst);
                    }
                    None if guard.1 => return,
                    None => {}
                }
            })
        })
        .collect();
    let producers: Vec<_> = (0..producers)
        .map(|_| {
            let queue = queue.clone();
            std::thread::spawn(move || {
                for i in 1..=per_producer {
                    queue.items.lock().0.push_back(i as i64);
                    queue.ready.notify_one();
                }
            })
        })
        .collect();
    for p in producers {
        let _ = p.join();
    }
    // Wait until every item is taken, then close.
    let guard = queue.items.lock();
    let guard = queue
        .ready
        .wait_timeout_while(guard, Duration::from_secs(20), |(items, _)| {
            if !items.is_empty() {
                // Consumers may all be asleep in untimed waits: keep them going.
                queue.ready.notify_all();
            }
            !items.is_empty()
        });
    drop(guard);
    queue.items.lock().1 = true;
    queue.ready.notify_all();
    for c in consumers {
        let _ = c.join();
    }
    (popped.load(Ordering::SeqCst), sum.load(Ordering::SeqCst))
}

// ---------------------------------------------------------------------------------
// Result shapes

#[nif]
fn shape_ok() -> tagged::Ok {
    tagged::Ok(())
}

#[nif]
fn shape_ok1(a: i64) -> tagged::Ok<(i64,)> {
    tagged::Ok((a,))
}

#[nif]
fn shape_ok2(a: i64, b: String) -> tagged::Ok<(i64, String)> {
    tagged::Ok((a, b))
}

#[nif]
fn shape_error() -> tagged::Error {
    tagged::Error(())
}

#[nif]
fn shape_error1(reason: String) -> tagged::Error<(String,)> {
    tagged::Error((reason,))
}

#[nif]
fn shape_error2(r1: Atom, r2: i64) -> tagged::Error<(Atom, i64)> {
    tagged::Error((r1, r2))
}

/// Fine's `std::variant<Ok<int64_t, int64_t>, Error<std::string>>` example.
#[nif]
fn divmod(a: i64, b: i64) -> Tagged<(i64, i64), (String,)> {
    if b == 0 {
        return Tagged::Error(("division by zero".to_string(),));
    }
    Tagged::Ok((a.div_euclid(b), a.rem_euclid(b)))
}

/// Decodes the shapes back: each argument, re-encoded as `{kind, values}`.
#[nif]
fn shape_decode_ok2(value: tagged::Ok<(i64, String)>) -> (i64, String) {
    value.0
}

#[nif]
fn shape_decode_ok0(_value: tagged::Ok) -> bool {
    true
}

#[nif]
fn shape_decode_error1(value: tagged::Error<(String,)>) -> String {
    value.0 .0
}

#[nif]
fn shape_decode_tagged(value: Tagged<(i64, i64), ()>) -> Option<(i64, i64)> {
    match value {
        Tagged::Ok(values) => Some(values),
        Tagged::Error(()) => None,
    }
}

// ---------------------------------------------------------------------------------
// Atoms as keys

/// Counts atoms in a `BTreeMap` and a `HashSet`: `{[{atom, count}] in the map's order,
/// distinct}`; the order must be the same on every call in this VM.
#[nif]
fn atom_counts(atoms: Vec<Atom>) -> (Vec<(Atom, u64)>, usize) {
    let mut counts = BTreeMap::new();
    for a in &atoms {
        *counts.entry(*a).or_insert(0u64) += 1;
    }
    let distinct: HashSet<Atom> = atoms.iter().copied().collect();
    (counts.into_iter().collect(), distinct.len())
}

// ---------------------------------------------------------------------------------
// Exceptions with fields

/// Raises `%Oxbeam.Test.FineError{data: data, tags: tags}` (no `message` field).
#[nif]
fn raise_fine_error(data: i64, tags: Vec<Atom>) -> oxbeam::Result<()> {
    Err(oxbeam::Error::exception_with(
        "Oxbeam.Test.FineError",
        |env| vec![("data", data.encode(env)), ("tags", tags.encode(env))],
    ))
}

/// A field named `__struct__` does not replace the module.
#[nif]
fn raise_fine_error_overriding_struct() -> oxbeam::Result<()> {
    Err(oxbeam::Error::exception_with(
        "Oxbeam.Test.FineError",
        |env| {
            vec![
                (
                    "__struct__",
                    Atom::from_str(env, "Elixir.Other").encode(env),
                ),
                ("data", 1i64.encode(env)),
                ("data", 2i64.encode(env)),
            ]
        },
    ))
}

// ---------------------------------------------------------------------------------
// Destructor hooks with an environment

mod hook_atoms {
    oxbeam::atoms! { closed, env, owned_env, panic, raise }
}

/// How many `Closer`s were dropped after their hook ran / without it.
static DROPPED_AFTER_HOOK: AtomicU64 = AtomicU64::new(0);
static DROPPED_WITHOUT_HOOK: AtomicU64 = AtomicU64::new(0);

/// Tells its owner `{:closed, id}` from its destructor hook (Fine's
/// `destructor(ErlNifEnv*)`), through the hook's `Env` or an `OwnedEnv`; or panics or
/// raises there.
pub struct Closer {
    owner: LocalPid,
    id: i64,
    how: Atom,
    hooked: bool,
}

#[oxbeam::resource]
impl Resource for Closer {
    fn destructor<'a>(&mut self, env: Env<'a>) {
        self.hooked = true;
        let message = (hook_atoms::closed(), self.id);
        if self.how == hook_atoms::env() {
            let _ = env.send(&self.owner, message);
        } else if self.how == hook_atoms::owned_env() {
            let mut owned = OwnedEnv::new();
            if let Err(error) = owned.send_and_clear(&self.owner, |env| message.encode(env)) {
                let _ = env.send(&self.owner, error.to_term(env));
            }
        } else if self.how == hook_atoms::panic() {
            panic!("boom in the destructor hook");
        } else if self.how == hook_atoms::raise() {
            oxbeam::raise(oxbeam::Error::argument_error(
                "raised in the destructor hook",
            ));
        }
    }
}

impl Drop for Closer {
    fn drop(&mut self) {
        if self.hooked {
            DROPPED_AFTER_HOOK.fetch_add(1, Ordering::SeqCst);
        } else {
            DROPPED_WITHOUT_HOOK.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn closer(owner: LocalPid, id: i64, how: Atom) -> ResourceArc<Closer> {
    ResourceArc::new(Closer {
        owner,
        id,
        how,
        hooked: false,
    })
}

/// A closer held by the returned term: its hook runs when the term is collected.
#[nif]
fn closer_new(owner: LocalPid, id: i64, how: Atom) -> ResourceArc<Closer> {
    closer(owner, id, how)
}

/// A closer whose last reference is dropped inside this NIF (the hook runs in it).
#[nif]
fn closer_drop_here(owner: LocalPid, id: i64, how: Atom) -> Atom {
    drop(closer(owner, id, how));
    hook_atoms::closed()
}

/// A closer made and dropped on a thread of the library's own.
#[nif]
fn closer_drop_on_thread(owner: LocalPid, id: i64, how: Atom) -> Atom {
    let made = closer(owner, id, how);
    let _ = std::thread::spawn(move || drop(made)).join();
    hook_atoms::closed()
}

/// `{dropped after their hook, dropped without}`.
#[nif]
fn closer_drops() -> (u64, u64) {
    (
        DROPPED_AFTER_HOOK.load(Ordering::SeqCst),
        DROPPED_WITHOUT_HOOK.load(Ordering::SeqCst),
    )
}

/// `OwnedEnv::send_and_clear` in a NIF (a VM thread outside a callback): the error.
#[nif]
fn owned_env_send_in_nif(to: LocalPid) -> oxbeam::Result<Atom> {
    OwnedEnv::new().send_and_clear(&to, |env| hook_atoms::closed().encode(env))?;
    Ok(hook_atoms::closed())
}

// ---------------------------------------------------------------------------------
// enif_select

mod select_atoms {
    oxbeam::atoms! { stopped, called, scheduled }
}

/// A socket pair: the NIFs watch `ours`, the tests write to and read from `theirs`.
pub struct Pipe {
    ours: UnixStream,
    theirs: UnixStream,
    /// Who to tell `{:stopped, direct}` when the stop callback runs.
    notify: LocalPid,
    /// Set by `pipe_arm_stop_panic/1`: the stop callback panics.
    panic_in_stop: AtomicBool,
}

#[oxbeam::resource]
impl Resource for Pipe {
    fn stop<'a>(&self, env: Env<'a>, fd: std::os::fd::RawFd, direct: bool) {
        debug_assert_eq!(fd, self.ours.as_raw_fd());
        if self.panic_in_stop.load(Ordering::SeqCst) {
            panic!("boom in stop");
        }
        let _ = env.send(&self.notify, (select_atoms::stopped(), direct));
    }
}

#[nif]
fn pipe_new(notify: LocalPid) -> oxbeam::Result<ResourceArc<Pipe>> {
    let (ours, theirs) = UnixStream::pair()?;
    ours.set_nonblocking(true)?;
    theirs.set_nonblocking(true)?;
    Ok(ResourceArc::new(Pipe {
        ours,
        theirs,
        notify,
        panic_in_stop: AtomicBool::new(false),
    }))
}

/// How many `Pipe`s were dropped.
static PIPES_DROPPED: AtomicU64 = AtomicU64::new(0);

impl Drop for Pipe {
    fn drop(&mut self) {
        PIPES_DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

#[nif]
fn pipes_dropped() -> u64 {
    PIPES_DROPPED.load(Ordering::SeqCst)
}

#[nif]
fn pipe_arm_stop_panic(pipe: &Pipe) -> bool {
    pipe.panic_in_stop.store(true, Ordering::SeqCst);
    true
}

fn interest(write: bool) -> Interest {
    if write {
        Interest::Write
    } else {
        Interest::Read
    }
}

/// Watches our end for reading (or writing): returns the reference the message
/// carries.
#[nif]
fn pipe_select<'a>(
    env: Env<'a>,
    pipe: ResourceArc<Pipe>,
    write: bool,
) -> oxbeam::Result<Reference<'a>> {
    let reference = Reference::new(env);
    pipe.select(
        env,
        |p| p.ours.as_fd(),
        interest(write),
        None,
        Some(reference),
    )?;
    Ok(reference)
}

/// Watches our end for reading on behalf of `pid`, with `:undefined` as the ref.
#[nif]
fn pipe_select_for(env: Env<'_>, pipe: ResourceArc<Pipe>, pid: LocalPid) -> oxbeam::Result<()> {
    pipe.select(env, |p| p.ours.as_fd(), Interest::Read, Some(&pid), None)?;
    Ok(())
}

/// Watches the *other* end through a closure returning a 'static descriptor that is
/// not open (fd 1_000_000): the VM's refusal, as an error.
#[nif]
fn pipe_select_bad_fd(env: Env<'_>, pipe: ResourceArc<Pipe>) -> oxbeam::Result<()> {
    // SAFETY (test): the number is never used to read or write; the VM only checks it.
    let bad = unsafe { std::os::fd::BorrowedFd::borrow_raw(1_000_000) };
    pipe.select(env, |_| bad, Interest::Read, None, None)?;
    Ok(())
}

#[nif]
fn pipe_cancel(env: Env<'_>, pipe: ResourceArc<Pipe>, write: bool) -> oxbeam::Result<bool> {
    pipe.select_cancel(env, |p| p.ours.as_fd(), interest(write))
}

#[nif]
fn pipe_stop(env: Env<'_>, pipe: ResourceArc<Pipe>) -> oxbeam::Result<Atom> {
    Ok(match pipe.select_stop(env, |p| p.ours.as_fd())? {
        Stopped::Called => select_atoms::called(),
        Stopped::Deferred => select_atoms::scheduled(),
    })
}

/// Writes `data` into the other end (so ours becomes readable).
#[nif]
fn pipe_feed(pipe: &Pipe, data: &[u8]) -> oxbeam::Result<usize> {
    Ok((&pipe.theirs).write(data)?)
}

/// Reads what is available at our end, without blocking: `{:ok, bytes}` or `:error`
/// when nothing is there (would block).
#[nif]
fn pipe_read(pipe: &Pipe) -> Tagged<(String,)> {
    let mut buf = vec![0; 4096];
    match (&pipe.ours).read(&mut buf) {
        Ok(n) => Tagged::Ok((String::from_utf8_lossy(&buf[..n]).into_owned(),)),
        Err(_) => Tagged::Error(()),
    }
}

/// Fills our end's send buffer until it would block: the bytes written.
#[nif]
fn pipe_fill(pipe: &Pipe) -> usize {
    let chunk = [0u8; 65536];
    let mut total = 0;
    while let Ok(n) = (&pipe.ours).write(&chunk) {
        total += n;
    }
    total
}

/// Drains the other end: the bytes read.
#[nif]
fn pipe_drain(pipe: &Pipe) -> usize {
    let mut buf = [0u8; 65536];
    let mut total = 0;
    while let Ok(n) = (&pipe.theirs).read(&mut buf) {
        if n == 0 {
            break;
        }
        total += n;
    }
    total
}
