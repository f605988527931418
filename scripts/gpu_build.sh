#!/usr/bin/env bash
# Build, here, everything scripts/gpu_check.sh runs on the GPU machine
# (which has no Rust): every test binary of the workspace with the `cuda`
# feature, the `cuda` bench and the `mnist_mlp` example, stripped and packed
# into `.gpu/` (git-ignored), the folder a device `run` carries.
#
#   bash scripts/gpu_build.sh            # then, on the device:
#   run(command="bash scripts/gpu_check.sh", carry=[".gpu"])
#
# Tests build in their own profile `gpu-test` (release, opt-level 1, debug
# assertions and overflow checks on as in `cargo test`, stripped): small
# enough to carry (the tracked tree is already ~48 MiB of the 64 MiB a run
# may carry) and quick to run. The bench and the example build in
# `gpu-bench` (release, stripped). Both profiles are defined here with
# `--config`, so they use their own folders under the target dir and
# disturb no other build.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=.gpu
rm -rf "$out"
mkdir -p "$out/bin"

test_profile=(--profile gpu-test
    --config 'profile.gpu-test.inherits="release"'
    --config 'profile.gpu-test.opt-level=1'
    --config 'profile.gpu-test.debug=false'
    --config 'profile.gpu-test.debug-assertions=true'
    --config 'profile.gpu-test.overflow-checks=true'
    --config 'profile.gpu-test.strip=true')
bench_profile=(--profile gpu-bench
    --config 'profile.gpu-bench.inherits="release"'
    --config 'profile.gpu-bench.debug=false'
    --config 'profile.gpu-bench.strip=true')

echo "gpu_build: test binaries (profile gpu-test)" >&2
cargo test --workspace --features cuda --no-run --message-format=json "${test_profile[@]}" >"$out/tests.json"
echo "gpu_build: the cuda bench and mnist_mlp (profile gpu-bench)" >&2
cargo bench --features cuda --bench cuda --no-run --message-format=json "${bench_profile[@]}" >"$out/bench.json"
cargo build --features cuda --example mnist_mlp --message-format=json "${bench_profile[@]}" >"$out/example.json"

# Copy the executables; tests.tsv lists each test binary with the package
# folder (relative to the repo root) cargo would run it in.
python3 - "$root" "$out" <<'PY'
import json, os, shutil, sys
root, out = sys.argv[1], sys.argv[2]
rows = []
def artifacts(path):
    for line in open(path):
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if m.get("reason") == "compiler-artifact" and m.get("executable"):
            yield m
# Test binaries with no per-device test: on the GPU machine they would only
# rerun CPU tests (and the carry limit is tight), so they stay here.
# compile_fail: trybuild runs cargo, which the GPU machine lacks.
CPU_ONLY = {"compile_fail", "autograd", "data", "derive", "embedded_qemu", "from_macro",
            "io", "io_mmap", "io_static", "numel_overflow", "summary", "tensor", "text"}
for m in artifacts(os.path.join(out, "tests.json")):
    if not m["profile"]["test"] or m["target"]["name"] in CPU_ONLY:
        continue
    if m["target"]["kind"][0] != "test" and m["target"]["name"] != "typegrad":
        # Unit tests of the macro crate and the renamed-crate check: CPU only.
        continue
    kind = m["target"]["kind"][0]
    name = m["target"]["name"] if kind == "test" else f'{kind}-{m["target"]["name"]}'
    pkg = os.path.relpath(os.path.dirname(m["manifest_path"]), root)
    shutil.copy(m["executable"], os.path.join(out, "bin", "test-" + name))
    rows.append(f"{name}\t{pkg}")
for f, kind in (("bench.json", "bench"), ("example.json", "example")):
    for m in artifacts(os.path.join(out, f)):
        if kind in m["target"]["kind"]:
            shutil.copy(m["executable"], os.path.join(out, "bin", f'{kind}-{m["target"]["name"]}'))
with open(os.path.join(out, "tests.tsv"), "w") as t:
    t.write("\n".join(sorted(rows)) + "\n")
print(f"gpu_build: {len(rows)} test binaries", file=sys.stderr)
PY
rm -f "$out"/*.json
# Binaries built from one crate share most of their code: one solid xz
# archive (one thread, so one block; -9: a 64 MiB window) is a ninth of
# their size (109 MB -> 12 MB, where -T2 -6 gave 18 MB).
strip "$out"/bin/* 2>/dev/null || true
tar -C "$out/bin" -cf - . | xz -T1 -9e >"$out/bin.tar.xz"
rm -rf "$out/bin"
# The build's repo path, baked into the binaries by env!("CARGO_MANIFEST_DIR")
# (fixtures, data/mnist, the peer scripts): gpu_check.sh links it there.
echo "$root" >"$out/MANIFEST_DIR"

carried=$(du -sb "$out" | cut -f1)
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
untracked=$(git ls-files -z --others --exclude-standard | xargs -0 -r du -cb 2>/dev/null | tail -1 | cut -f1)
total=$((carried + tree + ${untracked:-0}))
echo "gpu_build: .gpu is $((carried / 1024 / 1024)) MiB; with the working tree $((total / 1024 / 1024)) MiB of the 64 MiB a run carries" >&2
if [ "$total" -gt $((64 * 1024 * 1024)) ]; then
    echo "gpu_build: too large to carry" >&2
    exit 1
fi
