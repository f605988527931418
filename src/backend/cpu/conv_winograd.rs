//! Winograd F(2x2, 3x3) convolution for 3x3 kernels with stride 1: the
//! forward pass and the input gradient of a ResNet's body.
//!
//! The output is cut into 2x2 tiles; each reads a 4x4 input patch `d`.
//! With the transforms of Lavin & Gray (2015, "Fast Algorithms for
//! Convolutional Neural Networks"),
//!
//! ```text
//! y_tile = Aᵀ [ Σ_c (G g_{k,c} Gᵀ) ⊙ (Bᵀ d_c B) ] A
//! ```
//!
//! the sum over input channels becomes 16 independent products, one per
//! element `ξ` of the 4x4 transformed tile: `M[ξ] = U[ξ] · V[ξ]` with
//! `U[ξ]` the transformed weights (`C_out × C_in`) and `V[ξ]` the
//! transformed patches (`C_in × tiles`). That is 16 multiply-adds per
//! output tile and channel pair instead of 36: 2.25x fewer than im2col +
//! gemm, for the cost of the three transforms (additions only; the 1/2 of
//! `G` is exact). Images are taken in chunks of about
//! [`TILES_PER_PRODUCT`] tiles (`V` and `M` of a chunk are 2 MiB each for
//! 64 channels): products a few hundred columns wide, chunks enough to
//! split over the threads. The weight gradient, the adjoint of these
//! transforms, is in `conv_winograd_weight.rs`.
//!
//! The input gradient of a stride-1 3x3 convolution with padding `p` is
//! the same convolution of `gy` with the kernels rotated by 180°, their
//! channel axes swapped, and padding `2 - p`: the same code, with
//! `U[ξ]` read transposed.
//!
//! The transforms work on whole rows of tiles: a patch row is split into
//! its even and odd columns first, so every tile's four columns are
//! `e[t], o[t], e[t+1], o[t+1]` and each transform is a handful of
//! contiguous vector loops over the tiles of a row.

use super::{gemm, threads, ConvFloat, Geo};
use crate::backend::cpu::simd::wide_fn;
use alloc::vec::Vec;

/// Both channel counts from which Winograd takes a 3x3 stride-1 call: with
/// fewer, each of the 16 products is too thin for gemm (a ResNet stem
/// with 3 input channels stays on im2col, whose product has `K = 27`).
const MIN_CHANNELS: usize = 16;

/// Tiles (columns of each of the 16 products) per chunk of images: 512
/// measured 4-5% faster on a ResNet-18 step than 256 on 1 and 2 threads,
/// 1024 no faster on 1 and slower on 2 (fewer chunks to split).
const TILES_PER_PRODUCT: usize = 512;

/// Fewest tiles per thread for which a call is split over its images
/// rather than over the 16 products.
const MIN_TILES_PER_THREAD: usize = 64;

/// Whether Winograd takes this forward call (and, the shape rule being
/// symmetric, its input gradient): one group, a 3x3 kernel, stride and
/// dilation 1, padding at most 2 (the input gradient's padding is
/// `2 - p`), and at least [`MIN_CHANNELS`] channels on both sides.
pub(super) fn applies(g: &Geo) -> bool {
    g.groups == 1
        && (g.kh, g.kw, g.sh, g.sw, g.dh, g.dw) == (3, 3, 1, 1, 1, 1)
        && g.ph <= 2
        && g.pw <= 2
        && g.ci >= MIN_CHANNELS
        && g.co >= MIN_CHANNELS
        && g.l > 0
        // The output size of a plain convolution (not a transposed one's
        // with output padding).
        && g.ow == g.w + 2 * g.pw - 2
        && g.l == (g.h + 2 * g.ph - 2) * g.ow
}

/// `y = conv(x, w) (+ b)` for a call [`applies`] accepts.
pub(super) fn forward<E: ConvFloat>(g: &Geo, x: &[E], w: &[E], b: Option<&[E]>) -> Vec<E> {
    let pairs = g.co * g.ci;
    let shape = Shape::for_forward(g);
    // From a kept per-thread buffer: written whole, never zero-filled.
    E::with_scratch2(16 * pairs, |u| {
        transform_weights(w, pairs, false, u);
        convolve(&shape, x, u, false, b)
    })
}

