//! Data loading: the IDX reader on the real MNIST files (values checked
//! against Python's gzip module) and on hand-made, truncated, corrupted and
//! random input (errors, never panics); batch gathering; the seeded batcher
//! and the train/validation split.

#![allow(clippy::type_complexity)]

use flate2::write::GzEncoder;
use flate2::Compression;
use proptest::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use typegrad::data::{split, Batcher, DataError, IdxArray, ImageDataset, Normalize, Split};
use typegrad::prelude::*;

fn mnist_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/mnist")
        .join(name)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// An IDX header for sizes `dims` followed by `data`.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

// ------------------------------------------------------------ the real files

#[test]
fn mnist_test_split_matches_python() {
    // Reference numbers: Python's gzip module on the same files.
    let t = ImageDataset::mnist(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"),
        Split::Test,
    )
    .unwrap();
    assert_eq!(
        (t.len(), t.rows(), t.cols(), t.classes()),
        (10_000, 28, 28, 10)
    );
    assert_eq!(&t.labels()[..5], &[7, 2, 1, 0, 4]);
    assert_eq!(t.labels()[9_999], 6);
    let mut hist = [0usize; 10];
    t.labels().iter().for_each(|&l| hist[l as usize] += 1);
    assert_eq!(
        hist,
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    let sum = |i: usize| t.image(i).iter().map(|&p| p as u64).sum::<u64>();
    assert_eq!((sum(0), sum(9_999)), (18_454, 41_833));
    assert_eq!((0..t.len()).map(sum).sum::<u64>(), 264_923_200);
    assert_eq!(
        &t.image(0)[14 * 28 + 15..14 * 28 + 20],
        &[0, 59, 249, 254, 62]
    );
}

#[test]
fn mnist_train_split_matches_python() {
    let images = IdxArray::open(mnist_path("mnist-train-images-idx3-ubyte.gz")).unwrap();
    assert_eq!(images.dims(), &[60_000, 28, 28]);
    assert_eq!(
        images.data().iter().map(|&p| p as u64).sum::<u64>(),
        1_567_298_545
    );
    assert_eq!(
        images.data()[..784].iter().map(|&p| p as u64).sum::<u64>(),
        27_525
    );
    let labels = IdxArray::open(mnist_path("mnist-train-labels-idx1-ubyte.gz")).unwrap();
    assert_eq!(&labels.data()[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    let set = ImageDataset::from_idx(images, labels).unwrap();
    let mut hist = [0usize; 10];
    set.labels().iter().for_each(|&l| hist[l as usize] += 1);
    assert_eq!(
        hist,
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
}

#[test]
fn uncompressed_and_gzip_files_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let a = IdxArray::open(mnist_path("mnist-t10k-labels-idx1-ubyte.gz")).unwrap();
    let raw = dir.path().join("t10k-labels-idx1-ubyte");
    std::fs::write(&raw, a.to_bytes()).unwrap();
    assert_eq!(IdxArray::open(&raw).unwrap(), a);
    let gz = std::fs::read(mnist_path("mnist-t10k-labels-idx1-ubyte.gz")).unwrap();
    assert_eq!(IdxArray::decode(&gz).unwrap(), a);
    assert_eq!(IdxArray::decode(&a.to_bytes()).unwrap(), a);
    assert_eq!(IdxArray::read(&a.to_bytes()[..]).unwrap(), a);
}

#[test]
fn truncated_real_files_are_errors() {
    let gz = std::fs::read(mnist_path("mnist-t10k-labels-idx1-ubyte.gz")).unwrap();
    for cut in [
        0,
        1,
        2,
        5,
        10,
        11,
        20,
        100,
        gz.len() / 2,
        gz.len() - 9,
        gz.len() - 8,
        gz.len() - 4,
        gz.len() - 1,
    ] {
        let err = IdxArray::decode(&gz[..cut]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("gzip") || msg.starts_with("IDX"),
            "cut {cut}: {msg}"
        );
    }
    let raw = IdxArray::decode(&gz).unwrap().to_bytes();
    for cut in [0, 3, 4, 7, 8, 9, raw.len() - 1] {
        assert!(IdxArray::parse(&raw[..cut]).is_err(), "cut {cut}");
        assert!(IdxArray::read(&raw[..cut]).is_err(), "cut {cut}");
    }
    assert_eq!(
        IdxArray::parse(&raw[..raw.len() - 1])
            .unwrap_err()
            .to_string(),
        "IDX: header says 10000 = 10000 bytes of data, the file has 9999 after its 8-byte header"
    );
    // A truncated file on disk: the error names the file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.gz");
    std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
    let err = IdxArray::open(&path).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}: gzip", path.display())),
        "{err}"
    );
    assert!(matches!(err.root(), DataError::Gzip(_)));
}

#[test]
fn corrupted_real_files_are_errors() {
    let gz = std::fs::read(mnist_path("mnist-t10k-labels-idx1-ubyte.gz")).unwrap();
    // A flipped byte inside the deflate stream or the CRC/size trailer (the
    // gzip header before it holds a file name and a time nobody checks).
    for pos in [100, gz.len() / 3, gz.len() / 2, gz.len() - 8, gz.len() - 2] {
        let mut b = gz.clone();
        b[pos] ^= 0x55;
        assert!(IdxArray::decode(&b).is_err(), "flip at {pos}");
    }
    // A flipped IDX magic inside a valid gzip stream.
    let mut raw = IdxArray::decode(&gz).unwrap().to_bytes();
    raw[2] = 0x0d;
    assert_eq!(
        IdxArray::decode(&gzip(&raw)).unwrap_err().to_string(),
        "IDX: element type 0x0d (f32) is not supported; only u8 (0x08) is"
    );
}

// ------------------------------------------------------------ hand-made input

#[test]
fn every_rank_parses_row_major() {
    let data: Vec<u8> = (0..24).collect();
    for dims in [&[24][..], &[4, 6], &[2, 3, 4], &[1, 2, 3, 4]] {
        let b = idx(dims, &data);
        let a = IdxArray::parse(&b).unwrap();
        assert_eq!(
            a.dims(),
            dims.iter().map(|&d| d as usize).collect::<Vec<_>>()
        );
        assert_eq!(a.data(), &data[..]);
        assert_eq!(a.to_bytes(), b);
        assert_eq!(IdxArray::decode(&gzip(&b)).unwrap(), a);
    }
    // Empty arrays are valid.
    assert_eq!(
        IdxArray::parse(&idx(&[0, 28, 28], &[])).unwrap().dims(),
        &[0, 28, 28]
    );
}

#[test]
fn header_errors_say_what_is_wrong() {
    let e = |b: &[u8]| IdxArray::parse(b).unwrap_err();
    assert_eq!(
        e(&[1, 2, 3]).to_string(),
        "IDX: the file ends inside the header (IDX magic): needs 4 bytes, has 3"
    );
    assert_eq!(
        e(&[0, 0, 8, 3, 0, 0, 0, 1, 0]).to_string(),
        "IDX: the file ends inside the header (IDX sizes): needs 16 bytes, has 9"
    );
    assert_eq!(
        e(b"PK\x03\x04rest").to_string(),
        "IDX: bad magic number 50 4b 03 04: expected 00 00 <type> <rank> (MNIST images 00 00 08 03, labels 00 00 08 01); is this an IDX file?"
    );
    assert_eq!(
        e(&[0, 0, 0x0c, 1, 0, 0, 0, 0]),
        DataError::UnsupportedType { code: 0x0c }
    );
    assert_eq!(
        e(&[0, 0, 8, 0]).to_string(),
        "IDX: rank 0 is not supported; ranks 1 to 4 are"
    );
    assert_eq!(e(&[0, 0, 8, 5]), DataError::BadRank { rank: 5 });
    // The example: a header for all of MNIST train with 123 bytes.
    assert_eq!(
        e(&idx(&[60_000, 28, 28], &[0; 123])).to_string(),
        "IDX: header says 60000 x 28 x 28 = 47040000 bytes of data, the file has 123 after its 16-byte header"
    );
    assert_eq!(
        e(&idx(&[2, 2], &[0; 5])).to_string(),
        "IDX: header says 2 x 2 = 4 bytes of data, the file has 5 (trailing bytes)"
    );
    assert_eq!(
        IdxArray::read(&idx(&[2, 2], &[0; 5])[..])
            .unwrap_err()
            .to_string(),
        "IDX: header says 2 x 2 = 4 bytes of data, the file has more (trailing bytes)"
    );
}

#[test]
fn huge_header_sizes_are_refused_before_allocating() {
    // 2^128 elements: the product overflows.
    let b = idx(&[u32::MAX; 4], &[1, 2, 3]);
    assert_eq!(
        IdxArray::parse(&b).unwrap_err(),
        DataError::SizeOverflow {
            dims: vec![u32::MAX as usize; 4]
        }
    );
    assert!(IdxArray::parse(&b)
        .unwrap_err()
        .to_string()
        .contains("4294967295 x 4294967295"));
    // ~16 EiB / 4 GiB claimed, 3 bytes present: refused at once (no
    // allocation of the claimed size could succeed, so reaching the error
    // proves none was attempted), through every entry point.
    for dims in [&[u32::MAX, u32::MAX][..], &[u32::MAX]] {
        let b = idx(dims, &[1, 2, 3]);
        assert!(matches!(
            IdxArray::parse(&b),
            Err(DataError::Truncated { got: 3, .. })
        ));
        assert!(matches!(
            IdxArray::read(&b[..]),
            Err(DataError::Truncated { got: 3, .. })
        ));
        assert!(matches!(
            IdxArray::decode(&gzip(&b)),
            Err(DataError::Truncated { got: 3, .. })
        ));
    }
    // A gzip bomb past the declared size is cut one byte after it.
    let mut b = idx(&[4], &[0; 4]);
    b.extend(std::iter::repeat_n(0u8, 50_000_000));
    let bomb = gzip(&b);
    assert!(bomb.len() < 1_000_000);
    assert!(matches!(
        IdxArray::decode(&bomb),
        Err(DataError::TrailingBytes { got: None, .. })
    ));
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope-idx1-ubyte");
    let err = IdxArray::open(&missing).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }));
    assert!(
        err.to_string().starts_with(&missing.display().to_string()),
        "{err}"
    );
    let bad = dir.path().join("bad");
    std::fs::write(&bad, [0, 0, 8, 1, 0, 0, 0, 9, 1]).unwrap();
    assert_eq!(
        IdxArray::open(&bad).unwrap_err().to_string(),
        format!(
            "{}: IDX: header says 9 = 9 bytes of data, the file has 1 after its 8-byte header",
            bad.display()
        )
    );
}

