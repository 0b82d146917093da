//! [`Error`], [`Result`] and [`raise`]: raising Elixir exceptions from Rust.
//!
//! A `#[nif]` returning `oxbeam::Result<T>` returns `T` or raises the error. `?`
//! converts any `std::error::Error` into a `RuntimeError` carrying its `Display` text.
//! [`raise`] raises from any depth of plain Rust code: it unwinds to the NIF boundary
//! (without running the panic hook), where the exception is raised.

use crate::atom::Atom;
use crate::atoms;
use crate::codec::Encode;
use crate::env::Env;
use crate::sys;
use crate::term::Term;
use std::fmt;

/// `Result<T, oxbeam::Error>`: what a raising `#[nif]` returns.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An exception (or any term) to raise in the calling Elixir process.
///
/// `Error` deliberately does not implement `std::error::Error`, so that `?` can turn
/// every `std::error::Error` into an `Error`.
pub struct Error {
    kind: Kind,
}

enum Kind {
    /// `%{__struct__: module, __exception__: true, message: message}`.
    Exception { module: String, message: String },
    /// A bare atom: `raise ErlangError`-style `:badarg`, `:my_reason`, ...
    Atom(String),
    /// `:badarg` with a message (see [`Error::badarg`]).
    Badarg(String),
    /// Any term, kept in an environment of its own until it is raised.
    Term(SavedTerm),
}

impl Error {
    /// Raises the Elixir exception `module` (e.g. `"ArgumentError"` or
    /// `"Elixir.MyApp.Error"`; the `Elixir.` prefix is added when missing) with a
    /// `message` field.
    pub fn exception(module: impl Into<String>, message: impl Into<String>) -> Error {
        let mut module = module.into();
        if !module.starts_with("Elixir.") {
            module.insert_str(0, "Elixir.");
        }
        Error {
            kind: Kind::Exception {
                module,
                message: message.into(),
            },
        }
    }

    /// `ArgumentError` with `message`.
    pub fn argument_error(message: impl Into<String>) -> Error {
        Error::exception("Elixir.ArgumentError", message)
    }

    /// `:badarg` with `message`, as Rustler's `Error::BadArg` with a reason: raised by a
    /// `#[nif]` (or [`raise`]d during its call), it reaches the caller through the
    /// wrapper `use Oxbeam` generates as the error `:badarg` with EEP 54 `error_info`,
    /// so `catch error:badarg` matches, and Elixir shows
    /// `** (ArgumentError) MyApp.Native.f/2: message`. Where no wrapper is (a library
    /// built with `init!(..., wrappers = false)`, a thread's result): `ArgumentError`
    /// with `message`.
    pub fn badarg(message: impl Into<String>) -> Error {
        Error {
            kind: Kind::Badarg(message.into()),
        }
    }

    /// The message of an [`Error::badarg`].
    pub(crate) fn badarg_message(&self) -> Option<&str> {
        match &self.kind {
            Kind::Badarg(message) => Some(message),
            _ => None,
        }
    }

    /// `RuntimeError` with `message`.
    pub fn runtime_error(message: impl Into<String>) -> Error {
        Error::exception("Elixir.RuntimeError", message)
    }

    /// Raises the atom `name` (Elixir sees an `ErlangError` with `original: name`, or
    /// `ArgumentError` for `:badarg`).
    pub fn atom(name: impl Into<String>) -> Error {
        Error {
            kind: Kind::Atom(name.into()),
        }
    }

    /// Raises `term` itself (copied, so the error may outlive the call that built it).
    pub fn term(env: Env<'_>, term: Term<'_>) -> Error {
        Error {
            kind: Kind::Term(SavedTerm::new(env, term)),
        }
    }

