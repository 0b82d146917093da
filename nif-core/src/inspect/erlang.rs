//! Erlang's `io_lib:format("~0p", [Term])` text of a term: `~p` on one line (`~p`
//! breaks lines at 80 columns; `~0p` does not), without the `t` modifier (lists and
//! binaries print as strings when every character is printable Latin-1).
//!
//! Exact for every term (OTP 25) but: a pid, port or reference of another node prints
//! with node number 0.

use super::external::{self, Fun};
use super::{float, is_empty_list, list_cells, MAX_BYTES, MAX_DEPTH, MAX_ITEMS, MAX_LEN};
use crate::env::Env;
use crate::term::{Term, TermType};
use crate::types;
use std::fmt::Write;

pub(super) fn render<'a>(env: Env<'a>, term: Term<'a>) -> String {
    let mut out = String::new();
    write_term(env, term, &mut out, 0);
    out
}

fn write_term<'a>(env: Env<'a>, term: Term<'a>, out: &mut String, depth: usize) {
    if depth > MAX_DEPTH || out.len() > MAX_LEN * 2 {
        out.push_str("...");
        return;
    }
    match term.term_type(env) {
        TermType::Atom => match crate::atom::atom_from_raw(term.as_raw()).name(env) {
            Ok(name) => write_atom(&name, out),
            Err(_) => out.push_str("'?'"),
        },
        TermType::Integer => out.push_str(&super::integer_text(env, term)),
        TermType::Float => float::write_erlang(super::float_value(env, term), out),
        TermType::Bitstring => match types::binary::inspect_binary(env, term) {
            Some(bytes) => write_binary(bytes, out),
            None => write_bitstring(env, term, out),
        },
        TermType::List => write_list(env, term, out, depth),
        TermType::Tuple => {
            let elements = types::tuple::tuple_elements(env, term).unwrap_or(&[]);
            out.push('{');
            write_items(env, elements, elements.len(), out, depth);
            out.push('}');
        }
        TermType::Map => write_map(env, term, out, depth),
        TermType::Pid => match external::pid(env, term) {
            Some((id, serial)) => {
                let _ = write!(out, "<0.{id}.{serial}>");
            }
            None => out.push_str("<?>"),
        },
        TermType::Port => match external::port(env, term) {
            Some(id) => {
                let _ = write!(out, "#Port<0.{id}>");
            }
            None => out.push_str("#Port<?>"),
        },
        TermType::Reference => match external::reference(env, term) {
            Some(ids) => {
                out.push_str("#Ref<0");
                for id in ids {
                    let _ = write!(out, ".{id}");
                }
                out.push('>');
            }
            None => out.push_str("#Ref<?>"),
        },
        TermType::Fun => match external::fun(env, term) {
            Some(Fun::External {
                module,
                function,
                arity,
            }) => {
                out.push_str("fun ");
                write_atom(&module, out);
                out.push(':');
                write_atom(&function, out);
                let _ = write!(out, "/{arity}");
            }
            Some(Fun::Local {
                module,
                old_index,
                old_uniq,
                ..
            }) => {
                // The module's name as it is, unquoted (erts prints it so).
                out.push_str("#Fun<");
                out.push_str(&module);
                let _ = write!(out, ".{old_index}.{old_uniq}>");
            }
            None => out.push_str("#Fun<?>"),
        },
        TermType::Unknown(_) => out.push_str("'?'"),
    }
}

fn write_items<'a>(env: Env<'a>, items: &[Term<'a>], len: usize, out: &mut String, depth: usize) {
    for (i, item) in items.iter().take(MAX_ITEMS).enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_term(env, *item, out, depth + 1);
    }
    if len > MAX_ITEMS {
        out.push_str(",...");
    }
}

/// Erlang's reserved words (OTP 25, without the `maybe` feature): atoms that need
/// quotes.
const RESERVED: [&str; 28] = [
    "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor", "case",
    "catch", "cond", "div", "end", "fun", "if", "let", "not", "of", "or", "orelse", "receive",
    "rem", "try", "when", "xor", "query",
];

/// Latin-1 lowercase letters as Erlang's scanner reads them (`a-z`, `ß-ÿ` but `÷`).
fn is_lower(c: char) -> bool {
    c.is_ascii_lowercase() || (('\u{df}'..='\u{ff}').contains(&c) && c != '\u{f7}')
}

/// Latin-1 letters, digits, `_` and `@`: what may follow the first letter of a bare
/// atom.
fn is_name_char(c: char) -> bool {
    is_lower(c)
        || c.is_ascii_uppercase()
        || (('\u{c0}'..='\u{de}').contains(&c) && c != '\u{d7}')
        || c.is_ascii_digit()
        || c == '_'
        || c == '@'
}

/// `io_lib:write_atom/1`: bare when it reads back as an atom, else quoted.
fn write_atom(name: &str, out: &mut String) {
    let bare = name.chars().next().is_some_and(is_lower)
        && name.chars().all(is_name_char)
        && !RESERVED.contains(&name);
    if bare {
        out.push_str(name);
        return;
    }
    out.push('\'');
    for c in name.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            c if c as u32 > 0xff => {
                let _ = write!(out, "\\x{{{:X}}}", c as u32);
            }
            c => escape_char(c, out),
        }
    }
    out.push('\'');
}

