//! `#[derive(Module)]`: parameter names and order, counts, mutation through
//! the traversal, sequential stacks (tuples and derived), and the helpers
//! built on the traversal (copy between models, move to a device).

use core::marker::PhantomData;
use typegrad::nn::{Module, ModuleExt, ParamPath, Params, ParamsMismatch};
use typegrad::ops::matmul::MatMul;
use typegrad::prelude::*;
use typegrad::shape::BroadcastShape;

type U1 = u!(1);
type U2 = u!(2);
type U3 = u!(3);
type U4 = u!(4);

// ---- small test modules (the real layers are tested elsewhere) ----

/// Multiplies its input elementwise by `w`.
#[derive(Module, Clone)]
struct Scale<S: Shape> {
    w: Tensor<S, f32>,
}

impl<S: Shape + BroadcastShape<S, Output = S>> Module<Tensor<S, f32>> for Scale<S> {
    type Output = Tensor<S, f32>;
    fn forward(&self, x: Tensor<S, f32>) -> Tensor<S, f32> {
        x.mul(self.w.clone())
    }
}

/// `x w + b` for a vector `x`: a module generic over its dim types.
#[derive(Module, Clone)]
struct Proj<I: Dim, O: Dim> {
    w: Tensor<(I, O), f32>,
    b: Tensor<(O,), f32>,
}

impl<I: Dim, O: Dim> Module<Tensor<(I,), f32>> for Proj<I, O>
where
    (I,): MatMul<(I, O), Output = (O,)>,
    (O,): BroadcastShape<(O,), Output = (O,)>,
{
    type Output = Tensor<(O,), f32>;
    fn forward(&self, x: Tensor<(I,), f32>) -> Tensor<(O,), f32> {
        x.matmul(self.w.clone()).add(self.b.clone())
    }
}

/// Squares its input; holds no parameters (a unit struct).
#[derive(Module, Clone, Copy)]
struct Square;

impl<S: Shape + BroadcastShape<S, Output = S>> Module<Tensor<S, f32>> for Square {
    type Output = Tensor<S, f32>;
    fn forward(&self, x: Tensor<S, f32>) -> Tensor<S, f32> {
        x.clone().mul(x)
    }
}

/// A const-generic block with an array of tensors and a renamed field.
#[derive(Module, Clone)]
struct Block<const N: usize> {
    taps: [Tensor<(U2,), f32>; N],
    #[module(rename = "fc")]
    proj: Proj<U2, U2>,
}

/// A tuple struct with a skipped field and an optional tensor.
#[derive(Module, Clone)]
struct Pair(
    Tensor<(U3,), f32>,
    #[module(skip)] f32,
    pub Option<Tensor<(U1,), f32>>,
);

/// Generic over dtype and device: the impl is `Params<E, D>` itself.
#[derive(Module, Clone)]
struct Generic<E: Dtype, D: Device<E>> {
    w: Tensor<(U2,), E, D>,
    #[module(skip)]
    width: usize,
}

/// An existing where clause, a defaulted parameter and a lifetime.
#[derive(Module, Clone)]
struct Wrapped<'a, T = Tensor<(U2,), f32>>
where
    T: Clone,
{
    inner: T,
    #[module(skip)]
    label: &'a str,
    r#type: Box<Scale<(U1,)>>,
}

#[derive(Module, Clone)]
struct Model {
    embed: Proj<U4, U2>,
    blocks: Vec<Block<2>>,
    heads: [Tensor<(U2,), f32>; 2],
    pair: (Tensor<(U1,), f32>, Proj<U2, U1>),
    tup: Pair,
    #[module(skip)]
    hidden: usize,
    #[module(rename = "final")]
    last: Scale<(U1,)>,
    act: Square,
    marker: PhantomData<u8>,
}

fn t<S: ConstShape>(v: &[f32]) -> Tensor<S, f32> {
    Tensor::from_vec_static(v.to_vec(), &Cpu::default())
}

fn proj<I: Dim, O: Dim>(w: &[f32], b: &[f32]) -> Proj<I, O>
where
    (I, O): ConstShape,
    (O,): ConstShape,
{
    Proj { w: t(w), b: t(b) }
}

fn block(k: f32) -> Block<2> {
    Block {
        taps: [t(&[k, k]), t(&[k, k])],
        proj: proj(&[k; 4], &[k; 2]),
    }
}

