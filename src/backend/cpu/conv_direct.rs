//! Direct convolution (no im2col, no gemm) for few channels and stride 1.
//!
//! For LeNet-sized layers (`C_in·KH·KW <= 160`, `C_out <= 32`) a gemm is
//! all packing and edge kernels. Here each image is laid out "wide": its
//! zero-padded planes have rows of `Wp = W + 2·PW`, and an output pixel
//! `(o, j)` sits at `o·Wp + j` of a plane with the same row length (the
//! `Wp - OW` columns past each output row are computed and thrown away).
//! A kernel tap `(c, ki, kj)` is then one flat offset
//! `c·plane + ki·DH·Wp + kj·DW`, and every direction is the same loop
//! ([`correlate`]): `out[k][p] = Σ_t wt[t][k] · src[p + off[t]]`, blocked
//! as 16 pixels × 4 output planes held in registers, vectorised along `p`.
//!
//! - Forward: `src` = the padded input, taps over `(c_in, ki, kj)`.
//! - Input gradient: `src` = the wide `gy` (garbage columns zero) behind a
//!   margin of the largest tap offset, taps over `(c_out, ki, kj)` at
//!   `margin - off`, giving the padded input gradient.
//! - Weight gradient: `gw[o][t] = Σ_p gy_wide[o][p] · x_pad[p + off[t]]`.

use super::{ConvFloat, Geo};
use alloc::vec::Vec;

/// Output pixels per register block.
const B: usize = 16;
/// Output planes per register block.
const CB: usize = 4;

/// Whether the direct kernel takes this call: one group, stride 1, few
/// channels (measured faster than im2col + gemm there).
pub(super) fn applies(g: &Geo) -> bool {
    g.groups == 1
        && g.sh == 1
        && g.sw == 1
        && g.kc <= 160
        && g.co <= 32
        && g.co * g.kh * g.kw <= 800
        && g.l > 0
}

/// Sizes of the wide layout of one call.
struct Wide {
    /// Padded row length.
    wp: usize,
    /// Padded plane size `Hp·Wp`.
    plane: usize,
    /// Output positions computed (`(OH-1)·Wp + OW`, rounded up to `B`).
    len: usize,
    /// Largest tap offset inside a plane.
    max_off: usize,
}

impl Wide {
    fn new(g: &Geo) -> Wide {
        let wp = g.w + 2 * g.pw;
        let hp = g.h + 2 * g.ph;
        let oh = g.l / g.ow;
        Wide {
            wp,
            plane: hp * wp,
            len: ((oh - 1) * wp + g.ow).next_multiple_of(B),
            max_off: (g.kh - 1) * g.dh * wp + (g.kw - 1) * g.dw,
        }
    }

    /// Stride of a padded input plane: `B` zeros of slack past the plane,
    /// so a block of the last output positions reads inside.
    fn xs(&self) -> usize {
        self.plane + B
    }

    /// Offsets of the taps `(ki, kj)` inside a plane, row-major.
    fn taps(&self, g: &Geo) -> impl Iterator<Item = usize> + '_ {
        let (kh, kw, dh, dw, wp) = (g.kh, g.kw, g.dh, g.dw, self.wp);
        (0..kh).flat_map(move |ki| (0..kw).map(move |kj| ki * dh * wp + kj * dw))
    }

    /// Offsets of the taps `(c_in, ki, kj)` in the padded input planes.
    fn input_taps(&self, g: &Geo) -> Vec<usize> {
        let per: Vec<usize> = self.taps(g).collect();
        (0..g.ci)
            .flat_map(|c| per.iter().map(move |&o| c * self.xs() + o))
            .collect()
    }

    /// `dst` (`cnt` planes of stride `xs()`, zeroed) = the padded `src`
    /// planes.
    fn pad_input<E: ConvFloat>(&self, g: &Geo, src: &[E], cnt: usize, dst: &mut [E]) {
        dst[..cnt * self.xs()].fill(E::ZERO);
        for (plane, d) in src
            .chunks_exact(g.hw)
            .take(cnt)
            .zip(dst.chunks_exact_mut(self.xs()))
        {
            for (r, row) in plane.chunks_exact(g.w).enumerate() {
                d[(r + g.ph) * self.wp + g.pw..][..g.w].copy_from_slice(row);
            }
        }
    }

    /// `dst` (`co` planes of stride `margin + len + B`) = the wide `gy` of
    /// one image after `margin` zeros, garbage columns and tail zero.
    fn widen_gy<E: ConvFloat>(&self, g: &Geo, gy: &[E], margin: usize, dst: &mut [E]) {
        let stride = margin + self.len + B;
        dst[..g.co * stride].fill(E::ZERO);
        for (plane, d) in gy.chunks_exact(g.l).zip(dst.chunks_exact_mut(stride)) {
            for (o, row) in plane.chunks_exact(g.ow).enumerate() {
                d[margin + o * self.wp..][..g.ow].copy_from_slice(row);
            }
        }
    }
}

