//! Arbitrary bytes into the BPE file parser (`Bpe::parse_bytes`, what
//! `Bpe::load` runs on a file's contents): it must return an error or a
//! tokenizer, never panic; a tokenizer that loads must save back to a file
//! that loads to the same tokenizer, and encode/decode text exactly.
//!
//! Seed corpus: `corpus/bpe_load/` (files written by `Bpe::save`).
//!     cargo +nightly fuzz run bpe_load target/corpus-bpe_load corpus/bpe_load
#![no_main]

use libfuzzer_sys::fuzz_target;
use typegrad::text::Bpe;

fuzz_target!(|data: &[u8]| {
    if let Ok(bpe) = Bpe::parse_bytes(data) {
        let text = bpe.to_text();
        assert_eq!(Bpe::parse(&text).as_ref(), Ok(&bpe));
        for s in ["", "hello world", "aaaa bbbb 1234!!", "naïve ☃ 🎭", std::str::from_utf8(data).unwrap()] {
            assert_eq!(bpe.decode(&bpe.encode(s)).unwrap(), s);
        }
        // Every token decodes to its bytes.
        for id in 0..bpe.vocab_size() {
            assert_eq!(bpe.decode_bytes(&[id]).unwrap(), bpe.token_bytes(id).unwrap());
        }
        assert!(bpe.decode_bytes(&[bpe.vocab_size()]).is_err());
    }
});