#[test]
fn constructing_arrays_checks_sizes() {
    assert!(IdxArray::new(vec![3], vec![1, 2, 3]).is_ok());
    assert_eq!(
        IdxArray::new(vec![], vec![]).unwrap_err(),
        DataError::BadRank { rank: 0 }
    );
    assert_eq!(
        IdxArray::new(vec![1; 5], vec![0]).unwrap_err(),
        DataError::BadRank { rank: 5 }
    );
    assert!(matches!(
        IdxArray::new(vec![1 << 33], vec![]),
        Err(DataError::SizeOverflow { .. })
    ));
    assert!(matches!(
        IdxArray::new(vec![2, 2], vec![0; 3]),
        Err(DataError::Truncated {
            expected: 4,
            got: 3,
            ..
        })
    ));
}

// ------------------------------------------------------------ data sets and batches

fn tiny() -> ImageDataset {
    // 3 images of 2x2: pixel values chosen to make the normalisation visible.
    let images = IdxArray::new(
        vec![3, 2, 2],
        vec![0, 51, 102, 255, 10, 20, 30, 40, 255, 255, 0, 0],
    )
    .unwrap();
    let labels = IdxArray::new(vec![3], vec![2, 0, 1]).unwrap();
    ImageDataset::from_idx(images, labels).unwrap()
}

