//! The consumer library of `elixir/test/nif/dynamic_resource_test.exs`, loaded into
//! `Oxbeam.Test.DynConsumer`: it runs the dynamic call of `tests/dyncall_provider`'s
//! counters (a library it does not link to) through the VM, by module and name.

use oxbeam::resource::{dynamic_call, dynamic_call_raw, DynCall, DynCallData};
use oxbeam::{nif, Env, ResourceArc, Term};

/// The provider's call data, declared again here: the same fields, the same tag.
#[repr(C)]
pub struct CounterCall {
    pub op: u32,
    pub amount: i64,
    pub result: i64,
}

// SAFETY: #[repr(C)] of a u32 and two i64s; the provider's type with this tag declares
// the same fields in the same order.
unsafe impl DynCallData for CounterCall {
    const TAG: &'static str = "oxbeam_test.counter_call/1";
}

/// Another call data type, which the provider does not expect.
#[repr(C)]
pub struct OtherCall {
    pub value: u64,
}

// SAFETY: #[repr(C)] of a u64; no other library declares this tag differently.
unsafe impl DynCallData for OtherCall {
    const TAG: &'static str = "oxbeam_test.other_call/1";
}

const ADD: u32 = 1;
const READ: u32 = 2;
const PANIC: u32 = 3;

fn call<'a>(
    env: Env<'a>,
    module: &str,
    name: &str,
    term: Term<'a>,
    op: u32,
    amount: i64,
) -> oxbeam::Result<i64> {
    let mut call = CounterCall {
        op,
        amount,
        result: 0,
    };
    dynamic_call(env, module, name, term, &mut call)?;
    Ok(call.result)
}

/// Adds `amount` to the counter `term` through its dynamic call: the new value.
#[nif]
fn add<'a>(
    env: Env<'a>,
    module: String,
    name: String,
    term: Term<'a>,
    amount: i64,
) -> oxbeam::Result<i64> {
    call(env, &module, &name, term, ADD, amount)
}

#[nif]
fn read<'a>(env: Env<'a>, module: String, name: String, term: Term<'a>) -> oxbeam::Result<i64> {
    call(env, &module, &name, term, READ, 0)
}

/// Asks the provider's callback to panic.
#[nif]
fn ask_to_panic<'a>(
    env: Env<'a>,
    module: String,
    name: String,
    term: Term<'a>,
) -> oxbeam::Result<i64> {
    call(env, &module, &name, term, PANIC, 7)
}

/// Passes call data of another type.
#[nif]
fn call_with_other_data<'a>(
    env: Env<'a>,
    module: String,
    name: String,
    term: Term<'a>,
) -> oxbeam::Result<u64> {
    let mut other = OtherCall { value: 1 };
    dynamic_call(env, &module, &name, term, &mut other)?;
    Ok(other.value)
}

/// Passes 128 zero bytes, not an oxbeam call frame, through the raw call: whether the
/// VM ran the provider's callback.
#[nif]
fn call_raw_with_zeros<'a>(env: Env<'a>, module: String, name: String, term: Term<'a>) -> bool {
    let mut zeros = [0u64; 16];
    // SAFETY: the test calls this only on tests/dyncall_provider's counters, whose
    // (oxbeam) callback reads the first 8 bytes of its call data, finds no frame there,
    // and returns; the array is aligned for u64 and lives for the call.
    unsafe { dynamic_call_raw(env, &module, &name, term, zeros.as_mut_ptr().cast()) }.is_ok()
}

/// The call frame as docs/nifs.md documents it for callers in C, built by hand.
#[repr(C)]
struct HandBuiltFrame {
    magic: u64,
    tag: *const u8,
    tag_len: usize,
    size: usize,
    align: usize,
    data: *mut std::ffi::c_void,
    provider_tag: *const u8,
    provider_tag_len: usize,
    provider_size: usize,
    provider_align: usize,
    status: u32,
}

/// Adds `amount` through a frame built by hand, with `tag` (NULL for `nil`): the
/// frame's status, the provider's tag if it wrote one, and the counter's new value.
#[nif]
fn add_with_hand_built_frame<'a>(
    env: Env<'a>,
    module: String,
    name: String,
    term: Term<'a>,
    tag: Option<String>,
    amount: i64,
) -> oxbeam::Result<(u32, Option<String>, i64)> {
    let mut call = CounterCall {
        op: ADD,
        amount,
        result: 0,
    };
    let mut frame = HandBuiltFrame {
        magic: u64::from_le_bytes(*b"OXBDYNC1"),
        tag: tag.as_ref().map_or(std::ptr::null(), |tag| tag.as_ptr()),
        tag_len: tag.as_ref().map_or(0, |tag| tag.len()),
        size: std::mem::size_of::<CounterCall>(),
        align: std::mem::align_of::<CounterCall>(),
        data: (&mut call as *mut CounterCall).cast(),
        provider_tag: std::ptr::null(),
        provider_tag_len: 0,
        provider_size: 0,
        provider_align: 0,
        status: 0,
    };
    // SAFETY: the test calls this on tests/dyncall_provider's counters, whose callback
    // reads an oxbeam frame, which this is (the documented layout); the tag, the frame
    // and the call data live for the call.
    unsafe {
        dynamic_call_raw(
            env,
            &module,
            &name,
            term,
            (&mut frame as *mut HandBuiltFrame).cast(),
        )
    }?;
    let provider_tag = (!frame.provider_tag.is_null()).then(|| {
        // SAFETY: the provider wrote its static tag of `provider_tag_len` bytes.
        let bytes =
            unsafe { std::slice::from_raw_parts(frame.provider_tag, frame.provider_tag_len) };
        String::from_utf8_lossy(bytes).into_owned()
    });
    Ok((frame.status, provider_tag, call.result))
}

/// A type of this library under the provider's name: a name is per module.
#[oxbeam::resource(name = "oxbeam_test.counter", dyncall)]
pub struct Mirror;

impl DynCall for Mirror {
    type Data = CounterCall;

    fn dyncall<'a>(&self, _env: Env<'a>, call: &mut CounterCall) {
        call.result = -call.amount;
    }
}

#[nif]
fn new_mirror() -> ResourceArc<Mirror> {
    ResourceArc::new(Mirror)
}

oxbeam::init!("Elixir.Oxbeam.Test.DynConsumer");
