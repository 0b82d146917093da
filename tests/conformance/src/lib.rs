//! The conformance NIF library: loaded into `Oxbeam.Test.Conformance` by the ExUnit
//! suites. Each module here pairs with one test file in `elixir/test/nif/`.

mod atoms;
mod basics;
mod errors;
mod resources;
mod schedule;
mod types;

/// What the library was loaded with (`load_data:` of `use Oxbeam`), kept as its
/// private data.
pub struct LoadedWith {
    pub greeting: String,
}

/// The load hook: decodes the load info (a typed argument) into private data.
fn load(_env: oxbeam::Env<'_>, info: (oxbeam::Atom, String)) -> oxbeam::Result<LoadedWith> {
    let (_tag, greeting) = info;
    Ok(LoadedWith { greeting })
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
