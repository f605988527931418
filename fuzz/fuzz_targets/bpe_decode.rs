//! Arbitrary token ids into `Bpe::decode` (and `decode_lossy`,
//! `decode_bytes`) of a tokenizer trained on a fixed corpus: ids past the
//! vocabulary and byte sequences that are not UTF-8 must be errors, never
//! panics, and whatever decodes must encode and decode back to itself.
//!
//! The input is read as little-endian `u16` ids (so about half of them
//! fall outside the 400-token vocabulary). Seed corpus: `corpus/bpe_decode/`.
//!     cargo +nightly fuzz run bpe_decode target/corpus-bpe_decode corpus/bpe_decode
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use typegrad::text::{Bpe, TextError};

const CORPUS: &str = "First Citizen:\nBefore we proceed any further, hear me speak.\n\n\
All:\nSpeak, speak.\n\nFirst Citizen:\nYou are all resolved rather to die than to famish?\n\
Ça, 1599 — «naïve» ☃ 日本語 テキスト 🎭🎭";

fn bpe() -> &'static Bpe {
    static BPE: OnceLock<Bpe> = OnceLock::new();
    BPE.get_or_init(|| Bpe::train(CORPUS, 400))
}

fuzz_target!(|data: &[u8]| {
    let bpe = bpe();
    let ids: Vec<usize> = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]) as usize % 800)
        .collect();
    let bytes = bpe.decode_bytes(&ids);
    match bpe.decode(&ids) {
        Ok(s) => {
            assert_eq!(bytes.as_deref(), Ok(s.as_bytes()));
            assert_eq!(bpe.decode(&bpe.encode(&s)).as_deref(), Ok(s.as_str()));
            assert_eq!(bpe.decode_lossy(&ids).as_deref(), Ok(s.as_str()));
        }
        Err(TextError::IdOutOfRange { id, vocab_size }) => {
            assert!(id >= vocab_size && ids.contains(&id));
            assert!(bytes.is_err() && bpe.decode_lossy(&ids).is_err());
        }
        Err(TextError::InvalidUtf8 { offset }) => {
            let bytes = bytes.unwrap();
            assert!(std::str::from_utf8(&bytes[..offset]).is_ok());
            assert!(std::str::from_utf8(&bytes).is_err());
            let lossy = bpe.decode_lossy(&ids).unwrap();
            assert_eq!(bpe.decode(&bpe.encode(&lossy)).unwrap(), lossy);
        }
        Err(e) => panic!("unexpected error {e}"),
    }
});
