//! The transformer blocks, the encoder-decoder Transformer and the ViT:
//! outputs, input gradients and every parameter's gradient against PyTorch
//! (tests/fixtures/transformer_torch.py), parameter counts and names,
//! shapes, causality, finite-difference gradients in f64, errors.

use std::collections::HashMap;
use std::path::PathBuf;
use typegrad::autograd::Mode;
use typegrad::backend::Backend;
use typegrad::io::safetensors::{self, SafeTensors};
use typegrad::models::{DecoderLayer, EncoderLayer, Transformer, ViT, ViTTokens};
use typegrad::nn::{
    CrossAttentionBlock, FeedForwardBlock, Module, ParamKind, ParamPath, Params,
    SelfAttentionBlock,
};
use typegrad::prelude::*;
use typegrad::testing::{assert_close, gradcheck_module};
use typegrad::typenum::Unsigned;

fn fixture(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

type Fx = HashMap<String, (Vec<usize>, Vec<f32>)>;

fn torch() -> Fx {
    let bytes = std::fs::read(fixture("transformer_torch_io.safetensors")).unwrap();
    let file = SafeTensors::parse(&bytes).unwrap();
    file.tensors()
        .iter()
        .map(|t| {
            (
                t.name().to_string(),
                (t.shape().to_vec(), t.to_vec::<f32>().unwrap()),
            )
        })
        .collect()
}

fn get<'a>(fx: &'a Fx, key: &str) -> &'a (Vec<usize>, Vec<f32>) {
    fx.get(key).unwrap_or_else(|| panic!("fixture has no {key}"))
}

type X<F> = Tensor<(Dyn, Dyn, F), f32>;
type U16 = u!(16);

fn x3<F: Dim + Default>(t: &(Vec<usize>, Vec<f32>)) -> X<F> {
    Tensor::from_vec(
        (Dyn(t.0[0]), Dyn(t.0[1]), F::default()),
        t.1.clone(),
        &Cpu::default(),
    )
}

fn close(got: Vec<f32>, want: &[f32], what: &str) {
    assert_close!(got, want.to_vec(), atol = 1e-5, rtol = 1e-5, "{what}");
}

/// Every parameter gradient of `m` against PyTorch's `grad.<case>.<name>`.
fn check_param_grads<M: Params<f32, Cpu>>(m: &M, g: &Gradients<f32, Cpu>, fx: &Fx, case: &str) {
    let dev = Cpu::default();
    let mut n = 0;
    m.visit_params(&mut ParamPath::default(), &mut |path, p| {
        if p.kind != ParamKind::Param {
            return;
        }
        let key = format!("grad.{case}.{}", path.name());
        let got = g
            .by_id(p.id)
            .unwrap_or_else(|| panic!("no gradient for {}", path.name()));
        close(dev.download(got), &get(fx, &key).1, &key);
        n += 1;
    });
    assert!(n > 0);
}

/// A cotangent-weighted sum, so gradients match PyTorch's `sum(out * w)`.
fn weighted<S: Shape>(y: Tensor<S, f32, Cpu, Tape<f32, Cpu>>, w: &[f32]) -> Tensor<(), f32, Cpu, Tape<f32, Cpu>> {
    let n = y.dims().iter().product::<usize>();
    let w: Tensor<(Dyn,), f32> = Tensor::from_vec((Dyn(n),), w.to_vec(), &Cpu::default());
    (y.reshape_to((Dyn(n),)) * w).sum()
}

#[derive(Module)]
struct Blocks {
    ff: FeedForwardBlock<U16, u!(32)>,
    sa: SelfAttentionBlock<U16, u!(4)>,
    ca: CrossAttentionBlock<U16, u!(4)>,
}

fn blocks() -> Blocks {
    let dev = Cpu::default();
    let mut b = Blocks {
        ff: FeedForwardBlock::new(&dev),
        sa: SelfAttentionBlock::new(&dev),
        ca: CrossAttentionBlock::new(&dev),
    };
    safetensors::load(&mut b, fixture("transformer_blocks_torch.safetensors")).unwrap();
    b
}

#[test]
fn feed_forward_block_matches_pytorch() {
    let (fx, b) = (torch(), blocks());
    let x = x3::<U16>(get(&fx, "ff.x")).trace();
    let y = b.ff.forward(x.clone());
    close(y.to_vec(), &get(&fx, "ff.out").1, "ff.out");
    let g = weighted(y, &get(&fx, "ff.w").1).backward();
    close(g.get(&x).unwrap().to_vec(), &get(&fx, "ff.gx").1, "ff.gx");
    check_param_grads(&b.ff, &g, &fx, "ff");
}

