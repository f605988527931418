//! Residual networks (book §5.2, figures 5.3 to 5.5): the blocks and
//! ResNet-18/50 as torchvision defines them, with torchvision's parameter
//! names, so a torchvision `state_dict` saved as safetensors loads as is.

use crate::backend::{Backend, Cpu};
use crate::dtype::Dtype;
use crate::nn::init::{FanMode, Init, Nonlinearity};
use crate::nn::{
    BatchNorm2d, Conv2d, GlobalAvgPool2d, Linear, MaxPool2d, Module, ParamKind, ParamPath, Params,
    ReLU,
};
use crate::nn::{Summary, SummaryRows};
use crate::shape::{Dim, Error, Shape, StaticDim};
use core::ops::Add;
use typenum::{U0, U1, U1000, U1024, U128, U2, U2048, U256, U3, U512, U64, U7};

type Out<M, X> = <M as Module<X>>::Output;
/// A 3x3 convolution with padding 1 and stride `S`, without bias.
pub type Conv3x3<CI, CO, S = U1, E = f32, D = Cpu> = Conv2d<CI, CO, U3, S, U1, U1, U1, E, D>;
/// A 1x1 convolution with stride `S`, without bias.
pub type Conv1x1<CI, CO, S = U1, E = f32, D = Cpu> = Conv2d<CI, CO, U1, S, U0, U1, U1, E, D>;
/// The projection shortcut of a block that changes the shape: a strided
/// 1x1 convolution and batch normalisation (torchvision's `downsample`,
/// parameters `downsample.0.*` and `downsample.1.*`).
pub type Downsample<CI, CO, S, E = f32, D = Cpu> =
    (Conv1x1<CI, CO, S, E, D>, BatchNorm2d<CO, E, D>);

/// The residual block of figure 5.3 as ResNet-18/34 use it ("BasicBlock"):
/// two 3x3 convolutions of `C` channels with batch normalisation, the
/// input added back, then ReLU. It keeps the shape of its input.
///
/// ```
/// use typegrad::models::BasicBlock;
/// use typegrad::nn::{Module, Params};
/// use typegrad::prelude::*;
/// let dev = Cpu::seeded(0);
/// let block: BasicBlock<u!(8)> = BasicBlock::new(&dev);
/// assert_eq!(block.num_params(), 2 * (8 * 8 * 9 + 2 * 8));
/// let x: Tensor<(Dyn, u!(8), u!(5), u!(5))> = Tensor::randn((Dyn(2), Default::default(), Default::default(), Default::default()), 0.0, 1.0, &dev);
/// let y = block.forward(x); // same type as the input
/// assert_eq!(&*y.dims(), &[2, 8, 5, 5]);
/// ```
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate)]
pub struct BasicBlock<C: Dim, E: Dtype = f32, D: Backend = Cpu> {
    /// First 3x3 convolution.
    pub conv1: Conv3x3<C, C, U1, E, D>,
    /// Its batch normalisation.
    pub bn1: BatchNorm2d<C, E, D>,
    /// Second 3x3 convolution.
    pub conv2: Conv3x3<C, C, U1, E, D>,
    /// Its batch normalisation.
    pub bn2: BatchNorm2d<C, E, D>,
}

impl<C: Dim, E: Dtype, D: Backend, X: Clone> Module<X> for BasicBlock<C, E, D>
where
    Conv3x3<C, C, U1, E, D>: Module<X, Output = X>,
    BatchNorm2d<C, E, D>: Module<X, Output = X>,
    ReLU: Module<X, Output = X>,
    X: Add<X, Output = X>,
{
    type Output = X;
    fn forward(&self, x: X) -> X {
        let h = ReLU.forward(self.bn1.forward(self.conv1.forward(x.clone())));
        let h = self.bn2.forward(self.conv2.forward(h));
        ReLU.forward(h + x)
    }
}

