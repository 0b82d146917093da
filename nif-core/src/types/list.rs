//! Lists: `Vec<T>` both ways, slices for encoding, and [`ListIterator`] for decoding
//! without allocating. An improper list is a decode error, never a panic.

use crate::codec::{Decode, DecodeError, Encode, PathStep};
use crate::env::Env;
use crate::sys;
use crate::term::Term;

/// Number of elements of a proper list, `None` for anything else.
#[inline(always)]
fn list_length(env: Env<'_>, term: Term<'_>) -> Option<usize> {
    let mut len = 0;
    // SAFETY: term belongs to env; len is a valid out-pointer.
    (unsafe { sys::enif_get_list_length(env.as_raw(), term.as_raw(), &mut len) } != 0)
        .then_some(len as usize)
}

#[cold]
#[inline(never)]
fn not_a_list<'a>(env: Env<'a>, term: Term<'a>, rust: &str) -> DecodeError<'a> {
    // SAFETY: term belongs to env.
    let proper = if unsafe { sys::enif_is_list(env.as_raw(), term.as_raw()) } != 0 {
        "a proper list"
    } else {
        "a list"
    };
    DecodeError::new(
        term,
        format!("{proper} ({})", crate::types::short_type_name(rust)),
    )
}

/// A list argument, walked lazily: yields each element as a [`Term`], allocating
/// nothing and walking the list once. Decoding only checks that the term is a list;
/// an improper tail, met while iterating, raises `ArgumentError` for the argument
/// (as a decode error would).
#[derive(Clone, Copy)]
pub struct ListIterator<'a> {
    env: Env<'a>,
    list: Term<'a>,
    rest: Term<'a>,
    index: usize,
}

impl<'a> ListIterator<'a> {
    /// The elements decoded as `T`, lazily. An element that does not decode raises
    /// `ArgumentError` naming the argument and the element, like `Vec<T>` would.
    #[inline]
    pub fn decode_each<T: Decode<'a>>(self) -> DecodeEach<'a, T> {
        DecodeEach {
            iter: self,
            _type: std::marker::PhantomData,
        }
    }

    /// The list term being walked.
    #[inline]
    pub fn term(&self) -> Term<'a> {
        self.list
    }
}

impl<'a> Iterator for ListIterator<'a> {
    type Item = Term<'a>;

    #[inline(always)]
    fn next(&mut self) -> Option<Term<'a>> {
        let (mut head, mut tail) = (0, 0);
        // SAFETY: rest is a term of env; head/tail are valid out-pointers.
        if unsafe {
            sys::enif_get_list_cell(self.env.as_raw(), self.rest.as_raw(), &mut head, &mut tail)
        } == 0
        {
            // SAFETY: rest is a term of env.
            if unsafe { sys::enif_is_empty_list(self.env.as_raw(), self.rest.as_raw()) } == 0 {
                improper(self.env, self.list)
            }
            return None;
        }
        self.index += 1;
        // SAFETY: head and tail are terms of env.
        self.rest = unsafe { Term::from_raw(tail) };
        Some(unsafe { Term::from_raw(head) })
    }
}

#[cold]
#[inline(never)]
fn improper<'a>(env: Env<'a>, list: Term<'a>) -> ! {
    not_a_list(env, list, "ListIterator").raise_for(env, list)
}

/// The elements of a [`ListIterator`] decoded as `T` (see
/// [`ListIterator::decode_each`]).
pub struct DecodeEach<'a, T> {
    iter: ListIterator<'a>,
    _type: std::marker::PhantomData<fn() -> T>,
}

impl<'a, T: Decode<'a>> Iterator for DecodeEach<'a, T> {
    type Item = T;

    #[inline(always)]
    fn next(&mut self) -> Option<T> {
        let index = self.iter.index;
        let term = self.iter.next()?;
        match T::decode(term, self.iter.env) {
            Ok(value) => Some(value),
            Err(error) => error
                .inside(PathStep::ListElement(index))
                .raise_for(self.iter.env, self.iter.list),
        }
    }
}

