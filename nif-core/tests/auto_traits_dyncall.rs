//! The auto traits of the dynamic resource call's public types, pinned at compile time
//! like `auto_traits.rs`: the error is a plain value (strings and numbers), free to
//! move and share across threads.

use oxbeam::resource::DynCallError;

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn unpin<T: Unpin>() {}

#[test]
fn dynamic_call_errors_are_plain_values() {
    send::<DynCallError>();
    sync::<DynCallError>();
    unpin::<DynCallError>();
}

/// Type-checked, never run (a test binary has no VM to link against): a
/// `std::error::Error`, so `?` turns it into an `oxbeam::Error` (a RuntimeError).
#[allow(dead_code)]
fn converts_into_an_oxbeam_error(error: DynCallError) -> oxbeam::Error {
    fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
    is_error::<DynCallError>();
    error.into()
}
