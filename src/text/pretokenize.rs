//! Splitting text into chunks that BPE merges never cross (GPT-2's rule,
//! simplified): a word with its leading space, a run of digits, a run of
//! other symbols, or a run of whitespace. Every byte of the text is in
//! exactly one chunk, in order, so encoding chunk by chunk round-trips.

#[derive(Copy, Clone, PartialEq, Eq)]
enum Class {
    Letter,
    Number,
    Space,
    Other,
}

fn class(c: char) -> Class {
    if c.is_alphabetic() {
        Class::Letter
    } else if c.is_numeric() {
        Class::Number
    } else if c.is_whitespace() {
        Class::Space
    } else {
        Class::Other
    }
}

/// The chunks of `text`, in order; their concatenation is `text`.
///
/// - `" ?"` + a run of letters, of digits, or of other symbols (the
///   leading space, if any, belongs to the word: `" the"`);
/// - a run of whitespace; when it is followed by a word and ends in a
///   space, that last space goes to the word instead.
pub(crate) fn chunks(text: &str) -> Chunks<'_> {
    Chunks { rest: text }
}

pub(crate) struct Chunks<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest;
        let mut it = s.char_indices().peekable();
        let (_, c0) = it.next()?;
        let end = if c0 == ' ' && it.peek().is_some_and(|&(_, c)| class(c) != Class::Space) {
            // A word with its leading space.
            let (_, c1) = it.next().unwrap_or((0, ' '));
            let k = class(c1);
            run_end(s, 1 + c1.len_utf8(), k)
        } else if class(c0) == Class::Space {
            let end = run_end(s, c0.len_utf8(), Class::Space);
            let followed = end < s.len();
            // Leave a final space to the word that follows.
            if followed && end - 1 > 0 && s.as_bytes()[end - 1] == b' ' {
                end - 1
            } else {
                end
            }
        } else {
            run_end(s, c0.len_utf8(), class(c0))
        };
        self.rest = &s[end..];
        Some(&s[..end])
    }
}

/// The end of the run of class `k` that starts before byte `from`.
fn run_end(s: &str, from: usize, k: Class) -> usize {
    s[from..]
        .char_indices()
        .find(|&(_, c)| class(c) != k)
        .map_or(s.len(), |(i, _)| from + i)
}

#[cfg(test)]
mod tests {
    use super::chunks;
    use alloc::vec::Vec;

    #[test]
    fn splits_like_gpt2_and_covers_the_text() {
        let text = "Hello world,  it's 2024!\n\nOK  \n";
        let c: Vec<&str> = chunks(text).collect();
        assert_eq!(
            c,
            ["Hello", " world", ",", " ", " it", "'", "s", " 2024", "!", "\n\n", "OK", "  \n"]
        );
        assert_eq!(c.concat(), text);
        assert_eq!(chunks("").count(), 0);
        assert_eq!(chunks(" ").collect::<Vec<_>>(), [" "]);
        assert_eq!(chunks("é ü").collect::<Vec<_>>(), ["é", " ü"]);
    }
}
