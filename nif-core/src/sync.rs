//! Locks made by the VM (`enif_mutex_*`), for a NIF library's own shared state: they
//! are named, so they show up in the VM's lock checker and lock counting
//! (`erl -emu_type lcnt`), which `std::sync::Mutex` does not.
//!
//! Like any lock inside a NIF, hold one only briefly: a scheduler thread blocked on it
//! blocks every process scheduled there.

use crate::sys;
use std::cell::UnsafeCell;
use std::ffi::CStr;
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
    /// A new lock named `name` (shown by the lock checker).
    pub fn new(name: &CStr, value: T) -> Mutex<T> {
        // SAFETY: enif_mutex_create copies the name; it returns NULL only when out of
        // memory.
        let raw = unsafe { sys::enif_mutex_create(name.as_ptr() as *mut _) };
        assert!(!raw.is_null(), "enif_mutex_create failed");
        Mutex {
            raw,
            value: UnsafeCell::new(value),
        }
    }

    /// Locks, blocking the calling thread until the lock is free.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        // SAFETY: raw is a live mutex; the guard unlocks it.
        unsafe { sys::enif_mutex_lock(self.raw) };
        MutexGuard { mutex: self }
    }

    /// Locks if free right now.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        // SAFETY: raw is a live mutex; 0 means we hold it.
        (unsafe { sys::enif_mutex_trylock(self.raw) } == 0).then_some(MutexGuard { mutex: self })
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
pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
}

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
