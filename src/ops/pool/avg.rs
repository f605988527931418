//! `avg_pool1d` / `avg_pool2d`: the mean of each window, dividing by the
//! whole window (`count_include_pad`) or by its input elements.

use super::max::window;
use super::{geometry, out_shape, Pool1dShape, Pool2dShape, Window};
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{Error, Shape};
use crate::tensor::{op_result, Tensor};
use typenum::{Unsigned, U1};

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// 2-D average pooling of `(B, C, H, W)` or `(C, H, W)` with the square
    /// window `K`, stride `St` and zero padding `P` (at most `K / 2`):
    /// `H` and `W` become `(H + 2P - K) / St + 1`. With
    /// `count_include_pad` (PyTorch's default) every window is divided by
    /// `K²`; without, by the number of input (non-padding) elements in it.
    /// PyTorch's `F.avg_pool2d(x, K, St, P, count_include_pad=...)`.
    ///
    /// A window larger than a static padded input does not compile; for
    /// `Dyn` sizes this panics (see [`Tensor::try_avg_pool2d`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x = Tensor::<(u!(1), u!(2), u!(2)), f64>::from_vec_static(vec![1.0, 2.0, 3.0, 4.0], &dev);
    /// // Window 2, stride 2, padding 1: four windows with one input element each.
    /// let y: Tensor<(u!(1), u!(2), u!(2)), f64> = x.clone().avg_pool2d::<u!(2), u!(2), u!(1)>(true);
    /// assert_eq!(y.to_vec(), vec![0.25, 0.5, 0.75, 1.0]);
    /// let y = x.avg_pool2d::<u!(2), u!(2), u!(1)>(false);
    /// assert_eq!(y.to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn avg_pool2d<K: Unsigned, St: Unsigned, P: Unsigned>(
        self,
        count_include_pad: bool,
    ) -> Tensor<<S as Pool2dShape<K, St, P, U1>>::Output, E, D, T>
    where
        S: Pool2dShape<K, St, P, U1>,
    {
        self.try_avg_pool2d::<K, St, P>(count_include_pad)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::avg_pool2d`]: a window larger than a
    /// padded `Dyn` input is an [`Error::KernelTooLarge`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x: Tensor<(Dyn, u!(3), Dyn, Dyn), f32> = Tensor::zeros((Dyn(2), Default::default(), Dyn(1), Dyn(9)), &Cpu::default());
    /// let e = x.try_avg_pool2d::<u!(2), u!(2), u!(0)>(true).unwrap_err();
    /// assert!(matches!(e, Error::KernelTooLarge { axis: 2, input: 1, kernel: 2, .. }));
    /// ```
    pub fn try_avg_pool2d<K: Unsigned, St: Unsigned, P: Unsigned>(
        self,
        count_include_pad: bool,
    ) -> Result<Tensor<<S as Pool2dShape<K, St, P, U1>>::Output, E, D, T>, Error>
    where
        S: Pool2dShape<K, St, P, U1>,
    {
        self.avg_pool_op("avg_pool2d", 2, window::<K, St, P, U1>(), count_include_pad)
    }

    /// 1-D average pooling of `(B, C, L)` or `(C, L)` along the last axis
    /// with window `K`, stride `St` and zero padding `P` (at most `K / 2`):
    /// PyTorch's `F.avg_pool1d(x, K, St, P, count_include_pad=...)`. See
    /// [`Tensor::avg_pool2d`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x = Tensor::<(u!(1), u!(4)), f64>::from_vec_static(vec![2.0, 4.0, 6.0, 8.0], &Cpu::default());
    /// let y: Tensor<(u!(1), u!(3)), f64> = x.avg_pool1d::<u!(2), u!(1), u!(0)>(true);
    /// assert_eq!(y.to_vec(), vec![3.0, 5.0, 7.0]);
    /// ```
    #[track_caller]
    pub fn avg_pool1d<K: Unsigned, St: Unsigned, P: Unsigned>(
        self,
        count_include_pad: bool,
    ) -> Tensor<<S as Pool1dShape<K, St, P, U1>>::Output, E, D, T>
    where
        S: Pool1dShape<K, St, P, U1>,
    {
        self.try_avg_pool1d::<K, St, P>(count_include_pad)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::avg_pool1d`]: a window larger than a
    /// padded `Dyn` input is an [`Error::KernelTooLarge`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let x: Tensor<(u!(1), Dyn), f32> = Tensor::zeros((Default::default(), Dyn(1)), &Cpu::default());
    /// assert!(x.try_avg_pool1d::<u!(4), u!(1), u!(1)>(true).is_err()); // 4 > 1 + 2
    /// ```
    pub fn try_avg_pool1d<K: Unsigned, St: Unsigned, P: Unsigned>(
        self,
        count_include_pad: bool,
    ) -> Result<Tensor<<S as Pool1dShape<K, St, P, U1>>::Output, E, D, T>, Error>
    where
        S: Pool1dShape<K, St, P, U1>,
    {
        self.avg_pool_op("avg_pool1d", 1, window::<K, St, P, U1>(), count_include_pad)
    }

    /// Average pooling over the last `spatial` axes, with its backward
    /// (which reads nothing of the input or output).
    fn avg_pool_op<S2: Shape>(
        self,
        op: &'static str,
        spatial: usize,
        w: Window,
        count_include_pad: bool,
    ) -> Result<Tensor<S2, E, D, T>, Error> {
        let (p, dims) = geometry(op, &self.shape.dims(), spatial, w)?;
        let shape = out_shape::<S2>(&dims)?;
        let y = self.device.avg_pool(&p, &self.data, count_include_pad);
        let (x, tape) = self.split_tape();
        let dev = x.device.clone();
        let x_id = x.id;
        Ok(op_result(shape, y, dev.clone(), tape, move |g, gy| {
            g.accumulate(x_id, dev.avg_pool_backward(&p, gy, count_include_pad));
        }))
    }
}
