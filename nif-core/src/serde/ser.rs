//! Rust → term through serde's `Serializer`.
//!
//! The containers being built share one stack of terms, [`Scratch`], made by
//! [`to_term`](super::to_term) in its own frame: a container remembers where its
//! elements start, its elements are pushed as they are serialized (nested containers
//! push above them and pop back), and its term is made from that slice with one
//! `enif_make_list_from_array` / `enif_make_tuple_from_array` /
//! `enif_make_map_from_arrays`. No container allocates, and the state serde moves
//! around (`SerializeStruct` and friends) is a few words.
//!
//! A struct is serialized the first time with its keys looked up by name; its keys are
//! then kept (per struct name, for the whole program: [`Layout`]) in the order the VM
//! stores a map's keys, so the next time each field's value goes straight to its place
//! and the map is made over the kept keys, already sorted.

use super::names::{module_atom, name_atom, Depth, Keyed, StaticIndex, StaticKey, TOO_DEEP};
use crate::atoms;
use crate::codec::Encode;
use crate::env::Env;
use crate::sys;
use crate::term::Term;
use ::serde::ser::{self, Serialize};
use std::cell::UnsafeCell;
use std::fmt;
use std::mem::MaybeUninit;

/// Why a value could not be made into a term (NaN, a name that cannot be an atom, or
/// a `Serialize` impl's own error). [`to_term`](super::to_term) raises it as an
/// `ArgumentError`.
// Boxed: a thin pointer keeps `Result<Term, Error>` in two registers on every call.
#[allow(clippy::box_collection)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(Box<String>);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        Error(Box::new(msg.to_string()))
    }
}

/// The terms of the containers being serialized, on two stacks: values (elements,
/// struct and map values) and map keys, each inline (left uninitialized until pushed)
/// up to a size, then from `enif_alloc`. Made by [`to_term`](super::to_term); needed to
/// make a [`Serializer`] by hand.
pub struct Scratch<'a> {
    env: Env<'a>,
    /// Where the stack was when the scratch was made (see [`Depth`]).
    stack_start: usize,
    stacks: UnsafeCell<Stacks>,
}

/// `repr(C)`, the headers first: each inline block sits between a `cap` (never 0) and
/// the other block, so no zeroed field is next to it. (Next to one, the compiler
/// merged zeroing the field with the undefined block into one memset of the block, on
/// every `to_term`: seen in the profile.)
#[repr(C)]
struct Stacks {
    values: Header,
    keys: Header,
    values_inline: MaybeUninit<[sys::ERL_NIF_TERM; VALUES_INLINE]>,
    keys_inline: MaybeUninit<[sys::ERL_NIF_TERM; KEYS_INLINE]>,
}

const VALUES_INLINE: usize = 128;
const KEYS_INLINE: usize = 32;

#[repr(C)]
struct Header {
    /// `enif_alloc`ed storage once the inline block is full, else null.
    heap: *mut sys::ERL_NIF_TERM,
    len: usize,
    cap: usize,
}

impl<'a> Scratch<'a> {
    /// A scratch for serializing into terms of `env`. The stack budget is counted from
    /// here.
    #[inline(always)]
    pub fn new(env: Env<'a>) -> Scratch<'a> {
        let header = |cap| Header {
            heap: std::ptr::null_mut(),
            len: 0,
            cap,
        };
        Scratch {
            env,
            stack_start: Depth::start().position(),
            stacks: UnsafeCell::new(Stacks {
                values: header(VALUES_INLINE),
                keys: header(KEYS_INLINE),
                values_inline: MaybeUninit::uninit(),
                keys_inline: MaybeUninit::uninit(),
            }),
        }
    }

    #[inline(always)]
    fn values(&self) -> Stack<'_> {
        Stack {
            stacks: &self.stacks,
            keys: false,
        }
    }

    #[inline(always)]
    fn keys(&self) -> Stack<'_> {
        Stack {
            stacks: &self.stacks,
            keys: true,
        }
    }
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        let stacks = self.stacks.get_mut();
        for heap in [stacks.values.heap, stacks.keys.heap] {
            if !heap.is_null() {
                // SAFETY: heap came from enif_alloc and is freed once.
                unsafe { sys::enif_free(heap as *mut _) }
            }
        }
    }
}

/// One of the two stacks of a [`Scratch`].
#[derive(Clone, Copy)]
struct Stack<'s> {
    stacks: &'s UnsafeCell<Stacks>,
    keys: bool,
}

