//! A crate that depends on typegrad under another name (`tg` in its
//! `Cargo.toml`). It exists for its tests: `#[derive(Module)]` with
//! `#[module(crate = tg)]`, and `u!`, `shape!` and `dims!`, must work with no
//! `typegrad` in scope. It also exports [`block!`], a `macro_rules!` that
//! writes a model with `$crate` paths, used from `tests/from_macro.rs`.

pub use tg;
use tg::nn::{Linear, Module, ReLU};
use tg::{shape, u};

/// A sequential model written by a macro of this crate, for use in others:
/// its types and its `#[module(crate = ...)]` are `$crate` paths.
///
/// ```
/// typegrad_renamed::block!(Head);
/// let dev = typegrad_renamed::tg::Cpu::default();
/// let _h = Head::new(&dev);
/// ```
#[macro_export]
macro_rules! block {
    ($name:ident) => {
        /// A Linear + ReLU + Linear head, 4 -> 3 -> 2 features.
        #[derive($crate::tg::nn::Module)]
        #[module(sequential, crate = $crate::tg)]
        pub struct $name {
            /// First layer.
            pub fc1: $crate::tg::nn::Linear<$crate::tg::u!(4), $crate::tg::u!(3)>,
            /// Activation.
            pub act: $crate::tg::nn::ReLU,
            /// Second layer.
            pub fc2: $crate::tg::nn::Linear<$crate::tg::u!(3), $crate::tg::u!(2)>,
        }
        impl $name {
            /// A head with PyTorch's default initialisation.
            pub fn new(dev: &$crate::tg::Cpu) -> Self {
                $name {
                    fc1: $crate::tg::nn::Linear::new(dev),
                    act: $crate::tg::nn::ReLU,
                    fc2: $crate::tg::nn::Linear::new(dev),
                }
            }
        }
    };
}

/// A sequential model of this crate.
#[derive(Module)]
#[module(sequential, crate = tg)]
pub struct Mlp {
    /// First layer.
    pub fc1: Linear<u!(4), u!(3)>,
    /// Activation.
    pub act: ReLU,
    /// Second layer.
    pub fc2: Linear<u!(3), u!(2)>,
}

/// Generic over its hidden size (an inherent `forward` is derived).
#[derive(Module)]
#[module(sequential, crate = ::tg)]
pub struct Hidden<H: tg::Dim> {
    /// First layer.
    pub fc1: Linear<u!(4), H>,
    /// Activation.
    pub act: ReLU,
    /// Second layer.
    pub fc2: Linear<H, u!(2)>,
}

/// A shape type written with `shape!`.
pub type Batch = shape!(tg::Dyn, 4);

#[cfg(test)]
mod tests {
    use super::*;
    use tg::nn::Params;
    use tg::{dims, Cpu, Tensor};

    #[test]
    fn derive_and_number_macros_work_under_another_name() {
        let dev = Cpu::default();
        let mlp = Mlp {
            fc1: Linear::new(&dev),
            act: ReLU,
            fc2: Linear::new(&dev),
        };
        assert_eq!(mlp.num_params(), 4 * 3 + 3 + 3 * 2 + 2);
        let x: Tensor<Batch> = Tensor::zeros(dims!(tg::Dyn(5), 4), &dev);
        assert_eq!(&*mlp.forward(x.clone()).dims(), &[5, 2]);

        let h: Hidden<u!(7)> = Hidden {
            fc1: Linear::new(&dev),
            act: ReLU,
            fc2: Linear::new(&dev),
        };
        assert_eq!(&*h.forward(x).dims(), &[5, 2]);
        assert_eq!(h.param_names()[2].0, "fc2.weight");
    }
}
