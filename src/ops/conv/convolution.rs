//! `conv1d`, `conv2d`: the typed convolution ops, and the runtime code
//! shared with the transposed convolutions (sizes, checks, the recorded
//! backward).

use super::shape::{ConvInput, Fwd, Groups, Spatial1, Spatial2};
use super::{ConvGeometry, ConvParams, ConvSpec, ConvWant};
use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{
    check_dim, conv_out_size, conv_transpose_out_size, Dim, DimsAgree, Error, GroupsDoNotDivide,
    MulDim, Prod, Shape,
};
use crate::tensor::{op_result, Tensor};
use typenum::Unsigned;

/// The output dims of a conv layer with weight dims `wd` (and a bias of
/// `bias_len`) on an input of dims `dims`, checked as the forward checks
/// them: the model summary's shape rule (no kernel runs).
pub(crate) fn output_dims(
    geo: ConvGeometry,
    dims: &[usize],
    wd: &[usize],
    bias_len: Option<usize>,
) -> Result<crate::shape::Dims, Error> {
    let rank = dims.len();
    let spatial = wd.len() - 2;
    let ch = rank - spatial - 1;
    let batch = dims[..ch].iter().product();
    let size = if spatial == 1 {
        [1, dims[rank - 1]]
    } else {
        [dims[rank - 2], dims[rank - 1]]
    };
    let (_, c_out, out) = plan(geo, (batch, dims[ch], size), rank, wd, bias_len)?;
    let mut o = [0usize; crate::shape::MAX_RANK];
    o[..rank].copy_from_slice(dims);
    o[ch] = c_out;
    o[ch + 1..rank].copy_from_slice(&out[2 - spatial..]);
    Ok(crate::shape::Dims::new(&o[..rank]))
}

/// Checked runtime sizes of a conv call: the kernel's parameters (in the
/// convolution's orientation) and the output channels and spatial sizes.
fn plan(
    geo: ConvGeometry,
    input: (usize, usize, [usize; 2]),
    rank: usize,
    wd: &[usize],
    bias_len: Option<usize>,
) -> Result<(ConvParams, usize, [usize; 2]), Error> {
    let op = geo.op;
    let one_d = wd.len() == 3;
    let (w0, w1, kernel) = if one_d {
        (wd[0], wd[1], [1, wd[2]])
    } else {
        (wd[0], wd[1], [wd[2], wd[3]])
    };
    let (batch, c, size) = input;
    let g = geo.groups;
    if g == 0 {
        return Err(Error::Invalid("conv: groups must be at least 1"));
    }
    if geo.stride == 0 || geo.dilation == 0 || kernel[0] == 0 || kernel[1] == 0 {
        return Err(Error::Invalid(
            "conv: kernel size, stride and dilation must be at least 1",
        ));
    }
    // Axis 0 of a 1-D conv is the added H = 1: a plain 1x1 window.
    let axis_geo = |a: usize| -> (usize, usize, usize, usize) {
        if one_d && a == 0 {
            (1, 0, 1, 0)
        } else {
            (geo.stride, geo.padding, geo.dilation, geo.output_padding)
        }
    };
    let ch_axis = rank - if one_d { 2 } else { 3 };
    // The tensor axis of spatial axis `a` (for messages).
    let sp_axis = |a: usize| if one_d { rank - 1 } else { rank - 2 + a };
    let per_group = |n: usize, what: &'static str| -> Result<(), Error> {
        if n.is_multiple_of(g) {
            Ok(())
        } else {
            Err(Error::DimMismatch {
                op,
                axis: 0,
                what,
                got: n,
                expected: n / g * g,
            })
        }
    };
    let (c_out, out, p) = if !geo.transposed {
        check_dim(
            op,
            ch_axis,
            "input channels vs weight in-channels × groups",
            c,
            w1 * g,
        )?;
        per_group(w0, "weight out-channels must be a multiple of the groups")?;
        let mut out = [0; 2];
        for a in 0..2 {
            let (s, pad, d, _) = axis_geo(a);
            out[a] = conv_out_size(size[a], kernel[a], s, pad, d).ok_or(Error::KernelTooLarge {
                op,
                axis: sp_axis(a),
                input: size[a],
                padding: pad,
                kernel: d.saturating_mul(kernel[a] - 1).saturating_add(1),
            })?;
        }
        let p = ConvParams {
            batch,
            c_in: c,
            c_out: w0,
            groups: g,
            input: size,
            kernel,
            stride: [axis_geo(0).0, axis_geo(1).0],
            padding: [axis_geo(0).1, axis_geo(1).1],
            dilation: [axis_geo(0).2, axis_geo(1).2],
            output_padding: [0, 0],
        };
        (w0, out, p)
    } else {
        check_dim(op, ch_axis, "input channels vs weight in-channels", c, w0)?;
        per_group(c, "input channels must be a multiple of the groups")?;
        let c_out = w1 * g;
        let mut out = [0; 2];
        for a in 0..2 {
            let (s, pad, d, opad) = axis_geo(a);
            if opad >= s {
                return Err(Error::Invalid(
                    "conv_transpose: the output padding must be smaller than the stride",
                ));
            }
            out[a] =
                conv_transpose_out_size(size[a], kernel[a], s, pad, opad, d)
                    .ok_or(Error::Invalid(
                    "conv_transpose: the padding removes the whole output (or the input is empty)",
                ))?;
        }
        let p = ConvParams {
            batch,
            c_in: c_out,
            c_out: c,
            groups: g,
            input: out,
            kernel,
            stride: [axis_geo(0).0, axis_geo(1).0],
            padding: [axis_geo(0).1, axis_geo(1).1],
            dilation: [axis_geo(0).2, axis_geo(1).2],
            output_padding: [axis_geo(0).3, axis_geo(1).3],
        };
        debug_assert_eq!(p.output(), Some(size));
        (c_out, out, p)
    };
    if let Some(n) = bias_len {
        check_dim(op, 0, "bias length vs output channels", n, c_out)?;
    }
    // The buffers must be addressable: every element count fits in usize.
    let numel = |dims: &[usize]| {
        dims.iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or(Error::NumelOverflow {
                op,
                dims: crate::shape::Dims::new(dims),
            })
    };
    numel(&[batch, p.c_in, p.input[0], p.input[1]])?;
    numel(&[batch, p.c_out, size[0].max(out[0]), size[1].max(out[1])])?;
    numel(&[
        p.c_in_per_group(),
        kernel[0],
        kernel[1],
        out[0].max(size[0]),
        out[1].max(size[1]),
    ])?;
    Ok((p, c_out, out))
}

