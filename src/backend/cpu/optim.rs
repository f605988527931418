//! CPU kernels for the optimizers: one fused in-place pass per parameter,
//! rayon-parallel over chunks for large buffers. The loops are generic over
//! the element type and instantiated for `f32`/`f64` here, so they are
//! compiled inside typegrad.

use super::par::chunk_for;
#[cfg(feature = "std")]
use super::par::par_threshold;
use super::Cpu;
use super::CpuStorage;
use crate::backend::kernels::optim::{AdamStep, OptimKernel, SgdStep};
use crate::dtype::Dtype;
#[cfg(feature = "std")]
use alloc::vec::Vec;
#[cfg(feature = "std")]
use rayon::prelude::*;

#[cfg(feature = "std")]
#[inline]
fn parallel(n: usize) -> bool {
    n >= par_threshold() && super::threads::parallel_threads() > 1
}

/// `f` over matching chunks of one mutable buffer and one read-only one.
#[inline]
fn chunks2<E: Dtype>(a: &mut [E], g: &[E], f: impl Fn(&mut [E], &[E]) + Sync + Send) {
    debug_assert_eq!(a.len(), g.len());
    #[cfg(feature = "std")]
    {
        if parallel(a.len()) {
            let c = chunk_for(a.len());
            a.par_chunks_mut(c)
                .zip(g.par_chunks(c))
                .for_each(|(a, g)| f(a, g));
            return;
        }
    }
    f(a, g)
}

/// `f` over matching chunks of two mutable buffers and one read-only one.
#[inline]
fn chunks3<E: Dtype>(
    a: &mut [E],
    b: &mut [E],
    g: &[E],
    f: impl Fn(&mut [E], &mut [E], &[E]) + Sync + Send,
) {
    debug_assert!(a.len() == b.len() && b.len() == g.len());
    #[cfg(feature = "std")]
    {
        if parallel(a.len()) {
            let c = chunk_for(a.len());
            a.par_chunks_mut(c)
                .zip(b.par_chunks_mut(c))
                .zip(g.par_chunks(c))
                .for_each(|((a, b), g)| f(a, b, g));
            return;
        }
    }
    f(a, b, g)
}

/// `f` over matching chunks of three mutable buffers and one read-only one.
#[inline]
fn chunks4<E: Dtype>(
    a: &mut [E],
    b: &mut [E],
    c: &mut [E],
    g: &[E],
    f: impl Fn(&mut [E], &mut [E], &mut [E], &[E]) + Sync + Send,
) {
    debug_assert!(a.len() == b.len() && b.len() == c.len() && c.len() == g.len());
    #[cfg(feature = "std")]
    {
        if parallel(a.len()) {
            let k = chunk_for(a.len());
            a.par_chunks_mut(k)
                .zip(b.par_chunks_mut(k))
                .zip(c.par_chunks_mut(k))
                .zip(g.par_chunks(k))
                .for_each(|(((a, b), c), g)| f(a, b, c, g));
            return;
        }
    }
    f(a, b, c, g)
}

#[inline]
fn sgd<E: Dtype>(p: &mut [E], g: &[E], cfg: SgdStep<E>) {
    let (lr, wd) = (cfg.lr, cfg.weight_decay);
    chunks2(p, g, move |p, g| {
        for (p, &g) in p.iter_mut().zip(g) {
            *p = *p - lr * (g + wd * *p);
        }
    });
}

#[inline]
fn sgd_momentum<E: Dtype>(p: &mut [E], buf: &mut [E], g: &[E], cfg: SgdStep<E>) {
    let SgdStep {
        lr,
        momentum: mu,
        dampening,
        nesterov,
        weight_decay: wd,
        first,
    } = cfg;
    let keep = E::one() - dampening;
    chunks3(p, buf, g, move |p, buf, g| {
        for ((p, b), &g) in p.iter_mut().zip(buf.iter_mut()).zip(g) {
            let g = g + wd * *p;
            *b = if first { g } else { mu * *b + keep * g };
            let d = if nesterov { g + mu * *b } else { *b };
            *p = *p - lr * d;
        }
    });
}

