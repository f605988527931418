//! Byte-pair encoding (book 3.2): merges learned on a corpus, starting from
//! the 256 byte values, so any UTF-8 text (any byte string, in fact) is
//! encoded and decoded back exactly.

use super::pretokenize::chunks;
use super::TextError;
use alloc::collections::{BTreeMap, BinaryHeap};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::fmt::Write;

/// The first line of a saved BPE file.
const HEADER: &str = "typegrad-bpe 1";

/// A byte-pair encoder: ids `0..256` are the byte values, id `256 + k` is
/// the `k`-th learned merge of two earlier tokens.
///
/// **Training** ([`Bpe::train`]) splits the corpus into chunks (a word with
/// its leading space, a run of digits, of other symbols, or of whitespace;
/// GPT-2's rule without its special cases for English contractions) so
/// that no merge crosses a word boundary, then repeatedly merges the most
/// frequent adjacent pair of tokens. Ties go to the smallest pair `(left id,
/// right id)`, so training is deterministic. Pair counts are kept per
/// distinct chunk and updated incrementally: a merge only revisits the
/// chunks that contain its pair.
///
/// **Encoding** applies the merges to each chunk in the order they were
/// learned (lowest rank first), which reproduces the training segmentation.
/// **Decoding** concatenates the tokens' bytes: [`Bpe::decode`] errors if
/// they are not valid UTF-8 (a sampled sequence can stop inside a
/// character), [`Bpe::decode_lossy`] replaces invalid sequences with
/// U+FFFD, [`Bpe::decode_bytes`] returns the raw bytes.
///
/// ```
/// use typegrad::text::Bpe;
/// let corpus = "the cat sat on the mat; the cat ate the rat";
/// let bpe = Bpe::train(corpus, 256 + 10);
/// assert_eq!(bpe.vocab_size(), 266);
/// let ids = bpe.encode("the cat");
/// assert!(ids.len() < "the cat".len()); // merged: fewer tokens than bytes
/// assert_eq!(bpe.decode(&ids).unwrap(), "the cat");
/// assert_eq!(bpe.decode(&bpe.encode("unseen ✓ text")).unwrap(), "unseen ✓ text");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bpe {
    /// `(left, right)` of merge `k`, which makes token `256 + k`.
    merges: Vec<(u32, u32)>,
    /// Merge rank by pair.
    ranks: BTreeMap<(u32, u32), u32>,
    /// The bytes of every token.
    tokens: Vec<Vec<u8>>,
}

/// One distinct chunk of the corpus during training.
struct Word {
    syms: Vec<u32>,
    count: i64,
}

