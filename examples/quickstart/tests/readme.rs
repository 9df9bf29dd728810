//! The README's quickstart is this crate's `src/main.rs`, verbatim.

#[test]
fn the_readme_shows_main_rs_verbatim() {
    let readme = include_str!("../../../README.md");
    let main = include_str!("../src/main.rs");
    assert!(
        readme.contains(&format!("```rust\n{main}```\n")),
        "README.md's quickstart block must be examples/quickstart/src/main.rs exactly; \
         copy the file into the README's ```rust block"
    );
}