impl Stack<'_> {
    /// This stack's header and storage, for the length of one method below.
    ///
    /// # Safety
    /// No other reference into the scratch may be alive: each method takes them,
    /// works without calling out (no serde callback, no other `Stack` method), and
    /// drops them. `Scratch` is not `Sync` (an `UnsafeCell`), so no other thread can
    /// reach it.
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    unsafe fn parts(&self) -> (&mut Header, *mut sys::ERL_NIF_TERM) {
        // SAFETY: per the contract.
        let stacks = unsafe { &mut *self.stacks.get() };
        let (header, inline) = if self.keys {
            (
                &mut stacks.keys,
                stacks.keys_inline.as_mut_ptr() as *mut sys::ERL_NIF_TERM,
            )
        } else {
            (
                &mut stacks.values,
                stacks.values_inline.as_mut_ptr() as *mut sys::ERL_NIF_TERM,
            )
        };
        let base = if header.heap.is_null() {
            inline
        } else {
            header.heap
        };
        (header, base)
    }

    #[inline(always)]
    fn len(self) -> usize {
        // SAFETY: see `parts`.
        unsafe { self.parts() }.0.len
    }

    #[inline(always)]
    fn push(self, term: sys::ERL_NIF_TERM) {
        // SAFETY: see `parts`.
        let (header, mut base) = unsafe { self.parts() };
        if header.len == header.cap {
            base = grow(header, base);
        }
        // SAFETY: len < cap, and the storage holds cap terms.
        unsafe { base.add(header.len).write(term) };
        header.len += 1;
    }

    /// Pushes `terms` (one capacity check).
    #[inline(always)]
    fn extend(self, terms: &[sys::ERL_NIF_TERM]) {
        // SAFETY: see `parts`.
        let (header, mut base) = unsafe { self.parts() };
        while header.cap - header.len < terms.len() {
            base = grow(header, base);
        }
        // SAFETY: len + terms.len() <= cap; the source is not the stack's storage.
        unsafe { std::ptr::copy_nonoverlapping(terms.as_ptr(), base.add(header.len), terms.len()) };
        header.len += terms.len();
    }

    /// Drops the terms above `len`.
    #[inline(always)]
    fn truncate(self, len: usize) {
        // SAFETY: see `parts`.
        let (header, _) = unsafe { self.parts() };
        header.len = header.len.min(len);
    }

    /// Overwrites the term at `index` (nothing if the stack is not that long, which
    /// only a `Serialize` impl interleaving two containers could cause).
    #[inline(always)]
    fn set(self, index: usize, term: sys::ERL_NIF_TERM) {
        // SAFETY: see `parts`.
        let (header, base) = unsafe { self.parts() };
        if index < header.len {
            // SAFETY: index < len, within the initialized terms.
            unsafe { base.add(index).write(term) }
        }
    }

    #[inline(always)]
    fn get(self, index: usize) -> Option<sys::ERL_NIF_TERM> {
        // SAFETY: see `parts`.
        let (header, base) = unsafe { self.parts() };
        // SAFETY: index < len, within the initialized terms.
        (index < header.len).then(|| unsafe { *base.add(index) })
    }

    /// The terms from `start` to the top: a pointer to them (valid until the next push)
    /// and their number (0 if the stack is shorter than `start`).
    #[inline(always)]
    fn from(self, start: usize) -> (*mut sys::ERL_NIF_TERM, usize) {
        // SAFETY: see `parts`.
        let (header, base) = unsafe { self.parts() };
        if start > header.len {
            return (base, 0);
        }
        // SAFETY: start <= len: within (or one past) the initialized terms.
        (unsafe { base.add(start) }, header.len - start)
    }
}

/// Doubles a full stack's storage, now from `enif_alloc`: its new base.
#[cold]
#[inline(never)]
fn grow(header: &mut Header, base: *mut sys::ERL_NIF_TERM) -> *mut sys::ERL_NIF_TERM {
    let cap = header.cap * 2;
    let bytes = cap
        .checked_mul(std::mem::size_of::<sys::ERL_NIF_TERM>())
        .expect("term stack too large");
    // SAFETY: the new block holds cap terms; the first len are copied from the old
    // storage (base), which is freed if it came from enif_alloc.
    unsafe {
        let heap = sys::enif_alloc(bytes) as *mut sys::ERL_NIF_TERM;
        assert!(!heap.is_null(), "enif_alloc({bytes}) failed");
        std::ptr::copy_nonoverlapping(base, heap, header.len);
        if !header.heap.is_null() {
            sys::enif_free(header.heap as *mut _);
        }
        header.heap = heap;
    }
    header.cap = cap;
    header.heap
}