/// `dx = conv input gradient of gy (+ b per input channel)` for a call
/// [`applies`] accepts.
pub(super) fn input_grad<E: ConvFloat>(g: &Geo, w: &[E], gy: &[E], b: Option<&[E]>) -> Vec<E> {
    // U[ξ] is C_out × C_in of the rotated kernels; the product wants
    // C_in × C_out (C_in is this convolution's output): read transposed.
    let pairs = g.co * g.ci;
    let oh = g.l / g.ow;
    let shape = Shape::new(
        g.batch,
        g.co,
        g.ci,
        [oh, g.ow],
        [2 - g.ph, 2 - g.pw],
        [g.h, g.w],
    );
    E::with_scratch2(16 * pairs, |u| {
        transform_weights(w, pairs, true, u);
        convolve(&shape, gy, u, true, b)
    })
}

/// One Winograd convolution: `cin` planes of `h × w` per image in,
/// `cout` planes of `oh × ow` out (`oh = h + 2·ph - 2`).
pub(super) struct Shape {
    pub(super) batch: usize,
    pub(super) cin: usize,
    pub(super) cout: usize,
    pub(super) h: usize,
    pub(super) w: usize,
    ph: usize,
    pw: usize,
    pub(super) oh: usize,
    pub(super) ow: usize,
    /// Tile rows and columns per image.
    pub(super) th: usize,
    pub(super) tw: usize,
}

impl Shape {
    fn new(
        batch: usize,
        cin: usize,
        cout: usize,
        [h, w]: [usize; 2],
        [ph, pw]: [usize; 2],
        [oh, ow]: [usize; 2],
    ) -> Shape {
        debug_assert_eq!((oh, ow), (h + 2 * ph - 2, w + 2 * pw - 2));
        Shape {
            batch,
            cin,
            cout,
            h,
            w,
            ph,
            pw,
            oh,
            ow,
            th: oh.div_ceil(2),
            tw: ow.div_ceil(2),
        }
    }

    /// The forward convolution of a call [`applies`] takes.
    pub(super) fn for_forward(g: &Geo) -> Shape {
        let oh = g.l / g.ow;
        Shape::new(g.batch, g.ci, g.co, [g.h, g.w], [g.ph, g.pw], [oh, g.ow])
    }

    pub(super) fn tiles_per_image(&self) -> usize {
        self.th * self.tw
    }

    /// Images per chunk for about [`TILES_PER_PRODUCT`] tiles.
    pub(super) fn images_per_chunk(&self) -> usize {
        TILES_PER_PRODUCT
            .div_ceil(self.tiles_per_image().max(1))
            .clamp(1, self.batch.max(1))
    }

    /// Images per chunk and whether chunks go over the threads (else the
    /// 16 products of each chunk do, when there are threads).
    pub(super) fn plan(&self) -> (usize, bool) {
        let tpi = self.tiles_per_image().max(1);
        let batch = self.batch.max(1);
        let mut per = self.images_per_chunk();
        let threads = threads();
        if threads > 1
            && batch.div_ceil(per) < threads
            && batch * tpi >= threads * MIN_TILES_PER_THREAD
        {
            per = batch.div_ceil(threads);
        }
        let chunks = batch.div_ceil(per);
        let par_chunks = threads > 1 && chunks >= threads;
        if par_chunks {
            // A multiple of `threads` chunks, so no thread idles at the end.
            per = batch.div_ceil(chunks.next_multiple_of(threads).min(batch));
        }
        (per, par_chunks)
    }
}

