//! CUDA kernels for broadcasting [`BinaryOp`]s: operands are read through
//! broadcast strides (0 on broadcast axes), gradients are formed in output
//! space and summed back to each operand's dims with [`ReduceKernel::sum_to`].

use super::compile::KernelSource;
use super::elem_args::{dims_c, Dims6};
use super::{launch, Cuda, CudaStorage};
use crate::backend::cpu::strides::broadcast;
use crate::dtype::Dtype;
use crate::ops::binary::{BinaryKernel, BinaryOp};
use crate::ops::reduce::ReduceKernel;
use crate::ops::unary::{UnaryKernel, UnaryOp};
use cudarc::driver::PushKernelArg;

/// `binary`, `binary_same` (equal dims), `binary_grad` (one side's partial
/// times `gy`, in output space) and `add_assign`.
pub const BINARY: KernelSource = KernelSource {
    name: "binary",
    code: concat!(
        dims_c!(),
        r#"
__device__ __forceinline__ T bin_f(int op, T a, T b) {
    switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return a >= b ? a : b;
    default: return a <= b ? a : b;
    }
}
/* d f / d a (side 0) or d f / d b (side 1). */
__device__ __forceinline__ T bin_df(int op, int side, T a, T b) {
    switch (op) {
    case 0: return (T)1;
    case 1: return side == 0 ? (T)1 : (T)-1;
    case 2: return side == 0 ? b : a;
    case 3: return side == 0 ? (T)1 / b : -a / (b * b);
    case 4: { bool pick_a = a >= b; return (side == 0) == pick_a ? (T)1 : (T)0; }
    default: { bool pick_a = a <= b; return (side == 0) == pick_a ? (T)1 : (T)0; }
    }
}
extern "C" __global__ void binary(int op, const T *a, const T *b, T *out, Dims6 dims, Dims6 sa, Dims6 sb, int rank, usize_t n) {
    GRID_STRIDE(i, n) {
        out[i] = bin_f(op, a[offset_of(i, dims, sa, rank)], b[offset_of(i, dims, sb, rank)]);
    }
}
extern "C" __global__ void binary_same(int op, const T *a, const T *b, T *out, usize_t n) {
    GRID_STRIDE(i, n) { out[i] = bin_f(op, a[i], b[i]); }
}
extern "C" __global__ void binary_grad(int op, int side, const T *a, const T *b, const T *gy, T *g, Dims6 dims, Dims6 sa, Dims6 sb, int rank, usize_t n) {
    GRID_STRIDE(i, n) {
        g[i] = gy[i] * bin_df(op, side, a[offset_of(i, dims, sa, rank)], b[offset_of(i, dims, sb, rank)]);
    }
}
extern "C" __global__ void add_assign(T *acc, const T *x, usize_t n) {
    GRID_STRIDE(i, n) { acc[i] += x[i]; }
}
"#
    ),
    elems: &["f32", "f64"],
};

fn op_code(op: BinaryOp) -> i32 {
    match op {
        BinaryOp::Add => 0,
        BinaryOp::Sub => 1,
        BinaryOp::Mul => 2,
        BinaryOp::Div => 3,
        BinaryOp::Maximum => 4,
        BinaryOp::Minimum => 5,
    }
}

/// Broadcast strides of `d` against `od`, as kernel arguments.
fn strides_of(d: &[usize], od: &[usize]) -> Dims6 {
    let s = broadcast(d, od);
    Dims6::from_slice(&s[..od.len()], 0)
}

fn check(what: &str, len: usize, d: &[usize]) {
    assert_eq!(
        len,
        d.iter().product::<usize>(),
        "{what}: buffer of {len} elements for dims {d:?}"
    );
}

/// `gy · ∂f/∂(side)` in output space (side 0: `a`, 1: `b`).
#[allow(clippy::too_many_arguments)]
fn binary_partial<E: Dtype>(
    dev: &Cuda,
    op: BinaryOp,
    side: i32,
    a: &CudaStorage<E>,
    ad: &[usize],
    b: &CudaStorage<E>,
    bd: &[usize],
    od: &[usize],
    gy: &CudaStorage<E>,
) -> CudaStorage<E> {
    let n = gy.len();
    let mut g = dev.alloc::<E>(n);
    if n == 0 {
        return CudaStorage::new(g);
    }
    let (c, r) = (op_code(op), od.len() as i32);
    let (dims, sa, sb) = (
        Dims6::from_slice(od, 1),
        strides_of(ad, od),
        strides_of(bd, od),
    );
    let n64 = n as u64;
    let f = dev.kernel(&BINARY, E::NAME, "binary_grad");
    let mut l = dev.stream().launch_builder(&f);
    l.arg(&c)
        .arg(&side)
        .arg(a.slice())
        .arg(b.slice())
        .arg(gy.slice())
        .arg(&mut g)
        .arg(&dims)
        .arg(&sa)
        .arg(&sb)
        .arg(&r)
        .arg(&n64);
    // SAFETY: the kernel's arguments are (int, int, const T*, const T*,
    // const T*, T*, Dims6, Dims6, Dims6, int, usize_t); it writes g[i]
    // and reads gy[i] for i < n = numel(od), and reads a and b at their
    // broadcast offsets, which are below numel(ad) and numel(bd)
    // (checked lengths of a and b).
    unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| dev.fail("binary_backward", e));
    CudaStorage::new(g)
}

