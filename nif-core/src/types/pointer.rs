//! `Box<T>`, `Rc<T>`, `Arc<T>` (as `T`), `Cow<str>` and `Cow<[u8]>` (borrowed when
//! decoded, zero-copy).

use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::term::Term;
use std::borrow::Cow;
use std::rc::Rc;
use std::sync::Arc;

impl<'a, T: Decode<'a>> Decode<'a> for Box<T> {
    #[inline]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        T::decode(term, env).map(Box::new)
    }
}

impl<'a, T: Encode<'a>> Encode<'a> for Box<T> {
    #[inline]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        (*self).encode(env)
    }
}

impl<'a, T: Decode<'a>> Decode<'a> for Rc<T> {
    #[inline]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        T::decode(term, env).map(Rc::new)
    }
}

/// Encodes the value (a clone of it when the `Rc` is shared).
impl<'a, T: Encode<'a> + Clone> Encode<'a> for Rc<T> {
    #[inline]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        Rc::unwrap_or_clone(self).encode(env)
    }
}

impl<'a, T: Decode<'a>> Decode<'a> for Arc<T> {
    #[inline]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        T::decode(term, env).map(Arc::new)
    }
}

/// Encodes the value (a clone of it when the `Arc` is shared).
impl<'a, T: Encode<'a> + Clone> Encode<'a> for Arc<T> {
    #[inline]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        Arc::unwrap_or_clone(self).encode(env)
    }
}

impl<'a> Decode<'a> for Cow<'a, str> {
    #[inline]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        <&'a str>::decode(term, env).map(Cow::Borrowed)
    }
}

impl<'a> Encode<'a> for Cow<'_, str> {
    #[inline]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        crate::types::string::make_binary(env, self.as_bytes())
    }
}

impl<'a> Decode<'a> for Cow<'a, [u8]> {
    #[inline]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        <&'a [u8]>::decode(term, env).map(Cow::Borrowed)
    }
}

impl<'a> Encode<'a> for Cow<'_, [u8]> {
    #[inline]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        crate::types::string::make_binary(env, &self)
    }
}