fn model() -> Model {
    Model {
        embed: proj(&[0.5; 8], &[0.0; 2]),
        blocks: vec![block(1.0), block(2.0)],
        heads: [t(&[1.0, 2.0]), t(&[3.0, 4.0])],
        pair: (t(&[1.0]), proj(&[1.0, 1.0], &[0.0])),
        tup: Pair(t(&[1.0, 2.0, 3.0]), 9.0, Some(t(&[5.0]))),
        hidden: 7,
        last: Scale { w: t(&[2.0]) },
        act: Square,
        marker: PhantomData,
    }
}

fn names(m: &impl Params<f32, Cpu>) -> Vec<(String, Vec<usize>)> {
    m.param_names()
        .into_iter()
        .map(|(n, d)| (n, d.to_vec()))
        .collect()
}

#[test]
fn names_follow_declaration_order_in_state_dict_style() {
    let m = model();
    let expected: Vec<(&str, Vec<usize>)> = vec![
        ("embed.w", vec![4, 2]),
        ("embed.b", vec![2]),
        ("blocks.0.taps.0", vec![2]),
        ("blocks.0.taps.1", vec![2]),
        ("blocks.0.fc.w", vec![2, 2]),
        ("blocks.0.fc.b", vec![2]),
        ("blocks.1.taps.0", vec![2]),
        ("blocks.1.taps.1", vec![2]),
        ("blocks.1.fc.w", vec![2, 2]),
        ("blocks.1.fc.b", vec![2]),
        ("heads.0", vec![2]),
        ("heads.1", vec![2]),
        ("pair.0", vec![1]),
        ("pair.1.w", vec![2, 1]),
        ("pair.1.b", vec![1]),
        ("tup.0", vec![3]),
        ("tup.2", vec![1]),
        ("final.w", vec![1]),
    ];
    let expected: Vec<(String, Vec<usize>)> = expected
        .into_iter()
        .map(|(n, d)| (n.to_string(), d))
        .collect();
    assert_eq!(names(&m), expected);
    // 8+2 + 2*(2+2+4+2) + 2+2 + 1+2+1 + 3+1 + 1
    assert_eq!(m.num_params(), 10 + 20 + 4 + 4 + 4 + 1);
    let total: usize = expected
        .iter()
        .map(|(_, d)| d.iter().product::<usize>())
        .sum();
    assert_eq!(m.num_params(), total);
    assert_eq!(m.hidden, 7); // skipped fields are untouched data
}

#[test]
fn tuple_unit_generic_and_where_clause_structs() {
    let p = Pair(t(&[1.0, 2.0, 3.0]), 0.5, None);
    assert_eq!(names(&p), vec![("0".to_string(), vec![3])]);
    assert_eq!(p.1, 0.5);

    assert_eq!(Params::<f32, Cpu>::num_params(&Square), 0);
    assert_eq!(Params::<f64, Cpu>::param_names(&Square), vec![]);

    let g: Generic<f64, Cpu> = Generic {
        w: Tensor::ones(Default::default(), &Cpu::default()),
        width: 3,
    };
    assert_eq!(g.param_names()[0].0, "w");
    assert_eq!((g.num_params(), g.width), (2, 3));

    let w: Wrapped = Wrapped {
        inner: t(&[1.0, 2.0]),
        label: "x",
        r#type: Box::new(Scale { w: t(&[3.0]) }),
    };
    assert_eq!(
        names(&w),
        vec![
            ("inner".to_string(), vec![2]),
            ("type.w".to_string(), vec![1])
        ]
    );
    assert_eq!(w.label, "x");
}