impl<'a> Decode<'a> for ListIterator<'a> {
    #[inline(always)]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        // SAFETY: term belongs to env.
        if unsafe { sys::enif_is_list(env.as_raw(), term.as_raw()) } != 0 {
            Ok(ListIterator {
                env,
                list: term,
                rest: term,
                index: 0,
            })
        } else {
            Err(not_a_list(env, term, "ListIterator"))
        }
    }
}

impl<'a, T: Decode<'a>> Decode<'a> for Vec<T> {
    #[inline]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        // One fast pass in C for the length (and properness), then one to decode.
        let Some(len) = list_length(env, term) else {
            return Err(not_a_list(env, term, std::any::type_name::<Self>()));
        };
        // The length comes from the caller: an allocation that cannot be made raises
        // SystemLimitError instead of aborting the VM.
        let mut out = Vec::new();
        if out.try_reserve_exact(len).is_err() {
            crate::types::cannot_reserve::<Self>(len)
        }
        let mut rest = term.as_raw();
        for index in 0..len {
            let (mut head, mut tail) = (0, 0);
            // SAFETY: the list is proper with len elements, so each of the first len
            // cells exists; head/tail are terms of env.
            unsafe { sys::enif_get_list_cell(env.as_raw(), rest, &mut head, &mut tail) };
            rest = tail;
            // SAFETY: head is a term of env.
            match T::decode(unsafe { Term::from_raw(head) }, env) {
                Ok(value) => out.push(value),
                Err(error) => return Err(error.inside(PathStep::ListElement(index))),
            }
        }
        Ok(out)
    }
}

/// Up to this many elements, the terms of a list being built sit on the stack.
const STACK_TERMS: usize = 256;

/// Builds a list from exactly `len` encoded items, with one
/// `enif_make_list_from_array`. The temporary array is on the stack for short lists
/// and from `enif_alloc` otherwise: glibc `malloc` of 128 KiB or more inside the BEAM
/// is a fresh `mmap` (and page faults) on every call.
#[inline]
pub(crate) fn make_list_exact<'a, I>(env: Env<'a>, len: usize, items: I) -> Term<'a>
where
    I: Iterator<Item = Term<'a>>,
{
    if len <= STACK_TERMS {
        let mut buf = [std::mem::MaybeUninit::<sys::ERL_NIF_TERM>::uninit(); STACK_TERMS];
        let mut n = 0;
        for term in items.take(len) {
            buf[n].write(term.as_raw());
            n += 1;
        }
        // SAFETY: buf[..n] holds n initialized terms of env.
        unsafe {
            Term::from_raw(sys::enif_make_list_from_array(
                env.as_raw(),
                buf.as_ptr() as *const sys::ERL_NIF_TERM,
                n as _,
            ))
        }
    } else {
        let buf = crate::types::RawTerms::new(len);
        let mut n = 0;
        for term in items.take(len) {
            // SAFETY: at most len terms are written into a block of len terms.
            unsafe { buf.ptr.add(n).write(term.as_raw()) };
            n += 1;
        }
        // SAFETY: the first n terms of the block are initialized terms of env.
        unsafe {
            Term::from_raw(sys::enif_make_list_from_array(
                env.as_raw(),
                buf.ptr,
                n as _,
            ))
        }
    }
}

impl<'a, T: Encode<'a>> Encode<'a> for Vec<T> {
    #[inline]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        let len = self.len();
        if len > STACK_TERMS && term_sized::<T>() {
            return encode_in_place(env, self);
        }
        make_list_exact(env, len, self.into_iter().map(|item| item.encode(env)))
    }
}

/// Whether a `T` has a term's size and at least its alignment (`i64`, `u64`, `f64`,
/// pointers...): a `Vec<T>`'s buffer can then hold the list's terms in place of its
/// items.
#[inline(always)]
const fn term_sized<T>() -> bool {
    std::mem::size_of::<T>() == std::mem::size_of::<sys::ERL_NIF_TERM>()
        && std::mem::align_of::<T>() >= std::mem::align_of::<sys::ERL_NIF_TERM>()
}

