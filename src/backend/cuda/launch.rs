//! Launch shapes.

use cudarc::driver::LaunchConfig;

/// Threads per block of the elementwise kernels.
pub const BLOCK: u32 = 256;

/// A grid-stride launch over `n` elements: enough blocks to fill the GPU,
/// never more than needed (kernels loop with `GRID_STRIDE`).
pub fn elementwise(n: usize) -> LaunchConfig {
    let blocks = n.div_ceil(BLOCK as usize).clamp(1, 65_535 * 8) as u32;
    LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}
