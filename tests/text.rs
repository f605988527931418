//! Tokenizers: BPE merges checked by hand, round trips (proptest over
//! arbitrary strings, unicode included), save/load, malformed files,
//! out-of-range ids; the character tokenizer; token batches.

use proptest::prelude::*;
use typegrad::data::{split_tokens, TokenBatches};
use typegrad::prelude::*;
use typegrad::text::{Bpe, CharTokenizer, TextError};

const SHAKESPEARE: &str = "data/shakespeare/shakespeare_all_gut.txt";

/// The merges of the Wikipedia example, worked out by hand. Pair counts in
/// "aaabdaaabac" (overlapping occurrences counted): aa 4, ab 2, bd, da, ba,
/// ac 1. Merge aa -> 256: [256 a b d 256 a b a c]; counts (256,a) 2,
/// (a,b) 2 tied: the smaller pair (97, 98) wins -> 257: [256 257 d 256 257
/// a c]; (256, 257) 2 -> 258: [258 d 258 a c]; then every pair counts 1:
/// the smallest, (97, 99) = "ac" -> 259.
#[test]
fn merges_on_a_tiny_corpus_match_hand_computation() {
    let bpe = Bpe::train("aaabdaaabac", 260);
    assert_eq!(bpe.merges(), &[(97, 97), (97, 98), (256, 257), (97, 99)]);
    assert_eq!(bpe.encode("aaabdaaabac"), vec![258, 100, 258, 259]);
    assert_eq!(bpe.token_bytes(258), Some(&b"aaab"[..]));
    assert_eq!(bpe.vocab_size(), 260);
}

/// Merges do not cross chunk boundaries: " ab" and "ab" are different
/// chunks, and the space joins the word after it.
#[test]
fn merges_stay_inside_words() {
    // Chunks: "ab", " ab", " ab", "." -> pairs: (a,b) 3, (' ', a) 2.
    let bpe = Bpe::train("ab ab ab.", 258);
    assert_eq!(bpe.merges(), &[(97, 98), (32, 256)]);
    assert_eq!(bpe.encode("ab ab."), vec![256, 257, 46]);
    // "b." never merges: they are in different chunks.
    let bpe = Bpe::train("b.b.b.", 300);
    assert!(bpe.merges().iter().all(|&(l, r)| !(l == 98 && r == 46)));
}

#[test]
fn training_stops_when_pairs_run_out_and_is_deterministic() {
    let bpe = Bpe::train("ab", 1000);
    assert_eq!(bpe.merges(), &[(97, 98)]);
    assert_eq!(bpe.vocab_size(), 257);
    let text = "She sells sea shells by the sea shore; the shells she sells are sea shells.";
    assert_eq!(Bpe::train(text, 300), Bpe::train(text, 300));
    assert_eq!(
        Bpe::try_train(text, 255),
        Err(TextError::VocabTooSmall { requested: 255 })
    );
}

/// Training against a naive reference: recount every pair of every chunk
/// after each merge (slow, obviously right) and pick the most frequent,
/// smallest pair on ties.
fn naive_train(text: &str, vocab_size: usize) -> Vec<(u32, u32)> {
    use std::collections::BTreeMap;
    // Chunks by the documented rule, written independently below.
    let mut words: Vec<Vec<u32>> = chunk(text)
        .into_iter()
        .map(|w| w.bytes().map(u32::from).collect())
        .collect();
    let mut merges = Vec::new();
    while 256 + merges.len() < vocab_size {
        let mut counts: BTreeMap<(u32, u32), i64> = BTreeMap::new();
        for w in &words {
            for p in w.windows(2) {
                *counts.entry((p[0], p[1])).or_default() += 1;
            }
        }
        let Some((&p, _)) = counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))) else {
            break;
        };
        let new = 256 + merges.len() as u32;
        for w in &mut words {
            let mut out = Vec::new();
            let mut i = 0;
            while i < w.len() {
                if i + 1 < w.len() && (w[i], w[i + 1]) == p {
                    out.push(new);
                    i += 2;
                } else {
                    out.push(w[i]);
                    i += 1;
                }
            }
            *w = out;
        }
        merges.push(p);
    }
    merges
}

