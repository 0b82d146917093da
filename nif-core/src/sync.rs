//! Locks and condition variables made by the VM (`enif_mutex_*`, `enif_rwlock_*`,
//! `enif_cond_*`), for a NIF library's own shared state: they are named, so they show
//! up in the VM's lock checker and lock counting (`erl -emu_type lcnt`), which
//! `std::sync`'s do not. Fine's `fine::Mutex`, `fine::SharedMutex` and
//! `fine::ConditionVariable`.
//!
//! No poisoning: unlike `std::sync`, `lock`/`read`/`write` return the guard directly.
//! A panic or raise while a guard is held unwinds through the guard, which unlocks;
//! the value stays as the panicking code left it and the next locker gets it as is.
//!
//! Like any lock inside a NIF, hold one only briefly: a scheduler thread blocked on it
//! blocks every process scheduled there.

use crate::sys;
use std::cell::UnsafeCell;
use std::ffi::CStr;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

/// A mutual-exclusion lock created by the VM, named for its lock checker.
pub struct Mutex<T> {
    raw: *mut sys::ErlNifMutex,
    value: UnsafeCell<T>,
}

// SAFETY: the VM mutex serializes access to the value, as std::sync::Mutex does.
unsafe impl<T: Send> Send for Mutex<T> {}
unsafe impl<T: Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new lock named `name` (shown by the lock checker). Raises if the VM cannot
    /// create it (out of memory; see [`try_new`](Self::try_new)).
    #[track_caller]
    pub fn new(name: &CStr, value: T) -> Mutex<T> {
        Mutex::try_new(name, value).unwrap_or_else(|error| crate::raise(error))
    }

    /// A new lock named `name`, or an error if the VM cannot create it.
    pub fn try_new(name: &CStr, value: T) -> Result<Mutex<T>, crate::Error> {
        // SAFETY: enif_mutex_create copies the name; it returns NULL only when out of
        // memory.
        let raw = unsafe { sys::enif_mutex_create(name.as_ptr() as *mut _) };
        if raw.is_null() {
            return Err(crate::Error::exception(
                "Elixir.SystemLimitError",
                "enif_mutex_create failed",
            ));
        }
        Ok(Mutex {
            raw,
            value: UnsafeCell::new(value),
        })
    }

    /// Locks, blocking the calling thread until the lock is free.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        // SAFETY: raw is a live mutex; the guard unlocks it.
        unsafe { sys::enif_mutex_lock(self.raw) };
        MutexGuard::new(self)
    }

    /// Locks if free right now.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        // SAFETY: raw is a live mutex; 0 means we hold it.
        (unsafe { sys::enif_mutex_trylock(self.raw) } == 0).then(|| MutexGuard::new(self))
    }

    pub fn into_inner(self) -> T {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: we own the mutex: destroy it once and move the value out once.
        unsafe {
            sys::enif_mutex_destroy(this.raw);
            std::ptr::read(this.value.get())
        }
    }
}

impl<T> Drop for Mutex<T> {
    fn drop(&mut self) {
        // SAFETY: no guard can outlive &self borrows, so the mutex is unlocked.
        unsafe { sys::enif_mutex_destroy(self.raw) }
    }
}

/// Holds a [`Mutex`] locked; unlocks when dropped.
///
/// Like `std::sync::MutexGuard`, it is not `Send` (the thread that locked must be the
/// one that unlocks) and is `Sync` only when `T` is (sharing `&guard` shares `&T`).
pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
    /// A raw pointer makes the guard neither `Send` nor `Sync`; `Sync` is added back
    /// below for `T: Sync`.
    _not_send: PhantomData<*const ()>,
}

impl<'a, T> MutexGuard<'a, T> {
    fn new(mutex: &'a Mutex<T>) -> MutexGuard<'a, T> {
        MutexGuard {
            mutex,
            _not_send: PhantomData,
        }
    }
}

// SAFETY: a shared guard only gives out &T (Deref), so sharing it across threads is
// sharing &T, which T: Sync allows.
unsafe impl<T: Sync> Sync for MutexGuard<'_, T> {}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the lock is held, so no other reference to the value exists.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and &mut self makes this the only one.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard holds the lock.
        unsafe { sys::enif_mutex_unlock(self.mutex.raw) }
    }
}

