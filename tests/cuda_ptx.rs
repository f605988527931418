//! Every NVRTC kernel of the CUDA backend compiles to PTX. Needs only the
//! NVRTC library (PyPI's `nvidia-cuda-nvrtc`, which `.ci/run` installs), no
//! GPU; without the library the test says so and passes, unless
//! `TYPEGRAD_REQUIRE_NVRTC=1` (CI), where it fails.
#![cfg(feature = "cuda")]

use typegrad::backend::cuda::compile;

#[test]
fn every_kernel_compiles_to_ptx() {
    if !compile::nvrtc_available() {
        assert!(
            std::env::var("TYPEGRAD_REQUIRE_NVRTC").as_deref() != Ok("1"),
            "TYPEGRAD_REQUIRE_NVRTC=1 but libnvrtc was not found (LD_LIBRARY_PATH)"
        );
        eprintln!(
            "skipped: NVRTC library not found (pip install nvidia-cuda-nvrtc, LD_LIBRARY_PATH)"
        );
        return;
    }
    let modules = compile::all_modules();
    assert!(!modules.is_empty());
    let mut failures = Vec::new();
    for (name, code) in &modules {
        if let Err(log) = compile::compile_ptx(code) {
            failures.push(format!("{name}:\n{log}"));
        }
    }
    assert!(
        failures.is_empty(),
        "kernels that do not compile:\n{}",
        failures.join("\n")
    );
    eprintln!("{} kernel modules compiled to PTX", modules.len());
}

#[test]
fn a_missing_gpu_is_an_error_not_a_panic() {
    if typegrad::backend::cuda::Cuda::is_available() {
        eprintln!("skipped: a CUDA device is present");
        return;
    }
    let err = typegrad::backend::cuda::Cuda::new(0).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("cuda:0: "), "{msg}");
    eprintln!("{msg}");
}
