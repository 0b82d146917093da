//! Continuing a call in another NIF (`Env::schedule`): moving to a dirty scheduler
//! when needed, yielding a long loop, errors raised by the continuation.

use oxbeam::schedule::{thread_kind, ThreadKind};
use oxbeam::{nif, Atom, Encode, Env, Next, Scheduled, Term};

mod atoms {
    oxbeam::atoms! { normal, dirty_cpu, dirty_io, other }
}

fn kind_atom(kind: ThreadKind) -> Atom {
    match kind {
        ThreadKind::Normal => atoms::normal(),
        ThreadKind::DirtyCpu => atoms::dirty_cpu(),
        ThreadKind::DirtyIo => atoms::dirty_io(),
        ThreadKind::Other => atoms::other(),
    }
}

/// Doubles `n` where it is called, or on a dirty CPU scheduler when `n` is large;
/// returns `{double, where_it_ran}`.
#[nif]
fn double_where<'a>(env: Env<'a>, n: Term<'a>) -> Next<'a, (i64, Atom)> {
    let value: i64 = n.decode(env).unwrap_or_else(|e| e.raise_for(env, n));
    if value > 1000 {
        return env.schedule(double_on_dirty_cpu::Nif, &[n]).into();
    }
    Next::Done((value * 2, kind_atom(thread_kind())))
}

/// The continuation of `double_where/1`.
#[nif(schedule = "dirty_cpu")]
fn double_on_dirty_cpu(n: i64) -> (i64, Atom) {
    (n * 2, kind_atom(thread_kind()))
}

/// The kind of thread this dirty I/O NIF runs on.
#[nif(schedule = "dirty_io")]
fn thread_kind_dirty_io() -> Atom {
    kind_atom(thread_kind())
}

/// Sums `from..to` on a normal scheduler, yielding whenever the timeslice is used up
/// (it schedules itself with the state left); returns `{sum, times_yielded}`.
#[nif]
fn sum_yielding<'a>(
    env: Env<'a>,
    from: u64,
    to: u64,
    acc: u64,
    yields: u64,
) -> Next<'a, (u64, u64)> {
    let mut i = from;
    let mut acc = acc;
    while i < to {
        let end = (i + 10_000).min(to);
        for k in i..end {
            acc = acc.wrapping_add(k ^ (k >> 3));
        }
        i = end;
        if i < to && env.consume_timeslice(1) {
            let args = [
                i.encode(env),
                to.encode(env),
                acc.encode(env),
                (yields + 1).encode(env),
            ];
            return env.schedule(sum_yielding::Nif, &args).into();
        }
    }
    Next::Done((acc, yields))
}

/// Continues in `checked_half/1` with the argument as given: its decode errors and
/// exceptions are the call's.
#[nif]
fn schedule_checked_half<'a>(env: Env<'a>, value: Term<'a>) -> Scheduled<'a> {
    env.schedule(checked_half::Nif, &[value])
}

/// Halves an even integer; raises for odd ones.
#[nif(schedule = "dirty_cpu")]
fn checked_half(n: i64) -> oxbeam::Result<i64> {
    if n % 2 != 0 {
        return Err(oxbeam::Error::argument_error(format!("{n} is odd")));
    }
    Ok(n / 2)
}

/// Schedules `checked_half/1` with two arguments: a bug, reported as a RuntimeError.
#[nif]
fn schedule_wrong_arity<'a>(env: Env<'a>, value: Term<'a>) -> Scheduled<'a> {
    env.schedule(checked_half::Nif, &[value, value])
}
