//! Elixir's `inspect/1` text of a term.
//!
//! Exact for every term but these (each documented in docs/nifs.md):
//! - a struct of a module oxbeam does not know prints in map form
//!   (`%{__struct__: M, ...}`): Elixir asks the module for its fields (their order, and
//!   whether the module is a struct at all) or for its own `Inspect` implementation, and
//!   a NIF cannot call Elixir code. Known: `Range`, `MapSet`, and `Date`, `Time`,
//!   `NaiveDateTime`, `DateTime` in the ISO calendar, `Version`, the standard
//!   exceptions ([`known_fields`]), and structs registered with
//!   [`super::register_struct`].
//! - a local fun prints as `#Function<0.123/1 in M>`: Elixir adds the name of the
//!   function that defined it (`in M.f/1`), which is in the module's code, not in the
//!   fun.
//! - a pid, port or reference of another node prints with node number 0.
//! - an atom with letters beyond Latin-1 prints quoted (`:"日本"` where Elixir prints
//!   `:日本`).

use super::external::{self, Fun};
use super::{float, is_empty_list, list_cells, MAX_BYTES, MAX_DEPTH, MAX_ITEMS, MAX_LEN};
use crate::atom::Atom;
use crate::env::Env;
use crate::term::{Term, TermType};
use crate::types;
use std::fmt::Write;

pub(super) fn render<'a>(env: Env<'a>, term: Term<'a>) -> String {
    let mut printer = Printer {
        env,
        out: String::new(),
        version: super::elixir_version(),
        charlists_as_lists: false,
    };
    printer.term(term, 0);
    printer.out
}

struct Printer<'a> {
    env: Env<'a>,
    out: String,
    /// The Elixir version matched (`major * 1000 + minor`).
    version: u32,
    /// Inside a `MapSet`: charlists print as lists.
    charlists_as_lists: bool,
}

impl<'a> Printer<'a> {
    fn term(&mut self, term: Term<'a>, depth: usize) {
        if depth > MAX_DEPTH || self.out.len() > MAX_LEN * 2 {
            self.out.push_str("...");
            return;
        }
        let env = self.env;
        match term.term_type(env) {
            TermType::Atom => match atom_name(env, term) {
                Some(name) => write_atom(&name, &mut self.out),
                None => self.out.push_str("#Atom<?>"),
            },
            TermType::Integer => self.out.push_str(&super::integer_text(env, term)),
            TermType::Float => float::write_elixir(super::float_value(env, term), &mut self.out),
            TermType::Bitstring => match types::binary::inspect_binary(env, term) {
                Some(bytes) => write_binary(bytes, &mut self.out),
                None => self.bitstring(term),
            },
            TermType::List => self.list(term, depth),
            TermType::Tuple => {
                let elements = types::tuple::tuple_elements(env, term).unwrap_or(&[]);
                self.out.push('{');
                self.items(elements, elements.len(), depth);
                self.out.push('}');
            }
            TermType::Map => self.map(term, depth),
            TermType::Pid => match external::pid(env, term) {
                Some((id, serial)) => {
                    let _ = write!(self.out, "#PID<0.{id}.{serial}>");
                }
                None => self.out.push_str("#PID<...>"),
            },
            TermType::Port => match external::port(env, term) {
                Some(id) => {
                    let _ = write!(self.out, "#Port<0.{id}>");
                }
                None => self.out.push_str("#Port<...>"),
            },
            TermType::Reference => match external::reference(env, term) {
                Some(ids) => {
                    self.out.push_str("#Reference<0");
                    for id in ids {
                        let _ = write!(self.out, ".{id}");
                    }
                    self.out.push('>');
                }
                None => self.out.push_str("#Reference<...>"),
            },
            TermType::Fun => self.fun(term),
            TermType::Unknown(_) => self.out.push_str("#Term<...>"),
        }
    }

