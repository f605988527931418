//! One test suite for every device: [`per_device!`](crate::per_device)
//! instantiates test items once per device, and the CUDA copy skips (and
//! passes) when no GPU is present.

#[cfg(feature = "cuda")]
use crate::backend::Cuda;

/// The shared CUDA device of this test binary (GPU 0, created once), or
/// `None` when there is none; then "skipped: no CUDA device" is printed
/// once per binary, on the process's stderr (not captured by the test
/// harness).
#[cfg(feature = "cuda")]
pub fn cuda_device() -> Option<Cuda> {
    use std::io::Write;
    use std::sync::OnceLock;
    static DEV: OnceLock<Option<Cuda>> = OnceLock::new();
    static SAID: std::sync::Once = std::sync::Once::new();
    let dev = DEV.get_or_init(|| Cuda::new(0).ok());
    if dev.is_none() {
        SAID.call_once(|| {
            let why = Cuda::new(0)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            let _ = writeln!(std::io::stderr(), "skipped: no CUDA device ({why})");
        });
    }
    dev.clone()
}

/// Whether the CUDA copy of a test must skip (no GPU; says so once).
/// Without the `cuda` feature there is no CUDA copy, and this is `true`.
///
/// ```
/// let _skip: bool = typegrad::testing::cuda_missing();
/// ```
pub fn cuda_missing() -> bool {
    #[cfg(feature = "cuda")]
    {
        cuda_device().is_none()
    }
    #[cfg(not(feature = "cuda"))]
    {
        true
    }
}

/// The device of a test's CUDA copy, with random tensors seeded by `seed`
/// (as `Cpu::seeded`); it shares GPU 0, its stream and its compiled kernels
/// with every other test of the binary.
///
/// # Panics
/// If there is no GPU (the test should have skipped).
#[cfg(feature = "cuda")]
pub fn cuda_seeded(seed: u64) -> Cuda {
    cuda_device()
        .expect("a CUDA test ran without a GPU: its #[test] was not per_device!'s")
        .reseeded(seed)
}

/// Instantiate test items once per device: a module `cpu` (always) and,
/// when typegrad is built with the `cuda` feature, a module `cuda`. Each
/// starts with `use super::*;` and defines
///
/// - `type Dev` (`Cpu` / `Cuda`),
/// - `fn dev() -> Dev` (seed 0) and `fn seeded(seed: u64) -> Dev`,
/// - `const DEVICE: &str` (`"cpu"` / `"cuda"`),
///
/// so the items are written once against `Dev`. In the `cuda` module
/// `#[test]` is [`device_test`](crate::__macros::device_test): each test
/// (those inside `proptest!` too) returns early, passing, when no GPU is
/// present, and "skipped: no CUDA device" is printed once per test binary.
///
/// ```
/// use typegrad::prelude::*;
/// typegrad::per_device! {
///     // `#[test]` in a test file; called by hand here.
///     pub fn adds() {
///         let x: Tensor<(u!(2),), f32, Dev> = Tensor::from_vec_static(vec![1.0, 2.0], &dev());
///         assert_eq!((x.clone() + x).to_vec(), vec![2.0, 4.0]);
///     }
/// }
/// # fn main() { cpu::adds(); }
/// ```
#[macro_export]
macro_rules! per_device {
    ($($items:tt)*) => {
        pub mod cpu {
            #![allow(unused_imports, dead_code)]
            use super::*;
            /// The device of this copy of the tests.
            pub type Dev = $crate::backend::Cpu;
            /// The device, random seed 0.
            pub fn dev() -> Dev {
                $crate::backend::Cpu::default()
            }
            /// The device with random tensors seeded by `seed`.
            pub fn seeded(seed: u64) -> Dev {
                $crate::backend::Cpu::seeded(seed)
            }
            /// The device's name.
            pub const DEVICE: &str = "cpu";
            $($items)*
        }
        $crate::__per_device_cuda! { $($items)* }
    };
}

/// The CUDA copy of [`per_device!`](crate::per_device) (empty without the
/// `cuda` feature of typegrad, whatever the calling crate's features).
#[cfg(feature = "cuda")]
#[doc(hidden)]
#[macro_export]
macro_rules! __per_device_cuda {
    ($($items:tt)*) => {
        pub mod cuda {
            #![allow(unused_imports, dead_code)]
            use super::*;
            use $crate::__macros::device_test as test;
            /// The device of this copy of the tests.
            pub type Dev = $crate::backend::Cuda;
            /// The shared GPU, random seed 0.
            pub fn dev() -> Dev {
                $crate::testing::cuda_seeded(0)
            }
            /// The shared GPU with random tensors seeded by `seed`.
            pub fn seeded(seed: u64) -> Dev {
                $crate::testing::cuda_seeded(seed)
            }
            /// The device's name.
            pub const DEVICE: &str = "cuda";
            $($items)*
        }
    };
}

/// The CUDA copy of [`per_device!`](crate::per_device) (empty without the
/// `cuda` feature of typegrad, whatever the calling crate's features).
#[cfg(not(feature = "cuda"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __per_device_cuda {
    ($($items:tt)*) => {};
}
