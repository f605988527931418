#!/usr/bin/env python3
"""NumPy / PyTorch peers for typegrad's elementwise and reduction benches.

The workloads mirror `benches/elementwise.rs` (same names, sizes and data):
  elementwise_add_16m  C = A + B, A and B 16,777,216 f32 standard normal
                       (a fresh C each iteration)
  reduce_sum_16m       s = sum(A) over 16,777,216 f32
  softmax_rows_1024    softmax over the last axis of a 1024 x 1024 f32 matrix
  exp_1m               e^x of 1,048,576 f32 standard normal (the first 2^20 of A)
  small kernels (thread wake-up must not cost more than the work):
  elementwise_add_64k  C = A + B over the first 65,536 elements
  reduce_sum_64k       sum of the first 65,536 elements of A
  exp_64k              e^x of the first 65,536 elements of A

Timing follows ../shared/peers/torch_bench.py: warm-up >= 1 s, then
per-iteration perf_counter times for >= --min-time s; median reported.
Threads: --threads N sets OMP/MKL/OPENBLAS threads and torch.set_num_threads.

Usage: python elementwise_bench.py --threads 1 > peers-t1.jsonl
"""
import argparse
import json
import os
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--min-time", type=float, default=3.0)
args = p.parse_args()
for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[v] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(args.threads)
N = 1 << 24


def measure(step):
    t0 = time.perf_counter()
    warm = 0
    while warm < 3 or time.perf_counter() - t0 < 1.0:
        step()
        warm += 1
    times = []
    t0 = time.perf_counter()
    while len(times) < 10 or time.perf_counter() - t0 < args.min_time:
        s = time.perf_counter()
        step()
        times.append(time.perf_counter() - s)
    times.sort()
    return times[len(times) // 2] * 1e3, len(times)


def emit(workload, peer, ms, iters):
    print(json.dumps({"workload": workload, "peer": peer, "threads": args.threads,
                      "median_ms": round(ms, 4), "iters": iters,
                      "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}), flush=True)


rng = np.random.default_rng(0)
a = rng.standard_normal(N, dtype=np.float32)
b = rng.standard_normal(N, dtype=np.float32)
m = rng.standard_normal((1024, 1024), dtype=np.float32)
ta, tb, tm = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(m)

emit("elementwise_add_16m", "numpy", *measure(lambda: np.add(a, b)))
emit("elementwise_add_16m", "pytorch", *measure(lambda: ta + tb))
emit("reduce_sum_16m", "numpy", *measure(lambda: a.sum()))
emit("reduce_sum_16m", "pytorch", *measure(lambda: ta.sum()))


def np_softmax():
    e = np.exp(m - m.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


emit("softmax_rows_1024", "numpy", *measure(np_softmax))
emit("softmax_rows_1024", "pytorch", *measure(lambda: torch.softmax(tm, dim=1)))

a1m, ta1m = a[: 1 << 20].copy(), ta[: 1 << 20].clone()
emit("exp_1m", "numpy", *measure(lambda: np.exp(a1m)))
emit("exp_1m", "pytorch", *measure(lambda: torch.exp(ta1m)))
k = 1 << 16
sa, sb, tsa, tsb = a[:k].copy(), b[:k].copy(), ta[:k].clone(), tb[:k].clone()
emit("elementwise_add_64k", "numpy", *measure(lambda: np.add(sa, sb)))
emit("elementwise_add_64k", "pytorch", *measure(lambda: tsa + tsb))
emit("reduce_sum_64k", "numpy", *measure(lambda: sa.sum()))
emit("reduce_sum_64k", "pytorch", *measure(lambda: tsa.sum()))
emit("exp_64k", "numpy", *measure(lambda: np.exp(sa)))
emit("exp_64k", "pytorch", *measure(lambda: torch.exp(tsa)))
sys.exit(0)
