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
            None => write_bitstring(env, term, out),
        },
        TermType::List => write_list(env, term, out, depth),
        TermType::Tuple => {
            let elements = types::tuple::tuple_elements(env, term).unwrap_or(&[]);
            out.push('{');
            write_items(env, elements.iter().copied(), elements.len(), out, depth);
            out.push('}');
        }
        TermType::Map => write_map(env, term, out, depth),
        TermType::Pid => write_pid(env, term, out),
        TermType::Port => out.push_str("#Port<...>"),
        TermType::Reference => write_reference(env, term, out),
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
        _ if is_plain_atom(name) || is_alias_like_key(name) => {
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
                .all(|c| !c.is_control() || "\n\t\r\x1b\x07\x08\x0b\x0c\x7f".contains(c)) =>
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
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x0b' => out.push_str("\\v"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x1b' => out.push_str("\\e"),
            '\x7f' => out.push_str("\\d"),
            '\x07' => out.push_str("\\a"),
            '#' if chars.peek() == Some(&'{') => out.push_str("\\#"),
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
    if let Some(chars) = printable_charlist(env, term) {
        out.push('\'');
        for c in chars {
            match c {
                '\'' => out.push_str("\\'"),
                '"' => out.push('"'),
                c => escape_into(c.encode_utf8(&mut [0; 4]), out),
            }
        }
        out.push('\'');
        return;
    }
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
    if write_range(env, term, out) {
        return;
    }
    let len = types::map::map_size(env, term).unwrap_or(0);
    let mut entries = Vec::new();
    let _ = types::map::for_each_entry(env, term, |k, v| {
        entries.push((k, v));
        if entries.len() > MAX_ITEMS + 1 {
            Err(())
        } else {
            Ok(())
        }
    });
    // A struct prints as a map (`%{__struct__: Mod, ...}`): Elixir prints `%Mod{...}`
    // only when the module is loaded and defines a struct with exactly these keys
    // (Inspect.Any), which a NIF cannot ask the VM.
    let shown = len;
    out.push('%');
    out.push('{');
    // Keyword syntax only when every key is an atom, none an alias (as Elixir's
    // Inspect.List.keyword?/1).
    let keyword = entries
        .iter()
        .all(|(k, _)| atom_name(env, *k).is_some_and(|name| !name.starts_with("Elixir.")));
    for (i, (k, v)) in entries.iter().take(MAX_ITEMS).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match keyword.then(|| atom_name(env, *k)).flatten() {
            Some(name) => {
                if is_plain_atom(&name) || is_alias_like_key(&name) {
                    out.push_str(&name);
                } else {
                    out.push('"');
                    escape_into(&name, out);
                    out.push('"');
                }
                out.push_str(": ");
            }
            None => {
                write_term(env, *k, out, depth + 1);
                out.push_str(" => ");
            }
        }
        write_term(env, *v, out, depth + 1);
    }
    if shown > MAX_ITEMS {
        out.push_str(", ...");
    }
    out.push('}');
}

/// Keys like `Foo:` are written bare in keyword syntax (`[Foo: 1]`).
fn is_alias_like_key(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@')
}

fn atom_name<'a>(env: Env<'a>, term: Term<'a>) -> Option<String> {
    (term.term_type(env) == TermType::Atom)
        .then(|| Atom::decode_unchecked(term).name(env).ok())
        .flatten()
}

/// `%Range{first: a, last: b, step: s}` as Elixir prints it: `a..b` when the step is
/// 1 and `b >= a`, else `a..b//s`. False when the map is not such a range.
fn write_range<'a>(env: Env<'a>, term: Term<'a>, out: &mut String) -> bool {
    if types::map::map_size(env, term) != Some(4) {
        return false;
    }
    let get = |key: &str| {
        let key = Atom::try_existing(env, key)?;
        term.map_get(env, key)
    };
    let (Some(tag), Some(first), Some(last), Some(step)) =
        (get("__struct__"), get("first"), get("last"), get("step"))
    else {
        return false;
    };
    let ints = [first, last, step]
        .iter()
        .all(|t| t.term_type(env) == TermType::Integer);
    if atom_name(env, tag).as_deref() != Some("Elixir.Range") || !ints {
        return false;
    }
    write_integer(env, first, out);
    out.push_str("..");
    write_integer(env, last, out);
    let one = matches!(step.decode::<i64>(env), Ok(1));
    if !(one && last.compare(first).is_ge()) {
        out.push_str("//");
        write_integer(env, step, out);
    }
    true
}