    fn items(&mut self, items: &[Term<'a>], len: usize, depth: usize) {
        for (i, item) in items.iter().take(MAX_ITEMS).enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.term(*item, depth + 1);
        }
        if len > MAX_ITEMS {
            self.out.push_str(", ...");
        }
    }

    /// `&M.f/2` for an external fun; `#Function<0.123/1 in M>` for a local one.
    fn fun(&mut self, term: Term<'a>) {
        match external::fun(self.env, term) {
            Some(Fun::External {
                module,
                function,
                arity,
            }) => {
                self.out.push('&');
                write_atom(&module, &mut self.out);
                self.out.push('.');
                write_remote_call(&function, &mut self.out);
                let _ = write!(self.out, "/{arity}");
            }
            Some(Fun::Local {
                module,
                arity,
                index,
                old_uniq,
                ..
            }) => {
                let _ = write!(self.out, "#Function<{index}.{old_uniq}/{arity} in ");
                write_atom(&module, &mut self.out);
                self.out.push('>');
            }
            None => self.out.push_str("#Function<...>"),
        }
    }

    /// A bitstring that is not whole bytes: `<<1, 2::size(3)>>`.
    fn bitstring(&mut self, term: Term<'a>) {
        let Some((data, bits)) = external::bitstring(self.env, term) else {
            self.out.push_str("#Bitstring<...>");
            return;
        };
        let out = &mut self.out;
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

    fn list(&mut self, term: Term<'a>, depth: usize) {
        let env = self.env;
        if !self.charlists_as_lists {
            if let Some((chars, cut)) = printable_charlist(env, term) {
                self.charlist(&chars, cut);
                return;
            }
        }
        let (items, tail, more) = list_cells(env, term, MAX_ITEMS);
        let proper = !more && is_empty_list(env, tail);
        if (proper || more) && self.keyword(&items, more, || is_keyword_list(env, term), depth) {
            return;
        }
        self.out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.term(*item, depth + 1);
        }
        if more {
            self.out.push_str(", ...");
        } else if !proper {
            self.out.push_str(" | ");
            self.term(tail, depth + 1);
        }
        self.out.push(']');
    }

    /// `'abc'` (Elixir < 1.15) or `~c"abc"`; `~c"abc..."` when cut.
    fn charlist(&mut self, chars: &[char], cut: bool) {
        let sigil = self.version >= 1015;
        let quote = if sigil { '"' } else { '\'' };
        self.out.push_str(if sigil { "~c\"" } else { "'" });
        let text: String = chars.iter().collect();
        escape_quoted(&text, quote, &mut self.out);
        if cut {
            self.out.push_str("...");
        }
        self.out.push(quote);
    }

    /// `[a: 1, b: 2]`: a non-empty proper list of pairs whose keys are atoms that are
    /// not aliases (as Elixir's `Inspect.List.keyword?/1`). `items` are the elements
    /// shown; when `more` follow, `all_keyword` says whether the whole list is one.
    /// False (nothing written) when it is not one.
    fn keyword(
        &mut self,
        items: &[Term<'a>],
        more: bool,
        all_keyword: impl FnOnce() -> bool,
        depth: usize,
    ) -> bool {
        let env = self.env;
        let pairs: Option<Vec<(String, Term<'a>)>> =
            items.iter().map(|item| keyword_pair(env, *item)).collect();
        let Some(pairs) = pairs.filter(|pairs| !pairs.is_empty()) else {
            return false;
        };
        if more && !all_keyword() {
            return false;
        }
        self.out.push('[');
        for (i, (name, value)) in pairs.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            write_key(name, &mut self.out);
            self.term(*value, depth + 1);
        }
        if more {
            self.out.push_str(", ...");
        }
        self.out.push(']');
        true
    }

    fn map(&mut self, term: Term<'a>, depth: usize) {
        let env = self.env;
        let len = types::map::map_size(env, term).unwrap_or(0);
        let entries = super::map_entries(env, term, MAX_ITEMS, true);
        if let Some(module) = struct_module(env, term) {
            if self.known_struct(&module, term, depth) {
                return;
            }
        }
        self.out.push_str("%{");
        // Keyword syntax only when every key (shown or not) is an atom, none an alias (as
        // Elixir's Inspect.List.keyword?/1).
        let keyword = types::map::for_each_entry(env, term, |k, _| {
            match atom_name(env, k).is_some_and(|name| !name.starts_with("Elixir.")) {
                true => Ok(()),
                false => Err(()),
            }
        })
        .is_ok();
        for (i, (k, v)) in entries.iter().take(MAX_ITEMS).enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            match keyword.then(|| atom_name(env, *k)).flatten() {
                Some(name) => write_key(&name, &mut self.out),
                None => {
                    self.term(*k, depth + 1);
                    self.out.push_str(" => ");
                }
            }
            self.term(*v, depth + 1);
        }
        if len > MAX_ITEMS {
            self.out.push_str(", ...");
        }
        self.out.push('}');
    }

