//! Elixir-style rendering of terms for error messages (`inspect/1` look-alike).
//!
//! Cut when huge: at most [`MAX_ITEMS`] elements per container, [`MAX_BYTES`] bytes of
//! a binary, and [`MAX_LEN`] characters overall, the rest shown as `...`.

use crate::atom::Atom;
use crate::env::Env;
use crate::sys;
use crate::term::{Term, TermType};
use crate::types;
use std::fmt::Write;

const MAX_ITEMS: usize = 20;
const MAX_BYTES: usize = 64;
const MAX_LEN: usize = 300;

pub(crate) fn inspect<'a>(env: Env<'a>, term: Term<'a>) -> String {
    let mut out = String::new();
    write_term(env, term, &mut out, 0);
    if out.chars().count() > MAX_LEN {
        out = out.chars().take(MAX_LEN).collect();
        out.push_str("...");
    }
    out
}

fn write_term<'a>(env: Env<'a>, term: Term<'a>, out: &mut String, depth: usize) {
    if depth > 8 || out.len() > MAX_LEN * 2 {
        out.push_str("...");
        return;
    }
    match term.term_type(env) {
        TermType::Atom => match Atom::decode_unchecked(term).name(env) {
            Ok(name) => write_atom(&name, out),
            Err(_) => out.push_str("#Atom<?>"),
        },
        TermType::Integer => write_integer(env, term, out),
        TermType::Float => {
            let mut value = 0f64;
            // SAFETY: term is a float of env.
            unsafe { sys::enif_get_double(env.as_raw(), term.as_raw(), &mut value) };
            write_float(value, out);
        }
        TermType::Bitstring => match types::binary::inspect_binary(env, term) {
            Some(bytes) => write_binary(bytes, out),
            None => out.push_str("#Bitstring<>"),
        },
        TermType::List => write_list(env, term, out, depth),
        TermType::Tuple => {
            let elements = types::tuple::tuple_elements(env, term).unwrap_or(&[]);
            out.push('{');
            write_items(env, elements.iter().copied(), elements.len(), out, depth);
            out.push('}');
        }
        TermType::Map => write_map(env, term, out, depth),
        TermType::Pid => out.push_str("#PID<...>"),
        TermType::Port => out.push_str("#Port<...>"),
        TermType::Reference => out.push_str("#Reference<...>"),
        TermType::Fun => out.push_str("#Function<...>"),
        TermType::Unknown(_) => out.push_str("#Term<...>"),
    }
}

impl Atom {
    /// An atom term as an `Atom`, without checking (the caller knows it is one).
    fn decode_unchecked(term: Term<'_>) -> Atom {
        // Atom is a plain wrapper of the raw term.
        crate::atom::atom_from_raw(term.as_raw())
    }
}

fn write_atom(name: &str, out: &mut String) {
    match name {
        "nil" | "true" | "false" => out.push_str(name),
        _ if name.starts_with("Elixir.") && is_alias(&name[7..]) => out.push_str(&name[7..]),
        _ if is_plain_atom(name) => {
            out.push(':');
            out.push_str(name);
        }
        _ => {
            out.push_str(":\"");
            escape_into(name, out);
            out.push('"');
        }
    }
}

fn is_alias(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            part.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

fn is_plain_atom(s: &str) -> bool {
    let body = s.strip_suffix(['?', '!']).unwrap_or(s);
    body.chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@')
}

fn write_integer<'a>(env: Env<'a>, term: Term<'a>, out: &mut String) {
    match types::int::integer_parts(env, term) {
        Some((negative, magnitude)) => {
            if negative {
                out.push('-');
            }
            out.push_str(&decimal(&magnitude));
        }
        None => out.push_str("#Integer<?>"),
    }
}

