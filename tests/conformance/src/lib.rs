//! The conformance NIF library: loaded into `Oxbeam.Test.Conformance` by the ExUnit
//! suites. Each module here pairs with one test file in `elixir/test/nif/`.

mod alloc;
mod atoms;
mod basics;
mod derives;
mod errors;
mod fine;
mod inspect;
mod resources;
mod rust_tests;
mod rustler;
mod schedule;
mod serde;
mod soundness;
mod types;

/// What the library was loaded with (`load_data:` of `use Oxbeam`), kept as its
/// private data.
pub struct LoadedWith {
    pub greeting: String,
    /// Set by `arm_private_data_drop_panic/0`: dropping the data (on unload) panics.
    panic_on_drop: std::sync::atomic::AtomicBool,
}

impl Drop for LoadedWith {
    fn drop(&mut self) {
        if self
            .panic_on_drop
            .load(std::sync::atomic::Ordering::Acquire)
        {
            panic!("boom dropping the private data");
        }
    }
}

mod load_atoms {
    oxbeam::atoms! { raise_in_load, panic_in_load }
}

/// The load hook: decodes the load info (a typed argument) into private data. The
/// tags `:raise_in_load` and `:panic_in_load` make it fail that way, with the text as
/// the message (tests of how a failed load is reported).
fn load(_env: oxbeam::Env<'_>, info: (oxbeam::Atom, String)) -> oxbeam::Result<LoadedWith> {
    let (tag, greeting) = info;
    if tag == load_atoms::raise_in_load() {
        oxbeam::raise(oxbeam::Error::runtime_error(greeting));
    }
    if tag == load_atoms::panic_in_load() {
        panic!("{greeting}");
    }
    Ok(LoadedWith {
        greeting,
        panic_on_drop: false.into(),
    })
}

/// Makes the private data's `Drop` panic when the library is unloaded.
#[oxbeam::nif]
fn arm_private_data_drop_panic(env: oxbeam::Env<'_>) -> bool {
    env.priv_data::<LoadedWith>()
        .map(|data| {
            data.panic_on_drop
                .store(true, std::sync::atomic::Ordering::Release)
        })
        .is_some()
}

/// Reads the private data the load hook returned.
#[oxbeam::nif]
fn loaded_greeting(env: oxbeam::Env<'_>) -> Option<String> {
    env.priv_data::<LoadedWith>()
        .map(|data| data.greeting.clone())
}

/// The unload hook: leaves a trace the upgrade test can see (the file named by
/// `OXBEAM_TEST_UNLOAD_MARKER`, when set).
fn unload() {
    if let Some(path) = oxbeam::env::getenv("OXBEAM_TEST_UNLOAD_MARKER") {
        let _ = std::fs::write(path, "unloaded");
    }
}

oxbeam::init!(
    "Elixir.Oxbeam.Test.Conformance",
    load = load,
    unload = unload
);