/// A reader-writer lock created by the VM (`enif_rwlock_*`), named for its lock
/// checker: many readers at once, or one writer. Fine's `fine::SharedMutex`.
///
/// Like [`Mutex`] (and unlike `std::sync::RwLock`) it has no poisoning: a panic or a
/// raise while a guard is held unwinds through the guard, which unlocks; the value
/// stays as the panicking code left it, and the next `read`/`write` succeeds. Keep the
/// value consistent at every point a panic could happen, or mark it yourself.
///
/// A thread that already holds the lock (for reading or writing) must not lock it
/// again: that deadlocks (the VM's rwlock is not reentrant, and a waiting writer
/// blocks new readers).
pub struct RwLock<T> {
    raw: *mut sys::ErlNifRWLock,
    value: UnsafeCell<T>,
}

// SAFETY: as std::sync::RwLock: moving the lock moves the value (T: Send); sharing it
// hands out &T to several threads at once (T: Sync) and &mut T to one at a time
// (T: Send). The VM rwlock may be locked and unlocked from any thread, each guard
// unlocking on the thread that locked.
unsafe impl<T: Send> Send for RwLock<T> {}
unsafe impl<T: Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new lock named `name` (shown by the lock checker). Raises if the VM cannot
    /// create it (see [`try_new`](Self::try_new)).
    #[track_caller]
    pub fn new(name: &CStr, value: T) -> RwLock<T> {
        RwLock::try_new(name, value).unwrap_or_else(|error| crate::raise(error))
    }

    /// A new lock named `name`, or an error if the VM cannot create it.
    pub fn try_new(name: &CStr, value: T) -> Result<RwLock<T>, crate::Error> {
        // SAFETY: enif_rwlock_create copies the name; it returns NULL only when out of
        // memory.
        let raw = unsafe { sys::enif_rwlock_create(name.as_ptr() as *mut _) };
        if raw.is_null() {
            return Err(crate::Error::exception(
                "Elixir.SystemLimitError",
                "enif_rwlock_create failed",
            ));
        }
        Ok(RwLock {
            raw,
            value: UnsafeCell::new(value),
        })
    }

    /// Locks for reading (shared), blocking while a writer holds the lock.
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        // SAFETY: raw is a live rwlock; the guard read-unlocks it.
        unsafe { sys::enif_rwlock_rlock(self.raw) };
        RwLockReadGuard {
            lock: self,
            _not_send: PhantomData,
        }
    }

    /// Locks for reading if no writer holds the lock right now.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        // SAFETY: raw is a live rwlock; 0 means we hold it for reading.
        (unsafe { sys::enif_rwlock_tryrlock(self.raw) } == 0).then(|| RwLockReadGuard {
            lock: self,
            _not_send: PhantomData,
        })
    }

    /// Locks for writing (exclusive), blocking while anyone holds the lock.
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        // SAFETY: raw is a live rwlock; the guard write-unlocks it.
        unsafe { sys::enif_rwlock_rwlock(self.raw) };
        RwLockWriteGuard {
            lock: self,
            _not_send: PhantomData,
        }
    }

    /// Locks for writing if nobody holds the lock right now.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        // SAFETY: raw is a live rwlock; 0 means we hold it for writing.
        (unsafe { sys::enif_rwlock_tryrwlock(self.raw) } == 0).then(|| RwLockWriteGuard {
            lock: self,
            _not_send: PhantomData,
        })
    }

    /// The value, without locking: `&mut self` proves nobody else holds the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    pub fn into_inner(self) -> T {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: we own the lock (no guard borrows it): destroy it once and move the
        // value out once; `this` is never dropped.
        unsafe {
            sys::enif_rwlock_destroy(this.raw);
            std::ptr::read(this.value.get())
        }
    }
}

impl<T> Drop for RwLock<T> {
    fn drop(&mut self) {
        // SAFETY: no guard can outlive a borrow of self, so the lock is free.
        unsafe { sys::enif_rwlock_destroy(self.raw) }
    }
}