/// The characters of a list Elixir prints as a charlist (`'abc'`): every element an
/// ASCII printable character or one of `\n \r \t`.
fn printable_charlist<'a>(env: Env<'a>, term: Term<'a>) -> Option<Vec<char>> {
    let mut chars = Vec::new();
    let mut rest = term;
    loop {
        let (mut head, mut tail) = (0, 0);
        // SAFETY: rest is a term of env; head/tail are valid out-pointers.
        if unsafe { sys::enif_get_list_cell(env.as_raw(), rest.as_raw(), &mut head, &mut tail) }
            == 0
        {
            break;
        }
        // SAFETY: head and tail are terms of env.
        let (head, tail) = unsafe { (Term::from_raw(head), Term::from_raw(tail)) };
        let c = head.decode::<u8>(env).ok()?;
        if !(32..=126).contains(&c) && !b"\n\r\t".contains(&c) {
            return None;
        }
        chars.push(c as char);
        rest = tail;
        if chars.len() > MAX_LEN {
            return None;
        }
    }
    // SAFETY: rest is a term of env.
    (!chars.is_empty() && unsafe { sys::enif_is_empty_list(env.as_raw(), rest.as_raw()) } != 0)
        .then_some(chars)
}

/// The external term format of a term, for the parts erl_nif does not expose (pid
/// numbers, reference numbers, the bits of a bitstring).
fn external<'a>(env: Env<'a>, term: Term<'a>) -> Option<Vec<u8>> {
    let mut bin = std::mem::MaybeUninit::<sys::ErlNifBinary>::uninit();
    // SAFETY: term is a term of env; on success bin is an owned binary, copied and
    // released below.
    unsafe {
        if sys::enif_term_to_binary(env.as_raw(), term.as_raw(), bin.as_mut_ptr()) == 0 {
            return None;
        }
        let mut bin = bin.assume_init();
        let bytes = std::slice::from_raw_parts(bin.data, bin.size).to_vec();
        sys::enif_release_binary(&mut bin);
        Some(bytes)
    }
}

/// Skips an encoded atom (the node name) at the start of `bytes`.
fn skip_atom(bytes: &[u8]) -> Option<&[u8]> {
    match bytes {
        [119 | 115, n, rest @ ..] => rest.get(*n as usize..),
        [118 | 100, a, b, rest @ ..] => rest.get(u16::from_be_bytes([*a, *b]) as usize..),
        _ => None,
    }
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// `#PID<0.id.serial>` (a local pid).
fn write_pid<'a>(env: Env<'a>, term: Term<'a>, out: &mut String) {
    let parts = external(env, term).and_then(|ext| {
        let rest = match ext.get(..2)? {
            [131, 88] | [131, 103] => skip_atom(&ext[2..])?,
            _ => return None,
        };
        Some((be32(rest, 0)?, be32(rest, 4)?))
    });
    match parts {
        Some((id, serial)) => {
            let _ = write!(out, "#PID<0.{id}.{serial}>");
        }
        None => out.push_str("#PID<...>"),
    }
}

/// `#Reference<0.n.n.n>` (the numbers from the most significant).
fn write_reference<'a>(env: Env<'a>, term: Term<'a>, out: &mut String) {
    let parts = external(env, term).and_then(|ext| {
        let (len, rest) = match ext.get(..4)? {
            [131, 90 | 114, a, b] => (u16::from_be_bytes([*a, *b]) as usize, &ext[4..]),
            _ => return None,
        };
        let rest = skip_atom(rest)?;
        // The creation (4 bytes for NEWER_REFERENCE_EXT, 1 for NEW_REFERENCE_EXT).
        let rest = rest.get(if ext[1] == 90 { 4 } else { 1 }..)?;
        (0..len)
            .map(|i| be32(rest, 4 * i))
            .collect::<Option<Vec<u32>>>()
    });
    match parts {
        Some(ids) => {
            out.push_str("#Reference<0");
            for id in ids.iter().rev() {
                let _ = write!(out, ".{id}");
            }
            out.push('>');
        }
        None => out.push_str("#Reference<...>"),
    }
}

/// A bitstring that is not whole bytes: `<<1, 2::size(3)>>`.
fn write_bitstring<'a>(env: Env<'a>, term: Term<'a>, out: &mut String) {
    let parsed = external(env, term).and_then(|ext| match ext.get(..7)? {
        [131, 77, a, b, c, d, bits] => {
            let len = u32::from_be_bytes([*a, *b, *c, *d]) as usize;
            let data = ext.get(7..7 + len)?;
            Some((data.to_vec(), *bits))
        }
        _ => None,
    });
    let Some((data, bits)) =
        parsed.filter(|(data, bits)| !data.is_empty() && (1..8).contains(bits))
    else {
        out.push_str("#Bitstring<...>");
        return;
    };
    out.push_str("<<");
    let (last, whole) = data.split_last().expect("not empty");
    for (i, b) in whole.iter().take(MAX_BYTES).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{b}");
    }
    if whole.len() > MAX_BYTES {
        out.push_str(", ...");
    }
    if !whole.is_empty() {
        out.push_str(", ");
    }
    let _ = write!(out, "{}::size({bits})", last >> (8 - bits));
    out.push_str(">>");
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