/// `U[ξ][k][c] = (G g Gᵀ)[ξ]` for the `pairs` 3x3 kernels `g` of `w`
/// (`C_out × C_in × 3 × 3`, pair `k·C_in + c`), each rotated by 180°
/// when `rotate`, into `u`: 16 matrices of `pairs` elements (every
/// element written).
fn transform_weights<E: ConvFloat>(w: &[E], pairs: usize, rotate: bool, u: &mut [E]) {
    if pairs == 0 {
        return;
    }
    // Each task takes a range of kernels and the 16 pieces of `U` they
    // fill (one per ξ), handed out by splitting every ξ's matrix alike.
    let tasks = if threads() > 1 && pairs >= PAR_WEIGHT_PAIRS {
        threads()
    } else {
        1
    };
    let per = pairs.div_ceil(tasks).next_multiple_of(WEIGHT_BLOCK);
    let mut pieces: Vec<Vec<&mut [E]>> = (0..pairs.div_ceil(per))
        .map(|_| Vec::with_capacity(16))
        .collect();
    for ux in u.chunks_exact_mut(pairs) {
        for (t, piece) in ux.chunks_mut(per).enumerate() {
            pieces[t].push(piece);
        }
    }
    let work = |t: usize, outs: &mut Vec<&mut [E]>| {
        let n = outs[0].len();
        transform_weights_into(&w[9 * t * per..][..9 * n], rotate, outs);
    };
    #[cfg(feature = "std")]
    if tasks > 1 {
        use rayon::prelude::*;
        pieces
            .par_iter_mut()
            .enumerate()
            .for_each(|(t, outs)| work(t, outs));
        return;
    }
    for (t, outs) in pieces.iter_mut().enumerate() {
        work(t, outs);
    }
}

/// Kernels from which [`transform_weights`] splits over the threads (a
/// 256-channel layer has 65536).
const PAR_WEIGHT_PAIRS: usize = 1 << 14;

/// Kernels transformed together by [`transform_weights_into`]: the 9
/// taps of a block are gathered into lanes first, so the arithmetic and
/// the 16 stores run along the block.
const WEIGHT_BLOCK: usize = 64;

wide_fn! {
    /// [`transform_weights`]' body for the kernels of `w`: element `ξ`
    /// of kernel `p` into `u[ξ][p]`.
    fn transform_weights_into<E: ConvFloat>(w: &[E], rotate: bool, u: &mut [&mut [E]]) -> () {
        const B: usize = WEIGHT_BLOCK;
        let half = E::from_f64(0.5);
        for (blk, ks) in w.chunks(9 * B).enumerate() {
            let nb = ks.len() / 9;
            // g[3·i + j][lane]: tap (i, j) of the block's kernels, gathered
            // one tap at a time (a strided read; lane-by-lane stores read
            // back at once as vectors stalled on store forwarding).
            let mut g = [[E::ZERO; B]; 9];
            for (t, gt) in g.iter_mut().enumerate() {
                let src = if rotate { 8 - t } else { t };
                for (lane, v) in gt[..nb].iter_mut().enumerate() {
                    *v = ks[9 * lane + src];
                }
            }
            // G g: rows g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2 of the kernel.
            let mut gg = [[[E::ZERO; B]; 3]; 4];
            for j in 0..3 {
                for l in 0..B {
                    let (a, b, c) = (g[j][l], g[3 + j][l], g[6 + j][l]);
                    gg[0][j][l] = a;
                    gg[1][j][l] = (a + b + c) * half;
                    gg[2][j][l] = (a - b + c) * half;
                    gg[3][j][l] = c;
                }
            }
            // (G g) Gᵀ: the same combination along each row.
            for (i, r) in gg.iter().enumerate() {
                let mut row = [[E::ZERO; B]; 4];
                for l in 0..B {
                    row[0][l] = r[0][l];
                    row[1][l] = (r[0][l] + r[1][l] + r[2][l]) * half;
                    row[2][l] = (r[0][l] - r[1][l] + r[2][l]) * half;
                    row[3][l] = r[2][l];
                }
                for (j, v) in row.iter().enumerate() {
                    u[4 * i + j][blk * B..][..nb].copy_from_slice(&v[..nb]);
                }
            }
        }
    }
}

/// The Winograd convolution of `x` (`batch × cin × h × w`) with the
/// transformed weights `u` (16 matrices `cout × cin`, or `cin × cout`
/// read transposed when `u_t`), plus `b` per output channel.
fn convolve<E: ConvFloat>(s: &Shape, x: &[E], u: &[E], u_t: bool, b: Option<&[E]>) -> Vec<E> {
    let img_out = s.cout * s.oh * s.ow;
    let mut y = super::zeros(s.batch * img_out, threads() > 1);
    if y.is_empty() {
        return y;
    }
    let (per, par_chunks) = s.plan();
    #[cfg(feature = "std")]
    if par_chunks {
        use rayon::prelude::*;
        y.par_chunks_mut(per * img_out)
            .enumerate()
            .for_each(|(c, yc)| chunk(s, x, u, u_t, b, c * per, yc, false));
        return y;
    }
    let _ = par_chunks;
    let spread = threads() > 1;
    for (c, yc) in y.chunks_mut(per * img_out).enumerate() {
        chunk(s, x, u, u_t, b, c * per, yc, spread);
    }
    y
}

