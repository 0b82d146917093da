//! The NIF call path: what `#[nif]` generates calls into.
//!
//! For `#[nif] fn add(a: i64, b: i64) -> i64`, the macro emits an `extern "C"` wrapper
//! that calls [`call`] with a closure decoding each argument with [`decode_arg`],
//! calling `add`, and encoding the result with [`NifReturn`]. Per call this costs no
//! heap allocation (the arguments are borrowed from `argv`) and one `catch_unwind`.
//! Everything that can go wrong (a bad argument, an `Err`, `raise`, a panic) leaves the
//! closure as a value or an unwind and is raised as an exception by `call`, on a cold
//! path.

use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::error::{Error, RaisePayload};
use crate::sys;
use crate::term::Term;
use std::ffi::{c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The raw signature of a NIF.
pub type RawNif =
    unsafe extern "C" fn(*mut sys::ErlNifEnv, c_int, *const sys::ERL_NIF_TERM) -> sys::ERL_NIF_TERM;

/// One `#[nif]` function, registered with `inventory` and put in the function table
/// by `init!`.
pub struct NifDef {
    /// The Erlang name (`add`, `valid?`).
    pub name: &'static CStr,
    pub arity: u32,
    /// 0, or `ERL_NIF_DIRTY_JOB_CPU_BOUND` / `ERL_NIF_DIRTY_JOB_IO_BOUND`.
    pub flags: u32,
    pub fptr: RawNif,
    /// Argument names, for error messages.
    pub arg_names: &'static [&'static str],
    /// The metadata record the Elixir side reads from the library file to generate the
    /// stub (name, arity, argument names, typespecs, schedule, doc). Keeping it here
    /// keeps it in the binary.
    pub record: &'static [u8],
}

/// Whether a `#[nif]` returning `Result<T, E>` raises `E` on `Err` (`oxbeam::Error`, a
/// derived exception) or returns `{:error, e}`: decided by type, for the NIF's spec.
#[doc(hidden)]
pub trait RaisesOnErr {
    const RAISES: bool;
}

impl RaisesOnErr for Error {
    const RAISES: bool = true;
}

impl<E: Encode<'static>> RaisesOnErr for E {
    const RAISES: bool = <E as Encode<'static>>::RAISES_ON_ERR;
}

/// One of two metadata records, as `N` bytes (the shorter padded with spaces after its
/// end mark), chosen at compile time: only the chosen one is in the library.
#[doc(hidden)]
pub const fn choose_record<const N: usize>(first: bool, a: &str, b: &str) -> [u8; N] {
    let chosen = if first { a.as_bytes() } else { b.as_bytes() };
    let mut out = [b' '; N];
    let mut i = 0;
    while i < chosen.len() && i < N {
        out[i] = chosen[i];
        i += 1;
    }
    out
}

/// Registration of a [`NifDef`], collected by `init!`.
pub struct NifRegistration(pub &'static NifDef);

inventory::collect!(NifRegistration);

/// Why a call did not produce a result.
pub enum CallError<'a> {
    /// Argument `index` (0-based) could not be decoded.
    Arg(usize, DecodeError<'a>),
    /// The function returned `Err(error)`.
    Raise(Error),
    /// The function returned `Err(exception)` of a derived exception type: this term.
    RaiseTerm(Term<'a>),
}

/// Runs one NIF call: the closure `body` decodes, calls and encodes; failures raise.
///
/// # Safety
/// `raw_env`, `argc` and `argv` must be the arguments the VM passed to the NIF.
#[inline(always)]
pub unsafe fn call<F>(
    raw_env: *mut sys::ErlNifEnv,
    argc: c_int,
    argv: *const sys::ERL_NIF_TERM,
    def: &'static NifDef,
    body: F,
) -> sys::ERL_NIF_TERM
where
    F: for<'a> FnOnce(Env<'a>, &'a [Term<'a>]) -> Result<Returned<'a>, CallError<'a>>,
{
    // SAFETY (caller): raw_env is this call's environment, valid until we return.
    let env = unsafe { Env::from_raw(raw_env) };
    let args: &[Term] = if argc == 0 {
        &[]
    } else {
        // SAFETY: the VM passes `argc` valid terms in `argv` for the duration of the
        // call, and `Term` is a transparent wrapper of ERL_NIF_TERM.
        unsafe { std::slice::from_raw_parts(argv as *const Term, argc as usize) }
    };
    match catch_unwind(AssertUnwindSafe(|| body(env, args))) {
        Ok(Ok(result)) => result.0.as_raw(),
        Ok(Err(error)) => raise_call_error(env, def, error),
        Err(payload) => raise_unwind(env, def, args, payload),
    }
}

