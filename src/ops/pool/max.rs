//! `max_pool1d` / `max_pool2d`: the maximum of each window; the gradient
//! goes to the first maximum of the window (PyTorch's rule).

use super::{geometry, out_shape, Pool1dShape, Pool2dShape, Window};
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{Error, Shape};
use crate::tensor::{op_result, Tensor};
use typenum::Unsigned;

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// 2-D max pooling of `(B, C, H, W)` or `(C, H, W)` with the square
    /// window `K`, stride `St`, padding `P` (at most `K / 2`, filled with
    /// `-inf`) and dilation `L`: `H` and `W` become
    /// `(H + 2P - L(K-1) - 1) / St + 1`. PyTorch's `F.max_pool2d(x, K, St, P, L)`.
    ///
    /// The gradient of each window goes to its first maximum in window
    /// order (as PyTorch; the argmax is kept by the forward only when
    /// `self` is tracked). A window larger than a static padded input does
    /// not compile; for `Dyn` sizes this panics (see
    /// [`Tensor::try_max_pool2d`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x = Tensor::<(u!(1), u!(4), u!(4)), f32>::from_vec_static((0..16).map(|v| v as f32).collect(), &dev);
    /// let y: Tensor<(u!(1), u!(2), u!(2)), f32> = x.clone().max_pool2d::<u!(2), u!(2), u!(0), u!(1)>();
    /// assert_eq!(y.to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    ///
    /// // Overlapping windows (stride 1): the centre wins all four windows.
    /// let x = Tensor::<(u!(1), u!(3), u!(3)), f32>::from_vec_static(vec![1., 2., 3., 4., 9., 5., 6., 7., 8.], &dev);
    /// let grads = x.clone().trace().max_pool2d::<u!(2), u!(1), u!(0), u!(1)>().sum().backward();
    /// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![0., 0., 0., 0., 4., 0., 0., 0., 0.]);
    /// ```
    #[track_caller]
    pub fn max_pool2d<K: Unsigned, St: Unsigned, P: Unsigned, L: Unsigned>(
        self,
    ) -> Tensor<<S as Pool2dShape<K, St, P, L>>::Output, E, D, T>
    where
        S: Pool2dShape<K, St, P, L>,
    {
        self.try_max_pool2d::<K, St, P, L>()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::max_pool2d`]: a window larger than a
    /// padded `Dyn` input is an [`Error::KernelTooLarge`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x: Tensor<(u!(1), Dyn, Dyn), f32> = Tensor::zeros((Default::default(), Dyn(2), Dyn(8)), &Cpu::default());
    /// let e = x.try_max_pool2d::<u!(3), u!(1), u!(0), u!(1)>().unwrap_err();
    /// assert_eq!(
    ///     e.to_string(),
    ///     "max_pool2d: kernel larger than padded input on axis 1: input size 2 + 2 x padding 0 < effective kernel size 3"
    /// );
    /// ```
    pub fn try_max_pool2d<K: Unsigned, St: Unsigned, P: Unsigned, L: Unsigned>(
        self,
    ) -> Result<Tensor<<S as Pool2dShape<K, St, P, L>>::Output, E, D, T>, Error>
    where
        S: Pool2dShape<K, St, P, L>,
    {
        self.max_pool_op("max_pool2d", 2, window::<K, St, P, L>())
    }

    /// 1-D max pooling of `(B, C, L)` or `(C, L)` along the last axis with
    /// window `K`, stride `St`, padding `P` (at most `K / 2`) and dilation
    /// `L`: PyTorch's `F.max_pool1d(x, K, St, P, L)`. See
    /// [`Tensor::max_pool2d`] for the gradient and the checks.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(1), u!(5)), f64>::from_vec_static(vec![1.0, 3.0, 2.0, 5.0, 4.0], &Cpu::default());
    /// // Window 2, stride 1, padding 1: windows [-inf, 1], [1, 3], [3, 2], [2, 5], [5, 4], [4, -inf].
    /// let y: Tensor<(u!(1), u!(6)), f64> = x.max_pool1d::<u!(2), u!(1), u!(1), u!(1)>();
    /// assert_eq!(y.to_vec(), vec![1.0, 3.0, 3.0, 5.0, 5.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn max_pool1d<K: Unsigned, St: Unsigned, P: Unsigned, L: Unsigned>(
        self,
    ) -> Tensor<<S as Pool1dShape<K, St, P, L>>::Output, E, D, T>
    where
        S: Pool1dShape<K, St, P, L>,
    {
        self.try_max_pool1d::<K, St, P, L>()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::max_pool1d`]: a window larger than a
    /// padded `Dyn` input is an [`Error::KernelTooLarge`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x: Tensor<(u!(2), Dyn), f32> = Tensor::zeros((Default::default(), Dyn(4)), &Cpu::default());
    /// assert!(x.clone().try_max_pool1d::<u!(3), u!(1), u!(1), u!(2)>().is_err()); // 5 > 4 + 2
    /// assert_eq!(x.try_max_pool1d::<u!(3), u!(1), u!(1), u!(1)>().unwrap().dims()[1], 4);
    /// ```
    pub fn try_max_pool1d<K: Unsigned, St: Unsigned, P: Unsigned, L: Unsigned>(
        self,
    ) -> Result<Tensor<<S as Pool1dShape<K, St, P, L>>::Output, E, D, T>, Error>
    where
        S: Pool1dShape<K, St, P, L>,
    {
        self.max_pool_op("max_pool1d", 1, window::<K, St, P, L>())
    }

    /// Max pooling over the last `spatial` axes, with its backward.
    fn max_pool_op<S2: Shape>(
        self,
        op: &'static str,
        spatial: usize,
        w: Window,
    ) -> Result<Tensor<S2, E, D, T>, Error> {
        let (p, dims) = geometry(op, &self.shape.dims(), spatial, w)?;
        let shape = out_shape::<S2>(&dims)?;
        let (y, idx) = self.device.max_pool(&p, &self.data, T::TRACKED);
        let (x, tape) = self.split_tape();
        let dev = x.device.clone();
        let x_id = x.id;
        Ok(op_result(shape, y, dev.clone(), tape, move |g, gy| {
            if let Some(idx) = &idx {
                g.accumulate(x_id, dev.max_pool_backward(&p, idx, gy));
            }
        }))
    }
}

/// The runtime window of static `K`, `S`, `P`, `L`.
pub(super) fn window<K: Unsigned, S: Unsigned, P: Unsigned, L: Unsigned>() -> Window {
    Window {
        kernel: K::USIZE,
        stride: S::USIZE,
        padding: P::USIZE,
        dilation: L::USIZE,
    }
}