/// The output `yc` of images `n0..` (as many as `yc` holds): transform
/// their patches, 16 products (over the threads when `spread`), transform
/// back.
#[allow(clippy::too_many_arguments)]
fn chunk<E: ConvFloat>(
    s: &Shape,
    x: &[E],
    u: &[E],
    u_t: bool,
    b: Option<&[E]>,
    n0: usize,
    yc: &mut [E],
    spread: bool,
) {
    let cnt = yc.len() / (s.cout * s.oh * s.ow);
    let tiles = cnt * s.tiles_per_image();
    let (v_len, m_len) = (16 * s.cin * tiles, 16 * s.cout * tiles);
    let row_len = s.scratch();
    E::with_scratch(v_len + m_len + row_len, |buf| {
        let (v, rest) = buf.split_at_mut(v_len);
        let (m, rows) = rest.split_at_mut(m_len);
        let plane = s.h * s.w;
        let tpi = s.tiles_per_image();
        each_channel(v, s.cin, tiles, rows, spread, |c, dst, scratch| {
            for i in 0..cnt {
                let src = &x[((n0 + i) * s.cin + c) * plane..][..plane];
                transform_patches(s, src, i * tpi, dst, scratch);
            }
        });
        let (pairs, vm) = (s.cout * s.cin, s.cin * tiles);
        each_product(m, spread, |xi, mx| {
            let a = &u[xi * pairs..][..pairs];
            gemm(
                s.cout,
                s.cin,
                tiles,
                a,
                u_t,
                &v[xi * vm..][..vm],
                false,
                mx,
                false,
                true,
            );
        });
        let m = &*m;
        let outputs = |idx: usize, out: &mut [E], scratch: &mut [E]| {
            let (i, k) = (idx / s.cout, idx % s.cout);
            let at = Place {
                ld: tiles,
                row: k,
                rows_per_xi: s.cout,
                tile0: i * s.tiles_per_image(),
            };
            let bias = b.map_or(E::ZERO, |b| b[k]);
            transform_outputs(s, m, at, bias, out, scratch);
        };
        #[cfg(feature = "std")]
        if spread {
            use rayon::prelude::*;
            yc.par_chunks_mut(s.oh * s.ow)
                .enumerate()
                .for_each(|(idx, out)| E::with_scratch(rows.len(), |sc| outputs(idx, out, sc)));
        }
        if !spread || cfg!(not(feature = "std")) {
            for (idx, out) in yc.chunks_exact_mut(s.oh * s.ow).enumerate() {
                outputs(idx, out, rows);
            }
        }
    });
}

/// Fills `buf`, 16 matrices `V[ξ]` of `channels` rows of `tiles`, one
/// channel at a time: `f(c, rows, scratch)` gets `rows[ξ]` = row `c` of
/// `V[ξ]`, so channels can go over the threads (when `spread`, each with
/// a scratch as long as `scratch`; else `scratch` itself).
pub(super) fn each_channel<E: ConvFloat>(
    buf: &mut [E],
    channels: usize,
    tiles: usize,
    scratch: &mut [E],
    spread: bool,
    f: impl Fn(usize, &mut [&mut [E]], &mut [E]) + Sync,
) {
    // Row r of the buffer is row c = r % channels of V[ξ = r / channels]:
    // one list, reordered channel-major, so each channel's 16 rows are
    // adjacent (two allocations per call, not one per channel).
    let mut by_xi: Vec<Option<&mut [E]>> = buf[..16 * channels * tiles]
        .chunks_exact_mut(tiles)
        .map(Some)
        .collect();
    let mut rows: Vec<&mut [E]> = Vec::with_capacity(by_xi.len());
    for c in 0..channels {
        for xi in 0..16 {
            rows.extend(by_xi[xi * channels + c].take());
        }
    }
    #[cfg(feature = "std")]
    if spread {
        use rayon::prelude::*;
        let len = scratch.len();
        rows.par_chunks_mut(16)
            .enumerate()
            .for_each(|(c, dst)| E::with_scratch(len, |sc| f(c, dst, sc)));
        return;
    }
    let _ = spread;
    for (c, dst) in rows.chunks_mut(16).enumerate() {
        f(c, dst, scratch);
    }
}