#[test]
fn visit_params_mut_updates_every_parameter_in_place() {
    let mut m = model();
    let ids: Vec<_> = {
        let mut v = Vec::new();
        m.visit_params(&mut ParamPath::default(), &mut |_, p| v.push(p.id));
        v
    };
    // Parameter k becomes k, k+1, ... (distinct values per parameter).
    let mut k = 0.0f32;
    m.visit_params_mut(&mut ParamPath::default(), &mut |_, p| {
        let n = p.dims.numel();
        *p.data = p.device.upload((0..n).map(|i| k + i as f32).collect());
        k += 100.0;
    });
    assert_eq!(
        m.embed.w.to_vec(),
        vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    );
    assert_eq!(m.embed.b.to_vec(), vec![100.0, 101.0]);
    assert_eq!(m.blocks[1].proj.b.to_vec(), vec![900.0, 901.0]);
    assert_eq!(m.heads[1].to_vec(), vec![1100.0, 1101.0]);
    assert_eq!(m.pair.1.w.to_vec(), vec![1300.0, 1301.0]);
    assert_eq!(m.tup.2.as_ref().unwrap().to_vec(), vec![1600.0]);
    assert_eq!(m.last.w.to_vec(), vec![1700.0]);
    assert_eq!(m.tup.1, 9.0);
    // Ids are kept, so gradients keyed by them still apply.
    let mut after = Vec::new();
    m.visit_params(&mut ParamPath::default(), &mut |_, p| after.push(p.id));
    assert_eq!(ids, after);
}

#[test]
fn tuples_run_in_order() {
    // (4,) -> Proj<4,2> -> Square -> Scale<(2,)> -> Proj<2,1>
    let net = (
        proj::<U4, U2>(&[1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, -1.0], &[0.5, -0.5]),
        Square,
        Scale::<(U2,)> { w: t(&[2.0, 3.0]) },
        proj::<U2, U1>(&[1.0, -1.0], &[10.0]),
    );
    let x: Tensor<(U4,), f32> = t(&[1.0, 2.0, 3.0, 4.0]);
    // x W: [1 + 3 + 8, 2 + 3 - 4] = [12, 1]; + b = [12.5, 0.5]
    // squared [156.25, 0.25]; scaled [312.5, 0.75]; projected 312.5 - 0.75 + 10
    let y: Tensor<(U1,), f32> = net.forward(x);
    assert_eq!(y.to_vec(), vec![321.75]);
    let names: Vec<String> = net.param_names().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["0.w", "0.b", "2.w", "3.w", "3.b"]);

    // One-element and sixteen-element tuples.
    let one = (Scale::<(U1,)> { w: t(&[3.0]) },);
    assert_eq!(one.forward(t::<(U1,)>(&[2.0])).to_vec(), vec![6.0]);
    let s = || Scale::<(U1,)> { w: t(&[2.0]) };
    let sixteen = (
        s(),
        s(),
        s(),
        s(),
        s(),
        s(),
        s(),
        s(),
        s(),
        s(),
        s(),
        s(),
        s(),
        s(),
        s(),
        s(),
    );
    assert_eq!(sixteen.forward(t::<(U1,)>(&[1.0])).to_vec(), vec![65536.0]);
    assert_eq!(sixteen.num_params(), 16);
}

#[test]
fn vecs_and_arrays_of_blocks_run_in_order() {
    let blocks = vec![
        Scale::<(U2,)> { w: t(&[2.0, 3.0]) },
        Scale { w: t(&[5.0, 7.0]) },
    ];
    assert_eq!(
        blocks.forward(t::<(U2,)>(&[1.0, 1.0])).to_vec(),
        vec![10.0, 21.0]
    );
    let arr = [Square, Square, Square];
    assert_eq!(arr.forward(t::<(U1,)>(&[2.0])).to_vec(), vec![256.0]);
}

/// Fields run in declaration order; the skipped one does not take part.
#[derive(Module, Clone)]
#[module(sequential)]
struct Mlp {
    l1: Proj<U3, U2>,
    act: Square,
    #[module(skip)]
    #[allow(dead_code)]
    note: &'static str,
    l2: Proj<U2, U1>,
}

/// Sequential and generic over the dtype/device.
#[derive(Module, Clone)]
#[module(sequential)]
struct Twice<E: Dtype, D: Device<E>> {
    a: ScaleG<E, D>,
    b: ScaleG<E, D>,
}

#[derive(Module, Clone)]
struct ScaleG<E: Dtype, D: Device<E>> {
    w: Tensor<(U2,), E, D>,
}

impl<E: Dtype, D: Device<E>> Module<Tensor<(U2,), E, D>> for ScaleG<E, D> {
    type Output = Tensor<(U2,), E, D>;
    fn forward(&self, x: Tensor<(U2,), E, D>) -> Self::Output {
        x.mul(self.w.clone())
    }
}

