//! The UI tests of `#[derive(SessionStore)]` that must fail: every misuse
//! in `ui/fail` fails with the message blessed in its `.stderr`. The forms
//! that must compile are the `ui_pass` test (`ui/pass.rs`), a crate of its
//! own built with cargo's other targets rather than by trybuild, which
//! would build every dependency again, twice, to build and run it.
//!
//! The `.stderr` files depend on the compiler's wording; they were blessed
//! with the toolchain pinned in `rust-toolchain.toml`. After a deliberate
//! change to a message, re-bless them with
//! `TRYBUILD=overwrite cargo test -p session-tests --test suite ui::` and read the
//! diff.

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("ui/fail/*.rs");
}