/// Erlang's escape of a Latin-1 character inside quotes (the quote itself aside).
fn escape_char(c: char, out: &mut String) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\x1b' => out.push_str("\\e"),
        '\x7f' => out.push_str("\\d"),
        c if (c as u32) < 0x20 || (0x80..0xa0).contains(&(c as u32)) => {
            let _ = write!(out, "\\{:03o}", c as u32);
        }
        c => out.push(c),
    }
}

/// `io_lib:printable_latin1_list/1` for one character.
fn is_printable(c: u32) -> bool {
    (32..=126).contains(&c) || (160..=255).contains(&c) || (8..=13).contains(&c) || c == 27
}

fn write_string(chars: impl Iterator<Item = char>, out: &mut String) {
    out.push('"');
    for c in chars {
        match c {
            '"' => out.push_str("\\\""),
            c => escape_char(c, out),
        }
    }
    out.push('"');
}

fn write_binary(bytes: &[u8], out: &mut String) {
    if !bytes.is_empty() && bytes.iter().all(|&b| is_printable(b as u32)) {
        out.push_str("<<");
        write_string(bytes.iter().take(MAX_BYTES).map(|&b| b as char), out);
        if bytes.len() > MAX_BYTES {
            // Inside the quotes: "aaa...".
            out.pop();
            out.push_str("...\"");
        }
        out.push_str(">>");
        return;
    }
    out.push_str("<<");
    for (i, b) in bytes.iter().take(MAX_BYTES).enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{b}");
    }
    if bytes.len() > MAX_BYTES {
        out.push_str(",...");
    }
    out.push_str(">>");
}

/// `<<1,2,3:5>>`.
fn write_bitstring<'a>(env: Env<'a>, term: Term<'a>, out: &mut String) {
    let Some((data, bits)) = external::bitstring(env, term) else {
        out.push_str("<<?>>");
        return;
    };
    out.push_str("<<");
    let (last, whole) = data.split_last().expect("not empty");
    for b in whole.iter().take(MAX_BYTES) {
        let _ = write!(out, "{b},");
    }
    if whole.len() > MAX_BYTES {
        out.push_str("...,");
    }
    let _ = write!(out, "{}:{bits}", last >> (8 - bits));
    out.push_str(">>");
}

fn write_list<'a>(env: Env<'a>, term: Term<'a>, out: &mut String, depth: usize) {
    if let Some((chars, cut)) = printable_string(env, term) {
        write_string(chars.into_iter(), out);
        if cut {
            // Inside the quotes, as a cut binary: "aaa...".
            out.pop();
            out.push_str("...\"");
        }
        return;
    }
    let (items, tail, more) = list_cells(env, term, MAX_ITEMS);
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_term(env, *item, out, depth + 1);
    }
    if more {
        out.push_str(",...");
    } else if !is_empty_list(env, tail) {
        out.push('|');
        write_term(env, tail, out, depth + 1);
    }
    out.push(']');
}

/// The first characters (at most [`MAX_BYTES`]) of a list `~p` prints as a string, and
/// whether more follow: a non-empty proper list of printable Latin-1 characters
/// (`io_lib:printable_latin1_list/1`), however long.
fn printable_string<'a>(env: Env<'a>, term: Term<'a>) -> Option<(Vec<char>, bool)> {
    let mut chars = Vec::new();
    let mut total = 0usize;
    let mut rest = term;
    loop {
        let (items, tail, more) = list_cells(env, rest, 1024);
        for item in items {
            let c = item
                .decode::<u32>(env)
                .ok()
                .filter(|&c| is_printable(c))
                .and_then(char::from_u32)?;
            total += 1;
            if chars.len() < MAX_BYTES {
                chars.push(c);
            }
        }
        if !more {
            return (total > 0 && is_empty_list(env, tail)).then_some((chars, total > MAX_BYTES));
        }
        rest = tail;
    }
}

fn write_map<'a>(env: Env<'a>, term: Term<'a>, out: &mut String, depth: usize) {
    let len = types::map::map_size(env, term).unwrap_or(0);
    let entries = super::map_entries(env, term, MAX_ITEMS, false);
    out.push_str("#{");
    for (i, (k, v)) in entries.iter().take(MAX_ITEMS).enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_term(env, *k, out, depth + 1);
        out.push_str(" => ");
        write_term(env, *v, out, depth + 1);
    }
    if len > MAX_ITEMS {
        out.push_str(",...");
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoms_like_io_lib() {
        let show = |name: &str| {
            let mut s = String::new();
            write_atom(name, &mut s);
            s
        };
        // What OTP 25's io_lib:format("~0p") prints.
        assert_eq!(show("ok"), "ok");
        assert_eq!(show("after"), "'after'");
        assert_eq!(show("maybe"), "maybe");
        assert_eq!(show("Elixir.Foo"), "'Elixir.Foo'");
        assert_eq!(show("a\nb"), "'a\\nb'");
        assert_eq!(show("it's"), "'it\\'s'");
        assert_eq!(show("\x01x"), "'\\001x'");
        assert_eq!(show("ärger"), "ärger");
        assert_eq!(show("Ärger"), "'Ärger'");
        assert_eq!(show("日本"), "'\\x{65E5}\\x{672C}'");
        assert_eq!(show("é\x7f"), "'é\\d'");
        assert_eq!(show(""), "''");
    }
}