impl Bpe {
    /// Learn `vocab_size - 256` merges on `text` (fewer if the corpus runs
    /// out of pairs first: [`Bpe::vocab_size`] says how many were made).
    /// Panics if `vocab_size < 256` (see [`Bpe::try_train`]).
    ///
    /// ```
    /// use typegrad::text::Bpe;
    /// // "aa" is the most frequent pair, then "ab" (tied with "Za", the
    /// // smaller pair wins), then "aa"+"ab".
    /// let bpe = Bpe::train("aaabdaaabac", 259);
    /// assert_eq!(bpe.merges(), &[(97, 97), (97, 98), (256, 257)]);
    /// assert_eq!(bpe.encode("aaabdaaabac"), vec![258, 100, 258, 97, 99]);
    /// ```
    #[track_caller]
    pub fn train(text: &str, vocab_size: usize) -> Bpe {
        Self::try_train(text, vocab_size).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible [`Bpe::train`]: a `vocab_size` below 256 is
    /// [`TextError::VocabTooSmall`].
    ///
    /// ```
    /// use typegrad::text::Bpe;
    /// assert!(Bpe::try_train("abc", 100).is_err());
    /// ```
    pub fn try_train(text: &str, vocab_size: usize) -> Result<Bpe, TextError> {
        if vocab_size < 256 {
            return Err(TextError::VocabTooSmall {
                requested: vocab_size,
            });
        }
        let target = vocab_size - 256;
        // Distinct chunks with their counts (sorted: deterministic).
        let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
        for c in chunks(text) {
            *counts.entry(c).or_insert(0) += 1;
        }
        let mut words: Vec<Word> = counts
            .into_iter()
            .filter(|(w, _)| w.len() > 1)
            .map(|(w, count)| Word {
                syms: w.bytes().map(u32::from).collect(),
                count,
            })
            .collect();
        // Pair counts and, per pair, the words that (may) hold it.
        let mut pairs: BTreeMap<(u32, u32), i64> = BTreeMap::new();
        let mut at: BTreeMap<(u32, u32), Vec<u32>> = BTreeMap::new();
        for (i, w) in words.iter().enumerate() {
            for p in w.syms.windows(2) {
                let p = (p[0], p[1]);
                *pairs.entry(p).or_insert(0) += w.count;
                let list = at.entry(p).or_default();
                if list.last() != Some(&(i as u32)) {
                    list.push(i as u32);
                }
            }
        }
        // Max-heap on (count, smallest pair); entries may be stale (a count
        // only falls until its pair is merged), checked when popped.
        let mut heap: BinaryHeap<(i64, Reverse<(u32, u32)>)> =
            pairs.iter().map(|(&p, &c)| (c, Reverse(p))).collect();
        let mut bpe = Bpe::from_merges_unchecked(Vec::new());
        while bpe.merges.len() < target {
            let Some((c, Reverse(p))) = heap.pop() else {
                break;
            };
            let now = pairs.get(&p).copied().unwrap_or(0);
            if now != c {
                if now > 0 {
                    heap.push((now, Reverse(p)));
                }
                continue;
            }
            let new = 256 + bpe.merges.len() as u32;
            bpe.push_merge(p);
            let mut list = at.remove(&p).unwrap_or_default();
            list.sort_unstable();
            list.dedup();
            let mut grown: Vec<(u32, u32)> = Vec::new();
            for &wi in &list {
                let w = &mut words[wi as usize];
                if !w.syms.windows(2).any(|q| (q[0], q[1]) == p) {
                    continue; // stale entry
                }
                for q in w.syms.windows(2) {
                    *pairs.entry((q[0], q[1])).or_insert(0) -= w.count;
                }
                merge_in_place(&mut w.syms, p, new);
                for q in w.syms.windows(2) {
                    let q = (q[0], q[1]);
                    *pairs.entry(q).or_insert(0) += w.count;
                    if q.0 == new || q.1 == new {
                        // Only pairs with the new token are new or grow.
                        at.entry(q).or_default().push(wi);
                        grown.push(q);
                    }
                }
            }
            pairs.remove(&p);
            grown.sort_unstable();
            grown.dedup();
            for q in grown {
                let c = pairs.get(&q).copied().unwrap_or(0);
                if c > 0 {
                    heap.push((c, Reverse(q)));
                }
            }
        }
        Ok(bpe)
    }

    /// A tokenizer from merges already validated (each pair of existing ids,
    /// no pair twice).
    fn from_merges_unchecked(merges: Vec<(u32, u32)>) -> Bpe {
        let mut bpe = Bpe {
            merges: Vec::with_capacity(merges.len()),
            ranks: BTreeMap::new(),
            tokens: (0..=255u8).map(|b| alloc::vec![b]).collect(),
        };
        for p in merges {
            bpe.push_merge(p);
        }
        bpe
    }

    fn push_merge(&mut self, p: (u32, u32)) {
        let mut t = self.tokens[p.0 as usize].clone();
        t.extend_from_slice(&self.tokens[p.1 as usize]);
        self.tokens.push(t);
        self.ranks.insert(p, self.merges.len() as u32);
        self.merges.push(p);
    }

    /// The number of tokens: 256 bytes plus the merges.
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// The learned merges `(left id, right id)` in order; merge `k` makes
    /// token `256 + k`.
    pub fn merges(&self) -> &[(u32, u32)] {
        &self.merges
    }

    /// The bytes of token `id`, or `None` past the vocabulary.
    ///
    /// ```
    /// use typegrad::text::Bpe;
    /// let bpe = Bpe::train("hello hello", 258);
    /// assert_eq!(bpe.token_bytes(104), Some(&b"h"[..]));
    /// assert_eq!(bpe.token_bytes(258), None);
    /// ```
    pub fn token_bytes(&self, id: usize) -> Option<&[u8]> {
        self.tokens.get(id).map(|t| t.as_slice())
    }

    /// The token ids of `text` (every byte covered: decoding gives `text`
    /// back).
    pub fn encode(&self, text: &str) -> Vec<usize> {
        let mut out = Vec::with_capacity(text.len() / 2);
        // Chunks repeat (words): encode each distinct one once.
        let mut cache: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        let mut syms = Vec::new();
        for c in chunks(text) {
            if let Some(ids) = cache.get(c) {
                out.extend(ids.iter().map(|&i| i as usize));
                continue;
            }
            syms.clear();
            syms.extend(c.bytes().map(u32::from));
            self.merge_all(&mut syms);
            out.extend(syms.iter().map(|&i| i as usize));
            if cache.len() < 1 << 16 {
                cache.insert(c, syms.clone());
            }
        }
        out
    }

    /// Apply the merges to one chunk, lowest rank first.
    fn merge_all(&self, syms: &mut Vec<u32>) {
        while syms.len() > 1 {
            let best = syms
                .windows(2)
                .filter_map(|q| self.ranks.get(&(q[0], q[1])).copied())
                .min();
            let Some(rank) = best else { break };
            merge_in_place(syms, self.merges[rank as usize], 256 + rank);
        }
    }

    /// The bytes of the tokens `ids`, concatenated; an id past the
    /// vocabulary is [`TextError::IdOutOfRange`].
    pub fn decode_bytes(&self, ids: &[usize]) -> Result<Vec<u8>, TextError> {
        let mut out = Vec::new();
        for &id in ids {
            let t = self.tokens.get(id).ok_or(TextError::IdOutOfRange {
                id,
                vocab_size: self.tokens.len(),
            })?;
            out.extend_from_slice(t);
        }
        Ok(out)
    }

    /// The text of the tokens `ids`. An id past the vocabulary is
    /// [`TextError::IdOutOfRange`]; bytes that are not valid UTF-8 (ids cut
    /// inside a multi-byte character) are [`TextError::InvalidUtf8`] with
    /// the byte offset.
    ///
    /// ```
    /// use typegrad::text::{Bpe, TextError};
    /// let bpe = Bpe::train("", 256); // bytes only
    /// let ids = bpe.encode("é"); // two bytes: 0xC3 0xA9
    /// assert_eq!(ids, vec![0xC3, 0xA9]);
    /// assert_eq!(bpe.decode(&ids[..1]), Err(TextError::InvalidUtf8 { offset: 0 }));
    /// assert_eq!(bpe.decode_lossy(&ids[..1]).unwrap(), "\u{FFFD}");
    /// ```
    pub fn decode(&self, ids: &[usize]) -> Result<String, TextError> {
        String::from_utf8(self.decode_bytes(ids)?).map_err(|e| TextError::InvalidUtf8 {
            offset: e.utf8_error().valid_up_to(),
        })
    }

    /// The text of the tokens `ids`, invalid UTF-8 replaced by U+FFFD (for
    /// printing sampled text). Ids past the vocabulary are still an error.
    pub fn decode_lossy(&self, ids: &[usize]) -> Result<String, TextError> {
        Ok(String::from_utf8_lossy(&self.decode_bytes(ids)?).into_owned())
    }

    /// The saved form: the line `typegrad-bpe 1`, the line `merges N`, then
    /// one line per merge, `left right` in decimal.
    ///
    /// ```
    /// use typegrad::text::Bpe;
    /// let bpe = Bpe::train("aaab", 258);
    /// // "aa" (twice), then "ab" (tied with "Za": the smaller pair wins).
    /// assert_eq!(bpe.to_text(), "typegrad-bpe 1\nmerges 2\n97 97\n97 98\n");
    /// assert_eq!(Bpe::parse(&bpe.to_text()).unwrap(), bpe);
    /// ```
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(16 + 12 * self.merges.len());
        let _ = writeln!(s, "{HEADER}");
        let _ = writeln!(s, "merges {}", self.merges.len());
        for (a, b) in &self.merges {
            let _ = writeln!(s, "{a} {b}");
        }
        s
    }