/// The down-sampling residual block of figure 5.4 in its ResNet-18/34 form:
/// the first 3x3 convolution has stride `S` and goes from `CI` to `CO`
/// channels, and the shortcut is a [`Downsample`] projection, so both paths
/// give `CO x H/S x W/S`.
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate)]
pub struct BasicBlockDown<CI: Dim, CO: Dim, S, E: Dtype = f32, D: Backend = Cpu> {
    /// First 3x3 convolution, stride `S`.
    pub conv1: Conv3x3<CI, CO, S, E, D>,
    /// Its batch normalisation.
    pub bn1: BatchNorm2d<CO, E, D>,
    /// Second 3x3 convolution.
    pub conv2: Conv3x3<CO, CO, U1, E, D>,
    /// Its batch normalisation.
    pub bn2: BatchNorm2d<CO, E, D>,
    /// The projection shortcut.
    pub downsample: Downsample<CI, CO, S, E, D>,
}

impl<CI: Dim, CO: Dim, S, E: Dtype, D: Backend, X: Clone> Module<X>
    for BasicBlockDown<CI, CO, S, E, D>
where
    Conv3x3<CI, CO, S, E, D>: Module<X>,
    BatchNorm2d<CO, E, D>:
        Module<Out<Conv3x3<CI, CO, S, E, D>, X>, Output = Out<Conv3x3<CI, CO, S, E, D>, X>>,
    ReLU: Module<Out<Conv3x3<CI, CO, S, E, D>, X>, Output = Out<Conv3x3<CI, CO, S, E, D>, X>>,
    Conv3x3<CO, CO, U1, E, D>:
        Module<Out<Conv3x3<CI, CO, S, E, D>, X>, Output = Out<Conv3x3<CI, CO, S, E, D>, X>>,
    Downsample<CI, CO, S, E, D>: Module<X, Output = Out<Conv3x3<CI, CO, S, E, D>, X>>,
    Out<Conv3x3<CI, CO, S, E, D>, X>: Add<Output = Out<Conv3x3<CI, CO, S, E, D>, X>>,
{
    type Output = Out<Conv3x3<CI, CO, S, E, D>, X>;
    fn forward(&self, x: X) -> Self::Output {
        let shortcut = self.downsample.forward(x.clone());
        let h = ReLU.forward(self.bn1.forward(self.conv1.forward(x)));
        let h = self.bn2.forward(self.conv2.forward(h));
        ReLU.forward(h + shortcut)
    }
}

/// The bottleneck residual block of figure 5.3 as ResNet-50 uses it: a 1x1
/// convolution from `C` down to `W` channels, a 3x3 convolution, a 1x1
/// convolution back up to `C`, each with batch normalisation (ReLU after
/// the first two), the input added back, then ReLU. It keeps the shape of
/// its input.
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate)]
pub struct Bottleneck<C: Dim, W: Dim, E: Dtype = f32, D: Backend = Cpu> {
    /// 1x1, `C -> W`.
    pub conv1: Conv1x1<C, W, U1, E, D>,
    /// Its batch normalisation.
    pub bn1: BatchNorm2d<W, E, D>,
    /// 3x3, `W -> W`.
    pub conv2: Conv3x3<W, W, U1, E, D>,
    /// Its batch normalisation.
    pub bn2: BatchNorm2d<W, E, D>,
    /// 1x1, `W -> C`.
    pub conv3: Conv1x1<W, C, U1, E, D>,
    /// Its batch normalisation.
    pub bn3: BatchNorm2d<C, E, D>,
}

impl<C: Dim, W: Dim, E: Dtype, D: Backend, X: Clone> Module<X> for Bottleneck<C, W, E, D>
where
    Conv1x1<C, W, U1, E, D>: Module<X>,
    BatchNorm2d<W, E, D>:
        Module<Out<Conv1x1<C, W, U1, E, D>, X>, Output = Out<Conv1x1<C, W, U1, E, D>, X>>,
    ReLU: Module<Out<Conv1x1<C, W, U1, E, D>, X>, Output = Out<Conv1x1<C, W, U1, E, D>, X>>
        + Module<X, Output = X>,
    Conv3x3<W, W, U1, E, D>:
        Module<Out<Conv1x1<C, W, U1, E, D>, X>, Output = Out<Conv1x1<C, W, U1, E, D>, X>>,
    Conv1x1<W, C, U1, E, D>: Module<Out<Conv1x1<C, W, U1, E, D>, X>, Output = X>,
    BatchNorm2d<C, E, D>: Module<X, Output = X>,
    X: Add<X, Output = X>,
{
    type Output = X;
    fn forward(&self, x: X) -> X {
        let h = ReLU.forward(self.bn1.forward(self.conv1.forward(x.clone())));
        let h = ReLU.forward(self.bn2.forward(self.conv2.forward(h)));
        let h = self.bn3.forward(self.conv3.forward(h));
        ReLU.forward(h + x)
    }
}