/// Decimal digits of a little-endian magnitude.
fn decimal(magnitude_le: &[u8]) -> String {
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

pub(crate) fn write_float(value: f64, out: &mut String) {
    // Elixir prints the shortest representation that reads back, with `.0` for
    // integral values and exponent notation for very large or small ones.
    if value != 0.0 && (value.abs() >= 1e16 || value.abs() < 1e-4) {
        let s = format!("{value:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        let _ = write!(out, "{mantissa}e{exp}");
    } else {
        let s = format!("{value}");
        out.push_str(&s);
        if !s.contains('.') {
            out.push_str(".0");
        }
    }
}

fn write_binary(bytes: &[u8], out: &mut String) {
    match std::str::from_utf8(bytes) {
        Ok(s)
            if s.chars()
                .all(|c| !c.is_control() || "\n\t\r\x1b\x07\x08\x0b\x0c".contains(c)) =>
        {
            out.push('"');
            let cut: String = s.chars().take(MAX_BYTES).collect();
            escape_into(&cut, out);
            if cut.len() < s.len() {
                out.push_str("...");
            }
            out.push('"');
        }
        _ => {
            out.push_str("<<");
            for (i, b) in bytes.iter().take(MAX_BYTES).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{b}");
            }
            if bytes.len() > MAX_BYTES {
                out.push_str(", ...");
            }
            out.push_str(">>");
        }
    }
}

fn escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '#' => out.push('#'),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
}

fn write_items<'a>(
    env: Env<'a>,
    items: impl Iterator<Item = Term<'a>>,
    len: usize,
    out: &mut String,
    depth: usize,
) {
    for (i, item) in items.take(MAX_ITEMS).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_term(env, item, out, depth + 1);
    }
    if len > MAX_ITEMS {
        out.push_str(", ...");
    }
}

fn write_list<'a>(env: Env<'a>, term: Term<'a>, out: &mut String, depth: usize) {
    out.push('[');
    let mut rest = term;
    let mut count = 0;
    loop {
        let (mut head, mut tail) = (0, 0);
        // SAFETY: rest is a term of env; head/tail are valid out-pointers.
        if unsafe { sys::enif_get_list_cell(env.as_raw(), rest.as_raw(), &mut head, &mut tail) }
            == 0
        {
            break;
        }
        if count == MAX_ITEMS {
            out.push_str(", ...");
            out.push(']');
            return;
        }
        if count > 0 {
            out.push_str(", ");
        }
        // SAFETY: head and tail are terms of env.
        write_term(env, unsafe { Term::from_raw(head) }, out, depth + 1);
        rest = unsafe { Term::from_raw(tail) };
        count += 1;
    }
    // SAFETY: rest is a term of env.
    if unsafe { sys::enif_is_empty_list(env.as_raw(), rest.as_raw()) } == 0 {
        out.push_str(" | ");
        write_term(env, rest, out, depth + 1);
    }
    out.push(']');
}

fn write_map<'a>(env: Env<'a>, term: Term<'a>, out: &mut String, depth: usize) {
    let len = types::map::map_size(env, term).unwrap_or(0);
    let mut entries = Vec::new();
    let _ = types::map::for_each_entry(env, term, |k, v| {
        entries.push((k, v));
        if entries.len() > MAX_ITEMS {
            Err(())
        } else {
            Ok(())
        }
    });
    out.push_str("%{");
    for (i, (k, v)) in entries.iter().take(MAX_ITEMS).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let mut key = String::new();
        write_term(env, *k, &mut key, depth + 1);
        if let Some(name) = key.strip_prefix(':').filter(|n| !n.starts_with('"')) {
            out.push_str(name);
            out.push_str(": ");
        } else {
            out.push_str(&key);
            out.push_str(" => ");
        }
        write_term(env, *v, out, depth + 1);
    }
    if len > MAX_ITEMS {
        out.push_str(", ...");
    }
    out.push('}');
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
    fn floats_like_elixir() {
        let show = |v: f64| {
            let mut s = String::new();
            write_float(v, &mut s);
            s
        };
        assert_eq!(show(1.0), "1.0");
        assert_eq!(show(1.5), "1.5");
        assert_eq!(show(-0.25), "-0.25");
        assert_eq!(show(1e20), "1.0e20");
        assert_eq!(show(1.5e-7), "1.5e-7");
    }

    #[test]
    fn atoms_like_elixir() {
        let show = |name: &str| {
            let mut s = String::new();
            write_atom(name, &mut s);
            s
        };
        assert_eq!(show("ok"), ":ok");
        assert_eq!(show("nil"), "nil");
        assert_eq!(show("valid?"), ":valid?");
        assert_eq!(show("Elixir.Foo.Bar"), "Foo.Bar");
        assert_eq!(show("with space"), ":\"with space\"");
    }
}
