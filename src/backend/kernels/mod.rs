//! The kernel traits: what a backend implements, one trait per op family,
//! with the plain-data descriptors their signatures use (op enums, sizes,
//! which gradients to compute). They live here, below the typed op layer
//! (`ops/`, `optim/`, `loss/`), which calls them and re-exports them at
//! their old paths (`typegrad::ops::unary::UnaryKernel`, ...): a backend
//! depends only on `backend/`, and adding one touches nothing in `ops/`.
//!
//! Some traits have provided methods composing others ([`LinearKernel`],
//! [`NormKernel`], `ConvKernel::conv_backward`,
//! `AttentionKernel::attention_backward_shared`), so a new backend gets a
//! correct version for free and may override it with a fused kernel.
//!
//! [`LinearKernel`]: linear::LinearKernel
//! [`NormKernel`]: norm::NormKernel

pub mod attention;
pub mod binary;
pub mod conv;
pub mod index;
pub mod linear;
pub mod matmul;
pub mod movement;
pub mod norm;
pub mod optim;
pub mod pool;
pub mod random;
pub mod reduce;
pub mod unary;

pub use attention::AttentionKernel;
pub use binary::BinaryKernel;
pub use conv::ConvKernel;
pub use index::IndexKernel;
pub use linear::LinearKernel;
pub use matmul::MatmulKernel;
pub use movement::MovementKernel;
pub use norm::NormKernel;
pub use optim::OptimKernel;
pub use pool::PoolKernel;
pub use random::RandomKernel;
pub use reduce::ReduceKernel;
pub use unary::UnaryKernel;