/// The down-sampling bottleneck block of figure 5.4: as [`Bottleneck`],
/// from `CI` to `CO` channels (width `W`), with stride `S` on the 3x3
/// convolution (torchvision's "ResNet v1.5") and a [`Downsample`]
/// projection on the shortcut.
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate)]
pub struct BottleneckDown<CI: Dim, W: Dim, CO: Dim, S, E: Dtype = f32, D: Backend = Cpu> {
    /// 1x1, `CI -> W`.
    pub conv1: Conv1x1<CI, W, U1, E, D>,
    /// Its batch normalisation.
    pub bn1: BatchNorm2d<W, E, D>,
    /// 3x3, `W -> W`, stride `S`.
    pub conv2: Conv3x3<W, W, S, E, D>,
    /// Its batch normalisation.
    pub bn2: BatchNorm2d<W, E, D>,
    /// 1x1, `W -> CO`.
    pub conv3: Conv1x1<W, CO, U1, E, D>,
    /// Its batch normalisation.
    pub bn3: BatchNorm2d<CO, E, D>,
    /// The projection shortcut.
    pub downsample: Downsample<CI, CO, S, E, D>,
}

type H1<CI, W, E, D, X> = Out<Conv1x1<CI, W, U1, E, D>, X>;
type H2<CI, W, S, E, D, X> = Out<Conv3x3<W, W, S, E, D>, H1<CI, W, E, D, X>>;
type H3<CI, W, CO, S, E, D, X> = Out<Conv1x1<W, CO, U1, E, D>, H2<CI, W, S, E, D, X>>;

impl<CI: Dim, W: Dim, CO: Dim, S, E: Dtype, D: Backend, X: Clone> Module<X>
    for BottleneckDown<CI, W, CO, S, E, D>
where
    Conv1x1<CI, W, U1, E, D>: Module<X>,
    BatchNorm2d<W, E, D>: Module<H1<CI, W, E, D, X>, Output = H1<CI, W, E, D, X>>
        + Module<H2<CI, W, S, E, D, X>, Output = H2<CI, W, S, E, D, X>>,
    ReLU: Module<H1<CI, W, E, D, X>, Output = H1<CI, W, E, D, X>>
        + Module<H2<CI, W, S, E, D, X>, Output = H2<CI, W, S, E, D, X>>
        + Module<H3<CI, W, CO, S, E, D, X>, Output = H3<CI, W, CO, S, E, D, X>>,
    Conv3x3<W, W, S, E, D>: Module<H1<CI, W, E, D, X>>,
    Conv1x1<W, CO, U1, E, D>: Module<H2<CI, W, S, E, D, X>>,
    BatchNorm2d<CO, E, D>: Module<H3<CI, W, CO, S, E, D, X>, Output = H3<CI, W, CO, S, E, D, X>>,
    Downsample<CI, CO, S, E, D>: Module<X, Output = H3<CI, W, CO, S, E, D, X>>,
    H3<CI, W, CO, S, E, D, X>: Add<Output = H3<CI, W, CO, S, E, D, X>>,
{
    type Output = H3<CI, W, CO, S, E, D, X>;
    fn forward(&self, x: X) -> Self::Output {
        let shortcut = self.downsample.forward(x.clone());
        let h = ReLU.forward(self.bn1.forward(self.conv1.forward(x)));
        let h = ReLU.forward(self.bn2.forward(self.conv2.forward(h)));
        let h = self.bn3.forward(self.conv3.forward(h));
        ReLU.forward(h + shortcut)
    }
}

