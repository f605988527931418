//! The autograd foundations layers rely on: parameters in any op (a user's
//! own layers train), stop-gradient, independent copies, backward semantics
//! with shared graphs, memory (what ops keep), and training/evaluation
//! modes with running statistics.

use typegrad::autograd::StatUpdate;
use typegrad::backend::cpu::CpuStorage;
use typegrad::nn::{Buffer, Dropout, Linear, ModuleExt};
use typegrad::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use typegrad::prelude::*;

type U1 = u!(1);
type U3 = u!(3);
type U4 = u!(4);
type B3<T = NoTape> = Tensor<(Dyn, U3), f64, Cpu, T>;
type B4<T = NoTape> = Tensor<(Dyn, U4), f64, Cpu, T>;

fn dev() -> Cpu {
    Cpu::seeded(11)
}

fn vals(n: usize, k: f64) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64 + 1.0) * 0.731 + k).sin() * 1.3)
        .collect()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: got {g}, want {w}"
        );
    }
}

// ------------------------------------------------ a user's own layers

/// `y = x · scale + shift`, written as a user would: plain ops on the
/// layer's own tensors, one forward for every tape.
#[derive(Module, Clone)]
struct ScaleShift {
    scale: Tensor<(U3,), f64>,
    shift: Tensor<(U3,), f64>,
}

impl<T: Tracking<f64, Cpu>> Module<B3<T>> for ScaleShift {
    type Output = B3<T>;
    fn forward(&self, x: B3<T>) -> B3<T> {
        x * self.scale.clone() + self.shift.clone()
    }
}

/// LayerNorm over the features, from `mean_axis`/`var_axis` and
/// broadcasting ops, with an affine map whose parameters first go through
/// ops of their own (`exp` of a log-gain): `tracked_like` puts them on the
/// input's tape.
#[derive(Module, Clone)]
struct MyLayerNorm {
    log_gain: Tensor<(U4,), f64>,
    bias: Tensor<(U4,), f64>,
}

impl<T: Tracking<f64, Cpu>> Module<B4<T>> for MyLayerNorm {
    type Output = B4<T>;
    fn forward(&self, x: B4<T>) -> B4<T> {
        let n = x.dims()[0];
        let col = (Dyn(n), U1::default());
        let mean = x.clone().mean_axis::<1>().reshape_to(col);
        let var = x.clone().var_axis::<1>().reshape_to(col);
        let normed = (x - mean) / (var + 1e-5).sqrt();
        let gain = self.log_gain.tracked_like(&normed).exp();
        normed * gain + self.bias.clone()
    }
}

fn scale_shift(s: Vec<f64>, b: Vec<f64>) -> ScaleShift {
    ScaleShift {
        scale: Tensor::from_vec_static(s, &dev()),
        shift: Tensor::from_vec_static(b, &dev()),
    }
}

fn layer_norm(g: Vec<f64>, b: Vec<f64>) -> MyLayerNorm {
    MyLayerNorm {
        log_gain: Tensor::from_vec_static(g, &dev()),
        bias: Tensor::from_vec_static(b, &dev()),
    }
}

fn batch<F: typegrad::shape::StaticDim>(n: usize, k: f64) -> Tensor<(Dyn, F), f64> {
    let f = F::default().size();
    Tensor::from_vec((Dyn(n), Default::default()), vals(n * f, k), &dev())
}

fn mse<S, T: Tracking<f64, Cpu>>(
    pred: Tensor<S, f64, Cpu, T>,
    target: Tensor<S, f64, Cpu>,
) -> Tensor<(), f64, Cpu, T>
where
    S: Shape + typegrad::shape::BroadcastShape<S, Output = S>,
{
    (pred - target).square().mean()
}

