#!/usr/bin/env python3
"""PyTorch peer for benches/train_memory.rs: peak memory of one training
step on the CPU, above the loaded model, data and optimizer state.

Workloads (the same names and definitions as the Rust bench):
  mlp20_w1024_b256  19 x (Linear(1024, 1024), ReLU), then Linear(1024, 10)
                    (20 Linear layers, 19,952,650 parameters, f32); batch
                    256 of torch.randn inputs (no requires_grad), labels in
                    0..10; mean cross-entropy; Adam(lr=1e-3).
  resnet18_cifar_b64 torch_bench.py's CIFAR ResNet-18 (11,173,962
                    parameters), batch 64 of 3x32x32, BatchNorm in
                    training mode; mean cross-entropy; SGD(0.1, momentum 0.9).
One step = forward + loss + backward + opt.step(), then
opt.zero_grad(set_to_none=True): the gradients are freed at the end of the
step, as typegrad's `Gradients` are, so they count in the step and not in
the baseline.

Method. PyTorch allocates tensor storage outside Python, through c10's CPU
allocator, which reports every allocation and free (signed byte counts) to
the profiler when `profile_memory=True`. We run one warm-up step (Adam's
exp_avg/exp_avg_sq then exist), then profile one step and replay its
`[memory]` records from the raw Kineto events in time order: the running
sum starts at 0 = the baseline, and its maximum is the peak above the
baseline. This is the analogue of the Rust side's counting global
allocator (all heap allocations of the step). What it does not see:
allocations that bypass c10 (MKL/oneDNN internal scratch buffers, autograd
graph nodes and other small C++ objects); on the Rust side the analogous
items (gemm packing buffers, tape closures) are counted, so the comparison
is, if anything, slightly in PyTorch's favour.

Cross-check (`rss_hwm_above_mib`): the resident-set high-water mark of a
separate, unprofiled step, reset before it by writing "5" to
/proc/self/clear_refs: VmHWM after the step minus VmRSS before it. It
measures pages, not tensors, and underestimates when glibc reuses memory
kept from the warm-up step instead of faulting in new pages, so it is only
a sanity check.

Usage: python train_memory.py --threads 1   (one JSON object per workload)
"""
import argparse
import json
import os
import time

WORKLOADS = ["mlp20_w1024_b256", "resnet18_cifar_b64"]

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--only", choices=WORKLOADS)
p.add_argument("--seed", type=int, default=0)
args = p.parse_args()
for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[v] = str(args.threads)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

torch.set_num_threads(args.threads)
MIB = 1024.0 * 1024.0


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def rss_step_above(step):
    """VmHWM during `step` minus VmRSS before it (MiB), or None."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return None
    before = status_kib("VmRSS")
    step()
    return (status_kib("VmHWM") - before) / 1024.0


def profiled_peak_above(step):
    """Peak of the running sum of c10 CPU allocations during `step` (bytes)."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    records = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    records.sort(key=lambda e: e.start_ns())
    cur = peak = 0
    for e in records:
        cur += e.nbytes()
        peak = max(peak, cur)
    return peak, cur, len(records)


def mlp20_w1024_b256():
    torch.manual_seed(args.seed)
    layers = []
    for _ in range(19):
        layers += [nn.Linear(1024, 1024), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(1024, 10))
    x = torch.randn(256, 1024)
    y = torch.randint(0, 10, (256,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    last = {}

    def step():
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        last["loss"] = loss.item()

    return model, step, last


class BasicBlock(nn.Module):
    """torch_bench.py's CIFAR ResNet-18 block."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


def resnet18_cifar_b64():
    """CIFAR ResNet-18 (torch_bench.py's definition), batch 64 of 3x32x32,
    BatchNorm in training mode, mean cross-entropy, SGD(0.1, momentum 0.9)."""
    torch.manual_seed(args.seed)
    layers = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    cin = 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
        cin = cout
    model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10))
    x = torch.randn(64, 3, 32, 32)
    y = torch.randint(0, 10, (64,))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    last = {}

    def step():
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        last["loss"] = loss.item()

    return model, step, last


def run(name):
    model, step, last = {"mlp20_w1024_b256": mlp20_w1024_b256, "resnet18_cifar_b64": resnet18_cifar_b64}[name]()
    step()  # warm-up: Adam's state now exists
    rss = rss_step_above(step)
    peak, after, n = profiled_peak_above(step)
    params = sum(p.numel() for p in model.parameters())
    return {
        "workload": name, "peer": "pytorch", "threads": args.threads,
        "peak_above_baseline_mib": round(peak / MIB, 1),
        "after_above_baseline_mib": round(after / MIB, 1),
        "rss_hwm_above_mib": None if rss is None else round(rss, 1),
        "memory_records": n, "params": params, "params_mib": round(params * 4 / MIB, 1),
        "loss": last["loss"], "method": "torch.profiler profile_memory (c10 CPU allocator)",
        "torch_version": torch.__version__,
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


for name in [args.only] if args.only else WORKLOADS:
    print(json.dumps(run(name)), flush=True)
