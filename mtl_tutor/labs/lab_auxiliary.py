"""Check for Lab 3 (auxiliary tasks): the gradient reversal layer."""
import torch

from .verdict import Verdict, _borrowed, _call, _do_it_yourself, _report, _safe, _watch

# The scales the check tries, each with its own incoming gradient: one scale alone cannot
# tell "-scale" from a number written into the code.
SCALES = (0.5, 2.0, 1.0, 0.1, -1.0)  # -1: Question 4's wrong-sign layer


def _library():
    from ..adversarial import GradientReversal, _ReverseGradient, flip_gradient, reverse_gradient
    return [reverse_gradient, GradientReversal, flip_gradient,
            (_ReverseGradient, "reverse_gradient")]


@_safe
def check_gradient_reversal(fn) -> Verdict:
    """Exercise: `fn(x, scale)` is the identity in the forward pass and multiplies the
    gradient by -scale in the backward pass."""
    library = _library()
    borrowed = _borrowed(fn, [f for f in library if not isinstance(f, tuple)])
    if borrowed:
        return _do_it_yourself(borrowed)
    with _watch(library) as seen:  # the library under any name, wrapper or class
        hint = _reversal_mistake(fn)
    if seen:
        return _do_it_yourself(seen[0])
    if hint:
        return _report(False, hint)
    return _report(True, "identity forward, gradient multiplied by -scale backward, for "
                         f"every scale tried ({', '.join(map(str, SCALES))}).")


def _reversal_mistake(fn):
    """A hint naming what is wrong with `fn`, or None when it passes every test."""
    g = torch.Generator().manual_seed(0)
    factors = []  # the factor the gradient was multiplied by, at each scale
    for scale in SCALES:
        x = torch.randn(6, 3, generator=g).requires_grad_()
        ok, y = _call(fn, x, scale)
        if not ok:
            return y
        hint = _forward_mistake(x, y)
        if hint:
            return hint
        upstream = torch.randn(x.shape, generator=g)
        kept = upstream.clone()
        hint = _backward(y, upstream)
        if hint:
            return hint
        if not torch.equal(upstream, kept):
            return ("your backward changes the incoming gradient in place (e.g. grad.mul_ or "
                    "grad.neg_): autograd may still need that tensor elsewhere. Return a new "
                    "tensor instead, such as -ctx.scale * grad.")
        if x.grad is None:
            return "no gradient reached the input: the output must be connected to x."
        factor = ((x.grad * kept).sum() / kept.pow(2).sum()).item()
        if not torch.allclose(x.grad, factor * kept, atol=1e-5):  # not a multiple of it
            if torch.allclose(x.grad, torch.full_like(x.grad, -scale)):
                return ("your backward ignores the incoming gradient: return the incoming "
                        "gradient (grad_output) multiplied by -scale.")
            return (f"with scale {scale} the gradient is not a multiple of the incoming "
                    "gradient: multiply the whole incoming gradient by -scale, element by "
                    "element.")
        factors.append(factor)
    if any(not _close(f, -scale) for f, scale in zip(factors, SCALES)):
        return _factor_mistake(factors)
    return _calls_mixed(fn)


def _close(a, b):
    return abs(a - b) < 1e-4 * (1 + abs(b))


def _factor_mistake(factors):
    """Name the mistake in gradients multiplied by `factors` (one per scale in SCALES)
    instead of by -scale: the first known mistake that explains every scale."""
    for wrong, hint in [
            (lambda s: s, "the gradient is scaled but not reversed: it needs a minus sign."),
            (lambda s: -1.0, "the gradient is reversed but `scale` is ignored."),
            (lambda s: -abs(s), "with a negative scale the gradient must pass with a plus "
                                "sign (-scale > 0): multiply by -scale, not -abs(scale)."),
            (lambda s: 1.0, "the gradient passes through unchanged: the backward pass must "
                            "reverse it (a plain tensor operation cannot; use a custom "
                            "torch.autograd.Function)."),
            (lambda s: -1.0 / s, "you divide the gradient by scale: multiply it by -scale."),
            (lambda s: 0.0, "the gradient is zero everywhere: multiply the incoming gradient "
                            "by -scale, do not replace it."),
            (lambda s: -s * s, "the gradient is multiplied by -scale twice (scale squared)."),
            (lambda s: 1.0 - s, "the incoming gradient is added to the reversed one: return "
                                "-scale * grad alone."),
            (lambda s: factors[0], f"the gradient is multiplied by {factors[0]:.3g} whatever "
                                   "the scale: use the `scale` argument, not a fixed number.")]:
        if all(_close(f, wrong(s)) for f, s in zip(factors, SCALES)):
            return hint
    found = ", ".join(f"{f:.3g} for scale {s}" for f, s in zip(factors, SCALES))
    return (f"the incoming gradient must be multiplied by -scale; yours is multiplied by "
            f"{found}.")


def _forward_mistake(x, y):
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        return f"the output must have the input's shape {tuple(x.shape)}, got {shape}."
    if y.dtype != x.dtype:
        return (f"the output must keep the input's dtype {x.dtype}, got {y.dtype}: the layer "
                "changes gradients only.")
    if not torch.equal(y.detach(), x.detach()):
        if torch.allclose(y.detach(), -x.detach()):
            return ("the forward pass negates the input: the sign belongs in the backward "
                    "pass; forward must return the input unchanged.")
        return ("the forward pass must return the input unchanged: the layer changes "
                "gradients only.")
    if not y.requires_grad:
        return ("the output does not carry gradients (a .detach(), torch.no_grad() or a "
                "round trip through NumPy cuts it off from x): the layer must pass gradients "
                "back, reversed.")
    return None


def _backward(y, upstream):
    """Run the student's backward pass; a hint if it raised."""
    try:
        y.backward(upstream)
    except Exception as error:  # the student's backward ran here
        if "different than None at position 2" in str(error):
            return ("backward returns the gradients in the order of forward's inputs: the "
                    "gradient for x first, then None for scale.")
        if "number of gradients" in str(error):
            return ("backward must return one gradient per input of forward: the gradient "
                    "for x, and None for scale (a number needs no gradient).")
        return f"the backward pass raised {type(error).__name__}: {error}"
    return None


def _calls_mixed(fn):
    """Two calls with different scales, then one backward: each must keep its own scale."""
    g = torch.Generator().manual_seed(1)
    xs = [torch.randn(4, 2, generator=g).requires_grad_() for _ in SCALES[:2]]
    ys = [fn(x, scale) for x, scale in zip(xs, SCALES[:2])]
    ups = [torch.randn(4, 2, generator=g) for _ in xs]
    sum((y * u).sum() for y, u in zip(ys, ups)).backward()
    if not all(torch.allclose(x.grad, -scale * u, atol=1e-6)
               for x, u, scale in zip(xs, ups, SCALES)):
        return ("each call works alone, but after two calls with different scales the "
                "first call's gradient uses the second call's scale: store `scale` on "
                "`ctx` (ctx.scale = scale), not on the class, a global or the function.")
    return None