/// Holds a [`RwLock`] for reading; read-unlocks when dropped. Not `Send` (the thread
/// that locked unlocks), `Sync` when `T: Sync`, as `std::sync::RwLockReadGuard`.
pub struct RwLockReadGuard<'a, T> {
    lock: &'a RwLock<T>,
    _not_send: PhantomData<*const ()>,
}

/// Holds a [`RwLock`] for writing; write-unlocks when dropped. Not `Send`, `Sync` when
/// `T: Sync`, as `std::sync::RwLockWriteGuard`.
pub struct RwLockWriteGuard<'a, T> {
    lock: &'a RwLock<T>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: a shared guard gives out only &T, so sharing it is sharing &T (T: Sync).
unsafe impl<T: Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: as above: through &guard only Deref (&T) is reachable.
unsafe impl<T: Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the read lock is held: no writer exists, other readers only read.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard holds the lock for reading.
        unsafe { sys::enif_rwlock_runlock(self.lock.raw) }
    }
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write lock is held: no other reference to the value exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and &mut self makes this the only one.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard holds the lock for writing.
        unsafe { sys::enif_rwlock_rwunlock(self.lock.raw) }
    }
}

/// A condition variable created by the VM (`enif_cond_*`), named for its lock
/// checker, used with a [`Mutex`]. Fine's `fine::ConditionVariable`.
///
/// As with `std::sync::Condvar`, waits may wake spuriously (use
/// [`wait_while`](Self::wait_while)), and a condition variable is bound to the first
/// mutex it waits with: waiting with another one panics (the VM's condition variable,
/// like pthread's, is undefined with two mutexes at once).
///
/// erl_nif has no timed wait, so [`wait_timeout`](Self::wait_timeout) releases the
/// mutex and parks the thread (registered with the condition variable, which unparks
/// it on every notify) until a notify or the deadline, then locks again.
///
/// Waiting blocks the OS thread: on a normal scheduler that stalls every process
/// scheduled there. Wait on a dirty scheduler (`schedule = "dirty_io"`) or a thread of
/// your own.
pub struct Condvar {
    raw: *mut sys::ErlNifCond,
    /// The `ErlNifMutex` this condition variable waits with (NULL until the first wait).
    mutex: std::sync::atomic::AtomicPtr<sys::ErlNifMutex>,
    /// Bumped by every notify: a timed waiter returns when it changes.
    epoch: std::sync::atomic::AtomicU64,
    /// The threads in a timed wait, unparked by every notify.
    timed: std::sync::Mutex<Vec<(u64, std::thread::Thread)>>,
    next_waiter: std::sync::atomic::AtomicU64,
}

// SAFETY: the VM condition variable may be signalled and waited on from any thread;
// the other fields are atomics and a std mutex.
unsafe impl Send for Condvar {}
unsafe impl Sync for Condvar {}

