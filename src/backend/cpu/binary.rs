//! CPU kernels for broadcasting binary ops.

use super::par::{chunk_for, for_each_chunk, map2};
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
                if CpuStorage::strong_count(acc) != 1 {
                    // Shared (a gradient passed through an add) or
                    // borrowed: one pass into a new buffer, not a copy
                    // then an add.
                    *acc = CpuStorage::new(map2(acc, x, |a, b| a + b));
                    return;
                }
                let acc = CpuStorage::make_mut(acc);
                let chunk = chunk_for(acc.len());
                for_each_chunk(acc, chunk, |i, a| {
                    for (a, &b) in a.iter_mut().zip(&x[i * chunk..]) {
                        *a += b;
                    }
                });
            }
        }
    )*};
}
binary_impl!(f32, f64);

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    /// `acc += x` in place when `acc` is this handle's alone, and into a
    /// new buffer (the other handle untouched) when shared or borrowed; on
    /// one and two threads, below and above the parallel threshold.
    #[test]
    fn add_assign_in_place_or_into_a_new_buffer() {
        static BORROWED: [f32; 3] = [1.0, 2.0, 3.0];
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                for n in [3, 5_000, 3 * super::super::par::PAR_THRESHOLD + 7] {
                    let a: Vec<f32> = (0..n).map(|i| (i % 97) as f32 * 0.5).collect();
                    let b: Vec<f32> = (0..n).map(|i| (i % 13) as f32 - 6.0).collect();
                    let want: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
                    let x = CpuStorage::new(b.clone());

                    let mut alone = CpuStorage::new(a.clone());
                    let at = alone.as_ptr();
                    Cpu::default().add_assign(&mut alone, &x);
                    assert_eq!(&alone[..], &want[..], "unique, n = {n}");
                    assert_eq!(alone.as_ptr(), at, "unique buffer written in place");

                    let mut shared = CpuStorage::new(a.clone());
                    let other = shared.clone();
                    Cpu::default().add_assign(&mut shared, &x);
                    assert_eq!(&shared[..], &want[..], "shared, n = {n}");
                    assert_eq!(&other[..], &a[..], "the other handle is untouched");
                }
                let mut s = CpuStorage::from_static(&BORROWED);
                Cpu::default().add_assign(&mut s, &CpuStorage::new(vec![1.0; 3]));
                assert_eq!((&s[..], BORROWED), (&[2.0, 3.0, 4.0][..], [1.0, 2.0, 3.0]));
            });
        }
    }
}
