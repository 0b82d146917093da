//! Term → Rust through serde's `Deserializer`, with the derive's error paths.

use super::names::{
    inspect_atom, intern, map_key, struct_display, struct_module, type_ident, type_name, AtomText,
    Depth, NameList, TOO_DEEP,
};
use crate::atoms;
use crate::codec::{Decode, DecodeError, PathStep};
use crate::env::Env;
use crate::sys;
use crate::term::{Term, TermType};
use crate::types::binary::inspect_binary;
use crate::types::map::MapIter;
use crate::types::tuple::tuple_elements;
use crate::MapView;
use ::serde::de::{self, DeserializeSeed, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A decoding error on its way out of serde: what was expected, where, and (once a
/// deserializer has seen it) the term. Turned into a [`DecodeError`] by
/// [`from_term`](super::from_term).
pub struct Error<'a>(Box<Inner<'a>>);

/// Boxed: an error is rare, and a small `Result` is cheap to return through every
/// level of a successful decode.
struct Inner<'a> {
    term: Option<Term<'a>>,
    what: What,
    path: Vec<PathStep<'a>>,
}

enum What {
    /// `expected {0}, got: ...`.
    Expected(Cow<'static, str>),
    /// A struct's key is missing: worded by the struct that knows its name.
    MissingField(&'static str),
    /// A `Deserialize` impl's own message.
    Custom(String),
}

impl<'a> Error<'a> {
    #[cold]
    fn expected(term: Term<'a>, expected: impl Into<Cow<'static, str>>) -> Error<'a> {
        Error(Box::new(Inner {
            term: Some(term),
            what: What::Expected(expected.into()),
            path: Vec::new(),
        }))
    }

    /// The error arose while deserializing `term`: it is the term the message shows,
    /// unless a deeper one was already recorded.
    #[cold]
    fn at(mut self, term: Term<'a>) -> Error<'a> {
        if self.0.term.is_none() {
            self.0.term = Some(term);
        }
        self
    }

    /// A missing key of the struct read from `map`, worded by `missing` (given the
    /// key as Elixir writes it).
    #[cold]
    fn missing_in(mut self, map: Term<'a>, missing: impl FnOnce(&str) -> String) -> Error<'a> {
        if let (None, What::MissingField(field)) = (self.0.term, &self.0.what) {
            self.0.what = What::Expected(missing(&inspect_atom(field)).into());
            self.0.term = Some(map);
        }
        self
    }

    #[cold]
    fn inside(mut self, step: PathStep<'a>) -> Error<'a> {
        self.0.path.insert(0, step);
        self
    }

    fn expected_text(&self) -> Cow<'static, str> {
        match &self.0.what {
            What::Expected(text) => text.clone(),
            What::MissingField(field) => {
                format!("a map with the key {}", inspect_atom(field)).into()
            }
            What::Custom(text) => format!("a valid value ({text})").into(),
        }
    }

    /// The error as a [`DecodeError`]; `top` is the term shown when no deserializer
    /// recorded one.
    pub fn into_decode_error(self, top: Term<'a>) -> DecodeError<'a> {
        let expected = self.expected_text();
        DecodeError {
            term: self.0.term.unwrap_or(top),
            expected,
            path: self.0.path,
        }
    }
}

impl<'a> From<DecodeError<'a>> for Error<'a> {
    #[cold]
    fn from(error: DecodeError<'a>) -> Error<'a> {
        Error(Box::new(Inner {
            term: Some(error.term),
            what: What::Expected(error.expected),
            path: error.path,
        }))
    }
}

impl fmt::Debug for Error<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({self})")
    }
}

/// Without an environment the term cannot be shown: the path and what was expected.
impl fmt::Display for Error<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.0.path {
            match step {
                PathStep::ListElement(i) => write!(f, "element {i} of the list: ")?,
                PathStep::TupleElement(i) => write!(f, "element {i} of the tuple: ")?,
                PathStep::MapValue(_) => f.write_str("value of a map: ")?,
                PathStep::MapKey(_) => f.write_str("key of a map: ")?,
                PathStep::Field(name) => write!(f, "{name}: ")?,
            }
        }
        write!(f, "expected {}", self.expected_text())
    }
}