/// The documented chunking rule, written independently.
fn chunk(text: &str) -> Vec<String> {
    #[derive(PartialEq, Clone, Copy)]
    enum K {
        L,
        N,
        S,
        O,
    }
    let k = |c: char| {
        if c.is_alphabetic() {
            K::L
        } else if c.is_numeric() {
            K::N
        } else if c.is_whitespace() {
            K::S
        } else {
            K::O
        }
    };
    let cs: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let mut j;
        if cs[i] == ' ' && i + 1 < cs.len() && k(cs[i + 1]) != K::S {
            let kind = k(cs[i + 1]);
            j = i + 2;
            while j < cs.len() && k(cs[j]) == kind {
                j += 1;
            }
        } else if k(cs[i]) == K::S {
            j = i + 1;
            while j < cs.len() && k(cs[j]) == K::S {
                j += 1;
            }
            if j < cs.len() && j - i > 1 && cs[j - 1] == ' ' {
                j -= 1;
            }
        } else {
            let kind = k(cs[i]);
            j = i + 1;
            while j < cs.len() && k(cs[j]) == kind {
                j += 1;
            }
        }
        out.push(cs[i..j].iter().collect());
        i = j;
    }
    out
}

#[test]
fn incremental_training_matches_naive_recount() {
    let text = std::fs::read_to_string(SHAKESPEARE).unwrap();
    let sample = &text[100_000..120_000];
    let fast = Bpe::train(sample, 256 + 150);
    assert_eq!(fast.merges(), naive_train(sample, 256 + 150).as_slice());
    let tricky = "aaaa aaa  aa\n\n  a1212 12 !!! !!aaa éé é ééé";
    assert_eq!(
        Bpe::train(tricky, 280).merges(),
        naive_train(tricky, 280).as_slice()
    );
}

#[test]
fn encode_reproduces_the_training_segmentation_and_round_trips() {
    let text = std::fs::read_to_string(SHAKESPEARE).unwrap();
    let sample = &text[..200_000];
    let bpe = Bpe::train(sample, 256 + 300);
    let ids = bpe.encode(sample);
    assert_eq!(bpe.decode(&ids).unwrap(), sample);
    // 300 merges shorten English text well below its byte count.
    assert!(ids.len() * 2 < sample.len(), "{} tokens", ids.len());
    assert!(ids.iter().all(|&i| i < bpe.vocab_size()));
}

#[test]
fn decode_errors_name_the_id_and_invalid_utf8() {
    let bpe = Bpe::train("hello", 258);
    assert_eq!(
        bpe.decode(&[104, 258]),
        Err(TextError::IdOutOfRange {
            id: 258,
            vocab_size: 258
        })
    );
    assert_eq!(
        bpe.decode_lossy(&[usize::MAX]),
        Err(TextError::IdOutOfRange {
            id: usize::MAX,
            vocab_size: 258
        })
    );
    // "é€" is C3 A9 E2 82 AC; cut after the euro sign's first byte.
    let ids = bpe.encode("é€");
    assert_eq!(
        bpe.decode(&ids[..3]),
        Err(TextError::InvalidUtf8 { offset: 2 })
    );
    assert_eq!(bpe.decode_lossy(&ids[..3]).unwrap(), "é\u{FFFD}");
    assert_eq!(bpe.decode_bytes(&ids[..3]).unwrap(), vec![0xC3, 0xA9, 0xE2]);
}