#[test]
fn batches_gather_and_normalise() {
    let set = tiny();
    assert_eq!((set.len(), set.image_len(), set.classes()), (3, 4, 3));
    let dev = Cpu::default();
    let (x, y): (Tensor<(Dyn, u!(4)), f64>, _) = set.batch(&[2, 0], Normalize::Unit, &dev).unwrap();
    assert_eq!(x.dims()[..], [2, 4]);
    let expect: Vec<f64> = [255, 255, 0, 0, 0, 51, 102, 255]
        .iter()
        .map(|&p| p as f64 / 255.0)
        .collect();
    assert_eq!(x.to_vec(), expect);
    assert_eq!(y.to_vec(), vec![1, 2]);
    let (x, _): (Tensor<(Dyn, Dyn), f32>, _) = set.batch(&[1], Normalize::MNIST, &dev).unwrap();
    let expect: Vec<f32> = [10, 20, 30, 40]
        .iter()
        .map(|&p| ((p as f64 / 255.0 - 0.1307) / 0.3081) as f32)
        .collect();
    assert_eq!(x.to_vec(), expect);
    // An empty batch is fine.
    let (x, y): (Tensor<(Dyn, u!(4)), f32>, _) = set.batch(&[], Normalize::Unit, &dev).unwrap();
    assert_eq!((x.numel(), y.numel()), (0, 0));
}

