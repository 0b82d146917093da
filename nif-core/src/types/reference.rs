//! [`Reference`]: an Erlang reference (`make_ref()`).

use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::sys;
use crate::term::Term;

/// A reference term, borrowed from its environment.
/// Ordered as the VM orders references; hashed with the VM's internal hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference<'a>(Term<'a>);

impl<'a> Reference<'a> {
    /// A new unique reference, like `make_ref()`.
    #[inline]
    pub fn new(env: Env<'a>) -> Reference<'a> {
        // SAFETY: enif_make_ref builds a term in env.
        Reference(unsafe { Term::from_raw(sys::enif_make_ref(env.as_raw())) })
    }

    #[inline]
    pub fn term(self) -> Term<'a> {
        self.0
    }
}

impl<'a> Decode<'a> for Reference<'a> {
    #[inline]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        // SAFETY: term belongs to env.
        if unsafe { sys::enif_is_ref(env.as_raw(), term.as_raw()) } != 0 {
            Ok(Reference(term))
        } else {
            Err(DecodeError::new(term, "a reference (Reference)"))
        }
    }
}

impl<'a> Encode<'a> for Reference<'a> {
    #[inline(always)]
    fn encode(self, _env: Env<'a>) -> Term<'a> {
        self.0
    }
}