/// ResNet-18 (He et al., 2015) for 1000 classes, as torchvision builds it:
/// a 7x7 stride-2 stem with batch normalisation, ReLU and 3x3 stride-2 max
/// pooling; four stages of two [`BasicBlock`]s with 64, 128, 256 and 512
/// channels (the first block of stages 2-4 halves the size:
/// [`BasicBlockDown`]); global average pooling and a linear classifier.
/// 11,689,512 parameters; torchvision's parameter names.
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate, sequential)]
pub struct ResNet18<E: Dtype = f32, D: Backend = Cpu> {
    /// 7x7 stem convolution, stride 2, padding 3, `3 -> 64`.
    pub conv1: Conv2d<U3, U64, U7, U2, U3, U1, U1, E, D>,
    /// Its batch normalisation.
    pub bn1: BatchNorm2d<U64, E, D>,
    /// ReLU.
    pub relu: ReLU,
    /// 3x3 max pooling, stride 2, padding 1.
    pub maxpool: MaxPool2d<U3, U2, U1>,
    /// Stage 1: 64 channels.
    pub layer1: (BasicBlock<U64, E, D>, BasicBlock<U64, E, D>),
    /// Stage 2: 128 channels, half the size.
    pub layer2: (BasicBlockDown<U64, U128, U2, E, D>, BasicBlock<U128, E, D>),
    /// Stage 3: 256 channels, half the size.
    pub layer3: (BasicBlockDown<U128, U256, U2, E, D>, BasicBlock<U256, E, D>),
    /// Stage 4: 512 channels, half the size.
    pub layer4: (BasicBlockDown<U256, U512, U2, E, D>, BasicBlock<U512, E, D>),
    /// Global average pooling: `(B, 512, H, W) -> (B, 512)`.
    pub avgpool: GlobalAvgPool2d,
    /// The classifier, `512 -> 1000`.
    pub fc: Linear<U512, U1000, E, D>,
}

/// ResNet-50 (figure 5.5) for 1000 classes, as torchvision builds it (v1.5:
/// the stride of a down-sampling bottleneck is on its 3x3 convolution):
/// the ResNet-18 stem, then stages of [3, 4, 6, 3] bottleneck blocks with
/// widths 64, 128, 256, 512 and 256, 512, 1024, 2048 output channels,
/// global average pooling and a linear classifier. 25,557,032 parameters;
/// torchvision's parameter names.
#[derive(Clone, Debug, crate::nn::Module)]
#[module(crate = crate, sequential)]
pub struct ResNet50<E: Dtype = f32, D: Backend = Cpu> {
    /// 7x7 stem convolution, stride 2, padding 3, `3 -> 64`.
    pub conv1: Conv2d<U3, U64, U7, U2, U3, U1, U1, E, D>,
    /// Its batch normalisation.
    pub bn1: BatchNorm2d<U64, E, D>,
    /// ReLU.
    pub relu: ReLU,
    /// 3x3 max pooling, stride 2, padding 1.
    pub maxpool: MaxPool2d<U3, U2, U1>,
    /// Stage 1: 3 blocks, width 64, 256 channels.
    pub layer1: (
        BottleneckDown<U64, U64, U256, U1, E, D>,
        Bottleneck<U256, U64, E, D>,
        Bottleneck<U256, U64, E, D>,
    ),
    /// Stage 2: 4 blocks, width 128, 512 channels, half the size.
    pub layer2: (
        BottleneckDown<U256, U128, U512, U2, E, D>,
        Bottleneck<U512, U128, E, D>,
        Bottleneck<U512, U128, E, D>,
        Bottleneck<U512, U128, E, D>,
    ),
    /// Stage 3: 6 blocks, width 256, 1024 channels, half the size.
    pub layer3: (
        BottleneckDown<U512, U256, U1024, U2, E, D>,
        Bottleneck<U1024, U256, E, D>,
        Bottleneck<U1024, U256, E, D>,
        Bottleneck<U1024, U256, E, D>,
        Bottleneck<U1024, U256, E, D>,
        Bottleneck<U1024, U256, E, D>,
    ),
    /// Stage 4: 3 blocks, width 512, 2048 channels, half the size.
    pub layer4: (
        BottleneckDown<U1024, U512, U2048, U2, E, D>,
        Bottleneck<U2048, U512, E, D>,
        Bottleneck<U2048, U512, E, D>,
    ),
    /// Global average pooling: `(B, 2048, H, W) -> (B, 2048)`.
    pub avgpool: GlobalAvgPool2d,
    /// The classifier, `2048 -> 1000`.
    pub fc: Linear<U2048, U1000, E, D>,
}

