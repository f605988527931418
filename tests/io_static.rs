//! Parameters that borrow a `'static` checkpoint (`load_static`,
//! `SafeTensors::borrow_tensor`, `include_aligned!`): kernels reading
//! borrowed storage give exactly what they give on owned storage, writes
//! (an optimizer step, running statistics) copy on write and leave the
//! bytes alone, misaligned or converted tensors are copied (or refused
//! with `require_borrow`), and our files keep every tensor aligned.

use proptest::prelude::*;
use typegrad::backend::cpu::CpuStorage;
use typegrad::io::safetensors::{self, LoadOptions, SafeDtype, SafeTensors, SafetensorsError};
use typegrad::loss::cross_entropy;
use typegrad::nn::{BatchNorm2d, Conv2d, Flatten, Linear, Module, Params, ReLU};
use typegrad::optim::{Optimizer, Sgd, SgdConfig};
use typegrad::prelude::*;

/// Conv, batch norm (two buffers and a counter), ReLU, linear: most kernel
/// families read their parameters here.
#[derive(Module)]
#[module(sequential)]
struct Net<E: Dtype> {
    conv: Conv2d<u!(2), u!(3), u!(3), u!(1), u!(0), u!(1), u!(1), E>,
    bn: BatchNorm2d<u!(3), E>,
    act: ReLU,
    flatten: Flatten,
    fc: Linear<u!(48), u!(5), E>,
}

type Input<E> = Tensor<(Dyn, u!(2), u!(6), u!(6)), E>;

/// A net with every parameter and buffer drawn from `seed` (running
/// variances positive, the counter a whole number).
fn net<E: Dtype>(seed: u64) -> Net<E> {
    let dev = Cpu::seeded(seed);
    let mut m = Net {
        conv: Conv2d::new(&dev),
        bn: BatchNorm2d::new(&dev),
        act: ReLU,
        flatten: Flatten,
        fc: Linear::new(&dev),
    };
    let mut k = 0u64;
    m.visit_params_mut(&mut Default::default(), &mut |path, p| {
        k += 1;
        let name = path.name();
        let n = p.dims.iter().product::<usize>();
        let v: Vec<E> = (0..n)
            .map(|i| {
                let x = ((seed ^ (k * 7919 + i as u64 * 104_729)) % 2001) as f64 / 1000.0 - 1.0;
                E::from_f64(if name.ends_with("running_var") {
                    x.abs() + 0.5
                } else if name.ends_with("num_batches_tracked") {
                    (seed % 17) as f64
                } else {
                    x
                })
            })
            .collect();
        *p.data = p.device.upload(v);
    });
    m
}

fn zero_net<E: Dtype>() -> Net<E> {
    let dev = Cpu::default();
    let mut m = net::<E>(0);
    m.visit_params_mut(&mut Default::default(), &mut |_, p| {
        let n = p.dims.iter().product::<usize>();
        *p.data = dev.upload(vec![E::default(); n]);
    });
    m
}

/// `bytes` copied into leaked memory starting `shift` bytes past a 16-byte
/// boundary: a checkpoint that lives for the whole program, with its
/// alignment chosen by the test.
fn leak_at(bytes: &[u8], shift: usize) -> &'static [u8] {
    let words: &'static mut [u128] = Vec::leak(vec![0u128; (bytes.len() + shift).div_ceil(16) + 1]);
    let all: &'static mut [u8] = bytemuck::cast_slice_mut(words);
    let out = &mut all[shift..shift + bytes.len()];
    out.copy_from_slice(bytes);
    out
}

/// Every storage of `m` (name, borrowed?, data pointer).
fn storages<E: Dtype>(m: &Net<E>) -> Vec<(String, bool, usize)> {
    let mut v = Vec::new();
    m.visit_params(&mut Default::default(), &mut |path, p| {
        v.push((path.name(), p.data.is_borrowed(), p.data.as_ptr() as usize));
    });
    v
}

fn values<E: Dtype>(m: &Net<E>) -> Vec<(String, Vec<E>)> {
    let mut v = Vec::new();
    m.visit_params(&mut Default::default(), &mut |path, p| {
        v.push((path.name(), p.data.to_vec()));
    });
    v
}

