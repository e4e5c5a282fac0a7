//! Library version: a static string and a packed number, both derived from `Cargo.toml`.
//!
//! The header carries the same version as `FTF_VERSION_MAJOR/MINOR/PATCH` and
//! `FTF_VERSION_NUMBER` (from `ffi/cbindgen.toml`'s `after_includes`); `tests/version.rs`
//! fails when they disagree with `CARGO_PKG_VERSION`, so a C program can compare the header it
//! was compiled against (`FTF_VERSION_NUMBER`) with the library it runs against
//! (`ftf_version_number()`).

use core::ffi::c_char;

use crate::panic::ffi_panic_boundary;

/// `"ftforest/<major>.<minor>.<patch>"`, NUL-terminated.
const VERSION: &str = concat!("ftforest/", env!("CARGO_PKG_VERSION"), "\0");

/// Parses a decimal version component at compile time (`0` when empty).
const fn parse_component(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n: u32 = 0;
    while i < b.len() {
        let d = b[i];
        if d < b'0' || d > b'9' {
            break;
        }
        n = n * 10 + (d - b'0') as u32;
        i += 1;
    }
    n
}

/// `major << 16 | minor << 8 | patch`, the same packing as the header's `FTF_VERSION_NUMBER`.
pub const VERSION_NUMBER: u32 = (parse_component(env!("CARGO_PKG_VERSION_MAJOR")) << 16)
    | (parse_component(env!("CARGO_PKG_VERSION_MINOR")) << 8)
    | parse_component(env!("CARGO_PKG_VERSION_PATCH"));

/// The library's version as a static NUL-terminated string `"ftforest/MAJOR.MINOR.PATCH"`.
///
/// Never NULL; must not be freed. Thread-safe.
#[no_mangle]
pub extern "C" fn ftf_version() -> *const c_char {
    ffi_panic_boundary! {
        VERSION.as_ptr().cast::<c_char>()
    }
}

/// The library's version packed as `MAJOR << 16 | MINOR << 8 | PATCH`, to compare with the
/// header's `FTF_VERSION_NUMBER` at run time. Thread-safe.
#[no_mangle]
pub extern "C" fn ftf_version_number() -> u32 {
    ffi_panic_boundary! {
        VERSION_NUMBER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_string_matches_cargo() {
        // SAFETY: ftf_version returns a static NUL-terminated string.
        let s = unsafe { core::ffi::CStr::from_ptr(ftf_version()) };
        assert_eq!(
            s.to_str().ok(),
            Some(concat!("ftforest/", env!("CARGO_PKG_VERSION")))
        );
        let parts: Vec<u32> = env!("CARGO_PKG_VERSION")
            .split('.')
            .map(|p| p.parse().unwrap_or(0))
            .collect();
        assert_eq!(
            ftf_version_number(),
            (parts[0] << 16) | (parts[1] << 8) | parts[2]
        );
    }
}
