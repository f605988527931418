//! LeNet-style convolutional classifiers for 28x28 grey-level images.

use crate::backend::{Backend, Cpu};
use crate::dtype::Dtype;
use crate::nn::{Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU};
use crate::shape::{Dim, StaticDim};
use typenum::{U0, U1, U10, U120, U16, U2, U200, U256, U3, U32, U5, U6, U64, U84};

/// The book's LeNet-like network (figure 5.2): two convolutions with max
/// pooling act as the feature extractor, an MLP with one hidden layer as
/// the classifier.
///
/// ```text
/// 1x28x28 -conv5-> 32x24x24 -maxpool3-> 32x8x8 -relu-> -conv5-> 64x4x4
///         -maxpool2-> 64x2x2 -relu-> flatten 256 -fc-> 200 -relu-> -fc-> 10
/// ```
///
/// The input channel count (`C`, 1 for MNIST) is a type parameter; the
/// spatial sizes are checked by the compiler when `forward` is called.
/// 105,506 parameters for one input channel.
///
/// ```
/// use typegrad::models::LeNet;
/// use typegrad::nn::{Module, Params};
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// let net: LeNet = LeNet::new(&dev);
/// assert_eq!(net.num_params(), 105_506);
/// let x: Tensor<(Dyn, u!(1), u!(28), u!(28))> = Tensor::zeros((Dyn(2), Default::default(), Default::default(), Default::default()), &dev);
/// let logits = net.forward(x); // Tensor<(Dyn, U10)>
/// assert_eq!(&*logits.dims(), &[2, 10]);
/// ```
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate, sequential)]
pub struct LeNet<C: Dim = U1, E: Dtype = f32, D: Backend = Cpu> {
    /// `C -> 32` channels, 5x5.
    pub conv1: Conv2d<C, U32, U5, U1, U0, U1, U1, E, D>,
    /// 3x3 max pooling, stride 3.
    pub pool1: MaxPool2d<U3>,
    /// ReLU.
    pub act1: ReLU,
    /// `32 -> 64` channels, 5x5.
    pub conv2: Conv2d<U32, U64, U5, U1, U0, U1, U1, E, D>,
    /// 2x2 max pooling, stride 2.
    pub pool2: MaxPool2d<U2>,
    /// ReLU.
    pub act2: ReLU,
    /// `64x2x2 -> 256`.
    pub flatten: Flatten,
    /// `256 -> 200`.
    pub fc1: Linear<U256, U200, E, D>,
    /// ReLU.
    pub act3: ReLU,
    /// `200 -> 10` logits.
    pub fc2: Linear<U200, U10, E, D>,
}

impl<C: StaticDim, E: Dtype, D: Backend> LeNet<C, E, D> {
    /// PyTorch's default initialisation, drawn from the device's seeded
    /// stream.
    pub fn new(device: &D) -> Self {
        LeNet {
            conv1: Conv2d::new(device),
            pool1: Default::default(),
            act1: ReLU,
            conv2: Conv2d::new(device),
            pool2: Default::default(),
            act2: ReLU,
            flatten: Flatten,
            fc1: Linear::new(device),
            act3: ReLU,
            fc2: Linear::new(device),
        }
    }
}

/// LeCun et al.'s LeNet-5 as PyTorch users write it (the definition of
/// the `lenet_train_b64` benchmark): 6 and 16 channels of 5x5 convolutions,
/// each followed by ReLU and 2x2 max pooling, then 256 -> 120 -> 84 -> 10.
/// 44,426 parameters.
///
/// ```
/// use typegrad::models::LeNet5;
/// use typegrad::nn::{Module, Params};
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// let net: LeNet5 = LeNet5::new(&dev);
/// assert_eq!(net.num_params(), 44_426);
/// let x: Tensor<(u!(1), u!(1), u!(28), u!(28))> = Tensor::zeros(Default::default(), &dev);
/// let logits: Tensor<(u!(1), u!(10))> = net.forward(x);
/// # let _ = logits;
/// ```
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate, sequential)]
pub struct LeNet5<E: Dtype = f32, D: Backend = Cpu> {
    /// `1 -> 6` channels, 5x5.
    pub conv1: Conv2d<U1, U6, U5, U1, U0, U1, U1, E, D>,
    /// ReLU.
    pub act1: ReLU,
    /// 2x2 max pooling.
    pub pool1: MaxPool2d<U2>,
    /// `6 -> 16` channels, 5x5.
    pub conv2: Conv2d<U6, U16, U5, U1, U0, U1, U1, E, D>,
    /// ReLU.
    pub act2: ReLU,
    /// 2x2 max pooling.
    pub pool2: MaxPool2d<U2>,
    /// `16x4x4 -> 256`.
    pub flatten: Flatten,
    /// `256 -> 120`.
    pub fc1: Linear<U256, U120, E, D>,
    /// ReLU.
    pub act3: ReLU,
    /// `120 -> 84`.
    pub fc2: Linear<U120, U84, E, D>,
    /// ReLU.
    pub act4: ReLU,
    /// `84 -> 10` logits.
    pub fc3: Linear<U84, U10, E, D>,
}

impl<E: Dtype, D: Backend> LeNet5<E, D> {
    /// PyTorch's default initialisation, drawn from the device's seeded
    /// stream.
    pub fn new(device: &D) -> Self {
        LeNet5 {
            conv1: Conv2d::new(device),
            act1: ReLU,
            pool1: Default::default(),
            conv2: Conv2d::new(device),
            act2: ReLU,
            pool2: Default::default(),
            flatten: Flatten,
            fc1: Linear::new(device),
            act3: ReLU,
            fc2: Linear::new(device),
            act4: ReLU,
            fc3: Linear::new(device),
        }
    }
}

#[allow(unused_imports)]
use Module as _;
