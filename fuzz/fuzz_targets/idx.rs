//! Arbitrary bytes into the IDX reader: raw, through the stream reader, and
//! as gzip (detected by its magic). It must return an error, never panic,
//! and never allocate past what the input holds (libFuzzer's -rss_limit_mb).
#![no_main]

use libfuzzer_sys::fuzz_target;
use typegrad::data::{IdxArray, ImageDataset};

fuzz_target!(|data: &[u8]| {
    let parsed = IdxArray::parse(data);
    // The slice and stream readers agree, and a parsed array re-encodes to
    // the same bytes.
    assert_eq!(parsed.is_ok(), IdxArray::read(data).is_ok());
    if let Ok(a) = &parsed {
        assert_eq!(a.to_bytes(), data);
    }
    // The gzip path (the input itself, and the input behind a gzip magic).
    let _ = IdxArray::decode(data);
    let mut gz = Vec::with_capacity(data.len() + 2);
    gz.extend_from_slice(&[0x1f, 0x8b]);
    gz.extend_from_slice(data);
    let _ = IdxArray::decode(&gz);
    // Pairing the input with itself as images and labels.
    if let (Ok(a), Ok(b)) = (IdxArray::parse(data), IdxArray::parse(data)) {
        let _ = ImageDataset::from_idx(a, b);
    }
});