/// A long `Vec<T>` of term-sized items becomes a list with no second buffer: each item
/// is replaced by its term in the `Vec`'s own buffer, which is then the array of
/// `enif_make_list_from_array` (for a `Vec<i64>` of 100 000 items, 800 KB less to
/// allocate and to walk).
#[inline(never)]
fn encode_in_place<'a, T: Encode<'a>>(env: Env<'a>, items: Vec<T>) -> Term<'a> {
    debug_assert!(term_sized::<T>());
    /// Owns the buffer while its slots turn from items into terms: if an `encode`
    /// panics, the items not converted yet are dropped and the buffer is freed (the
    /// terms need no drop).
    struct Converting<T> {
        ptr: *mut T,
        converted: usize,
        len: usize,
        capacity: usize,
    }
    impl<T> Drop for Converting<T> {
        fn drop(&mut self) {
            // SAFETY: slots converted..len still hold items this guard owns (each read
            // out of the buffer only after `converted` moved past it); the buffer is
            // the Vec's allocation of `capacity` T's, freed once here as a Vec of
            // length 0 (which drops no item).
            unsafe {
                std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(
                    self.ptr.add(self.converted),
                    self.len - self.converted,
                ));
                drop(Vec::from_raw_parts(self.ptr, 0, self.capacity));
            }
        }
    }
    let mut items = std::mem::ManuallyDrop::new(items);
    let mut guard = Converting {
        ptr: items.as_mut_ptr(),
        converted: 0,
        len: items.len(),
        capacity: items.capacity(),
    };
    let terms = guard.ptr as *mut sys::ERL_NIF_TERM;
    for index in 0..guard.len {
        // SAFETY: slot `index` holds an item (index < len, not read before); it is
        // moved out, and `converted` moves past it before `encode` can panic, so the
        // guard never drops it again. The slot is then free: a term (same size, the
        // buffer aligned for T, which is at least a term's alignment) is written there.
        unsafe {
            let item = guard.ptr.add(index).read();
            guard.converted = index + 1;
            let term = item.encode(env);
            terms.add(index).write(term.as_raw());
        }
    }
    // SAFETY: the buffer now holds `len` initialized terms of env (every slot
    // converted); the guard then frees it, dropping no item.
    unsafe {
        Term::from_raw(sys::enif_make_list_from_array(
            env.as_raw(),
            terms,
            guard.len as _,
        ))
    }
}

impl<'a, 'b, T> Encode<'a> for &'b [T]
where
    &'b T: Encode<'a>,
{
    #[inline]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        make_list_exact(env, self.len(), self.iter().map(|item| item.encode(env)))
    }
}

impl<'a, 'b, T> Encode<'a> for &'b Vec<T>
where
    &'b T: Encode<'a>,
{
    #[inline]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        self.as_slice().encode(env)
    }
}

macro_rules! encode_ref_by_copy {
    ($($t:ty),*) => {$(
        impl<'a> Encode<'a> for &$t {
            #[inline(always)]
            fn encode(self, env: Env<'a>) -> Term<'a> {
                (*self).encode(env)
            }
        }
    )*};
}
encode_ref_by_copy!(
    i8,
    i16,
    i32,
    i64,
    isize,
    u16,
    u32,
    u64,
    usize,
    i128,
    u128,
    f32,
    f64,
    bool,
    crate::Atom
);

/// Encodes the items of an iterator as a list, built with one
/// `enif_make_list_from_array` (no intermediate `Vec` of Rust values).
pub struct ListFromIter<I>(pub I);

impl<'a, I> Encode<'a> for ListFromIter<I>
where
    I: IntoIterator,
    I::Item: Encode<'a>,
{
    #[inline]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        let iter = self.0.into_iter();
        let (low, high) = iter.size_hint();
        if high == Some(low) {
            return make_list_exact(env, low, iter.map(|item| item.encode(env)));
        }
        let mut buf = crate::types::TermBuffer::new(low.max(16));
        for item in iter {
            buf.push(item.encode(env).as_raw());
        }
        // SAFETY: buf holds buf.len() terms of env.
        unsafe {
            Term::from_raw(sys::enif_make_list_from_array(
                env.as_raw(),
                buf.as_ptr(),
                buf.len() as _,
            ))
        }
    }
}