impl<C: StaticDim, E: Dtype, D: Backend> BasicBlock<C, E, D> {
    /// A block initialised as torchvision's (see [`ResNet18::new`]).
    pub fn new(device: &D) -> Self {
        torchvision_init(BasicBlock {
            conv1: Conv2d::no_bias(device),
            bn1: BatchNorm2d::new(device),
            conv2: Conv2d::no_bias(device),
            bn2: BatchNorm2d::new(device),
        })
    }
}

impl<CI: StaticDim, CO: StaticDim, S, E: Dtype, D: Backend> BasicBlockDown<CI, CO, S, E, D> {
    /// A block initialised as torchvision's (see [`ResNet18::new`]).
    pub fn new(device: &D) -> Self {
        torchvision_init(BasicBlockDown {
            conv1: Conv2d::no_bias(device),
            bn1: BatchNorm2d::new(device),
            conv2: Conv2d::no_bias(device),
            bn2: BatchNorm2d::new(device),
            downsample: (Conv2d::no_bias(device), BatchNorm2d::new(device)),
        })
    }
}

impl<C: StaticDim, W: StaticDim, E: Dtype, D: Backend> Bottleneck<C, W, E, D> {
    /// A block initialised as torchvision's (see [`ResNet18::new`]).
    pub fn new(device: &D) -> Self {
        torchvision_init(Bottleneck {
            conv1: Conv2d::no_bias(device),
            bn1: BatchNorm2d::new(device),
            conv2: Conv2d::no_bias(device),
            bn2: BatchNorm2d::new(device),
            conv3: Conv2d::no_bias(device),
            bn3: BatchNorm2d::new(device),
        })
    }
}

impl<CI: StaticDim, W: StaticDim, CO: StaticDim, S, E: Dtype, D: Backend>
    BottleneckDown<CI, W, CO, S, E, D>
{
    /// A block initialised as torchvision's (see [`ResNet18::new`]).
    pub fn new(device: &D) -> Self {
        torchvision_init(BottleneckDown {
            conv1: Conv2d::no_bias(device),
            bn1: BatchNorm2d::new(device),
            conv2: Conv2d::no_bias(device),
            bn2: BatchNorm2d::new(device),
            conv3: Conv2d::no_bias(device),
            bn3: BatchNorm2d::new(device),
            downsample: (Conv2d::no_bias(device), BatchNorm2d::new(device)),
        })
    }
}

impl<E: Dtype, D: Backend> ResNet18<E, D> {
    /// ResNet-18 initialised as torchvision's: convolution weights from
    /// `N(0, 2 / fan_out)` (Kaiming normal, fan-out mode, ReLU gain), batch
    /// normalisation weight 1 and bias 0, the classifier as PyTorch's
    /// `nn.Linear`. Draws from the device's seeded stream.
    ///
    /// ```
    /// use typegrad::models::ResNet18;
    /// use typegrad::nn::Params;
    /// use typegrad::prelude::*;
    /// let net: ResNet18 = ResNet18::new(&Cpu::seeded(0));
    /// assert_eq!(net.num_params(), 11_689_512);
    /// assert_eq!(net.param_names()[3].0, "layer1.0.conv1.weight");
    /// ```
    pub fn new(device: &D) -> Self {
        torchvision_init(ResNet18 {
            conv1: Conv2d::no_bias(device),
            bn1: BatchNorm2d::new(device),
            relu: ReLU,
            maxpool: Default::default(),
            layer1: (BasicBlock::new(device), BasicBlock::new(device)),
            layer2: (BasicBlockDown::new(device), BasicBlock::new(device)),
            layer3: (BasicBlockDown::new(device), BasicBlock::new(device)),
            layer4: (BasicBlockDown::new(device), BasicBlock::new(device)),
            avgpool: GlobalAvgPool2d,
            fc: Linear::new(device),
        })
    }
}