/// Serializes into terms of the scratch's `env`, its containers' terms on the
/// scratch. Every container counts toward [`MAX_DEPTH`](super::MAX_DEPTH) levels and
/// [`STACK_BUDGET`](super::STACK_BUDGET) bytes of stack: a deeper value is an error,
/// not a stack overflow. (Two words: passed in registers.)
#[derive(Clone, Copy)]
pub struct Serializer<'s, 'a> {
    scratch: &'s Scratch<'a>,
    levels: u32,
}

impl<'s, 'a> Serializer<'s, 'a> {
    #[inline(always)]
    pub fn new(scratch: &'s Scratch<'a>) -> Serializer<'s, 'a> {
        Serializer { scratch, levels: 0 }
    }

    #[inline(always)]
    fn env(self) -> Env<'a> {
        self.scratch.env
    }

    #[inline(always)]
    fn depth(self) -> Depth {
        Depth::resume(self.scratch.stack_start, self.levels)
    }

    /// One level deeper (for a container's elements), refused past the limits.
    #[inline]
    fn enter(self) -> Result<Serializer<'s, 'a>, Error> {
        match self.depth().enter() {
            Some(depth) => Ok(Serializer {
                levels: depth.levels(),
                ..self
            }),
            None => Err(too_deep()),
        }
    }

    /// Refuses to recurse (without a container) past the stack budget.
    #[inline]
    fn check_stack(self) -> Result<Serializer<'s, 'a>, Error> {
        if self.depth().within_budget() {
            Ok(self)
        } else {
            Err(too_deep())
        }
    }
}

#[cold]
fn too_deep() -> Error {
    Error(Box::new(format!(
        "cannot encode the value: expected {TOO_DEEP}"
    )))
}

/// The atom for a serde name (field or variant).
#[inline]
fn atom(env: Env<'_>, name: &'static str) -> Result<crate::Atom, Error> {
    name_atom(env, name).ok_or_else(|| not_an_atom(name))
}

#[cold]
fn not_an_atom(name: &str) -> Error {
    Error(Box::new(format!(
        "cannot make an atom of {name:?}: an atom name is at most {} characters",
        crate::atom::MAX_ATOM_LENGTH
    )))
}

/// Only a `Serialize` impl that interleaves two containers' calls gets here.
#[cold]
fn interleaved() -> Error {
    Error(Box::new(
        "a Serialize impl serialized into two containers at once".into(),
    ))
}

#[inline]
fn nil<'a>(env: Env<'a>) -> Term<'a> {
    atoms::nil().to_term(env)
}