#[inline]
fn adam<E: Dtype>(p: &mut [E], m: &mut [E], v: &mut [E], g: &[E], cfg: AdamStep<E>) {
    let AdamStep {
        lr,
        beta1: b1,
        beta2: b2,
        eps,
        weight_decay: wd,
        decoupled,
        step_size,
        bias_correction2_sqrt: bc2,
    } = cfg;
    let (c1, c2) = (E::one() - b1, E::one() - b2);
    // One division per element instead of two (the loop is bound by them).
    let inv_bc2 = E::one() / bc2;
    // AdamW: p ← p·(1 - lr·wd); Adam: g ← g + wd·p.
    let (decay, l2) = if decoupled {
        (E::one() - lr * wd, E::zero())
    } else {
        (E::one(), wd)
    };
    chunks4(p, m, v, g, move |p, m, v, g| {
        for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
            let g = g + l2 * *p;
            let q = *p * decay;
            *m = b1 * *m + c1 * g;
            *v = b2 * *v + c2 * g * g;
            *p = q - step_size * *m / (v.sqrt() * inv_bc2 + eps);
        }
    });
}

#[inline]
fn sum_squares<E: Dtype>(x: &[E]) -> f64 {
    fn part<E: Dtype>(x: &[E]) -> f64 {
        // Eight independent accumulators: the loop vectorises instead of
        // waiting on one chain of dependent adds.
        let mut acc = [0.0f64; 8];
        let mut it = x.chunks_exact(8);
        for c in &mut it {
            for (a, &v) in acc.iter_mut().zip(c) {
                let v = v.to_f64();
                *a += v * v;
            }
        }
        let tail: f64 = it
            .remainder()
            .iter()
            .map(|&v| {
                let v = v.to_f64();
                v * v
            })
            .sum();
        acc.iter().sum::<f64>() + tail
    }
    #[cfg(feature = "std")]
    {
        if parallel(x.len()) {
            // Partial sums in chunk order, added in order: deterministic.
            let parts: Vec<f64> = x.par_chunks(chunk_for(x.len())).map(part).collect();
            return parts.iter().sum();
        }
    }
    part(x)
}

#[inline]
fn scale<E: Dtype>(x: &mut [E], factor: E) {
    let n = x.len();
    super::par::for_each_chunk(x, chunk_for(n), move |_, c| {
        for v in c {
            *v = *v * factor;
        }
    });
}

macro_rules! optim_impl {
    ($($e:ty),*) => {$(
        impl OptimKernel<$e> for Cpu {
            fn sgd_update(
                &self,
                param: &mut CpuStorage<$e>,
                grad: &CpuStorage<$e>,
                momentum_buf: Option<&mut CpuStorage<$e>>,
                cfg: &SgdStep<$e>,
            ) {
                let p = CpuStorage::make_mut(param).as_mut_slice();
                match momentum_buf {
                    Some(buf) => sgd_momentum(p, CpuStorage::make_mut(buf).as_mut_slice(), grad, *cfg),
                    None => sgd(p, grad, *cfg),
                }
            }
            fn adam_update(
                &self,
                param: &mut CpuStorage<$e>,
                grad: &CpuStorage<$e>,
                m: &mut CpuStorage<$e>,
                v: &mut CpuStorage<$e>,
                cfg: &AdamStep<$e>,
            ) {
                adam(
                    CpuStorage::make_mut(param).as_mut_slice(),
                    CpuStorage::make_mut(m).as_mut_slice(),
                    CpuStorage::make_mut(v).as_mut_slice(),
                    grad,
                    *cfg,
                )
            }
            fn sum_squares(&self, x: &CpuStorage<$e>) -> f64 {
                sum_squares(x)
            }
            fn scale_assign(&self, x: &mut CpuStorage<$e>, factor: $e) {
                scale(CpuStorage::make_mut(x).as_mut_slice(), factor)
            }
        }
    )*};
}
optim_impl!(f32, f64);