impl<E: Dtype, D: Backend> ResNet50<E, D> {
    /// ResNet-50 initialised as torchvision's (see [`ResNet18::new`]).
    ///
    /// ```
    /// use typegrad::models::ResNet50;
    /// use typegrad::nn::Params;
    /// use typegrad::prelude::*;
    /// let net: ResNet50 = ResNet50::new(&Cpu::seeded(0));
    /// assert_eq!(net.num_params(), 25_557_032);
    /// ```
    pub fn new(device: &D) -> Self {
        torchvision_init(ResNet50 {
            conv1: Conv2d::no_bias(device),
            bn1: BatchNorm2d::new(device),
            relu: ReLU,
            maxpool: Default::default(),
            layer1: (
                BottleneckDown::new(device),
                Bottleneck::new(device),
                Bottleneck::new(device),
            ),
            layer2: (
                BottleneckDown::new(device),
                Bottleneck::new(device),
                Bottleneck::new(device),
                Bottleneck::new(device),
            ),
            layer3: (
                BottleneckDown::new(device),
                Bottleneck::new(device),
                Bottleneck::new(device),
                Bottleneck::new(device),
                Bottleneck::new(device),
                Bottleneck::new(device),
            ),
            layer4: (
                BottleneckDown::new(device),
                Bottleneck::new(device),
                Bottleneck::new(device),
            ),
            avgpool: GlobalAvgPool2d,
            fc: Linear::new(device),
        })
    }
}

/// torchvision's ResNet initialisation of every convolution weight (the
/// parameters with four dims): Kaiming normal, fan-out mode, ReLU gain.
fn torchvision_init<E: Dtype, D: Backend, M: Params<E, D>>(mut model: M) -> M {
    let init = Init::KaimingNormal {
        gain: Nonlinearity::Relu.gain(),
        mode: FanMode::FanOut,
    };
    model.visit_params_mut(&mut ParamPath::default(), &mut |_, p| {
        if p.kind == ParamKind::Param && p.dims.len() == 4 {
            // Four dims always have fans.
            init.try_fill(p).unwrap_or_else(|e| panic!("{e}"));
        }
    });
    model
}

// Summaries (rows per convolution and normalisation, in the order the
// forward runs them; the ReLUs and the sum keep the shape).

type SOut<M, S, E, D> = <M as Summary<S, E, D>>::Output;

impl<C: Dim, E: Dtype, D: Backend, S: Shape> Summary<S, E, D> for BasicBlock<C, E, D>
where
    Conv3x3<C, C, U1, E, D>: Summary<S, E, D, Output = S>,
    BatchNorm2d<C, E, D>: Summary<S, E, D, Output = S>,
{
    type Output = S;
    fn summarize(&self, x: S, rows: &mut SummaryRows) -> Result<S, Error> {
        let h = rows.child("conv1", &self.conv1, x)?;
        let h = rows.child("bn1", &self.bn1, h)?;
        let h = rows.child("conv2", &self.conv2, h)?;
        rows.child("bn2", &self.bn2, h)
    }
}

impl<CI: Dim, CO: Dim, St, E: Dtype, D: Backend, S: Shape> Summary<S, E, D>
    for BasicBlockDown<CI, CO, St, E, D>
where
    Conv3x3<CI, CO, St, E, D>: Summary<S, E, D>,
    BatchNorm2d<CO, E, D>: Summary<
        SOut<Conv3x3<CI, CO, St, E, D>, S, E, D>,
        E,
        D,
        Output = SOut<Conv3x3<CI, CO, St, E, D>, S, E, D>,
    >,
    Conv3x3<CO, CO, U1, E, D>: Summary<
        SOut<Conv3x3<CI, CO, St, E, D>, S, E, D>,
        E,
        D,
        Output = SOut<Conv3x3<CI, CO, St, E, D>, S, E, D>,
    >,
    Downsample<CI, CO, St, E, D>:
        Summary<S, E, D, Output = SOut<Conv3x3<CI, CO, St, E, D>, S, E, D>>,
{
    type Output = SOut<Conv3x3<CI, CO, St, E, D>, S, E, D>;
    fn summarize(&self, x: S, rows: &mut SummaryRows) -> Result<Self::Output, Error> {
        let h = rows.child("conv1", &self.conv1, x)?;
        let h = rows.child("bn1", &self.bn1, h)?;
        let h = rows.child("conv2", &self.conv2, h)?;
        let h = rows.child("bn2", &self.bn2, h)?;
        let shortcut = rows.child("downsample", &self.downsample, x)?;
        debug_assert_eq!(&*h.dims(), &*shortcut.dims());
        Ok(h)
    }
}