#[test]
fn scale_shift_trains_to_the_known_optimum_with_adam() {
    let teacher = scale_shift(vec![2.0, -1.0, 0.5], vec![0.3, 0.0, -2.0]);
    let mut model = scale_shift(vec![1.0; 3], vec![0.0; 3]);
    let x = batch::<U3>(32, 0.1);
    let y = teacher.forward(x.clone());
    let mut opt = Adam::new(AdamConfig {
        lr: 0.05,
        ..Default::default()
    })
    .unwrap();
    for _ in 0..1500 {
        let grads = mse(model.forward(x.clone().trace_no_grad()), y.clone()).backward();
        assert!(grads.params_without_grad(&model).is_empty());
        opt.step(&mut model, &grads).unwrap();
    }
    assert_close(&model.scale.to_vec(), &[2.0, -1.0, 0.5], 1e-4, "scale");
    assert_close(&model.shift.to_vec(), &[0.3, 0.0, -2.0], 1e-4, "shift");
}

#[test]
fn layer_norm_from_primitives_trains_to_the_known_optimum_with_adam() {
    let gain = [0.5f64, -0.2, 0.3, 0.0];
    let teacher = layer_norm(gain.to_vec(), vec![1.0, -1.0, 0.5, 0.25]);
    let mut model = layer_norm(vec![0.0; 4], vec![0.0; 4]);
    let x = batch::<U4>(24, 0.7);
    let y = teacher.forward(x.clone());
    // The forward is the formula: (x - mean) / sqrt(var + eps) · e^g + b.
    let xs = x.to_vec();
    let ys = y.to_vec();
    for r in 0..24 {
        let row = &xs[r * 4..r * 4 + 4];
        let m = row.iter().sum::<f64>() / 4.0;
        let v = row.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / 4.0;
        for c in 0..4 {
            let want = (row[c] - m) / (v + 1e-5).sqrt() * gain[c].exp() + [1.0, -1.0, 0.5, 0.25][c];
            assert!((ys[r * 4 + c] - want).abs() < 1e-12);
        }
    }
    let mut opt = Adam::new(AdamConfig {
        lr: 0.05,
        ..Default::default()
    })
    .unwrap();
    for _ in 0..1500 {
        let grads = mse(model.forward(x.clone().trace_no_grad()), y.clone()).backward();
        opt.step(&mut model, &grads).unwrap();
    }
    assert_close(&model.log_gain.to_vec(), &gain, 1e-4, "log_gain");
    assert_close(&model.bias.to_vec(), &[1.0, -1.0, 0.5, 0.25], 1e-4, "bias");
}

#[test]
fn evaluation_records_nothing_and_matches_training_values() {
    let m = layer_norm(vals(4, 0.5), vals(4, 1.5));
    let x = batch::<U4>(3, 0.1);
    let eval = m.forward(x.clone());
    let train = m.forward(x.trace_no_grad());
    assert_eq!(eval.to_vec(), train.to_vec());
    assert!(!train.tape().is_empty());
}

#[test]
fn a_step_without_any_parameter_gradient_is_an_error_naming_the_helper() {
    let mut model = scale_shift(vec![1.0; 3], vec![0.0; 3]);
    let x = batch::<U3>(4, 0.0);
    // The loss does not involve the model: its parameters get no gradient.
    let grads = x.clone().trace().square().sum().backward();
    assert_eq!(grads.params_without_grad(&model), vec!["scale", "shift"]);
    let mut opt = Sgd::new(SgdConfig {
        lr: 0.1,
        ..Default::default()
    })
    .unwrap();
    let err = opt.step(&mut model, &grads).unwrap_err().to_string();
    assert!(
        err.contains("none of the model's parameters has a gradient"),
        "{err}"
    );
    assert!(err.contains("params_without_grad"), "{err}");
    assert_eq!(model.scale.to_vec(), vec![1.0; 3]);
    // A partial gradient (one parameter used) is fine, and listed.
    let grads = (x.trace_no_grad() * model.scale.clone()).sum().backward();
    assert_eq!(grads.params_without_grad(&model), vec!["shift"]);
    opt.step(&mut model, &grads).unwrap();
    assert_ne!(model.scale.to_vec(), vec![1.0; 3]);
}

