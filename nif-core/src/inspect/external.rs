//! The parts of a term erl_nif does not expose (pid, reference and port numbers, what a
//! fun is, the bits of a bitstring), read from the term's external term format.

use crate::env::Env;
use crate::sys;
use crate::term::Term;

/// The external term format of a term (`term_to_binary/1`).
fn external<'a>(env: Env<'a>, term: Term<'a>) -> Option<Vec<u8>> {
    let mut bin = std::mem::MaybeUninit::<sys::ErlNifBinary>::uninit();
    // SAFETY: term is a term of env; on success bin is an owned binary, copied and
    // released below.
    unsafe {
        if sys::enif_term_to_binary(env.as_raw(), term.as_raw(), bin.as_mut_ptr()) == 0 {
            return None;
        }
        let mut bin = bin.assume_init();
        let bytes = std::slice::from_raw_parts(bin.data, bin.size).to_vec();
        sys::enif_release_binary(&mut bin);
        Some(bytes)
    }
}

/// An encoded atom at the start of `bytes`: its name and the bytes after it.
fn atom(bytes: &[u8]) -> Option<(String, &[u8])> {
    let (latin1, len, rest) = match bytes {
        [119, n, rest @ ..] => (false, *n as usize, rest),
        [115, n, rest @ ..] => (true, *n as usize, rest),
        [118, a, b, rest @ ..] => (false, u16::from_be_bytes([*a, *b]) as usize, rest),
        [100, a, b, rest @ ..] => (true, u16::from_be_bytes([*a, *b]) as usize, rest),
        _ => return None,
    };
    let name = rest.get(..len)?;
    let name = if latin1 {
        name.iter().map(|&b| b as char).collect()
    } else {
        String::from_utf8(name.to_vec()).ok()?
    };
    Some((name, &rest[len..]))
}

/// A small or 32-bit integer at the start of `bytes`.
fn small_int(bytes: &[u8]) -> Option<(i64, &[u8])> {
    match bytes {
        [97, n, rest @ ..] => Some((*n as i64, rest)),
        [98, a, b, c, d, rest @ ..] => Some((i32::from_be_bytes([*a, *b, *c, *d]) as i64, rest)),
        _ => None,
    }
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn be64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// A local pid's number and serial (`#PID<0.id.serial>`).
pub(crate) fn pid<'a>(env: Env<'a>, term: Term<'a>) -> Option<(u32, u32)> {
    let ext = external(env, term)?;
    let rest = match ext.get(..2)? {
        [131, 88] | [131, 103] => atom(&ext[2..])?.1,
        _ => return None,
    };
    Some((be32(rest, 0)?, be32(rest, 4)?))
}

/// A reference's numbers, most significant first (`#Reference<0.a.b.c>`).
pub(crate) fn reference<'a>(env: Env<'a>, term: Term<'a>) -> Option<Vec<u32>> {
    let ext = external(env, term)?;
    let (len, rest) = match ext.get(..4)? {
        [131, 90 | 114, a, b] => (u16::from_be_bytes([*a, *b]) as usize, &ext[4..]),
        _ => return None,
    };
    let rest = atom(rest)?.1;
    // The creation (4 bytes for NEWER_REFERENCE_EXT, 1 for NEW_REFERENCE_EXT).
    let rest = rest.get(if ext[1] == 90 { 4 } else { 1 }..)?;
    let mut ids = (0..len)
        .map(|i| be32(rest, 4 * i))
        .collect::<Option<Vec<u32>>>()?;
    ids.reverse();
    Some(ids)
}

/// A local port's number (`#Port<0.n>`): NEW_PORT_EXT (32-bit id) or V4_PORT_EXT
/// (64-bit id).
pub(crate) fn port<'a>(env: Env<'a>, term: Term<'a>) -> Option<u64> {
    let ext = external(env, term)?;
    match ext.get(..2)? {
        [131, 89] => be32(atom(&ext[2..])?.1, 0).map(u64::from),
        [131, 120] => be64(atom(&ext[2..])?.1, 0),
        [131, 102] => be32(atom(&ext[2..])?.1, 0).map(|id| u64::from(id & 0x0fff_ffff)),
        _ => None,
    }
}

/// What the external format says about a fun.
pub(crate) enum Fun {
    /// `fun M:F/A` (`&M.f/a`).
    External {
        module: String,
        function: String,
        arity: u8,
    },
    /// A fun defined in a module's code. Its name (`-f/1-fun-0-`) is not in the
    /// external format: it is in the module's code, which a NIF cannot read.
    Local {
        module: String,
        arity: u8,
        index: u32,
        old_index: i64,
        old_uniq: i64,
    },
}

pub(crate) fn fun<'a>(env: Env<'a>, term: Term<'a>) -> Option<Fun> {
    let ext = external(env, term)?;
    match ext.get(..2)? {
        [131, 113] => {
            let (module, rest) = atom(&ext[2..])?;
            let (function, rest) = atom(rest)?;
            let (arity, _) = small_int(rest)?;
            Some(Fun::External {
                module,
                function,
                arity: u8::try_from(arity).ok()?,
            })
        }
        [131, 112] => {
            // Size(4) Arity(1) Uniq(16) Index(4) NumFree(4) Module OldIndex OldUniq ...
            let body = ext.get(2..)?;
            let arity = *body.get(4)?;
            let index = be32(body, 21)?;
            let (module, rest) = atom(body.get(29..)?)?;
            let (old_index, rest) = small_int(rest)?;
            let (old_uniq, _) = small_int(rest)?;
            Some(Fun::Local {
                module,
                arity,
                index,
                old_index,
                old_uniq,
            })
        }
        _ => None,
    }
}

/// The bytes of a bitstring that is not whole bytes, and how many bits of the last
/// byte are used (1..=7).
pub(crate) fn bitstring<'a>(env: Env<'a>, term: Term<'a>) -> Option<(Vec<u8>, u8)> {
    let ext = external(env, term)?;
    match ext.get(..7)? {
        [131, 77, a, b, c, d, bits] if (1..8).contains(bits) => {
            let len = u32::from_be_bytes([*a, *b, *c, *d]) as usize;
            let data = ext.get(7..7 + len)?;
            (!data.is_empty()).then(|| (data.to_vec(), *bits))
        }
        _ => None,
    }
}
