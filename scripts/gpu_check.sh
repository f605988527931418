#!/usr/bin/env bash
# The GPU check of issue 9, in one call on the device machine (no Rust
# there): every test binary with the CUDA device present, `mnist_mlp` on
# the GPU, and the GPU benchmarks beside PyTorch CUDA eager. Build first,
# here: `bash scripts/gpu_build.sh`; then
#
#   run(command="bash scripts/gpu_check.sh", carry=[".gpu"], timeout_s=590)
#
# Logs go to $OUT (at most 8 files come back): summary.txt (one line per
# step, PASS/FAIL, and the bench table), tests.log, mnist.log, bench.log.
# The script keeps well inside a 10-minute call: each step has its own
# time limit. Exit status: 0 when every test binary and the example passed.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu_check}
mkdir -p "$out"
summary=$out/summary.txt
: >"$summary"
note() { echo "$*" | tee -a "$summary"; }
export RUST_BACKTRACE=1 PYTHONUNBUFFERED=1
start=$(date +%s)
elapsed() { echo $(($(date +%s) - start)); }

[ -f .gpu/bin.tar.xz ] || { note "FAIL: .gpu/bin.tar.xz missing (run scripts/gpu_build.sh here and carry .gpu)"; exit 2; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | sed 's/^/gpu: /' | tee -a "$summary"

# cudarc loads libnvrtc.so.13 and libcublas.so.13 by name: the toolkit's
# or the pip wheels' folders.
libdirs=$(find /usr/local /opt /usr/lib -xdev \( -name 'libnvrtc.so.13*' -o -name 'libcublas.so.13*' \) -printf '%h\n' 2>/dev/null | sort -u | tr '\n' ':')
export LD_LIBRARY_PATH="${libdirs}${LD_LIBRARY_PATH:-}"
note "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
export TYPEGRAD_REQUIRE_NVRTC=1

# Paths baked in at build time (env!("CARGO_MANIFEST_DIR")): link the
# build's repo path to this copy.
manifest=$(cat .gpu/MANIFEST_DIR)
if [ "$manifest" != "$PWD" ] && [ ! -e "$manifest" ]; then
    mkdir -p "$(dirname "$manifest")" && ln -s "$PWD" "$manifest"
fi
bin=/tmp/typegrad-gpu-bin
rm -rf "$bin" && mkdir -p "$bin" && tar -C "$bin" -xJf .gpu/bin.tar.xz || { note "FAIL: unpacking"; exit 2; }

# 1. Tests: each binary in its package folder, as cargo runs it
# (gpu_build.sh leaves out trybuild's compile-fail test: it runs cargo).
status=0
: >"$out/tests.log"
while IFS=$'\t' read -r name dir; do
    [ -n "$name" ] || continue
    (cd "$dir" && timeout 240 "$bin/test-$name" --test-threads=8) >/tmp/typegrad-test.log 2>&1
    rc=$?
    { echo "=== $name (exit $rc)"; cat /tmp/typegrad-test.log; } >>"$out/tests.log"
    result=$(grep -E '^test result:' /tmp/typegrad-test.log | tail -1)
    if [ $rc -eq 0 ]; then note "PASS test $name ($result)"; else note "FAIL test $name (exit $rc)"; status=1; fi
done <.gpu/tests.tsv
grep -c "skipped: no CUDA device" "$out/tests.log" | sed 's/^/lines saying "skipped: no CUDA device" (want 0): /' | tee -a "$summary"
note "tests done at $(elapsed) s"

# 2. mnist_mlp on the GPU, all epochs (the accuracy must match the CPU's).
TYPEGRAD_DEVICE=cuda timeout 180 "$bin/example-mnist_mlp" --device cuda >"$out/mnist.log" 2>&1
rc=$?
if [ $rc -eq 0 ]; then note "PASS mnist_mlp --device cuda: $(grep -iE 'test accuracy|accuracy' "$out/mnist.log" | tail -1)"; else note "FAIL mnist_mlp --device cuda (exit $rc)"; status=1; fi
note "mnist done at $(elapsed) s"

# 3. Benchmarks beside PyTorch CUDA eager (python3 there has PyTorch).
left=$((560 - $(elapsed)))
if [ $left -gt 60 ]; then
    PEERS_PYTHON=$(command -v python3) BENCH_MIN_TIME=${BENCH_MIN_TIME:-2} \
        timeout $left "$bin/bench-cuda" >"$out/bench.log" 2>&1
    rc=$?
    note "bench cuda exit $rc"
    sed -n '/^CUDA, median ms/,$p' "$out/bench.log" >>"$summary"
else
    note "SKIP bench: only $left s left"
fi
note "done at $(elapsed) s, status $status"
exit $status
