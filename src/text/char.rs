//! A character-level tokenizer: one token per distinct character.

use super::bpe::parse_decimal;
use super::TextError;
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;

/// The first line of a saved character tokenizer.
const HEADER: &str = "typegrad-char 1";

/// One token per character of a vocabulary: [`CharTokenizer::from_text`]
/// takes the distinct characters of a text, sorted by code point (the
/// vocabulary of a character-level GPT).
///
/// ```
/// use typegrad::text::CharTokenizer;
/// let tok = CharTokenizer::from_text("hello world");
/// assert_eq!(tok.vocab_size(), 8); // ' ', d, e, h, l, o, r, w
/// let ids = tok.encode("hold").unwrap();
/// assert_eq!(ids, vec![3, 5, 4, 1]);
/// assert_eq!(tok.decode(&ids).unwrap(), "hold");
/// assert!(tok.encode("hi").is_err()); // 'i' is not in the vocabulary
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CharTokenizer {
    chars: Vec<char>,
    ids: BTreeMap<char, usize>,
    /// Ids of the ASCII characters (`usize::MAX`: none), the common case.
    ascii: [usize; 128],
}

impl CharTokenizer {
    /// The distinct characters of `text`, sorted, as the vocabulary.
    pub fn from_text(text: &str) -> Self {
        let mut seen = [false; 128];
        let mut other = alloc::collections::BTreeSet::new();
        for c in text.chars() {
            if c.is_ascii() {
                seen[c as usize] = true;
            } else {
                other.insert(c);
            }
        }
        let chars = (0u8..128)
            .filter(|&b| seen[b as usize])
            .map(char::from)
            .chain(other)
            .collect();
        Self::from_chars_unchecked(chars)
    }

    /// A vocabulary of the given characters in this order (token `i` is
    /// `chars[i]`). A character given twice is [`TextError::Malformed`].
    ///
    /// ```
    /// use typegrad::text::CharTokenizer;
    /// let tok = CharTokenizer::from_chars(vec!['b', 'a']).unwrap();
    /// assert_eq!(tok.encode("ab").unwrap(), vec![1, 0]);
    /// assert!(CharTokenizer::from_chars(vec!['a', 'a']).is_err());
    /// ```
    pub fn from_chars(chars: Vec<char>) -> Result<Self, TextError> {
        let mut seen = BTreeMap::new();
        for (i, &c) in chars.iter().enumerate() {
            if let Some(j) = seen.insert(c, i) {
                return Err(TextError::Malformed {
                    what: "char tokenizer",
                    line: 0,
                    message: alloc::format!("character {c:?} is both token {j} and token {i}"),
                });
            }
        }
        Ok(Self::from_chars_unchecked(chars))
    }

    fn from_chars_unchecked(chars: Vec<char>) -> Self {
        let mut ascii = [usize::MAX; 128];
        let mut ids = BTreeMap::new();
        for (i, &c) in chars.iter().enumerate() {
            if c.is_ascii() {
                ascii[c as usize] = i;
            }
            ids.insert(c, i);
        }
        CharTokenizer { chars, ids, ascii }
    }

    /// The number of tokens (distinct characters).
    pub fn vocab_size(&self) -> usize {
        self.chars.len()
    }

    /// The characters, token `i` at index `i`.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// The token ids of `text`; a character outside the vocabulary is
    /// [`TextError::UnknownChar`] with its byte offset.
    pub fn encode(&self, text: &str) -> Result<Vec<usize>, TextError> {
        let mut out = Vec::with_capacity(text.len());
        for (offset, ch) in text.char_indices() {
            let id = if ch.is_ascii() {
                Some(self.ascii[ch as usize]).filter(|&i| i != usize::MAX)
            } else {
                self.ids.get(&ch).copied()
            };
            out.push(id.ok_or(TextError::UnknownChar { ch, offset })?);
        }
        Ok(out)
    }