#[test]
fn batch_errors() {
    let set = tiny();
    let dev = Cpu::default();
    let r: Result<(Tensor<(Dyn, u!(784)), f32>, _), _> = set.batch(&[0], Normalize::Unit, &dev);
    assert_eq!(
        r.unwrap_err().to_string(),
        "images have 4 pixels but the batch tensor's feature width is 784"
    );
    let r: Result<(Tensor<(Dyn, u!(4)), f32>, _), _> = set.batch(&[0, 3], Normalize::Unit, &dev);
    assert_eq!(
        r.unwrap_err().to_string(),
        "example index 3 out of range for a data set of 3"
    );
}

#[test]
fn mnist_batch_matches_the_file() {
    let set = ImageDataset::mnist(mnist_path(""), Split::Test).unwrap();
    let (x, y): (Tensor<(Dyn, u!(784)), f32>, _) = set
        .batch(&[0, 9_999], Normalize::Unit, &Cpu::default())
        .unwrap();
    let v = x.to_vec();
    let s0: f64 = v[..784].iter().map(|&p| p as f64).sum();
    assert!((s0 * 255.0 - 18_454.0).abs() < 1e-2, "{s0}");
    assert!(v.iter().all(|&p| (0.0..=1.0).contains(&p)));
    assert_eq!(y.to_vec(), vec![7, 6]);
}

#[test]
fn pairing_checks_ranks_counts_and_labels() {
    let img = |d: Vec<usize>| IdxArray::new(d.clone(), vec![0; d.iter().product()]).unwrap();
    assert_eq!(
        ImageDataset::from_idx(img(vec![2, 4]), img(vec![2]))
            .unwrap_err()
            .to_string(),
        "images: expected an array of rank 3, got sizes [2, 4]"
    );
    assert_eq!(
        ImageDataset::from_idx(img(vec![2, 2, 2]), img(vec![2, 1])).unwrap_err(),
        DataError::WrongRank {
            what: "labels",
            expected: 1,
            dims: vec![2, 1]
        }
    );
    assert_eq!(
        ImageDataset::from_idx(img(vec![2, 2, 2]), img(vec![3]))
            .unwrap_err()
            .to_string(),
        "the image file has 2 examples but the label file has 3"
    );

    let dir = tempfile::tempdir().unwrap();
    let err = ImageDataset::mnist(dir.path(), Split::Train).unwrap_err();
    let DataError::NotFound { tried } = &err else {
        panic!("{err}")
    };
    assert_eq!(tried.len(), 4);
    assert!(
        tried[0].ends_with("mnist-train-images-idx3-ubyte.gz")
            && tried[3].ends_with("train-images-idx3-ubyte")
    );
    // Plain names, uncompressed; a label of 12 is not a digit.
    std::fs::write(
        dir.path().join("t10k-images-idx3-ubyte"),
        idx(&[1, 28, 28], &[0; 784]),
    )
    .unwrap();
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), idx(&[1], &[12])).unwrap();
    assert_eq!(
        ImageDataset::mnist(dir.path(), Split::Test)
            .unwrap_err()
            .to_string(),
        "label 12 of example 0 is out of range for 10 classes"
    );
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), idx(&[1], &[3])).unwrap();
    assert_eq!(
        ImageDataset::mnist(dir.path(), Split::Test)
            .unwrap()
            .labels(),
        &[3]
    );
}

