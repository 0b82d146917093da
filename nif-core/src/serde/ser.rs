//! Rust → term through serde's `Serializer`.

use super::names::{
    learn_struct_keys, module_atom, name_atom, struct_keys, Depth, KeyAtoms, Keys, TOO_DEEP,
};
use crate::atom::Atom;
use crate::atoms;
use crate::codec::Encode;
use crate::env::Env;
use crate::term::Term;
use ::serde::ser::{self, Serialize};
use std::fmt;

/// Why a value could not be made into a term (NaN, a name that cannot be an atom, or
/// a `Serialize` impl's own error). [`to_term`](super::to_term) raises it as an
/// `ArgumentError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        Error(msg.to_string())
    }
}

/// Serializes into terms of `env`. Every container counts toward
/// [`MAX_DEPTH`](super::MAX_DEPTH) levels and [`STACK_BUDGET`](super::STACK_BUDGET)
/// bytes of stack: a deeper value is an error, not a stack overflow.
#[derive(Clone, Copy)]
pub struct Serializer<'a> {
    env: Env<'a>,
    depth: Depth,
}

impl<'a> Serializer<'a> {
    pub fn new(env: Env<'a>) -> Serializer<'a> {
        Serializer {
            env,
            depth: Depth::start(),
        }
    }

    /// One level deeper (for a container's elements), refused past the limits.
    #[inline]
    fn enter(self) -> Result<Serializer<'a>, Error> {
        match self.depth.enter() {
            Some(depth) => Ok(Serializer {
                env: self.env,
                depth,
            }),
            None => Err(too_deep()),
        }
    }

    /// Refuses to recurse (without a container) past the stack budget.
    #[inline]
    fn check_stack(self) -> Result<Serializer<'a>, Error> {
        if self.depth.within_budget() {
            Ok(self)
        } else {
            Err(too_deep())
        }
    }
}

#[cold]
fn too_deep() -> Error {
    Error(format!("cannot encode the value: expected {TOO_DEEP}"))
}

/// The atom for a serde name (field or variant).
#[inline]
fn atom(env: Env<'_>, name: &'static str) -> Result<Atom, Error> {
    name_atom(env, name).ok_or_else(|| not_an_atom(name))
}

#[cold]
fn not_an_atom(name: &str) -> Error {
    Error(format!(
        "cannot make an atom of {name:?}: an atom name is at most {} characters",
        crate::atom::MAX_ATOM_LENGTH
    ))
}

#[inline]
fn nil<'a>(env: Env<'a>) -> Term<'a> {
    atoms::nil().to_term(env)
}

/// Up to this many terms, a container's elements stay in the serializer's frame.
const INLINE: usize = 8;

/// The terms of a container being serialized: a few inline (a small frame per level of
/// nesting, and no allocation for small containers), then on the heap.
struct Terms<'a> {
    inline: [Term<'a>; INLINE],
    len: usize,
    heap: Vec<Term<'a>>,
}

impl<'a> Terms<'a> {
    /// Room for `len` terms (a hint), holding `first` if given.
    #[inline(always)]
    fn new(env: Env<'a>, len: usize, first: Option<Term<'a>>) -> Terms<'a> {
        let mut inline = [nil(env); INLINE];
        let mut heap = if len > INLINE {
            // A length hint from a Serialize impl: capped, the vector grows as needed.
            Vec::with_capacity(len.min(1 << 12))
        } else {
            Vec::new()
        };
        let mut count = 0;
        if let Some(first) = first {
            if heap.capacity() == 0 {
                inline[0] = first;
            } else {
                heap.push(first);
            }
            count = 1;
        }
        Terms {
            inline,
            len: count,
            heap,
        }
    }

    #[inline]
    fn push(&mut self, term: Term<'a>) {
        if self.len < INLINE && self.heap.capacity() == 0 {
            self.inline[self.len] = term;
        } else {
            if self.heap.is_empty() {
                self.heap.extend_from_slice(&self.inline[..self.len]);
            }
            self.heap.push(term);
        }
        self.len += 1;
    }

    fn as_slice(&self) -> &[Term<'a>] {
        if self.heap.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.heap
        }
    }
}

impl<'a> ser::Serializer for Serializer<'a> {
    type Ok = Term<'a>;
    type Error = Error;
    type SerializeSeq = Elements<'a>;
    type SerializeTuple = Elements<'a>;
    type SerializeTupleStruct = Elements<'a>;
    type SerializeTupleVariant = Elements<'a>;
    type SerializeMap = Entries<'a>;
    type SerializeStruct = Entries<'a>;
    type SerializeStructVariant = Entries<'a>;

