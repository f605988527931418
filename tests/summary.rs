//! The model summary (`nn::Summary`, `summary`, `summary_table`): exact
//! tables for an MLP and a nested sequential model, output shape types
//! equal to `forward`'s, `Dyn` sizes computed and checked, the derive's
//! `#[module(summary_row)]`, and the skip connections' rows.

use typegrad::nn::{
    summary, summary_table, ConcatSkip, Dropout, Flatten, Linear, Module, Params, ReLU, Residual,
    ResidualProjection, Summary, SummaryRows, Tanh,
};
use typegrad::prelude::*;

#[derive(Module)]
#[module(sequential)]
struct Mlp {
    fc1: Linear<u!(784), u!(128)>,
    act: ReLU,
    drop: Dropout,
    fc2: Linear<u!(128), u!(10)>,
}

fn mlp() -> Mlp {
    let dev = Cpu::default();
    Mlp {
        fc1: Linear::new(&dev),
        act: ReLU,
        drop: Dropout::new(0.1),
        fc2: Linear::new(&dev),
    }
}

#[test]
fn mlp_table_is_exact() {
    let table = summary_table(&mlp(), dims!(Dyn(64), 784));
    let want = "\
Layer  Output shape  Param #
============================
fc1    [64, 128]     100,480
act    [64, 128]           0
drop   [64, 128]           0
fc2    [64, 10]        1,290
============================
Input shape: [64, 784]
Output shape: [64, 10]
Total params: 101,770
";
    assert_eq!(table, want);
}

/// A block with a hand-written forward, shown as one row.
#[derive(Module)]
#[module(summary_row)]
struct Block {
    fc: Linear<u!(16), u!(16)>,
}
impl<S: Shape, T: Tracking<f32, Cpu>> Module<Tensor<S, f32, Cpu, T>> for Block
where
    Linear<u!(16), u!(16)>: Module<Tensor<S, f32, Cpu, T>, Output = Tensor<S, f32, Cpu, T>>,
    S: typegrad::shape::BroadcastShape<S, Output = S>,
{
    type Output = Tensor<S, f32, Cpu, T>;
    fn forward(&self, x: Tensor<S, f32, Cpu, T>) -> Self::Output {
        self.fc.forward(x.clone()).tanh() + x
    }
}

/// Sequential models nested in each other, with a tuple, a `Vec` of
/// blocks, a residual, a renamed field and a skipped one.
#[derive(Module)]
#[module(sequential)]
struct Encoder {
    proj: Linear<u!(12), u!(16)>,
    #[module(rename = "blocks")]
    stack: Vec<Block>,
}

#[derive(Module)]
#[module(sequential)]
struct Net {
    flat: Flatten,
    enc: Encoder,
    res: Residual<(Linear<u!(16), u!(16)>, Tanh)>,
    head: (Linear<u!(16), u!(4)>, ReLU),
    #[module(skip)]
    _name: &'static str,
}

fn net() -> Net {
    let dev = Cpu::default();
    Net {
        flat: Flatten,
        enc: Encoder {
            proj: Linear::new(&dev),
            stack: vec![
                Block {
                    fc: Linear::new(&dev),
                },
                Block {
                    fc: Linear::new(&dev),
                },
            ],
        },
        res: Residual((Linear::new(&dev), Tanh)),
        head: (Linear::new(&dev), ReLU),
        _name: "net",
    }
}

#[test]
fn nested_sequential_table_is_exact() {
    let n = net();
    let table = summary_table(&n, dims!(2, 3, 4));
    let want = "\
Layer         Output shape  Param #
===================================
flat          [2, 12]             0
enc.proj      [2, 16]           208
enc.blocks.0  [2, 16]           272
enc.blocks.1  [2, 16]           272
res.0         [2, 16]           272
res.1         [2, 16]             0
head.0        [2, 4]             68
head.1        [2, 4]              0
===================================
Input shape: [2, 3, 4]
Output shape: [2, 4]
Total params: 1,092
";
    assert_eq!(table, want);
    // Rows and totals agree with the parameter traversal.
    let s = summary(&n, dims!(2, 3, 4)).unwrap();
    assert_eq!(
        s.rows.iter().map(|r| r.params).sum::<usize>(),
        n.num_params()
    );
    assert_eq!(s.total_params, 208 + 3 * 272 + 68);
}

/// `Summary::Output` is the shape type `forward` gives: a function that
/// takes both in one type parameter only compiles if they are equal.
fn same_type<A>(_: A, _: A) {}

