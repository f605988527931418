//! The networks the firmware runs, shared with the host test
//! (`tests/embedded_qemu.rs` includes this file), so both sides run the
//! same types on the same checkpoints.
//!
//! [`Mlp`] is `examples/mnist_mlp.rs`'s model: the same fields, so the
//! same `state_dict` names (`fc1.weight`, ...) and shapes; its checkpoint
//! loads strictly. LeNet is the library's own `typegrad::models::LeNet`.
//!
//! The firmware builds both straight from their embedded checkpoints
//! ([`Mlp::from_checkpoint`], [`lenet_from_checkpoint`]): every parameter
//! reads its tensor in place from flash (`SafeTensors::borrow_tensor`), so
//! no parameter is ever allocated, not even as zeros, and then
//! `safetensors::load_static_with` checks the whole file strictly (names,
//! shapes, dtypes, nothing extra) and that every tensor is borrowed. The
//! host builds them with zeros ([`Mlp::zeros`], [`lenet_zeros`]) and loads
//! with `load_from_bytes`, which copies: the host test compares the two
//! paths. Zeros rather than the random initialisation of `new`, which
//! would draw a second buffer per parameter only to be overwritten.

use alloc::format;
use typegrad::io::safetensors::{self, LoadOptions, SafeTensors, SafetensorsError, StaticLoad};
use typegrad::models::LeNet;
use typegrad::nn::{Conv2d, Dropout, Flatten, Linear, Module, ReLU};
use typegrad::prelude::*;
use typegrad::shape::StaticDim;

/// A flattened 28x28 image.
pub type Pixels = u!(784);

/// 784 -> 256 -> 128 -> 10 with ReLU; dropout only acts on tracked
/// (training) inputs, so inference skips it.
#[derive(Module)]
#[module(sequential)]
pub struct Mlp {
    fc1: Linear<Pixels, u!(256)>,
    act1: ReLU,
    drop1: Dropout,
    fc2: Linear<u!(256), u!(128)>,
    act2: ReLU,
    drop2: Dropout,
    fc3: Linear<u!(128), u!(10)>,
}

impl Mlp {
    /// The model with every parameter zero, for a checkpoint to fill (the
    /// host test's copying path; the firmware builds on its checkpoint).
    #[allow(dead_code)]
    pub fn zeros(dev: &Cpu) -> Self {
        Mlp {
            fc1: linear_zeros(dev),
            act1: ReLU,
            drop1: Dropout::new(0.1),
            fc2: linear_zeros(dev),
            act2: ReLU,
            drop2: Dropout::new(0.1),
            fc3: linear_zeros(dev),
        }
    }
}

impl Mlp {
    /// The model reading every parameter in place from `bytes`, a
    /// checkpoint embedded with `typegrad::include_aligned!`: nothing is
    /// allocated for the weights. The load is strict, and fails (rather
    /// than copy) if a tensor cannot be read in place.
    pub fn from_checkpoint(
        bytes: &'static [u8],
        dev: &Cpu,
    ) -> Result<(Self, StaticLoad), SafetensorsError> {
        let file = SafeTensors::parse(bytes)?;
        let mut m = Mlp {
            fc1: linear_borrowed(&file, "fc1", dev)?,
            act1: ReLU,
            drop1: Dropout::new(0.1),
            fc2: linear_borrowed(&file, "fc2", dev)?,
            act2: ReLU,
            drop2: Dropout::new(0.1),
            fc3: linear_borrowed(&file, "fc3", dev)?,
        };
        drop(file);
        let report = check_borrowed(&mut m, bytes)?;
        Ok((m, report))
    }
}

/// The library's LeNet reading every parameter in place from `bytes` (see
/// [`Mlp::from_checkpoint`]).
pub fn lenet_from_checkpoint(
    bytes: &'static [u8],
    dev: &Cpu,
) -> Result<(LeNet, StaticLoad), SafetensorsError> {
    let file = SafeTensors::parse(bytes)?;
    let mut m = LeNet {
        conv1: Conv2d::from_tensors(
            file.borrow_tensor("conv1.weight", dev)?,
            Some(file.borrow_tensor("conv1.bias", dev)?),
        ),
        pool1: Default::default(),
        act1: ReLU,
        conv2: Conv2d::from_tensors(
            file.borrow_tensor("conv2.weight", dev)?,
            Some(file.borrow_tensor("conv2.bias", dev)?),
        ),
        pool2: Default::default(),
        act2: ReLU,
        flatten: Flatten,
        fc1: linear_borrowed(&file, "fc1", dev)?,
        act3: ReLU,
        fc2: linear_borrowed(&file, "fc2", dev)?,
    };
    drop(file);
    let report = check_borrowed(&mut m, bytes)?;
    Ok((m, report))
}