#[test]
fn linear_records_under_parameter_ids_through_plain_ops_too() {
    // A Linear weight used by hand in a matmul gets the same gradient as
    // through the fused layer.
    let d = dev();
    let fc: Linear<U3, U4, f64> = Linear::new(&d);
    let x = batch::<U3>(5, 0.3);
    let w = vals(20, 0.2);
    let cot = |s| Tensor::from_vec(s, w.clone(), &d);
    let fused = fc.forward(x.clone().trace_no_grad());
    // Without it, the gradient would go to the transposed copy's id.
    let untracked_t = x.clone().trace_no_grad().matmul(fc.weight.clone().t());
    let g0 = untracked_t.clone().backward_from(cot(untracked_t.shape()));
    assert!(g0.get(&fc.weight).is_none());
    let g1 = fused.clone().backward_from(cot(fused.shape()));
    // The weight goes through an op of its own (the transpose) before it
    // meets the input: `tracked_like` puts it on the input's tape first.
    let x = x.trace_no_grad();
    let by_hand = x.clone().matmul(fc.weight.tracked_like(&x).t()) + fc.bias.clone().unwrap();
    let g2 = by_hand.clone().backward_from(cot(by_hand.shape()));
    assert_close(
        &g2.get(&fc.weight).unwrap().to_vec(),
        &g1.get(&fc.weight).unwrap().to_vec(),
        1e-12,
        "dW",
    );
    let b = fc.bias.as_ref().unwrap();
    assert_close(
        &g2.get(b).unwrap().to_vec(),
        &g1.get(b).unwrap().to_vec(),
        1e-12,
        "db",
    );
}

// ------------------------------------------------ stop-gradient and copies

#[test]
fn detach_cuts_the_gradient_even_when_traced_into_the_same_graph() {
    let d = dev();
    let x: Tensor<(U3,), f64> = Tensor::from_vec_static(vec![1.0, -2.0, 3.0], &d);
    let xt = x.clone().trace();
    let sq = xt.clone().square();
    // c = x² as a constant, traced again onto the same tape.
    let c = sq.detach().trace_into(xt.tape());
    let grads = (xt * c).sum().backward();
    // d/dx (x · c) = c = x². Were the detached tensor still x², the
    // gradient reaching it would flow on through the square (2x · x) and
    // give 3x².
    assert_eq!(grads.get(&x).unwrap().to_vec(), vec![1.0, 4.0, 9.0]);
}

#[test]
fn detach_has_a_new_id_and_shares_values() {
    let x: Tensor<(U3,), f64> = Tensor::ones(Default::default(), &dev());
    let y = x.detach();
    assert_ne!(x.id(), y.id());
    assert_eq!(x.to_vec(), y.to_vec());
}

#[test]
fn clone_is_the_same_parameters_and_fresh_copy_is_independent() {
    let mut online = scale_shift(vec![1.0; 3], vec![0.0; 3]);
    let alias = online.clone();
    let mut target = online.fresh_copy();
    assert_eq!(alias.scale.id(), online.scale.id());
    assert_ne!(target.scale.id(), online.scale.id());
    assert_ne!(target.shift.id(), online.shift.id());
    assert_eq!(target.scale.to_vec(), online.scale.to_vec());

    // A gradient of the online model trains the online model (and the
    // alias's ids), never the target.
    let x = batch::<U3>(4, 0.2);
    let grads = online.forward(x.clone().trace_no_grad()).sum().backward();
    assert!(grads.get(&alias.scale).is_some());
    assert!(grads.get(&target.scale).is_none());
    let mut opt = Sgd::new(SgdConfig {
        lr: 0.1,
        ..Default::default()
    })
    .unwrap();
    opt.step(&mut online, &grads).unwrap();
    assert_ne!(online.scale.to_vec(), vec![1.0; 3]);
    assert!(opt.step(&mut target, &grads).is_err()); // none of its ids
    assert_eq!(target.scale.to_vec(), vec![1.0; 3]);
    // Values can still be synchronised into the target's own ids.
    let id = target.scale.id();
    target.copy_params_from(&online).unwrap();
    assert_eq!(
        (target.scale.id(), target.scale.to_vec()),
        (id, online.scale.to_vec())
    );
}