#[test]
fn derived_sequential_composes_fields() {
    let mlp = Mlp {
        l1: proj(&[1.0, 2.0, 0.0, 1.0, -1.0, 1.0], &[0.0, 1.0]),
        act: Square,
        note: "skipped",
        l2: proj(&[1.0, 2.0], &[-3.0]),
    };
    let x: Tensor<(U3,), f32> = t(&[1.0, 2.0, 3.0]);
    // x W1 = [1 + 0 - 3, 2 + 2 + 3] = [-2, 7]; + b = [-2, 8]; squared [4, 64]
    // W2: 4 + 128 - 3 = 129
    let y: Tensor<(U1,), f32> = mlp.forward(x.clone());
    assert_eq!(y.to_vec(), vec![129.0]);
    // Same as the explicit chain and as the tuple form.
    let explicit = mlp.l2.forward(mlp.act.forward(mlp.l1.forward(x.clone())));
    assert_eq!(explicit.to_vec(), y.to_vec());
    let tuple = (mlp.l1.clone(), Square, mlp.l2.clone());
    assert_eq!(tuple.forward(x).to_vec(), y.to_vec());
    let names: Vec<String> = mlp.param_names().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["l1.w", "l1.b", "l2.w", "l2.b"]);

    let dev = Cpu::default();
    let tw: Twice<f64, Cpu> = Twice {
        a: ScaleG {
            w: Tensor::from_vec_static(vec![2.0, 3.0], &dev),
        },
        b: ScaleG {
            w: Tensor::from_vec_static(vec![5.0, -1.0], &dev),
        },
    };
    let y = tw.forward(Tensor::<(U2,), f64>::from_vec_static(vec![1.0, 1.0], &dev));
    assert_eq!(y.to_vec(), vec![10.0, -3.0]);
    assert_eq!(tw.num_params(), 4);
}

#[test]
fn copy_params_from_copies_values_and_keeps_ids() {
    let mut a = model();
    let mut b = model();
    b.visit_params_mut(&mut ParamPath::default(), &mut |_, p| {
        let n = p.dims.numel();
        *p.data = p.device.upload(vec![-1.5; n]);
    });
    let ids: Vec<_> = {
        let mut v = Vec::new();
        a.visit_params(&mut ParamPath::default(), &mut |_, p| v.push(p.id));
        v
    };
    a.copy_params_from(&b).unwrap();
    a.visit_params(&mut ParamPath::default(), &mut |_, p| {
        assert!(p.device.download(p.data).iter().all(|&v| v == -1.5));
    });
    let mut after = Vec::new();
    a.visit_params(&mut ParamPath::default(), &mut |_, p| after.push(p.id));
    assert_eq!(ids, after);
    assert_eq!(a.embed.w.to_vec(), vec![-1.5; 8]);

    // Another number of blocks: refused, naming the parameter, nothing copied.
    let mut short = model();
    short.blocks.pop();
    let before = short.embed.w.to_vec();
    let err = short.copy_params_from(&b).unwrap_err();
    assert_eq!(
        err,
        ParamsMismatch::Names {
            source: "blocks.1.taps.0".into(),
            destination: "heads.0".into()
        }
    );
    assert_eq!(short.embed.w.to_vec(), before);
    // One model ends first.
    let short_tail = Vec::<Block<2>>::new();
    let mut long_tail = vec![block(1.0)];
    let err = long_tail.copy_params_from(&short_tail).unwrap_err();
    assert_eq!(
        err,
        ParamsMismatch::Missing {
            name: "0.taps.0".into(),
            in_source: false
        }
    );
    let err = short_tail.clone().copy_params_from(&long_tail).unwrap_err();
    assert_eq!(err.to_string(), "copy_params_from: parameter `0.taps.0` of the source has no counterpart in the destination");
}

#[test]
fn copy_params_from_checks_dyn_sizes() {
    #[derive(Module, Clone)]
    struct Dynamic {
        w: Tensor<(Dyn,), f32>,
    }
    let dev = Cpu::default();
    let mut a = Dynamic {
        w: Tensor::zeros((Dyn(3),), &dev),
    };
    let b = Dynamic {
        w: Tensor::ones((Dyn(4),), &dev),
    };
    let err = a.copy_params_from(&b).unwrap_err();
    assert_eq!(
        err.to_string(),
        "copy_params_from: parameter `w` has sizes [4] in the source, [3] in the destination"
    );
    assert_eq!(a.w.to_vec(), vec![0.0; 3]);
}