impl std::error::Error for Error<'_> {}

impl de::Error for Error<'_> {
    #[cold]
    fn custom<T: fmt::Display>(msg: T) -> Self {
        let text = msg.to_string();
        let what = match text.strip_prefix("data did not match any variant of untagged enum ") {
            Some(name) => What::Expected(format!("one of the variants of {name}").into()),
            None => What::Custom(text),
        };
        Error(Box::new(Inner {
            term: None,
            what,
            path: Vec::new(),
        }))
    }

    #[cold]
    fn invalid_type(_unexpected: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Error(Box::new(Inner {
            term: None,
            what: What::Expected(expected.to_string().into()),
            path: Vec::new(),
        }))
    }

    #[cold]
    fn invalid_value(_unexpected: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::invalid_type(de::Unexpected::Other(""), expected)
    }

    #[cold]
    fn invalid_length(len: usize, expected: &dyn de::Expected) -> Self {
        Error(Box::new(Inner {
            term: None,
            what: What::Expected(format!("{expected} (got {len} elements)").into()),
            path: Vec::new(),
        }))
    }

    #[cold]
    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Self {
        Error(Box::new(Inner {
            term: None,
            what: What::Expected(format!("one of {}", atoms_list(expected)).into()),
            path: Vec::new(),
        }))
    }

    #[cold]
    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Error(Box::new(Inner {
            term: None,
            what: What::Expected(
                format!(
                    "no key {} (the keys are {})",
                    inspect_atom(field),
                    atoms_list(expected)
                )
                .into(),
            ),
            path: Vec::new(),
        }))
    }

    #[cold]
    fn missing_field(field: &'static str) -> Self {
        Error(Box::new(Inner {
            term: None,
            what: What::MissingField(field),
            path: Vec::new(),
        }))
    }
}

/// `:a, :b, :c`.
fn atoms_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| inspect_atom(name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads one term. Every container it enters counts toward
/// [`MAX_DEPTH`](super::MAX_DEPTH) levels and [`STACK_BUDGET`](super::STACK_BUDGET)
/// bytes of stack: a deeper term is an error, not a stack overflow.
#[derive(Clone, Copy)]
pub struct Deserializer<'a> {
    env: Env<'a>,
    term: Term<'a>,
    depth: Depth,
    /// A map key: atoms read as strings there (`%{a: 1}` into `HashMap<String, _>`).
    key: bool,
}

impl<'a> Deserializer<'a> {
    pub fn new(env: Env<'a>, term: Term<'a>) -> Deserializer<'a> {
        Deserializer {
            env,
            term,
            depth: Depth::start(),
            key: false,
        }
    }

    /// A deserializer for `term`, inside this one (which has entered a level).
    #[inline]
    fn child(&self, term: Term<'a>) -> Deserializer<'a> {
        Deserializer {
            env: self.env,
            term,
            depth: self.depth,
            key: false,
        }
    }

    /// One level deeper, refused past the limits.
    #[inline]
    fn enter(&mut self) -> Result<(), Error<'a>> {
        match self.depth.enter() {
            Some(depth) => {
                self.depth = depth;
                Ok(())
            }
            None => Err(too_deep(self.term)),
        }
    }

    /// Refuses to recurse (without entering a container) past the stack budget.
    #[inline]
    fn check_stack(&self) -> Result<(), Error<'a>> {
        if self.depth.within_budget() {
            Ok(())
        } else {
            Err(too_deep(self.term))
        }
    }

    #[inline]
    fn decode<T: Decode<'a>>(&self) -> Result<T, Error<'a>> {
        T::decode(self.term, self.env).map_err(Error::from)
    }

    #[inline]
    fn is_nil(&self) -> bool {
        self.term.as_raw() == atoms::nil().as_raw()
    }

    /// The UTF-8 text of a binary; `rust` names the type in the message.
    #[inline]
    fn text(&self, rust: &'static str) -> Result<&'a str, Error<'a>> {
        match inspect_binary(self.env, self.term) {
            Some(bytes) => crate::types::string::utf8(bytes)
                .ok_or_else(|| Error::expected(self.term, format!("a UTF-8 string ({rust})"))),
            None => Err(Error::expected(self.term, format!("a string ({rust})"))),
        }
    }

    /// A string, or in a map key an atom (read as its name).
    #[inline]
    fn visit_text<V: Visitor<'a>>(
        self,
        visitor: V,
        rust: &'static str,
    ) -> Result<V::Value, Error<'a>> {
        if self.key {
            if let Some(name) = AtomText::read(self.env, self.term) {
                return visit_atom_name(&name, visitor).map_err(|e: Error<'a>| e.at(self.term));
            }
        }
        let text = self.text(rust)?;
        visitor
            .visit_borrowed_str(text)
            .map_err(|e: Error<'a>| e.at(self.term))
    }

    /// The elements of a proper list; `None` for anything else.
    fn list(self) -> Option<ListAccess<'a>> {
        let mut len = 0;
        // SAFETY: term belongs to env; len is a valid out-pointer.
        if unsafe { sys::enif_get_list_length(self.env.as_raw(), self.term.as_raw(), &mut len) }
            == 0
        {
            return None;
        }
        Some(ListAccess {
            de: self,
            rest: self.term,
            index: 0,
            len: len as usize,
        })
    }
}