    /// A struct whose `Inspect` is pure data and known here, printed as Elixir does;
    /// false when the module is not one of them or the fields are not as expected.
    fn known_struct(&mut self, module: &str, term: Term<'a>, depth: usize) -> bool {
        let env = self.env;
        let get = |key: &str| {
            let key = Atom::try_existing(env, key)?;
            term.map_get(env, key)
        };
        let int = |key: &str| get(key).and_then(|t| t.decode::<i64>(env).ok());
        let size = types::map::map_size(env, term).unwrap_or(0);
        match module {
            "Elixir.Range" if size == 4 => {
                let (Some(first), Some(last), Some(step)) =
                    (get("first"), get("last"), get("step"))
                else {
                    return false;
                };
                if ![first, last, step]
                    .iter()
                    .all(|t| t.term_type(env) == TermType::Integer)
                {
                    return false;
                }
                self.out.push_str(&super::integer_text(env, first));
                self.out.push_str("..");
                self.out.push_str(&super::integer_text(env, last));
                let one = matches!(step.decode::<i64>(env), Ok(1));
                if !(one && last.compare(first).is_ge()) {
                    self.out.push_str("//");
                    self.out.push_str(&super::integer_text(env, step));
                }
                true
            }
            "Elixir.MapSet" => {
                let Some(set) = get("map").filter(|m| m.term_type(env) == TermType::Map) else {
                    return false;
                };
                let len = types::map::map_size(env, set).unwrap_or(0);
                let keys: Vec<Term<'a>> = super::map_entries(env, set, MAX_ITEMS, true)
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect();
                // The elements print as a list would (`MapSet.new([a: 1])` when they are
                // pairs with atom keys), charlists as lists.
                self.out.push_str("MapSet.new(");
                let outer = self.charlists_as_lists;
                self.charlists_as_lists = true;
                let more = len > MAX_ITEMS;
                let all_keyword = || {
                    types::map::for_each_entry(env, set, |k, _| match keyword_pair(env, k) {
                        Some(_) => Ok(()),
                        None => Err(()),
                    })
                    .is_ok()
                };
                let keys = &keys[..keys.len().min(MAX_ITEMS)];
                if !self.keyword(keys, more, all_keyword, depth) {
                    self.out.push('[');
                    self.items(keys, len, depth);
                    self.out.push(']');
                }
                self.charlists_as_lists = outer;
                self.out.push(')');
                true
            }
            "Elixir.Date" | "Elixir.Time" | "Elixir.NaiveDateTime" | "Elixir.DateTime" => {
                if get("calendar").and_then(|c| atom_name(env, c)).as_deref()
                    != Some("Elixir.Calendar.ISO")
                {
                    return false;
                }
                let date = || {
                    let year = int("year").filter(|y| (-9999..=9999).contains(y))?;
                    iso_date(year, int("month")?, int("day")?)
                };
                let time = || {
                    let (us, precision) = get("microsecond")?.decode::<(i64, i64)>(env).ok()?;
                    iso_time(int("hour")?, int("minute")?, int("second")?, us, precision)
                };
                let text = match (module, size) {
                    ("Elixir.Date", 5) => date().map(|d| format!("~D[{d}]")),
                    ("Elixir.Time", 6) => time().map(|t| format!("~T[{t}]")),
                    ("Elixir.NaiveDateTime", 9) => {
                        date().zip(time()).map(|(d, t)| format!("~N[{d} {t}]"))
                    }
                    ("Elixir.DateTime", 13) => date().zip(time()).and_then(|(d, t)| {
                        let zone: String = get("time_zone")?.decode(env).ok()?;
                        let abbr: String = get("zone_abbr")?.decode(env).ok()?;
                        let (utc, std) = (int("utc_offset")?, int("std_offset")?);
                        Some(if (utc, std, zone.as_str()) == (0, 0, "Etc/UTC") {
                            format!("~U[{d} {t}Z]")
                        } else {
                            // In i128: the offsets are whatever integers the map holds.
                            let total = i128::from(utc) + i128::from(std);
                            let sign = if total >= 0 { '+' } else { '-' };
                            let seconds = total.abs();
                            let (h, m) = (seconds / 3600, seconds % 3600 / 60);
                            let zone_part = if zone == "Etc/UTC" {
                                String::new()
                            } else {
                                format!(" {abbr} {zone}")
                            };
                            format!("#DateTime<{d} {t}{sign}{h:02}:{m:02}{zone_part}>")
                        })
                    }),
                    _ => None,
                };
                match text {
                    Some(text) => {
                        self.out.push_str(&text);
                        true
                    }
                    None => false,
                }
            }
            _ => {
                let fields = super::registered_struct(module).or_else(|| {
                    known_fields(module).map(|f| f.iter().map(|f| f.to_string()).collect())
                });
                match fields {
                    Some(fields) => self.derived_struct(module, &fields, term, depth),
                    None => false,
                }
            }
        }
    }

