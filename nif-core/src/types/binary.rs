//! Binaries: `&[u8]` and [`Binary`] (borrowed, zero-copy), [`OwnedBinary`] (an owned
//! buffer that becomes a binary term without copying).

use crate::codec::{Decode, DecodeError, Encode};
use crate::env::Env;
use crate::sys;
use crate::term::Term;
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};

/// The bytes of a binary term (not a bitstring with a partial byte), borrowed.
#[inline(always)]
pub(crate) fn inspect_binary<'a>(env: Env<'a>, term: Term<'a>) -> Option<&'a [u8]> {
    let mut bin = MaybeUninit::<sys::ErlNifBinary>::uninit();
    // SAFETY: term belongs to env; on success bin describes bytes that stay valid and
    // unchanged as long as the term, i.e. for 'a.
    unsafe {
        if sys::enif_inspect_binary(env.as_raw(), term.as_raw(), bin.as_mut_ptr()) == 0 {
            return None;
        }
        let bin = bin.assume_init();
        Some(if bin.size == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(bin.data, bin.size)
        })
    }
}

impl<'a> Decode<'a> for &'a [u8] {
    #[inline(always)]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        inspect_binary(env, term).ok_or_else(|| DecodeError::new(term, "a binary (&[u8])"))
    }
}

impl<'a> Encode<'a> for &[u8] {
    #[inline(always)]
    fn encode(self, env: Env<'a>) -> Term<'a> {
        crate::types::string::make_binary(env, self)
    }
}

/// A binary argument, borrowed without copying: its bytes and its term (to return it,
/// or to make sub-binaries of it).
#[derive(Clone, Copy, Debug)]
pub struct Binary<'a> {
    term: Term<'a>,
    bytes: &'a [u8],
}

impl<'a> Binary<'a> {
    #[inline]
    pub fn as_slice(&self) -> &'a [u8] {
        self.bytes
    }

    #[inline]
    pub fn term(&self) -> Term<'a> {
        self.term
    }

    /// A sub-binary sharing this binary's memory: `bytes[start..start + len]`.
    ///
    /// Raises `ArgumentError` when the range is out of bounds (see
    /// [`try_sub_binary`](Self::try_sub_binary)).
    #[track_caller]
    pub fn sub_binary(&self, env: Env<'a>, start: usize, len: usize) -> Binary<'a> {
        self.try_sub_binary(env, start, len)
            .unwrap_or_else(|error| crate::raise(error))
    }

    /// A sub-binary sharing this binary's memory, or `ArgumentError` when the range is
    /// out of bounds.
    pub fn try_sub_binary(
        &self,
        env: Env<'a>,
        start: usize,
        len: usize,
    ) -> Result<Binary<'a>, crate::Error> {
        let end = start
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len());
        if end.is_none() {
            return Err(crate::Error::argument_error(format!(
                "sub-binary {start}..{} out of bounds of a binary of {} bytes",
                start.saturating_add(len),
                self.bytes.len()
            )));
        }
        // SAFETY: the range is within the binary (checked above).
        let term =
            unsafe { sys::enif_make_sub_binary(env.as_raw(), self.term.as_raw(), start, len) };
        Ok(Binary {
            // SAFETY: the sub-binary is a new term of env.
            term: unsafe { Term::from_raw(term) },
            bytes: &self.bytes[start..start + len],
        })
    }
}

impl Deref for Binary<'_> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.bytes
    }
}

impl<'a> Decode<'a> for Binary<'a> {
    #[inline(always)]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        match inspect_binary(env, term) {
            Some(bytes) => Ok(Binary { term, bytes }),
            None => Err(DecodeError::new(term, "a binary (Binary)")),
        }
    }
}

impl<'a> Encode<'a> for Binary<'a> {
    #[inline(always)]
    fn encode(self, _env: Env<'a>) -> Term<'a> {
        self.term
    }
}