    /// Raises the exception struct `module` with the fields `fields` builds, as
    /// `raise %MyLib.MyError{data: 42}` would (Fine's `fine::raise(env, ExMyError{42})`):
    ///
    /// ```ignore
    /// Error::exception_with("MyLib.MyError", |env| vec![("data", 42.encode(env))])
    /// ```
    ///
    /// The map gets `__struct__: module` and `__exception__: true` (these two win over
    /// fields of the same name; of two fields with one name, the last wins). Fields
    /// the module declares but `fields` leaves out are absent, so the module's
    /// `message/1` must not need them. The `Elixir.` prefix is added when missing.
    pub fn exception_with(
        module: impl Into<String>,
        fields: impl for<'a> FnOnce(Env<'a>) -> Vec<(&'static str, Term<'a>)>,
    ) -> Error {
        let mut module = module.into();
        if !module.starts_with("Elixir.") {
            module.insert_str(0, "Elixir.");
        }
        Error::encoded(move |env| {
            let Some(module) = Atom::try_from_str(env, &module) else {
                let message = format!("bad exception module name {module:?}");
                return exception_term(env, "Elixir.ArgumentError", &message);
            };
            let mut entries = Vec::new();
            for (name, value) in fields(env) {
                match Atom::try_from_str(env, name) {
                    Some(key) => entries.push((key.to_term(env), value)),
                    None => {
                        let message = format!("bad exception field name {name:?}");
                        return exception_term(env, "Elixir.ArgumentError", &message);
                    }
                }
            }
            entries.push((atoms::__struct__().to_term(env), module.to_term(env)));
            entries.push((
                atoms::__exception__().to_term(env),
                atoms::true_().to_term(env),
            ));
            crate::types::map::MapFromIter(entries).encode(env)
        })
    }

    /// Raises the term `encode` builds (in an environment of the error's own, so the
    /// error may be made where no call environment is at hand, as in `From`).
    pub fn encoded(encode: impl for<'a> FnOnce(Env<'a>) -> Term<'a>) -> Error {
        Error {
            kind: Kind::Term(SavedTerm::build(encode)),
        }
    }

    /// Raises this error in `env`: sets the pending exception and returns the value
    /// the NIF must return.
    pub(crate) fn raise_in(self, env: Env<'_>) -> sys::ERL_NIF_TERM {
        let reason = self.to_term(env);
        // SAFETY: reason belongs to env; the NIF returns the result immediately.
        unsafe { sys::enif_raise_exception(env.as_raw(), reason.as_raw()) }
    }

    /// The term that is raised.
    pub fn to_term<'a>(&self, env: Env<'a>) -> Term<'a> {
        match &self.kind {
            Kind::Exception { module, message } => exception_term(env, module, message),
            Kind::Badarg(message) => exception_term(env, "Elixir.ArgumentError", message),
            Kind::Atom(name) => match Atom::try_from_str(env, name) {
                Some(atom) => atom.to_term(env),
                None => exception_term(env, "Elixir.ArgumentError", &format!("bad atom {name:?}")),
            },
            Kind::Term(saved) => saved.copy_into(env),
        }
    }
}

/// `%{__struct__: module, __exception__: true, message: message}`.
pub(crate) fn exception_term<'a>(env: Env<'a>, module: &str, message: &str) -> Term<'a> {
    let module = match module {
        "Elixir.ArgumentError" => atoms::argument_error(),
        "Elixir.RuntimeError" => atoms::runtime_error(),
        _ => match Atom::try_from_str(env, module) {
            Some(atom) => atom,
            None => atoms::runtime_error(),
        },
    };
    let mut keys = [
        atoms::__struct__().as_raw(),
        atoms::__exception__().as_raw(),
        atoms::message().as_raw(),
    ];
    let mut values = [
        module.as_raw(),
        atoms::true_().as_raw(),
        crate::types::string::make_binary(env, message.as_bytes()).as_raw(),
    ];
    let mut map = 0;
    // SAFETY: keys/values hold 3 valid terms of env each; the keys are distinct atoms,
    // so enif_make_map_from_arrays cannot fail.
    unsafe {
        sys::enif_make_map_from_arrays(
            env.as_raw(),
            keys.as_mut_ptr(),
            values.as_mut_ptr(),
            3,
            &mut map,
        );
        Term::from_raw(map)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Exception { module, message } => {
                write!(
                    f,
                    "Error({}: {message:?})",
                    module.trim_start_matches("Elixir.")
                )
            }
            Kind::Atom(name) => write!(f, "Error(:{name})"),
            Kind::Badarg(message) => write!(f, "Error(:badarg: {message:?})"),
            Kind::Term(_) => write!(f, "Error(<term>)"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Exception { module, message } => {
                write!(f, "({}) {message}", module.trim_start_matches("Elixir."))
            }
            Kind::Atom(name) => write!(f, ":{name}"),
            Kind::Badarg(message) => write!(f, "(ArgumentError) {message}"),
            Kind::Term(_) => write!(f, "a raised term"),
        }
    }
}

