// A guard must be unlocked by the thread that locked (enif_mutex_unlock from another
// thread is undefined), so it cannot be sent, as std's guard.
use oxbeam::sync::MutexGuard;

fn send<T: Send>() {}

fn main() {
    send::<MutexGuard<'static, i32>>();
}
