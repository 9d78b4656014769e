//! Expansion snapshots: what `#[sketch]` and `#[reactive]` turn each
//! `tests/expand/*.rs` into, compared with the reviewed `*.expanded.rs` beside it
//! (through `cargo expand`, which the test command installs when missing).
//! After changing the glue on purpose, refresh them with
//! `MACROTEST=overwrite cargo test -p sketches --test expand` and review the diff.

#[test]
fn expansions_match_their_snapshots() {
    if std::env::var_os("MACROTEST").is_some() {
        // Writes missing snapshots, and with MACROTEST=overwrite refreshes them.
        macrotest::expand("../tests/expand/*.rs");
    } else {
        // CI: a missing or different snapshot fails.
        macrotest::expand_without_refresh("../tests/expand/*.rs");
    }
}