/// A struct read from a term that is not a map.
#[cold]
fn not_a_struct_map(term: Term<'_>, rust: String) -> Error<'_> {
    Error::expected(term, format!("a map ({rust})"))
}

#[cold]
fn too_deep(term: Term<'_>) -> Error<'_> {
    Error::expected(term, TOO_DEEP)
}

#[cold]
fn not_a_list<'a>(env: Env<'a>, term: Term<'a>, rust: String) -> Error<'a> {
    // SAFETY: term belongs to env.
    let proper = if unsafe { sys::enif_is_list(env.as_raw(), term.as_raw()) } != 0 {
        "a proper list"
    } else {
        "a list"
    };
    Error::expected(term, format!("{proper} ({rust})"))
}

/// `deserialize_any` of an atom other than nil/true/false: its name. Not inlined:
/// the name's buffer stays off the frames of recursive calls.
#[inline(never)]
fn any_atom<'a, V: Visitor<'a>>(
    env: Env<'a>,
    term: Term<'a>,
    visitor: V,
) -> Result<V::Value, Error<'a>> {
    match AtomText::read(env, term) {
        Some(name) => visit_atom_name(&name, visitor),
        None => Err(Error::expected(term, "an atom")),
    }
}

/// `deserialize_any` of an integer: the narrowest of i64, u64, i128, u128.
#[inline(never)]
fn any_integer<'a, V: Visitor<'a>>(
    env: Env<'a>,
    term: Term<'a>,
    visitor: V,
) -> Result<V::Value, Error<'a>> {
    if let Ok(v) = i64::decode(term, env) {
        visitor.visit_i64(v)
    } else if let Ok(v) = u64::decode(term, env) {
        visitor.visit_u64(v)
    } else if let Ok(v) = i128::decode(term, env) {
        visitor.visit_i128(v)
    } else if let Ok(v) = u128::decode(term, env) {
        visitor.visit_u128(v)
    } else {
        Err(Error::expected(
            term,
            format!("an integer in {}..{} (serde)", i128::MIN, u128::MAX),
        ))
    }
}

fn visit_atom_name<'a, V: Visitor<'a>>(name: &AtomText, visitor: V) -> Result<V::Value, Error<'a>> {
    match name.as_str() {
        Cow::Borrowed(text) => visitor.visit_str(text),
        Cow::Owned(text) => visitor.visit_string(text),
    }
}

macro_rules! primitives {
    ($($method:ident => $t:ty, $visit:ident;)*) => {$(
        #[inline]
        fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error<'a>> {
            let value: $t = self.decode()?;
            visitor.$visit(value).map_err(|e: Error<'a>| e.at(self.term))
        }
    )*};
}

/// Integers up to 64 bits: the value read inline, the error (with the range in its
/// words) written out of line, so the hot path stays small enough to inline into a
/// struct's visitor.
macro_rules! integers {
    ($($method:ident => $t:ty, $visit:ident, $get:ident;)*) => {$(
        #[inline]
        fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error<'a>> {
            let read = crate::types::int::$get(self.env, self.term);
            let value: $t = match read.and_then(|v| <$t>::try_from(v).ok()) {
                Some(value) => value,
                None => decode_out_of_line(self.term, self.env)?,
            };
            visitor.$visit(value).map_err(|e: Error<'a>| e.at(self.term))
        }
    )*};
}

