//! Tuples of arity 0 to 12, both ways.

use crate::codec::{Decode, DecodeError, Encode, PathStep};
use crate::env::Env;
use crate::sys;
use crate::term::Term;

/// The elements of a tuple term, borrowed; `None` if `term` is not a tuple.
#[inline(always)]
pub fn tuple_elements<'a>(env: Env<'a>, term: Term<'a>) -> Option<&'a [Term<'a>]> {
    let mut arity = 0;
    let mut array = std::ptr::null();
    // SAFETY: term belongs to env; on success array points to `arity` terms that live
    // as long as the tuple.
    unsafe {
        if sys::enif_get_tuple(env.as_raw(), term.as_raw(), &mut arity, &mut array) == 0 {
            return None;
        }
        Some(if arity == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(array as *const Term, arity as usize)
        })
    }
}

#[cold]
#[inline(never)]
fn not_a_tuple<'a>(term: Term<'a>, arity: usize, rust: &str) -> DecodeError<'a> {
    DecodeError::new(
        term,
        format!(
            "a tuple of {arity} elements ({})",
            crate::types::short_type_name(rust)
        ),
    )
}

/// A tuple of any arity made of `elements`.
#[inline]
pub fn make_tuple<'a>(env: Env<'a>, elements: &[Term<'a>]) -> Term<'a> {
    // SAFETY: Term is a transparent ERL_NIF_TERM; elements are terms of env.
    unsafe {
        Term::from_raw(sys::enif_make_tuple_from_array(
            env.as_raw(),
            elements.as_ptr() as *const sys::ERL_NIF_TERM,
            elements.len() as _,
        ))
    }
}

macro_rules! tuple {
    ($n:expr; $($t:ident $i:tt),*) => {
        impl<'a, $($t: Decode<'a>),*> Decode<'a> for ($($t,)*) {
            #[inline]
            #[allow(unused_variables)]
            fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
                match tuple_elements(env, term) {
                    Some(elements) if elements.len() == $n => Ok(($(
                        match $t::decode(elements[$i], env) {
                            Ok(value) => value,
                            Err(error) => return Err(error.inside(PathStep::TupleElement($i))),
                        },
                    )*)),
                    _ => Err(not_a_tuple(term, $n, std::any::type_name::<Self>())),
                }
            }
        }

        impl<'a, $($t: Encode<'a>),*> Encode<'a> for ($($t,)*) {
            #[inline]
            #[allow(unused_variables)]
            fn encode(self, env: Env<'a>) -> Term<'a> {
                let elements: [sys::ERL_NIF_TERM; $n] = [$(self.$i.encode(env).as_raw()),*];
                // SAFETY: elements holds $n terms of env.
                unsafe { Term::from_raw(sys::enif_make_tuple_from_array(env.as_raw(), elements.as_ptr(), $n)) }
            }
        }
    };
}

tuple!(1; A 0);
tuple!(2; A 0, B 1);
tuple!(3; A 0, B 1, C 2);
tuple!(4; A 0, B 1, C 2, D 3);
tuple!(5; A 0, B 1, C 2, D 3, E 4);
tuple!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple!(9; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple!(10; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple!(11; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple!(12; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