// ------------------------------------------------ backward semantics

#[test]
fn two_heads_backward_separately_sum_to_the_backward_of_the_sum() {
    let d = dev();
    let trunk: Linear<U3, U4, f64> = Linear::new(&d);
    let head1 = scale_shift(vals(3, 0.1), vals(3, 0.2));
    let head2: Linear<U4, U3, f64> = Linear::new(&d);
    let x = batch::<U3>(5, 0.6);
    let loss1 = |h: B4<Tape<f64, Cpu>>| {
        let h3: B3<Tape<f64, Cpu>> = h.narrow::<1>(0, U3::default());
        head1.forward(h3).square().mean()
    };
    let loss2 = |h: B4<Tape<f64, Cpu>>| head2.forward(h.tanh()).sum();

    let h = trunk.forward(x.clone().trace());
    let g1 = loss1(h.clone()).backward_retain();
    let g2 = loss2(h).backward();
    let h = trunk.forward(x.clone().trace());
    let g = (loss1(h.clone()) + loss2(h)).backward();

    let sum = |a: Option<Vec<f64>>, b: Option<Vec<f64>>| -> Vec<f64> {
        match (a, b) {
            (Some(a), Some(b)) => a.iter().zip(&b).map(|(p, q)| p + q).collect(),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => panic!("no gradient on either head"),
        }
    };
    let v = |g: &Gradients<f64, Cpu>, id| g.by_id(id).map(|s| s.to_vec());
    let ids = [
        x.id(),
        trunk.weight.id(),
        trunk.bias.as_ref().unwrap().id(),
        head1.scale.id(),
        head2.weight.id(),
    ];
    for id in ids {
        let total = v(&g, id).unwrap();
        let parts = sum(v(&g1, id), v(&g2, id));
        assert_close(&parts, &total, 1e-12, "per-head sum");
    }
    // Head 1's gradients do not reach head 2 and vice versa.
    assert!(g1.get(&head2.weight).is_none());
    assert!(g2.get(&head1.scale).is_none());
}

#[test]
fn a_second_backward_through_a_freed_graph_is_a_clear_error() {
    let x: Tensor<(U3,), f64> = Tensor::from_vec_static(vec![1.0, 2.0, 3.0], &dev());
    let h = x.clone().trace().exp();
    let _ = h.clone().sum().backward();
    let err = h
        .clone()
        .square()
        .sum()
        .try_backward()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("earlier backward() already ran and freed"),
        "{err}"
    );
    assert!(err.contains("backward_retain"), "{err}");
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        h.clone().mean().backward();
    }));
    assert!(panic.is_err());
}

#[test]
fn backward_passes_through_disjoint_parts_of_a_graph_need_no_retain() {
    let d = dev();
    let a: Tensor<(U3,), f64> = Tensor::from_vec_static(vec![1.0, 2.0, 3.0], &d);
    let b: Tensor<(U3,), f64> = Tensor::from_vec_static(vec![0.5, 0.5, 2.0], &d);
    let at = a.clone().trace();
    let bt = b.clone().trace_into(at.tape());
    let ga = at.square().sum().backward();
    let gb = bt.exp().sum().backward();
    assert_eq!(ga.get(&a).unwrap().to_vec(), vec![2.0, 4.0, 6.0]);
    let want: Vec<f64> = b.to_vec().iter().map(|v| v.exp()).collect();
    assert_close(&gb.get(&b).unwrap().to_vec(), &want, 1e-15, "exp");
}

