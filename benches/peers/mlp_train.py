#!/usr/bin/env python3
"""PyTorch peer for benches/mlp_train.rs: `mlp_train_b64` with and without
the input gradient.

Workload (as `mlp_train_b64` in ../shared/peers/torch_bench.py): MLP
784 -> Linear(784,256) -> ReLU -> Linear(256,128) -> ReLU -> Linear(128,10),
batch 64 (torch.randn, seed 0), labels torch.randint(0, 10), mean
cross-entropy, Adam(lr=1e-3). One iteration = zero_grad + forward + loss +
backward + optimizer step, on the same fixed batch.

Variants (the same work on both sides of a comparison):
  no_input_grad  the batch does not require a gradient (torch_bench's
                 mlp_train_b64): autograd skips the first layer's dX.
  input_grad     x.requires_grad_(True): backward also computes dL/dx
                 (64 x 784); x.grad is reset to None every step, as
                 opt.zero_grad() does for the parameters, so it is
                 written, not accumulated.

Timing follows torch_bench.py: warm-up >= 3 iterations and >= 1 s, then
per-iteration perf_counter times for >= 10 iterations and >= --min-time s
(gc disabled); the median is reported. Each variant runs in its own child
process. One JSON object per line on stdout.

Usage: python mlp_train.py --threads 1 [--variant input_grad] [--min-time 5]
"""
import argparse
import gc
import json
import os
import subprocess
import sys
import time

VARIANTS = ["no_input_grad", "input_grad"]

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--variant", choices=VARIANTS + ["both"], default="both")
p.add_argument("--min-time", type=float, default=5.0)
p.add_argument("--seed", type=int, default=0)
args = p.parse_args()
for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[v] = str(args.threads)

if args.variant == "both":
    status = 0
    for variant in VARIANTS:
        cmd = [sys.executable, os.path.abspath(__file__), "--variant", variant,
               "--threads", str(args.threads), "--min-time", str(args.min_time),
               "--seed", str(args.seed)]
        status |= subprocess.run(cmd).returncode
    sys.exit(status)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

torch.set_num_threads(args.threads)


def measure(step):
    t0 = time.perf_counter()
    warm = 0
    while warm < 3 or time.perf_counter() - t0 < 1.0:
        step()
        warm += 1
    gc.collect()
    gc.disable()
    times = []
    try:
        start = time.perf_counter()
        while True:
            a = time.perf_counter()
            step()
            b = time.perf_counter()
            times.append(b - a)
            if len(times) >= 10 and b - start >= args.min_time:
                break
    finally:
        gc.enable()
    xs = sorted(t * 1e3 for t in times)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2, len(xs)


torch.manual_seed(args.seed)
model = nn.Sequential(
    nn.Linear(784, 256), nn.ReLU(),
    nn.Linear(256, 128), nn.ReLU(),
    nn.Linear(128, 10),
)
x = torch.randn(64, 784)
y = torch.randint(0, 10, (64,))
input_grad = args.variant == "input_grad"
if input_grad:
    x.requires_grad_(True)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
model.train()
last = {}


def step():
    opt.zero_grad()
    if input_grad:
        x.grad = None
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    last["loss"] = loss.detach()


load = os.getloadavg()[0]
ms, iters = measure(step)
assert (x.grad is not None) == input_grad
print(json.dumps({
    "workload": f"mlp_train_b64/{args.variant}", "peer": "pytorch", "threads": args.threads,
    "median_ms": round(ms, 4), "iters": iters, "final_loss": float(last["loss"]),
    "torch_version": torch.__version__, "loadavg_1m_before": round(load, 2),
    "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
}), flush=True)
