//! What safe code must not be able to write, pinned as compile errors with their exact
//! messages in `compile_fail/*.stderr` (regenerate with
//! `TRYBUILD=overwrite cargo test --workspace --test compile_fail`: the lists of
//! implementors rustc prints depend on the features the workspace enables): auto traits that
//! would let a value cross threads unsoundly, continuations that could end up inside a
//! term, and handles that could be forged without `unsafe`.

#[test]
fn unsound_uses_are_compile_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile_fail/*.rs");
}
