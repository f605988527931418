//! [`LinearKernel`] on cuBLAS: the bias is written into the output rows
//! first and the product accumulated onto it (`beta = 1`), as the CPU kernel
//! does; the bias gradient is a column-sum kernel. `W` is read transposed
//! through the gemm's flag (see [`super::matmul`]).

use super::compile::KernelSource;
use super::{launch, Cuda, CudaStorage};
use crate::backend::kernels::linear::{
    forward_params as linear_forward_params, grad_input_params as linear_grad_input_params,
    grad_weight_params as linear_grad_weight_params, LinearGrads, LinearKernel, LinearParams,
    LinearWant,
};
use crate::dtype::Dtype;
use crate::ops::binary::BinaryKernel;
use crate::ops::reduce::ReduceKernel;
use cudarc::driver::PushKernelArg;

/// `bias_rows(y, b, rows, cols)`: every row of `y` set to `b`;
/// `col_sum(out, g, rows, cols)`: `out[c] = Σ_r g[r, c]`.
pub const LINEAR: KernelSource = KernelSource {
    name: "linear",
    code: r#"
extern "C" __global__ void bias_rows(T *y, const T *b, usize_t rows, usize_t cols) {
    GRID_STRIDE(i, rows * cols) { y[i] = b[i % cols]; }
}
// One thread per column: neighbouring threads read neighbouring elements.
extern "C" __global__ void col_sum(T *out, const T *g, usize_t rows, usize_t cols) {
    GRID_STRIDE(c, cols) {
        ACC s = 0;
        for (usize_t r = 0; r < rows; r++) s += g[r * cols + c];
        out[c] = s;
    }
}
"#,
    elems: &["f32", "f64"],
};

impl Cuda {
    /// `out[c] = Σ_r g[r, c]` for a row-major `rows × cols` buffer.
    pub(crate) fn linear_col_sums<E: Dtype>(
        &self,
        g: &CudaStorage<E>,
        rows: usize,
        cols: usize,
    ) -> CudaStorage<E> {
        let mut out = self.alloc::<E>(cols);
        if cols > 0 {
            let f = self.kernel(&LINEAR, E::NAME, "col_sum");
            let (r, c) = (rows as u64, cols as u64);
            let mut b = self.stream().launch_builder(&f);
            b.arg(&mut out).arg(g.slice()).arg(&r).arg(&c);
            // SAFETY: col_sum writes out[0..cols] and reads g[0..rows·cols],
            // the sizes of both buffers; argument types match the signature.
            unsafe { b.launch(launch::elementwise(cols)) }
                .unwrap_or_else(|e| self.fail("col_sum", e));
        }
        CudaStorage::new(out)
    }
}

impl<E: Dtype> LinearKernel<E> for Cuda
where
    Cuda: BinaryKernel<E> + ReduceKernel<E>,
{
    fn linear(
        &self,
        p: LinearParams,
        x: &Self::Storage<E>,
        w: &Self::Storage<E>,
        b: Option<&Self::Storage<E>>,
    ) -> Self::Storage<E> {
        let n = p.rows * p.out;
        let mut y = match b {
            Some(b) if p.rows > 0 && p.out > 0 => {
                let mut y = self.alloc::<E>(n);
                let f = self.kernel(&LINEAR, E::NAME, "bias_rows");
                let (r, c) = (p.rows as u64, p.out as u64);
                let mut l = self.stream().launch_builder(&f);
                l.arg(&mut y).arg(b.slice()).arg(&r).arg(&c);
                // SAFETY: bias_rows writes y[0..rows·out] (its size) and
                // reads b[0..out]; argument types match the signature.
                unsafe { l.launch(launch::elementwise(n)) }
                    .unwrap_or_else(|e| self.fail("bias_rows", e));
                y
            }
            // No bias (or an empty output): zeros when there is no
            // product to run, else the product writes every element.
            _ if p.inp == 0 || n == 0 => return crate::backend::Backend::full(self, n, E::zero()),
            _ => self.alloc::<E>(n),
        };
        if p.inp > 0 {
            let beta = if b.is_some() { 1.0 } else { 0.0 };
            self.gemm(
                &linear_forward_params(p),
                x.slice(),
                w.slice(),
                &mut y,
                beta,
            );
        }
        CudaStorage::new(y)
    }

    fn linear_backward(
        &self,
        p: LinearParams,
        x: &Self::Storage<E>,
        w: &Self::Storage<E>,
        gy: &Self::Storage<E>,
        want: LinearWant,
    ) -> LinearGrads<Self::Storage<E>> {
        use crate::ops::matmul::MatmulKernel;
        let gx = want
            .input
            .then(|| self.matmul(linear_grad_input_params(p), gy, w));
        let gw = want
            .weight
            .then(|| self.matmul(linear_grad_weight_params(p), gy, x));
        let gb = want.bias.then(|| self.linear_col_sums(gy, p.rows, p.out));
        (gx, gw, gb)
    }
}
