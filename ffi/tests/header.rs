//! The committed `include/ftforest.h` must be exactly what the pinned cbindgen generates from
//! this crate; run `scripts/gen-header.sh` (= this test with `FTF_BLESS_HEADER=1`) to update it.
//! Also checks the header's version macros against `Cargo.toml`.
#![cfg(not(miri))] // cbindgen runs `cargo metadata` and parses sources: nothing for Miri here.
#![allow(clippy::std_instead_of_core)] // std-only test code

use std::path::PathBuf;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn header_path() -> PathBuf {
    crate_dir().join("..").join("include").join("ftforest.h")
}

fn generate() -> String {
    let dir = crate_dir();
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("reading ffi/cbindgen.toml: {e}"));
    let bindings = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen failed: {e}"));
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).unwrap_or_else(|e| panic!("cbindgen produced non-UTF-8: {e}"))
}

#[test]
fn header_is_up_to_date() {
    let generated = generate();
    let path = header_path();
    if std::env::var_os("FTF_BLESS_HEADER").is_some() {
        std::fs::write(&path, &generated)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/ftforest.h is stale (or missing): run scripts/gen-header.sh and commit it"
    );
}

fn define(header: &str, name: &str) -> Option<String> {
    header.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("#define ")?;
        let (n, v) = rest.split_once(char::is_whitespace)?;
        (n == name).then(|| v.trim().to_string())
    })
}

#[test]
fn header_version_macros_match_cargo() {
    let header = std::fs::read_to_string(header_path()).unwrap_or_default();
    let expect = [
        ("FTF_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("FTF_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("FTF_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ];
    for (name, want) in expect {
        assert_eq!(
            define(&header, name).as_deref(),
            Some(want),
            "{name} in include/ftforest.h (from ffi/cbindgen.toml after_includes) must equal Cargo.toml's version"
        );
    }
    // The packing must put each component in its own byte (rustls-ffi once shifted MINOR twice).
    assert_eq!(
        define(&header, "FTF_VERSION_NUMBER").as_deref(),
        Some("((FTF_VERSION_MAJOR << 16) | (FTF_VERSION_MINOR << 8) | FTF_VERSION_PATCH)")
    );
    assert_eq!(
        ftforest::version::VERSION_NUMBER,
        ftforest::version::ftf_version_number()
    );
}