    /// `%Mod{a: 1, b: 2}` as Elixir's derived `Inspect` (`Inspect.Any`) prints a struct:
    /// the fields in definition order, `__exception__` left out. False (map form, as
    /// Elixir too) when the map's keys are not exactly the struct's.
    fn derived_struct(
        &mut self,
        module: &str,
        fields: &[String],
        term: Term<'a>,
        depth: usize,
    ) -> bool {
        let env = self.env;
        let size = types::map::map_size(env, term).unwrap_or(0);
        let values: Option<Vec<(&str, Term<'a>)>> = fields
            .iter()
            .filter(|f| f.as_str() != "__struct__")
            .map(|field| {
                let key = Atom::try_existing(env, field)?;
                Some((field.as_str(), term.map_get(env, key)?))
            })
            .collect();
        let Some(values) = values.filter(|values| values.len() + 1 == size) else {
            return false;
        };
        self.out.push('%');
        let mut name = String::new();
        write_atom(module, &mut name);
        self.out.push_str(&name);
        self.out.push('{');
        let shown: Vec<_> = values
            .into_iter()
            .filter(|(field, _)| *field != "__exception__")
            .collect();
        for (i, (field, value)) in shown.iter().take(MAX_ITEMS).enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            write_key(field, &mut self.out);
            self.term(*value, depth + 1);
        }
        if shown.len() > MAX_ITEMS {
            self.out.push_str(", ...");
        }
        self.out.push('}');
        true
    }
}

