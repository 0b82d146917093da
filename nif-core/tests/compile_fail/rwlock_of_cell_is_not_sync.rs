// Readers share &T across threads at once, so a RwLock is Sync only for T: Sync (a
// Mutex needs only T: Send); a guard shared across threads shares &T, so it is Sync
// only for T: Sync, as std's.
use oxbeam::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::cell::Cell;

fn sync<T: Sync>() {}

fn main() {
    sync::<RwLock<Cell<i32>>>();
    sync::<RwLockReadGuard<'static, Cell<i32>>>();
    sync::<RwLockWriteGuard<'static, Cell<i32>>>();
}