#[test]
fn merged_tapes_are_one_graph_from_either_side() {
    let d = dev();
    let a: Tensor<(U3,), f64> = Tensor::from_vec_static(vec![1.0, 2.0, 3.0], &d);
    let b: Tensor<(U3,), f64> = Tensor::from_vec_static(vec![4.0, 5.0, 6.0], &d);
    let (at, bt) = (a.clone().trace(), b.clone().trace());
    let prod = at * bt.clone(); // b's tape is absorbed into a's
    let bsq = bt.square(); // recorded through b's (forwarded) tape
    let loss = (prod + bsq).sum();
    let g = loss.backward();
    assert_eq!(g.get(&a).unwrap().to_vec(), vec![4.0, 5.0, 6.0]);
    assert_eq!(g.get(&b).unwrap().to_vec(), vec![9.0, 12.0, 15.0]); // a + 2b
}

// ------------------------------------------------ memory

#[test]
fn intermediate_gradients_are_freed_unless_retained() {
    let x: Tensor<(U3,), f64> = Tensor::from_vec_static(vec![1.0, 2.0, 3.0], &dev());
    let h = x.clone().trace().square();
    let k = h.clone().exp();
    let g = k.clone().sum().backward();
    assert_eq!(g.len(), 1); // only the leaf x
    assert!(g.get(&h).is_none() && g.get(&k).is_none());
}

#[test]
fn unary_ops_keep_only_what_their_backward_reads() {
    let d = dev();
    let make = || Tensor::<(U4,), f64>::from_vec_static(vec![-1.0, 0.5, 2.0, 3.0], &d);
    // ReLU, exp, sigmoid, tanh, sqrt read their output: the input buffer is
    // not kept alive by the tape.
    for op in 0..5 {
        let x = make();
        let xs: CpuStorage<f64> = x.storage().clone();
        let y = match op {
            0 => x.trace().relu(),
            1 => x.trace().exp(),
            2 => x.trace().sigmoid(),
            3 => x.trace().tanh(),
            _ => x.trace().abs().sqrt(),
        };
        let expected = if op == 4 { 2 } else { 1 }; // abs keeps its input
        assert_eq!(CpuStorage::strong_count(&xs), expected, "op {op}");
        drop(y);
    }
    // Square reads its input; negation and scalar ops read nothing.
    let x = make();
    let xs = x.storage().clone();
    let y = x.trace().square();
    assert_eq!(CpuStorage::strong_count(&xs), 2);
    let ys = y.storage().clone();
    let z = y.neg() * 3.0 + 1.0;
    assert_eq!(CpuStorage::strong_count(&ys), 1);
    // Add keeps neither operand.
    let w = make();
    let ws = w.storage().clone();
    let _sum = z + w;
    assert_eq!(CpuStorage::strong_count(&ws), 1);
}

#[test]
fn a_consuming_backward_frees_the_saved_activations() {
    let x = make4();
    let h = x.trace().square(); // keeps its input
    let hs = h.storage().clone();
    let y = h.exp(); // keeps its output
    let ys = y.storage().clone();
    assert!(CpuStorage::strong_count(&ys) >= 2);
    let _ = y.sum().backward();
    assert_eq!(CpuStorage::strong_count(&ys), 1);
    assert_eq!(CpuStorage::strong_count(&hs), 1);
}

fn make4() -> Tensor<(U4,), f64> {
    Tensor::from_vec_static(vec![-1.0, 0.5, 2.0, 3.0], &dev())
}

// ------------------------------------------------ modes

/// A toy layer with a running statistic: `y = (x - center) · gain`, where
/// `center` is the batch mean in training (and the running mean is updated
/// with momentum 0.1) and the running mean in evaluation. Forward written
/// once, `&self`.
#[derive(Module, Clone)]
struct RunningCenter {
    gain: Tensor<(U3,), f64>,
    running_mean: Buffer<(U3,), f64>,
}

impl RunningCenter {
    fn new() -> Self {
        RunningCenter {
            gain: Tensor::from_vec_static(vec![1.0, 2.0, 3.0], &dev()),
            running_mean: Buffer::new(Tensor::zeros(Default::default(), &dev())),
        }
    }
}

