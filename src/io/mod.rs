//! Saving and loading model parameters.
//!
//! [`safetensors`] writes every parameter of a [`Params`](crate::nn::Params)
//! model under its PyTorch `state_dict` name (`blocks.0.fc.weight`), in the
//! format PyTorch's `safetensors.torch.load_file` reads, through Hugging
//! Face's reference `safetensors` crate. Loading is strict and all or
//! nothing; with `std`, [`safetensors::load`] memory-maps the file and
//! decodes it straight into the parameters, and [`safetensors::save`]
//! replaces the file atomically ([`write_atomic`]). F16/BF16 checkpoints
//! load into f32/f64 models with
//! [`LoadOptions::convert_half`](safetensors::LoadOptions::convert_half).
//! A checkpoint that lives for the whole program (embedded in flash with
//! [`include_aligned!`](crate::include_aligned)) loads with
//! [`safetensors::load_static`], which reads the tensors in place instead
//! of copying them.
//!
//! ```
//! use typegrad::prelude::*;
//! use typegrad::io::safetensors;
//! let dev = Cpu::default();
//! let model = (Tensor::<(u!(2),), f32>::from_vec_static(vec![1.0, 2.0], &dev),);
//! let bytes = safetensors::to_bytes(&model).unwrap();
//! let mut copy = (Tensor::<(u!(2),), f32>::zeros(Default::default(), &dev),);
//! safetensors::load_from_bytes(&mut copy, &bytes).unwrap();
//! assert_eq!(copy.0.to_vec(), vec![1.0, 2.0]);
//! ```

pub mod safetensors;

mod aligned;

#[cfg(feature = "std")]
mod atomic;

#[cfg(feature = "std")]
pub use atomic::write_atomic;
pub use safetensors::SafetensorsError;

pub use aligned::Aligned;
