//! The weight gradient of a 3x3 stride-1 convolution through Winograd
//! F(2x2, 3x3) (the calls [`super::winograd::applies`] takes).
//!
//! The forward pass computes each output tile as `Aᵀ [U ⊙ V_t] A` with
//! `U = G g Gᵀ` and `V_t = Bᵀ d_t B`: linear in `g`. Its adjoint gives the
//! gradient of one kernel as
//!
//! ```text
//! dg_{k,c} = Gᵀ [ Σ_t (A dy_{k,t} Aᵀ) ⊙ V_{c,t} ] G
//! ```
//!
//! with `dy_{k,t}` the 2x2 output-gradient tile. The sum over tiles is,
//! for each of the 16 elements `ξ`, one product `P[ξ] = D[ξ] · V[ξ]ᵀ`
//! (`C_out × tiles` by `tiles × C_in`): 16 multiply-adds per tile and
//! kernel where im2col + gemm does 36, and no column matrix.

use super::winograd::{each_channel, each_product, map2, split_even_odd, transform_patches, Shape};
use super::{gemm, threads, ConvFloat, Geo};
use crate::backend::cpu::simd::wide_fn;
#[cfg(feature = "std")]
use alloc::vec;
use alloc::vec::Vec;

/// `dW` (`C_out × C_in × 3 × 3`), summed over the batch, for a call
/// [`super::winograd::applies`] takes.
pub(super) fn weight_grad<E: ConvFloat>(g: &Geo, x: &[E], gy: &[E]) -> Vec<E> {
    let s = Shape::for_forward(g);
    let pairs = s.cout * s.cin;
    let mut dw = super::zeros(9 * pairs, threads() > 1);
    let (per, par_chunks) = s.plan();
    let chunks = s.batch.div_ceil(per);
    #[cfg(feature = "std")]
    if par_chunks {
        use rayon::prelude::*;
        // Each thread sums its share of the chunks into its own P (one
        // fork-join for the call, each chunk serial on its thread); the
        // partial sums are added while transforming back.
        let parts = threads().min(chunks);
        let per_part = chunks.div_ceil(parts);
        let partials: Vec<Vec<E>> = (0..parts)
            .into_par_iter()
            .map(|t| {
                let mut p = vec![E::ZERO; 16 * pairs];
                let first = t * per_part;
                for c in first..((t + 1) * per_part).min(chunks) {
                    let n0 = c * per;
                    let cnt = per.min(s.batch - n0);
                    chunk(&s, x, gy, n0, cnt, &mut p, c > first, false);
                }
                p
            })
            .collect();
        let parts: Vec<&[E]> = partials.iter().map(|p| &p[..]).collect();
        inverse_transform(&parts, &mut dw, true);
        return dw;
    }
    let _ = par_chunks;
    // Fewer chunks than threads (or one thread): the products and
    // transforms of each chunk go over the threads instead.
    let spread = threads() > 1;
    // P: 16 matrices C_out × C_in, summed over the chunks (the first
    // overwrites: the buffer is reused, never zero-filled).
    E::with_scratch2(16 * pairs, |p| {
        for c in 0..chunks {
            let n0 = c * per;
            let cnt = per.min(s.batch - n0);
            chunk(&s, x, gy, n0, cnt, p, c > 0, spread);
        }
        inverse_transform(&[&*p], &mut dw, spread);
    });
    dw
}