/// The fields, in definition order, of the standard library's structs whose `Inspect`
/// is the derived one (the same in Elixir 1.14 and 1.18).
fn known_fields(module: &str) -> Option<&'static [&'static str]> {
    const MESSAGE: &[&str] = &["__exception__", "message"];
    const TERM: &[&str] = &["__exception__", "term"];
    Some(match module {
        "Elixir.Version" => &["major", "minor", "patch", "pre", "build"],
        "Elixir.ArgumentError"
        | "Elixir.RuntimeError"
        | "Elixir.ArithmeticError"
        | "Elixir.SystemLimitError"
        | "Elixir.Enum.EmptyError"
        | "Elixir.Enum.OutOfBoundsError" => MESSAGE,
        "Elixir.MatchError"
        | "Elixir.CaseClauseError"
        | "Elixir.WithClauseError"
        | "Elixir.TryClauseError"
        | "Elixir.BadMapError"
        | "Elixir.BadFunctionError" => TERM,
        "Elixir.CondClauseError" => &["__exception__"],
        "Elixir.KeyError" => &["__exception__", "key", "term", "message"],
        "Elixir.ErlangError" => &["__exception__", "original", "reason"],
        "Elixir.BadArityError" => &["__exception__", "function", "args"],
        "Elixir.BadBooleanError" => &["__exception__", "term", "operator"],
        "Elixir.UndefinedFunctionError" => &[
            "__exception__",
            "module",
            "function",
            "arity",
            "reason",
            "message",
        ],
        "Elixir.Protocol.UndefinedError" => &["__exception__", "protocol", "value", "description"],
        "Elixir.File.Error" => &["__exception__", "reason", "path", "action"],
        "Elixir.UnicodeConversionError" => &["__exception__", "encoded", "message"],
        _ => return None,
    })
}

/// `Calendar.ISO.date_to_string/3`: `2024-01-02`, `-0001-01-02`. (Elixir writes any
/// month and day, `2024-13-00`; None for the negative ones, whose text is not known.)
fn iso_date(year: i64, month: i64, day: i64) -> Option<String> {
    if month < 0 || day < 0 {
        return None;
    }
    let sign = if year < 0 { "-" } else { "" };
    Some(format!("{sign}{:04}-{month:02}-{day:02}", year.abs()))
}

/// `Calendar.ISO.time_to_string/4`: `01:02:03`, `01:02:03.004`.
/// None where Elixir's own `Inspect` raises (an hour past 23, a precision past 6...).
fn iso_time(hour: i64, minute: i64, second: i64, us: i64, precision: i64) -> Option<String> {
    let valid = (0..=23).contains(&hour)
        && (0..=59).contains(&minute)
        && (0..=59).contains(&second)
        && (0..=6).contains(&precision)
        && (0..1_000_000).contains(&us);
    if !valid {
        return None;
    }
    let mut text = format!("{hour:02}:{minute:02}:{second:02}");
    if precision > 0 {
        let digits = format!("{us:06}");
        text.push('.');
        text.push_str(&digits[..precision as usize]);
    }
    Some(text)
}

/// A keyword list's element: `{key, value}` with an atom key that is not an alias.
fn keyword_pair<'a>(env: Env<'a>, item: Term<'a>) -> Option<(String, Term<'a>)> {
    match types::tuple::tuple_elements(env, item) {
        Some([key, value]) => atom_name(env, *key)
            .filter(|name| !name.starts_with("Elixir."))
            .map(|name| (name, *value)),
        _ => None,
    }
}

/// Whether a whole list (however long) is a proper keyword list.
fn is_keyword_list<'a>(env: Env<'a>, term: Term<'a>) -> bool {
    let mut rest = term;
    loop {
        let (items, tail, more) = list_cells(env, rest, 1024);
        if items.iter().any(|item| keyword_pair(env, *item).is_none()) {
            return false;
        }
        if !more {
            return is_empty_list(env, tail);
        }
        rest = tail;
    }
}

/// The module of a map with an atom `__struct__` key.
fn struct_module<'a>(env: Env<'a>, term: Term<'a>) -> Option<String> {
    let key = Atom::try_existing(env, "__struct__")?;
    atom_name(env, term.map_get(env, key)?)
}