/// `f(ξ, out[ξ])` for the 16 equal parts of `out`, over the threads when
/// `spread`.
pub(super) fn each_product<E: ConvFloat>(
    out: &mut [E],
    spread: bool,
    f: impl Fn(usize, &mut [E]) + Sync,
) {
    let part = out.len() / 16;
    #[cfg(feature = "std")]
    if spread {
        use rayon::prelude::*;
        out.par_chunks_mut(part)
            .enumerate()
            .for_each(|(xi, o)| f(xi, o));
        return;
    }
    let _ = spread;
    for (xi, o) in out.chunks_exact_mut(part).enumerate() {
        f(xi, o);
    }
}

/// Where one plane's tiles sit in `V` or `M` (16 matrices of
/// `rows_per_xi` rows of `ld` tiles): row `row`, from column `tile0`.
#[derive(Copy, Clone)]
struct Place {
    ld: usize,
    row: usize,
    rows_per_xi: usize,
    tile0: usize,
}

impl Place {
    /// Offset of element `ξ` of tile row `ty`'s first tile.
    fn at(&self, xi: usize, ty: usize, tw: usize) -> usize {
        (xi * self.rows_per_xi + self.row) * self.ld + self.tile0 + ty * tw
    }
}

impl Shape {
    /// Scratch elements the plane transforms need ([`transform_patches`],
    /// [`transform_outputs`], the weight gradient's output-gradient
    /// transform).
    pub(super) fn scratch(&self) -> usize {
        let n = self.tw + 1;
        let patches = (4 * (self.th + 1) + 8 * self.th + 2) * n;
        let outputs = 12 * self.th * self.tw;
        let grads = 8 * self.th * self.tw + 2 * self.tw;
        patches.max(outputs).max(grads)
    }
}

/// `e[q] = src[2q]`, `o[q] = src[2q + 1]` (`src` has `2·len(e)` elements),
/// in blocks of 16 pairs so that the compiler turns it into shuffles.
#[inline(always)]
pub(super) fn split_even_odd<E: Copy>(src: &[E], e: &mut [E], o: &mut [E]) {
    let (src, e, o) = (&src[..2 * e.len()], &mut e[..], &mut o[..src.len() / 2]);
    let mut blocks = src
        .chunks_exact(32)
        .zip(e.chunks_exact_mut(16).zip(o.chunks_exact_mut(16)));
    for (sc, (ec, oc)) in &mut blocks {
        for q in 0..16 {
            ec[q] = sc[2 * q];
            oc[q] = sc[2 * q + 1];
        }
    }
    let done = src.len() / 32 * 16;
    for q in done..e.len() {
        e[q] = src[2 * q];
        o[q] = src[2 * q + 1];
    }
}

/// `out[2q] = a[q]`, `out[2q + 1] = b[q]` for the pairs `out` holds, in
/// blocks of 16 pairs (shuffles).
#[inline(always)]
fn interleave<E: Copy>(a: &[E], b: &[E], out: &mut [E]) {
    let pairs = out.len() / 2;
    let (a, b) = (&a[..pairs], &b[..pairs]);
    let mut blocks = out
        .chunks_exact_mut(32)
        .zip(a.chunks_exact(16).zip(b.chunks_exact(16)));
    for (oc, (ac, bc)) in &mut blocks {
        for q in 0..16 {
            oc[2 * q] = ac[q];
            oc[2 * q + 1] = bc[q];
        }
    }
    for q in pairs / 16 * 16..pairs {
        out[2 * q] = a[q];
        out[2 * q + 1] = b[q];
    }
}

/// `out[t] = f(a[t], b[t], c[t])` over `out`.
#[inline(always)]
fn map3<E: Copy>(out: &mut [E], a: &[E], b: &[E], c: &[E], f: impl Fn(E, E, E) -> E) {
    for (o, ((&a, &b), &c)) in out.iter_mut().zip(a.iter().zip(b).zip(c)) {
        *o = f(a, b, c);
    }
}

