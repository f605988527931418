//! CPU kernels for broadcasting binary ops.

use super::par::map2;
use super::strides::{broadcast, walk2};
use super::Cpu;
use super::CpuStorage;
use crate::backend::kernels::binary::{BinaryKernel, BinaryOp};
use crate::backend::kernels::reduce::ReduceKernel;
use crate::dtype::Dtype;
use alloc::vec;
use alloc::vec::Vec;

fn forward<E: Dtype>(
    op: BinaryOp,
    a: &[E],
    ad: &[usize],
    b: &[E],
    bd: &[usize],
    od: &[usize],
) -> Vec<E> {
    macro_rules! go {
        ($f:expr) => {{
            let f = $f;
            if ad == od && bd == od {
                return map2(a, b, f);
            }
            let n: usize = od.iter().product();
            if b.len() == 1 && ad == od {
                let y = b[0];
                return a.iter().map(|&x| f(x, y)).collect();
            }
            // Row broadcast (bias): b is the trailing block of the output.
            if ad == od && !b.is_empty() && trailing_block(bd, od) {
                let m = b.len();
                let mut out = vec![E::zero(); n];
                for (o, x) in out.chunks_mut(m).zip(a.chunks(m)) {
                    for ((o, &x), &y) in o.iter_mut().zip(x).zip(b) {
                        *o = f(x, y);
                    }
                }
                return out;
            }
            let (sa, sb) = (broadcast(ad, od), broadcast(bd, od));
            let mut out = vec![E::zero(); n];
            walk2(od, &sa, &sb, |o, ia, ib| out[o] = f(a[ia], b[ib]));
            out
        }};
    }
    match op {
        BinaryOp::Add => go!(|x: E, y: E| x + y),
        BinaryOp::Sub => go!(|x: E, y: E| x - y),
        BinaryOp::Mul => go!(|x: E, y: E| x * y),
        BinaryOp::Div => go!(|x: E, y: E| x / y),
        BinaryOp::Maximum => go!(move |x: E, y: E| op.f(x, y)),
        BinaryOp::Minimum => go!(move |x: E, y: E| op.f(x, y)),
    }
}

/// `bd` (after dropping leading 1s) equals the trailing axes of `od`.
fn trailing_block(bd: &[usize], od: &[usize]) -> bool {
    let first = bd.iter().position(|&d| d != 1).unwrap_or(bd.len());
    let core = &bd[first..];
    od.len() >= core.len() && &od[od.len() - core.len()..] == core
}

/// Per-element partials in output space: `(gy·∂f/∂a, gy·∂f/∂b)`.
#[allow(clippy::too_many_arguments)]
fn backward<E: Dtype>(
    op: BinaryOp,
    a: &[E],
    ad: &[usize],
    b: &[E],
    bd: &[usize],
    od: &[usize],
    gy: &[E],
    want: (bool, bool),
) -> (Option<Vec<E>>, Option<Vec<E>>) {
    let n = gy.len();
    // Add and subtract: the partials are gy itself or its negation (the
    // operands are not read, and not kept by the op).
    let ga = want.0.then(|| match op {
        BinaryOp::Add | BinaryOp::Sub => gy.to_vec(),
        _ => {
            let (sa, sb) = (broadcast(ad, od), broadcast(bd, od));
            let mut g = vec![E::zero(); n];
            walk2(od, &sa, &sb, |o, ia, ib| {
                g[o] = gy[o] * op.df(a[ia], b[ib]).0
            });
            g
        }
    });
    let gb = want.1.then(|| match op {
        BinaryOp::Add => gy.to_vec(),
        BinaryOp::Sub => gy.iter().map(|&g| -g).collect(),
        _ => {
            let (sa, sb) = (broadcast(ad, od), broadcast(bd, od));
            let mut g = vec![E::zero(); n];
            walk2(od, &sa, &sb, |o, ia, ib| {
                g[o] = gy[o] * op.df(a[ia], b[ib]).1
            });
            g
        }
    });
    (ga, gb)
}

macro_rules! binary_impl {
    ($($e:ty),*) => {$(
        impl BinaryKernel<$e> for Cpu {
            fn binary(&self, op: BinaryOp, a: &CpuStorage<$e>, ad: &[usize], b: &CpuStorage<$e>, bd: &[usize], od: &[usize]) -> CpuStorage<$e> {
                CpuStorage::new(forward(op, a, ad, b, bd, od))
            }
            fn binary_backward(
                &self,
                op: BinaryOp,
                a: Option<&CpuStorage<$e>>,
                ad: &[usize],
                b: Option<&CpuStorage<$e>>,
                bd: &[usize],
                od: &[usize],
                gy: &CpuStorage<$e>,
                want: (bool, bool),
            ) -> (Option<CpuStorage<$e>>, Option<CpuStorage<$e>>) {
                // Add (both sides) and the left side of Sub pass the
                // gradient through: share its buffer instead of copying it
                // (a later accumulation copies only if it must write).
                let pass = |d: &[usize]| if d == od { gy.clone() } else { self.sum_to(gy, od, d) };
                match op {
                    BinaryOp::Add => return (want.0.then(|| pass(ad)), want.1.then(|| pass(bd))),
                    BinaryOp::Sub if !want.1 => return (want.0.then(|| pass(ad)), None),
                    _ => {}
                }
                let (a, b): (&[$e], &[$e]) = match (a, b) {
                    (Some(a), Some(b)) => (a, b),
                    _ => {
                        assert!(!op.reads_operands(), "binary_backward: {op:?} needs both operands");
                        (&[], &[])
                    }
                };
                let (ga, gb) = backward(op, a, ad, b, bd, od, gy, want);
                let reduce = |g: Vec<$e>, d: &[usize]| {
                    let g = CpuStorage::new(g);
                    if d == od { g } else { self.sum_to(&g, od, d) }
                };
                (ga.map(|g| reduce(g, ad)), gb.map(|g| reduce(g, bd)))
            }
            fn add_assign(&self, acc: &mut CpuStorage<$e>, x: &CpuStorage<$e>) {
                assert_eq!(acc.len(), x.len(), "add_assign: length mismatch");
                let acc = CpuStorage::make_mut(acc);
                for (a, &b) in acc.iter_mut().zip(x.iter()) {
                    *a += b;
                }
            }
        }
    )*};
}
binary_impl!(f32, f64);
