//! Moving a model and its optimizer state between devices keeps parameter
//! ids: `DeviceTransfer::transfer_params_from` and the optimizers'
//! `moved_to`. From a CPU model to each device of the suite (another CPU
//! with another seed; the GPU with the `cuda` feature) and back: ids and
//! values carried over, and a step after the move equals the step the
//! original takes.

use typegrad::autograd::TensorId;
use typegrad::nn::{DeviceTransfer, Linear, Module, ParamPath, Params, ParamsMismatch, ReLU};
use typegrad::optim::{Adam, AdamConfig, AdamW, Optimizer, Sgd, SgdConfig};
use typegrad::prelude::*;

/// A small MLP on any device.
#[derive(Module)]
#[module(sequential)]
struct Net<D: Device<f64>> {
    fc1: Linear<u!(3), u!(4), f64, D>,
    act: ReLU,
    fc2: Linear<u!(4), u!(2), f64, D>,
}

impl<D: Device<f64>> Net<D> {
    fn new(dev: &D) -> Self {
        Net {
            fc1: Linear::new(dev),
            act: ReLU,
            fc2: Linear::new(dev),
        }
    }
}

/// A wider model: not the same parameters as `Net`.
#[derive(Module)]
#[module(sequential)]
struct Wide<D: Device<f64>> {
    fc1: Linear<u!(3), u!(5), f64, D>,
}

/// `(name, id, values)` of every parameter.
fn snapshot<D: Device<f64>>(m: &Net<D>) -> Vec<(String, TensorId, Vec<f64>)> {
    let mut out = Vec::new();
    m.visit_params(&mut ParamPath::default(), &mut |path, p| {
        out.push((path.name(), p.id, p.device.download(p.data)));
    });
    out
}

/// One training step on a fixed batch (the same values on every device).
fn train_step<D: Device<f64>>(m: &mut Net<D>, opt: &mut dyn Optimizer<f64, D>, dev: &D) {
    let x: Tensor<(Dyn, u!(3)), f64, D> = Tensor::from_vec(
        (Dyn(4), Default::default()),
        (0..12).map(|i| (i as f64 * 0.37).sin()).collect(),
        dev,
    );
    let loss = m.forward(x.trace()).square().sum();
    let grads = loss.backward();
    opt.step(m, &grads).unwrap();
}

/// Values agree to `tol` (devices may sum in another order).
fn assert_same(a: &[(String, TensorId, Vec<f64>)], b: &[(String, TensorId, Vec<f64>)], tol: f64) {
    assert_eq!(a.len(), b.len());
    for ((na, ia, va), (nb, ib, vb)) in a.iter().zip(b) {
        assert_eq!((na, ia), (nb, ib), "name and id of {na}");
        for (x, y) in va.iter().zip(vb) {
            assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{na}: {x} vs {y}");
        }
    }
}

typegrad::per_device! {
    /// Move after two steps, step once on each side, compare; then move back.
    fn round_trip<OA, OB>(
        mut opt_a: OA,
        move_opt: impl Fn(&OA, &Cpu, &Dev) -> OB,
        move_back: impl Fn(&OB, &Dev, &Cpu) -> OA,
    ) where
        OA: Optimizer<f64, Cpu>,
        OB: Optimizer<f64, Dev>,
    {
        let cpu = Cpu::seeded(1);
        let mut a = Net::new(&cpu);
        train_step(&mut a, &mut opt_a, &cpu);
        train_step(&mut a, &mut opt_a, &cpu);

        let dev_b = seeded(2);
        let mut b = Net::new(&dev_b);
        assert_ne!(snapshot(&b)[0].2, snapshot(&a)[0].2, "different seeds, different values");
        b.transfer_params_from(&a).unwrap();
        assert_same(&snapshot(&b), &snapshot(&a), 0.0);
        let mut opt_b = move_opt(&opt_a, &cpu, &dev_b);

        // The step after the move is the step without it.
        train_step(&mut a, &mut opt_a, &cpu);
        train_step(&mut b, &mut opt_b, &dev_b);
        assert_same(&snapshot(&b), &snapshot(&a), 1e-12);

        // And back, with the state: again the same step.
        let cpu_c = Cpu::seeded(3);
        let mut c = Net::new(&cpu_c);
        c.transfer_params_from(&b).unwrap();
        assert_same(&snapshot(&c), &snapshot(&b), 0.0);
        let mut opt_c = move_back(&opt_b, &dev_b, &cpu_c);
        train_step(&mut a, &mut opt_a, &cpu);
        train_step(&mut c, &mut opt_c, &cpu_c);
        assert_same(&snapshot(&c), &snapshot(&a), 1e-12);
    }

    #[test]
    fn adam_moves_with_its_model() {
        let cfg = AdamConfig { lr: 1e-2, weight_decay: 0.1, ..Default::default() };
        round_trip(
            Adam::<f64, Cpu>::new(cfg).unwrap(),
            |o, f, t| o.moved_to(f, t),
            |o, f, t| o.moved_to(f, t),
        );
    }

    #[test]
    fn adamw_moves_with_its_model() {
        let cfg = AdamConfig { lr: 1e-2, weight_decay: 0.1, ..Default::default() };
        round_trip(
            AdamW::<f64, Cpu>::new(cfg).unwrap(),
            |o, f, t| o.moved_to(f, t),
            |o, f, t| o.moved_to(f, t),
        );
    }

    #[test]
    fn sgd_with_momentum_moves_with_its_model() {
        let cfg = SgdConfig { lr: 0.05, momentum: 0.9, nesterov: true, ..Default::default() };
        round_trip(
            Sgd::<f64, Cpu>::new(cfg).unwrap(),
            |o, f, t| o.moved_to(f, t),
            |o, f, t| o.moved_to(f, t),
        );
    }

    #[test]
    fn the_state_is_keyed_by_the_carried_ids() {
        let cpu = Cpu::seeded(1);
        let mut a = Net::new(&cpu);
        let mut opt = Adam::<f64, Cpu>::new(AdamConfig::default()).unwrap();
        train_step(&mut a, &mut opt, &cpu);
        let moved = opt.moved_to(&cpu, &dev());
        assert_eq!(moved.state_len(), opt.state_len());
        assert_eq!(moved.state_len(), 4); // two weights, two biases
    }

    #[test]
    fn a_model_of_other_sizes_is_refused_and_left_alone() {
        let cpu = Cpu::seeded(1);
        let a = Net::new(&cpu);
        let mut w = Wide { fc1: Linear::new(&dev()) };
        let before = w.fc1.weight.to_vec();
        let id = w.fc1.weight.id();
        let err = w.transfer_params_from(&a).unwrap_err();
        assert!(matches!(err, ParamsMismatch::Dims { ref name, .. } if name == "fc1.weight"), "{err}");
        assert_eq!((w.fc1.weight.to_vec(), w.fc1.weight.id()), (before, id));
    }
}
