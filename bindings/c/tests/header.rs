//! `include/tensorc.h` is what cbindgen generates from the crate now: the test fails when
//! the committed header is stale. `TENSORC_BLESS=1 cargo test -p tensorc-capi --test
//! header` writes the fresh one.

use std::path::Path;

#[test]
fn the_committed_header_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);
    let fresh = String::from_utf8(fresh).expect("the header is UTF-8");
    let path = dir.join("include/tensorc.h");
    if std::env::var_os("TENSORC_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("writes include/tensorc.h");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "bindings/c/include/tensorc.h is stale; regenerate it with TENSORC_BLESS=1 cargo test -p tensorc-capi --test header"
    );
    // The contract's names are all there.
    for name in [
        "tc_last_error",
        "tc_session_new",
        "tc_compile_file",
        "tc_compile_source",
        "tc_tensor_new",
        "tc_tensor_dtype",
        "tc_tensor_rank",
        "tc_tensor_shape",
        "tc_tensor_data",
        "tc_tensor_nbytes",
        "tc_call",
        "tc_outputs_free",
        "tc_tensor_free",
        "tc_module_free",
        "tc_session_free",
        "TC_ERR_COMPILE",
        "TC_BOOL",
    ] {
        assert!(fresh.contains(name), "the header lacks {name}");
    }
}