fn input<E: Dtype>(seed: u64, batch: usize) -> Input<E> {
    Tensor::randn(
        (
            Dyn(batch),
            Default::default(),
            Default::default(),
            Default::default(),
        ),
        0.0,
        1.0,
        &Cpu::seeded(seed),
    )
}

/// Loads the same file through `load_from_bytes` (owned) and `load_static`
/// (borrowed) and checks that every parameter except the counter borrows
/// the file and both give bit-identical outputs.
fn both_paths_agree<E: Dtype>(seed: u64, batch: usize)
where
    Net<E>: Module<Input<E>, Output = Tensor<(Dyn, u!(5)), E>>,
{
    let bytes = leak_at(&safetensors::to_bytes(&net::<E>(seed)).unwrap(), 0);
    let mut owned = zero_net::<E>();
    safetensors::load_from_bytes(&mut owned, bytes).unwrap();
    let mut borrowed = zero_net::<E>();
    let report = safetensors::load_static(&mut borrowed, bytes).unwrap();
    assert_eq!(report.borrowed, 8, "{report:?}");
    assert_eq!(
        report.copied,
        vec![(
            "bn.num_batches_tracked".to_string(),
            "a counter, stored as I64".to_string()
        )]
    );
    let range = bytes.as_ptr() as usize..bytes.as_ptr() as usize + bytes.len();
    for (name, is_borrowed, ptr) in storages(&borrowed) {
        let counter = name.ends_with("num_batches_tracked");
        assert_eq!(is_borrowed, !counter, "{name}");
        assert_eq!(range.contains(&ptr), !counter, "{name}");
    }
    assert_eq!(values(&owned), values(&borrowed));
    let x = input::<E>(seed, batch);
    let a = owned.forward(x.clone()).to_vec();
    let b = borrowed.forward(x).to_vec();
    assert_eq!(a, b);
}

#[test]
fn kernels_read_borrowed_parameters_as_owned_ones_f32() {
    both_paths_agree::<f32>(3, 4);
}