/// `out[t] = f(a[t], b[t])` over `out`.
#[inline(always)]
pub(super) fn map2<E: Copy>(out: &mut [E], a: &[E], b: &[E], f: impl Fn(E, E) -> E) {
    for (o, (&a, &b)) in out.iter_mut().zip(a.iter().zip(b)) {
        *o = f(a, b);
    }
}

wide_fn! {
    /// `V[ξ]` of every tile of one input plane, into `v[ξ]` from column
    /// `tile0`: `Bᵀ d B` with
    /// `Bᵀ = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]]`, `d` the 4x4
    /// zero-padded patch at `(2·ty - ph, 2·tx - pw)`; `rows` holds
    /// [`Shape::scratch`] elements.
    ///
    /// The padded plane is split by row and column parity into four
    /// `(th + 1) × (tw + 1)` planes, so that row `r` of every tile's patch
    /// is one of them shifted by whole rows: `Bᵀ` down the columns is then
    /// one loop over all tiles of the plane at once, and only `B` along
    /// the rows (which drops the last column of each row) goes row by row.
    pub(super) fn transform_patches<E: ConvFloat>(s: &Shape, plane: &[E], tile0: usize, v: &mut [&mut [E]], rows: &mut [E]) -> () {
        let n = s.tw + 1;
        let sub = (s.th + 1) * n;
        let len = s.th * n;
        let (subs, rest) = rows.split_at_mut(4 * sub);
        let (z, padded) = rest.split_at_mut(8 * len);
        let padded = &mut padded[..2 * n];
        // A padded row: `pw` zeros, the input row, zeros to 2n (only the
        // middle changes from row to row).
        padded.fill(E::ZERO);
        for yp in 0..2 * (s.th + 1) {
            let (par, q) = (yp % 2, yp / 2);
            let (even, odd) = subs[2 * par * sub..][..2 * sub].split_at_mut(sub);
            let (e, o) = (&mut even[q * n..][..n], &mut odd[q * n..][..n]);
            let y = yp as isize - s.ph as isize;
            if y < 0 || y as usize >= s.h {
                e.fill(E::ZERO);
                o.fill(E::ZERO);
                continue;
            }
            padded[s.pw..][..s.w].copy_from_slice(&plane[y as usize * s.w..][..s.w]);
            split_even_odd(padded, e, o);
        }
        // Bᵀ down the columns, for both column parities: with rows
        // d0 = even[ty], d1 = odd[ty], d2 = even[ty+1], d3 = odd[ty+1],
        // z0 = d0 - d2, z1 = d1 + d2, z2 = d2 - d1, z3 = d1 - d3.
        for col in 0..2 {
            let even = &subs[col * sub..][..sub];
            let odd = &subs[(2 + col) * sub..][..sub];
            let (d0, d2) = (&even[..len], &even[n..][..len]);
            let (d1, d3) = (&odd[..len], &odd[n..][..len]);
            let zc = &mut z[col * 4 * len..][..4 * len];
            let (z01, z23) = zc.split_at_mut(2 * len);
            let (z0, z1) = z01.split_at_mut(len);
            let (z2, z3) = z23.split_at_mut(len);
            map2(z0, d0, d2, |a, b| a - b);
            map2(z1, d1, d2, |a, b| a + b);
            map2(z2, d2, d1, |a, b| a - b);
            map2(z3, d1, d3, |a, b| a - b);
        }
        // B along the rows: columns e[t], o[t], e[t+1], o[t+1] of each z.
        let tw = s.tw;
        for r in 0..4 {
            let (ze, zo) = (&z[r * len..][..len], &z[(4 + r) * len..][..len]);
            for ty in 0..s.th {
                let (e, o) = (&ze[ty * n..][..n], &zo[ty * n..][..n]);
                let (e0, e1, o0, o1) = (&e[..tw], &e[1..], &o[..tw], &o[1..]);
                let t0 = tile0 + ty * tw;
                map2(&mut v[4 * r][t0..][..tw], e0, e1, |a, b| a - b);
                map2(&mut v[4 * r + 1][t0..][..tw], o0, e1, |a, b| a + b);
                map2(&mut v[4 * r + 2][t0..][..tw], e1, o0, |a, b| a - b);
                map2(&mut v[4 * r + 3][t0..][..tw], o0, o1, |a, b| a - b);
            }
        }
    }
}

