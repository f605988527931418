//! Optimizers, gradient clipping and learning-rate schedules: updates
//! against hand computation, an independent scalar reference and PyTorch
//! trajectories (tests/fixtures/optim_torch.{py,txt}); clipping against the
//! formula; schedules against their formulas and proptests of their shape;
//! convergence on quadratics.

use proptest::prelude::*;
use typegrad::assert_close;
use typegrad::nn::{ParamMut, ParamPath, ParamRef, Params};
use typegrad::optim::*;
use typegrad::prelude::*;

typegrad::per_device! {
    type P1 = Tensor<(u!(2), u!(2)), f64, Dev>;
    type P2 = Tensor<(u!(3),), f64, Dev>;
    type Model = (P1, P2);

    const INIT1: [f64; 4] = [0.5, -1.0, 2.0, 0.3];
    const INIT2: [f64; 3] = [1.0, -0.5, 0.25];
    const TARGET1: [f64; 4] = [1.0, 0.0, -1.0, 0.5];

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    fn model(dev: &Dev) -> Model {
        (
            Tensor::from_vec_static(INIT1.to_vec(), dev),
            Tensor::from_vec_static(INIT2.to_vec(), dev),
        )
    }

    fn values(m: &Model) -> Vec<f64> {
        let mut v = m.0.to_vec();
        v.extend(m.1.to_vec());
        v
    }

    /// Loss sum((p1 - t1)^2) + sum(p2^3)/3: grad p1 = 2 (p1 - t1), grad p2 = p2^2.
    fn grads_of(m: &Model) -> Gradients<f64, Dev> {
        let dev = m.0.device().clone();
        let t1: P1 = Tensor::from_vec_static(TARGET1.to_vec(), &dev);
        let a = (m.0.clone().trace() - t1).square().sum();
        let b = m.1.clone().trace().powf(3.0).sum().mul_scalar(1.0 / 3.0);
        (a + b).backward()
    }

    #[derive(Copy, Clone, Debug)]
    enum Cfg {
        Sgd(SgdConfig),
        Adam(AdamConfig, bool),
    }

    impl Cfg {
        fn build(self) -> Box<dyn Optimizer<f64, Dev>> {
            match self {
                Cfg::Sgd(c) => Box::new(Sgd::new(c).unwrap()),
                Cfg::Adam(c, false) => Box::new(Adam::new(c).unwrap()),
                Cfg::Adam(c, true) => Box::new(AdamW::new(c).unwrap()),
            }
        }
    }

    /// The configurations of tests/fixtures/optim_torch.py, by name.
    fn configs() -> Vec<(&'static str, Cfg)> {
        let sgd = |lr, momentum, dampening, nesterov, weight_decay| {
            Cfg::Sgd(SgdConfig {
                lr,
                momentum,
                dampening,
                nesterov,
                weight_decay,
            })
        };
        let adam = |lr, betas, eps, weight_decay, w| {
            Cfg::Adam(
                AdamConfig {
                    lr,
                    betas,
                    eps,
                    weight_decay,
                },
                w,
            )
        };
        vec![
            ("sgd", sgd(0.1, 0.0, 0.0, false, 0.0)),
            ("sgd_wd", sgd(0.1, 0.0, 0.0, false, 0.05)),
            ("sgd_momentum", sgd(0.1, 0.9, 0.0, false, 0.0)),
            ("sgd_dampening", sgd(0.1, 0.9, 0.3, false, 0.01)),
            ("sgd_nesterov", sgd(0.1, 0.9, 0.0, true, 0.05)),
            ("adam", adam(0.05, (0.9, 0.999), 1e-8, 0.0, false)),
            ("adam_wd", adam(0.05, (0.8, 0.99), 1e-6, 0.1, false)),
            ("adamw", adam(0.05, (0.9, 0.999), 1e-8, 0.1, true)),
            ("adamw_b", adam(0.05, (0.5, 0.9), 1e-3, 0.3, true)),
        ]
    }

    /// An independent scalar implementation of PyTorch's update rules
    /// (the pseudo-code of the torch.optim docs), on the loss above.
    fn reference(cfg: Cfg, steps: usize) -> Vec<Vec<f64>> {
        let mut p: Vec<f64> = INIT1.iter().chain(&INIT2).copied().collect();
        let n = p.len();
        let grad = |p: &[f64]| -> Vec<f64> {
            (0..n)
                .map(|i| {
                    if i < 4 {
                        2.0 * (p[i] - TARGET1[i])
                    } else {
                        p[i] * p[i]
                    }
                })
                .collect()
        };
        let (mut buf, mut m, mut v) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut out = Vec::new();
        for t in 1..=steps {
            let g0 = grad(&p);
            for i in 0..n {
                match cfg {
                    Cfg::Sgd(c) => {
                        let g = g0[i] + c.weight_decay * p[i];
                        let mut d = g;
                        if c.momentum != 0.0 {
                            buf[i] = if t == 1 {
                                g
                            } else {
                                c.momentum * buf[i] + (1.0 - c.dampening) * g
                            };
                            d = if c.nesterov {
                                g + c.momentum * buf[i]
                            } else {
                                buf[i]
                            };
                        }
                        p[i] -= c.lr * d;
                    }
                    Cfg::Adam(c, decoupled) => {
                        let (b1, b2) = c.betas;
                        let mut g = g0[i];
                        if decoupled {
                            p[i] *= 1.0 - c.lr * c.weight_decay;
                        } else {
                            g += c.weight_decay * p[i];
                        }
                        m[i] = b1 * m[i] + (1.0 - b1) * g;
                        v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                        let mhat = m[i] / (1.0 - b1.powi(t as i32));
                        let vhat = v[i] / (1.0 - b2.powi(t as i32));
                        p[i] -= c.lr * mhat / (vhat.sqrt() + c.eps);
                    }
                }
            }
            out.push(p.clone());
        }
        out
    }

    fn run(cfg: Cfg, steps: usize) -> Vec<Vec<f64>> {
        let dev = dev();
        let mut m = model(&dev);
        let mut opt = cfg.build();
        (0..steps)
            .map(|_| {
                let g = grads_of(&m);
                opt.step(&mut m, &g).unwrap();
                values(&m)
            })
            .collect()
    }

    // ---------------------------------------------------------------- hand-computed

    /// One scalar parameter with loss `p²` (g = 2p), three steps.
    fn scalar_steps(opt: &mut dyn Optimizer<f64, Dev>, p0: f64, loss_is_p: bool) -> Vec<f64> {
        let dev = dev();
        let mut w: Tensor<(u!(1),), f64, Dev> = Tensor::from_vec_static(vec![p0], &dev);
        (0..3)
            .map(|_| {
                let t = w.clone().trace();
                let grads = if loss_is_p {
                    t.sum().backward()
                } else {
                    t.square().sum().backward()
                };
                opt.step(&mut w, &grads).unwrap();
                w.to_vec()[0]
            })
            .collect()
    }

    #[test]
    fn sgd_plain_by_hand() {
        // p ← p - 0.1 · 2p = 0.8 p
        let mut o = Sgd::new(SgdConfig {
            lr: 0.1,
            ..Default::default()
        })
        .unwrap();
        assert_close!(
            &scalar_steps(&mut o, 1.0, false),
            &[0.8, 0.64, 0.512],
            1e-14,
            "sgd"
        );
    }

    #[test]
    fn sgd_weight_decay_by_hand() {
        // g = 2p + 0.5p: p ← 0.75 p
        let mut o = Sgd::new(SgdConfig {
            lr: 0.1,
            weight_decay: 0.5,
            ..Default::default()
        })
        .unwrap();
        assert_close!(
            &scalar_steps(&mut o, 1.0, false),
            &[0.75, 0.5625, 0.421875],
            1e-14,
            "sgd wd"
        );
    }

    #[test]
    fn sgd_momentum_by_hand() {
        // g=2, buf=2, p=0.8; g=1.6, buf=1.8+1.6=3.4, p=0.46; g=0.92, buf=3.06+0.92=3.98, p=0.062
        let mut o = Sgd::new(SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            ..Default::default()
        })
        .unwrap();
        assert_close!(
            &scalar_steps(&mut o, 1.0, false),
            &[0.8, 0.46, 0.062],
            1e-13,
            "momentum"
        );
        assert_eq!(o.state_len(), 1);
    }

    #[test]
    fn sgd_nesterov_by_hand() {
        // g=2, buf=2, d=2+1.8=3.8, p=0.62
        // g=1.24, buf=1.8+1.24=3.04, d=1.24+2.736=3.976, p=0.2224
        // g=0.4448, buf=2.736+0.4448=3.1808, d=0.4448+2.86272=3.30752, p=-0.108352
        let mut o = Sgd::new(SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            ..Default::default()
        })
        .unwrap();
        assert_close!(
            &scalar_steps(&mut o, 1.0, false),
            &[0.62, 0.2224, -0.108352],
            1e-13,
            "nesterov"
        );
    }

    #[test]
    fn sgd_dampening_by_hand() {
        // Loss p (g = 1), momentum 0.5, dampening 0.5: buf = 1 (first step, undamped),
        // then 0.5 + 0.5 = 1, 1: each step moves by lr = 0.1.
        let mut o = Sgd::new(SgdConfig {
            lr: 0.1,
            momentum: 0.5,
            dampening: 0.5,
            ..Default::default()
        })
        .unwrap();
        assert_close!(
            &scalar_steps(&mut o, 1.0, true),
            &[0.9, 0.8, 0.7],
            1e-14,
            "dampening"
        );
    }

    #[test]
    fn adam_bias_correction_by_hand() {
        // Constant g = 1, eps = 0: m̂ = v̂ = 1 at every step thanks to the bias
        // corrections, so each step moves by exactly lr. (Without them the first
        // step would move by lr · 0.1 / √0.001 ≈ 3.16 lr.)
        let mut o = Adam::new(AdamConfig {
            lr: 0.1,
            eps: 0.0,
            ..Default::default()
        })
        .unwrap();
        assert_close!(
            &scalar_steps(&mut o, 1.0, true),
            &[0.9, 0.8, 0.7],
            1e-14,
            "adam g=1"
        );

        // Loss p², p0 = 1, eps = 0:
        // t=1: g=2, m=0.2, v=0.004, m̂=2, v̂=4 → p = 1 - 0.1·2/2 = 0.9
        // t=2: g=1.8, m=0.36, v=0.007236, m̂=0.36/0.19=1.8947368421,
        //      v̂=0.007236/0.001999=3.6198099050, √v̂=1.9025797710
        //      → p = 0.9 - 0.1·0.9958777232 = 0.8004122277
        // t=3: g=1.6008244553, m=0.4840082455, v=0.0097915408, bc1=0.271,
        //      bc2=0.002997001 → p = 0.7015862714
        let mut o = Adam::new(AdamConfig {
            lr: 0.1,
            eps: 0.0,
            ..Default::default()
        })
        .unwrap();
        assert_close!(
            &scalar_steps(&mut o, 1.0, false),
            &[0.9, 0.8004122277, 0.7015862714],
            1e-9,
            "adam p²"
        );
    }

    #[test]
    fn adam_l2_weight_decay_by_hand() {
        // Loss p (g = 1), wd = 1, p0 = 1, eps = 0: the first step sees g = 1 + p = 2,
        // and with bias correction moves by exactly lr: p = 0.9.
        let mut o = Adam::new(AdamConfig {
            lr: 0.1,
            eps: 0.0,
            weight_decay: 1.0,
            ..Default::default()
        })
        .unwrap();
        let got = scalar_steps(&mut o, 1.0, true);
        assert!(close(got[0], 0.9, 1e-14), "{got:?}");
    }

    #[test]
    fn adamw_decoupled_decay_by_hand() {
        // Loss p (g = 1), lr 0.1, wd 0.5, eps 0: p ← 0.95 p - 0.1
        // 2 → 1.8 → 1.61 → 1.4295
        let mut o = AdamW::new(AdamConfig {
            lr: 0.1,
            eps: 0.0,
            weight_decay: 0.5,
            ..Default::default()
        })
        .unwrap();
        assert_close!(
            &scalar_steps(&mut o, 2.0, true),
            &[1.8, 1.61, 1.4295],
            1e-14,
            "adamw"
        );
    }

    // ---------------------------------------------------------------- references

    #[test]
    fn every_config_matches_the_scalar_reference() {
        for (name, cfg) in configs() {
            let got = run(cfg, 6);
            let want = reference(cfg, 6);
            for (t, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_close!(g, w, 1e-12, "{name} step {}", t + 1);
            }
        }
    }

    #[test]
    fn every_config_matches_pytorch() {
        let text = include_str!("fixtures/optim_torch.txt");
        let mut checked = 0;
        for (name, cfg) in configs() {
            let got = run(cfg, 6);
            for line in text.lines().filter(|l| !l.starts_with('#')) {
                let mut it = line.split_whitespace();
                if it.next() != Some(name) {
                    continue;
                }
                let step: usize = it.next().unwrap().parse().unwrap();
                let want: Vec<f64> = it.map(|v| v.parse().unwrap()).collect();
                assert_close!(&got[step - 1], &want, 1e-12, "{name} step {step} vs torch");
                checked += 1;
            }
        }
        assert_eq!(checked, 9 * 6);
    }

    #[test]
    fn f32_matches_f64() {
        for (name, cfg) in configs() {
            let want = run(cfg, 3);
            let dev = dev();
            let mut m: (Tensor<(u!(2), u!(2)), f32, Dev>, Tensor<(u!(3),), f32, Dev>) = (
                Tensor::from_vec_static(INIT1.iter().map(|&v| v as f32).collect(), &dev),
                Tensor::from_vec_static(INIT2.iter().map(|&v| v as f32).collect(), &dev),
            );
            let t1: Tensor<(u!(2), u!(2)), f32, Dev> =
                Tensor::from_vec_static(TARGET1.iter().map(|&v| v as f32).collect(), &dev);
            let mut opt: Box<dyn Optimizer<f32, Dev>> = match cfg {
                Cfg::Sgd(c) => Box::new(Sgd::new(c).unwrap()),
                Cfg::Adam(c, false) => Box::new(Adam::new(c).unwrap()),
                Cfg::Adam(c, true) => Box::new(AdamW::new(c).unwrap()),
            };
            for w in &want {
                let a = (m.0.clone().trace() - t1.clone()).square().sum();
                let b = m.1.clone().trace().powf(3.0).sum().mul_scalar(1.0 / 3.0);
                opt.step(&mut m, &(a + b).backward()).unwrap();
                let mut got: Vec<f64> = m.0.to_vec().iter().map(|&v| v as f64).collect();
                got.extend(m.1.to_vec().iter().map(|&v| v as f64));
                assert_close!(&got, w, 1e-5, "{}", name);
            }
        }
    }

    /// Large buffers take the chunked, multi-threaded kernel path.
    #[test]
    fn large_parameters_match_the_reference() {
        let n = 270_001;
        let dev = dev();
        let init: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.37).sin()).collect();
        let target: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.11).cos()).collect();
        let cfgs = [
            Cfg::Sgd(SgdConfig {
                lr: 0.1,
                momentum: 0.9,
                nesterov: true,
                weight_decay: 0.01,
                ..Default::default()
            }),
            Cfg::Adam(
                AdamConfig {
                    lr: 0.01,
                    weight_decay: 0.1,
                    ..Default::default()
                },
                false,
            ),
            Cfg::Adam(
                AdamConfig {
                    lr: 0.01,
                    weight_decay: 0.1,
                    ..Default::default()
                },
                true,
            ),
        ];
        for cfg in cfgs {
            let mut w: Tensor<(Dyn,), f64, Dev> = Tensor::from_vec((Dyn(n),), init.clone(), &dev);
            let t: Tensor<(Dyn,), f64, Dev> = Tensor::from_vec((Dyn(n),), target.clone(), &dev);
            let mut opt = cfg.build();
            for _ in 0..3 {
                let grads = (w.clone().trace() - t.clone()).square().sum().backward();
                opt.step(&mut w, &grads).unwrap();
            }
            // Scalar reference for the same loss, g = 2 (p - t).
            let (mut p, mut b, mut m, mut v) = (init.clone(), vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            for step in 1..=3 {
                for i in 0..n {
                    let g0 = 2.0 * (p[i] - target[i]);
                    match cfg {
                        Cfg::Sgd(c) => {
                            let g = g0 + c.weight_decay * p[i];
                            b[i] = if step == 1 { g } else { c.momentum * b[i] + g };
                            p[i] -= c.lr * (g + c.momentum * b[i]);
                        }
                        Cfg::Adam(c, dec) => {
                            let g = if dec { g0 } else { g0 + c.weight_decay * p[i] };
                            if dec {
                                p[i] *= 1.0 - c.lr * c.weight_decay;
                            }
                            m[i] = 0.9 * m[i] + 0.1 * g;
                            v[i] = 0.999 * v[i] + 0.001 * g * g;
                            let mh = m[i] / (1.0 - 0.9f64.powi(step));
                            let vh = v[i] / (1.0 - 0.999f64.powi(step));
                            p[i] -= c.lr * mh / (vh.sqrt() + c.eps);
                        }
                    }
                }
            }
            assert_close!(&w.to_vec(), &p, 1e-12, "{cfg:?}");
        }
    }

    // ---------------------------------------------------------------- semantics

    #[test]
    fn parameters_without_gradient_are_skipped() {
        let dev = dev();
        let mut m: (P2, P2, P2) = (
            Tensor::from_vec_static(vec![1.0, 2.0, 3.0], &dev),
            Tensor::from_vec_static(vec![-1.0, 0.5, 2.0], &dev),
            Tensor::from_vec_static(vec![4.0, -4.0, 1.0], &dev),
        );
        let mut opt = Adam::new(AdamConfig {
            lr: 0.1,
            eps: 0.0,
            ..Default::default()
        })
        .unwrap();
        for _ in 0..3 {
            // Only the first two take part.
            let loss = m.0.clone().trace().sum() + m.1.clone().trace().square().sum();
            opt.step(&mut m, &loss.backward()).unwrap();
        }
        assert_eq!(m.2.to_vec(), vec![4.0, -4.0, 1.0]);
        assert_eq!(opt.state_len(), 2);
        assert_close!(&m.0.to_vec(), &[0.7, 1.7, 2.7], 1e-14, "m.0");
        // Now the third gets a gradient: its first step counts as t = 1 (bias
        // correction of a first step: it moves by exactly lr), not t = 4.
        let loss = m.2.clone().trace().sum();
        opt.step(&mut m, &loss.backward()).unwrap();
        assert_close!(&m.2.to_vec(), &[3.9, -4.1, 0.9], 1e-14, "m.2");
        assert_close!(&m.0.to_vec(), &[0.7, 1.7, 2.7], 1e-14, "m.0 untouched");
        assert_eq!(opt.state_len(), 3);
    }

    #[test]
    fn tied_parameters_are_updated_once_and_stay_tied() {
        let dev = dev();
        let w: P2 = Tensor::from_vec_static(vec![1.0, 2.0, 3.0], &dev);
        let mut tied = (w.clone(), w.clone());
        let mut opt = Sgd::new(SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            ..Default::default()
        })
        .unwrap();
        for _ in 0..2 {
            let grads = tied.0.clone().trace().square().sum().backward();
            opt.step(&mut tied, &grads).unwrap();
        }
        // Each step is applied once: p ← 0.8 p, then buf = 1.8·2p₀ + 2p₁ ...
        // (same as a single parameter).
        let mut single = w.clone();
        let mut opt2 = Sgd::new(SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            ..Default::default()
        })
        .unwrap();
        for _ in 0..2 {
            let grads = single.clone().trace().square().sum().backward();
            opt2.step(&mut single, &grads).unwrap();
        }
        assert_eq!(tied.0.to_vec(), single.to_vec());
        assert_eq!(tied.1.to_vec(), single.to_vec());
        assert_eq!(opt.state_len(), 1);
        assert_eq!(tied.0.id(), tied.1.id());
    }

    #[test]
    fn updates_never_touch_other_holders_of_the_buffer() {
        let dev = dev();
        let mut m = model(&dev);
        let before = m.clone();
        let mut opt = Sgd::new(SgdConfig {
            lr: 0.1,
            ..Default::default()
        })
        .unwrap();
        let g = grads_of(&m);
        opt.step(&mut m, &g).unwrap();
        assert_eq!(
            values(&before),
            [INIT1.as_slice(), INIT2.as_slice()].concat()
        );
        assert_ne!(values(&m), values(&before));
        // The parameter keeps its id: gradients keep applying to it.
        assert_eq!(m.0.id(), before.0.id());
    }

    /// A module that reports the wrong size for one parameter.
    struct Liar {
        good: P2,
        bad: P2,
        claimed: Tensor<(u!(2),), f64, Dev>,
    }

    impl Params<f64, Dev> for Liar {
        fn visit_params(
            &self,
            path: &mut ParamPath,
            f: &mut dyn FnMut(&ParamPath, ParamRef<'_, f64, Dev>),
        ) {
            self.good.visit_params(path, f);
            f(
                path,
                ParamRef {
                    id: self.bad.id(),
                    kind: typegrad::nn::ParamKind::Param,
                    dims: self.claimed.dims(),
                    data: self.claimed.storage(),
                    device: self.bad.device(),
                },
            );
        }
        fn visit_params_mut(
            &mut self,
            path: &mut ParamPath,
            f: &mut dyn FnMut(&ParamPath, ParamMut<'_, f64, Dev>),
        ) {
            self.good.visit_params_mut(path, f);
            self.bad.visit_params_mut(path, f);
        }
    }

    #[test]
    fn a_gradient_of_the_wrong_size_is_an_error_and_nothing_changes() {
        let dev = dev();
        let mut m = Liar {
            good: Tensor::from_vec_static(vec![1.0, 2.0, 3.0], &dev),
            bad: Tensor::from_vec_static(vec![1.0, 2.0, 3.0], &dev),
            claimed: Tensor::zeros(Default::default(), &dev),
        };
        let loss = m.good.clone().trace().sum() + m.bad.clone().trace().sum();
        let grads = loss.backward();
        let mut opts: Vec<Box<dyn Optimizer<f64, Dev>>> = vec![
            Box::new(
                Sgd::new(SgdConfig {
                    lr: 0.1,
                    momentum: 0.9,
                    ..Default::default()
                })
                .unwrap(),
            ),
            Box::new(Adam::new(AdamConfig::default()).unwrap()),
            Box::new(AdamW::new(AdamConfig::default()).unwrap()),
        ];
        for opt in &mut opts {
            let err = opt.step(&mut m, &grads).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::NumelMismatch {
                        got: 3,
                        expected: 2,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(format!("{err}").contains("step"), "{err}");
            assert_eq!(m.good.to_vec(), vec![1.0, 2.0, 3.0]);
            assert_eq!(m.bad.to_vec(), vec![1.0, 2.0, 3.0]);
        }
    }

    #[test]
    fn bad_hyper_parameters_are_errors() {
        let sgd = |c: SgdConfig| Sgd::<f32, Dev>::new(c).map(|_| ()).unwrap_err();
        let d = SgdConfig::default();
        for (c, word) in [
            (SgdConfig { lr: -1.0, ..d }, "learning rate"),
            (SgdConfig { lr: f64::NAN, ..d }, "learning rate"),
            (
                SgdConfig {
                    momentum: -0.1,
                    ..d
                },
                "momentum",
            ),
            (
                SgdConfig {
                    dampening: f64::INFINITY,
                    ..d
                },
                "dampening",
            ),
            (
                SgdConfig {
                    weight_decay: -1e-4,
                    ..d
                },
                "weight decay",
            ),
            (
                SgdConfig {
                    nesterov: true,
                    ..d
                },
                "Nesterov",
            ),
            (
                SgdConfig {
                    nesterov: true,
                    momentum: 0.9,
                    dampening: 0.1,
                    ..d
                },
                "Nesterov",
            ),
        ] {
            let e = format!("{}", sgd(c));
            assert!(e.contains(word), "{e}");
        }
        let a = AdamConfig::default();
        for (c, word) in [
            (AdamConfig { lr: -1.0, ..a }, "learning rate"),
            (AdamConfig { eps: -1.0, ..a }, "eps"),
            (
                AdamConfig {
                    weight_decay: f64::NAN,
                    ..a
                },
                "weight decay",
            ),
            (
                AdamConfig {
                    betas: (1.0, 0.999),
                    ..a
                },
                "beta1",
            ),
            (
                AdamConfig {
                    betas: (0.9, -0.1),
                    ..a
                },
                "beta2",
            ),
        ] {
            let e = format!("{}", Adam::<f32, Dev>::new(c).map(|_| ()).unwrap_err());
            assert!(e.contains(word) && e.starts_with("Adam:"), "{e}");
            let e = format!("{}", AdamW::<f32, Dev>::new(c).map(|_| ()).unwrap_err());
            assert!(e.contains(word) && e.starts_with("AdamW:"), "{e}");
        }
    }

    #[test]
    fn a_bad_learning_rate_set_later_is_an_error_at_step() {
        let dev = dev();
        let mut m = model(&dev);
        let g = grads_of(&m);
        let mut opt = Adam::new(AdamConfig::default()).unwrap();
        opt.set_lr(-0.5);
        assert_eq!(opt.lr(), -0.5);
        assert!(opt.step(&mut m, &g).is_err());
        assert_eq!(values(&m), [INIT1.as_slice(), INIT2.as_slice()].concat());
        assert_eq!(opt.state_len(), 0);
        opt.set_lr(0.01);
        opt.step(&mut m, &g).unwrap();
        assert_eq!(opt.config().lr, 0.01);
    }

    // ---------------------------------------------------------------- clipping

    /// Loss Σ c·p, so the gradients are exactly `c`: (1, 2, 2) and (4): norm 5.
    fn linear_grads(m: &(P2, Tensor<(u!(1),), f64, Dev>)) -> Gradients<f64, Dev> {
        let dev = m.0.device().clone();
        let c0: P2 = Tensor::from_vec_static(vec![1.0, 2.0, 2.0], &dev);
        let c1: Tensor<(u!(1),), f64, Dev> = Tensor::from_vec_static(vec![4.0], &dev);
        ((m.0.clone().trace() * c0).sum() + (m.1.clone().trace() * c1).sum()).backward()
    }

    #[test]
    fn clipping_scales_to_max_norm() {
        let dev = dev();
        let m: (P2, Tensor<(u!(1),), f64, Dev>) = (
            Tensor::zeros(Default::default(), &dev),
            Tensor::zeros(Default::default(), &dev),
        );
        let mut grads = linear_grads(&m);
        // The loss and intermediate products have gradients too; they don't count.
        assert!(grads.len() > 2);
        assert_eq!(grad_norm(&m, &grads), 5.0);
        let total = clip_grad_norm(&m, &mut grads, 2.0).unwrap();
        assert_eq!(total, 5.0);
        let k = 2.0 / (5.0 + 1e-6);
        assert_close!(
            &grads.get(&m.0).unwrap().to_vec(),
            &[k, 2.0 * k, 2.0 * k],
            1e-15,
            "g0"
        );
        assert_close!(&grads.get(&m.1).unwrap().to_vec(), &[4.0 * k], 1e-15, "g1");
        assert!(close(grad_norm(&m, &grads), 2.0, 1e-6));
    }

    #[test]
    fn clipping_leaves_small_gradients_alone() {
        let dev = dev();
        let m: (P2, Tensor<(u!(1),), f64, Dev>) = (
            Tensor::zeros(Default::default(), &dev),
            Tensor::zeros(Default::default(), &dev),
        );
        let mut grads = linear_grads(&m);
        // 5 / (5 + 1e-6) < 1 would scale: max_norm must exceed total + 1e-6.
        assert_eq!(clip_grad_norm(&m, &mut grads, 5.1).unwrap(), 5.0);
        assert_eq!(grads.get(&m.0).unwrap().to_vec(), vec![1.0, 2.0, 2.0]);
        assert_eq!(grads.get(&m.1).unwrap().to_vec(), vec![4.0]);
    }

    #[test]
    fn clipping_counts_only_the_given_parameters() {
        let dev = dev();
        let m: (P2, Tensor<(u!(1),), f64, Dev>) = (
            Tensor::zeros(Default::default(), &dev),
            Tensor::zeros(Default::default(), &dev),
        );
        let mut grads = linear_grads(&m);
        // Clip only the first parameter: norm 3, scaled to 1.
        assert_eq!(clip_grad_norm(&m.0, &mut grads, 1.0).unwrap(), 3.0);
        let k = 1.0 / (3.0 + 1e-6);
        assert_close!(
            &grads.get(&m.0).unwrap().to_vec(),
            &[k, 2.0 * k, 2.0 * k],
            1e-15,
            "g0"
        );
        assert_eq!(grads.get(&m.1).unwrap().to_vec(), vec![4.0]);
        // A parameter without gradient contributes nothing.
        let other: P2 = Tensor::zeros(Default::default(), &dev);
        assert_eq!(grad_norm(&other, &grads), 0.0);
    }

    #[test]
    fn clipping_f32_and_large() {
        let dev = dev();
        let n = 300_003;
        let w: Tensor<(Dyn,), f32, Dev> = Tensor::from_vec(
            (Dyn(n),),
            (0..n).map(|i| ((i % 7) as f32) - 3.0).collect(),
            &dev,
        );
        let mut grads = w.clone().trace().square().sum().mul_scalar(0.5).backward(); // g = w
        let want: f64 = (0..n)
            .map(|i| (((i % 7) as f64) - 3.0).powi(2))
            .sum::<f64>()
            .sqrt();
        let total = clip_grad_norm(&w, &mut grads, 1.0).unwrap();
        assert!(close(total, want, 1e-12), "{total} vs {want}");
        let k = 1.0 / (want + 1e-6);
        let g = grads.get(&w).unwrap().to_vec();
        for (i, &v) in g.iter().enumerate() {
            assert!(close(v as f64, (((i % 7) as f64) - 3.0) * k, 1e-6));
        }
        assert!(close(grad_norm(&w, &grads), 1.0, 1e-5));
    }

    #[test]
    fn clipping_non_finite_and_bad_max_norm() {
        let dev = dev();
        let w: P2 = Tensor::from_vec_static(vec![1.0, f64::INFINITY, 2.0], &dev);
        let mut grads = w.clone().trace().square().sum().backward();
        let total = clip_grad_norm(&w, &mut grads, 1.0).unwrap();
        assert!(!total.is_finite());
        assert_eq!(
            grads.get(&w).unwrap().to_vec(),
            vec![2.0, f64::INFINITY, 4.0]
        );
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let e = clip_grad_norm(&w, &mut grads, bad).unwrap_err();
            assert!(format!("{e}").contains("max_norm"), "{e}");
        }
    }

    // ---------------------------------------------------------------- schedules

    #[test]
    fn step_lr_values() {
        let s = StepLR::new(0.1, 3, 0.5);
        let want = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025];
        for (t, &w) in want.iter().enumerate() {
            assert!(close(s.lr_at(t), w, 1e-15), "step {t}");
        }
        assert!(close(s.lr_at(30), 0.1 * 0.5f64.powi(10), 1e-15));
    }

    #[test]
    #[should_panic(expected = "StepLR: step_size must be at least 1")]
    fn step_lr_zero_step_size_panics_with_message() {
        let _ = StepLR::new(0.1, 0, 0.5);
    }

    #[test]
    fn cosine_values() {
        let (base, eta, tm) = (0.2, 0.02, 40);
        let s = CosineAnnealing::new(base, tm, eta);
        for t in [0usize, 1, 7, 10, 20, 33, 39, 40, 41, 1000] {
            let want = if t >= tm {
                eta
            } else {
                eta + (base - eta) * (1.0 + (std::f64::consts::PI * t as f64 / tm as f64).cos()) / 2.0
            };
            assert!(close(s.lr_at(t), want, 1e-15), "step {t}");
        }
        assert!(close(
            s.lr_at(10),
            eta + (base - eta) * (1.0 + 0.5f64.sqrt()) / 2.0,
            1e-15
        ));
        assert!(close(s.lr_at(20), 0.11, 1e-15));
        assert_eq!(CosineAnnealing::new(1.0, 0, 0.1).lr_at(0), 0.1);
    }

    #[test]
    fn warmup_and_composition_values() {
        let w = LinearWarmup::new(0.4, 0.25, 3);
        // 0.4·(0.25 + 0.75·t/3)
        let want = [0.1, 0.2, 0.3, 0.4, 0.4];
        for (t, &x) in want.iter().enumerate() {
            assert!(close(w.lr_at(t), x, 1e-15), "warmup {t}");
        }
        let s = w
            .then(3, CosineAnnealing::new(0.4, 4, 0.0))
            .then(10, Constant(1e-3));
        let want = [
            0.1,
            0.2,
            0.3,
            0.4,
            0.2 * (1.0 + 0.5f64.sqrt()),
            0.2,
            0.2 * (1.0 - 0.5f64.sqrt()),
            0.0,
            0.0,
            0.0,
            1e-3,
            1e-3,
        ];
        for (t, &x) in want.iter().enumerate() {
            assert!(
                (s.lr_at(t) - x).abs() < 1e-15,
                "chain {t}: {} vs {x}",
                s.lr_at(t)
            );
        }
        let lambda = |t: usize| 1.0 / (t as f64 + 1.0);
        assert_eq!(Constant(2.0).then(1, lambda).lr_at(4), 0.25);
    }

    #[test]
    fn schedule_drives_an_optimizer() {
        let dev = dev();
        let mut w: P2 = Tensor::from_vec_static(vec![1.0, 1.0, 1.0], &dev);
        let mut opt = Sgd::new(SgdConfig::default()).unwrap();
        let sched = StepLR::new(0.1, 1, 0.5);
        let mut p = 1.0;
        for t in 0..4 {
            opt.set_lr(sched.lr_at(t));
            let g = w.clone().trace().sum().backward(); // g = 1
            opt.step(&mut w, &g).unwrap();
            p -= 0.1 * 0.5f64.powi(t as i32);
        }
        assert_close!(&w.to_vec(), &[p; 3], 1e-15, "scheduled sgd");
        assert!(close(p, 1.0 - 0.1875, 1e-15));
    }

    proptest! {
        #[test]
        fn cosine_is_monotone_and_bounded(base in 1e-5f64..1.0, frac in 0.0f64..1.0, tm in 1usize..5000, t in 0usize..6000) {
            let eta = base * frac;
            let s = CosineAnnealing::new(base, tm, eta);
            let (a, b) = (s.lr_at(t), s.lr_at(t + 1));
            prop_assert!(b <= a + 1e-15, "not monotone at {}: {} then {}", t, a, b);
            prop_assert!(a >= eta - 1e-15 && a <= base + 1e-15, "{} outside [{}, {}]", a, eta, base);
            prop_assert_eq!(s.lr_at(0), base);
            prop_assert_eq!(s.lr_at(tm), eta);
        }

        #[test]
        fn warmup_is_monotone_and_reaches_base(base in 1e-5f64..1.0, sf in 0.0f64..1.0, n in 0usize..1000, t in 0usize..1200) {
            let s = LinearWarmup::new(base, sf, n);
            let (a, b) = (s.lr_at(t), s.lr_at(t + 1));
            prop_assert!(b >= a - 1e-15);
            prop_assert!(a <= base + 1e-15 && a >= base * sf - 1e-15);
            prop_assert_eq!(s.lr_at(n), base);
        }

        #[test]
        fn step_lr_is_monotone_for_gamma_below_one(base in 1e-5f64..1.0, g in 0.0f64..1.0, k in 1usize..50, t in 0usize..500) {
            let s = StepLR::new(base, k, g);
            prop_assert!(s.lr_at(t + 1) <= s.lr_at(t));
            prop_assert!(close(s.lr_at(t), base * g.powi((t / k) as i32), 1e-13));
        }
    }

    // ---------------------------------------------------------------- end to end

    /// Minimise Σ aᵢ (pᵢ - tᵢ)² from p = 0; returns the final parameters.
    fn minimise(opt: &mut dyn Optimizer<f64, Dev>, sched: &dyn Schedule, steps: usize) -> Vec<f64> {
        let dev = dev();
        let a: P2 = Tensor::from_vec_static(vec![0.5, 2.0, 1.0], &dev);
        let t: P2 = Tensor::from_vec_static(vec![1.0, -2.0, 3.0], &dev);
        let mut p: P2 = Tensor::zeros(Default::default(), &dev);
        for s in 0..steps {
            opt.set_lr(sched.lr_at(s));
            let loss = ((p.clone().trace() - t.clone()).square() * a.clone()).sum();
            let mut grads = loss.backward();
            clip_grad_norm(&p, &mut grads, 5.0).unwrap();
            opt.step(&mut p, &grads).unwrap();
        }
        p.to_vec()
    }

    #[test]
    fn every_optimizer_minimises_a_quadratic() {
        let target = [1.0, -2.0, 3.0];
        let cases: Vec<(&str, Box<dyn Optimizer<f64, Dev>>, Box<dyn Schedule>, f64)> = vec![
            (
                "sgd",
                Box::new(Sgd::new(SgdConfig::default()).unwrap()),
                Box::new(Constant(0.1)),
                1e-6,
            ),
            (
                "sgd momentum",
                Box::new(
                    Sgd::new(SgdConfig {
                        momentum: 0.9,
                        ..Default::default()
                    })
                    .unwrap(),
                ),
                Box::new(Constant(0.05)),
                1e-6,
            ),
            (
                "sgd nesterov",
                Box::new(
                    Sgd::new(SgdConfig {
                        momentum: 0.9,
                        nesterov: true,
                        ..Default::default()
                    })
                    .unwrap(),
                ),
                Box::new(StepLR::new(0.05, 200, 0.5)),
                1e-6,
            ),
            (
                "adam",
                Box::new(Adam::new(AdamConfig::default()).unwrap()),
                Box::new(
                    LinearWarmup::new(0.1, 0.1, 20).then(20, CosineAnnealing::new(0.1, 1500, 0.0)),
                ),
                1e-3,
            ),
            (
                "adamw",
                Box::new(
                    AdamW::new(AdamConfig {
                        weight_decay: 1e-3,
                        ..Default::default()
                    })
                    .unwrap(),
                ),
                Box::new(CosineAnnealing::new(0.1, 1500, 0.0)),
                1e-2,
            ),
        ];
        for (name, mut opt, sched, tol) in cases {
            let p = minimise(opt.as_mut(), sched.as_ref(), 1600);
            for (i, (&got, &want)) in p.iter().zip(&target).enumerate() {
                assert!(
                    (got - want).abs() < tol,
                    "{name}: p[{i}] = {got}, want {want}"
                );
            }
        }
    }
}