/// The shared runtime code of every conv op and layer: checks, kernel
/// call, and the recorded backward (input, weight and bias gradients, the
/// latter two under the parameters' ids).
#[allow(clippy::type_complexity)]
pub(crate) fn conv_any<S, CI: Dim, CO: Dim, M, R, G, X, W: Shape, Cb: Dim, E, D, T>(
    x: Tensor<S, E, D, T>,
    weight: &Tensor<W, E, D>,
    bias: Option<&Tensor<(Cb,), E, D>>,
    geo: ConvGeometry,
) -> Result<Tensor<<S as ConvInput<CI, CO, M, R, G, X>>::Output, E, D, T>, Error>
where
    S: ConvInput<CI, CO, M, R, G, X>,
    E: Dtype,
    D: Device<E>,
    T: Tracking<E, D>,
{
    let input = x.shape.conv_input();
    let (p, c_out, out) = plan(
        geo,
        input,
        S::RANK,
        &weight.dims(),
        bias.map(|b| b.shape.0.size()),
    )?;
    let out_shape = x.shape.conv_output(c_out, out)?;
    let dev = x.device.clone();
    let b = bias.map(|b| &b.data);
    let y = if geo.transposed {
        dev.conv_input_grad(&p, &weight.data, &x.data, b)
    } else {
        dev.conv_forward(&p, &x.data, &weight.data, b)
    };
    let want_input = x.tape.wants_grad(x.id);
    let (x, tape) = x.split_tape();
    // Only a tracked input records a backward; keep the buffers it needs.
    let saved = T::TRACKED.then(|| {
        (
            x.id,
            x.data,
            weight.id,
            weight.data.clone(),
            bias.map(|b| b.id),
        )
    });
    let transposed = geo.transposed;
    Ok(op_result(out_shape, y, dev.clone(), tape, move |g, gy| {
        let Some((x_id, x_data, w_id, w_data, b_id)) = &saved else {
            return;
        };
        let (gx, gw, gb) = if transposed {
            // The transposed conv is the conv's input gradient: its input
            // gradient is the conv's forward, and its weight gradient the
            // conv's with the roles of input and output gradient swapped.
            let spatial = p.input[0] * p.input[1];
            (
                want_input.then(|| dev.conv_forward(&p, gy, w_data, None)),
                Some(dev.conv_weight_grad(&p, gy, x_data)),
                b_id.map(|_| dev.channel_sum(p.batch, p.c_in, spatial, gy)),
            )
        } else {
            let want = ConvWant {
                input: want_input,
                weight: true,
                bias: b_id.is_some(),
            };
            dev.conv_backward(&p, x_data, w_data, gy, want)
        };
        if let Some(gx) = gx {
            g.accumulate(*x_id, gx);
        }
        if let Some(gw) = gw {
            g.accumulate(*w_id, gw);
        }
        if let (Some(gb), Some(b_id)) = (gb, b_id) {
            g.accumulate(*b_id, gb);
        }
    }))
}

