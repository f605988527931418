//! Arbitrary bytes into the safetensors loader: parsing must return an
//! error or a valid file, loading into a model must be all or nothing, and
//! a file that loads must save back and reload to the same values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use typegrad::io::safetensors::{self, SafeTensors};
use typegrad::nn::{ParamPath, Params};
use typegrad::prelude::*;

type Model = (Tensor<(u!(2), u!(3)), f32>, Tensor<(u!(3),), f32>);

fn values(m: &Model) -> Vec<u32> {
    let mut out = Vec::new();
    m.visit_params(&mut ParamPath::default(), &mut |_, p| {
        out.extend(p.device.download(p.data).iter().map(|x| x.to_bits()))
    });
    out
}

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = SafeTensors::parse(data) {
        // A valid file's tensors tile its data exactly.
        let total: usize = file.tensors().iter().map(|t| t.data().len()).sum();
        assert!(total <= data.len());
    }
    let dev = Cpu::default();
    let mut m: Model = (
        Tensor::full(Default::default(), 0.5, &dev),
        Tensor::full(Default::default(), -1.0, &dev),
    );
    let before = values(&m);
    match safetensors::load_from_bytes(&mut m, data) {
        Err(_) => assert_eq!(values(&m), before, "a failed load changed the model"),
        Ok(()) => {
            let bytes = safetensors::to_bytes(&m).unwrap();
            let mut again: Model = (
                Tensor::zeros(Default::default(), &dev),
                Tensor::zeros(Default::default(), &dev),
            );
            safetensors::load_from_bytes(&mut again, &bytes).unwrap();
            assert_eq!(values(&again), values(&m));
        }
    }
    let mut f64_model = (Tensor::<(u!(2),), f64>::zeros(Default::default(), &dev),);
    let _ = safetensors::load_from_bytes(&mut f64_model, data);
});
