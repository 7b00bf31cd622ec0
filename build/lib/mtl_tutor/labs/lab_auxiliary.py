"""Check for Lab 2 (auxiliary tasks): the gradient reversal layer."""
import torch

from .verdict import Verdict, _call, _report, _safe


@_safe
def check_gradient_reversal(fn) -> Verdict:
    """Exercise: `fn(x, scale)` is the identity in the forward pass and multiplies the
    gradient by -scale in the backward pass."""
    x = torch.randn(6, 3, requires_grad=True)
    ok, y = _call(fn, x, 0.5)
    if not ok:
        return _report(False, y)
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        return _report(False, f"the output must have the input's shape {tuple(x.shape)}, got "
                              f"{shape}.")
    if not torch.equal(y.detach(), x.detach()):
        return _report(False, "the forward pass must return the input unchanged: the layer "
                              "changes gradients only.")
    if not y.requires_grad:
        return _report(False, "the output does not carry gradients: do not detach it.")
    try:
        y.backward(torch.ones_like(y))
    except Exception as error:  # the student's backward ran here
        if "number of gradients" in str(error):
            return _report(False, "backward must return one gradient per input of forward: "
                                  "the gradient for x, and None for scale (a number needs "
                                  "no gradient).")
        return _report(False, f"the backward pass raised {type(error).__name__}: {error}")
    grad = x.grad
    if grad is None:
        return _report(False, "no gradient reached the input.")
    if torch.allclose(grad, torch.full_like(grad, -0.5)):
        return _report(True, "identity forward, gradient multiplied by -scale backward.")
    if torch.allclose(grad, torch.full_like(grad, 0.5)):
        return _report(False, "the gradient is scaled but not reversed: check its sign.")
    if torch.allclose(grad, torch.full_like(grad, -1.0)):
        return _report(False, "the gradient is reversed but `scale` is ignored.")
    if torch.allclose(grad, torch.ones_like(grad)):
        return _report(False, "the gradient passes through unchanged: the backward pass must "
                              "reverse it (a plain tensor operation cannot; use a custom "
                              "torch.autograd.Function).")
    return _report(False, f"expected a gradient of -0.5 everywhere for scale 0.5, got values "
                          f"like {grad.flatten()[0].item():.3g}.")
