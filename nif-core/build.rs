//! The `enif_*` functions are provided by the Erlang VM when it loads a NIF library,
//! so a test executable of this crate has nothing to link them against. Unit tests
//! never call them (what needs a VM is tested through a real BEAM in `elixir/test`);
//! let the executables this package links (its unit tests) leave those symbols
//! unresolved. Link arguments of a library are not passed on to crates using it.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo::rustc-link-arg=-Wl,--unresolved-symbols=ignore-all");
    }
}