#[test]
fn kernels_read_borrowed_parameters_as_owned_ones_f64() {
    both_paths_agree::<f64>(5, 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn random_models_load_equal_through_both_paths(seed in any::<u64>(), batch in 1usize..4) {
        both_paths_agree::<f32>(seed, batch);
    }
}

/// One training step (SGD on the parameters, running statistics on the
/// batch-norm buffers) on a borrowed model: every written parameter is
/// copied on write, the checkpoint's bytes stay as they were, and the
/// result is bit for bit the owned model's.
#[test]
fn a_training_step_copies_on_write_and_leaves_the_bytes() {
    let bytes = leak_at(&safetensors::to_bytes(&net::<f64>(11)).unwrap(), 0);
    let snapshot = bytes.to_vec();
    let mut owned = zero_net::<f64>();
    safetensors::load_from_bytes(&mut owned, bytes).unwrap();
    let mut borrowed = zero_net::<f64>();
    safetensors::load_static(&mut borrowed, bytes).unwrap();
    let before = values(&borrowed);
    let labels = Tensor::<(Dyn,), usize>::from_vec((Dyn(3),), vec![0, 4, 2], &Cpu::default());
    for m in [&mut owned, &mut borrowed] {
        let mut opt = Sgd::new(SgdConfig {
            lr: 0.1,
            ..Default::default()
        })
        .unwrap();
        let loss = cross_entropy(m.forward(input::<f64>(1, 3).trace()), &labels);
        opt.step(m, &loss.backward()).unwrap();
    }
    assert_eq!(bytes, &snapshot[..], "the checkpoint was written");
    assert_eq!(values(&owned), values(&borrowed));
    for ((name, is_borrowed, _), (_, old)) in storages(&borrowed).into_iter().zip(before) {
        assert!(!is_borrowed, "{name} still borrows after being written");
        let now = values(&borrowed)
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1;
        // Batch norm right after the convolution cancels the conv bias's
        // gradient: it is written (so copied) but keeps its values.
        if name != "conv.bias" {
            assert_ne!(now, old, "{name} did not change");
        }
    }
    // The file still loads to the values it held.
    let mut again = zero_net::<f64>();
    safetensors::load_static(&mut again, bytes).unwrap();
    let mut fresh = zero_net::<f64>();
    safetensors::load_from_bytes(&mut fresh, &snapshot).unwrap();
    assert_eq!(values(&again), values(&fresh));
}

/// An in-place write through the storage itself (what every optimizer
/// kernel does) copies a borrowed buffer first.
#[test]
fn make_mut_on_a_borrowed_parameter_copies() {
    static W: [f32; 3] = [1.0, 2.0, 3.0];
    let dev = Cpu::default();
    let mut t = Tensor::<(u!(3),), f32>::from_static_slice(Default::default(), &W, &dev);
    t.visit_params_mut(&mut Default::default(), &mut |_, p| {
        CpuStorage::make_mut(p.data)[0] = 5.0;
    });
    assert_eq!(t.to_vec(), vec![5.0, 2.0, 3.0]);
    assert!(!t.storage().is_borrowed());
    assert_eq!(W, [1.0, 2.0, 3.0]);
}

/// One byte off: every f32 tensor is misaligned, so each is copied (named,
/// with the reason), or the load is refused with `require_borrow` and the
/// model left as it was.
#[test]
fn misaligned_bytes_are_copied_or_refused() {
    let file = safetensors::to_bytes(&net::<f32>(2)).unwrap();
    let bytes = leak_at(&file, 1);
    let mut m = zero_net::<f32>();
    let strict = LoadOptions::default().require_borrow(true);
    let err = safetensors::load_static_with(&mut m, bytes, strict).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(&err, SafetensorsError::NotBorrowable { name, .. } if name == "bn.bias"),
        "{msg}"
    );
    assert!(
        msg.starts_with("safetensors: tensor `bn.bias` cannot be read in place: its data starts at address 0x")
            && msg.ends_with(", not a multiple of 4 (the alignment of f32): embed the file with `typegrad::include_aligned!`"),
        "{msg}"
    );
    assert_eq!(
        values(&m),
        values(&zero_net::<f32>()),
        "a refused load changed the model"
    );
    let report = safetensors::load_static(&mut m, bytes).unwrap();
    assert_eq!(report.borrowed, 0);
    assert_eq!(report.copied.len(), 9);
    assert!(storages(&m).iter().all(|(_, b, _)| !b));
    assert_eq!(values(&m), values(&net::<f32>(2)));
    // f64 data 4 bytes off an 8-byte boundary is misaligned for f64 too.
    let bytes = leak_at(&safetensors::to_bytes(&net::<f64>(2)).unwrap(), 4);
    let mut m = zero_net::<f64>();
    let err = safetensors::load_static_with(&mut m, bytes, strict).unwrap_err();
    assert!(
        err.to_string()
            .contains("not a multiple of 8 (the alignment of f64)"),
        "{err}"
    );
}

