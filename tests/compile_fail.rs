//! Shape errors and `#[derive(Module)]` misuse are compile errors with
//! readable messages. Each case in
//! `tests/compile_fail/` has its expected rustc output checked in beside it
//! (`.stderr`): the messages are part of the product. Regenerate with
//! `TRYBUILD=overwrite cargo test --test compile_fail` and review the diff.

#[test]
fn shape_errors_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail/*.rs");
}
