//! Arbitrary bytes into the safetensors loader (the reference `safetensors`
//! parser under typegrad's checks): parsing must return an error or a valid
//! file, loading into a model must be all or nothing with or without F16/BF16
//! conversion, and a file that loads must save back and reload to the same
//! values.
//!
//! Seed corpus: `fuzz/corpus/safetensors/` (valid files of several dtypes,
//! shapes, empty tensors, metadata), written by the test
//! `fuzz_seed_corpus_is_current` in `tests/io.rs`. Run with a separate
//! folder first, so that new inputs land there and the seeds stay clean:
//!     cargo +nightly fuzz run safetensors target/corpus-safetensors corpus/safetensors
#![no_main]

use libfuzzer_sys::fuzz_target;
use typegrad::io::safetensors::{self, LoadOptions, SafeTensors};
use typegrad::nn::{ParamPath, Params};
use typegrad::prelude::*;

/// Names `0`, `1`, `2`; the last is empty (shape [0, 2]), as in the seeds.
type Model<E> = (
    Tensor<(u!(2), u!(3)), E>,
    Tensor<(u!(3),), E>,
    Tensor<(Dyn, u!(2)), E>,
);

fn model<E: Dtype>(a: f64, b: f64) -> Model<E> {
    let dev = Cpu::default();
    (
        Tensor::full(Default::default(), E::from_f64(a), &dev),
        Tensor::full(Default::default(), E::from_f64(b), &dev),
        Tensor::zeros((Dyn(0), Default::default()), &dev),
    )
}

fn values<E: Dtype>(m: &Model<E>) -> Vec<u64> {
    let mut out = Vec::new();
    m.visit_params(&mut ParamPath::default(), &mut |_, p| {
        out.extend(p.device.download(p.data).iter().map(|x| Dtype::to_f64(*x).to_bits()))
    });
    out
}

/// Load `data` into a model of `E`; a failure must leave it unchanged, a
/// success must round-trip through `to_bytes`.
fn check<E: Dtype>(data: &[u8], opts: LoadOptions) {
    let mut m = model::<E>(0.5, -1.0);
    let before = values(&m);
    match safetensors::load_from_bytes_with(&mut m, data, opts) {
        Err(_) => assert_eq!(values(&m), before, "a failed load changed the model"),
        Ok(()) => {
            let bytes = safetensors::to_bytes(&m).unwrap();
            let mut again = model::<E>(0.0, 0.0);
            safetensors::load_from_bytes(&mut again, &bytes).unwrap();
            assert_eq!(values(&again), values(&m));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = SafeTensors::parse(data) {
        // A valid file's tensors tile its data exactly, each as long as its
        // dtype and shape need.
        let total: usize = file.tensors().iter().map(|t| t.data().len()).sum();
        assert!(total <= data.len());
        for t in file.tensors() {
            let bits = t.shape().iter().product::<usize>() * t.dtype().bitsize();
            assert_eq!(t.data().len() * 8, bits, "{}", t.name());
            let _ = t.to_vec_with::<f32>(LoadOptions::default().convert_half(true));
        }
    }
    for opts in [LoadOptions::default(), LoadOptions::default().convert_half(true)] {
        check::<f32>(data, opts);
        check::<f64>(data, opts);
    }
});