    fn serialize_bool(self, v: bool) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env))
    }
    fn serialize_i8(self, v: i8) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env))
    }
    fn serialize_i16(self, v: i16) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env))
    }
    fn serialize_i32(self, v: i32) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env))
    }
    fn serialize_i64(self, v: i64) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env))
    }
    fn serialize_i128(self, v: i128) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env))
    }
    fn serialize_u8(self, v: u8) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env))
    }
    fn serialize_u16(self, v: u16) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env))
    }
    fn serialize_u32(self, v: u32) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env))
    }
    fn serialize_u64(self, v: u64) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env))
    }
    fn serialize_u128(self, v: u128) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env))
    }
    fn serialize_f32(self, v: f32) -> Result<Term<'a>, Error> {
        self.serialize_f64(v as f64)
    }
    fn serialize_f64(self, v: f64) -> Result<Term<'a>, Error> {
        if !v.is_finite() {
            // The same words as `Encode` for floats.
            return Err(Error(format!(
                "cannot encode {v} as an Erlang float: the BEAM has no NaN or infinity"
            )));
        }
        Ok(v.encode(self.env))
    }
    fn serialize_char(self, v: char) -> Result<Term<'a>, Error> {
        let mut buf = [0u8; 4];
        Ok((&*v.encode_utf8(&mut buf)).encode(self.env))
    }
    fn serialize_str(self, v: &str) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env))
    }
    fn serialize_none(self) -> Result<Term<'a>, Error> {
        Ok(nil(self.env))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Term<'a>, Error> {
        value.serialize(self.check_stack()?)
    }
    fn serialize_unit(self) -> Result<Term<'a>, Error> {
        Ok(nil(self.env))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Term<'a>, Error> {
        Ok(nil(self.env))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Term<'a>, Error> {
        Ok(atom(self.env, variant)?.to_term(self.env))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Term<'a>, Error> {
        value.serialize(self.check_stack()?)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Term<'a>, Error> {
        let tag = atom(self.env, variant)?.to_term(self.env);
        let value = value.serialize(self.enter()?)?;
        Ok(crate::types::tuple::make_tuple(self.env, &[tag, value]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Elements<'a>, Error> {
        Ok(Elements::new(
            self.enter()?,
            len.unwrap_or(0),
            Collect::List,
            None,
        ))
    }
    fn serialize_tuple(self, len: usize) -> Result<Elements<'a>, Error> {
        Ok(Elements::new(self.enter()?, len, Collect::Tuple, None))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Elements<'a>, Error> {
        Ok(Elements::new(self.enter()?, len, Collect::Tuple, None))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Elements<'a>, Error> {
        let tag = atom(self.env, variant)?.to_term(self.env);
        Ok(Elements::new(
            self.enter()?,
            len + 1,
            Collect::Tuple,
            Some(tag),
        ))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Entries<'a>, Error> {
        Ok(Entries::new(
            self.enter()?,
            len.unwrap_or(0),
            None,
            None,
            None,
        ))
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Entries<'a>, Error> {
        let first = match module_atom(self.env, name, true) {
            Some(module) => {
                let module = module.ok_or_else(|| not_an_atom(name))?;
                Some((
                    atoms::__struct__().to_term(self.env),
                    module.to_term(self.env),
                ))
            }
            None => None,
        };
        Ok(Entries::new(
            self.enter()?,
            len + 1,
            None,
            Some(name),
            first,
        ))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Entries<'a>, Error> {
        let tag = atom(self.env, variant)?.to_term(self.env);
        Ok(Entries::new(
            self.enter()?,
            len,
            Some(tag),
            Some(variant),
            None,
        ))
    }
}

/// What a sequence of elements becomes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Collect {
    List,
    Tuple,
}

/// The elements of a list or tuple being serialized.
pub struct Elements<'a> {
    inner: Serializer<'a>,
    terms: Terms<'a>,
    collect: Collect,
}

impl<'a> Elements<'a> {
    /// Built where it is returned (one struct literal): a container's state is a few
    /// hundred bytes, and each move of it costs.
    #[inline(always)]
    fn new(
        inner: Serializer<'a>,
        len: usize,
        collect: Collect,
        first: Option<Term<'a>>,
    ) -> Elements<'a> {
        Elements {
            inner,
            terms: Terms::new(inner.env, len, first),
            collect,
        }
    }

    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let term = value.serialize(self.inner)?;
        self.terms.push(term);
        Ok(())
    }

    // Not inlined: the list's building array stays off the frames of recursive calls.
    #[inline(never)]
    fn finish(self) -> Result<Term<'a>, Error> {
        Ok(match self.collect {
            Collect::List => {
                let terms = self.terms.as_slice();
                crate::types::list::make_list_exact(
                    self.inner.env,
                    terms.len(),
                    terms.iter().copied(),
                )
            }
            Collect::Tuple => {
                crate::types::tuple::make_tuple(self.inner.env, self.terms.as_slice())
            }
        })
    }
}