super::super::simd::wide_fn! {
    /// `out[k][p] = Σ_t wt[t·nk + k] · src[p + offs[t]]` for `nk` (a
    /// multiple of `CB`) planes of `len` (a multiple of `B`) positions.
    fn correlate<E: ConvFloat>(src: &[E], offs: &[usize], wt: &[E], nk: usize, len: usize, out: &mut [E]) -> () {
        for kb in (0..nk).step_by(CB) {
            for p0 in (0..len).step_by(B) {
                let mut acc = [[E::ZERO; B]; CB];
                for (t, &off) in offs.iter().enumerate() {
                    let xs: &[E; B] = src[off + p0..][..B].try_into().expect("B elements");
                    let ws: &[E; CB] = wt[t * nk + kb..][..CB].try_into().expect("CB elements");
                    for (a, &wv) in acc.iter_mut().zip(ws) {
                        for (a, &xv) in a.iter_mut().zip(xs) {
                            *a = E::madd::<FMA>(wv, xv, *a);
                        }
                    }
                }
                for (k, a) in acc.iter().enumerate() {
                    out[(kb + k) * len + p0..][..B].copy_from_slice(a);
                }
            }
        }
    }
}

super::super::simd::wide_fn! {
    /// `gw[o·nt + t] += Σ_p gy[o·gs + p] · x[p + offs[t]]` over `p < len`.
    fn wgrad_dots<E: ConvFloat>(gy: &[E], gs: usize, co: usize, x: &[E], offs: &[usize], len: usize, gw: &mut [E]) -> () {
        let nt = offs.len();
        for o in 0..co {
            let gyo = &gy[o * gs..][..len];
            for (t, &off) in offs.iter().enumerate() {
                let xo = &x[off..][..len];
                let mut acc = [E::ZERO; B];
                for (gc, xc) in gyo.chunks_exact(B).zip(xo.chunks_exact(B)) {
                    for ((a, &gv), &xv) in acc.iter_mut().zip(gc).zip(xc) {
                        *a = E::madd::<FMA>(gv, xv, *a);
                    }
                }
                gw[o * nt + t] = gw[o * nt + t] + super::plane_sum(&acc);
            }
        }
    }
}

/// `y = conv(x, w) (+ b)` by the direct kernel.
pub(super) fn forward<E: ConvFloat>(g: &Geo, x: &[E], w: &[E], b: Option<&[E]>) -> Vec<E> {
    let wd = Wide::new(g);
    let nk = g.co.next_multiple_of(CB);
    // Taps over (c_in, ki, kj), the weights transposed to `[tap][c_out]`.
    let taps = wd.input_taps(g);
    let mut wt = alloc::vec![E::ZERO; g.kc * nk];
    for (o, row) in w.chunks_exact(g.kc).enumerate() {
        for (t, &v) in row.iter().enumerate() {
            wt[t * nk + o] = v;
        }
    }
    let img_in = g.ci * g.hw;
    let per_image = |n: usize, y: &mut [E]| {
        let xlen = g.ci * wd.xs();
        E::with_scratch(xlen + nk * wd.len, |buf| {
            let (xp, out) = buf.split_at_mut(xlen);
            wd.pad_input(g, &x[n * img_in..][..img_in], g.ci, xp);
            correlate(xp, &taps, &wt, nk, wd.len, out);
            for (o, yo) in y.chunks_exact_mut(g.l).enumerate() {
                let bias = b.map_or(E::ZERO, |b| b[o]);
                let src = &out[o * wd.len..];
                for (r, yr) in yo.chunks_exact_mut(g.ow).enumerate() {
                    for (d, &s) in yr.iter_mut().zip(&src[r * wd.wp..][..g.ow]) {
                        *d = s + bias;
                    }
                }
            }
        });
    };
    let mut y = alloc::vec![E::ZERO; g.batch * g.co * g.l];
    for_images(g, &mut y, g.co * g.l, per_image);
    y
}