// ------------------------------------------------------------ batcher and split

fn sorted(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v
}

#[test]
fn batcher_is_reproducible_and_reshuffles_each_epoch() {
    let mut a = Batcher::new(100, 32, 7);
    let mut b = Batcher::new(100, 32, 7);
    let e0: Vec<Vec<usize>> = a.epoch(0).map(<[usize]>::to_vec).collect();
    let e1: Vec<Vec<usize>> = a.epoch(1).map(<[usize]>::to_vec).collect();
    assert_eq!(e0.iter().map(Vec::len).collect::<Vec<_>>(), [32, 32, 32, 4]);
    assert_ne!(e0, e1);
    // Epoch e depends only on (seed, e), not on what was drawn before.
    assert_eq!(b.epoch(1).map(<[usize]>::to_vec).collect::<Vec<_>>(), e1);
    assert_eq!(b.epoch(0).map(<[usize]>::to_vec).collect::<Vec<_>>(), e0);
    assert_ne!(Batcher::new(100, 32, 8).epoch_order(0), a.epoch_order(0));
    assert_ne!(a.epoch_order(0), (0..100).collect::<Vec<_>>(), "shuffled");
    let mut plain = Batcher::new(10, 4, 7).shuffle(false);
    assert_eq!(
        plain.epoch(3).collect::<Vec<_>>(),
        [&[0, 1, 2, 3][..], &[4, 5, 6, 7], &[8, 9]]
    );
    let mut dl = Batcher::new(10, 4, 7).drop_last(true);
    assert_eq!((dl.num_batches(), dl.epoch(0).len()), (2, 2));
    assert_eq!(Batcher::new(0, 4, 1).epoch(0).count(), 0);
}

#[test]
fn every_position_is_equally_likely() {
    // Over many epochs each index lands in each of 4 positions about equally
    // often (a biased shuffle, e.g. swapping with any index, fails this).
    let mut b = Batcher::new(4, 4, 123);
    let mut count = [[0u32; 4]; 4];
    for e in 0..24_000 {
        for (pos, &i) in b.epoch_order(e).iter().enumerate() {
            count[i][pos] += 1;
        }
    }
    for row in count {
        for c in row {
            assert!((c as f64 - 6000.0).abs() < 6000.0 * 0.05, "{count:?}");
        }
    }
    let _ = b.epoch(0);
}

#[test]
fn split_partitions_reproducibly() {
    let (train, val) = split(1000, 0.1, 5);
    assert_eq!((train.len(), val.len()), (900, 100));
    assert_eq!(
        sorted([train.clone(), val.clone()].concat()),
        (0..1000).collect::<Vec<_>>()
    );
    assert_eq!(split(1000, 0.1, 5), (train.clone(), val.clone()));
    assert_ne!(split(1000, 0.1, 6).1, val);
    assert_ne!(
        val,
        (900..1000).collect::<Vec<_>>(),
        "validation is a random subset"
    );
    assert_eq!(split(7, 0.0, 1), ((0..7).collect(), vec![]));
    assert_eq!(split(7, 1.0, 1), (vec![], (0..7).collect()));
    assert_eq!(split(10, 0.25, 1).1.len(), 3); // round(2.5) = 3
    let mut b = Batcher::from_indices(train.clone(), 64, 0);
    let seen = sorted(b.epoch(0).flatten().copied().collect());
    assert_eq!(seen, train);
}

