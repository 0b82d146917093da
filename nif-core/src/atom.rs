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
///
/// Equality is identity (`==` is `=:=`: one name, one atom). `Hash` and `Ord` use the
/// atom's term word, which the VM never changes while it runs: the order is total and
/// stable for the life of the VM (so atoms can key a `BTreeMap` or a `HashMap`), but
/// it is neither alphabetical nor Erlang's term order (which compares atoms by name),
/// and it differs from one VM run to the next.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Atom(sys::ERL_NIF_TERM);

/// The longest atom name the VM accepts, in characters (whatever their UTF-8 size).
pub const MAX_ATOM_LENGTH: usize = 255;

// External term format tags of atoms (erl_ext_dist): `131, tag, length, name bytes`.
const VERSION_MAGIC: u8 = 131;
const ATOM_EXT: u8 = 100; // 2-byte length, latin-1
const SMALL_ATOM_EXT: u8 = 115; // 1-byte length, latin-1
const ATOM_UTF8_EXT: u8 = 118; // 2-byte length, UTF-8
const SMALL_ATOM_UTF8_EXT: u8 = 119; // 1-byte length, UTF-8

impl Atom {
    /// Creates (or finds) the atom `name`. Prefer [`atoms!`](crate::atoms), which
    /// creates its atoms once at load; this is for names only known at run time.
    ///
    /// Any Unicode name of at most 255 characters works, on every supported VM
    /// (OTP 25's NIF API only makes latin-1 atoms; other names go through the
    /// external term format). Raises `ArgumentError` for a longer name.
    pub fn from_str(env: Env<'_>, name: &str) -> Atom {
        match make(env, name) {
            Ok(atom) => atom,
            Err(message) => crate::raise(crate::Error::argument_error(message)),
        }
    }

    /// Like [`Atom::from_str`], `None` when the name cannot be an atom (more than 255
    /// characters).
    pub fn try_from_str(env: Env<'_>, name: &str) -> Option<Atom> {
        make(env, name).ok()
    }