fn atom_name<'a>(env: Env<'a>, term: Term<'a>) -> Option<String> {
    (term.term_type(env) == TermType::Atom)
        .then(|| crate::atom::atom_from_raw(term.as_raw()).name(env).ok())
        .flatten()
}

/// `Macro.inspect_atom(:literal, atom)`.
fn write_atom(name: &str, out: &mut String) {
    match name {
        "nil" | "true" | "false" => out.push_str(name),
        _ if name.starts_with("Elixir.") && is_alias(&name[7..]) => out.push_str(&name[7..]),
        _ if is_plain_atom(name) || is_alias_like_key(name) || is_operator(name) => {
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

/// `Macro.inspect_atom(:remote_call, name)`: the function name in `&M.f/1`.
fn write_remote_call(name: &str, out: &mut String) {
    // A name starting with an uppercase letter is not a call's name (`M."Ärger"/0`).
    let upper = name.starts_with(|c: char| c.is_uppercase());
    if (is_plain_atom(name) && !upper) || is_operator(name) {
        out.push_str(name);
    } else {
        out.push('"');
        escape_into(name, out);
        out.push('"');
    }
}

/// A keyword key: `a: `, `+: `, `"with space": `.
fn write_key(name: &str, out: &mut String) {
    if is_plain_atom(name) || is_alias_like_key(name) || is_operator(name) {
        out.push_str(name);
    } else {
        out.push('"');
        escape_into(name, out);
        out.push('"');
    }
    out.push_str(": ");
}

/// Elixir's operators, written bare as atoms (`:+`) and remote calls (`&:erlang.+/2`).
fn is_operator(name: &str) -> bool {
    matches!(
        name,
        "+" | "-"
            | "*"
            | "/"
            | "++"
            | "--"
            | "**"
            | "<>"
            | "!"
            | "^"
            | "=="
            | "!="
            | "==="
            | "!=="
            | "<"
            | ">"
            | "<="
            | ">="
            | "=~"
            | "&&"
            | "||"
            | "&&&"
            | "|||"
            | "<<<"
            | ">>>"
            | "<<~"
            | "~>>"
            | "<~"
            | "~>"
            | "<~>"
            | "|>"
            | "="
            | "&"
            | "@"
            | "\\\\"
            | "<-"
            | "|"
            | ".."
            | "..//"
            | "..."
            | "+++"
            | "---"
            | "%"
            | "%{}"
            | "{}"
            | "<<>>"
            | "."
            | "->"
    )
}

fn is_alias(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            part.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// A Latin-1 letter beyond ASCII (`À`..`ÿ` but `×` and `÷`): Latin script, NFC, so
/// Elixir's identifier rules take it as ASCII letters. (Other non-ASCII letters are
/// subject to Elixir's script-mixing rules, not implemented: such atoms print quoted.)
fn is_latin1_letter(c: char) -> bool {
    ('\u{c0}'..='\u{ff}').contains(&c) && c != '\u{d7}' && c != '\u{f7}'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '@' || is_latin1_letter(c)
}

/// An atom written bare after `:` (`:ok`, `:valid?`, `:café`, `:Ärger`).
fn is_plain_atom(s: &str) -> bool {
    let body = s.strip_suffix(['?', '!']).unwrap_or(s);
    body.chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_' || is_latin1_letter(c))
        && body.chars().all(is_name_char)
}

/// Keys like `Foo:` are written bare in keyword syntax (`[Foo: 1]`).
fn is_alias_like_key(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && name.chars().all(is_name_char)
}

fn write_binary(bytes: &[u8], out: &mut String) {
    match std::str::from_utf8(bytes) {
        Ok(s)
            if s.chars().all(|c| {
                is_printable(c as u32) || "\n\r\t\x0b\x08\x0c\x1b\x7f\x07".contains(c)
            }) =>
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
    escape_quoted(s, '"', out)
}

/// Elixir's escapes in a text between `quote`s (`Code.Identifier.escape/2`).
fn escape_quoted(s: &str, quote: char, out: &mut String) {
    let escape_invisible = super::elixir_version() >= 1018;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let code = c as u32;
        match c {
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            '#' if chars.peek() == Some(&'{') => out.push_str("\\#"),
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
            '\0' => out.push_str("\\0"),
            _ if code == 0xFEFF || (escape_invisible && is_invisible(code)) => {
                let _ = write!(out, "\\u{code:04X}");
            }
            _ if is_printable(code) => out.push(c),
            _ if code < 0x100 => {
                let _ = write!(out, "\\x{code:02X}");
            }
            _ if code < 0x10000 => {
                let _ = write!(out, "\\x{{{code:04X}}}");
            }
            _ => {
                let _ = write!(out, "\\x{{{code:06X}}}");
            }
        }
    }
}

/// The characters Elixir writes as they are in a string (`String.printable?/1`, but
/// for the escaped control characters).
fn is_printable(code: u32) -> bool {
    matches!(code, 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

/// Invisible or confusing characters Elixir 1.18 writes as `\uXXXX` (zero-width, spaces,
/// bidirectional controls).
fn is_invisible(code: u32) -> bool {
    matches!(
        code,
        0x2061..=0x2064
            | 0x061C
            | 0x200E
            | 0x200F
            | 0x202A..=0x202E
            | 0x2066..=0x2069
            | 0xFFF9..=0xFFFC
            | 0x200C
            | 0x200D
            | 0x034F
            | 0x00A0
            | 0x200B
            | 0x2060
            | 0x2028
            | 0x2029
            | 0x2000..=0x200A
            | 0x205F
    )
}

/// Elixir's default `printable_limit`: a list whose first 4096 elements are printable
/// prints as a charlist, whatever follows.
const PRINTABLE_LIMIT: usize = 4096;

/// The first characters (at most [`MAX_BYTES`]) of a list Elixir prints as a charlist,
/// and whether more follow: every element an ASCII printable character or one of
/// `\n \r \t \v \b \f \e \a` (`List.ascii_printable?/2` with the printable limit).
fn printable_charlist<'a>(env: Env<'a>, term: Term<'a>) -> Option<(Vec<char>, bool)> {
    let (items, tail, more) = list_cells(env, term, PRINTABLE_LIMIT);
    if items.is_empty() || !(more || is_empty_list(env, tail)) {
        return None;
    }
    let chars = items
        .iter()
        .map(|item| {
            let c = item.decode::<u8>(env).ok()?;
            ((32..=126).contains(&c) || b"\n\r\t\x0b\x08\x0c\x1b\x07".contains(&c))
                .then_some(c as char)
        })
        .collect::<Option<Vec<char>>>()?;
    let cut = more || chars.len() > MAX_BYTES;
    Some((chars.into_iter().take(MAX_BYTES).collect(), cut))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(show("+"), ":+");
        assert_eq!(show("café"), ":café");
        assert_eq!(show("a×"), ":\"a×\"");
    }

    #[test]
    fn iso_dates_and_times() {
        assert_eq!(iso_date(2024, 1, 2).as_deref(), Some("2024-01-02"));
        assert_eq!(iso_date(-1, 1, 2).as_deref(), Some("-0001-01-02"));
        assert_eq!(iso_date(2024, 13, 0).as_deref(), Some("2024-13-00"));
        assert_eq!(iso_time(24, 0, 0, 0, 0), None);
        assert_eq!(iso_time(1, 2, 3, 4000, 3).as_deref(), Some("01:02:03.004"));
        assert_eq!(iso_time(1, 2, 3, 0, 0).as_deref(), Some("01:02:03"));
        assert_eq!(iso_time(1, 2, 3, 0, 7), None);
    }
}
