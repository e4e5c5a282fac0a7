//! Console output: `print` and the `println!` macro over the board's byte sink.

use core::fmt::{self, Write};

/// A `fmt::Write` over the board console.
pub struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        crate::board::write_str(s);
        Ok(())
    }
}

/// Write `s` to the console.
pub fn print(s: &str) {
    crate::board::write_str(s);
}

/// Write formatted text and a newline to the console.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::console::Console, $($arg)*);
    }};
}
