"""Per-block training-step times of torch_bench.py's ResNet-18 (CIFAR), the
PyTorch side of `CONV_BENCH=resnet18_blocks cargo bench --bench conv_train`.

Usage: python benches/peers/torch_resnet_blocks.py THREADS
"""
import os, sys, time, statistics, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
threads = int(sys.argv[1]); sys.argv = sys.argv[:1]
import torch_bench as tb
torch.set_num_threads(threads)
torch.manual_seed(0)
m = tb.ResNet18Cifar().train()
x = torch.randn(16, 3, 32, 32)
def med(f, tmin=1.5):
    for _ in range(3): f()
    ts = []; s = time.perf_counter()
    while len(ts) < 10 or time.perf_counter() - s < tmin:
        a = time.perf_counter(); f(); ts.append(time.perf_counter() - a)
    return statistics.median(ts) * 1e3
names = ["stem"] + [f"layer{i//2+1}.{i%2}" for i in range(8)]
mods = [m.stem] + list(m.blocks)
h = x
for n, mod in zip(names, mods):
    inp = h.detach().clone().requires_grad_(True)
    def step():
        mod.zero_grad(set_to_none=True)
        inp.grad = None
        mod(inp).sum().backward()
    print(f'{{"block": "{n}", "median_ms": {med(step):.3f}}}')
    with torch.no_grad(): h = mod(h)