#[test]
#[should_panic(expected = "val_fraction must be in [0, 1], got 1.5")]
fn split_rejects_bad_fractions() {
    split(10, 1.5, 0);
}

#[test]
#[should_panic(expected = "batch_size must be at least 1")]
fn batcher_rejects_zero_batch_size() {
    Batcher::new(10, 0, 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn each_epoch_is_a_partition(n in 0usize..300, bs in 1usize..70, seed: u64, epoch in 0u64..5, drop_last: bool) {
        let mut b = Batcher::new(n, bs, seed).drop_last(drop_last);
        let nb = b.num_batches();
        let batches: Vec<Vec<usize>> = b.epoch(epoch).map(<[usize]>::to_vec).collect();
        prop_assert_eq!(batches.len(), nb);
        prop_assert!(batches.iter().all(|x| x.len() == bs || (!drop_last && x.len() < bs && !x.is_empty())));
        let all = sorted(batches.concat());
        if drop_last {
            prop_assert_eq!(all.len(), n / bs * bs);
            prop_assert!(all.windows(2).all(|w| w[0] < w[1]) && all.iter().all(|&i| i < n));
        } else {
            prop_assert_eq!(all, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn split_is_a_partition(n in 0usize..500, frac in 0.0f64..=1.0, seed: u64) {
        let (t, v) = split(n, frac, seed);
        prop_assert_eq!(v.len(), (n as f64 * frac).round() as usize);
        prop_assert_eq!(sorted([t.clone(), v.clone()].concat()), (0..n).collect::<Vec<_>>());
        prop_assert!(t.windows(2).all(|w| w[0] < w[1]) && v.windows(2).all(|w| w[0] < w[1]));
    }

    // ------------------------------------------------ never panics

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = IdxArray::parse(&bytes);
        let _ = IdxArray::decode(&bytes);
        let _ = IdxArray::read(&bytes[..]);
        let mut gz = vec![0x1f, 0x8b];
        gz.extend_from_slice(&bytes);
        let _ = IdxArray::decode(&gz);
    }

    #[test]
    fn random_headers_never_panic(magic in prop::array::uniform4(0u8..16), dims in proptest::collection::vec(any::<u32>(), 0..6), tail in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut b = magic.to_vec();
        for d in &dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend_from_slice(&tail);
        let r = IdxArray::parse(&b);
        prop_assert_eq!(r.is_ok(), IdxArray::read(&b[..]).is_ok());
        if let Ok(a) = r {
            prop_assert_eq!(&a.to_bytes(), &b);
        }
        let _ = IdxArray::decode(&gzip(&b));
    }

    #[test]
    fn arrays_round_trip(dims in proptest::collection::vec(0u32..5, 1..=4), seed: u8) {
        let n: u32 = dims.iter().product();
        let data: Vec<u8> = (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
        let b = idx(&dims, &data);
        let a = IdxArray::parse(&b).unwrap();
        prop_assert_eq!(a.data(), &data[..]);
        prop_assert_eq!(IdxArray::decode(&gzip(&b)).unwrap(), a);
    }

    #[test]
    fn corrupted_gzip_never_panics(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4), cut in any::<prop::sample::Index>()) {
        let gz = gzip(&idx(&[3, 4, 5], &[7; 60]));
        let mut b = gz.clone();
        for (i, v) in &flips {
            let i = i.index(b.len());
            b[i] = *v;
        }
        let _ = IdxArray::decode(&b);
        let n = cut.index(gz.len());
        prop_assert!(IdxArray::decode(&gz[..n]).is_err());
    }
}
