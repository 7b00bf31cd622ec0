"""Check for Lab 3 (mechanisms): shuffling a task's labels, Caruana's control."""
import torch

from .verdict import Verdict, _borrowed, _call, _do_it_yourself, _report, _safe


@_safe
def check_shuffle(fn) -> Verdict:
    """Exercise: `fn(y, seed)` returns a new tensor with the labels of `y` in a random
    order that depends only on `seed` (Caruana's control: same labels, no relation to the
    inputs), and leaves `y` itself unchanged."""
    from ..problems.mechanisms import shuffle_task

    borrowed = _borrowed(fn, [shuffle_task])
    if borrowed:
        return _do_it_yourself(borrowed)

    y = torch.arange(20.0) % 7
    original = y.clone()
    ok, out = _call(fn, y, 0, watch=[shuffle_task])
    if not ok:
        return _report(False, out)
    if not torch.equal(y, original):
        return _report(False, "your function changed `y` in place: the unshuffled labels are "
                              "needed elsewhere. Return a shuffled *copy*.")
    if not isinstance(out, torch.Tensor) or out.shape != y.shape:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return _report(False, f"return a tensor of the labels' shape {tuple(y.shape)}, got "
                              f"{shape}.")
    if out.dtype != y.dtype:
        return _report(False, f"keep the labels' dtype {y.dtype}, got {out.dtype}: a shuffle "
                              "only changes their order.")
    if not torch.equal(out.sort().values, y.sort().values):
        return _report(False, "the labels themselves changed: a shuffle keeps every label and "
                              "only changes which example has which (index y with a random "
                              "permutation, do not draw new labels).")
    if torch.equal(out, y):
        return _report(False, "the labels are in their original order: nothing was shuffled.")
    if any(torch.equal(out, torch.roll(y, k)) for k in range(1, len(y))):
        return _report(False, "your order is a cyclic shift of the labels, not a random "
                              "permutation: draw one (e.g. torch.randperm) from a generator "
                              "seeded with `seed`.")
    _, again = _call(fn, y, 0)
    if not (isinstance(again, torch.Tensor) and torch.equal(again, out)):
        return _report(False, "two calls with the same seed give different orders: draw the "
                              "permutation from a generator seeded with `seed`.")
    _, other = _call(fn, y, 1)
    if isinstance(other, torch.Tensor) and torch.equal(other, out):
        return _report(False, "seeds 0 and 1 give the same order: the seed is not used.")
    return _report(True, "same labels, new order, reproducible from the seed.")
