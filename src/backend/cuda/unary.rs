//! CUDA kernels for [`UnaryOp`]: one grid-stride pass, the op chosen by a
//! `switch` on its code (uniform across a launch, so no divergence).

use super::compile::KernelSource;
use super::{launch, Cuda, CudaStorage};
use crate::dtype::Dtype;
use crate::ops::unary::{UnaryKernel, UnaryOp};
use cudarc::driver::PushKernelArg;

/// `unary(op, a, b, x, y, n)` and `unary_backward(op, a, b, saved, gy, gx, n)`.
pub const UNARY: KernelSource = KernelSource {
    name: "unary",
    code: r#"
__device__ __forceinline__ T sigmoid_(T x) {
    T e = exp(-fabs(x));
    T s = (T)1 / ((T)1 + e);
    return x >= (T)0 ? s : e * s;
}
#define SQRT_2_OVER_PI 0.7978845608028654
#define GELU_COEF 0.044715
#define FRAC_1_SQRT_2 0.7071067811865476
#define INV_SQRT_2PI 0.3989422804014327
__device__ T unary_f(int op, T x, T a, T b) {
    switch (op) {
    case 0: return -x;
    case 1: return exp(x);
    case 2: return log(x);
    case 3: return sqrt(x);
    case 4: return x * x;
    case 5: return fabs(x);
    case 6: return pow(x, a);
    case 7: return tanh(x);
    case 8: return sigmoid_(x);
    case 9: return x > (T)0 ? x : (T)0;
    case 10: return x > (T)0 ? x : x * a;
    case 11: return (T)0.5 * x * ((T)1 + erf(x * (T)FRAC_1_SQRT_2));
    case 12: {
        T inner = (T)SQRT_2_OVER_PI * (x + (T)GELU_COEF * x * x * x);
        return (T)0.5 * x * ((T)1 + tanh(inner));
    }
    case 13: return x * sigmoid_(x);
    case 14: return x < a ? a : (x > b ? b : x);
    case 15: return x + a;
    case 16: return x * a;
    case 17: return sin(x);
    default: return cos(x);
    }
}
/* f' from the saved value s: the input or the output, as UnaryOp::saves. */
__device__ T unary_df(int op, T s, T a, T b) {
    switch (op) {
    case 0: return (T)-1;
    case 1: return s;
    case 2: return (T)1 / s;
    case 3: return (T)0.5 / s;
    case 4: return s + s;
    case 5: return s > (T)0 ? (T)1 : (s < (T)0 ? (T)-1 : (T)0);
    case 6: return a == (T)0 ? (T)0 : a * pow(s, a - (T)1);
    case 7: return (T)1 - s * s;
    case 8: return s * ((T)1 - s);
    case 9: return s > (T)0 ? (T)1 : (T)0;
    case 10: return s > (T)0 ? (T)1 : a;
    case 11: {
        T cdf = (T)0.5 * ((T)1 + erf(s * (T)FRAC_1_SQRT_2));
        T pdf = exp(-(s * s) * (T)0.5) * (T)INV_SQRT_2PI;
        return cdf + s * pdf;
    }
    case 12: {
        T c = (T)SQRT_2_OVER_PI;
        T inner = c * (s + (T)GELU_COEF * s * s * s);
        T t = tanh(inner);
        T dinner = c * ((T)1 + (T)(3.0 * GELU_COEF) * s * s);
        return (T)0.5 * ((T)1 + t) + (T)0.5 * s * ((T)1 - t * t) * dinner;
    }
    case 13: {
        T sg = sigmoid_(s);
        return sg * ((T)1 + s * ((T)1 - sg));
    }
    case 14: return (s >= a && s <= b) ? (T)1 : (T)0;
    case 15: return (T)1;
    case 16: return a;
    case 17: return cos(s);
    default: return -sin(s);
    }
}
extern "C" __global__ void unary(int op, T a, T b, const T *x, T *y, usize_t n) {
    GRID_STRIDE(i, n) { y[i] = unary_f(op, x[i], a, b); }
}
extern "C" __global__ void unary_backward(int op, T a, T b, const T *saved, const T *gy, T *gx, usize_t n) {
    GRID_STRIDE(i, n) { gx[i] = gy[i] * unary_df(op, saved[i], a, b); }
}
"#,
    elems: &["f32", "f64"],
};