/// An owned, writable buffer from the VM's binary allocator; encoding it turns it into
/// a binary term without copying.
///
/// It grows: [`realloc`](Self::realloc) changes its length, and it is a
/// `std::io::Write` / `std::fmt::Write` that appends (`write!(bin, "{x}")` formats
/// straight into the binary, no intermediate `String`), and `FromIterator<u8>`.
pub struct OwnedBinary {
    /// `bin.size` is the capacity; the first `len` bytes are the content, all
    /// `bin.size` bytes initialized.
    bin: sys::ErlNifBinary,
    len: usize,
}

// SAFETY: an allocated ErlNifBinary not yet made into a term is plain owned memory.
unsafe impl Send for OwnedBinary {}

impl OwnedBinary {
    /// A zero-filled binary of `size` bytes. Raises `SystemLimitError` when the VM
    /// cannot allocate it (see [`try_new`](Self::try_new)).
    #[track_caller]
    #[inline]
    pub fn new(size: usize) -> OwnedBinary {
        OwnedBinary::try_new(size).unwrap_or_else(|error| crate::raise(error))
    }

    /// A zero-filled binary of `size` bytes, or `SystemLimitError` when the VM cannot
    /// allocate it.
    pub fn try_new(size: usize) -> Result<OwnedBinary, crate::Error> {
        let mut bin = MaybeUninit::<sys::ErlNifBinary>::uninit();
        // SAFETY: enif_alloc_binary initializes bin on success; it fails (returns 0)
        // instead of aborting when the VM cannot allocate the size.
        if unsafe { sys::enif_alloc_binary(size, bin.as_mut_ptr()) } == 0 {
            return Err(cannot_allocate(size));
        }
        // SAFETY: initialized by the successful call above.
        let bin = unsafe { bin.assume_init() };
        if size > 0 {
            // SAFETY: data points to `size` writable bytes.
            unsafe { std::ptr::write_bytes(bin.data, 0, size) };
        }
        Ok(OwnedBinary { bin, len: size })
    }

    /// An empty binary with room for `capacity` bytes before it reallocates. Raises
    /// `SystemLimitError` when the VM cannot allocate it.
    #[track_caller]
    pub fn with_capacity(capacity: usize) -> OwnedBinary {
        let mut owned = OwnedBinary::new(capacity);
        owned.len = 0;
        owned
    }

    /// Bytes it holds before it must reallocate.
    pub fn capacity(&self) -> usize {
        self.bin.size
    }

    /// Sets the length to `size`: cut, or extended with zero bytes. Raises
    /// `SystemLimitError` when the VM cannot allocate it (see
    /// [`try_realloc`](Self::try_realloc)).
    #[track_caller]
    pub fn realloc(&mut self, size: usize) {
        self.try_realloc(size)
            .unwrap_or_else(|error| crate::raise(error))
    }

    /// Like [`realloc`](Self::realloc), `SystemLimitError` when the VM cannot allocate
    /// the size (the binary is then unchanged).
    pub fn try_realloc(&mut self, size: usize) -> Result<(), crate::Error> {
        if size > self.bin.size {
            self.reserve_exact(size)?;
        }
        if size > self.len {
            // SAFETY: bytes len..size are within the capacity (reserved above).
            unsafe { std::ptr::write_bytes(self.bin.data.add(self.len), 0, size - self.len) };
        }
        self.len = size;
        Ok(())
    }

    /// Grows the capacity to exactly `capacity` bytes (new bytes zeroed).
    fn reserve_exact(&mut self, capacity: usize) -> Result<(), crate::Error> {
        let old = self.bin.size;
        // SAFETY: bin is an allocated binary we own; on failure it is left unchanged
        // (erl_nif: enif_realloc_binary returns false and keeps the binary).
        if unsafe { sys::enif_realloc_binary(&mut self.bin, capacity) } == 0 {
            return Err(cannot_allocate(capacity));
        }
        if capacity > old {
            // SAFETY: data now points to `capacity` bytes; old..capacity are new.
            unsafe { std::ptr::write_bytes(self.bin.data.add(old), 0, capacity - old) };
        }
        Ok(())
    }