    /// The atom as a term of `env`.
    #[inline(always)]
    pub fn to_term<'a>(self, _env: Env<'a>) -> Term<'a> {
        // SAFETY: atom terms are valid in every environment for the life of the VM.
        unsafe { Term::from_raw(self.0) }
    }

    /// The atom's name, as UTF-8.
    ///
    /// Every atom's name can be read (latin-1 ones through erl_nif, the others through
    /// the external term format); the error is for a VM that answers neither way, and
    /// is never a wrong or empty name.
    pub fn name(self, env: Env<'_>) -> crate::Result<String> {
        let mut buf = [0u8; MAX_ATOM_LENGTH + 1];
        // SAFETY: buf is writable for its whole length, which we pass; self is an atom.
        let n = unsafe {
            sys::enif_get_atom(
                env.as_raw(),
                self.0,
                buf.as_mut_ptr() as _,
                buf.len() as _,
                sys::ErlNifCharEncoding::ERL_NIF_LATIN1,
            )
        };
        // n counts the terminating NUL; 0 means the name is not latin-1.
        if n > 0 && (n as usize) <= buf.len() {
            return Ok(buf[..n as usize - 1].iter().map(|&b| b as char).collect());
        }
        utf8_name(env, self).ok_or_else(|| {
            crate::Error::runtime_error(format!(
                "cannot read the name of the atom {:#x}: the VM gave neither a latin-1 \
                 name nor an external term format",
                self.0
            ))
        })
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

/// Makes the atom `name`, or says why it cannot be one.
fn make(env: Env<'_>, name: &str) -> Result<Atom, String> {
    if name.is_ascii() {
        if name.len() > MAX_ATOM_LENGTH {
            return Err(too_long(name));
        }
        // SAFETY: name points to `len` valid bytes, which are latin-1 (ASCII); atoms
        // are global, so the term is valid in every environment.
        let raw = unsafe { sys::enif_make_atom_len(env.as_raw(), name.as_ptr() as _, name.len()) };
        return Ok(Atom(raw));
    }
    if name.chars().count() > MAX_ATOM_LENGTH {
        return Err(too_long(name));
    }
    match latin1(name) {
        Some(bytes) => {
            // SAFETY: as above; enif_make_atom_len reads latin-1 bytes.
            let raw =
                unsafe { sys::enif_make_atom_len(env.as_raw(), bytes.as_ptr() as _, bytes.len()) };
            Ok(Atom(raw))
        }
        None => utf8_atom(env, name, 0)
            .ok_or_else(|| format!("the VM refused to make an atom of {name:?}")),
    }
}

#[cold]
#[inline(never)]
fn too_long(name: &str) -> String {
    format!(
        "cannot make an atom of {name:?}: an atom name is at most {MAX_ATOM_LENGTH} \
         characters, this one has {}",
        name.chars().count()
    )
}

/// The latin-1 bytes of `name`, if every character is at most U+00FF.
fn latin1(name: &str) -> Option<Vec<u8>> {
    name.chars().map(|c| u8::try_from(c).ok()).collect()
}

/// Makes a non-latin-1 atom (at most 255 characters) by decoding `ATOM_UTF8_EXT`: the
/// NIF API of OTP 25 (2.16) has no UTF-8 `enif_make_atom`. With `options` =
/// `ERL_NIF_BIN2TERM_SAFE`, only finds an existing atom (safe decoding creates none).
#[cold]
fn utf8_atom(env: Env<'_>, name: &str, options: std::ffi::c_uint) -> Option<Atom> {
    let len = u16::try_from(name.len()).ok()?;
    let mut ext = Vec::with_capacity(name.len() + 4);
    ext.push(VERSION_MAGIC);
    ext.push(ATOM_UTF8_EXT);
    ext.extend_from_slice(&len.to_be_bytes());
    ext.extend_from_slice(name.as_bytes());
    let mut out: sys::ERL_NIF_TERM = 0;
    // SAFETY: ext is `ext.len()` readable bytes; binary_to_term validates them (UTF-8,
    // at most 255 characters) and returns 0 if it refuses; out is a valid out-pointer,
    // set on success to an atom, which is valid in every environment.
    let read = unsafe {
        sys::enif_binary_to_term(env.as_raw(), ext.as_ptr(), ext.len(), &mut out, options)
    };
    // SAFETY: out was set by the VM (read > 0) and only then inspected.
    (read == ext.len() && unsafe { sys::enif_is_atom(env.as_raw(), out) } != 0).then_some(Atom(out))
}

impl Atom {
    /// The atom `name` if it already exists (`String.to_existing_atom/1`), without
    /// creating it: `None` otherwise, or when the name is too long to be an atom. Any
    /// Unicode name works (latin-1 through erl_nif, others through safe decoding of
    /// the external term format, which never creates atoms).
    pub fn try_existing(env: Env<'_>, name: &str) -> Option<Atom> {
        if name.chars().count() > MAX_ATOM_LENGTH {
            return None;
        }
        match latin1(name) {
            Some(bytes) => {
                let mut raw: sys::ERL_NIF_TERM = 0;
                // SAFETY: bytes is `len` readable latin-1 bytes; raw is a valid
                // out-pointer, set to an atom (global, valid in every environment)
                // when the function returns true.
                let found = unsafe {
                    sys::enif_make_existing_atom_len(
                        env.as_raw(),
                        bytes.as_ptr() as _,
                        bytes.len(),
                        &mut raw,
                        sys::ErlNifCharEncoding::ERL_NIF_LATIN1,
                    )
                };
                (found != 0).then_some(Atom(raw))
            }
            None => utf8_atom(env, name, BIN2TERM_SAFE),
        }
    }
}

/// `ERL_NIF_BIN2TERM_SAFE`: decoding creates no atoms.
const BIN2TERM_SAFE: std::ffi::c_uint = 0x2000_0000;

/// Reads any atom's name from its external term format.
#[cold]
fn utf8_name(env: Env<'_>, atom: Atom) -> Option<String> {
    let mut bin = std::mem::MaybeUninit::<sys::ErlNifBinary>::uninit();
    // SAFETY: atom is a term valid in env; on success bin is an owned binary that we
    // release below.
    if unsafe { sys::enif_term_to_binary(env.as_raw(), atom.0, bin.as_mut_ptr()) } == 0 {
        return None;
    }
    // SAFETY: enif_term_to_binary succeeded, so bin is initialized.
    let mut bin = unsafe { bin.assume_init() };
    // SAFETY: data/size describe the binary just allocated, alive until released.
    let bytes = unsafe { std::slice::from_raw_parts(bin.data, bin.size) };
    let name = name_of_ext(bytes);
    // SAFETY: we own bin and release it once; `bytes` is not used after this.
    unsafe { sys::enif_release_binary(&mut bin) };
    name
}

/// The name in an atom's external term format.
fn name_of_ext(bytes: &[u8]) -> Option<String> {
    let (tag, name) = match bytes {
        [VERSION_MAGIC, tag @ (SMALL_ATOM_EXT | SMALL_ATOM_UTF8_EXT), n, rest @ ..]
            if rest.len() == *n as usize =>
        {
            (*tag, rest)
        }
        [VERSION_MAGIC, tag @ (ATOM_EXT | ATOM_UTF8_EXT), a, b, rest @ ..]
            if rest.len() == u16::from_be_bytes([*a, *b]) as usize =>
        {
            (*tag, rest)
        }
        _ => return None,
    };
    match tag {
        SMALL_ATOM_EXT | ATOM_EXT => Some(name.iter().map(|&b| b as char).collect()),
        _ => String::from_utf8(name.to_vec()).ok(),
    }
}

/// An `Atom` from a raw term known to be an atom.
pub(crate) fn atom_from_raw(raw: sys::ERL_NIF_TERM) -> Atom {
    Atom(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_bytes_only_up_to_u00ff() {
        assert_eq!(latin1("café"), Some(b"caf\xe9".to_vec()));
        assert_eq!(latin1("ÿ"), Some(vec![0xff]));
        assert_eq!(latin1("Ā"), None);
        assert_eq!(latin1("é日"), None);
    }

    #[test]
    fn names_from_every_atom_encoding() {
        assert_eq!(
            name_of_ext(&[131, 119, 2, b'o', b'k']).as_deref(),
            Some("ok")
        );
        assert_eq!(name_of_ext(&[131, 115, 1, 0xe9]).as_deref(), Some("é"));
        assert_eq!(name_of_ext(&[131, 100, 0, 1, 0xff]).as_deref(), Some("ÿ"));
        let mut ext = vec![131, 118, 0, 6];
        ext.extend_from_slice("日本".as_bytes());
        assert_eq!(name_of_ext(&ext).as_deref(), Some("日本"));
        // Truncated, wrong tag, bad UTF-8: no name rather than a wrong one.
        assert_eq!(name_of_ext(&[131, 119, 3, b'o', b'k']), None);
        assert_eq!(name_of_ext(&[131, 107, 0, 1, b'a']), None);
        assert_eq!(name_of_ext(&[131, 119, 1, 0xff]), None);
    }
}
