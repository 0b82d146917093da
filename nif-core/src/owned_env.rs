//! [`OwnedEnv`]: an environment not tied to a NIF call, to build terms and send them
//! from any thread; [`SavedTerm`]: a term kept past the call that made it.

use crate::env::Env;
use crate::error::Error;
use crate::sys;
use crate::term::Term;
use crate::types::pid::LocalPid;

/// A process-independent environment (`enif_alloc_env`), e.g. for a worker thread that
/// reports to a process.
///
/// ```ignore
/// std::thread::spawn(move || {
///     let mut env = OwnedEnv::new();
///     for i in 0..100 {
///         env.send_and_clear(&pid, |env| (atoms::progress(), i).encode(env));
///     }
/// });
/// ```
pub struct OwnedEnv {
    raw: *mut sys::ErlNifEnv,
}

// SAFETY: a process-independent environment may be used from any thread, one thread
// at a time; OwnedEnv is not Sync and its methods take &mut self or &self for reads.
unsafe impl Send for OwnedEnv {}

impl OwnedEnv {
    pub fn new() -> OwnedEnv {
        // SAFETY: no preconditions.
        OwnedEnv {
            raw: unsafe { sys::enif_alloc_env() },
        }
    }

    /// Runs `f` with this environment: terms built in it stay valid until the next
    /// [`clear`](Self::clear) or [`send_and_clear`](Self::send_and_clear).
    pub fn run<R>(&mut self, f: impl for<'a> FnOnce(Env<'a>) -> R) -> R {
        // SAFETY: the environment lives as long as self, and &mut self prevents a
        // clear while f runs.
        f(unsafe { Env::from_raw(self.raw) })
    }

    /// Builds a message with `f` and sends it to `pid`, then clears the environment.
    ///
    /// Works from a thread the VM does not manage (one you spawned) and inside a
    /// resource callback ([`Resource::destructor`](crate::Resource::destructor),
    /// `down`, `stop`), on whatever thread the VM runs it. From a NIF, use
    /// [`Env::send`]. Returns `Err` if the process is not alive or the thread is a VM
    /// thread outside a resource callback (erl_nif needs the caller's environment
    /// there).
    pub fn send_and_clear(
        &mut self,
        pid: &LocalPid,
        f: impl for<'a> FnOnce(Env<'a>) -> Term<'a>,
    ) -> Result<(), Error> {
        // SAFETY: enif_thread_type has no preconditions.
        let caller = if unsafe { sys::enif_thread_type() } as u32 == sys::ERL_NIF_THR_UNDEFINED {
            std::ptr::null_mut()
        } else {
            match CallbackEnv::current() {
                Some(env) => env,
                None => {
                    return Err(Error::runtime_error(
                        "OwnedEnv::send_and_clear called on a VM thread outside a resource \
                         callback: use Env::send inside a NIF",
                    ))
                }
            }
        };
        let message = self.run(|env| f(env).as_raw());
        // SAFETY: caller is NULL on a thread the VM does not manage (as erl_nif
        // requires there), else the environment of the resource callback running on
        // this thread (CallbackEnv, set only for the callback's duration); the message
        // is a term of self.raw, which enif_send invalidates (we clear it right after).
        let sent = unsafe { sys::enif_send(caller, pid.as_raw(), self.raw, message) };
        self.clear();
        if sent != 0 {
            Ok(())
        } else {
            Err(Error::argument_error(
                "cannot send to a process that is not alive",
            ))
        }
    }

    /// Frees every term built in this environment.
    pub fn clear(&mut self) {
        // SAFETY: we own the environment; no term of it can outlive &mut self borrows.
        unsafe { sys::enif_clear_env(self.raw) }
    }
}

impl Default for OwnedEnv {
    fn default() -> Self {
        OwnedEnv::new()
    }
}

impl Drop for OwnedEnv {
    fn drop(&mut self) {
        // SAFETY: we own the environment and free it once.
        unsafe { sys::enif_free_env(self.raw) }
    }
}

/// A term copied out of its call, kept as long as you like, and copied into another
/// environment with [`get`](Self::get).
pub struct SavedTerm {
    // Owns the memory of `term`.
    _env: OwnedEnv,
    term: sys::ERL_NIF_TERM,
}

impl SavedTerm {
    pub fn new(term: Term<'_>) -> SavedTerm {
        let env = OwnedEnv::new();
        // SAFETY: enif_make_copy copies any valid term into env.raw.
        let term = unsafe { sys::enif_make_copy(env.raw, term.as_raw()) };
        SavedTerm { _env: env, term }
    }

    /// The saved term, copied into `env`.
    pub fn get<'a>(&self, env: Env<'a>) -> Term<'a> {
        // SAFETY: self.term is a term of self.env, alive as long as self.
        unsafe { Term::from_raw(sys::enif_make_copy(env.as_raw(), self.term)) }
    }
}

thread_local! {
    /// The environment of the resource callback running on this thread, if any.
    static CALLBACK_ENV: std::cell::Cell<*mut sys::ErlNifEnv> =
        const { std::cell::Cell::new(std::ptr::null_mut()) };
}

/// Marks a resource callback's environment as this thread's caller environment for
/// its duration (so [`OwnedEnv::send_and_clear`] can pass it to `enif_send`); the
/// previous one (a callback nested in another, e.g. a destructor run by a `down`) is
/// restored on drop, also on unwind.
pub(crate) struct CallbackEnv {
    previous: *mut sys::ErlNifEnv,
}

impl CallbackEnv {
    pub(crate) fn enter(env: Env<'_>) -> CallbackEnv {
        let previous = CALLBACK_ENV.with(|cell| cell.replace(env.as_raw()));
        CallbackEnv { previous }
    }

    fn current() -> Option<*mut sys::ErlNifEnv> {
        let env = CALLBACK_ENV.with(|cell| cell.get());
        (!env.is_null()).then_some(env)
    }
}

impl Drop for CallbackEnv {
    fn drop(&mut self) {
        CALLBACK_ENV.with(|cell| cell.set(self.previous));
    }
}
