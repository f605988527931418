//! The error of tokenizers and token streams.

use alloc::string::String;
use core::fmt;

/// What went wrong in a tokenizer or a token stream. Loaders return it for
/// any malformed file (they never panic); the message names the offending
/// value and the limit it broke.
///
/// ```
/// use typegrad::text::{Bpe, TextError};
/// let bpe = Bpe::train("abab", 257);
/// assert_eq!(bpe.decode(&[300]).unwrap_err(), TextError::IdOutOfRange { id: 300, vocab_size: 257 });
/// assert_eq!(
///     bpe.decode(&[300]).unwrap_err().to_string(),
///     "token id 300 out of range for a vocabulary of 257 tokens"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextError {
    /// A token id not below the vocabulary size.
    IdOutOfRange {
        /// The id.
        id: usize,
        /// The vocabulary size.
        vocab_size: usize,
    },
    /// Decoded bytes that are not valid UTF-8 (a sampled sequence that
    /// stops inside a multi-byte character, say).
    InvalidUtf8 {
        /// Byte offset of the first invalid sequence in the decoded bytes.
        offset: usize,
    },
    /// A character that is not in a character tokenizer's vocabulary.
    UnknownChar {
        /// The character.
        ch: char,
        /// Its byte offset in the text.
        offset: usize,
    },
    /// A BPE vocabulary smaller than the 256 byte tokens it starts from.
    VocabTooSmall {
        /// The size asked for.
        requested: usize,
    },
    /// A saved tokenizer that cannot be read.
    Malformed {
        /// Which format (`"BPE"`, `"char tokenizer"`).
        what: &'static str,
        /// 1-based line number (0: the file as a whole).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A token stream too short for one window of the requested length.
    TooFewTokens {
        /// Tokens available.
        got: usize,
        /// Tokens one window needs (its length plus the shifted target).
        needed: usize,
    },
    /// An I/O error (opening, reading or writing a file).
    Io {
        /// The file.
        path: String,
        /// The operating system's message.
        message: String,
    },
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::IdOutOfRange { id, vocab_size } => write!(
                f,
                "token id {id} out of range for a vocabulary of {vocab_size} tokens"
            ),
            TextError::InvalidUtf8 { offset } => write!(
                f,
                "the decoded bytes are not valid UTF-8 at byte {offset} (use decode_lossy to replace invalid sequences)"
            ),
            TextError::UnknownChar { ch, offset } => write!(
                f,
                "character {ch:?} (U+{:04X}) at byte {offset} is not in the vocabulary",
                *ch as u32
            ),
            TextError::VocabTooSmall { requested } => write!(
                f,
                "BPE: a vocabulary of {requested} tokens is smaller than the 256 byte tokens it starts from"
            ),
            TextError::Malformed { what, line: 0, message } => write!(f, "{what} file: {message}"),
            TextError::Malformed { what, line, message } => {
                write!(f, "{what} file, line {line}: {message}")
            }
            TextError::TooFewTokens { got, needed } => write!(
                f,
                "token stream of {got} tokens is too short for a window of {needed} (block size + 1)"
            ),
            TextError::Io { path, message } => write!(f, "{path}: {message}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TextError {}

#[cfg(feature = "std")]
impl TextError {
    pub(crate) fn io(path: &std::path::Path, e: std::io::Error) -> Self {
        TextError::Io {
            path: alloc::format!("{}", path.display()),
            message: alloc::format!("{e}"),
        }
    }
}