    /// Read the saved form ([`Bpe::to_text`]). Anything else (another
    /// header, a count that disagrees with the lines, a merge of a token
    /// that does not exist yet, the same pair twice, stray text) is
    /// [`TextError::Malformed`] naming the line; never a panic.
    ///
    /// ```
    /// use typegrad::text::Bpe;
    /// let err = Bpe::parse("typegrad-bpe 1\nmerges 1\n97 300\n").unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "BPE file, line 3: merge 0 uses token 300, but only tokens 0..256 exist before it"
    /// );
    /// ```
    pub fn parse(text: &str) -> Result<Bpe, TextError> {
        let bad = |line: usize, message: String| TextError::Malformed {
            what: "BPE",
            line,
            message,
        };
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(bad(1, alloc::format!("expected the header {HEADER:?}")));
        }
        let n = lines
            .next()
            .and_then(|l| l.strip_prefix("merges "))
            .and_then(parse_decimal)
            .ok_or_else(|| bad(2, "expected \"merges N\" (N in decimal)".to_string()))?;
        let mut bpe = Bpe::from_merges_unchecked(Vec::new());
        for (k, line) in lines.enumerate() {
            let no = k + 3;
            if k >= n {
                return Err(bad(
                    no,
                    alloc::format!("more merge lines than the {n} declared"),
                ));
            }
            let (a, b) = line
                .split_once(' ')
                .and_then(|(a, b)| Some((parse_decimal(a)?, parse_decimal(b)?)))
                .ok_or_else(|| bad(no, "expected two token ids \"left right\"".to_string()))?;
            let exist = 256 + k;
            if let Some(&t) = [a, b].iter().find(|&&t| t >= exist) {
                return Err(bad(
                    no,
                    alloc::format!(
                        "merge {k} uses token {t}, but only tokens 0..{exist} exist before it"
                    ),
                ));
            }
            let p = (a as u32, b as u32);
            if let Some(r) = bpe.ranks.get(&p) {
                return Err(bad(no, alloc::format!("pair {a} {b} repeats merge {r}")));
            }
            bpe.push_merge(p);
        }
        if bpe.merges.len() != n {
            return Err(bad(
                0,
                alloc::format!("{n} merges declared, {} present", bpe.merges.len()),
            ));
        }
        Ok(bpe)
    }

    /// [`Bpe::parse`] of raw bytes (a file's contents): bytes that are not
    /// UTF-8 are [`TextError::Malformed`].
    pub fn parse_bytes(bytes: &[u8]) -> Result<Bpe, TextError> {
        Self::parse(super::file::utf8_text(bytes, "BPE")?)
    }

    /// Save to `path` ([`Bpe::to_text`]), replacing the file atomically.
    ///
    /// ```
    /// use typegrad::text::Bpe;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("bpe.txt");
    /// let bpe = Bpe::train("to be or not to be", 260);
    /// bpe.save(&path).unwrap();
    /// assert_eq!(Bpe::load(&path).unwrap(), bpe);
    /// ```
    #[cfg(feature = "std")]
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<(), TextError> {
        super::file::save_text(path.as_ref(), &self.to_text())
    }

    /// Load a file written by [`Bpe::save`]; a malformed file is an error
    /// naming the file and the line.
    #[cfg(feature = "std")]
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Bpe, TextError> {
        super::file::load_with(path.as_ref(), Self::parse_bytes)
    }
}

/// Replace every non-overlapping occurrence of `p`, left to right, by `new`.
fn merge_in_place(syms: &mut Vec<u32>, p: (u32, u32), new: u32) {
    let (mut r, mut w) = (0, 0);
    while r < syms.len() {
        if r + 1 < syms.len() && (syms[r], syms[r + 1]) == p {
            syms[w] = new;
            r += 2;
        } else {
            syms[w] = syms[r];
            r += 1;
        }
        w += 1;
    }
    syms.truncate(w);
}

/// A decimal `usize` of ASCII digits only (no sign, no spaces), at most 19
/// digits (no overflow).
pub(crate) fn parse_decimal(s: &str) -> Option<usize> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}