/// `dx = conv input gradient of gy (+ b per input channel)` by the direct
/// kernel.
pub(super) fn input_grad<E: ConvFloat>(g: &Geo, w: &[E], gy: &[E], b: Option<&[E]>) -> Vec<E> {
    let wd = Wide::new(g);
    let nk = g.ci.next_multiple_of(CB);
    let margin = wd.max_off;
    let stride = margin + wd.len + B;
    // Positions of the padded input gradient computed.
    let out_len = wd.plane.next_multiple_of(B);
    // Taps over (c_out, ki, kj): gx_pad[q] reads gy_wide[q - off].
    let per: Vec<usize> = wd.taps(g).collect();
    let taps: Vec<usize> = (0..g.co)
        .flat_map(|o| per.iter().map(move |&off| o * stride + margin - off))
        .collect();
    let kk = g.kh * g.kw;
    let mut wt = alloc::vec![E::ZERO; g.co * kk * nk];
    for o in 0..g.co {
        for c in 0..g.ci {
            for k in 0..kk {
                wt[(o * kk + k) * nk + c] = w[(o * g.ci + c) * kk + k];
            }
        }
    }
    // The reads of the last block stay inside: `margin + q - off` with
    // `q < out_len <= plane + B` is below `stride`... plus the slack.
    let gy_len = g.co * stride + out_len;
    let per_image = |n: usize, gx: &mut [E]| {
        E::with_scratch(gy_len + nk * out_len, |buf| {
            let (gw, out) = buf.split_at_mut(gy_len);
            wd.widen_gy(g, &gy[n * g.co * g.l..][..g.co * g.l], margin, gw);
            gw[g.co * stride..].fill(E::ZERO);
            correlate(gw, &taps, &wt, nk, out_len, out);
            for (c, gc) in gx.chunks_exact_mut(g.hw).enumerate() {
                let bias = b.map_or(E::ZERO, |b| b[c]);
                let src = &out[c * out_len..];
                for (r, gr) in gc.chunks_exact_mut(g.w).enumerate() {
                    let s = &src[(r + g.ph) * wd.wp + g.pw..][..g.w];
                    for (d, &v) in gr.iter_mut().zip(s) {
                        *d = v + bias;
                    }
                }
            }
        });
    };
    let mut gx = alloc::vec![E::ZERO; g.batch * g.ci * g.hw];
    for_images(g, &mut gx, g.ci * g.hw, per_image);
    gx
}

/// `dW`, summed over the batch, by the direct kernel.
pub(super) fn weight_grad<E: ConvFloat>(g: &Geo, x: &[E], gy: &[E]) -> Vec<E> {
    let wd = Wide::new(g);
    let taps = wd.input_taps(g);
    let n = g.co * g.kc;
    let img_in = g.ci * g.hw;
    let gs = wd.len + B;
    let part = |range: core::ops::Range<usize>| -> Vec<E> {
        let mut gw = alloc::vec![E::ZERO; n];
        let xlen = g.ci * wd.xs();
        E::with_scratch(xlen + g.co * gs, |buf| {
            let (xp, gyw) = buf.split_at_mut(xlen);
            for i in range {
                wd.pad_input(g, &x[i * img_in..][..img_in], g.ci, xp);
                wd.widen_gy(g, &gy[i * g.co * g.l..][..g.co * g.l], 0, gyw);
                wgrad_dots(gyw, gs, g.co, xp, &taps, wd.len, &mut gw);
            }
        });
        gw
    };
    #[cfg(feature = "std")]
    {
        let threads = super::threads().min(g.batch);
        if threads > 1 && g.work() >= super::PAR_WORK {
            use rayon::prelude::*;
            let per = g.batch.div_ceil(threads);
            let parts: Vec<Vec<E>> = (0..threads)
                .into_par_iter()
                .map(|t| part(t * per..((t + 1) * per).min(g.batch)))
                .collect();
            let mut gw = alloc::vec![E::ZERO; n];
            for p in parts {
                for (a, v) in gw.iter_mut().zip(p) {
                    *a = *a + v;
                }
            }
            return gw;
        }
    }
    part(0..g.batch)
}

/// `f(n, out[n])` over the images' slices of `img` elements, split over
/// threads when the call is large.
fn for_images<E: ConvFloat>(
    g: &Geo,
    out: &mut [E],
    img: usize,
    f: impl Fn(usize, &mut [E]) + Sync,
) {
    #[cfg(feature = "std")]
    if super::threads() > 1 && g.batch > 1 && g.work() >= super::PAR_WORK {
        use rayon::prelude::*;
        out.par_chunks_mut(img)
            .enumerate()
            .for_each(|(n, o)| f(n, o));
        return;
    }
    let _ = g;
    for (n, o) in out.chunks_exact_mut(img).enumerate() {
        f(n, o);
    }
}
