"""Seeds, threads and the device: everything that makes a run repeatable."""
import os
import random
import warnings

import numpy as np
import pandas as pd
import torch

from .book import fmt

DEVICE_ENV = "MTL_TUTOR_DEVICE"
SCALE_ENV = "MTL_TUTOR_SCALE"
SEED_ENV = "MTL_TUTOR_SEED"
_device = torch.device("cpu")


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) with one number."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(device: str = "auto") -> torch.device:
    """CUDA, then Apple's MPS, then the CPU; `MTL_TUTOR_DEVICE` overrides `device`.

    Asking for a device that is not there falls back to the CPU with a warning, so a
    notebook written on a GPU machine still runs on a laptop.
    """
    wanted = os.environ.get(DEVICE_ENV, device).strip().lower()
    if wanted == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    kind = wanted.split(":")[0]
    if kind not in available:
        raise ValueError(
            f"Unknown device {wanted!r}: use 'auto', 'cpu', 'cuda' or 'mps' "
            f"(check the {DEVICE_ENV} environment variable too)."
        )
    if not available[kind]:
        warnings.warn(f"Device {wanted!r} is not available here; using the CPU instead.",
                      stacklevel=2)
        return torch.device("cpu")
    return torch.device(wanted)


def setup(seed: int = 0, threads: int = 1, device: str = "auto", verbose: bool = True):
    """Make a notebook repeatable: seed everything, fix the thread count, pick a device.

    One thread is the default because the book's models are small (more threads rarely
    help them) and because the thread count can change the last digits of a result.
    Returns the chosen `torch.device`; `get_device()` returns it later.
    `MTL_TUTOR_SEED` (default 0) is added to `seed` here and to every seed `seeds` gives,
    so a whole notebook can be re-run on other random draws. Tables print with `fmt` and
    all their columns, and figures draw with a palette colour-blind readers can tell apart
    (`plots.PALETTE`).
    """
    global _device
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}.")
    torch.set_num_threads(threads)
    seed = seed + seed_offset()
    set_seed(seed)
    _device = pick_device(device)
    pd.set_option("display.float_format", fmt)
    # every column: pandas hides those past the 20th behind a "..." column, and a results
    # table (a summary, a crosstab over settings) can be wider than that
    pd.set_option("display.max_columns", None)
    # and every character: pandas cuts a cell's text at 50 characters with "...", which
    # hides the end of a claim's wording or a run's settings
    pd.set_option("display.max_colwidth", None)
    from .plots import use_book_style  # here: plots imports this module
    use_book_style()
    if verbose:
        print(f"mtl_tutor: seed {seed}, {threads} thread(s), device {_device.type}")
    return _device


def get_device() -> torch.device:
    """The device chosen by the last `setup` call (the CPU before any)."""
    return _device


def _env_int(name: str, default: int, minimum: int) -> int:
    value = os.environ.get(name, str(default))
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {value!r}.") from None
    if number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {number}.")
    return number


def seed_offset() -> int:
    """`MTL_TUTOR_SEED`: 0 for the book's recorded run; any other number re-runs every
    experiment on other random draws (`make robustness` does)."""
    return _env_int(SEED_ENV, 0, 0)


def seeds(count: int) -> range:
    """The seeds of a repeated experiment: `count` of them (times `MTL_TUTOR_SCALE`),
    starting at `MTL_TUTOR_SEED` (0 unless set). Each seed gives every method the same data
    and, where the models match, the same initialisation, so results can be paired."""
    start = seed_offset()
    return range(start, start + scaled(count))


def scaled(count: int) -> int:
    """`count` times the experiment scale: 1 by default (the book's validated CPU run);
    set MTL_TUTOR_SCALE=4 (say) on a GPU machine to run four times more seeds or sizes.
    Printed numbers then differ from the book's, as they should."""
    return count * _env_int(SCALE_ENV, 1, 1)
