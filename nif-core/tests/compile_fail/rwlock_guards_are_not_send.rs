// A rwlock guard must be unlocked by the thread that locked it (enif_rwlock_runlock or
// rwunlock from another thread is undefined), so neither guard can be sent, as std's.
use oxbeam::sync::{RwLockReadGuard, RwLockWriteGuard};

fn send<T: Send>() {}

fn main() {
    send::<RwLockReadGuard<'static, i32>>();
    send::<RwLockWriteGuard<'static, i32>>();
}