    /// The text of the tokens `ids`; an id past the vocabulary is
    /// [`TextError::IdOutOfRange`].
    ///
    /// ```
    /// use typegrad::text::CharTokenizer;
    /// let tok = CharTokenizer::from_text("ab");
    /// assert_eq!(tok.decode(&[1, 0]).unwrap(), "ba");
    /// assert_eq!(tok.decode(&[2]).unwrap_err().to_string(), "token id 2 out of range for a vocabulary of 2 tokens");
    /// ```
    pub fn decode(&self, ids: &[usize]) -> Result<String, TextError> {
        ids.iter()
            .map(|&id| {
                self.chars.get(id).copied().ok_or(TextError::IdOutOfRange {
                    id,
                    vocab_size: self.chars.len(),
                })
            })
            .collect()
    }

    /// The saved form: the line `typegrad-char 1`, then one line per token,
    /// its character's code point in decimal (so newlines and spaces need
    /// no escaping).
    ///
    /// ```
    /// use typegrad::text::CharTokenizer;
    /// let tok = CharTokenizer::from_text("a\n");
    /// assert_eq!(tok.to_text(), "typegrad-char 1\n10\n97\n");
    /// assert_eq!(CharTokenizer::parse(&tok.to_text()).unwrap(), tok);
    /// ```
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(16 + 6 * self.chars.len());
        let _ = writeln!(s, "{HEADER}");
        for &c in &self.chars {
            let _ = writeln!(s, "{}", c as u32);
        }
        s
    }

    /// Read the saved form ([`CharTokenizer::to_text`]). Another header, a
    /// line that is not a decimal Unicode scalar value, or a character
    /// given twice is [`TextError::Malformed`] naming the line; never a
    /// panic.
    ///
    /// ```
    /// use typegrad::text::CharTokenizer;
    /// let err = CharTokenizer::parse("typegrad-char 1\n97\n55296\n").unwrap_err();
    /// assert_eq!(err.to_string(), "char tokenizer file, line 3: 55296 is not a Unicode scalar value");
    /// ```
    pub fn parse(text: &str) -> Result<Self, TextError> {
        let bad = |line: usize, message: String| TextError::Malformed {
            what: "char tokenizer",
            line,
            message,
        };
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(bad(1, alloc::format!("expected the header {HEADER:?}")));
        }
        let mut chars = Vec::new();
        let mut seen = BTreeMap::new();
        for (k, line) in lines.enumerate() {
            let no = k + 2;
            let v = parse_decimal(line)
                .ok_or_else(|| bad(no, "expected a code point in decimal".to_string()))?;
            let c = u32::try_from(v)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| bad(no, alloc::format!("{v} is not a Unicode scalar value")))?;
            if let Some(j) = seen.insert(c, k) {
                return Err(bad(no, alloc::format!("character {c:?} repeats token {j}")));
            }
            chars.push(c);
        }
        Ok(Self::from_chars_unchecked(chars))
    }

    /// [`CharTokenizer::parse`] of raw bytes (a file's contents): bytes
    /// that are not UTF-8 are [`TextError::Malformed`].
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, TextError> {
        Self::parse(super::file::utf8_text(bytes, "char tokenizer")?)
    }

    /// Save to `path` ([`CharTokenizer::to_text`]), replacing the file
    /// atomically.
    ///
    /// ```
    /// use typegrad::text::CharTokenizer;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("chars.txt");
    /// let tok = CharTokenizer::from_text("To be, or not to be");
    /// tok.save(&path).unwrap();
    /// assert_eq!(CharTokenizer::load(&path).unwrap(), tok);
    /// ```
    #[cfg(feature = "std")]
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<(), TextError> {
        super::file::save_text(path.as_ref(), &self.to_text())
    }

    /// Load a file written by [`CharTokenizer::save`].
    #[cfg(feature = "std")]
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self, TextError> {
        super::file::load_with(path.as_ref(), Self::parse_bytes)
    }
}