impl<E: Dtype> BinaryKernel<E> for Cuda {
    fn binary(
        &self,
        op: BinaryOp,
        a: &CudaStorage<E>,
        ad: &[usize],
        b: &CudaStorage<E>,
        bd: &[usize],
        od: &[usize],
    ) -> CudaStorage<E> {
        check("binary", a.len(), ad);
        check("binary", b.len(), bd);
        let n: usize = od.iter().product();
        let mut out = self.alloc::<E>(n);
        if n == 0 {
            return CudaStorage::new(out);
        }
        let c = op_code(op);
        let n64 = n as u64;
        if ad == od && bd == od {
            let f = self.kernel(&BINARY, E::NAME, "binary_same");
            let mut l = self.stream().launch_builder(&f);
            l.arg(&c)
                .arg(a.slice())
                .arg(b.slice())
                .arg(&mut out)
                .arg(&n64);
            // SAFETY: (int, const T*, const T*, T*, usize_t); a, b and out
            // all hold n elements and only index i < n is touched.
            unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| self.fail("binary", e));
            return CudaStorage::new(out);
        }
        let r = od.len() as i32;
        let (dims, sa, sb) = (
            Dims6::from_slice(od, 1),
            strides_of(ad, od),
            strides_of(bd, od),
        );
        let f = self.kernel(&BINARY, E::NAME, "binary");
        let mut l = self.stream().launch_builder(&f);
        l.arg(&c)
            .arg(a.slice())
            .arg(b.slice())
            .arg(&mut out)
            .arg(&dims)
            .arg(&sa)
            .arg(&sb)
            .arg(&r)
            .arg(&n64);
        // SAFETY: (int, const T*, const T*, T*, Dims6, Dims6, Dims6, int,
        // usize_t); out[i] for i < n = numel(od); a and b are read at their
        // broadcast offsets, below their (checked) lengths.
        unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| self.fail("binary", e));
        CudaStorage::new(out)
    }

    fn binary_backward(
        &self,
        op: BinaryOp,
        a: Option<&CudaStorage<E>>,
        ad: &[usize],
        b: Option<&CudaStorage<E>>,
        bd: &[usize],
        od: &[usize],
        gy: &CudaStorage<E>,
        want: (bool, bool),
    ) -> (Option<CudaStorage<E>>, Option<CudaStorage<E>>) {
        check("binary_backward", gy.len(), od);
        // As the CPU: add (both sides) and the left side of sub pass the
        // gradient through, shared when no reduction is needed.
        let pass = |d: &[usize]| {
            if d == od {
                gy.clone()
            } else {
                self.sum_to(gy, od, d)
            }
        };
        match op {
            BinaryOp::Add => return (want.0.then(|| pass(ad)), want.1.then(|| pass(bd))),
            BinaryOp::Sub => {
                let gb = want.1.then(|| {
                    let neg = self.unary(UnaryOp::Neg, gy);
                    if bd == od {
                        neg
                    } else {
                        self.sum_to(&neg, od, bd)
                    }
                });
                return (want.0.then(|| pass(ad)), gb);
            }
            _ => {}
        }
        let (a, b) = match (a, b) {
            (Some(a), Some(b)) => (a, b),
            _ => panic!("binary_backward: {op:?} needs both operands"),
        };
        check("binary_backward", a.len(), ad);
        check("binary_backward", b.len(), bd);
        let reduce = |g: CudaStorage<E>, d: &[usize]| {
            if d == od {
                g
            } else {
                self.sum_to(&g, od, d)
            }
        };
        let ga = want
            .0
            .then(|| reduce(binary_partial(self, op, 0, a, ad, b, bd, od, gy), ad));
        let gb = want
            .1
            .then(|| reduce(binary_partial(self, op, 1, a, ad, b, bd, od, gy), bd));
        (ga, gb)
    }

    fn add_assign(&self, acc: &mut CudaStorage<E>, x: &CudaStorage<E>) {
        assert_eq!(acc.len(), x.len(), "add_assign: length mismatch");
        let n = x.len();
        if n == 0 {
            return;
        }
        let n64 = n as u64;
        let f = self.kernel(&BINARY, E::NAME, "add_assign");
        let stream = self.stream().clone();
        let dst = acc.make_mut(&stream);
        let mut l = stream.launch_builder(&f);
        l.arg(dst).arg(x.slice()).arg(&n64);
        // SAFETY: (T*, const T*, usize_t); acc and x both hold n elements.
        // `make_mut` gave acc its own buffer, so no other handle sees the
        // write; when acc and x were the same buffer, make_mut copied acc.
        unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| self.fail("add_assign", e));
    }
}