/// `T::decode` where its error is written: off the hot path.
#[cold]
#[inline(never)]
fn decode_out_of_line<'a, T: Decode<'a>>(term: Term<'a>, env: Env<'a>) -> Result<T, Error<'a>> {
    T::decode(term, env).map_err(Error::from)
}

impl<'a> de::Deserializer<'a> for Deserializer<'a> {
    type Error = Error<'a>;

    primitives! {
        deserialize_bool => bool, visit_bool;
        deserialize_i128 => i128, visit_i128;
        deserialize_u128 => u128, visit_u128;
        deserialize_f32 => f32, visit_f32;
        deserialize_f64 => f64, visit_f64;
    }

    integers! {
        deserialize_i8 => i8, visit_i8, get_i64;
        deserialize_i16 => i16, visit_i16, get_i64;
        deserialize_i32 => i32, visit_i32, get_i64;
        deserialize_i64 => i64, visit_i64, get_i64;
        deserialize_u8 => u8, visit_u8, get_u64;
        deserialize_u16 => u16, visit_u16, get_u64;
        deserialize_u32 => u32, visit_u32, get_u64;
        deserialize_u64 => u64, visit_u64, get_u64;
    }

    fn deserialize_any<V: Visitor<'a>>(mut self, visitor: V) -> Result<V::Value, Error<'a>> {
        let (env, term) = (self.env, self.term);
        let result = match term.term_type(env) {
            TermType::Atom => {
                let raw = term.as_raw();
                if raw == atoms::nil().as_raw() {
                    visitor.visit_unit()
                } else if raw == atoms::true_().as_raw() {
                    visitor.visit_bool(true)
                } else if raw == atoms::false_().as_raw() {
                    visitor.visit_bool(false)
                } else {
                    any_atom(env, term, visitor)
                }
            }
            TermType::Bitstring => match inspect_binary(env, term) {
                Some(bytes) => match crate::types::string::utf8(bytes) {
                    Some(text) => visitor.visit_borrowed_str(text),
                    None => visitor.visit_borrowed_bytes(bytes),
                },
                None => Err(Error::expected(term, "a binary (not a bitstring)")),
            },
            TermType::Float => visitor.visit_f64(self.decode()?),
            TermType::Integer => any_integer(env, term, visitor),
            TermType::List => {
                self.enter()?;
                match self.list() {
                    Some(list) => visitor.visit_seq(list),
                    None => Err(Error::expected(term, "a proper list")),
                }
            }
            TermType::Tuple => {
                self.enter()?;
                let elements = tuple_elements(env, term).unwrap_or(&[]);
                visitor.visit_seq(ElementsAccess::new(self, elements, 0, None))
            }
            TermType::Map => {
                self.enter()?;
                let view = MapView::decode(term, env)?;
                visitor.visit_map(MapAccess {
                    de: self,
                    iter: view.iter(),
                    value: None,
                })
            }
            // Funs, pids, ports, references, and kinds a newer VM may add.
            _ => Err(Error::expected(
                term,
                "a value serde can read (not a fun, pid, port or reference)",
            )),
        };
        result.map_err(|e: Error<'a>| e.at(term))
    }

    fn deserialize_char<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error<'a>> {
        let text = self.text("char")?;
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor
                .visit_char(c)
                .map_err(|e: Error<'a>| e.at(self.term)),
            _ => Err(Error::expected(self.term, "a one-character string (char)")),
        }
    }

    #[inline]
    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error<'a>> {
        self.visit_text(visitor, "&str")
    }

    #[inline]
    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error<'a>> {
        self.visit_text(visitor, "String")
    }

    fn deserialize_bytes<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error<'a>> {
        match inspect_binary(self.env, self.term) {
            Some(bytes) => visitor
                .visit_borrowed_bytes(bytes)
                .map_err(|e: Error<'a>| e.at(self.term)),
            None => Err(Error::expected(self.term, "a binary (bytes)")),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error<'a>> {
        self.deserialize_bytes(visitor)
    }

    #[inline]
    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error<'a>> {
        if self.is_nil() {
            visitor.visit_none().map_err(|e: Error<'a>| e.at(self.term))
        } else {
            self.check_stack()?;
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error<'a>> {
        if self.is_nil() {
            visitor.visit_unit().map_err(|e: Error<'a>| e.at(self.term))
        } else {
            Err(Error::expected(self.term, "nil (())"))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error<'a>> {
        if self.is_nil() {
            visitor.visit_unit().map_err(|e: Error<'a>| e.at(self.term))
        } else {
            Err(Error::expected(
                self.term,
                format!("nil ({})", type_ident::<V::Value>()),
            ))
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error<'a>> {
        self.check_stack()?;
        visitor
            .visit_newtype_struct(self)
            .map_err(|e: Error<'a>| e.at(self.term))
    }

    fn deserialize_seq<V: Visitor<'a>>(mut self, visitor: V) -> Result<V::Value, Error<'a>> {
        self.enter()?;
        match self.list() {
            Some(list) => visitor
                .visit_seq(list)
                .map_err(|e: Error<'a>| e.at(self.term)),
            None => Err(not_a_list(self.env, self.term, type_name::<V::Value>())),
        }
    }

    fn deserialize_tuple<V: Visitor<'a>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error<'a>> {
        let expected = || format!("a tuple of {len} elements ({})", type_name::<V::Value>());
        self.tuple(len, visitor, expected)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error<'a>> {
        let expected = || format!("a tuple of {len} elements ({})", type_ident::<V::Value>());
        self.tuple(len, visitor, expected)
    }

    fn deserialize_map<V: Visitor<'a>>(mut self, visitor: V) -> Result<V::Value, Error<'a>> {
        self.enter()?;
        let Ok(view) = MapView::decode(self.term, self.env) else {
            return Err(Error::expected(
                self.term,
                format!("a map ({})", type_name::<V::Value>()),
            ));
        };
        visitor
            .visit_map(MapAccess {
                de: self,
                iter: view.iter(),
                value: None,
            })
            .map_err(|e: Error<'a>| e.at(self.term))
    }

    fn deserialize_struct<V: Visitor<'a>>(
        mut self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error<'a>> {
        self.enter()?;
        let (env, term) = (self.env, self.term);
        let rust = type_ident::<V::Value>;
        let names = NameList::of(env, name, fields, true);
        // A plain map is checked to be one only when a key is missing (see
        // `StructAccess::unchecked`): a key found proves it, and saves a call.
        let mut unchecked = None;
        let place = match names.module(env, name) {
            Some(module) => {
                // (The value under __struct__ proves it a map.)
                let matches = module.is_some_and(|module| {
                    crate::derive::map_get_atom(env, term, atoms::__struct__())
                        .is_some_and(|found| found.as_raw() == module.as_raw())
                });
                if !matches {
                    return Err(Error::expected(
                        term,
                        format!("a {} struct ({})", module_display(name), rust()),
                    ));
                }
                Place::Struct(name)
            }
            None if !fields.is_empty() => {
                unchecked = Some(rust as fn() -> String);
                Place::Map
            }
            None if crate::derive::is_map(env, term) => Place::Map,
            None => return Err(not_a_struct_map(term, rust())),
        };
        let mut access = StructAccess::new(self, term, fields, &names.atoms, place);
        access.unchecked = unchecked;
        visitor.visit_map(access).map_err(|e| {
            e.missing_in(term, |key| match place {
                Place::Struct(name) => format!(
                    "a {} struct with the field {key} ({})",
                    module_display(name),
                    rust()
                ),
                _ => format!("a map with the key {key} ({})", rust()),
            })
            .at(term)
        })
    }

    fn deserialize_enum<V: Visitor<'a>>(
        mut self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error<'a>> {
        self.enter()?;
        let (env, term) = (self.env, self.term);
        let one_of = || {
            Error::expected(
                term,
                format!(
                    "one of {} ({})",
                    atoms_list(variants),
                    type_ident::<V::Value>()
                ),
            )
        };
        let (tag, rest): (Term<'a>, &'a [Term<'a>]) = match tuple_elements(env, term) {
            Some([tag, rest @ ..]) if !rest.is_empty() => (*tag, rest),
            Some(_) => return Err(one_of()),
            None => (term, &[]),
        };
        // Variant names are serde's `'static` names: their atoms are made once, and the
        // tag is found by comparing atom words.
        let found = NameList::of(env, _name, variants, false)
            .atoms
            .iter()
            .position(|&atom| atom == tag.as_raw());
        let Some(&variant) = found.and_then(|index| variants.get(index)) else {
            return Err(one_of());
        };
        let rust = type_ident::<V::Value>;
        visitor
            .visit_enum(EnumAccess {
                de: self,
                variant,
                rest,
                rust,
                variants,
            })
            .map_err(|e: Error<'a>| e.at(term))
    }

    fn deserialize_identifier<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error<'a>> {
        if let Some(name) = AtomText::read(self.env, self.term) {
            return visit_atom_name(&name, visitor).map_err(|e: Error<'a>| e.at(self.term));
        }
        match self.text("identifier") {
            Ok(text) => visitor
                .visit_borrowed_str(text)
                .map_err(|e: Error<'a>| e.at(self.term)),
            Err(_) => Err(Error::expected(
                self.term,
                "an atom or a string (identifier)",
            )),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error<'a>> {
        visitor.visit_unit()
    }
}

impl<'a> Deserializer<'a> {
    fn tuple<V: Visitor<'a>>(
        mut self,
        len: usize,
        visitor: V,
        expected: impl FnOnce() -> String,
    ) -> Result<V::Value, Error<'a>> {
        self.enter()?;
        match tuple_elements(self.env, self.term) {
            Some(elements) if elements.len() == len => visitor
                .visit_seq(ElementsAccess::new(self, elements, 0, None))
                .map_err(|e: Error<'a>| e.at(self.term)),
            _ => Err(Error::expected(self.term, expected())),
        }
    }
}

/// The elements of a proper list.
struct ListAccess<'a> {
    de: Deserializer<'a>,
    rest: Term<'a>,
    index: usize,
    len: usize,
}

impl<'a> de::SeqAccess<'a> for ListAccess<'a> {
    type Error = Error<'a>;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error<'a>> {
        if self.index == self.len {
            return Ok(None);
        }
        let (mut head, mut tail) = (0, 0);
        // SAFETY: the list is proper with len elements (enif_get_list_length), so each
        // of its first len cells exists; head and tail are terms of env.
        let (head, tail) = unsafe {
            sys::enif_get_list_cell(
                self.de.env.as_raw(),
                self.rest.as_raw(),
                &mut head,
                &mut tail,
            );
            (Term::from_raw(head), Term::from_raw(tail))
        };
        self.rest = tail;
        let index = self.index;
        self.index += 1;
        seed.deserialize(self.de.child(head))
            .map(Some)
            .map_err(|e: Error<'a>| e.at(head).inside(PathStep::ListElement(index)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.len - self.index)
    }
}

/// Elements of a tuple from `offset`; `place` names the tuple in paths
/// (`element 2 of {:rect, _, _}`), else `element 2 of the tuple`.
struct ElementsAccess<'a> {
    de: Deserializer<'a>,
    elements: &'a [Term<'a>],
    next: usize,
    offset: usize,
    place: Option<TuplePlace>,
}

/// A tuple variant's tuple, `{:tag, _, _}` in paths (written only for an error).
#[derive(Clone, Copy)]
struct TuplePlace {
    variant: &'static str,
    len: usize,
}

impl TuplePlace {
    #[cold]
    fn text(self) -> String {
        let blanks = vec!["_"; self.len].join(", ");
        format!("{{{}, {blanks}}}", inspect_atom(self.variant))
    }
}

/// A struct variant's `{:tag, %{a: _, b: _}}` in paths (interned: only for an error).
#[cold]
fn struct_variant_place(variant: &'static str, fields: &'static [&'static str]) -> &'static str {
    let shown: Vec<String> = fields
        .iter()
        .map(|f| format!("{}: _", map_key(f)))
        .collect();
    intern(format!(
        "{{{}, %{{{}}}}}",
        inspect_atom(variant),
        shown.join(", ")
    ))
}

impl<'a> ElementsAccess<'a> {
    fn new(
        de: Deserializer<'a>,
        elements: &'a [Term<'a>],
        offset: usize,
        place: Option<TuplePlace>,
    ) -> ElementsAccess<'a> {
        ElementsAccess {
            de,
            elements,
            next: 0,
            offset,
            place,
        }
    }
}

impl<'a> de::SeqAccess<'a> for ElementsAccess<'a> {
    type Error = Error<'a>;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error<'a>> {
        let Some(&element) = self.elements.get(self.next) else {
            return Ok(None);
        };
        let index = self.next + self.offset;
        self.next += 1;
        let place = self.place;
        seed.deserialize(self.de.child(element))
            .map(Some)
            .map_err(|e| {
                e.at(element).inside(match place {
                    None => PathStep::TupleElement(index),
                    Some(place) => {
                        PathStep::Field(intern(format!("element {index} of {}", place.text())))
                    }
                })
            })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.elements.len() - self.next)
    }
}

/// The entries of a map, keys and values as their own terms.
struct MapAccess<'a> {
    de: Deserializer<'a>,
    iter: MapIter<'a>,
    value: Option<(Term<'a>, Term<'a>)>,
}

impl<'a> de::MapAccess<'a> for MapAccess<'a> {
    type Error = Error<'a>;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error<'a>> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        self.value = Some((key, value));
        let mut de = self.de.child(key);
        de.key = true;
        seed.deserialize(de)
            .map(Some)
            .map_err(|e: Error<'a>| e.at(key).inside(PathStep::MapKey(key)))
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, Error<'a>> {
        let Some((key, value)) = self.value.take() else {
            return Err(de::Error::custom("a map value was read before its key"));
        };
        seed.deserialize(self.de.child(value))
            .map_err(|e: Error<'a>| e.at(value).inside(PathStep::MapValue(key)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// `%MyApp.Point{}` for a struct whose serde name is a module's.
fn module_display(name: &str) -> String {
    struct_display(&struct_module(name).unwrap_or(Cow::Borrowed(name)))
}

/// How a struct's map is named in paths.
#[derive(Clone, Copy)]
enum Place {
    /// A plain map: `field :y of the map`.
    Map,
    /// An Elixir struct (its serde name): `field :y of %MyApp.Point{}`.
    Struct(&'static str),
    /// A struct variant's map (its name and fields): `field :sides of {:labeled,
    /// %{label: _, sides: _}}`.
    Variant(&'static str, &'static [&'static str]),
}

/// A struct's fields, found by key (atoms) in its map: the map is never walked, and
/// keys that are not fields are ignored.
struct StructAccess<'a> {
    de: Deserializer<'a>,
    map: Term<'a>,
    fields: &'static [&'static str],
    /// The fields' atoms (0: not an atom, so never a key).
    atoms: &'static [sys::ERL_NIF_TERM],
    next: usize,
    value: Option<(Term<'a>, &'static str)>,
    place: Place,
    /// Set when the term is not known to be a map yet: the first missing key checks
    /// it, and a term that is not a map is an error naming the type (this function).
    unchecked: Option<fn() -> String>,
}

impl<'a> StructAccess<'a> {
    fn new(
        de: Deserializer<'a>,
        map: Term<'a>,
        fields: &'static [&'static str],
        atoms: &'static [sys::ERL_NIF_TERM],
        place: Place,
    ) -> StructAccess<'a> {
        StructAccess {
            atoms,
            de,
            map,
            fields,
            next: 0,
            value: None,
            place,
            unchecked: None,
        }
    }

    #[cold]
    fn step(&self, field: &str) -> PathStep<'a> {
        let key = inspect_atom(field);
        PathStep::Field(intern(match &self.place {
            Place::Map => format!("field {key} of the map"),
            Place::Struct(name) => format!("field {key} of {}", module_display(name)),
            Place::Variant(variant, fields) => {
                format!("field {key} of {}", struct_variant_place(variant, fields))
            }
        }))
    }
}

impl<'a> de::MapAccess<'a> for StructAccess<'a> {
    type Error = Error<'a>;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error<'a>> {
        let env = self.de.env;
        while let Some(&field) = self.fields.get(self.next) {
            self.next += 1;
            let found = match self.atoms.get(self.next - 1) {
                Some(&key) if key != 0 => {
                    // SAFETY: an atom, valid in every env.
                    crate::derive::map_get(env, self.map, unsafe { Term::from_raw(key) })
                }
                _ => None,
            };
            if found.is_none() {
                if let Some(rust) = self.unchecked.take() {
                    if !crate::derive::is_map(env, self.map) {
                        return Err(not_a_struct_map(self.map, rust()));
                    }
                }
            }
            if let Some(value) = found {
                self.unchecked = None;
                self.value = Some((value, field));
                let key = de::value::BorrowedStrDeserializer::<Error<'a>>::new(field);
                return seed.deserialize(key).map(Some);
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, Error<'a>> {
        let Some((value, field)) = self.value.take() else {
            return Err(de::Error::custom("a struct field was read before its key"));
        };
        seed.deserialize(self.de.child(value))
            .map_err(|e: Error<'a>| e.at(value).inside(self.step(field)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.fields.len() - self.next)
    }
}

/// A variant: `:tag`, or `{:tag, ...}` with its values in `rest`.
struct EnumAccess<'a> {
    de: Deserializer<'a>,
    variant: &'static str,
    rest: &'a [Term<'a>],
    /// The Rust type's name, for messages.
    rust: fn() -> String,
    variants: &'static [&'static str],
}

impl<'a> de::EnumAccess<'a> for EnumAccess<'a> {
    type Error = Error<'a>;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'a>>(self, seed: V) -> Result<(V::Value, Self), Error<'a>> {
        let name = de::value::BorrowedStrDeserializer::<Error<'a>>::new(self.variant);
        let value = seed.deserialize(name)?;
        Ok((value, self))
    }
}

