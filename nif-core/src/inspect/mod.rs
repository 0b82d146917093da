//! Rendering of terms as text: Elixir's `inspect/1` or Erlang's
//! `io_lib:format("~0p", [Term])`, used by [`Term::inspect`](crate::Term::inspect) and
//! in oxbeam's error messages. This module's public items tune it: the Elixir version
//! whose text is matched, and the fields of structs a NIF cannot ask Elixir about.
//!
//! Cut when huge: at most 20 elements per list, tuple or map, 64 bytes of a binary or
//! characters of a charlist, nesting 8 deep, and 300 characters overall, the rest shown
//! as `...`.

mod elixir;
mod erlang;
mod external;
mod float;

use crate::env::Env;
use crate::term::Term;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::RwLock;

pub(crate) const MAX_ITEMS: usize = 20;
pub(crate) const MAX_BYTES: usize = 64;
pub(crate) const MAX_LEN: usize = 300;
pub(crate) const MAX_DEPTH: usize = 8;

/// The Elixir version whose `inspect` is matched, as `major * 1000 + minor`.
static ELIXIR_VERSION: AtomicU32 = AtomicU32::new(DEFAULT_ELIXIR_VERSION);
const DEFAULT_ELIXIR_VERSION: u32 = 1018;

/// Makes [`Term::inspect`] print as the given Elixir version's `inspect/1` does
/// (`"1.14.0"`, `"1.18.4"`). `use Oxbeam` does this at load with the running
/// Elixir's version; call it for a library loaded another way (a NIF cannot read it). Where Elixir versions differ
/// (a charlist is `'abc'` before 1.15 and `~c"abc"` since; invisible characters such
/// as U+200B are `\u200B` in strings since 1.18), the default is Elixir 1.18's text.
/// False (and nothing changes) when `version` is not `major.minor[.patch...]`.
///
/// [`Term::inspect`]: crate::Term::inspect
pub fn set_elixir_version(version: &str) -> bool {
    let mut parts = version.split(['.', '-']);
    let (Some(Ok(major)), Some(Ok(minor))) = (
        parts.next().map(str::parse::<u32>),
        parts.next().map(str::parse::<u32>),
    ) else {
        return false;
    };
    if minor >= 1000 {
        return false;
    }
    ELIXIR_VERSION.store(
        major.saturating_mul(1000).saturating_add(minor),
        Ordering::Relaxed,
    );
    true
}

/// Struct fields registered with [`register_struct`]: module → fields in definition
/// order.
static STRUCT_FIELDS: RwLock<Option<HashMap<String, Vec<String>>>> = RwLock::new(None);

/// Tells [`Term::inspect`] a struct's fields in the order of its `defstruct`, so that
/// it prints as `%Mod{a: 1, b: 2}`, as Elixir's derived `Inspect` does (a NIF cannot ask
/// the module itself). `module` is the atom's text (`"Elixir.MyApp.Point"`); `fields`
/// as `MyApp.Point.__info__(:struct)` lists them (`__exception__` may be among them;
/// it is not printed). A map whose `__struct__` is `module` prints so when its other
/// keys are exactly `fields`, as in Elixir; else in map form. Registering a module again
/// replaces its fields. (Without registering, `Range`, `MapSet`, `Date`, `Time`,
/// `NaiveDateTime`, `DateTime`, `Version` and the standard exceptions are known.)
///
/// [`Term::inspect`]: crate::Term::inspect
pub fn register_struct(module: &str, fields: &[&str]) {
    let mut registry = STRUCT_FIELDS.write().unwrap_or_else(|e| e.into_inner());
    registry.get_or_insert_with(HashMap::new).insert(
        module.to_string(),
        fields.iter().map(|f| f.to_string()).collect(),
    );
}

/// The fields registered for `module`, if any.
pub(crate) fn registered_struct(module: &str) -> Option<Vec<String>> {
    let registry = STRUCT_FIELDS.read().unwrap_or_else(|e| e.into_inner());
    registry.as_ref()?.get(module).cloned()
}

pub(crate) fn elixir_version() -> u32 {
    ELIXIR_VERSION.load(Ordering::Relaxed)
}

/// Elixir's `inspect/1` text of a term (cut when huge).
pub(crate) fn inspect_elixir<'a>(env: Env<'a>, term: Term<'a>) -> String {
    cut(elixir::render(env, term))
}

/// Erlang's `io_lib:format("~0p", [Term])` text of a term (cut when huge).
pub(crate) fn inspect_erlang<'a>(env: Env<'a>, term: Term<'a>) -> String {
    cut(erlang::render(env, term))
}