#[test]
fn save_load_round_trip() {
    let text = std::fs::read_to_string(SHAKESPEARE).unwrap();
    let bpe = Bpe::train(&text[..50_000], 256 + 100);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bpe.txt");
    bpe.save(&path).unwrap();
    let back = Bpe::load(&path).unwrap();
    assert_eq!(back, bpe);
    assert_eq!(back.encode(&text[..5000]), bpe.encode(&text[..5000]));

    let chars = CharTokenizer::from_text(&text[..50_000]);
    let path = dir.path().join("chars.txt");
    chars.save(&path).unwrap();
    assert_eq!(CharTokenizer::load(&path).unwrap(), chars);
}

#[test]
fn malformed_bpe_files_are_errors_naming_the_line() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"",
            "BPE file, line 1: expected the header \"typegrad-bpe 1\"",
        ),
        (b"typegrad-bpe 2\nmerges 0\n", "line 1: expected the header"),
        (b"typegrad-bpe 1\n", "line 2: expected \"merges N\""),
        (
            b"typegrad-bpe 1\nmerges -1\n",
            "line 2: expected \"merges N\"",
        ),
        (
            b"typegrad-bpe 1\nmerges 99999999999999999999999\n",
            "line 2: expected \"merges N\"",
        ),
        (
            b"typegrad-bpe 1\nmerges 2\n97 98\n",
            "BPE file: 2 merges declared, 1 present",
        ),
        (
            b"typegrad-bpe 1\nmerges 1\n97 98\n99 100\n",
            "line 4: more merge lines than the 1 declared",
        ),
        (
            b"typegrad-bpe 1\nmerges 1\n97  98\n",
            "line 3: expected two token ids",
        ),
        (
            b"typegrad-bpe 1\nmerges 1\n97 +98\n",
            "line 3: expected two token ids",
        ),
        (
            b"typegrad-bpe 1\nmerges 2\n97 98\n257 97\n",
            "line 4: merge 1 uses token 257",
        ),
        (
            b"typegrad-bpe 1\nmerges 2\n97 98\n97 98\n",
            "line 4: pair 97 98 repeats merge 0",
        ),
        (
            b"typegrad-bpe 1\nmerges 1\n97 98\xff\n",
            "BPE file: not UTF-8 text (byte 29)",
        ),
    ];
    for (bytes, want) in cases {
        let err = Bpe::parse_bytes(bytes).unwrap_err();
        assert!(matches!(err, TextError::Malformed { .. }));
        assert!(err.to_string().contains(want), "{err} (wanted {want:?})");
    }
    // Through a file, the path is named.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.txt");
    std::fs::write(&path, b"typegrad-bpe 1\nmerges x\n").unwrap();
    let err = Bpe::load(&path).unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("bad.txt"), "{err}");
    let err = Bpe::load(dir.path().join("missing.txt")).unwrap_err();
    assert!(matches!(err, TextError::Io { .. }), "{err}");
}

#[test]
fn malformed_char_files_are_errors_naming_the_line() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"typegrad-bpe 1\n",
            "line 1: expected the header \"typegrad-char 1\"",
        ),
        (
            b"typegrad-char 1\n97\nx\n",
            "line 3: expected a code point in decimal",
        ),
        (
            b"typegrad-char 1\n1114112\n",
            "line 2: 1114112 is not a Unicode scalar value",
        ),
        (
            b"typegrad-char 1\n99999999999\n",
            "line 2: 99999999999 is not a Unicode scalar value",
        ),
        (
            b"typegrad-char 1\n97\n97\n",
            "line 3: character 'a' repeats token 0",
        ),
        (b"typegrad-char 1\n\xc3\n", "not UTF-8 text (byte 16)"),
    ];
    for (bytes, want) in cases {
        let err = CharTokenizer::parse_bytes(bytes).unwrap_err();
        assert!(err.to_string().contains(want), "{err} (wanted {want:?})");
    }
    // An empty vocabulary is a valid (if useless) file.
    assert_eq!(
        CharTokenizer::parse("typegrad-char 1\n")
            .unwrap()
            .vocab_size(),
        0
    );
}

