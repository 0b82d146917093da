//! The auto traits of oxbeam's public types, pinned at compile time (the negative
//! cases, "is not Send/Sync", are in `compile_fail/`). If one of these stops
//! compiling, a type's thread safety changed: check that the change is sound.

use oxbeam::sync::{Mutex, MutexGuard};
use oxbeam::{
    Atom, BigInteger, Error, LocalPid, Monitor, OwnedBinary, OwnedEnv, Resource, ResourceArc,
    SavedTerm,
};

fn send<T: Send>() {}
fn sync<T: Sync>() {}

/// Checked for every resource type (generic bodies are type-checked as written).
#[allow(dead_code)]
fn resource_handles<T: Resource>() {
    send::<ResourceArc<T>>();
    sync::<ResourceArc<T>>();
}

#[test]
fn thread_safe_types_are_send_and_sync() {
    // Global or plain values.
    send::<Atom>();
    sync::<Atom>();
    send::<LocalPid>();
    sync::<LocalPid>();
    send::<Monitor>();
    sync::<Monitor>();
    send::<BigInteger>();
    sync::<BigInteger>();
    // Locks: like std::sync::Mutex.
    send::<Mutex<i32>>();
    sync::<Mutex<i32>>();
    send::<Mutex<std::cell::Cell<i32>>>();
    sync::<Mutex<std::cell::Cell<i32>>>();
    // A guard is shared only as &T.
    sync::<MutexGuard<'static, i32>>();
}

#[test]
fn owned_values_can_move_to_another_thread() {
    send::<OwnedEnv>();
    send::<SavedTerm>();
    send::<OwnedBinary>();
    send::<Error>();
    send::<oxbeam::StepRange<i64>>();
    sync::<oxbeam::StepRange<i64>>();
}
