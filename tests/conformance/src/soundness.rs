//! What must never crash the VM: a lazily found decode error resumed in a later call,
//! panics and raises in VM callbacks (reported through the logger), sizes from the
//! caller that cannot be allocated, and a large block allocated before the library
//! was loaded and freed after.

use oxbeam::{nif, Atom, Decode, DecodeError, Env, ListIterator, NewBinary, ResourceArc, Term};
use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Mutex;

mod atoms {
    oxbeam::atoms! { finished, stashed, nothing }
}

static STASHED: Mutex<Option<Box<dyn Any + Send>>> = Mutex::new(None);

/// Sums a list lazily and keeps the unwind of a bad element instead of letting it
/// reach the NIF boundary (what user code with `catch_unwind` can do).
#[nif]
fn lazy_error_stash(numbers: ListIterator<'_>) -> Atom {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        numbers.decode_each::<i64>().sum::<i64>()
    }));
    match result {
        Ok(_) => atoms::finished(),
        Err(payload) => {
            *STASHED.lock().unwrap_or_else(|e| e.into_inner()) = Some(payload);
            atoms::stashed()
        }
    }
}

/// Resumes the kept unwind in this (later) call.
#[nif]
fn lazy_error_resume() -> Atom {
    let payload = STASHED.lock().unwrap_or_else(|e| e.into_inner()).take();
    match payload {
        Some(payload) => std::panic::resume_unwind(payload),
        None => atoms::nothing(),
    }
}

/// A resource whose `Drop` fails in the way its `mode` says.
#[oxbeam::resource]
pub struct FailingDrop {
    mode: String,
}

impl Drop for FailingDrop {
    fn drop(&mut self) {
        match self.mode.as_str() {
            "panic" => panic!("boom in drop"),
            "raise" => oxbeam::raise(oxbeam::Error::argument_error("raised in drop")),
            _ => {}
        }
    }
}

#[nif]
fn failing_drop_new(mode: String) -> ResourceArc<FailingDrop> {
    ResourceArc::new(FailingDrop { mode })
}

/// A resource whose `down` callback panics.
pub struct FailingDown;

#[oxbeam::resource]
impl oxbeam::Resource for FailingDown {
    fn down<'a>(&self, _env: Env<'a>, _pid: oxbeam::LocalPid, _monitor: oxbeam::Monitor) {
        panic!("boom in down");
    }
}

#[nif]
fn failing_down_watch(target: oxbeam::LocalPid) -> oxbeam::Result<ResourceArc<FailingDown>> {
    let watcher = ResourceArc::new(FailingDown);
    watcher
        .monitor(None, &target)
        .ok_or_else(|| oxbeam::Error::argument_error("not alive"))?;
    Ok(watcher)
}

/// A zero-filled new binary of `size` bytes.
#[nif]
fn new_binary_of(env: Env<'_>, size: usize) -> NewBinary<'_> {
    NewBinary::new(env, size)
}

/// The `try_` forms: what each gives for an impossible request, without raising.
#[nif]
fn try_forms(env: Env<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if let Err(e) = oxbeam::OwnedBinary::try_new(usize::MAX / 2) {
        out.push(e.to_string());
    }
    if let Err(e) = NewBinary::try_new(env, usize::MAX / 2) {
        out.push(e.to_string());
    }
    if let Err(e) = oxbeam::types::float::try_make_float(env, f64::NAN) {
        out.push(e.to_string());
    }
    let bytes = oxbeam::OwnedBinary::from_slice(b"abc");
    let binary: oxbeam::Binary = oxbeam::Encode::encode(bytes, env)
        .decode(env)
        .unwrap_or_else(|e: DecodeError| e.raise_for(env, env.make_ref()));
    if let Err(e) = binary.try_sub_binary(env, 2, 5) {
        out.push(e.to_string());
    }
    out
}

/// Decodes a list into a `Vec` of 64 KiB elements.
#[nif]
fn huge_elements(values: Vec<HugeInline>) -> usize {
    values.len()
}

/// Decodes a map into a `HashMap` of 64 KiB values.
#[nif]
fn huge_values(values: HashMap<i64, HugeInline>) -> usize {
    values.len()
}

/// 64 KiB inline (not boxed), so the collection itself is what is large. It never
/// decodes (making one would not fit a scheduler's stack): the collection's allocation
/// is what the tests exercise.
pub struct HugeInline(#[allow(dead_code)] [u8; 64 * 1024]);

impl<'a> Decode<'a> for HugeInline {
    fn decode(term: Term<'a>, _env: Env<'a>) -> Result<Self, DecodeError<'a>> {
        Err(DecodeError::new(term, "nothing: HugeInline never decodes"))
    }
}

/// A 64 KiB block a static initializer allocated when the library file was loaded,
/// before the VM called `nif_init` (like a dependency's static initializer).
static PRELOAD_BLOCK: AtomicPtr<Vec<u8>> = AtomicPtr::new(std::ptr::null_mut());

extern "C" fn allocate_before_load() {
    let block = Box::new(vec![7u8; 64 * 1024]);
    PRELOAD_BLOCK.store(Box::into_raw(block), Ordering::Release);
}

#[used]
#[link_section = ".init_array"]
static ALLOCATE_BEFORE_LOAD: extern "C" fn() = allocate_before_load;

/// Frees the block allocated before load (after load); returns its byte sum.
#[nif]
fn free_preload_block() -> Option<u64> {
    let ptr = PRELOAD_BLOCK.swap(std::ptr::null_mut(), Ordering::AcqRel);
    if ptr.is_null() {
        return None;
    }
    // SAFETY: made by Box::into_raw above and taken out of the static exactly once.
    let block = unsafe { Box::from_raw(ptr) };
    Some(block.iter().map(|&b| b as u64).sum())
}
