// Sharing &guard shares &T: with a Cell inside, two threads would race on it.
use oxbeam::sync::MutexGuard;
use std::cell::Cell;

fn sync<T: Sync>() {}

fn main() {
    sync::<MutexGuard<'static, Cell<i32>>>();
}