#[test]
fn char_tokenizer_on_shakespeare() {
    let text = std::fs::read_to_string(SHAKESPEARE).unwrap();
    let tok = CharTokenizer::from_text(&text);
    let mut distinct: Vec<char> = text.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(tok.chars(), distinct.as_slice());
    let ids = tok.encode(&text).unwrap();
    assert_eq!(ids.len(), text.chars().count());
    assert_eq!(tok.decode(&ids).unwrap(), text);
    assert_eq!(
        tok.encode("a\u{1F600}"),
        Err(TextError::UnknownChar {
            ch: '\u{1F600}',
            offset: 1
        })
    );
    assert_eq!(
        tok.decode(&[tok.vocab_size()]),
        Err(TextError::IdOutOfRange {
            id: tok.vocab_size(),
            vocab_size: tok.vocab_size()
        })
    );
}

#[test]
fn token_batches_are_windows_with_shifted_targets() {
    let dev = Cpu::default();
    let tokens: Vec<usize> = (0..50).map(|i| i * 7 % 53).collect(); // distinct
    let (train, val) = split_tokens(&tokens, 0.1);
    assert_eq!((train.len(), val.len()), (45, 5));
    assert_eq!([train, val].concat(), tokens);
    let mut b = TokenBatches::new(train.to_vec(), 6, 7, 1).unwrap();
    assert_eq!(b.num_windows(), 38);
    let mut starts_seen = std::collections::BTreeSet::new();
    for _ in 0..50 {
        let (x, y) = b.sample(&dev);
        assert_eq!(&*x.dims(), &[6, 7]);
        let (x, y) = (x.to_vec(), y.to_vec());
        for r in 0..6 {
            let row = &x[r * 7..r * 7 + 7];
            // Find where the window starts in the stream.
            let s = (0..38).find(|&s| &train[s..s + 7] == row).unwrap();
            starts_seen.insert(s);
            assert_eq!(&y[r * 7..r * 7 + 7], &train[s + 1..s + 8]);
        }
    }
    assert!(starts_seen.len() > 30, "windows cover the stream");
    assert_eq!(
        TokenBatches::new(vec![0; 7], 1, 7, 0).unwrap_err(),
        TextError::TooFewTokens { got: 7, needed: 8 }
    );
}