/// `P[ξ] (+)= D[ξ] · V[ξ]ᵀ` over images `n0..n0 + cnt`.
#[allow(clippy::too_many_arguments)]
fn chunk<E: ConvFloat>(
    s: &Shape,
    x: &[E],
    gy: &[E],
    n0: usize,
    cnt: usize,
    p: &mut [E],
    accumulate: bool,
    spread: bool,
) {
    let tpi = s.tiles_per_image();
    let tiles = cnt * tpi;
    let (v_len, d_len) = (16 * s.cin * tiles, 16 * s.cout * tiles);
    E::with_scratch(v_len + d_len + s.scratch(), |buf| {
        let (v, rest) = buf.split_at_mut(v_len);
        let (d, rows) = rest.split_at_mut(d_len);
        let plane = s.h * s.w;
        each_channel(v, s.cin, tiles, rows, spread, |c, dst, scratch| {
            for i in 0..cnt {
                let src = &x[((n0 + i) * s.cin + c) * plane..][..plane];
                transform_patches(s, src, i * tpi, dst, scratch);
            }
        });
        let out_plane = s.oh * s.ow;
        each_channel(d, s.cout, tiles, rows, spread, |k, dst, scratch| {
            for i in 0..cnt {
                let src = &gy[((n0 + i) * s.cout + k) * out_plane..][..out_plane];
                transform_output_grads(s, src, i * tpi, dst, scratch);
            }
        });
        let (dm, vm) = (s.cout * tiles, s.cin * tiles);
        each_product(p, spread, |xi, px| {
            let (dx, vx) = (&d[xi * dm..][..dm], &v[xi * vm..][..vm]);
            gemm(
                s.cout, tiles, s.cin, dx, false, vx, true, px, accumulate, true,
            );
        });
    });
}

wide_fn! {
    /// `D[ξ]` of every tile of one output-gradient plane, into `d[ξ]` from
    /// column `tile0`: `A y Aᵀ` with `A = [[1,0],[1,1],[1,-1],[0,-1]]`,
    /// `y` the 2x2 tile at `(2·ty, 2·tx)` (0 past the plane's edges);
    /// `rows` holds [`Shape::scratch`] elements. The four tile elements
    /// are split out first (rows by parity, columns by parity), so every
    /// step is a loop over all tiles of the plane.
    fn transform_output_grads<E: ConvFloat>(s: &Shape, plane: &[E], tile0: usize, d: &mut [&mut [E]], rows: &mut [E]) -> () {
        let (tw, len) = (s.tw, s.th * s.tw);
        let (ys, rest) = rows.split_at_mut(4 * len);
        let (tmp, padded) = rest.split_at_mut(4 * len);
        let padded = &mut padded[..2 * tw];
        // ys[2a + b][t]: element (a, b) of tile t.
        padded.fill(E::ZERO);
        for ty in 0..s.th {
            for a in 0..2 {
                let (even, odd) = ys[2 * a * len..][..2 * len].split_at_mut(len);
                let (e, o) = (&mut even[ty * tw..][..tw], &mut odd[ty * tw..][..tw]);
                let oy = 2 * ty + a;
                if oy >= s.oh {
                    e.fill(E::ZERO);
                    o.fill(E::ZERO);
                    continue;
                }
                padded[..s.ow].copy_from_slice(&plane[oy * s.ow..][..s.ow]);
                split_even_odd(padded, e, o);
            }
        }
        let (y00, y01, y10, y11) = (&ys[..len], &ys[len..2 * len], &ys[2 * len..3 * len], &ys[3 * len..]);
        // A y: rows (y00, y01), (y00 + y10, y01 + y11), (y00 - y10,
        // y01 - y11), (-y10, -y11); then each row (a, b) times Aᵀ is
        // (a, a + b, a - b, -b).
        let (sum, diff) = tmp.split_at_mut(2 * len);
        let (s0, s1) = sum.split_at_mut(len);
        let (d0, d1) = diff.split_at_mut(len);
        map2(s0, y00, y10, |a, b| a + b);
        map2(s1, y01, y11, |a, b| a + b);
        map2(d0, y00, y10, |a, b| a - b);
        map2(d1, y01, y11, |a, b| a - b);
        let row_pairs: [(&[E], &[E], bool); 4] = [(y00, y01, false), (s0, s1, false), (d0, d1, false), (y10, y11, true)];
        for (i, (a, b, negate)) in row_pairs.into_iter().enumerate() {
            let sign = if negate { -E::one() } else { E::one() };
            let out = |j: usize| 4 * i + j;
            map2(&mut d[out(0)][tile0..][..len], a, b, |a, _| sign * a);
            map2(&mut d[out(1)][tile0..][..len], a, b, |a, b| sign * (a + b));
            map2(&mut d[out(2)][tile0..][..len], a, b, |a, b| sign * (a - b));
            map2(&mut d[out(3)][tile0..][..len], a, b, |_, b| -(sign * b));
        }
    }
}

