//! The file plumbing both tokenizers share: their formats are UTF-8 text,
//! saved atomically, and a malformed file's error names the file.

use super::TextError;

/// `bytes` as UTF-8 text; otherwise [`TextError::Malformed`] for `what`.
pub(crate) fn utf8_text<'a>(bytes: &'a [u8], what: &'static str) -> Result<&'a str, TextError> {
    core::str::from_utf8(bytes).map_err(|e| TextError::Malformed {
        what,
        line: 0,
        message: alloc::format!("not UTF-8 text (byte {})", e.valid_up_to()),
    })
}

/// Write `text` to `path`, replacing the file atomically.
#[cfg(feature = "std")]
pub(crate) fn save_text(path: &std::path::Path, text: &str) -> Result<(), TextError> {
    crate::io::write_atomic(path, |w| w.write_all(text.as_bytes()))
        .map_err(|e| TextError::io(path, e))
}

/// Read `path` and parse its bytes; a malformed file's message gains the
/// path.
#[cfg(feature = "std")]
pub(crate) fn load_with<T>(
    path: &std::path::Path,
    parse: impl FnOnce(&[u8]) -> Result<T, TextError>,
) -> Result<T, TextError> {
    let bytes = std::fs::read(path).map_err(|e| TextError::io(path, e))?;
    parse(&bytes).map_err(|e| match e {
        TextError::Malformed {
            what,
            line,
            message,
        } => TextError::Malformed {
            what,
            line,
            message: alloc::format!("{message} (in {})", path.display()),
        },
        e => e,
    })
}