impl<'s, 'a> ser::Serializer for Serializer<'s, 'a> {
    type Ok = Term<'a>;
    type Error = Error;
    type SerializeSeq = Elements<'s, 'a>;
    type SerializeTuple = Elements<'s, 'a>;
    type SerializeTupleStruct = Elements<'s, 'a>;
    type SerializeTupleVariant = Elements<'s, 'a>;
    type SerializeMap = Entries<'s, 'a>;
    type SerializeStruct = Entries<'s, 'a>;
    type SerializeStructVariant = Entries<'s, 'a>;

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env()))
    }
    #[inline]
    fn serialize_i8(self, v: i8) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env()))
    }
    #[inline]
    fn serialize_i16(self, v: i16) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env()))
    }
    #[inline]
    fn serialize_i32(self, v: i32) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env()))
    }
    #[inline]
    fn serialize_i64(self, v: i64) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env()))
    }
    #[inline]
    fn serialize_i128(self, v: i128) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env()))
    }
    #[inline]
    fn serialize_u8(self, v: u8) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env()))
    }
    #[inline]
    fn serialize_u16(self, v: u16) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env()))
    }
    #[inline]
    fn serialize_u32(self, v: u32) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env()))
    }
    #[inline]
    fn serialize_u64(self, v: u64) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env()))
    }
    #[inline]
    fn serialize_u128(self, v: u128) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env()))
    }
    #[inline]
    fn serialize_f32(self, v: f32) -> Result<Term<'a>, Error> {
        self.serialize_f64(v as f64)
    }
    #[inline]
    fn serialize_f64(self, v: f64) -> Result<Term<'a>, Error> {
        if !v.is_finite() {
            return Err(not_finite(v));
        }
        Ok(v.encode(self.env()))
    }
    fn serialize_char(self, v: char) -> Result<Term<'a>, Error> {
        let mut buf = [0u8; 4];
        Ok((&*v.encode_utf8(&mut buf)).encode(self.env()))
    }
    #[inline]
    fn serialize_str(self, v: &str) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env()))
    }
    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result<Term<'a>, Error> {
        Ok(v.encode(self.env()))
    }
    #[inline]
    fn serialize_none(self) -> Result<Term<'a>, Error> {
        Ok(nil(self.env()))
    }
    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Term<'a>, Error> {
        value.serialize(self.check_stack()?)
    }
    #[inline]
    fn serialize_unit(self) -> Result<Term<'a>, Error> {
        Ok(nil(self.env()))
    }
    #[inline]
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Term<'a>, Error> {
        Ok(nil(self.env()))
    }
    #[inline]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Term<'a>, Error> {
        Ok(atom(self.env(), variant)?.to_term(self.env()))
    }
    #[inline]
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
        let tag = atom(self.env(), variant)?.to_term(self.env());
        let value = value.serialize(self.enter()?)?;
        Ok(crate::types::tuple::make_tuple(self.env(), &[tag, value]))
    }
    #[inline]
    fn serialize_seq(self, _len: Option<usize>) -> Result<Elements<'s, 'a>, Error> {
        Ok(Elements::new(self.enter()?, Collect::List, None))
    }
    #[inline]
    fn serialize_tuple(self, _len: usize) -> Result<Elements<'s, 'a>, Error> {
        Ok(Elements::new(self.enter()?, Collect::Tuple, None))
    }
    #[inline]
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Elements<'s, 'a>, Error> {
        Ok(Elements::new(self.enter()?, Collect::Tuple, None))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Elements<'s, 'a>, Error> {
        let tag = atom(self.env(), variant)?.to_term(self.env());
        Ok(Elements::new(self.enter()?, Collect::Tuple, Some(tag)))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Entries<'s, 'a>, Error> {
        Ok(Entries::explicit(self.enter()?, 0, None, None))
    }
    #[inline(always)]
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Entries<'s, 'a>, Error> {
        let inner = self.enter()?;
        match Layout::of(name, Kind::Struct) {
            Some(layout) if layout.fields.len() == len => Ok(Entries::laid_out(inner, layout, 0)),
            layout => struct_entries(inner, name, layout.is_none()),
        }
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Entries<'s, 'a>, Error> {
        let tag = atom(self.env(), variant)?.as_raw();
        let inner = self.enter()?;
        Ok(match Layout::of(variant, Kind::Variant) {
            Some(layout) if layout.fields.len() == len => Entries::laid_out(inner, layout, tag),
            layout => {
                let learn = layout.is_none().then_some((variant, Kind::Variant));
                Entries::explicit(inner, tag, None, learn)
            }
        })
    }
}

#[cold]
fn not_finite(v: f64) -> Error {
    // The same words as `Encode` for floats.
    Error(Box::new(format!(
        "cannot encode {v} as an Erlang float: the BEAM has no NaN or infinity"
    )))
}

/// A struct's entries with its keys looked up by name (the first time, or a struct
/// whose fields differ from the kept layout), `__struct__` first for a module's.
#[inline(never)]
fn struct_entries<'s, 'a>(
    inner: Serializer<'s, 'a>,
    name: &'static str,
    learn: bool,
) -> Result<Entries<'s, 'a>, Error> {
    let module = match module_atom(inner.env(), name, true) {
        Some(module) => Some(module.ok_or_else(|| not_an_atom(name))?.as_raw()),
        None => None,
    };
    let learn = learn.then_some((name, Kind::Struct));
    Ok(Entries::explicit(inner, 0, module, learn))
}

/// What a sequence of elements becomes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Collect {
    List,
    Tuple,
}

/// The elements of a list or tuple being serialized: on the scratch stack from `start`.
pub struct Elements<'s, 'a> {
    ser: Serializer<'s, 'a>,
    start: usize,
    collect: Collect,
}

impl<'s, 'a> Elements<'s, 'a> {
    #[inline]
    fn new(ser: Serializer<'s, 'a>, collect: Collect, first: Option<Term<'a>>) -> Elements<'s, 'a> {
        let values = ser.scratch.values();
        let start = values.len();
        if let Some(first) = first {
            values.push(first.as_raw());
        }
        Elements {
            ser,
            start,
            collect,
        }
    }

    #[inline]
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let term = value.serialize(self.ser)?;
        self.ser.scratch.values().push(term.as_raw());
        Ok(())
    }

    #[inline]
    fn finish(self) -> Result<Term<'a>, Error> {
        let env = self.ser.env();
        let (terms, n) = self.ser.scratch.values().from(self.start);
        // SAFETY: terms points to n initialized terms of env (the stack only holds
        // terms made in env by this serializer), not moved before the call returns.
        let term = unsafe {
            match self.collect {
                Collect::List => sys::enif_make_list_from_array(env.as_raw(), terms, n as _),
                Collect::Tuple => sys::enif_make_tuple_from_array(env.as_raw(), terms, n as _),
            }
        };
        // SAFETY: a list or tuple term of env. (Drop pops the elements.)
        Ok(unsafe { Term::from_raw(term) })
    }
}

