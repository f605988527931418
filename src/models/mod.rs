//! The book's architectures as typed structs (chapter 5), built from the
//! layers in [`crate::nn`]: every spatial size and channel count along them
//! is checked by the compiler.
//!
//! - [`LeNet`]: the LeNet-like network of figure 5.2; [`LeNet5`]: the
//!   classic LeNet-5 as PyTorch users write it.
//! - [`BasicBlock`], [`BasicBlockDown`], [`Bottleneck`], [`BottleneckDown`]:
//!   the residual blocks of figures 5.3 and 5.4; [`ResNet18`] and
//!   [`ResNet50`] (figure 5.5), with torchvision's parameter names, so a
//!   torchvision checkpoint saved as safetensors loads directly.
//! - [`Gpt`] (figure 5.8) with a [`KvCache`] and [`Sampling`];
//!   [`GptMini`], the PyTorch peer's GPT-mini, with its parameter names.

mod gpt;
mod lenet;
mod resnet;
mod transformer;
mod vit;

pub use gpt::{
    Act, Block, CausalSelfAttention, Gpt, GptMini, KvCache, Mlp, Sampling, Triple, Width,
};
pub use lenet::{LeNet, LeNet5};
pub use resnet::{
    BasicBlock, BasicBlockDown, Bottleneck, BottleneckDown, Conv1x1, Conv3x3, Downsample, ResNet18,
    ResNet50,
};
pub use transformer::{DecoderLayer, EncoderLayer, Transformer};
pub use vit::{
    ImageExp, ImageGot, ImagePatches, PatchExp, PatchGot, PatchesDoNotDivide, ViT, ViTHead,
    ViTTokens,
};
