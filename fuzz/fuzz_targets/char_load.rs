//! Arbitrary bytes into the character tokenizer's file parser
//! (`CharTokenizer::parse_bytes`, what `CharTokenizer::load` runs): an
//! error or a tokenizer, never a panic; a tokenizer that loads saves back
//! to the same file contents' meaning and decodes/encodes every id.
//!
//! Seed corpus: `corpus/char_load/` (files written by `CharTokenizer::save`).
//!     cargo +nightly fuzz run char_load target/corpus-char_load corpus/char_load
#![no_main]

use libfuzzer_sys::fuzz_target;
use typegrad::text::CharTokenizer;

fuzz_target!(|data: &[u8]| {
    if let Ok(tok) = CharTokenizer::parse_bytes(data) {
        assert_eq!(CharTokenizer::parse(&tok.to_text()).as_ref(), Ok(&tok));
        let ids: Vec<usize> = (0..tok.vocab_size()).collect();
        let s = tok.decode(&ids).unwrap();
        assert_eq!(tok.encode(&s).unwrap(), ids);
        assert!(tok.decode(&[tok.vocab_size()]).is_err());
    }
});
