"""Portable numerics: the pins that make x86-64 CPUs compute the same bits, and a probe.

PyTorch picks its CPU kernels by what the processor offers: ATen's vectorised ops (softmax,
exp, reductions) use AVX-512 where it exists, oneDNN's convolutions pick their instruction
set, and MKL's matrix products take a vendor-specific path. Each choice changes the last bits
of a result, and a trained network turns last bits into other printed digits. Pinning all
three to code paths that every x86-64 CPU with AVX2 shares, with one thread, makes Intel and
AMD machines, with or without AVX-512, agree bit for bit.

The pins must be in the environment before torch starts (the Makefile and the Jupyter kernel
spec set them); `pins_in_force()` says whether they are. `fingerprint()` hashes a small probe
of the kernels the book uses; the book stores the hash it was recorded with.
"""
import hashlib
import os

import torch

PINS = {
    "ATEN_CPU_CAPABILITY": "avx2",  # ATen's vectorised kernels: no AVX-512 paths
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN (convolutions), current name ...
    "DNNL_MAX_CPU_ISA": "AVX2",  # ... and the older one
    "MKL_CBWR": "COMPATIBLE",  # MKL's conditional numerical reproducibility: one code path
    "OMP_NUM_THREADS": "1",  # one thread: a sum split across threads adds in another order
    "MKL_NUM_THREADS": "1",
}


def pins_in_force() -> dict:
    """Each pin's name mapped to whether this process runs with it (set before torch started)."""
    return {name: os.environ.get(name) == value for name, value in PINS.items()}


def sqrt(t: torch.Tensor) -> torch.Tensor:
    """The square root as 1 / rsqrt(t): an IEEE square root and two divisions, which give
    the same bits on every CPU (within an ulp of the exact root). `torch.sqrt` on a CPU
    tensor takes MKL's vector math library, whose bits depend on the processor."""
    return t.rsqrt().reciprocal()


def _probe_parts() -> dict:
    """The kernels whose bits the book's numbers depend on, each as a tensor."""
    gen = torch.Generator().manual_seed(1234)
    x = torch.randn(64, 96, generator=gen)
    w = torch.randn(96, 48, generator=gen)
    parts = {"randn": x, "matmul": x @ w}
    image = torch.randn(4, 16, 12, 12, generator=gen)
    kernel = torch.randn(32, 16, 3, 3, generator=gen)
    parts["conv2d"] = torch.nn.functional.conv2d(image, kernel, padding=1)
    parts["softmax"] = torch.softmax(x * 3.0, dim=1)
    parts["tanh_exp"] = torch.tanh(x).exp()
    # A few Adam steps of a task-stacked model: batched matmuls, autograd and the optimiser.
    stack = torch.randn(4, 96, 16, generator=gen).mul_(0.1).requires_grad_()
    head = torch.randn(4, 16, generator=gen).mul_(0.1).requires_grad_()
    target = torch.randn(4, 64, generator=gen)
    optimiser = torch.optim.Adam([stack, head], lr=1e-2)
    for _ in range(5):
        hidden = torch.relu(torch.einsum("nd,tdh->tnh", x, stack))
        loss = ((torch.einsum("tnh,th->tn", hidden, head) - target) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    parts["adam"] = torch.cat([stack.detach().flatten(), head.detach().flatten()])
    return parts


def fingerprint(parts: bool = False):
    """A short hash of the probe's bits; with `parts=True`, a dict with one hash per kernel
    too, which tells what differs when the whole hash does."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        probe = _probe_parts()
    finally:
        torch.set_num_threads(threads)
    digests = {name: hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()[:12]
               for name, t in probe.items()}
    whole = hashlib.sha256("".join(digests.values()).encode()).hexdigest()[:16]
    return {"fingerprint": whole, **digests} if parts else whole


def capability() -> str:
    """The instruction set ATen's CPU kernels use in this process (e.g. 'AVX2')."""
    return torch.backends.cpu.get_cpu_capability()