/// Decodes argument `index`.
#[inline(always)]
pub fn decode_arg<'a, T: Decode<'a>>(
    env: Env<'a>,
    args: &[Term<'a>],
    index: usize,
) -> Result<T, CallError<'a>> {
    match T::decode(args[index], env) {
        Ok(value) => Ok(value),
        Err(error) => Err(CallError::Arg(index, error)),
    }
}

/// What a `#[nif]` may return: any [`Encode`] value (encoded), `oxbeam::Result<T>`
/// (`T` returned, or the error raised), or a [`Scheduled`](crate::Scheduled)
/// continuation ([`Next`](crate::schedule::Next) for either).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a `#[nif]`",
    label = "return an `Encode` type, or `oxbeam::Result<T>` to raise on `Err`"
)]
pub trait NifReturn<'a> {
    fn into_return(self, env: Env<'a>) -> Result<Returned<'a>, CallError<'a>>;
}

/// The term a NIF call returns to the VM. Only the call path can read it: it may be
/// the VM's continuation marker (after `enif_schedule_nif`), which must never be put
/// inside another term.
pub struct Returned<'a>(Term<'a>);

impl<'a> Returned<'a> {
    #[inline(always)]
    pub(crate) fn new(term: Term<'a>) -> Returned<'a> {
        Returned(term)
    }
}

impl<'a, T: Encode<'a>> NifReturn<'a> for T {
    #[inline(always)]
    fn into_return(self, env: Env<'a>) -> Result<Returned<'a>, CallError<'a>> {
        Ok(Returned(self.encode(env)))
    }
}

impl<'a, T: NifReturn<'a>> NifReturn<'a> for Result<T, Error> {
    #[inline(always)]
    fn into_return(self, env: Env<'a>) -> Result<Returned<'a>, CallError<'a>> {
        match self {
            Ok(value) => value.into_return(env),
            Err(error) => Err(CallError::Raise(error)),
        }
    }
}

/// A derived exception type (`#[oxbeam(exception = "...")]`): a `#[nif]` returning
/// `Result<T, E>` raises `E` on `Err` instead of returning `{:error, e}`.
#[doc(hidden)]
pub trait Exception {}

/// A `#[nif]`'s result of type `Result<_, _>`, on its way out: `#[nif]` calls
/// `(&&ReturnSlot::new(result)).take_return(env)`, and method resolution picks
/// [`RaiseException`] when the error type is an [`Exception`] (found first, by
/// autoref), [`ReturnAsIs`] otherwise.
#[doc(hidden)]
pub struct ReturnSlot<T>(std::cell::Cell<Option<T>>);

impl<T> ReturnSlot<T> {
    #[inline(always)]
    pub fn new(value: T) -> ReturnSlot<T> {
        ReturnSlot(std::cell::Cell::new(Some(value)))
    }

    #[inline(always)]
    fn take(&self) -> T {
        match self.0.take() {
            Some(value) => value,
            None => unreachable!("a NIF result is returned once"),
        }
    }
}

#[doc(hidden)]
pub trait RaiseException<'a> {
    fn take_return(&self, env: Env<'a>) -> Result<Returned<'a>, CallError<'a>>;
}

impl<'a, T: NifReturn<'a>, E: Exception + Encode<'a>> RaiseException<'a>
    for &ReturnSlot<Result<T, E>>
{
    #[inline(always)]
    fn take_return(&self, env: Env<'a>) -> Result<Returned<'a>, CallError<'a>> {
        match self.take() {
            Ok(value) => value.into_return(env),
            Err(exception) => Err(CallError::RaiseTerm(exception.encode(env))),
        }
    }
}

#[doc(hidden)]
pub trait ReturnAsIs<'a> {
    fn take_return(&self, env: Env<'a>) -> Result<Returned<'a>, CallError<'a>>;
}

impl<'a, T: NifReturn<'a>> ReturnAsIs<'a> for ReturnSlot<T> {
    #[inline(always)]
    fn take_return(&self, env: Env<'a>) -> Result<Returned<'a>, CallError<'a>> {
        self.take().into_return(env)
    }
}