    /// Appends `bytes`, growing the capacity geometrically.
    pub fn try_extend_from_slice(&mut self, bytes: &[u8]) -> Result<(), crate::Error> {
        let needed = self
            .len
            .checked_add(bytes.len())
            .ok_or_else(|| cannot_allocate(usize::MAX))?;
        if needed > self.bin.size {
            self.reserve_exact(needed.max(self.bin.size.saturating_mul(2)).max(64))?;
        }
        if !bytes.is_empty() {
            // SAFETY: len..needed is within the capacity; bytes does not overlap our
            // buffer (we hold &mut self).
            unsafe {
                std::ptr::copy_nonoverlapping(
                    bytes.as_ptr(),
                    self.bin.data.add(self.len),
                    bytes.len(),
                )
            };
        }
        self.len = needed;
        Ok(())
    }

    /// A binary holding a copy of `bytes`.
    #[track_caller]
    pub fn from_slice(bytes: &[u8]) -> OwnedBinary {
        OwnedBinary::try_from_slice(bytes).unwrap_or_else(|error| crate::raise(error))
    }

    /// A binary holding a copy of `bytes`, or `SystemLimitError`.
    pub fn try_from_slice(bytes: &[u8]) -> Result<OwnedBinary, crate::Error> {
        let mut owned = OwnedBinary::try_new(bytes.len())?;
        owned.copy_from_slice(bytes);
        Ok(owned)
    }
}

/// An `OwnedBinary` taking over a binary the VM allocated (`enif_term_to_binary`).
///
/// # Safety
/// `bin` must be an allocated binary that nothing else releases or makes into a term.
pub(crate) unsafe fn owned_from_raw(bin: sys::ErlNifBinary) -> OwnedBinary {
    OwnedBinary { len: bin.size, bin }
}

impl std::io::Write for OwnedBinary {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.try_extend_from_slice(buf)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::OutOfMemory))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::fmt::Write for OwnedBinary {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.try_extend_from_slice(s.as_bytes())
            .map_err(|_| std::fmt::Error)
    }
}

impl FromIterator<u8> for OwnedBinary {
    /// Collects bytes; raises `SystemLimitError` when the VM cannot allocate them.
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> OwnedBinary {
        let iter = iter.into_iter();
        let mut owned = OwnedBinary::with_capacity(iter.size_hint().0);
        let mut chunk = [0u8; 256];
        let mut n = 0;
        for byte in iter {
            chunk[n] = byte;
            n += 1;
            if n == chunk.len() {
                owned
                    .try_extend_from_slice(&chunk)
                    .unwrap_or_else(|error| crate::raise(error));
                n = 0;
            }
        }
        owned
            .try_extend_from_slice(&chunk[..n])
            .unwrap_or_else(|error| crate::raise(error));
        owned
    }
}

impl Deref for OwnedBinary {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: data points to size >= len initialized bytes owned by self.
        unsafe { std::slice::from_raw_parts(self.bin.data, self.len) }
    }
}

impl DerefMut for OwnedBinary {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: as above, and we have unique access.
        unsafe { std::slice::from_raw_parts_mut(self.bin.data, self.len) }
    }
}

impl Drop for OwnedBinary {
    fn drop(&mut self) {
        // SAFETY: the binary is still ours (encode forgets self after handing it over).
        unsafe { sys::enif_release_binary(&mut self.bin) }
    }
}

impl<'a> Encode<'a> for OwnedBinary {
    #[inline]
    fn encode(mut self, env: Env<'a>) -> Term<'a> {
        if self.len != self.bin.size {
            // Shrink to the content (the term's size is the binary's size).
            self.reserve_exact(self.len)
                .unwrap_or_else(|error| crate::raise(error));
        }
        let mut this = std::mem::ManuallyDrop::new(self);
        // SAFETY: enif_make_binary takes ownership of the binary; we never release it.
        unsafe { Term::from_raw(sys::enif_make_binary(env.as_raw(), &mut this.bin)) }
    }
}

/// Up to this size, [`NewBinary`] is made by `enif_make_new_binary` directly.
const SMALL_NEW_BINARY: usize = 64 * 1024;

#[cold]
fn cannot_allocate(size: usize) -> crate::Error {
    crate::Error::exception(
        "Elixir.SystemLimitError",
        format!("could not allocate a binary of {size} bytes"),
    )
}

/// A new binary of a given size, written in place, then finished into its term: no
/// intermediate buffer and no copy.
///
/// ```ignore
/// let mut out = NewBinary::new(env, 3);
/// out.copy_from_slice(b"abc");
/// out.finish() // the term
/// ```
pub struct NewBinary<'a> {
    term: Term<'a>,
    bytes: &'a mut [u8],
}

