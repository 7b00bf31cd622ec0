"""Portable numerics: the pins that make x86-64 CPUs compute the same bits, and a probe.

The libraries under PyTorch and NumPy pick their code by what the processor offers: ATen's
vectorised kernels (softmax, reductions) use AVX2 or AVX-512, oneDNN's convolutions pick an
instruction set, MKL's matrix products and OpenBLAS (NumPy's) take CPU-specific paths, NumPy
has its own AVX2 and AVX-512 loops, and glibc's exp, log and pow use FMA where it exists.
Each choice changes the last bits of a result, and a trained network turns last bits into
other printed digits. The pins below put every one of them on the code that any x86-64 CPU
NumPy runs on (x86-64-v2: SSE4.2, from Intel Nehalem and AMD Bulldozer on) can run, with one
thread, so Intel and AMD machines, with or without AVX2 or AVX-512, agree bit for bit.

One source of CPU-dependent bits cannot be pinned: MKL's vector math library, which ATen
uses for sqrt, exp, log, tanh, sin, ... on CPU tensors. Its sqrt (in float32 and float64)
and float64 log differ between CPUs; the book avoids them (fused Adam, `sqrt` below). Its
float32 exp, log, tanh and sin gave the same bits on every CPU checked; the probe includes
them, so a machine where they differ shows another fingerprint.

The pins must be in the environment before the process starts (the Makefile and the Jupyter
kernel spec set them); `pins_in_force()` says whether they are. `fingerprint()` hashes a
small probe of the kernels the book uses; the book stores the hash it was recorded with.
"""
import hashlib
import os

import numpy as np
import torch

PINS = {
    "ATEN_CPU_CAPABILITY": "default",  # ATen's kernels without AVX2/AVX-512 (a CPU without
    # AVX2 cannot run the AVX2 ones: ATen obeys the pin and the process dies)
    "ONEDNN_MAX_CPU_ISA": "SSE41",  # oneDNN (convolutions): its lowest level, current name ...
    "DNNL_MAX_CPU_ISA": "SSE41",  # ... and the older one
    "MKL_CBWR": "COMPATIBLE",  # MKL's conditional numerical reproducibility: one code path
    "OPENBLAS_CORETYPE": "Nehalem",  # NumPy's and SciPy's OpenBLAS: x86-64-v2 kernels
    "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",  # NumPy's own loops
    "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA,-FMA4",  # libm's exp, log, pow: no FMA
    "OMP_NUM_THREADS": "1",  # one thread: a sum split across threads adds in another order
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
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
    from .loop_parts import adam  # the optimiser as `fit` builds it

    gen = torch.Generator().manual_seed(1234)
    x = torch.randn(64, 96, generator=gen)
    w = torch.randn(96, 48, generator=gen)
    parts = {"randn": x, "matmul": torch.nn.functional.linear(x, w.T, w[0])}
    image = torch.randn(4, 16, 12, 12, generator=gen)
    kernel = torch.randn(32, 16, 3, 3, generator=gen)
    parts["conv2d"] = torch.nn.functional.conv2d(image, kernel, padding=1)
    parts["softmax"] = torch.cat([torch.softmax(x * 3.0, dim=1).flatten(),
                                  torch.nn.functional.cross_entropy(x, x.argmin(1)).view(1)])
    # MKL's vector math (exp, log, tanh, sin), ATen's own (sigmoid), the book's sqrt
    parts["unary"] = torch.cat([x.exp(), x.abs().log(), x.tanh(), x.sin(), x.sigmoid(),
                                sqrt(x.abs()), torch.nn.functional.softplus(x)])
    parts["reductions"] = torch.cat([x.sum(0), x.mean(1), x.var(0), x.std(1), x.norm(dim=0),
                                     torch.nn.functional.normalize(x).flatten()])
    square = x[:48] @ x[:48].T / 96 + torch.eye(48)
    parts["linalg"] = torch.cat([torch.linalg.svdvals(x), torch.linalg.eigh(square)[0],
                                 torch.linalg.qr(x)[1].flatten()])
    x64, square64 = x.double(), square.double()
    parts["linalg64"] = torch.cat([torch.linalg.svd(x64, full_matrices=False)[1],
                                   torch.linalg.solve(square64, x64[:48]).flatten(),
                                   torch.linalg.pinv(x64[:20]).flatten(),
                                   torch.linalg.eigh(square64)[1].abs().flatten()])
    # A few steps of fit's Adam on a task-stacked model: batched matmuls, autograd, optimiser.
    stack = torch.randn(4, 96, 16, generator=gen).mul_(0.1).requires_grad_()
    head = torch.randn(4, 16, generator=gen).mul_(0.1).requires_grad_()
    target = torch.randn(4, 64, generator=gen)
    optimiser = adam([stack, head], 1e-2, 1e-2, "cpu")
    for _ in range(5):
        hidden = torch.tanh(torch.einsum("nd,tdh->tnh", x, stack))
        out = torch.baddbmm(target[..., None], hidden, head[..., None]).squeeze(-1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(out, target.gt(0).float())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    parts["adam"] = torch.cat([stack.detach().flatten(), head.detach().flatten()])
    parts["numpy"] = torch.from_numpy(_numpy_part(x.double().numpy()))
    return parts


def _numpy_part(a: np.ndarray) -> np.ndarray:
    """What the book computes with NumPy and SciPy: elementwise maths (glibc's, whose FMA
    variants change about one result in a thousand: hence thousands of values), a matrix
    product (OpenBLAS), means and deviations, and the t quantiles of confidence intervals."""
    from scipy import stats

    v = a.ravel()
    t = np.tanh(v / 3)
    return np.concatenate([np.exp(v), np.log(np.abs(v)), t, np.arctanh(t), (a.T @ a).ravel(),
                           a.mean(0), a.std(1, ddof=1), np.corrcoef(a[:8]).ravel(),
                           stats.t.ppf(0.975, np.arange(1, 200))])


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
    """The instruction set ATen's CPU kernels use in this process (e.g. 'DEFAULT', 'AVX2')."""
    return torch.backends.cpu.get_cpu_capability()