#[cold]
#[inline(never)]
fn raise_call_error<'a>(env: Env<'a>, def: &NifDef, error: CallError<'a>) -> sys::ERL_NIF_TERM {
    let error = match error {
        CallError::RaiseTerm(term) => {
            // SAFETY: term is a term of env; the NIF returns the result immediately.
            return unsafe { sys::enif_raise_exception(env.as_raw(), term.as_raw()) };
        }
        CallError::Raise(error) => match error.badarg_message() {
            Some(message) => argument_error(def, None, message),
            None => error,
        },
        // Building the message may itself panic (a user Display impl, an inspect bug):
        // never let that unwind into the VM.
        CallError::Arg(index, error) => match catch_unwind(AssertUnwindSafe(|| {
            argument_error(def, Some(index), &error.describe(env))
        })) {
            Ok(error) => error,
            Err(payload) => Error::runtime_error(crate::panic::panic_message(&*payload)),
        },
    };
    error.raise_in(env)
}

/// `Hello.sum/1: argument 1 (xs): element 0 of the list: expected an integer (i64), got: :a`
/// (`hello:sum/1: ...` for an Erlang module).
fn argument_message_with(def: &NifDef, index: Option<usize>, description: &str) -> String {
    let function = crate::init::function_name(&def.name.to_string_lossy(), def.arity);
    match index {
        Some(index) => {
            let arg_name = def.arg_names.get(index).copied().unwrap_or("?");
            format!(
                "{function}: argument {} ({arg_name}): {description}",
                index + 1
            )
        }
        None => format!("{function}: {description}"),
    }
}

/// The error for an argument that does not decode (`index`: which one, when known).
///
/// A module that wraps its NIFs (`init!`'s default) gets
/// `{:"$oxbeam_badarg", "M.f/2", position, "name", "description"}` (position 1-based, 0
/// when unknown), which the wrapper turns into `:badarg` with EEP 54 `error_info`
/// (`Oxbeam.NifError`), so that `catch error:badarg` matches and Elixir's
/// `ArgumentError` has the message `argument_message_with` builds. Otherwise, an
/// `ArgumentError` with that message.
fn argument_error(def: &NifDef, index: Option<usize>, description: &str) -> Error {
    if !crate::init::wrapped() {
        return Error::argument_error(argument_message_with(def, index, description));
    }
    let function = crate::init::function_name(&def.name.to_string_lossy(), def.arity);
    let position = index.map_or(0, |index| index as u64 + 1);
    let arg_name = index
        .and_then(|index| def.arg_names.get(index).copied())
        .unwrap_or("?");
    let message = argument_message_with(def, index, description);
    let description = description.to_string();
    Error::encoded(
        move |env| match crate::atom::Atom::try_from_str(env, "$oxbeam_badarg") {
            Some(tag) => (
                tag,
                function.as_str(),
                position,
                arg_name,
                description.as_str(),
            )
                .encode(env),
            // The atom table is full: the message still gets through.
            None => crate::error::exception_term(env, "Elixir.ArgumentError", &message),
        },
    )
}

#[cold]
#[inline(never)]
fn raise_unwind<'a>(
    env: Env<'a>,
    def: &NifDef,
    args: &[Term<'a>],
    payload: Box<dyn std::any::Any + Send>,
) -> sys::ERL_NIF_TERM {
    let payload = match payload.downcast::<RaisePayload>() {
        Ok(raised) => {
            return match raised.0.badarg_message() {
                Some(message) => argument_error(def, None, message).raise_in(env),
                None => raised.0.raise_in(env),
            }
        }
        Err(payload) => payload,
    };
    let error = match payload.downcast::<LazyArgError>() {
        Ok(lazy) => {
            // The argument is found by comparing term words only: no term in the
            // payload is ever used as a term.
            let index = args.iter().position(|a| a.as_raw() == lazy.argument);
            argument_error(def, index, &lazy.description)
        }
        Err(payload) => Error::runtime_error(crate::panic::panic_message(&*payload)),
    };
    error.raise_in(env)
}

/// A decode error found lazily (see [`DecodeError::raise_for`]), unwinding to the NIF
/// boundary. It owns plain data only (the message, rendered while the terms were
/// alive, and the argument's term word, used only to find its position): code that
/// catches the unwind and resumes it later, even in another call, cannot reach a term.
pub(crate) struct LazyArgError {
    argument: sys::ERL_NIF_TERM,
    description: String,
}

impl LazyArgError {
    pub(crate) fn new(argument: Term<'_>, description: String) -> LazyArgError {
        LazyArgError {
            argument: argument.as_raw(),
            description,
        }
    }

    /// The message without the function, for reports.
    pub(crate) fn describe(&self) -> String {
        format!("(ArgumentError) {}", self.description)
    }
}