impl<'a> NewBinary<'a> {
    /// A zero-filled binary of `size` bytes in `env`. Raises `SystemLimitError` when
    /// the VM cannot allocate it (see [`try_new`](Self::try_new)).
    #[track_caller]
    #[inline]
    pub fn new(env: Env<'a>, size: usize) -> NewBinary<'a> {
        NewBinary::try_new(env, size).unwrap_or_else(|error| crate::raise(error))
    }

    /// A zero-filled binary of `size` bytes in `env`, or `SystemLimitError` when the
    /// VM cannot allocate it.
    pub fn try_new(env: Env<'a>, size: usize) -> Result<NewBinary<'a>, crate::Error> {
        let mut term = 0;
        let data = if size <= SMALL_NEW_BINARY {
            // SAFETY: enif_make_new_binary returns `size` writable bytes owned by the
            // new term (an allocation this small failing is a real out-of-memory).
            unsafe { sys::enif_make_new_binary(env.as_raw(), size, &mut term) }
        } else {
            // enif_make_new_binary aborts the VM when it cannot allocate: a large size
            // goes through enif_alloc_binary, which fails instead, and the buffer is
            // handed to a term without copying.
            let owned = OwnedBinary::try_new(size)?;
            let data = owned.bin.data;
            term = owned.encode(env).as_raw();
            data
        };
        // SAFETY: data points to `size` writable bytes owned by the new term, which
        // lives as long as env; nothing else can see the term until `finish`, so this
        // is the only reference to the bytes.
        let bytes = unsafe {
            if size == 0 {
                &mut []
            } else {
                std::ptr::write_bytes(data, 0, size);
                std::slice::from_raw_parts_mut(data, size)
            }
        };
        Ok(NewBinary {
            // SAFETY: term was just built in env.
            term: unsafe { Term::from_raw(term) },
            bytes,
        })
    }

    /// The binary term, with what was written.
    #[inline]
    pub fn finish(self) -> Term<'a> {
        self.term
    }
}

impl Deref for NewBinary<'_> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.bytes
    }
}

impl DerefMut for NewBinary<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        self.bytes
    }
}

impl<'a> Encode<'a> for NewBinary<'a> {
    #[inline]
    fn encode(self, _env: Env<'a>) -> Term<'a> {
        self.finish()
    }
}

/// An iodata argument (a binary, or an iolist of binaries, bytes and nested iolists)
/// seen as one flat binary. A binary is borrowed as is; an iolist is flattened once
/// by the VM into a new binary.
#[derive(Clone, Copy, Debug)]
pub struct IoData<'a> {
    bytes: &'a [u8],
}

impl<'a> IoData<'a> {
    #[inline]
    pub fn as_slice(&self) -> &'a [u8] {
        self.bytes
    }
}

impl Deref for IoData<'_> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.bytes
    }
}

impl<'a> Decode<'a> for IoData<'a> {
    #[inline]
    fn decode(term: Term<'a>, env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        let mut bin = MaybeUninit::<sys::ErlNifBinary>::uninit();
        // SAFETY: term belongs to env; on success the bytes live as long as env (the VM
        // keeps a flattened iolist alive until the environment is freed).
        unsafe {
            if sys::enif_inspect_iolist_as_binary(env.as_raw(), term.as_raw(), bin.as_mut_ptr())
                == 0
            {
                return Err(DecodeError::new(term, "iodata (IoData)"));
            }
            let bin = bin.assume_init();
            Ok(IoData {
                bytes: if bin.size == 0 {
                    &[]
                } else {
                    std::slice::from_raw_parts(bin.data, bin.size)
                },
            })
        }
    }
}
