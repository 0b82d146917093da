//! `&Path`, `PathBuf` ↔ paths as Elixir's `Path` takes them.
//!
//! Decoding: `&Path` borrows a binary (its bytes, as the OS takes them); `PathBuf` also
//! takes a charlist or any chardata (`'dir/file'`, `["dir", ?/, 'file']`), as `Path`
//! functions do. Encoding: a binary of the path's bytes.

use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::sys;
use crate::term::Term;
use crate::types::binary::inspect_binary;
use crate::types::string::make_binary;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

#[cfg(unix)]
#[inline]
fn path_of(bytes: &[u8]) -> Option<&Path> {
    use std::os::unix::ffi::OsStrExt;
    Some(Path::new(OsStr::from_bytes(bytes)))
}

#[cfg(not(unix))]
#[inline]
fn path_of(bytes: &[u8]) -> Option<&Path> {
    crate::types::string::utf8(bytes).map(Path::new)
}

#[cfg(unix)]
#[inline]
fn bytes_of(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().into()
}

#[cfg(not(unix))]
#[inline]
fn bytes_of(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    match path.to_string_lossy() {
        std::borrow::Cow::Borrowed(s) => s.as_bytes().into(),
        std::borrow::Cow::Owned(s) => s.into_bytes().into(),
    }
}

impl<'a> Decode<'a> for &'a Path {
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        inspect_binary(env, term)
            .and_then(path_of)
            .ok_or_else(|| DecodeError::new(term, "a path as a binary (&Path)"))
    }
}

/// Chardata (nested lists of code points and UTF-8 binaries) flattened into a string;
/// `None` for anything else. Walks with an explicit stack: no recursion on the
/// caller's nesting depth.
fn chardata(env: Env<'_>, term: Term<'_>) -> Option<String> {
    let mut out = String::new();
    let mut stack = vec![term.as_raw()];
    while let Some(rest) = stack.pop() {
        let (mut head, mut tail) = (0, 0);
        // SAFETY: rest is a term of env; head/tail are valid out-pointers.
        if unsafe { sys::enif_get_list_cell(env.as_raw(), rest, &mut head, &mut tail) } == 0 {
            // SAFETY: rest is a term of env.
            if unsafe { sys::enif_is_empty_list(env.as_raw(), rest) } != 0 {
                continue;
            }
            // A binary tail (`['a' | "b"]`) is chardata too.
            // SAFETY: rest is a term of env.
            let bytes = inspect_binary(env, unsafe { Term::from_raw(rest) })?;
            out.push_str(crate::types::string::utf8(bytes)?);
            continue;
        }
        stack.push(tail);
        // SAFETY: head is a term of env.
        let head = unsafe { Term::from_raw(head) };
        if let Ok(code) = head.decode::<u32>(env) {
            out.push(char::from_u32(code)?);
        } else if let Some(bytes) = inspect_binary(env, head) {
            out.push_str(crate::types::string::utf8(bytes)?);
        } else {
            stack.push(head.as_raw());
            // SAFETY: head is a term of env.
            if unsafe { sys::enif_is_list(env.as_raw(), head.as_raw()) } == 0 {
                return None;
            }
        }
    }
    Some(out)
}

impl<'a> Decode<'a> for PathBuf {
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        if let Some(bytes) = inspect_binary(env, term) {
            if let Some(path) = path_of(bytes) {
                return Ok(path.to_path_buf());
            }
        // SAFETY: term is a term of env.
        } else if unsafe { sys::enif_is_list(env.as_raw(), term.as_raw()) } != 0 {
            if let Some(s) = chardata(env, term) {
                return Ok(PathBuf::from(s));
            }
        }
        Err(DecodeError::new(
            term,
            "a path as a binary or chardata (PathBuf)",
        ))
    }
}

impl<'a> Encode<'a> for &Path {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        make_binary(env, &bytes_of(self))
    }
}

impl<'a> Encode<'a> for PathBuf {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        make_binary(env, &bytes_of(&self))
    }
}

impl<'a> Encode<'a> for &PathBuf {
    fn encode(self, env: Env<'a>) -> Term<'a> {
        make_binary(env, &bytes_of(self))
    }
}