/// Kernels per task of [`inverse_transform`].
const INVERSE_BLOCK: usize = 64;

/// `dW[p] = Gᵀ P[·][p] G` for every kernel `p` (`dw`: 9 per kernel), with
/// `P` the sum of `parts`, over the threads when `spread`.
fn inverse_transform<E: ConvFloat>(p: &[&[E]], dw: &mut [E], spread: bool) {
    let pairs = dw.len() / 9;
    let block = if spread {
        pairs.div_ceil(threads()).next_multiple_of(INVERSE_BLOCK)
    } else {
        pairs
    }
    .max(1);
    let work = |t: usize, out: &mut [E]| inverse_block(p, pairs, t * block, out);
    #[cfg(feature = "std")]
    if spread {
        use rayon::prelude::*;
        dw.par_chunks_mut(9 * block)
            .enumerate()
            .for_each(|(t, out)| work(t, out));
        return;
    }
    for (t, out) in dw.chunks_mut(9 * block).enumerate() {
        work(t, out);
    }
}

wide_fn! {
    /// [`inverse_transform`] for the kernels `p0..` that `out` holds (`P`
    /// the sum of the parts `p`):
    /// `Gᵀ z G` with `Gᵀ = [[1,½,½,0],[0,½,-½,0],[0,½,½,1]]`, in blocks of
    /// [`INVERSE_BLOCK`] kernels (vector loads of `P`, then 9 stores per
    /// kernel).
    fn inverse_block<E: ConvFloat>(p: &[&[E]], pairs: usize, p0: usize, out: &mut [E]) -> () {
        const B: usize = INVERSE_BLOCK;
        let half = E::from_f64(0.5);
        for (blk, ob) in out.chunks_mut(9 * B).enumerate() {
            let nb = ob.len() / 9;
            let base = p0 + blk * B;
            // z[ξ][lane]
            let mut z = [[E::ZERO; B]; 16];
            for (xi, zx) in z.iter_mut().enumerate() {
                zx[..nb].copy_from_slice(&p[0][xi * pairs + base..][..nb]);
                for part in &p[1..] {
                    for (a, &b) in zx[..nb].iter_mut().zip(&part[xi * pairs + base..][..nb]) {
                        *a = *a + b;
                    }
                }
            }
            // Gᵀ z: rows q0 = z0 + ½(z1 + z2), q1 = ½(z1 - z2),
            // q2 = ½(z1 + z2) + z3, per column j.
            let mut q = [[E::ZERO; B]; 12];
            for j in 0..4 {
                for l in 0..B {
                    let (z0, z1, z2, z3) = (z[j][l], z[4 + j][l], z[8 + j][l], z[12 + j][l]);
                    let m = (z1 + z2) * half;
                    q[j][l] = z0 + m;
                    q[4 + j][l] = (z1 - z2) * half;
                    q[8 + j][l] = m + z3;
                }
            }
            // (Gᵀ z) G: the same along each row, into the 3x3 kernel.
            let mut k = [[E::ZERO; B]; 9];
            for i in 0..3 {
                for l in 0..B {
                    let (a, b, c, d) = (q[4 * i][l], q[4 * i + 1][l], q[4 * i + 2][l], q[4 * i + 3][l]);
                    let m = (b + c) * half;
                    k[3 * i][l] = a + m;
                    k[3 * i + 1][l] = (b - c) * half;
                    k[3 * i + 2][l] = m + d;
                }
            }
            for (l, kernel) in ob.chunks_exact_mut(9).enumerate() {
                for (t, v) in kernel.iter_mut().enumerate() {
                    *v = k[t][l];
                }
            }
        }
    }
}