/// Converted tensors (BF16 into f32) cannot be borrowed: copied with the
/// reason, refused with `require_borrow`.
#[test]
fn converted_tensors_are_copied() {
    let json = br#"{"0":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#;
    let mut file = (json.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(json);
    file.extend_from_slice(&[0x80, 0x3f, 0x40, 0xc0]); // 1.0, -3.0
    let bytes = leak_at(&file, 0);
    let dev = Cpu::default();
    let mut m = (Tensor::<(u!(2),), f32>::zeros(Default::default(), &dev),);
    let half = LoadOptions::default().convert_half(true);
    let err = safetensors::load_static_with(&mut m, bytes, half.require_borrow(true)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "safetensors: tensor `0` cannot be read in place: converted from BF16"
    );
    let report = safetensors::load_static_with(&mut m, bytes, half).unwrap();
    assert_eq!(
        report.copied,
        vec![("0".to_string(), "converted from BF16".to_string())]
    );
    assert_eq!(m.0.to_vec(), vec![1.0, -3.0]);
    // Without convert_half it is the usual dtype error.
    let err = safetensors::load_static(&mut m, bytes).unwrap_err();
    assert!(err
        .to_string()
        .starts_with("safetensors: tensor `0` has dtype BF16 in the file, the model needs F32"));
}

/// `require_borrow` with bytes that do not outlive the call.
#[test]
fn require_borrow_refuses_a_transient_buffer() {
    let dev = Cpu::default();
    let bytes =
        safetensors::to_bytes(&(Tensor::<(u!(2),), f32>::ones(Default::default(), &dev),)).unwrap();
    let mut m = (Tensor::<(u!(2),), f32>::zeros(Default::default(), &dev),);
    let err = safetensors::load_from_bytes_with(
        &mut m,
        &bytes,
        LoadOptions::default().require_borrow(true),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "safetensors: tensor `0` cannot be read in place: the bytes do not outlive this call (load a `&'static [u8]` with `load_static`)"
    );
    assert_eq!(m.0.to_vec(), vec![0.0, 0.0]);
}

/// Missing, extra, wrong-shape and wrong-dtype tensors: `load_static` gives
/// `load_from_bytes`'s errors, and `borrow_tensor` the same messages.
#[test]
fn mismatches_are_the_same_errors() {
    let dev = Cpu::default();
    let saved = (
        Tensor::<(u!(2), u!(3)), f32>::ones(Default::default(), &dev),
        Tensor::<(u!(4),), f32>::ones(Default::default(), &dev),
    );
    let bytes = leak_at(&safetensors::to_bytes(&saved).unwrap(), 0);
    let shape = |m: &mut (Tensor<(u!(3), u!(2)), f32>, Tensor<(u!(4),), f32>)| {
        (
            safetensors::load_from_bytes(m, bytes)
                .unwrap_err()
                .to_string(),
            safetensors::load_static(m, bytes).unwrap_err().to_string(),
        )
    };
    let (a, b) = shape(&mut (
        Tensor::zeros(Default::default(), &dev),
        Tensor::zeros(Default::default(), &dev),
    ));
    assert_eq!(a, b);
    assert_eq!(
        a,
        "safetensors: tensor `0` has shape [2, 3] in the file, the model needs [3, 2]"
    );
    let mut wide = (
        Tensor::<(u!(2), u!(3)), f64>::zeros(Default::default(), &dev),
        Tensor::<(u!(4),), f64>::zeros(Default::default(), &dev),
    );
    let a = safetensors::load_from_bytes(&mut wide, bytes)
        .unwrap_err()
        .to_string();
    assert_eq!(
        a,
        safetensors::load_static(&mut wide, bytes)
            .unwrap_err()
            .to_string()
    );
    let mut short = (Tensor::<(u!(2), u!(3)), f32>::zeros(
        Default::default(),
        &dev,
    ),);
    let a = safetensors::load_from_bytes(&mut short, bytes)
        .unwrap_err()
        .to_string();
    assert_eq!(
        a,
        safetensors::load_static(&mut short, bytes)
            .unwrap_err()
            .to_string()
    );
    assert_eq!(
        a,
        "safetensors: the file has tensors the model does not: `1`"
    );
    let mut long = (
        Tensor::<(u!(2), u!(3)), f32>::zeros(Default::default(), &dev),
        Tensor::<(u!(4),), f32>::zeros(Default::default(), &dev),
        Tensor::<(u!(1),), f32>::zeros(Default::default(), &dev),
    );
    let a = safetensors::load_from_bytes(&mut long, bytes)
        .unwrap_err()
        .to_string();
    assert_eq!(
        a,
        safetensors::load_static(&mut long, bytes)
            .unwrap_err()
            .to_string()
    );

    let file = SafeTensors::parse(bytes).unwrap();
    let e = file
        .borrow_tensor::<(u!(3), u!(2)), f32, Cpu>("0", &dev)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "safetensors: tensor `0` has shape [2, 3] in the file, the model needs [3, 2]"
    );
    let e = file
        .borrow_tensor::<(u!(4),), f64, Cpu>("1", &dev)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "safetensors: tensor `1` has dtype F32 in the file, the model needs F64"
    );
    let e = file
        .borrow_tensor::<(u!(4),), f32, Cpu>("2", &dev)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "safetensors: tensor `2` (shape [4]) is missing from the file"
    );
    let t = file.borrow_tensor::<(u!(4),), f32, Cpu>("1", &dev).unwrap();
    assert!(t.storage().is_borrowed());
    assert_eq!(t.to_vec(), vec![1.0; 4]);
    // Misaligned: `borrow_tensor` copies, `as_static` says why.
    let shifted = leak_at(&safetensors::to_bytes(&saved).unwrap(), 2);
    let file = SafeTensors::parse(shifted).unwrap();
    let t = file.borrow_tensor::<(u!(4),), f32, Cpu>("1", &dev).unwrap();
    assert!(!t.storage().is_borrowed());
    assert_eq!(t.to_vec(), vec![1.0; 4]);
    assert!(matches!(
        file.get("1").unwrap().as_static::<f32>(),
        Err(SafetensorsError::NotBorrowable { .. })
    ));
}