impl<T: Tracking<f64, Cpu>> Module<B3<T>> for RunningCenter {
    type Output = B3<T>;
    fn forward(&self, x: B3<T>) -> B3<T> {
        let center = if x.mode().is_train() {
            let mean = x.clone().mean_axis::<0>();
            x.tape().record_stat_update(
                self.running_mean.id(),
                StatUpdate::Ema {
                    momentum: 0.1,
                    value: mean.storage().clone(),
                },
            );
            mean
        } else {
            self.running_mean.tracked_like(&x)
        };
        (x - center) * self.gain.clone()
    }
}

fn col_means(x: &B3) -> Vec<f64> {
    let v = x.to_vec();
    let n = v.len() / 3;
    (0..3)
        .map(|c| (0..n).map(|r| v[r * 3 + c]).sum::<f64>() / n as f64)
        .collect()
}

fn sgd() -> Sgd<f64, Cpu> {
    Sgd::new(SgdConfig {
        lr: 0.01,
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn mode_case_1_training_updates_running_statistics_through_the_step() {
    let mut layer = RunningCenter::new();
    let x = batch::<U3>(8, 0.3);
    let y = layer.forward(x.clone().trace_no_grad());
    assert_eq!(y.mode(), Mode::Train);
    // Batch statistics: every output column has mean 0.
    assert!(col_means(&y.detach()).iter().all(|m| m.abs() < 1e-12));
    let grads = y.square().mean().backward();
    assert_eq!(grads.num_stat_updates(), 1);
    assert_eq!(layer.running_mean.to_vec(), vec![0.0; 3]); // nothing yet
    sgd().step(&mut layer, &grads).unwrap();
    let want: Vec<f64> = col_means(&x).iter().map(|m| 0.1 * m).collect();
    assert_close(&layer.running_mean.to_vec(), &want, 1e-12, "running mean");
    // Two training forwards in one graph update in order (as two batches).
    let x2 = batch::<U3>(8, 1.9);
    let a = layer.forward(x.clone().trace_no_grad());
    let b = layer.forward(x2.clone().trace_no_grad());
    let grads = (a.sum() + b.sum()).backward();
    sgd().step(&mut layer, &grads).unwrap();
    let after: Vec<f64> = want
        .iter()
        .zip(col_means(&x))
        .zip(col_means(&x2))
        .map(|((r, m1), m2)| 0.9 * (0.9 * r + 0.1 * m1) + 0.1 * m2)
        .collect();
    assert_close(&layer.running_mean.to_vec(), &after, 1e-12, "two updates");
    // The buffer is saved with the model, not trained, not counted.
    assert_eq!(layer.num_params(), 3);
    assert_eq!(layer.buffer_names()[0].0, "running_mean");
}

#[test]
fn mode_case_2_evaluation_allows_input_gradients() {
    let mut layer = RunningCenter::new();
    layer.running_mean = Buffer::new(Tensor::from_vec_static(vec![0.5, -0.5, 1.0], &dev()));
    let x = batch::<U3>(4, 0.8);
    let y = layer.forward(x.clone().trace().with_mode(Mode::Eval));
    // Running statistics are used: y = (x - running) · gain.
    let xs = x.to_vec();
    let want: Vec<f64> = (0..12)
        .map(|i| (xs[i] - [0.5, -0.5, 1.0][i % 3]) * [1.0, 2.0, 3.0][i % 3])
        .collect();
    assert_close(&y.to_vec(), &want, 1e-12, "eval output");
    let grads = y.sum().backward();
    // A saliency map: d sum(y) / dx = gain, per column.
    let gx: Vec<f64> = (0..12).map(|i| [1.0, 2.0, 3.0][i % 3]).collect();
    assert_eq!(grads.get(&x).unwrap().to_vec(), gx);
    assert_eq!(grads.num_stat_updates(), 0);
    // Dropout is the identity in evaluation, tracked or not.
    let z = Dropout::new(0.9).forward(x.clone().trace().with_mode(Mode::Eval));
    assert_eq!(z.to_vec(), x.to_vec());
}

#[test]
fn mode_case_3_a_gan_discriminator_on_generated_images_keeps_its_statistics() {
    let mut disc = RunningCenter::new();
    // The generator: a scale-and-shift of noise.
    let mut gen = scale_shift(vec![1.5, 0.5, -1.0], vec![0.2, 0.1, 0.0]);
    let noise = batch::<U3>(6, 2.2);

    // The generator's step: D runs in training mode on fakes; its updates
    // are recorded, but stepping G applies only G's buffers.
    let fake = gen.forward(noise.clone().trace_no_grad());
    let grads = disc.forward(fake).square().mean().backward();
    assert_eq!(grads.num_stat_updates(), 1);
    sgd().step(&mut gen, &grads).unwrap();
    assert_eq!(disc.running_mean.to_vec(), vec![0.0; 3]);

    // The user says so explicitly: TrainKeepStats uses batch statistics
    // (the same output as training) and records no update at all.
    let fake = gen.forward(noise.clone()); // detached images
    let kept = disc.forward(fake.clone().trace_no_grad().with_mode(Mode::TrainKeepStats));
    let trained = disc.forward(fake.trace_no_grad());
    assert_eq!(kept.to_vec(), trained.to_vec());
    let grads = kept.square().mean().backward();
    assert_eq!(grads.num_stat_updates(), 0);
    sgd().step(&mut disc, &grads).unwrap();
    assert_eq!(disc.running_mean.to_vec(), vec![0.0; 3]);
}

#[test]
fn mode_case_4_forgetting_to_switch_modes_cannot_happen() {
    let mut layer = RunningCenter::new();
    let x = batch::<U3>(8, 0.3);
    // Train for a step (running mean becomes non-zero).
    let grads = layer.forward(x.clone().trace_no_grad()).sum().backward();
    sgd().step(&mut layer, &grads).unwrap();
    // Evaluating is what an untracked input does: no flag to flip. It uses
    // the running statistics (not the batch's), exactly as explicit eval.
    let eval = layer.forward(x.clone());
    let explicit = layer.forward(x.clone().trace().with_mode(Mode::Eval));
    assert_eq!(eval.to_vec(), explicit.to_vec());
    assert!(col_means(&eval).iter().any(|m| m.abs() > 1e-3));
    // A one-row batch in evaluation is well defined (batch statistics
    // would centre it to zero).
    let one = layer.forward(batch::<U3>(1, 0.3));
    assert!(one.to_vec().iter().any(|v| v.abs() > 1e-3));
    // And training is what tracing does: batch statistics again.
    let train = layer.forward(x.trace_no_grad());
    assert!(col_means(&train.detach()).iter().all(|m| m.abs() < 1e-12));
    // Dropout follows the same rule.
    let ones: B3 = Tensor::ones((Dyn(200), Default::default()), &dev());
    assert_eq!(
        Dropout::new(0.5).forward(ones.clone()).to_vec(),
        ones.to_vec()
    );
    let dropped = Dropout::new(0.5).forward(ones.trace_no_grad()).to_vec();
    assert!(dropped.contains(&0.0) && dropped.contains(&2.0));
}

/// The gradients of the input and of every parameter equal central finite
/// differences (f64, full vector-Jacobian product), through the public
/// `typegrad::testing::gradcheck_module`.
#[test]
fn custom_layer_gradients_equal_finite_differences() {
    use typegrad::testing::gradcheck_module;
    let mut m = scale_shift(vals(3, 0.2), vals(3, 0.9));
    gradcheck_module(&mut m, &batch::<U3>(5, 0.4)).unwrap();
    let mut ln = layer_norm(vals(4, 0.5), vals(4, 1.5));
    gradcheck_module(&mut ln, &batch::<U4>(6, 0.8)).unwrap();
}
