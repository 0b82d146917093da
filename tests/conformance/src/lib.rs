//! The conformance NIF library: loaded into `Oxbeam.Test.Conformance` by the ExUnit
//! suites. Each module here pairs with one test file in `elixir/test/nif/`.

mod basics;
mod errors;
mod resources;
mod types;

oxbeam::init!("Elixir.Oxbeam.Test.Conformance");
