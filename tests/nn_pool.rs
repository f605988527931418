//! Pooling layers and channel dropout: the layers against the tensor ops
//! (and those against naive loops in `tests/ops/pool.rs`), no parameters,
//! use in a derived sequential model; `Dropout2d`/`Dropout1d`: the mask is
//! constant over each channel, the keep rate is `1 - p`, the gradient is
//! the mask times the scale, and evaluation is the identity.

use typegrad::nn::{
    AvgPool1d, AvgPool2d, Dropout1d, Dropout2d, GlobalAvgPool1d, GlobalAvgPool2d, MaxPool1d,
    MaxPool2d, Module, ReLU,
};
use typegrad::prelude::*;
use typegrad::testing::{assert_close, gradcheck};

typegrad::per_device! {
    type Img<B> = Tensor<(B, u!(3), u!(8), u!(8)), f64, Dev>;

    fn img(dev: &Dev) -> Img<Dyn> {
        Tensor::randn(
            (
                Dyn(2),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            0.0,
            1.0,
            dev,
        )
    }

    /// Each layer is its tensor method, with PyTorch's defaults (stride =
    /// kernel, no padding, dilation 1, count_include_pad).
    #[test]
    fn layers_are_their_ops() {
        let dev = seeded(1);
        let x = img(&dev);
        let y: Tensor<(Dyn, u!(3), u!(4), u!(4)), f64, Dev> = MaxPool2d::<u!(2)>::new().forward(x.clone());
        assert_eq!(
            y.to_vec(),
            x.clone()
                .max_pool2d::<u!(2), u!(2), u!(0), u!(1)>()
                .to_vec()
        );
        let y: Tensor<(Dyn, u!(3), u!(4), u!(4)), f64, Dev> =
            MaxPool2d::<u!(3), u!(2), u!(1)>::new().forward(x.clone());
        assert_eq!(
            y.to_vec(),
            x.clone()
                .max_pool2d::<u!(3), u!(2), u!(1), u!(1)>()
                .to_vec()
        );
        let y = MaxPool2d::<u!(3), u!(1), u!(1), u!(2)>::new().forward(x.clone());
        assert_eq!(
            y.to_vec(),
            x.clone()
                .max_pool2d::<u!(3), u!(1), u!(1), u!(2)>()
                .to_vec()
        );
        let y = AvgPool2d::<u!(2)>::default().forward(x.clone());
        assert_eq!(
            y.to_vec(),
            x.clone().avg_pool2d::<u!(2), u!(2), u!(0)>(true).to_vec()
        );
        let y = AvgPool2d::<u!(3), u!(1), u!(1)>::with_count_include_pad(false).forward(x.clone());
        assert_eq!(
            y.to_vec(),
            x.clone().avg_pool2d::<u!(3), u!(1), u!(1)>(false).to_vec()
        );
        let g: Tensor<(Dyn, u!(3)), f64, Dev> = GlobalAvgPool2d.forward(x.clone());
        assert_eq!(g.to_vec(), x.clone().global_avg_pool2d().to_vec());

        let s: Tensor<(Dyn, u!(3), u!(10)), f64, Dev> = Tensor::randn(
            (Dyn(2), Default::default(), Default::default()),
            0.0,
            1.0,
            &dev,
        );
        let y: Tensor<(Dyn, u!(3), u!(5)), f64, Dev> = MaxPool1d::<u!(2)>::new().forward(s.clone());
        assert_eq!(
            y.to_vec(),
            s.clone()
                .max_pool1d::<u!(2), u!(2), u!(0), u!(1)>()
                .to_vec()
        );
        let y: Tensor<(Dyn, u!(3), u!(5)), f64, Dev> =
            AvgPool1d::<u!(3), u!(2), u!(1)>::with_count_include_pad(false).forward(s.clone());
        assert_eq!(
            y.to_vec(),
            s.clone().avg_pool1d::<u!(3), u!(2), u!(1)>(false).to_vec()
        );
        assert_eq!(
            GlobalAvgPool1d.forward(s.clone()).to_vec(),
            s.global_avg_pool1d().to_vec()
        );
    }

    /// Layers train through the tape (their forward is generic over it).
    #[test]
    fn layers_gradcheck() {
        let x: Tensor<(u!(2), u!(2), u!(5), u!(5)), f64, Dev> = Tensor::from_vec(
            Default::default(),
            (0..100).map(|i| ((i * 37) % 100) as f64 * 0.01).collect(),
            &dev(),
        );
        gradcheck(&x, |x| MaxPool2d::<u!(3), u!(1), u!(1)>::new().forward(x)).unwrap();
        gradcheck(&x, |x| {
            AvgPool2d::<u!(2), u!(1), u!(1)>::with_count_include_pad(false).forward(x)
        })
        .unwrap();
        gradcheck(&x, |x| GlobalAvgPool2d.forward(x)).unwrap();
    }

    /// No parameters, `Default`, zero-sized (max/global) or one `bool`, and
    /// a PyTorch-like `Debug`.
    #[test]
    fn no_parameters_and_small() {
        assert_eq!(
            Params::<f32, Dev>::num_params(&MaxPool2d::<u!(2)>::new()),
            0
        );
        assert_eq!(
            Params::<f32, Dev>::num_params(&AvgPool1d::<u!(2)>::new()),
            0
        );
        assert_eq!(Params::<f32, Dev>::num_params(&GlobalAvgPool2d), 0);
        assert_eq!(Params::<f32, Dev>::num_params(&Dropout2d::default()), 0);
        assert_eq!(core::mem::size_of::<MaxPool2d<u!(3), u!(2), u!(1)>>(), 0);
        assert_eq!(core::mem::size_of::<GlobalAvgPool2d>(), 0);
        assert_eq!(core::mem::size_of::<AvgPool2d<u!(2)>>(), 1);
        assert!(AvgPool2d::<u!(2)>::default().count_include_pad);
        assert_eq!(
            format!("{:?}", MaxPool2d::<u!(3), u!(2), u!(1)>::new()),
            "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1)"
        );
        assert_eq!(
            format!("{:?}", AvgPool1d::<u!(4)>::with_count_include_pad(false)),
            "AvgPool1d(kernel_size=4, stride=4, padding=0, count_include_pad=false)"
        );
    }

    /// A small conv-net tail as a derived sequential model: the pools chain
    /// with other layers, and the model has no parameters.
    #[derive(Module, Default)]
    #[module(sequential)]
    struct Tail {
        pool: MaxPool2d<u!(2)>,
        act: ReLU,
        avg: AvgPool2d<u!(3), u!(1), u!(1)>,
        drop: Dropout2d,
        global: GlobalAvgPool2d,
    }

    #[test]
    fn pools_in_a_derived_model() {
        let tail = Tail::default();
        let x = img(&seeded(2));
        let y: Tensor<(Dyn, u!(3)), f64, Dev> = tail.forward(x.clone());
        let want = x
            .max_pool2d::<u!(2), u!(2), u!(0), u!(1)>()
            .relu()
            .avg_pool2d::<u!(3), u!(1), u!(1)>(true)
            .global_avg_pool2d();
        assert_close!(y, want, 1e-12);
        assert_eq!(Params::<f64, Dev>::num_params(&tail), 0);
    }

    // ----------------------------------------------------------------- dropout

    /// Training: every channel is all zeros or all `1 / (1 - p)`, the keep
    /// rate is `1 - p` within 4 standard deviations, the gradient is the
    /// forward's mask times the scale, and batched entries draw separately.
    #[test]
    fn dropout2d_whole_channels() {
        let dev = seeded(7);
        let p = 0.3;
        let (b, c, hw) = (16, 64, 5 * 5);
        let x: Tensor<(Dyn, u!(64), u!(5), u!(5)), f64, Dev> = Tensor::randn(
            (
                Dyn(b),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            0.0,
            1.0,
            &dev,
        );
        let xt = x.clone().trace();
        let y = Dropout2d::new(p).forward(xt);
        let (yv, xv) = (y.to_vec(), x.to_vec());
        let scale = 1.0 / (1.0 - p);
        let mut kept = 0;
        let mut mask = vec![0.0; b * c];
        for (ch, (ys, xs)) in yv.chunks(hw).zip(xv.chunks(hw)).enumerate() {
            let zero = ys.iter().all(|&v| v == 0.0);
            let scaled = ys
                .iter()
                .zip(xs)
                .all(|(&y, &x)| (y - x * scale).abs() < 1e-12);
            assert!(zero ^ scaled, "channel {ch} is partly dropped");
            if scaled {
                kept += 1;
                mask[ch] = scale;
            }
        }
        let n = (b * c) as f64;
        let sd = (n * p * (1.0 - p)).sqrt();
        assert!(
            ((kept as f64) - n * (1.0 - p)).abs() < 4.0 * sd,
            "kept {kept} of {n}"
        );
        // The gradient of sum(y * w) is w times the same mask.
        let w: Vec<f64> = (0..b * c * hw).map(|i| (i % 7) as f64 - 3.0).collect();
        let g = y.backward_from(Tensor::from_vec(x.shape(), w.clone(), &dev));
        let gx = g.get(&x).unwrap().to_vec();
        for (i, (&g, &w)) in gx.iter().zip(&w).enumerate() {
            assert_eq!(g, w * mask[i / hw], "element {i}");
        }
    }

    /// Unbatched `(C, H, W)`: one draw per channel.
    #[test]
    fn dropout2d_unbatched_and_edges() {
        let dev = seeded(3);
        let x: Tensor<(u!(200), u!(2), u!(3)), f32, Dev> = Tensor::ones(Default::default(), &dev);
        let y = Dropout2d::new(0.5).forward(x.clone().trace()).to_vec();
        let kept = y.chunks(6).filter(|c| c.iter().all(|&v| v == 2.0)).count();
        let dropped = y.chunks(6).filter(|c| c.iter().all(|&v| v == 0.0)).count();
        assert_eq!(kept + dropped, 200);
        assert!((60..140).contains(&kept), "kept {kept}");
        // p = 0 and p = 1.
        assert_eq!(
            Dropout2d::new(0.0).forward(x.clone().trace()).to_vec(),
            x.to_vec()
        );
        assert!(Dropout2d::new(1.0)
            .forward(x.clone().trace())
            .to_vec()
            .iter()
            .all(|&v| v == 0.0));
        assert!(Dropout2d::try_new(-0.1).is_err());
        assert_eq!(
            Dropout2d::try_new(2.0).unwrap_err().to_string(),
            "dropout2d: the rate p must be in [0, 1]"
        );
    }

    /// Evaluation is the identity: untracked inputs, and tracked ones in
    /// `Mode::Eval` (whose gradient then passes unchanged).
    #[test]
    fn channel_dropout_eval_identity() {
        let dev = seeded(4);
        let x = img(&dev);
        assert_eq!(Dropout2d::new(0.9).forward(x.clone()).to_vec(), x.to_vec());
        let y = Dropout2d::new(0.9).forward(x.clone().trace().with_mode(Mode::Eval));
        assert_eq!(y.to_vec(), x.to_vec());
        let g = y.sum().backward();
        assert_eq!(g.get(&x).unwrap().to_vec(), vec![1.0; x.numel()]);
        let s: Tensor<(Dyn, u!(4), u!(6)), f32, Dev> =
            Tensor::ones((Dyn(3), Default::default(), Default::default()), &dev);
        assert_eq!(Dropout1d::new(0.5).forward(s.clone()).to_vec(), s.to_vec());
        assert_eq!(
            Dropout1d::new(0.5)
                .forward(s.clone().trace().with_mode(Mode::Eval))
                .to_vec(),
            s.to_vec()
        );
    }

    /// `Dropout1d`: one draw per `(batch, channel)` of `(B, C, L)`, keep rate
    /// `1 - p`, reproducible from the device seed.
    #[test]
    fn dropout1d_channels() {
        let run = |seed| {
            let s: Tensor<(Dyn, u!(50), u!(7)), f32, Dev> = Tensor::ones(
                (Dyn(8), Default::default(), Default::default()),
                &seeded(seed),
            );
            Dropout1d::new(0.75).forward(s.trace()).to_vec()
        };
        let y = run(5);
        assert_eq!(y, run(5));
        let mut kept = 0;
        for ch in y.chunks(7) {
            assert!(ch.iter().all(|&v| v == 0.0) || ch.iter().all(|&v| v == 4.0));
            kept += (ch[0] == 4.0) as usize;
        }
        let (n, p) = (400.0, 0.75);
        assert!(
            ((kept as f64) - n * (1.0 - p)).abs() < 4.0 * (n * p * (1.0 - p)).sqrt(),
            "kept {kept}"
        );
    }
}