#[test]
fn output_shape_types_match_forward() {
    let dev = Cpu::default();
    let n = net();
    let x: Tensor<(u!(2), u!(3), u!(4))> = Tensor::zeros(Default::default(), &dev);
    let y = n.forward(x);
    let s = n
        .summarize(dims!(2, 3, 4), &mut SummaryRows::default())
        .unwrap();
    same_type(y.shape(), s);
    let m = mlp();
    let x: Tensor<(Dyn, u!(784))> = Tensor::zeros((Dyn(3), Default::default()), &dev);
    let s = m
        .summarize(dims!(Dyn(3), 784), &mut SummaryRows::default())
        .unwrap();
    same_type(m.forward(x).shape(), s);
    assert_eq!(s, (Dyn(3), <u!(10)>::default()));
}

#[test]
fn dyn_sizes_are_computed_and_checked() {
    let dev = Cpu::default();
    let model = (
        Flatten,
        Linear::<Dyn, u!(3)>::from_tensors(Tensor::zeros((Default::default(), Dyn(6)), &dev), None),
    );
    // A Dyn feature size flows through the Flatten and is checked by the
    // Linear against its weight.
    let s = summary(&model, dims!(Dyn(5), Dyn(2), 3)).unwrap();
    assert_eq!(&*s.rows[0].output, &[5, 6]);
    assert_eq!(&*s.output, &[5, 3]);
    let e = summary(&model, dims!(Dyn(5), Dyn(2), 4)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "linear: dimension mismatch on axis 1 (input features vs weight): got 8, expected 6"
    );
}

#[test]
#[should_panic(expected = "summary: linear: dimension mismatch")]
fn summary_table_panics_on_a_bad_dyn_size() {
    let dev = Cpu::default();
    let fc =
        Linear::<Dyn, u!(3)>::from_tensors(Tensor::zeros((Default::default(), Dyn(6)), &dev), None);
    let _ = summary_table(&fc, (Dyn(2), Dyn(5)));
}

#[test]
fn a_single_layer_is_one_row_named_model() {
    let fc: Linear<u!(4), u!(2)> = Linear::new(&Cpu::default());
    let table = summary_table(&fc, dims!(3, 4));
    assert!(
        table.starts_with("Layer    Output shape  Param #\n"),
        "{table}"
    );
    assert!(
        table.contains("(model)  [3, 2]             10\n"),
        "{table}"
    );
}

#[test]
fn skip_connection_rows() {
    let dev = Cpu::default();
    let block = ResidualProjection {
        residual: (Linear::<u!(4), u!(8)>::new(&dev), ReLU),
        downsample: (Linear::<u!(4), u!(8)>::no_bias(&dev),),
    };
    let s = summary(&block, dims!(Dyn(2), 4)).unwrap();
    let rows: Vec<(&str, Vec<usize>, usize)> = s
        .rows
        .iter()
        .map(|r| (r.name.as_str(), r.output.to_vec(), r.params))
        .collect();
    assert_eq!(
        rows,
        [
            ("0", vec![2, 8], 40),
            ("1", vec![2, 8], 0),
            ("downsample.0", vec![2, 8], 32)
        ]
    );
    // ConcatSkip: the channel sum in the output shape.
    let skip = ConcatSkip(Linear::<u!(5), u!(5)>::new(&dev));
    let s = summary(&skip, dims!(Dyn(2), 3, 5)).unwrap();
    assert_eq!(&*s.output, &[2, 6, 5]);
    assert_eq!(s.rows.len(), 1);
}

/// A one-row block whose output keeps a `Dyn` batch.
#[derive(Module)]
#[module(summary_row)]
struct DynBlock {
    fc: Linear<u!(4), u!(4)>,
}
impl<T: Tracking<f32, Cpu>> Module<Tensor<(Dyn, u!(4)), f32, Cpu, T>> for DynBlock {
    type Output = Tensor<(Dyn, u!(4)), f32, Cpu, T>;
    fn forward(&self, x: Tensor<(Dyn, u!(4)), f32, Cpu, T>) -> Self::Output {
        self.fc.forward(x).relu()
    }
}

#[test]
fn summary_row_with_a_dyn_output_is_an_error_not_a_guess() {
    let b = DynBlock {
        fc: Linear::new(&Cpu::default()),
    };
    let e = summary(&b, dims!(Dyn(2), 4)).unwrap_err();
    assert!(
        e.to_string().contains("has a Dyn dim in its output type"),
        "{e}"
    );
}
