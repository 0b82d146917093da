//! [`spawn`]: run a closure on a new thread and send its result to the calling
//! process — the pattern otherwise written by hand with `std::thread` and
//! [`OwnedEnv`](crate::OwnedEnv).

use crate::env::Env;
use crate::error::{Error, RaisePayload};
use crate::owned_env::OwnedEnv;
use crate::term::Term;
use crate::types::pid::LocalPid;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f` on a new OS thread with an environment of its own, and sends the term it
/// returns to the process that called the NIF. If `f` panics, the message is
/// `{:error, %RuntimeError{message: "panicked at src/lib.rs:7:5: ..."}}`; if it calls
/// [`raise`](crate::raise), `{:error, exception}` with what was raised (the same
/// exception the NIF call would have raised). Nothing is printed.
///
/// ```ignore
/// #[nif]
/// fn slow_sum(env: Env<'_>, xs: Vec<i64>) -> Atom {
///     oxbeam::thread::spawn(env, move |env| (atoms::sum(), xs.iter().sum::<i64>()).encode(env));
///     atoms::ok()
/// }
/// ```
///
/// Raises `RuntimeError` when the calling environment has no process (an owned
/// environment) or the OS refuses a new thread. A message to a process that has
/// exited is dropped.
pub fn spawn<F>(env: Env<'_>, f: F) -> std::thread::JoinHandle<()>
where
    F: for<'a> FnOnce(Env<'a>) -> Term<'a> + Send + 'static,
{
    let pid = env.pid();
    std::thread::Builder::new()
        .name("oxbeam-thread".into())
        .spawn(move || run(pid, f))
        .unwrap_or_else(|error| {
            crate::raise(Error::runtime_error(format!(
                "oxbeam::thread::spawn: cannot start a thread: {error}"
            )))
        })
}

fn run<F>(pid: LocalPid, f: F)
where
    F: for<'a> FnOnce(Env<'a>) -> Term<'a>,
{
    let mut owned = OwnedEnv::new();
    // The hook records this thread's panic (message and file:line) instead of printing.
    let result = crate::panic::with_hook_recording(|| {
        catch_unwind(AssertUnwindSafe(|| owned.run(|env| f(env).as_raw())))
    });
    let message: Result<_, Error> = match result {
        Ok(raw) => Ok(raw),
        Err(payload) => Err(match payload.downcast::<RaisePayload>() {
            Ok(raised) => raised.0,
            Err(payload) => Error::runtime_error(crate::panic::panic_message(&*payload)),
        }),
    };
    // A send to a process that has exited fails; nobody is left to tell.
    let _ = owned.send_and_clear(&pid, |env| match message {
        // SAFETY: raw was built in this same environment by f, which has not been
        // cleared since.
        Ok(raw) => unsafe { Term::from_raw(raw) },
        Err(error) => {
            let error_term = error.to_term(env);
            crate::types::tuple::make_tuple(env, &[crate::atoms::error().to_term(env), error_term])
        }
    });
}
