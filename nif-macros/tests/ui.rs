//! Compile errors of `#[nif]` and `init!` misuse, with their exact messages in
//! `ui/*.stderr` (regenerate with `TRYBUILD=overwrite cargo test --workspace --test ui`: the lists of
//! implementors rustc prints depend on the features the workspace enables).

#[test]
fn misuse_is_a_compile_error() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
