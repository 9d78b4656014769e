//! Compile-fail tests: each misuse of `#[sketch]` / `#[reactive]` in `tests/ui/`
//! must fail with the message in its `.stderr`, pointing at the token to change.
//! Refresh the expected output with `TRYBUILD=overwrite cargo test -p sketches --test ui`.

#[test]
fn misuse_is_a_clear_compile_error() {
    trybuild::TestCases::new().compile_fail("../tests/ui/*.rs");
}