/// Whether a timed wait returned because its time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Condvar {
    /// A new condition variable named `name`. Raises if the VM cannot create it (see
    /// [`try_new`](Self::try_new)).
    #[track_caller]
    pub fn new(name: &CStr) -> Condvar {
        Condvar::try_new(name).unwrap_or_else(|error| crate::raise(error))
    }

    /// A new condition variable named `name`, or an error if the VM cannot create it.
    pub fn try_new(name: &CStr) -> Result<Condvar, crate::Error> {
        // SAFETY: enif_cond_create copies the name; it returns NULL only when out of
        // memory.
        let raw = unsafe { sys::enif_cond_create(name.as_ptr() as *mut _) };
        if raw.is_null() {
            return Err(crate::Error::exception(
                "Elixir.SystemLimitError",
                "enif_cond_create failed",
            ));
        }
        Ok(Condvar {
            raw,
            mutex: std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()),
            epoch: std::sync::atomic::AtomicU64::new(0),
            timed: std::sync::Mutex::new(Vec::new()),
            next_waiter: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Binds this condition variable to `mutex` on first use; panics on another one.
    #[track_caller]
    fn bind(&self, mutex: *mut sys::ErlNifMutex) {
        use std::sync::atomic::Ordering::SeqCst;
        match self
            .mutex
            .compare_exchange(std::ptr::null_mut(), mutex, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(bound) if bound == mutex => {}
            Err(_) => panic!("oxbeam::sync::Condvar used with two different mutexes"),
        }
    }

    /// Releases the guard's mutex, waits for a notify (or a spurious wakeup), and
    /// locks the mutex again.
    #[track_caller]
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.bind(guard.mutex.raw);
        // SAFETY: the guard holds its mutex, the one this condition variable is bound
        // to; enif_cond_wait unlocks it while waiting and holds it again on return,
        // so the guard still holds it.
        unsafe { sys::enif_cond_wait(self.raw, guard.mutex.raw) };
        guard
    }

    /// Waits until `condition` returns false (checked first, and after each wakeup,
    /// with the mutex held).
    #[track_caller]
    pub fn wait_while<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while condition(&mut guard) {
            guard = self.wait(guard);
        }
        guard
    }

    /// Like [`wait`](Self::wait), giving up after `timeout`.
    #[track_caller]
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: std::time::Duration,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
        use std::sync::atomic::Ordering::SeqCst;
        self.bind(guard.mutex.raw);
        let deadline = std::time::Instant::now().checked_add(timeout);
        // Read with the mutex held: a notify that follows a change the waiter must see
        // (made under the mutex) bumps the epoch after this read.
        let epoch = self.epoch.load(SeqCst);
        let id = self.next_waiter.fetch_add(1, SeqCst);
        self.timed_waiters().push((id, std::thread::current()));
        // SAFETY: the guard holds the mutex; it is locked again below before the guard
        // is used or returned.
        unsafe { sys::enif_mutex_unlock(guard.mutex.raw) };
        let mut notified = false;
        loop {
            if self.epoch.load(SeqCst) != epoch {
                notified = true;
                break;
            }
            let now = std::time::Instant::now();
            match deadline {
                Some(deadline) if now >= deadline => break,
                Some(deadline) => std::thread::park_timeout(deadline - now),
                None => std::thread::park(),
            }
        }
        self.timed_waiters().retain(|(waiter, _)| *waiter != id);
        // SAFETY: takes back the lock the guard stands for (released above).
        unsafe { sys::enif_mutex_lock(guard.mutex.raw) };
        (guard, WaitTimeoutResult(!notified))
    }

    /// Waits until `condition` returns false or `timeout` has passed; the result says
    /// whether it timed out with the condition still true.
    #[track_caller]
    pub fn wait_timeout_while<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        timeout: std::time::Duration,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
        let start = std::time::Instant::now();
        loop {
            if !condition(&mut guard) {
                return (guard, WaitTimeoutResult(false));
            }
            let Some(left) = timeout.checked_sub(start.elapsed()) else {
                return (guard, WaitTimeoutResult(true));
            };
            guard = self.wait_timeout(guard, left).0;
        }
    }

    /// Wakes one waiting thread (and every thread in a timed wait, which then sees a
    /// spurious wakeup if it was not the one).
    pub fn notify_one(&self) {
        self.wake_timed();
        // SAFETY: raw is a live condition variable.
        unsafe { sys::enif_cond_signal(self.raw) }
    }

    /// Wakes every waiting thread.
    pub fn notify_all(&self) {
        self.wake_timed();
        // SAFETY: raw is a live condition variable.
        unsafe { sys::enif_cond_broadcast(self.raw) }
    }

    fn wake_timed(&self) {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        for (_, thread) in self.timed_waiters().iter() {
            thread.unpark();
        }
    }

    /// The registry of timed waiters. Nothing panics while it is held, so it is never
    /// poisoned; a poisoned one is used as is anyway.
    fn timed_waiters(&self) -> std::sync::MutexGuard<'_, Vec<(u64, std::thread::Thread)>> {
        self.timed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Condvar {
    fn drop(&mut self) {
        // SAFETY: a waiter borrows self for the whole wait, so none is left.
        unsafe { sys::enif_cond_destroy(self.raw) }
    }
}

impl std::fmt::Debug for Condvar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Condvar")
    }
}
