//! [`Atom`] and the [`atoms!`](crate::atoms) macro.
//!
//! Atoms live in the VM's atom table forever, so an `Atom` is a plain copyable value
//! valid in every environment. Atoms declared with `atoms!` are all created once, when
//! the NIF library is loaded; reading one is a single load from a static.

use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::sys;
use crate::term::Term;
use std::sync::atomic::{AtomicU64, Ordering};

/// An Erlang atom.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Atom(sys::ERL_NIF_TERM);

/// The longest atom the VM accepts, in characters (bytes for latin-1).
pub const MAX_ATOM_LENGTH: usize = 255;

impl Atom {
    /// Creates (or finds) the atom `name`. Prefer [`atoms!`](crate::atoms), which
    /// creates its atoms once at load; this is for names only known at run time.
    ///
    /// Raises `ArgumentError` if `name` is longer than 255 bytes or is not latin-1
    /// (OTP 25's NIF API creates latin-1 atoms only).
    pub fn from_str(env: Env<'_>, name: &str) -> Atom {
        match Self::try_from_str(env, name) {
            Some(atom) => atom,
            None => crate::raise(crate::Error::argument_error(format!(
                "cannot make an atom of {name:?}: atoms are at most {MAX_ATOM_LENGTH} latin-1 characters"
            ))),
        }
    }

    /// Like [`Atom::from_str`], `None` when the name cannot be an atom.
    pub fn try_from_str(env: Env<'_>, name: &str) -> Option<Atom> {
        if name.len() > MAX_ATOM_LENGTH || !name.is_ascii() {
            return None;
        }
        // SAFETY: name points to `len` valid bytes; atoms are global, so the returned
        // term is valid in every environment.
        let raw = unsafe { sys::enif_make_atom_len(env.as_raw(), name.as_ptr() as _, name.len()) };
        Some(Atom(raw))
    }

    /// The atom as a term of `env`.
    #[inline(always)]
    pub fn to_term<'a>(self, _env: Env<'a>) -> Term<'a> {
        // SAFETY: atom terms are valid in every environment for the life of the VM.
        unsafe { Term::from_raw(self.0) }
    }

    /// The atom's name (latin-1 atoms are decoded to UTF-8).
    pub fn name(self, env: Env<'_>) -> String {
        let mut buf = [0u8; MAX_ATOM_LENGTH * 2 + 1];
        // SAFETY: buf is writable for its whole length, which we pass.
        let n = unsafe {
            sys::enif_get_atom(
                env.as_raw(),
                self.0,
                buf.as_mut_ptr() as _,
                buf.len() as _,
                sys::ErlNifCharEncoding::ERL_NIF_LATIN1,
            )
        };
        let bytes = &buf[..(n.max(1) as usize - 1)];
        bytes.iter().map(|&b| b as char).collect()
    }

    #[inline(always)]
    pub fn as_raw(self) -> sys::ERL_NIF_TERM {
        self.0
    }
}

impl std::fmt::Debug for Atom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Atom({:#x})", self.0)
    }
}

impl<'a> Decode<'a> for Atom {
    #[inline]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        // SAFETY: the term belongs to env.
        if unsafe { sys::enif_is_atom(env.as_raw(), term.as_raw()) } != 0 {
            Ok(Atom(term.as_raw()))
        } else {
            Err(DecodeError::new(term, "an atom (Atom)"))
        }
    }
}

impl<'a> Encode<'a> for Atom {
    #[inline(always)]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        self.to_term(env)
    }
}

/// The storage of one atom declared with [`atoms!`](crate::atoms): filled in when the
/// library loads.
#[doc(hidden)]
pub struct AtomCell {
    name: &'static str,
    raw: AtomicU64,
}

impl AtomCell {
    pub const fn new(name: &'static str) -> AtomCell {
        AtomCell {
            name,
            raw: AtomicU64::new(0),
        }
    }

    #[inline(always)]
    pub fn get(&self) -> Atom {
        let raw = self.raw.load(Ordering::Relaxed);
        if raw == 0 {
            not_created(self.name)
        }
        Atom(raw)
    }

    /// Creates the atom; called for every registered cell when the library loads.
    pub(crate) fn create(&self, env: Env<'_>) {
        let atom = Atom::from_str(env, self.name);
        self.raw.store(atom.0, Ordering::Relaxed);
    }
}

#[cold]
#[inline(never)]
fn not_created(name: &str) -> ! {
    panic!("atom :{name} was used before the NIF library was loaded (atoms! atoms are created by init!)")
}

/// Registration of an [`AtomCell`], collected by `init!` at load.
#[doc(hidden)]
pub struct AtomRegistration(pub &'static AtomCell);
inventory::collect!(AtomRegistration);

/// Creates every atom declared with `atoms!` in this library.
pub(crate) fn create_all(env: Env<'_>) {
    for reg in inventory::iter::<AtomRegistration> {
        reg.0.create(env);
    }
}

/// Declares atoms, created once when the library is loaded. Each becomes a function
/// returning the [`Atom`]:
///
/// ```ignore
/// mod atoms {
///     oxbeam::atoms! {
///         ok,
///         not_found,
///         elixir_true = "true",     // any name, e.g. a Rust keyword
///         my_struct = "Elixir.MyApp.Struct",
///     }
/// }
/// // atoms::not_found() -> Atom
/// ```
#[macro_export]
macro_rules! atoms {
    ($($(#[$attr:meta])* $fn_name:ident $(= $name:literal)?),* $(,)?) => {
        $(
            $(#[$attr])*
            #[allow(dead_code)]
            #[inline(always)]
            pub fn $fn_name() -> $crate::Atom {
                static CELL: $crate::__rt::AtomCell =
                    $crate::__rt::AtomCell::new($crate::atoms!(@name $fn_name $($name)?));
                $crate::__rt::inventory::submit! {
                    $crate::__rt::AtomRegistration(&CELL)
                }
                CELL.get()
            }
        )*
    };
    (@name $fn_name:ident $name:literal) => { $name };
    (@name $fn_name:ident) => { stringify!($fn_name) };
}

/// An `Atom` from a raw term known to be an atom.
pub(crate) fn atom_from_raw(raw: sys::ERL_NIF_TERM) -> Atom {
    Atom(raw)
}