wide_fn! {
    /// One output plane from `M`: `Aᵀ m A + bias` per tile with
    /// `Aᵀ = [[1,1,1,0],[0,1,-1,-1]]`, clipped at the plane's edges;
    /// `rows` holds [`Shape::scratch`] elements. A plane's tiles are
    /// contiguous in `M`, so both products by `A` are loops over all of
    /// them; only the interleaving into output rows goes row by row.
    fn transform_outputs<E: ConvFloat>(s: &Shape, m: &[E], at: Place, bias: E, out: &mut [E], rows: &mut [E]) -> () {
        let (tw, len) = (s.tw, s.th * s.tw);
        let (sums, ys) = rows[..12 * len].split_at_mut(8 * len);
        let mrow = |xi: usize| &m[at.at(xi, 0, tw)..][..len];
        // Aᵀ down the columns: s0_j = m0j + m1j + m2j, s1_j = m1j - m2j - m3j.
        for j in 0..4 {
            let (a, b) = sums[2 * j * len..][..2 * len].split_at_mut(len);
            let (m0, m1, m2, m3) = (mrow(j), mrow(4 + j), mrow(8 + j), mrow(12 + j));
            map3(a, m0, m1, m2, |x, y, z| x + y + z);
            map3(b, m1, m2, m3, |x, y, z| x - y - z);
        }
        // A along the rows: y_i0 = s_i0 + s_i1 + s_i2 (+ bias),
        // y_i1 = s_i1 - s_i2 - s_i3 (+ bias).
        let sj = |i: usize, j: usize| &sums[(2 * j + i) * len..][..len];
        for i in 0..2 {
            let (y0, y1) = ys[2 * i * len..][..2 * len].split_at_mut(len);
            map3(y0, sj(i, 0), sj(i, 1), sj(i, 2), |x, y, z| x + y + z + bias);
            map3(y1, sj(i, 1), sj(i, 2), sj(i, 3), |x, y, z| x - y - z + bias);
        }
        // Interleaved into output rows 2ty + i, clipped at the edges.
        for ty in 0..s.th {
            for i in 0..2 {
                let oy = 2 * ty + i;
                if oy >= s.oh {
                    break;
                }
                let y0 = &ys[(2 * i) * len + ty * tw..][..tw];
                let y1 = &ys[(2 * i + 1) * len + ty * tw..][..tw];
                let dst = &mut out[oy * s.ow..][..s.ow];
                interleave(y0, y1, dst);
                if s.ow % 2 == 1 {
                    dst[s.ow - 1] = y0[tw - 1];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::kernels::conv::ConvParams;

    fn params(batch: usize, ci: usize, co: usize, hw: [usize; 2], pad: [usize; 2]) -> ConvParams {
        ConvParams::conv2d(batch, ci, co, 1, hw, [3, 3], [1, 1], pad, [1, 1])
    }

    // The values, on every path and thread count, are checked against
    // naive loops in tests/ops/conv.rs (`kernel_winograd_*`).

    /// Kernels too thin, strided, dilated, grouped or padded past 2 stay
    /// on im2col.
    #[test]
    fn only_stride_one_3x3_with_enough_channels() {
        let base = params(2, 16, 16, [8, 8], [1, 1]);
        assert!(applies(&Geo::new(&base)));
        let thin = params(2, 3, 64, [8, 8], [1, 1]);
        assert!(!applies(&Geo::new(&thin)));
        let strided = ConvParams {
            stride: [2, 2],
            ..base
        };
        assert!(!applies(&Geo::new(&strided)));
        let dilated = ConvParams {
            dilation: [2, 2],
            padding: [2, 2],
            ..base
        };
        assert!(!applies(&Geo::new(&dilated)));
        let grouped = ConvParams { groups: 2, ..base };
        assert!(!applies(&Geo::new(&grouped)));
        let wide_pad = params(2, 16, 16, [8, 8], [3, 3]);
        assert!(!applies(&Geo::new(&wide_pad)));
        let five = ConvParams {
            kernel: [5, 5],
            padding: [2, 2],
            ..base
        };
        assert!(!applies(&Geo::new(&five)));
    }
}
