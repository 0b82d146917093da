//! `RangeInclusive<T>` and `Range<T>` (integers) ↔ Elixir ranges
//! (`%Range{first, last, step}`), and [`StepRange`] for any step.
//!
//! `a..=b` is `a..b` in Elixir (`step: 1`); `a..b` (end excluded) is `a..(b - 1)`, so
//! an empty Rust range is an empty Elixir range (`5..4//1`). Decoding into
//! `Range`/`RangeInclusive` requires `step: 1` (any step: [`StepRange`]).

use crate::codec::{Decode, DecodeError, Encode, PathStep};
use crate::env::Env;
use crate::term::Term;
use std::ops::{Range, RangeInclusive};

mod atoms {
    crate::atoms! {
        first,
        last,
        step,
        range = "Elixir.Range",
    }
}

/// An Elixir range with its step: `first..last//step`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StepRange<T> {
    pub first: T,
    pub last: T,
    pub step: T,
}

/// The `first`, `last` and `step` terms of a `%Range{}` (a range made by an Elixir
/// older than 1.12 has no step: `None`).
#[inline]
fn parts<'a>(env: Env<'a>, term: Term<'a>) -> Option<(Term<'a>, Term<'a>, Option<Term<'a>>)> {
    let tag = term.map_get(env, crate::atoms::__struct__())?;
    if tag != atoms::range().to_term(env) {
        return None;
    }
    Some((
        term.map_get(env, atoms::first())?,
        term.map_get(env, atoms::last())?,
        term.map_get(env, atoms::step()),
    ))
}

#[cold]
#[inline(never)]
fn range_error<'a, T>(term: Term<'a>, what: &str) -> DecodeError<'a> {
    DecodeError::new(
        term,
        format!(
            "{what} ({})",
            crate::types::short_type_name(std::any::type_name::<T>())
        ),
    )
}

#[inline]
fn make_range<'a>(env: Env<'a>, first: Term<'a>, last: Term<'a>, step: Term<'a>) -> Term<'a> {
    let entries = [
        (
            crate::atoms::__struct__().to_term(env),
            atoms::range().to_term(env),
        ),
        (atoms::first().to_term(env), first),
        (atoms::last().to_term(env), last),
        (atoms::step().to_term(env), step),
    ];
    let mut map = Term::map_new(env);
    for (key, value) in entries {
        // A map term stays a map: map_put cannot fail here.
        if let Some(next) = map.map_put(env, key, value) {
            map = next;
        }
    }
    map
}

/// Decodes `first`, `last` and `step` of a range as `T`, with the field as the path.
fn decode_parts<'a, T: Decode<'a>, R>(
    env: Env<'a>,
    term: Term<'a>,
) -> Result<(T, T, Option<Term<'a>>), DecodeError<'a>> {
    let (first, last, step) =
        parts(env, term).ok_or_else(|| range_error::<R>(term, "a range first..last//step"))?;
    let first = T::decode(first, env).map_err(|e| e.inside(PathStep::Field("first")))?;
    let last = T::decode(last, env).map_err(|e| e.inside(PathStep::Field("last")))?;
    Ok((first, last, step))
}

impl<'a, T: Decode<'a>> Decode<'a> for StepRange<T> {
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        let (first, last, step) = decode_parts::<T, Self>(env, term)?;
        let step = match step {
            Some(step) => T::decode(step, env).map_err(|e| e.inside(PathStep::Field("step")))?,
            None => return Err(range_error::<Self>(term, "a range with a step")),
        };
        Ok(StepRange { first, last, step })
    }
}

impl<'a, T: Encode<'a>> Encode<'a> for StepRange<T> {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        let (first, last, step) = (
            self.first.encode(env),
            self.last.encode(env),
            self.step.encode(env),
        );
        make_range(env, first, last, step)
    }
}

/// Whether the step term is the integer 1 (or absent, and the range ascending: what
/// Elixir before 1.12 meant).
#[inline]
fn step_is_one<'a>(env: Env<'a>, step: Option<Term<'a>>) -> bool {
    match step {
        Some(step) => matches!(step.decode::<i64>(env), Ok(1)),
        None => true,
    }
}

macro_rules! int_ranges {
    ($($t:ty),*) => {$(
        impl<'a> Decode<'a> for RangeInclusive<$t> {
            fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
                let (first, last, step) = decode_parts::<$t, Self>(env, term)?;
                if !step_is_one(env, step) {
                    return Err(range_error::<Self>(term, "a range first..last with step 1"));
                }
                Ok(first..=last)
            }
        }

        impl<'a> Encode<'a> for RangeInclusive<$t> {
            fn encode(self, env: Env<'a>) -> Term<'a> {
                let (first, last) = self.into_inner();
                make_range(env, first.encode(env), last.encode(env), 1i64.encode(env))
            }
        }

        impl<'a> Decode<'a> for Range<$t> {
            fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
                let (first, last, step) = decode_parts::<$t, Self>(env, term)?;
                if !step_is_one(env, step) {
                    return Err(range_error::<Self>(term, "a range first..last with step 1"));
                }
                // An empty Elixir range (last = first - 1) is first..first.
                match last.checked_add(1) {
                    Some(end) if end >= first => Ok(first..end),
                    Some(_) => Err(range_error::<Self>(
                        term,
                        "a range first..last with step 1 and last >= first - 1",
                    )),
                    None => Err(range_error::<Self>(
                        term,
                        "a range whose end (last + 1) fits the type",
                    )),
                }
            }
        }

        impl<'a> Encode<'a> for Range<$t> {
            fn encode(self, env: Env<'a>) -> Term<'a> {
                // last = end - 1; when end is the type's minimum (an empty range
                // there), last is below the type: -(|end| + 1) as a (big) integer.
                let first = self.start.encode(env);
                let last = match self.end.checked_sub(1) {
                    Some(last) => last.encode(env),
                    None => {
                        let magnitude = (self.end as i128).unsigned_abs() + 1;
                        crate::types::int::make_integer(env, true, &magnitude.to_le_bytes())
                    }
                };
                make_range(env, first, last, 1i64.encode(env))
            }
        }
    )*};
}

int_ranges!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);