/// The firmware's MLP, by its `state_dict` names.
#[derive(Module)]
#[module(sequential)]
struct EmbeddedMlp {
    fc1: Linear<u!(784), u!(256)>,
    act1: ReLU,
    fc2: Linear<u!(256), u!(128)>,
    act2: ReLU,
    fc3: Linear<u!(128), u!(10)>,
}

impl EmbeddedMlp {
    fn zeros(dev: &Cpu) -> Self {
        EmbeddedMlp {
            fc1: Linear::from_tensors(
                Tensor::zeros(Default::default(), dev),
                Some(Tensor::zeros(Default::default(), dev)),
            ),
            act1: ReLU,
            fc2: Linear::from_tensors(
                Tensor::zeros(Default::default(), dev),
                Some(Tensor::zeros(Default::default(), dev)),
            ),
            act2: ReLU,
            fc3: Linear::from_tensors(
                Tensor::zeros(Default::default(), dev),
                Some(Tensor::zeros(Default::default(), dev)),
            ),
        }
    }
}

/// A checkpoint embedded with `include_aligned!` (the firmware's MLP) loads
/// entirely in place, even when every tensor is required to be borrowed,
/// and classifies as the copied model does.
#[test]
fn include_aligned_checkpoints_load_in_place() {
    static MLP: &[u8] =
        typegrad::include_aligned!("../examples/embedded/assets/mnist_mlp.safetensors");
    assert_eq!(MLP.as_ptr() as usize % 16, 0);
    let on_disk = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/embedded/assets/mnist_mlp.safetensors"
    ))
    .unwrap();
    assert_eq!(MLP, &on_disk[..]);
    let dev = Cpu::default();
    let mut borrowed = EmbeddedMlp::zeros(&dev);
    let strict = LoadOptions::default().require_borrow(true);
    let report = safetensors::load_static_with(&mut borrowed, MLP, strict).unwrap();
    assert_eq!(
        (report.borrowed, report.borrowed_bytes),
        (6, borrowed.num_params() * 4)
    );
    assert!(report.copied.is_empty());
    let mut owned = EmbeddedMlp::zeros(&dev);
    safetensors::load_from_bytes(&mut owned, &on_disk).unwrap();
    let x: Tensor<(Dyn, u!(784))> = Tensor::randn((Dyn(3), Default::default()), 0.0, 1.0, &dev);
    assert_eq!(
        borrowed.forward(x.clone()).to_vec(),
        owned.forward(x).to_vec()
    );
}

/// The files we write keep every tensor aligned for its dtype (the header
/// is padded to 8 bytes and tensors are sorted by dtype, widest first),
/// whatever the header's length.
#[test]
fn our_files_keep_every_tensor_aligned() {
    let dev = Cpu::default();
    for seed in 0..6 {
        let bytes = safetensors::to_bytes(&net::<f32>(seed)).unwrap();
        check_aligned(&bytes);
        check_aligned(&safetensors::to_bytes(&net::<f64>(seed)).unwrap());
    }
    // Odd-length names and an odd number of f32 values.
    for n in 1..12usize {
        let name_len_model = (
            Tensor::<(Dyn,), f32>::ones((Dyn(n),), &dev),
            Tensor::<(u!(3),), f32>::ones(Default::default(), &dev),
        );
        check_aligned(&safetensors::to_bytes(&name_len_model).unwrap());
    }
}

fn check_aligned(bytes: &[u8]) {
    let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(header % 8, 0, "header length {header}");
    let file = SafeTensors::parse(bytes).unwrap();
    for t in file.tensors() {
        let offset = t.data().as_ptr() as usize - bytes.as_ptr() as usize;
        let size = match t.dtype() {
            SafeDtype::F32 => 4,
            SafeDtype::F64 | SafeDtype::I64 => 8,
            d => panic!("unexpected dtype {d}"),
        };
        assert_eq!(offset % size, 0, "tensor `{}` at byte {offset}", t.name());
    }
}
