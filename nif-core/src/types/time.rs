//! `Duration` and `SystemTime` as integers of nanoseconds.
//!
//! `Duration` ↔ a non-negative integer of nanoseconds (as
//! `System.convert_time_unit(d, :nanosecond, unit)` takes it); `SystemTime` ↔ an
//! integer of nanoseconds since the Unix epoch, negative before it (as
//! `System.os_time(:nanosecond)` and `DateTime.from_unix(t, :nanosecond)`).

use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::term::Term;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const NANOS: u128 = 1_000_000_000;

#[inline]
fn duration_of_nanos(nanos: u128) -> Option<Duration> {
    let secs = u64::try_from(nanos / NANOS).ok()?;
    Some(Duration::new(secs, (nanos % NANOS) as u32))
}

impl<'a> Decode<'a> for Duration {
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        term.decode::<u128>(env)
            .ok()
            .and_then(duration_of_nanos)
            .ok_or_else(|| {
                DecodeError::new(term, "a non-negative integer of nanoseconds (Duration)")
            })
    }
}

impl<'a> Encode<'a> for Duration {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        self.as_nanos().encode(env)
    }
}

impl<'a> Decode<'a> for SystemTime {
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        let nanos = term.decode::<i128>(env).ok();
        nanos
            .and_then(|n| {
                let offset = duration_of_nanos(n.unsigned_abs())?;
                if n >= 0 {
                    UNIX_EPOCH.checked_add(offset)
                } else {
                    UNIX_EPOCH.checked_sub(offset)
                }
            })
            .ok_or_else(|| {
                DecodeError::new(
                    term,
                    "an integer of nanoseconds since the Unix epoch (SystemTime)",
                )
            })
    }
}

impl<'a> Encode<'a> for SystemTime {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        match self.duration_since(UNIX_EPOCH) {
            Ok(after) => (after.as_nanos() as i128).encode(env),
            Err(before) => (-(before.duration().as_nanos() as i128)).encode(env),
        }
    }
}
