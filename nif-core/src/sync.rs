//! Locks made by the VM (`enif_mutex_*`), for a NIF library's own shared state: they
//! are named, so they show up in the VM's lock checker and lock counting
//! (`erl -emu_type lcnt`), which `std::sync::Mutex` does not.
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
