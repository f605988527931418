//! Filling a buffer with one value on the device (`Backend::full`).

use super::compile::KernelSource;

/// `fill(out, value, n)`.
pub const FILL: KernelSource = KernelSource {
    name: "fill",
    code: r#"
extern "C" __global__ void fill(T *out, T value, usize_t n) {
    GRID_STRIDE(i, n) { out[i] = value; }
}
"#,
    elems: &["f32", "f64", "bool", "u8", "usize"],
};