type B1<C, W, E, D, S> = SOut<Conv1x1<C, W, U1, E, D>, S, E, D>;

impl<C: Dim, W: Dim, E: Dtype, D: Backend, S: Shape> Summary<S, E, D> for Bottleneck<C, W, E, D>
where
    Conv1x1<C, W, U1, E, D>: Summary<S, E, D>,
    BatchNorm2d<W, E, D>: Summary<B1<C, W, E, D, S>, E, D, Output = B1<C, W, E, D, S>>,
    Conv3x3<W, W, U1, E, D>: Summary<B1<C, W, E, D, S>, E, D, Output = B1<C, W, E, D, S>>,
    Conv1x1<W, C, U1, E, D>: Summary<B1<C, W, E, D, S>, E, D, Output = S>,
    BatchNorm2d<C, E, D>: Summary<S, E, D, Output = S>,
{
    type Output = S;
    fn summarize(&self, x: S, rows: &mut SummaryRows) -> Result<S, Error> {
        let h = rows.child("conv1", &self.conv1, x)?;
        let h = rows.child("bn1", &self.bn1, h)?;
        let h = rows.child("conv2", &self.conv2, h)?;
        let h = rows.child("bn2", &self.bn2, h)?;
        let h = rows.child("conv3", &self.conv3, h)?;
        rows.child("bn3", &self.bn3, h)
    }
}

type T1<CI, W, E, D, S> = SOut<Conv1x1<CI, W, U1, E, D>, S, E, D>;
type T2<CI, W, St, E, D, S> = SOut<Conv3x3<W, W, St, E, D>, T1<CI, W, E, D, S>, E, D>;
type T3<CI, W, CO, St, E, D, S> = SOut<Conv1x1<W, CO, U1, E, D>, T2<CI, W, St, E, D, S>, E, D>;

impl<CI: Dim, W: Dim, CO: Dim, St, E: Dtype, D: Backend, S: Shape> Summary<S, E, D>
    for BottleneckDown<CI, W, CO, St, E, D>
where
    Conv1x1<CI, W, U1, E, D>: Summary<S, E, D>,
    BatchNorm2d<W, E, D>: Summary<T1<CI, W, E, D, S>, E, D, Output = T1<CI, W, E, D, S>>
        + Summary<T2<CI, W, St, E, D, S>, E, D, Output = T2<CI, W, St, E, D, S>>,
    Conv3x3<W, W, St, E, D>: Summary<T1<CI, W, E, D, S>, E, D>,
    Conv1x1<W, CO, U1, E, D>: Summary<T2<CI, W, St, E, D, S>, E, D>,
    BatchNorm2d<CO, E, D>:
        Summary<T3<CI, W, CO, St, E, D, S>, E, D, Output = T3<CI, W, CO, St, E, D, S>>,
    Downsample<CI, CO, St, E, D>: Summary<S, E, D, Output = T3<CI, W, CO, St, E, D, S>>,
{
    type Output = T3<CI, W, CO, St, E, D, S>;
    fn summarize(&self, x: S, rows: &mut SummaryRows) -> Result<Self::Output, Error> {
        let h = rows.child("conv1", &self.conv1, x)?;
        let h = rows.child("bn1", &self.bn1, h)?;
        let h = rows.child("conv2", &self.conv2, h)?;
        let h = rows.child("bn2", &self.bn2, h)?;
        let h = rows.child("conv3", &self.conv3, h)?;
        let h = rows.child("bn3", &self.bn3, h)?;
        let shortcut = rows.child("downsample", &self.downsample, x)?;
        debug_assert_eq!(&*h.dims(), &*shortcut.dims());
        Ok(h)
    }
}
