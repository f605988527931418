//! A model written by another crate's `macro_rules!`: the derive sees
//! `$crate` paths (in the field types and in `#[module(crate = ...)]`) that
//! must keep naming that crate.

use typegrad_renamed::tg::nn::{Module, Params};
use typegrad_renamed::tg::{dims, Cpu, Dyn, Tensor};

typegrad_renamed::block!(Head);

#[test]
fn a_model_from_another_crates_macro_runs() {
    let dev = Cpu::default();
    let head = Head::new(&dev);
    let x: Tensor<typegrad_renamed::Batch> = Tensor::zeros(dims!(Dyn(3), 4), &dev);
    let y = head.forward(x);
    assert_eq!(&*y.dims(), &[3, 2]);
    let names: Vec<String> = head.param_names().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
}