/// On success or error, the container's terms leave the stack.
impl Drop for Elements<'_, '_> {
    #[inline]
    fn drop(&mut self) {
        self.ser.scratch.values().truncate(self.start);
    }
}

/// serde's sequence-like traits, all the same on `Elements`: each value is pushed on
/// the stack, `end` builds the list or tuple.
macro_rules! elements_impl {
    ($($trait:ident::$method:ident),*) => {$(
        impl<'s, 'a> ser::$trait for Elements<'s, 'a> {
            type Ok = Term<'a>;
            type Error = Error;
            #[inline]
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.push(value)
            }
            #[inline]
            fn end(self) -> Result<Term<'a>, Error> {
                self.finish()
            }
        }
    )*};
}

elements_impl!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// Structs and struct variants have separate layouts (a variant never has
/// `__struct__`, whatever its name).
#[derive(Clone, Copy)]
enum Kind {
    Struct = 0,
    Variant = 1,
}

/// A struct's keys as kept after its first serialization: the map is made over `keys`
/// (sorted as the VM sorts a small map's keys, so it only checks the order), each
/// field's value going to its key's place.
struct Layout {
    key: StaticKey,
    /// Per field in serialization order: its serde name (address, length) and the
    /// place of its key in `keys`.
    fields: Box<[(usize, usize, usize)]>,
    keys: Box<[sys::ERL_NIF_TERM]>,
    /// The values before any field is serialized: `nil`s, and the module under
    /// `__struct__`.
    prefill: Box<[sys::ERL_NIF_TERM]>,
    /// Where `__struct__` is, for a module's struct.
    module: Option<usize>,
}

impl Keyed for Layout {
    fn key(&self) -> StaticKey {
        self.key
    }
}

static LAYOUTS: StaticIndex<Layout> = StaticIndex::new();

impl Layout {
    #[inline(always)]
    fn key(name: &'static str, kind: Kind) -> StaticKey {
        [name.as_ptr() as usize, name.len(), kind as usize, 0]
    }