/// Training ~1000 merges on the whole 5 MB text: run with
/// `cargo test --release --test text -- --ignored --nocapture`.
#[test]
#[ignore = "timing, release only"]
fn bpe_training_speed_on_shakespeare() {
    let text = std::fs::read_to_string(SHAKESPEARE).unwrap();
    let t0 = std::time::Instant::now();
    let bpe = Bpe::train(&text, 256 + 1000);
    let train = t0.elapsed();
    let t1 = std::time::Instant::now();
    let ids = bpe.encode(&text);
    let encode = t1.elapsed();
    let t2 = std::time::Instant::now();
    let back = bpe.decode(&ids).unwrap();
    let decode = t2.elapsed();
    assert_eq!(back, text);
    println!(
        "BPE on {} bytes: 1000 merges in {train:.2?}, encode {encode:.2?} ({} tokens, {:.2} bytes/token), decode {decode:.2?}",
        text.len(),
        ids.len(),
        text.len() as f64 / ids.len() as f64
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn prop_bpe_round_trips_any_string(corpus in "\\PC{0,200}", s in any::<String>(), extra in 0usize..80) {
        let bpe = Bpe::train(&corpus, 256 + extra);
        let ids = bpe.encode(&s);
        prop_assert!(ids.iter().all(|&i| i < bpe.vocab_size()));
        prop_assert_eq!(bpe.decode(&ids).unwrap(), s.clone());
        // The corpus itself, too, and the saved form.
        prop_assert_eq!(bpe.decode(&bpe.encode(&corpus)).unwrap(), corpus.clone());
        prop_assert_eq!(Bpe::parse(&bpe.to_text()).unwrap(), bpe.clone());
        // Incremental training agrees with the naive recount.
        let naive = naive_train(&corpus, 256 + extra);
        prop_assert_eq!(bpe.merges(), naive.as_slice());
    }

    #[test]
    fn prop_char_round_trips(s in any::<String>()) {
        let tok = CharTokenizer::from_text(&s);
        let ids = tok.encode(&s).unwrap();
        prop_assert_eq!(tok.decode(&ids).unwrap(), s.clone());
        prop_assert_eq!(CharTokenizer::parse(&tok.to_text()).unwrap(), tok);
    }

    #[test]
    fn prop_decode_never_panics(ids in proptest::collection::vec(0usize..600, 0..50)) {
        let bpe = Bpe::train("the quick brown fox jumps over the lazy dog", 300);
        match bpe.decode(&ids) {
            Ok(s) => prop_assert_eq!(bpe.decode_bytes(&ids).unwrap(), s.into_bytes()),
            Err(TextError::IdOutOfRange { id, vocab_size }) => {
                prop_assert!(id >= vocab_size && ids.contains(&id));
            }
            Err(TextError::InvalidUtf8 { offset }) => {
                let bytes = bpe.decode_bytes(&ids).unwrap();
                prop_assert!(std::str::from_utf8(&bytes[..offset]).is_ok());
            }
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }
}

/// The fuzz targets' seed corpora (`fuzz/corpus/bpe_load`, `char_load`,
/// `bpe_decode`) are what this writes; `TYPEGRAD_BLESS=1` rewrites them.
#[test]
fn fuzz_seed_corpus_is_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let text = std::fs::read_to_string(SHAKESPEARE).unwrap();
    let mut seeds: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "bpe_load",
            "empty.txt",
            Bpe::train("", 256).to_text().into_bytes(),
        ),
        (
            "bpe_load",
            "tiny.txt",
            Bpe::train("aaabdaaabac", 260).to_text().into_bytes(),
        ),
        (
            "bpe_load",
            "shakespeare100.txt",
            Bpe::train(&text[..20_000], 356).to_text().into_bytes(),
        ),
        (
            "char_load",
            "empty.txt",
            CharTokenizer::from_text("").to_text().into_bytes(),
        ),
        (
            "char_load",
            "hello.txt",
            CharTokenizer::from_text("hello world\n")
                .to_text()
                .into_bytes(),
        ),
        (
            "char_load",
            "unicode.txt",
            CharTokenizer::from_text("naïve ☃ 日本語 🎭\t\r\n")
                .to_text()
                .into_bytes(),
        ),
    ];
    let le =
        |ids: &[usize]| -> Vec<u8> { ids.iter().flat_map(|&i| (i as u16).to_le_bytes()).collect() };
    seeds.push((
        "bpe_decode",
        "ascii.bin",
        le(&[70, 105, 114, 115, 116, 32, 67]),
    ));
    seeds.push(("bpe_decode", "cut_utf8.bin", le(&[0xC3, 0xA9, 0xE2])));
    seeds.push(("bpe_decode", "merged.bin", le(&[256, 300, 399, 32, 257])));
    seeds.push(("bpe_decode", "out_of_range.bin", le(&[104, 400, 799])));
    let bless = std::env::var_os("TYPEGRAD_BLESS").is_some();
    for (dir, name, bytes) in seeds {
        let path = root.join(dir).join(name);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let on_disk = std::fs::read(&path).unwrap_or_default();
        assert!(
            on_disk == bytes,
            "{} is stale: run TYPEGRAD_BLESS=1 cargo test --test text fuzz_seed",
            path.display()
        );
        match dir {
            "bpe_load" => assert!(Bpe::parse_bytes(&bytes).is_ok()),
            "char_load" => assert!(CharTokenizer::parse_bytes(&bytes).is_ok()),
            _ => {}
        }
    }
}
