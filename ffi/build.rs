//! Sets the ELF soname of `libftforest.so` from the crate version.
//!
//! Invariants: the soname names the ABI, not the release. For `MAJOR >= 1` it is
//! `libftforest.so.MAJOR`; for `0.MINOR.PATCH` it is `libftforest.so.0.MINOR`, because under
//! semver (and Cargo) a 0.x minor bump is breaking. Only ELF targets get it (Linux here, the
//! OS `make install` targets); elsewhere the cdylib is linked as rustc does by default.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "linux" {
        return;
    }
    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    let minor = env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_default();
    let abi = if major == "0" {
        format!("0.{minor}")
    } else {
        major
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libftforest.so.{abi}");
}
