//! Output through semihosting, one host write per line: each line is
//! formatted into a buffer on the stack first (no heap, so printing does not
//! move the heap figures).

use core::fmt::{self, Write};
use cortex_m_semihosting::hio::{self, HostStream};

/// The host's stdout.
pub struct Out {
    stream: Option<HostStream>,
}

struct Line {
    buf: [u8; 512],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // A line longer than the buffer is cut, never a failure.
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

impl Out {
    /// Open the host's stdout (QEMU's, with `-semihosting-config
    /// enable=on,target=native`).
    pub fn open() -> Self {
        Out {
            stream: hio::hstdout().ok(),
        }
    }

    /// Print one line.
    pub fn line(&mut self, args: fmt::Arguments<'_>) {
        let mut line = Line {
            buf: [0; 512],
            len: 0,
        };
        let _ = line.write_fmt(args);
        let _ = line.write_str("\n");
        if let Some(s) = self.stream.as_mut() {
            let _ = s.write_all(&line.buf[..line.len]);
        }
    }
}

/// `outln!(out, "format", args...)`: print one line.
macro_rules! outln {
    ($out:expr, $($arg:tt)*) => {
        $out.line(format_args!($($arg)*))
    };
}