/// `?` on any standard error raises `RuntimeError` with the error's `Display` text.
impl<E: std::error::Error> From<E> for Error {
    fn from(error: E) -> Error {
        Error::runtime_error(error.to_string())
    }
}

/// What [`raise`] unwinds with; caught at the NIF boundary.
pub(crate) struct RaisePayload(
    pub(crate) Error,
    pub(crate) &'static std::panic::Location<'static>,
);

impl RaisePayload {
    /// `raised at src/lib.rs:12:5: (ArgumentError) message`, for reports.
    pub(crate) fn describe(&self) -> String {
        format!("raised at {}: {}", self.1, self.0)
    }
}

/// Raises `error` in the calling Elixir process from any depth of Rust code called by
/// a NIF: the stack unwinds (destructors run) to the NIF boundary, which raises it.
///
/// Must only be called on a thread that is running a NIF call. Elsewhere (a thread of
/// your own) it unwinds that thread like a panic. Inside a resource destructor, a
/// `down` callback or a load/unload hook, the error is logged (with where it was
/// raised), as nobody is there to receive it.
///
/// Like a panic, it aborts the process if called from a `Drop` that runs while the
/// thread is already unwinding: use the `try_` forms there.
#[track_caller]
pub fn raise(error: impl Into<Error>) -> ! {
    let location = std::panic::Location::caller();
    std::panic::resume_unwind(Box::new(RaisePayload(error.into(), location)))
}

/// A term copied into an environment owned by the error.
struct SavedTerm {
    env: *mut sys::ErlNifEnv,
    term: sys::ERL_NIF_TERM,
}

// SAFETY: a process-independent environment (enif_alloc_env) may be used from any
// thread, one thread at a time; SavedTerm owns it exclusively.
unsafe impl Send for SavedTerm {}

impl SavedTerm {
    fn new(env: Env<'_>, term: Term<'_>) -> SavedTerm {
        // SAFETY: enif_alloc_env has no preconditions; enif_make_copy copies a term of
        // `env` into the new environment, where it stays valid until enif_free_env.
        unsafe {
            let own = sys::enif_alloc_env();
            let copied = sys::enif_make_copy(own, term.as_raw());
            let _ = env;
            SavedTerm {
                env: own,
                term: copied,
            }
        }
    }

    fn build(encode: impl for<'a> FnOnce(Env<'a>) -> Term<'a>) -> SavedTerm {
        // SAFETY: enif_alloc_env has no preconditions; the environment is ours until
        // Drop, and the term is built in it (so valid until enif_free_env).
        unsafe {
            let own = sys::enif_alloc_env();
            let term = encode(Env::from_raw(own)).as_raw();
            SavedTerm { env: own, term }
        }
    }

    fn copy_into<'a>(&self, env: Env<'a>) -> Term<'a> {
        // SAFETY: self.term is valid in self.env, which is alive; the copy is valid in env.
        unsafe { Term::from_raw(sys::enif_make_copy(env.as_raw(), self.term)) }
    }
}

impl Drop for SavedTerm {
    fn drop(&mut self) {
        // SAFETY: we own the environment and free it exactly once.
        unsafe { sys::enif_free_env(self.env) }
    }
}