impl<'a> ser::SerializeSeq for Elements<'a> {
    type Ok = Term<'a>;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Term<'a>, Error> {
        self.finish()
    }
}

impl<'a> ser::SerializeTuple for Elements<'a> {
    type Ok = Term<'a>;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Term<'a>, Error> {
        self.finish()
    }
}

impl<'a> ser::SerializeTupleStruct for Elements<'a> {
    type Ok = Term<'a>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Term<'a>, Error> {
        self.finish()
    }
}

impl<'a> ser::SerializeTupleVariant for Elements<'a> {
    type Ok = Term<'a>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Term<'a>, Error> {
        self.finish()
    }
}

/// The entries of a map (or a struct's map) being serialized; `tag` makes it the
/// `{:tag, %{...}}` of a struct variant.
pub struct Entries<'a> {
    inner: Serializer<'a>,
    keys: Terms<'a>,
    values: Terms<'a>,
    tag: Option<Term<'a>>,
    /// A struct's name, its keys as learned, and (the first time) the keys to learn.
    name: &'static str,
    expected: KeyAtoms,
    learning: Option<Vec<(usize, usize, Atom)>>,
    /// Fields serialized so far.
    index: usize,
}

impl<'a> Entries<'a> {
    /// Built where it is returned (one struct literal), see [`Elements::new`]. `name`
    /// is a struct's (or struct variant's) serde name, `None` for a map; `first` an
    /// entry to start with (`__struct__`).
    #[inline(always)]
    fn new(
        inner: Serializer<'a>,
        len: usize,
        tag: Option<Term<'a>>,
        name: Option<&'static str>,
        first: Option<(Term<'a>, Term<'a>)>,
    ) -> Entries<'a> {
        let (expected, learning) = match name.map(struct_keys) {
            Some(Keys::Known(keys)) => (keys, None),
            Some(Keys::Unknown(room)) => (&[][..], room.then(Vec::new)),
            None => (&[][..], None),
        };
        Entries {
            name: name.unwrap_or(""),
            expected,
            learning,
            index: 0,
            inner,
            keys: Terms::new(inner.env, len, first.map(|(key, _)| key)),
            values: Terms::new(inner.env, len, first.map(|(_, value)| value)),
            tag,
        }
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        let value = value.serialize(self.inner)?;
        let (ptr, len) = (key.as_ptr() as usize, key.len());
        // The learned key at this position, if it is this one (a field skipped by
        // `skip_serializing_if` shifts them: then the atom is looked up).
        let atom = match self.expected.get(self.index) {
            Some(&(p, l, atom)) if (p, l) == (ptr, len) => atom,
            _ => atom(self.inner.env, key)?,
        };
        if let Some(learning) = &mut self.learning {
            learning.push((ptr, len, atom));
        }
        self.index += 1;
        self.keys.push(atom.to_term(self.inner.env));
        self.values.push(value);
        Ok(())
    }

    // Not inlined: the map's building arrays stay off the frames of recursive calls.
    #[inline(never)]
    fn finish(self) -> Result<Term<'a>, Error> {
        if let Some(keys) = self.learning {
            learn_struct_keys(self.name, keys);
        }
        // Repeated keys (possible for a map whose keys serialize alike): the last wins.
        let env = self.inner.env;
        let (keys, values) = (self.keys.as_slice(), self.values.as_slice());
        let entries = keys.iter().copied().zip(values.iter().copied());
        let map = crate::types::map::make_map_exact(env, keys.len(), entries);
        Ok(match self.tag {
            Some(tag) => crate::types::tuple::make_tuple(env, &[tag, map]),
            None => map,
        })
    }
}

impl<'a> ser::SerializeMap for Entries<'a> {
    type Ok = Term<'a>;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let key = key.serialize(self.inner)?;
        self.keys.push(key);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let value = value.serialize(self.inner)?;
        self.values.push(value);
        Ok(())
    }
    fn end(self) -> Result<Term<'a>, Error> {
        if self.keys.len != self.values.len {
            return Err(Error("a map key was serialized without its value".into()));
        }
        self.finish()
    }
}

impl<'a> ser::SerializeStruct for Entries<'a> {
    type Ok = Term<'a>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<Term<'a>, Error> {
        self.finish()
    }
}

impl<'a> ser::SerializeStructVariant for Entries<'a> {
    type Ok = Term<'a>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<Term<'a>, Error> {
        self.finish()
    }
}
