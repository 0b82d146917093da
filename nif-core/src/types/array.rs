//! Arrays `[T; N]` ↔ lists of exactly `N` elements.

use crate::codec::{Decode, DecodeError, Encode, PathStep};
use crate::env::Env;
use crate::term::Term;

impl<'a, T: Decode<'a>, const N: usize> Decode<'a> for [T; N] {
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        let wrong = || {
            DecodeError::new(
                term,
                format!(
                    "a list of {N} elements ({})",
                    crate::types::short_type_name(std::any::type_name::<Self>())
                ),
            )
        };
        if term.list_length(env) != Some(N) {
            return Err(wrong());
        }
        let mut items = Vec::with_capacity(N);
        let mut rest = term;
        for index in 0..N {
            let (mut head, mut tail) = (0, 0);
            // SAFETY: rest is a term of env; head/tail are valid out-pointers.
            if unsafe {
                crate::sys::enif_get_list_cell(env.as_raw(), rest.as_raw(), &mut head, &mut tail)
            } == 0
            {
                return Err(wrong());
            }
            // SAFETY: head and tail are terms of env.
            let (head, tail) = unsafe { (Term::from_raw(head), Term::from_raw(tail)) };
            rest = tail;
            items.push(T::decode(head, env).map_err(|e| e.inside(PathStep::ListElement(index)))?);
        }
        items.try_into().map_err(|_| wrong())
    }
}

impl<'a, T: Encode<'a>, const N: usize> Encode<'a> for [T; N] {
    #[inline]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        crate::types::list::make_list_exact(env, N, self.into_iter().map(|item| item.encode(env)))
    }
}