#[test]
fn self_attention_block_matches_pytorch() {
    let (fx, mut b) = (torch(), blocks());
    for (case, causal) in [("sa", false), ("sa_causal", true)] {
        b.sa.attn.causal = causal;
        let x = x3::<U16>(get(&fx, &format!("{case}.x"))).trace();
        let y = b.sa.forward(x.clone());
        close(y.to_vec(), &get(&fx, &format!("{case}.out")).1, case);
        let g = weighted(y, &get(&fx, &format!("{case}.w")).1).backward();
        close(
            g.get(&x).unwrap().to_vec(),
            &get(&fx, &format!("{case}.gx")).1,
            case,
        );
        check_param_grads(&b.sa, &g, &fx, case);
    }
}

#[test]
fn cross_attention_block_matches_pytorch() {
    let (fx, b) = (torch(), blocks());
    let x = x3::<U16>(get(&fx, "ca.x")).trace();
    let mem = x3::<U16>(get(&fx, "ca.memory")).trace();
    let y = b.ca.forward((x.clone(), mem.clone()));
    close(y.to_vec(), &get(&fx, "ca.out").1, "ca.out");
    let g = weighted(y, &get(&fx, "ca.w").1).backward();
    close(g.get(&x).unwrap().to_vec(), &get(&fx, "ca.gx").1, "ca.gx");
    close(
        g.get(&mem).unwrap().to_vec(),
        &get(&fx, "ca.gmemory").1,
        "ca.gmemory",
    );
    check_param_grads(&b.ca, &g, &fx, "ca");
}

#[test]
fn block_parameter_names_are_pytorchs() {
    let names: Vec<String> = blocks().param_names().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "ff.ln.weight",
            "ff.ln.bias",
            "ff.fc1.weight",
            "ff.fc1.bias",
            "ff.fc2.weight",
            "ff.fc2.bias",
            "sa.ln.weight",
            "sa.ln.bias",
            "sa.attn.in_proj_weight",
            "sa.attn.in_proj_bias",
            "sa.attn.out_proj.weight",
            "sa.attn.out_proj.bias",
            "ca.ln.weight",
            "ca.ln.bias",
            "ca.attn.in_proj_weight",
            "ca.attn.in_proj_bias",
            "ca.attn.out_proj.weight",
            "ca.attn.out_proj.bias",
        ]
    );
}

/// Finite differences in f64 for every parameter and the input.
#[test]
fn blocks_gradcheck_f64() {
    let dev = Cpu::seeded(5);
    let x: Tensor<(Dyn, Dyn, u!(8)), f64> =
        Tensor::randn((Dyn(2), Dyn(3), Default::default()), 0.0, 1.0, &dev);
    let mut ff: FeedForwardBlock<u!(8), u!(12), typegrad::nn::GELU, f64> = FeedForwardBlock::new(&dev);
    gradcheck_module(&mut ff, &x).unwrap();
    let mut sa: SelfAttentionBlock<u!(8), u!(2), f64> = SelfAttentionBlock::new(&dev).with_causal(true);
    gradcheck_module(&mut sa, &x).unwrap();
    let mut ca: CrossAttentionBlock<u!(8), u!(2), u!(8), f64> = CrossAttentionBlock::new(&dev);
    // The memory as a fixed input; its gradient is checked against PyTorch above.
    let mem: Tensor<(Dyn, Dyn, u!(8)), f64> =
        Tensor::randn((Dyn(2), Dyn(4), Default::default()), 0.0, 1.0, &dev);
    struct WithMemory<'a>(&'a mut CrossAttentionBlock<u!(8), u!(2), u!(8), f64>, Tensor<(Dyn, Dyn, u!(8)), f64>);
    impl Params<f64, Cpu> for WithMemory<'_> {
        fn visit_params(&self, p: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, typegrad::nn::ParamRef<'_, f64, Cpu>)) {
            self.0.visit_params(p, f)
        }
        fn visit_params_mut(&mut self, p: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, typegrad::nn::ParamMut<'_, f64, Cpu>)) {
            self.0.visit_params_mut(p, f)
        }
    }
    impl Module<Tensor<(Dyn, Dyn, u!(8)), f64, Cpu, Tape<f64, Cpu>>> for WithMemory<'_> {
        type Output = Tensor<(Dyn, Dyn, u!(8)), f64, Cpu, Tape<f64, Cpu>>;
        fn forward(&self, x: Tensor<(Dyn, Dyn, u!(8)), f64, Cpu, Tape<f64, Cpu>>) -> Self::Output {
            let m = self.1.clone().trace_into(x.tape());
            self.0.forward((x, m))
        }
    }
    gradcheck_module(&mut WithMemory(&mut ca, mem), &x).unwrap();
}