    /// The layout kept for `name`, if any.
    #[inline(always)]
    fn of(name: &'static str, kind: Kind) -> Option<&'static Layout> {
        let key = Layout::key(name, kind);
        LAYOUTS
            .get(key)
            .or_else(|| LAYOUTS.get_or_make(key, || None))
    }

    /// Keeps the layout of a struct serialized for the first time. Not kept when two
    /// keys are the same (the map is then made the slow way every time).
    #[cold]
    #[inline(never)]
    fn learn(learning: Learning) {
        let Learning {
            name,
            kind,
            module,
            fields,
        } = learning;
        let key = Layout::key(name, kind);
        LAYOUTS.get_or_make(key, || {
            // Entry 0 is __struct__ when there is a module; the fields follow.
            let mut entries: Vec<(sys::ERL_NIF_TERM, sys::ERL_NIF_TERM)> = Vec::new();
            if let Some(module) = module {
                entries.push((atoms::__struct__().as_raw(), module));
            }
            let first_field = entries.len();
            entries.extend(fields.iter().map(|&(_, _, atom)| (atom, 0)));
            let mut order: Vec<usize> = (0..entries.len()).collect();
            // SAFETY: atoms are valid terms anywhere; enif_compare only reads them.
            order
                .sort_by(|&a, &b| unsafe { sys::enif_compare(entries[a].0, entries[b].0) }.cmp(&0));
            if order
                .windows(2)
                .any(|pair| entries[pair[0]].0 == entries[pair[1]].0)
            {
                return None;
            }
            let mut place = vec![0; entries.len()];
            for (sorted, &entry) in order.iter().enumerate() {
                place[entry] = sorted;
            }
            let keys: Box<[_]> = order.iter().map(|&entry| entries[entry].0).collect();
            let mut prefill = vec![atoms::nil().as_raw(); entries.len()].into_boxed_slice();
            let module_place = module.map(|module| {
                prefill[place[0]] = module;
                place[0]
            });
            Some(Layout {
                key,
                fields: fields
                    .iter()
                    .enumerate()
                    .map(|(i, &(ptr, len, _))| (ptr, len, place[first_field + i]))
                    .collect(),
                keys,
                prefill,
                module: module_place,
            })
        });
    }
}

/// The entries of a map, a struct's map or a struct variant's (`tag` makes it the
/// `{:tag, %{...}}` of a struct variant). Laid out (`layout`): the values sit in the
/// layout's order from `values` on the value stack. Otherwise (`explicit`) keys and
/// values are pushed on the two stacks, from `keys` and `values`.
pub struct Entries<'s, 'a> {
    ser: Serializer<'s, 'a>,
    values: u32,
    keys: u32,
    /// Fields serialized so far.
    index: u32,
    /// A struct variant's tag (0: none; 0 is never a term).
    tag: sys::ERL_NIF_TERM,
    layout: Option<&'static Layout>,
    learning: Option<Box<Learning>>,
}

/// A struct serialized for the first time: its name, `__struct__` value and fields
/// (name address, length, key atom), kept as its [`Layout`] at the end.
struct Learning {
    name: &'static str,
    kind: Kind,
    module: Option<sys::ERL_NIF_TERM>,
    fields: Vec<(usize, usize, sys::ERL_NIF_TERM)>,
}

impl<'s, 'a> Entries<'s, 'a> {
    #[inline]
    fn laid_out(
        ser: Serializer<'s, 'a>,
        layout: &'static Layout,
        tag: sys::ERL_NIF_TERM,
    ) -> Entries<'s, 'a> {
        let (values, keys) = (ser.scratch.values(), ser.scratch.keys());
        let start = values.len();
        values.extend(&layout.prefill);
        Entries {
            ser,
            values: start as u32,
            keys: keys.len() as u32,
            index: 0,
            tag,
            layout: Some(layout),
            learning: None,
        }
    }

    /// Keys and values pushed as they come; `learn` keeps a struct's layout at the end.
    fn explicit(
        ser: Serializer<'s, 'a>,
        tag: sys::ERL_NIF_TERM,
        module: Option<sys::ERL_NIF_TERM>,
        learn: Option<(&'static str, Kind)>,
    ) -> Entries<'s, 'a> {
        let (values, keys) = (ser.scratch.values(), ser.scratch.keys());
        let entries = Entries {
            ser,
            values: values.len() as u32,
            keys: keys.len() as u32,
            index: 0,
            tag,
            layout: None,
            learning: learn.map(|(name, kind)| {
                Box::new(Learning {
                    name,
                    kind,
                    module,
                    fields: Vec::new(),
                })
            }),
        };
        if let Some(module) = module {
            keys.push(atoms::__struct__().as_raw());
            values.push(module);
        }
        entries
    }

    #[inline]
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        let term = value.serialize(self.ser)?.as_raw();
        if let Some(layout) = self.layout {
            match layout.fields.get(self.index as usize) {
                Some(&(ptr, len, place)) if ptr == key.as_ptr() as usize && len == key.len() => {
                    self.ser
                        .scratch
                        .values()
                        .set(self.values as usize + place, term);
                    self.index += 1;
                    return Ok(());
                }
                _ => self.leave_layout(),
            }
        }
        self.explicit_field(key, term)
    }

    #[inline(never)]
    fn explicit_field(&mut self, key: &'static str, term: sys::ERL_NIF_TERM) -> Result<(), Error> {
        let atom = atom(self.ser.env(), key)?.as_raw();
        if let Some(learning) = &mut self.learning {
            learning
                .fields
                .push((key.as_ptr() as usize, key.len(), atom));
        }
        self.index += 1;
        self.ser.scratch.keys().push(atom);
        self.ser.scratch.values().push(term);
        Ok(())
    }