/// The window of a conv op with a square kernel `K` and spec `(St, P, L)`.
type Win<K, St, P, L> = Fwd<K, St, P, L>;

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// 2-D convolution (PyTorch's `F.conv2d`): input `(B, C, H, W)` (any
    /// batch dim) or unbatched `(C, H, W)`, weight `(CO, C / G, K, K)`,
    /// optional bias `(CO,)`; stride, padding, dilation and groups from the
    /// [`ConvSpec`]. The output is `(B, CO, OH, OW)` (or `(CO, OH, OW)`),
    /// `OH = (H + 2P - L(K-1) - 1) / S + 1`: static for static `H`, `W`.
    ///
    /// Static mismatches (input channels against the weight, a kernel
    /// larger than the padded input, groups that do not divide the output
    /// channels) do not compile; `Dyn` ones panic with the message of
    /// [`Tensor::try_conv2d`]. When `self` is tracked, the weight's and
    /// bias's gradients are recorded under their ids.
    ///
    /// ```
    /// use typegrad::ops::conv::ConvSpec;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(u!(1), u!(3), u!(3)), f64> = Tensor::from_vec_static((1..=9).map(f64::from).collect(), &dev);
    /// let w: Tensor<(u!(2), u!(1), u!(2), u!(2)), f64> =
    ///     Tensor::from_vec_static(vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0], &dev);
    /// let y = x.clone().conv2d(&w, None, ConvSpec::plain()); // (2, 2, 2)
    /// assert_eq!(y.to_vec(), vec![1.0, 2.0, 4.0, 5.0, 5.0, 6.0, 8.0, 9.0]);
    /// let grads = x.trace().conv2d(&w, None, ConvSpec::plain()).sum().backward();
    /// assert_eq!(grads.get(&w).unwrap().to_vec(), vec![12.0, 16.0, 24.0, 28.0, 12.0, 16.0, 24.0, 28.0]);
    /// ```
    #[track_caller]
    #[allow(clippy::type_complexity)]
    // The checks on the signature's first line: one line of note in errors.
    #[rustfmt::skip]
    pub fn conv2d<Gv: DimsAgree<Xv>, Xv, Gg: GroupsDoNotDivide<Xg>, Xg,
        CO: Dim, CIg: Dim, K: Dim + Unsigned, St: Unsigned, P: Unsigned, L: Unsigned, G>(
        self,
        weight: &Tensor<(CO, CIg, K, K), E, D>,
        bias: Option<&Tensor<(CO,), E, D>>,
        spec: ConvSpec<St, P, L, G>,
    ) -> Tensor<<S as ConvInput<Prod<G, CIg>, CO, Win<K, St, P, L>, Spatial2, Gv, Xv>>::Output, E, D, T>
    where
        G: MulDim<CIg> + Groups<Prod<G, CIg>, CO, Got = Gg, Exp = Xg>,
        S: ConvInput<Prod<G, CIg>, CO, Win<K, St, P, L>, Spatial2, Gv, Xv>,
    {
        self.try_conv2d(weight, bias, spec)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible [`Tensor::conv2d`]: a `Dyn` size that does not fit (input
    /// channels against the weight, a kernel larger than the padded input,
    /// a bias of the wrong length) is an [`Error`] naming it.
    ///
    /// ```
    /// use typegrad::ops::conv::ConvSpec;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(u!(1), u!(2), Dyn, Dyn)> = Tensor::zeros((Default::default(), Default::default(), Dyn(2), Dyn(9)), &dev);
    /// let w: Tensor<(u!(4), u!(2), u!(3), u!(3))> = Tensor::zeros(Default::default(), &dev);
    /// let e = x.try_conv2d(&w, None, ConvSpec::plain()).unwrap_err();
    /// assert_eq!(e.to_string(), "conv2d: kernel larger than padded input on axis 2: input size 2 + 2 x padding 0 < effective kernel size 3");
    /// ```
    #[allow(clippy::type_complexity)]
    // The checks on the signature's first line: one line of note in errors.
    #[rustfmt::skip]
    pub fn try_conv2d<Gv: DimsAgree<Xv>, Xv, Gg: GroupsDoNotDivide<Xg>, Xg,
        CO: Dim, CIg: Dim, K: Dim + Unsigned, St: Unsigned, P: Unsigned, L: Unsigned, G>(
        self,
        weight: &Tensor<(CO, CIg, K, K), E, D>,
        bias: Option<&Tensor<(CO,), E, D>>,
        _spec: ConvSpec<St, P, L, G>,
    ) -> Result<
        Tensor<<S as ConvInput<Prod<G, CIg>, CO, Win<K, St, P, L>, Spatial2, Gv, Xv>>::Output, E, D, T>,
        Error,
    >
    where
        G: MulDim<CIg> + Groups<Prod<G, CIg>, CO, Got = Gg, Exp = Xg>,
        S: ConvInput<Prod<G, CIg>, CO, Win<K, St, P, L>, Spatial2, Gv, Xv>,
    {
        conv_any::<S, Prod<G, CIg>, CO, Win<K, St, P, L>, Spatial2, Gv, Xv, _, CO, E, D, T>(
            self,
            weight,
            bias,
            ConvGeometry::conv::<St, P, L, G>("conv2d"),
        )
    }

    /// 1-D convolution (PyTorch's `F.conv1d`): input `(B, C, L)` (any batch
    /// dim) or unbatched `(C, L)`, weight `(CO, C / G, K)`, optional bias
    /// `(CO,)`, spec as for [`Tensor::conv2d`]. Runs through the 2-D kernel
    /// with `H = 1`.
    ///
    /// ```
    /// use typegrad::ops::conv::ConvSpec;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(Dyn, u!(1), u!(5)), f64> = Tensor::from_vec((Dyn(1), Default::default(), Default::default()), vec![1.0, 2.0, 3.0, 4.0, 5.0], &dev);
    /// let w: Tensor<(u!(1), u!(1), u!(2)), f64> = Tensor::from_vec_static(vec![1.0, -1.0], &dev);
    /// // stride 2, padding 1: (5 + 2 - 2) / 2 + 1 = 3 outputs
    /// let y: Tensor<(Dyn, u!(1), u!(3)), f64> = x.conv1d(&w, None, ConvSpec::<u!(2), u!(1)>::new());
    /// assert_eq!(y.to_vec(), vec![-1.0, -1.0, -1.0]);
    /// ```
    #[track_caller]
    #[allow(clippy::type_complexity)]
    // The checks on the signature's first line: one line of note in errors.
    #[rustfmt::skip]
    pub fn conv1d<Gv: DimsAgree<Xv>, Xv, Gg: GroupsDoNotDivide<Xg>, Xg,
        CO: Dim, CIg: Dim, K: Dim + Unsigned, St: Unsigned, P: Unsigned, L: Unsigned, G>(
        self,
        weight: &Tensor<(CO, CIg, K), E, D>,
        bias: Option<&Tensor<(CO,), E, D>>,
        spec: ConvSpec<St, P, L, G>,
    ) -> Tensor<<S as ConvInput<Prod<G, CIg>, CO, Win<K, St, P, L>, Spatial1, Gv, Xv>>::Output, E, D, T>
    where
        G: MulDim<CIg> + Groups<Prod<G, CIg>, CO, Got = Gg, Exp = Xg>,
        S: ConvInput<Prod<G, CIg>, CO, Win<K, St, P, L>, Spatial1, Gv, Xv>,
    {
        self.try_conv1d(weight, bias, spec)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible [`Tensor::conv1d`] (see [`Tensor::try_conv2d`]).
    ///
    /// ```
    /// use typegrad::ops::conv::ConvSpec;
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let x: Tensor<(Dyn, u!(7))> = Tensor::zeros((Dyn(3), Default::default()), &dev);
    /// let w: Tensor<(u!(2), u!(4), u!(3))> = Tensor::zeros(Default::default(), &dev);
    /// let e = x.try_conv1d(&w, None, ConvSpec::plain()).unwrap_err();
    /// assert!(e.to_string().contains("input channels vs weight in-channels × groups): got 3, expected 4"));
    /// ```
    #[allow(clippy::type_complexity)]
    // The checks on the signature's first line: one line of note in errors.
    #[rustfmt::skip]
    pub fn try_conv1d<Gv: DimsAgree<Xv>, Xv, Gg: GroupsDoNotDivide<Xg>, Xg,
        CO: Dim, CIg: Dim, K: Dim + Unsigned, St: Unsigned, P: Unsigned, L: Unsigned, G>(
        self,
        weight: &Tensor<(CO, CIg, K), E, D>,
        bias: Option<&Tensor<(CO,), E, D>>,
        _spec: ConvSpec<St, P, L, G>,
    ) -> Result<
        Tensor<<S as ConvInput<Prod<G, CIg>, CO, Win<K, St, P, L>, Spatial1, Gv, Xv>>::Output, E, D, T>,
        Error,
    >
    where
        G: MulDim<CIg> + Groups<Prod<G, CIg>, CO, Got = Gg, Exp = Xg>,
        S: ConvInput<Prod<G, CIg>, CO, Win<K, St, P, L>, Spatial1, Gv, Xv>,
    {
        conv_any::<S, Prod<G, CIg>, CO, Win<K, St, P, L>, Spatial1, Gv, Xv, _, CO, E, D, T>(
            self,
            weight,
            bias,
            ConvGeometry::conv::<St, P, L, G>("conv1d"),
        )
    }
}