impl<'a> EnumAccess<'a> {
    /// The term is a variant of another shape than the one named by its tag.
    #[cold]
    fn mismatch(&self) -> Error<'a> {
        Error::expected(
            self.de.term,
            format!("one of {} ({})", atoms_list(self.variants), (self.rust)()),
        )
    }

    fn tag(&self) -> String {
        inspect_atom(self.variant)
    }
}

impl<'a> de::VariantAccess<'a> for EnumAccess<'a> {
    type Error = Error<'a>;

    fn unit_variant(self) -> Result<(), Error<'a>> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(self.mismatch())
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'a>>(self, seed: T) -> Result<T::Value, Error<'a>> {
        let [value] = self.rest else {
            return Err(self.mismatch());
        };
        seed.deserialize(self.de.child(*value)).map_err(|e| {
            let step = intern(format!("value of {{{}, _}}", self.tag()));
            e.at(*value).inside(PathStep::Field(step))
        })
    }

    fn tuple_variant<V: Visitor<'a>>(self, len: usize, visitor: V) -> Result<V::Value, Error<'a>> {
        if self.rest.len() != len {
            return Err(self.mismatch());
        }
        let place = TuplePlace {
            variant: self.variant,
            len,
        };
        visitor.visit_seq(ElementsAccess::new(self.de, self.rest, 1, Some(place)))
    }

    fn struct_variant<V: Visitor<'a>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error<'a>> {
        let [map] = self.rest else {
            return Err(self.mismatch());
        };
        let variant = self.variant;
        if !crate::derive::is_map(self.de.env, *map) {
            let place = struct_variant_place(variant, fields);
            return Err(
                Error::expected(*map, format!("a map (in {place} of {})", (self.rust)()))
                    .inside(PathStep::Field(place)),
            );
        }
        let rust = self.rust;
        visitor
            .visit_map(StructAccess::new(
                self.de.child(*map),
                *map,
                fields,
                &NameList::of(self.de.env, self.variant, fields, false).atoms,
                Place::Variant(variant, fields),
            ))
            .map_err(|e| {
                e.missing_in(*map, |key| {
                    let place = struct_variant_place(variant, fields);
                    format!("a map with the key {key} (in {place} of {})", rust())
                })
            })
    }
}