/// The op's code in the kernels and its two parameters.
fn code<E: Dtype>(op: UnaryOp<E>) -> (i32, E, E) {
    let z = E::zero();
    match op {
        UnaryOp::Neg => (0, z, z),
        UnaryOp::Exp => (1, z, z),
        UnaryOp::Ln => (2, z, z),
        UnaryOp::Sqrt => (3, z, z),
        UnaryOp::Square => (4, z, z),
        UnaryOp::Abs => (5, z, z),
        UnaryOp::Powf(p) => (6, p, z),
        UnaryOp::Tanh => (7, z, z),
        UnaryOp::Sigmoid => (8, z, z),
        UnaryOp::Relu => (9, z, z),
        UnaryOp::LeakyRelu(s) => (10, s, z),
        UnaryOp::GeluErf => (11, z, z),
        UnaryOp::GeluTanh => (12, z, z),
        UnaryOp::Silu => (13, z, z),
        UnaryOp::Clamp(lo, hi) => (14, lo, hi),
        UnaryOp::AddScalar(c) => (15, c, z),
        UnaryOp::MulScalar(c) => (16, c, z),
        UnaryOp::Sin => (17, z, z),
        UnaryOp::Cos => (18, z, z),
    }
}

impl<E: Dtype> UnaryKernel<E> for Cuda {
    fn unary(&self, op: UnaryOp<E>, x: &CudaStorage<E>) -> CudaStorage<E> {
        let n = x.len();
        let mut y = self.alloc::<E>(n);
        if n == 0 {
            return CudaStorage::new(y);
        }
        let (c, a, b) = code(op);
        let n64 = n as u64;
        let f = self.kernel(&UNARY, E::NAME, "unary");
        let mut l = self.stream().launch_builder(&f);
        l.arg(&c)
            .arg(&a)
            .arg(&b)
            .arg(x.slice())
            .arg(&mut y)
            .arg(&n64);
        // SAFETY: `unary(int, T, T, const T*, T*, usize_t)` reads x[i] and
        // writes y[i] for i < n; both buffers hold n elements of T.
        unsafe { l.launch(launch::elementwise(n)) }.unwrap_or_else(|e| self.fail("unary", e));
        CudaStorage::new(y)
    }

    fn unary_backward(
        &self,
        op: UnaryOp<E>,
        saved: &CudaStorage<E>,
        gy: &CudaStorage<E>,
    ) -> CudaStorage<E> {
        let n = gy.len();
        assert_eq!(
            saved.len(),
            n,
            "unary_backward: saved buffer of {} elements, gradient of {n}",
            saved.len()
        );
        let mut gx = self.alloc::<E>(n);
        if n == 0 {
            return CudaStorage::new(gx);
        }
        let (c, a, b) = code(op);
        let n64 = n as u64;
        let f = self.kernel(&UNARY, E::NAME, "unary_backward");
        let mut l = self.stream().launch_builder(&f);
        l.arg(&c)
            .arg(&a)
            .arg(&b)
            .arg(saved.slice())
            .arg(gy.slice())
            .arg(&mut gx)
            .arg(&n64);
        // SAFETY: `unary_backward(int, T, T, const T*, const T*, T*,
        // usize_t)` touches index i < n of saved, gy and gx, each n long.
        unsafe { l.launch(launch::elementwise(n)) }
            .unwrap_or_else(|e| self.fail("unary_backward", e));
        CudaStorage::new(gx)
    }
}