#[test]
fn to_device_moves_values_and_device_and_keeps_ids() {
    let m = model();
    let dev = Cpu::seeded(42);
    let moved = m.to_device(&dev);
    assert_eq!(names(&moved), names(&m));
    let (mut ids, mut moved_ids) = (Vec::new(), Vec::new());
    m.visit_params(&mut ParamPath::default(), &mut |_, p| {
        ids.push((p.id, p.device.download(p.data)))
    });
    moved.visit_params(&mut ParamPath::default(), &mut |_, p| {
        moved_ids.push((p.id, p.device.download(p.data)));
        assert_eq!(format!("{:?}", p.device), format!("{dev:?}"));
    });
    assert_eq!(ids, moved_ids);
    assert_eq!(
        format!("{:?}", moved.blocks[1].proj.w.device()),
        format!("{dev:?}")
    );
    assert_eq!(
        format!("{:?}", m.blocks[1].proj.w.device()),
        format!("{:?}", Cpu::default())
    );
}

// ---- syntax the derive must accept ----

/// Visibilities, doc comments, a tuple-typed field after `pub`, function
/// pointers (`->` is not a closing angle bracket) and nested generics.
#[derive(Module, Clone)]
pub struct Syntax(
    /// A documented field.
    pub(crate) Tensor<(U1,), f32>,
    pub (Tensor<(U2,), f32>, Tensor<(U1,), f32>),
    #[module(skip)] pub fn(f32) -> f32,
    Vec<Vec<Tensor<(U1,), f32>>>,
);

/// A tuple struct with a trailing where clause.
#[derive(Module, Clone)]
struct Holder<M>(M)
where
    M: Clone;

/// Sequential over generic field types.
#[derive(Module, Clone)]
#[module(sequential)]
struct Chain<A, B> {
    a: A,
    b: B,
}

#[test]
fn accepts_visibility_docs_fn_pointers_and_where_clauses() {
    let s = Syntax(
        t(&[1.0]),
        (t(&[2.0, 3.0]), t(&[4.0])),
        |x| x + 1.0,
        vec![vec![], vec![t(&[5.0]), t(&[6.0])]],
    );
    let n: Vec<String> = s.param_names().into_iter().map(|(n, _)| n).collect();
    assert_eq!(n, ["0", "1.0", "1.1", "3.1.0", "3.1.1"]);
    assert_eq!((s.2)(1.0), 2.0);

    let h = Holder(Scale::<(U1,)> { w: t(&[2.0]) });
    assert_eq!(h.param_names()[0].0, "0.w");

    let c = Chain {
        a: Square,
        b: Scale::<(U1,)> { w: t(&[3.0]) },
    };
    assert_eq!(c.forward(t::<(U1,)>(&[2.0])).to_vec(), vec![12.0]);
    assert_eq!(names(&c), vec![("b.w".to_string(), vec![1])]);
}

// ---- sequential structs generic over a size; const generics, lifetimes,
// const-expression where clauses, types written by `macro_rules!` ----

use typegrad::nn::chain::{FeatureMap, Keeps, Maps};

impl FeatureMap for Square {
    type Kind = Keeps;
}
impl<S: Shape> FeatureMap for Scale<S> {
    type Kind = Keeps;
}
impl<I: Dim, O: Dim> FeatureMap for Proj<I, O> {
    type Kind = Maps<I, O>;
}

/// Generic over its hidden size: the chain is checked where it is used.
#[derive(Module, Clone)]
#[module(sequential)]
struct Hidden<H: Dim> {
    a: Proj<U3, H>,
    sq: Square,
    b: Proj<H, U1>,
}

/// Through the trait, as a generic function would.
fn run<X, M: Module<X>>(m: &M, x: X) -> M::Output {
    m.forward(x)
}

#[test]
fn size_generic_sequential_struct_runs_its_fields_in_order() {
    let h: Hidden<U2> = Hidden {
        a: proj(&[1.0, 2.0, 0.0, 1.0, -1.0, 1.0], &[0.0, 1.0]),
        sq: Square,
        b: proj(&[1.0, 2.0], &[-3.0]),
    };
    let x: Tensor<(U3,), f32> = t(&[1.0, 2.0, 3.0]);
    // The same numbers as `Mlp` above (the derived inherent forward, then
    // the `Module` impl).
    let y: Tensor<(U1,), f32> = h.forward(x.clone());
    assert_eq!(y.to_vec(), vec![129.0]);
    assert_eq!(run(&h, x).to_vec(), vec![129.0]);
    let names: Vec<String> = h.param_names().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["a.w", "a.b", "b.w", "b.b"]);
}

