"""Check for Lab 2 (auxiliary tasks): the gradient reversal layer."""
import torch

from .verdict import Verdict, _borrowed, _call, _do_it_yourself, _report, _safe


@_safe
def check_gradient_reversal(fn) -> Verdict:
    """Exercise: `fn(x, scale)` is the identity in the forward pass and multiplies the
    gradient by -scale in the backward pass."""
    from ..adversarial import GradientReversal, reverse_gradient

    borrowed = _borrowed(fn, [reverse_gradient, GradientReversal])
    if borrowed:
        return _do_it_yourself(borrowed)

    x = torch.randn(6, 3, requires_grad=True)
    ok, y = _call(fn, x, 0.5)
    if not ok:
        return _report(False, y)
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        return _report(False, f"the output must have the input's shape {tuple(x.shape)}, got "
                              f"{shape}.")
    if y.dtype != x.dtype:
        return _report(False, f"the output must keep the input's dtype {x.dtype}, got "
                              f"{y.dtype}: the layer changes gradients only.")
    if not torch.equal(y.detach(), x.detach()):
        return _report(False, "the forward pass must return the input unchanged: the layer "
                              "changes gradients only.")
    if not y.requires_grad:
        return _report(False, "the output does not carry gradients: do not detach it.")
    try:
        upstream = 1 + torch.rand(x.shape, generator=torch.Generator().manual_seed(0))
        y.backward(upstream)
    except Exception as error:  # the student's backward ran here
        if "different than None at position 2" in str(error):
            return _report(False, "backward returns the gradients in the order of forward's "
                                  "inputs: the gradient for x first, then None for scale.")
        if "number of gradients" in str(error):
            return _report(False, "backward must return one gradient per input of forward: "
                                  "the gradient for x, and None for scale (a number needs "
                                  "no gradient).")
        return _report(False, f"the backward pass raised {type(error).__name__}: {error}")
    grad = x.grad
    if grad is None:
        return _report(False, "no gradient reached the input.")
    if torch.allclose(grad, -0.5 * upstream):
        return _report(True, "identity forward, gradient multiplied by -scale backward.")
    for factor, hint in [
            (0.5, "the gradient is scaled but not reversed: check its sign."),
            (-1.0, "the gradient is reversed but `scale` is ignored."),
            (1.0, "the gradient passes through unchanged: the backward pass must reverse it "
                  "(a plain tensor operation cannot; use a custom torch.autograd.Function)."),
            (-2.0, "you divide the gradient by scale: multiply it by -scale."),
            (0.0, "the gradient is zero everywhere: multiply the incoming gradient by -scale, "
                  "do not replace it.")]:
        if torch.allclose(grad, factor * upstream):
            return _report(False, hint)
    if torch.allclose(grad, torch.full_like(grad, -0.5)):
        return _report(False, "your backward ignores the incoming gradient: return the "
                              "incoming gradient (grad_output) multiplied by -scale.")
    ratio = (grad / upstream).flatten()[0].item()
    return _report(False, f"expected the incoming gradient times -0.5 for scale 0.5, got it "
                          f"times {ratio:.3g}.")