/// The syntax of the NIF module's language: Erlang's for a library whose module is an
/// Erlang module (its name does not start with `Elixir.`), else Elixir's.
pub(crate) fn inspect<'a>(env: Env<'a>, term: Term<'a>) -> String {
    if crate::init::module_is_erlang() {
        inspect_erlang(env, term)
    } else {
        inspect_elixir(env, term)
    }
}

fn cut(mut out: String) -> String {
    if out.chars().count() > MAX_LEN {
        out = out.chars().take(MAX_LEN).collect();
        out.push_str("...");
    }
    out
}

/// Decimal digits of a little-endian magnitude.
pub(crate) fn decimal(magnitude_le: &[u8]) -> String {
    use std::fmt::Write;
    let mut limbs: Vec<u32> = magnitude_le
        .chunks(4)
        .map(|c| {
            let mut b = [0u8; 4];
            b[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(b)
        })
        .collect();
    let mut chunks = Vec::new();
    while limbs.iter().any(|&l| l != 0) {
        let mut rem = 0u64;
        for limb in limbs.iter_mut().rev() {
            let cur = (rem << 32) | *limb as u64;
            *limb = (cur / 1_000_000_000) as u32;
            rem = cur % 1_000_000_000;
        }
        chunks.push(rem as u32);
    }
    match chunks.split_last() {
        None => "0".to_string(),
        Some((first, rest)) => {
            let mut s = first.to_string();
            for chunk in rest.iter().rev() {
                let _ = write!(s, "{chunk:09}");
            }
            s
        }
    }
}

/// An integer term's decimal text.
pub(crate) fn integer_text<'a>(env: Env<'a>, term: Term<'a>) -> String {
    match crate::types::int::integer_parts(env, term) {
        Some((negative, magnitude)) => {
            let digits = decimal(&magnitude);
            if negative {
                format!("-{digits}")
            } else {
                digits
            }
        }
        None => "#Integer<?>".to_string(),
    }
}

/// A float term's value.
pub(crate) fn float_value<'a>(env: Env<'a>, term: Term<'a>) -> f64 {
    let mut value = 0f64;
    // SAFETY: term is a term of env; value is a valid out-pointer.
    unsafe { crate::sys::enif_get_double(env.as_raw(), term.as_raw(), &mut value) };
    value
}

/// The elements of a proper list (None for an improper list or one longer than
/// `limit`); `Some(Err(tail))`-like cases are read by the callers themselves.
pub(crate) fn list_cells<'a>(
    env: Env<'a>,
    term: Term<'a>,
    limit: usize,
) -> (Vec<Term<'a>>, Term<'a>, bool) {
    let mut items = Vec::new();
    let mut rest = term;
    loop {
        let (mut head, mut tail) = (0, 0);
        // SAFETY: rest is a term of env; head/tail are valid out-pointers.
        if unsafe {
            crate::sys::enif_get_list_cell(env.as_raw(), rest.as_raw(), &mut head, &mut tail)
        } == 0
        {
            return (items, rest, false);
        }
        if items.len() == limit {
            return (items, rest, true);
        }
        // SAFETY: head and tail are terms of env.
        unsafe {
            items.push(Term::from_raw(head));
            rest = Term::from_raw(tail);
        }
    }
}

/// The first `limit` entries of a map in the order the language prints them. Elixir
/// prints `maps:to_list/1`'s order and Erlang's `~p` `maps:iterator/1`'s (erl_nif's
/// iterator's): the same for a small map (up to 32 keys, sorted), but, on OTP 25, the
/// reverse of each other for a larger one. Empty for a term that is not a map.
pub(crate) fn map_entries<'a>(
    env: Env<'a>,
    term: Term<'a>,
    limit: usize,
    to_list_order: bool,
) -> Vec<(Term<'a>, Term<'a>)> {
    let Ok(view) = term.decode::<crate::types::map::MapView<'a>>(env) else {
        return Vec::new();
    };
    if to_list_order && view.len() > 32 {
        view.iter().rev().take(limit).collect()
    } else {
        view.iter().take(limit).collect()
    }
}

pub(crate) fn is_empty_list<'a>(env: Env<'a>, term: Term<'a>) -> bool {
    // SAFETY: term is a term of env.
    unsafe { crate::sys::enif_is_empty_list(env.as_raw(), term.as_raw()) != 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_of_magnitudes() {
        assert_eq!(decimal(&[]), "0");
        assert_eq!(decimal(&300u64.to_le_bytes()), "300");
        assert_eq!(decimal(&u128::MAX.to_le_bytes()), u128::MAX.to_string());
        assert_eq!(
            decimal(&(10u128.pow(30)).to_le_bytes()),
            10u128.pow(30).to_string()
        );
    }

    #[test]
    fn elixir_versions_parse() {
        assert!(!set_elixir_version("x"));
        assert!(!set_elixir_version("1"));
        assert_eq!(elixir_version(), DEFAULT_ELIXIR_VERSION);
    }
}