    /// The fields do not follow the layout (a field skipped, or other fields under the
    /// same struct name): the entries so far move to the two stacks.
    #[cold]
    #[inline(never)]
    fn leave_layout(&mut self) {
        let Some(layout) = self.layout.take() else {
            return;
        };
        let (values, keys) = (self.ser.scratch.values(), self.ser.scratch.keys());
        let start = self.values as usize;
        let done = (self.index as usize).min(layout.fields.len());
        let mut entries = Vec::with_capacity(done + 1);
        let places = layout
            .module
            .into_iter()
            .chain(layout.fields[..done].iter().map(|&(_, _, place)| place));
        for place in places {
            if let Some(value) = values.get(start + place) {
                entries.push((layout.keys[place], value));
            }
        }
        values.truncate(start);
        keys.truncate(self.keys as usize);
        for (key, value) in entries {
            keys.push(key);
            values.push(value);
        }
    }

    #[inline]
    fn finish(mut self) -> Result<Term<'a>, Error> {
        let env = self.ser.env();
        let map = match self.layout {
            Some(layout) if self.index as usize == layout.fields.len() => {
                let (values, n) = self.ser.scratch.values().from(self.values as usize);
                if n != layout.keys.len() {
                    return Err(interleaved());
                }
                let mut map = 0;
                // SAFETY: keys and values are n terms of env each (atoms are terms of
                // every env); the VM copies them and does not write to either array.
                // The layout's keys are distinct, so the map is made.
                let made = unsafe {
                    sys::enif_make_map_from_arrays(
                        env.as_raw(),
                        layout.keys.as_ptr() as *mut _,
                        values,
                        n,
                        &mut map,
                    )
                };
                if made == 0 {
                    return Err(interleaved());
                }
                map
            }
            _ => self.explicit_map()?,
        };
        // SAFETY: a map term of env.
        let map = unsafe { Term::from_raw(map) };
        Ok(if self.tag == 0 {
            map
        } else {
            // SAFETY: the tag is an atom, valid in every env.
            let tag = unsafe { Term::from_raw(self.tag) };
            crate::types::tuple::make_tuple(env, &[tag, map])
        })
    }

    /// The map of the keys and values on the two stacks; a struct's keys are kept as
    /// its layout the first time.
    #[inline(never)]
    fn explicit_map(&mut self) -> Result<sys::ERL_NIF_TERM, Error> {
        self.leave_layout();
        let env = self.ser.env();
        let (values, n) = self.ser.scratch.values().from(self.values as usize);
        let (keys, key_count) = self.ser.scratch.keys().from(self.keys as usize);
        if key_count != n {
            return Err(Error(Box::new(
                "a map key was serialized without its value".into(),
            )));
        }
        if let Some(learning) = self.learning.take() {
            Layout::learn(*learning);
        }
        // Repeated keys (possible for a map whose keys serialize alike): the last wins.
        // SAFETY: keys and values are n initialized terms of env each, not moved
        // before the call returns.
        Ok(unsafe { crate::types::map::make_map_raw(env, keys, values, n) }.as_raw())
    }
}

/// On success or error, the container's terms leave the stacks.
impl Drop for Entries<'_, '_> {
    #[inline]
    fn drop(&mut self) {
        self.ser.scratch.values().truncate(self.values as usize);
        self.ser.scratch.keys().truncate(self.keys as usize);
    }
}

impl<'s, 'a> ser::SerializeMap for Entries<'s, 'a> {
    type Ok = Term<'a>;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let key = key.serialize(self.ser)?;
        self.ser.scratch.keys().push(key.as_raw());
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let value = value.serialize(self.ser)?;
        self.ser.scratch.values().push(value.as_raw());
        Ok(())
    }
    fn end(self) -> Result<Term<'a>, Error> {
        self.finish()
    }
}

/// A struct's and a struct variant's fields: the same on `Entries`.
macro_rules! struct_entries_impl {
    ($($trait:ident),*) => {$(
        impl<'s, 'a> ser::$trait for Entries<'s, 'a> {
            type Ok = Term<'a>;
            type Error = Error;
            #[inline]
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.field(key, value)
            }
            #[inline]
            fn end(self) -> Result<Term<'a>, Error> {
                self.finish()
            }
        }
    )*};
}

struct_entries_impl!(SerializeStruct, SerializeStructVariant);