/// The strict whole-file check on a model built from `bytes`: every
/// parameter in the file with its shape and dtype, nothing else in the
/// file, every tensor read in place (the parameters already borrow
/// exactly these bytes, so this allocates nothing for them).
fn check_borrowed<M: typegrad::nn::Params<f32, Cpu>>(
    m: &mut M,
    bytes: &'static [u8],
) -> Result<StaticLoad, SafetensorsError> {
    safetensors::load_static_with(m, bytes, LoadOptions::default().require_borrow(true))
}

fn linear_borrowed<I: StaticDim, O: StaticDim>(
    file: &SafeTensors<'static>,
    name: &str,
    dev: &Cpu,
) -> Result<Linear<I, O>, SafetensorsError> {
    Ok(Linear::from_tensors(
        file.borrow_tensor(&format!("{name}.weight"), dev)?,
        Some(file.borrow_tensor(&format!("{name}.bias"), dev)?),
    ))
}

/// The library's LeNet with every parameter zero, for a checkpoint to fill
/// (the host test's copying path).
#[allow(dead_code)]
pub fn lenet_zeros(dev: &Cpu) -> LeNet {
    LeNet {
        conv1: Conv2d::from_tensors(
            Tensor::zeros(Default::default(), dev),
            Some(Tensor::zeros(Default::default(), dev)),
        ),
        pool1: Default::default(),
        act1: ReLU,
        conv2: Conv2d::from_tensors(
            Tensor::zeros(Default::default(), dev),
            Some(Tensor::zeros(Default::default(), dev)),
        ),
        pool2: Default::default(),
        act2: ReLU,
        flatten: Flatten,
        fc1: linear_zeros(dev),
        act3: ReLU,
        fc2: linear_zeros(dev),
    }
}

fn linear_zeros<I: StaticDim, O: StaticDim, E: Dtype>(dev: &Cpu) -> Linear<I, O, E> {
    Linear::from_tensors(
        Tensor::zeros(Default::default(), dev),
        Some(Tensor::zeros(Default::default(), dev)),
    )
}

/// The MLP's last layer with the wrong width: loading the MLP checkpoint
/// into it must fail with a shape error naming `fc3.weight`.
#[derive(Module)]
pub struct WrongWidth {
    fc3: Linear<u!(128), u!(12)>,
}

impl WrongWidth {
    /// The model, zero.
    pub fn zeros(dev: &Cpu) -> Self {
        WrongWidth {
            fc3: linear_zeros(dev),
        }
    }
}

/// The MLP's last layer in `f64`: loading the (`F32`) checkpoint into it
/// must fail with a dtype error naming `fc3.weight`.
#[derive(Module)]
pub struct WrongDtype {
    fc3: Linear<u!(128), u!(10), f64>,
}

impl WrongDtype {
    /// The model, zero.
    pub fn zeros(dev: &Cpu) -> Self {
        WrongDtype {
            fc3: linear_zeros(dev),
        }
    }
}

/// One image as the MLP's input, `(1, 784)`, normalised as the training
/// example normalised it (`Normalize::MNIST`).
pub fn mlp_input(pixels: &[u8], dev: &Cpu) -> Tensor<(u!(1), Pixels)> {
    Tensor::from_vec_static(normalise(pixels), dev)
}

/// One image as LeNet's input, `(1, 1, 28, 28)`.
pub fn lenet_input(pixels: &[u8], dev: &Cpu) -> Tensor<(u!(1), u!(1), u!(28), u!(28))> {
    Tensor::from_vec_static(normalise(pixels), dev)
}

fn normalise(pixels: &[u8]) -> alloc::vec::Vec<f32> {
    use typegrad::data::Normalize;
    pixels
        .iter()
        .map(|&p| Normalize::MNIST.apply(p) as f32)
        .collect()
}

/// The index of the largest logit (the first one on ties, as
/// `argmax_axis` picks it).
pub fn argmax(logits: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best
}
