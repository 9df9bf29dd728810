//! The UI tests of `#[derive(SessionStore)]`: every supported form compiles
//! and runs (`ui/pass.rs`, a crate with a module per file of `ui/pass/`),
//! and every misuse fails with the message blessed in its `.stderr`
//! (`ui/fail`).
//!
//! The `.stderr` files depend on the compiler's wording; they were blessed
//! with the toolchain pinned in `rust-toolchain.toml`. After a deliberate
//! change to a message, re-bless them with
//! `TRYBUILD=overwrite cargo test -p session-tests --test suite ui::` and read the
//! diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass.rs");
    t.compile_fail("ui/fail/*.rs");
}
