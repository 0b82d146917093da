//! The auto traits of `oxbeam::sync`'s rwlock and condition variable, pinned at compile
//! time like `auto_traits.rs` (the negative cases are `compile_fail/rwlock_*.rs`): the
//! same as `std::sync::RwLock` and `std::sync::Condvar`.

use oxbeam::sync::{Condvar, RwLock, RwLockReadGuard, RwLockWriteGuard, WaitTimeoutResult};

fn send<T: Send>() {}
fn sync<T: Sync>() {}

#[test]
fn rwlock_and_condvar_are_thread_safe_like_std() {
    send::<RwLock<i32>>();
    sync::<RwLock<i32>>();
    // A RwLock of a Send-only value can move, not be shared (readers would share it).
    send::<RwLock<std::cell::Cell<i32>>>();
    // Guards are shared only as &T.
    sync::<RwLockReadGuard<'static, i32>>();
    sync::<RwLockWriteGuard<'static, i32>>();
    send::<Condvar>();
    sync::<Condvar>();
    send::<WaitTimeoutResult>();
    sync::<WaitTimeoutResult>();
}