/// A const generic, a lifetime and a skipped field on a sequential struct.
#[derive(Module, Clone)]
#[module(sequential)]
struct Repeat<'a, const N: usize> {
    #[module(skip)]
    label: &'a str,
    blocks: [Square; N],
    last: Scale<(U1,)>,
}

trait Width<const N: usize> {}
impl<const N: usize> Width<N> for Square {}

/// Const-expression arguments in the where clause.
#[derive(Module, Clone)]
#[module(sequential)]
struct ConstWhere<T, const N: usize>
where
    T: Width<{ N }> + Width<{ 1 + 2 }>,
{
    first: T,
    taps: [Square; N],
}

/// Types written by a `macro_rules!`: `$t:ty` arrives as an invisible
/// group, `$n:literal` inside `u!`, and `$crate` paths.
mod layers {
    pub type Sq = super::Square;
}
macro_rules! seq_struct {
    ($name:ident, $first:ty, $n:literal) => {
        #[derive(Module, Clone)]
        #[module(sequential)]
        struct $name {
            first: $first,
            act: $crate::layers::Sq,
            last: Proj<u!($n), U1>,
        }
    };
}
seq_struct!(FromMacro, Proj<U3, U2>, 2);

#[test]
fn const_generics_lifetimes_where_clauses_and_macro_types() {
    let r = Repeat {
        label: "r",
        blocks: [Square, Square],
        last: Scale { w: t(&[3.0]) },
    };
    // ((2²)²) · 3
    assert_eq!(r.forward(t::<(U1,)>(&[2.0])).to_vec(), vec![48.0]);
    assert_eq!((r.label, r.num_params()), ("r", 1));

    let c = ConstWhere::<Square, 2> {
        first: Square,
        taps: [Square, Square],
    };
    assert_eq!(c.forward(t::<(U1,)>(&[2.0])).to_vec(), vec![256.0]);

    let m = FromMacro {
        first: proj(&[1.0, 2.0, 0.0, 1.0, -1.0, 1.0], &[0.0, 1.0]),
        act: Square,
        last: proj(&[1.0, 2.0], &[-3.0]),
    };
    assert_eq!(
        m.forward(t::<(U3,)>(&[1.0, 2.0, 3.0])).to_vec(),
        vec![129.0]
    );
}

/// Generic over a size and over its dtype and device, with library layers.
#[derive(Module, Clone)]
#[module(sequential)]
struct Wide<H: Dim, E: Dtype, D: Device<E>> {
    fc1: typegrad::nn::Linear<U3, H, E, D>,
    act: typegrad::nn::ReLU,
    fc2: typegrad::nn::Linear<H, U1, E, D>,
}

#[test]
fn size_and_backend_generic_sequential_struct_trains() {
    use typegrad::nn::{Linear, ReLU};
    let dev = Cpu::default();
    let w1 = Tensor::<(U2, U3), f64>::from_vec_static(vec![1.0, 0.0, 0.0, 0.0, -1.0, 0.0], &dev);
    let w2 = Tensor::<(U1, U2), f64>::from_vec_static(vec![2.0, 3.0], &dev);
    let net: Wide<U2, f64, Cpu> = Wide {
        fc1: Linear::from_tensors(w1, None),
        act: ReLU,
        fc2: Linear::from_tensors(w2, None),
    };
    let x = Tensor::<(U3,), f64>::from_vec_static(vec![1.0, -2.0, 5.0], &dev);
    // fc1: [1, 2]; relu: [1, 2]; fc2: 2 + 6
    assert_eq!(net.forward(x.clone()).to_vec(), vec![8.0]);
    // A tracked input goes through the same derived forward.
    let grads = net.forward(x.trace()).sum().backward();
    let g: Tensor<(U1, U2), f64> = grads.get(&net.fc2.weight).unwrap();
    assert_eq!(g.to_vec(), vec![1.0, 2.0]);
}
