"""What every lab check shares: the verdict it prints and returns, and the guards that turn
a student's error into a hint instead of a traceback."""
import contextlib
import functools
import sys

import torch


class Verdict:
    """The result of a check: true when the answer passed."""

    def __init__(self, passed: bool, message: str):
        self.passed, self.message = passed, message

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"Verdict(passed={self.passed})"

    def _ipython_display_(self) -> None:
        pass  # the check has printed its message; showing the Verdict too would repeat it


def _report(ok: bool, message: str) -> Verdict:
    message = ("Correct: " if ok else "Not yet: ") + message
    print(message)
    return Verdict(ok, message)


NO_ANSWER = ("no answer yet: replace the `raise NotImplementedError` line (or the `...`) "
             "of the exercise with your code, run that cell, then run the check again.")


def _call(fn, *args, what="your function", watch=()):
    """Call the student's function; turn an exception into a hint instead of a traceback,
    and an empty answer (a stub that raises NotImplementedError, or returns None or `...`,
    as Otter's student versions do) into "no answer yet". When a function in `watch`
    (mtl_tutor's own answer to the exercise) runs during the call, under any name or inside
    a wrapper, the hint says so."""
    try:
        with _watch(watch) as seen:
            value = fn(*args)
    except NotImplementedError:
        return False, NO_ANSWER
    except Exception as error:  # the student's code failed: say where, not how to fix it
        return False, (f"{what} raised {type(error).__name__}: {error}. Run it on the "
                       "example in the exercise and read the message.")
    if seen:
        return False, _DO_IT_YOURSELF.format(name=seen[0])
    if value is None or value is Ellipsis:
        return False, (NO_ANSWER + f" ({what} returned {value!r}: does it end with a "
                                   "`return`?)")
    return True, value


@contextlib.contextmanager
def _watch(answers):
    """Inside the block, record the name of every function in `answers` (mtl_tutor's own
    solutions, and the methods of their classes) that runs, called under any name, through
    any wrapper, or by autograd during backward(): `with _watch([...]) as seen:`."""
    codes = {}
    for answer in answers:  # a function or class, or (a function or class, its public name)
        answer, name = answer if isinstance(answer, tuple) else (answer, answer.__name__)
        members = vars(answer).values() if isinstance(answer, type) else [answer]
        for member in members:
            member = getattr(member, "__func__", member)
            if hasattr(member, "__code__"):
                codes[member.__code__] = name
    seen, previous = [], sys.getprofile()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            seen.append(codes[frame.f_code])
        if previous is not None:
            previous(frame, event, arg)

    sys.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(previous)


def _borrowed(fn, answers) -> str | None:
    """The name of the function in `answers` (mtl_tutor's own solution of the exercise)
    that the student's `fn` calls, directly, under another name, or as `mt.<name>`;
    None when it calls none of them. A function of the student's own that happens to
    share a name is not flagged."""
    if any(fn is answer for answer in answers):
        return fn.__name__
    names = {answer.__name__: answer for answer in answers}
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    scope = getattr(getattr(fn, "__func__", fn), "__globals__", {})
    codes, used = [code] if code else [], set()
    while codes:
        c = codes.pop()
        used |= set(c.co_names)
        codes += [k for k in c.co_consts if hasattr(k, "co_names")]
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if any(value is answer for answer in answers):
            return value.__name__
    for name in used:
        value = scope.get(name)
        if any(value is answer for answer in answers):
            return value.__name__  # imported, perhaps under another name
        if name in names and name not in scope:
            return name  # an attribute: mt.<name>, penalties.<name>
    return None


_DO_IT_YOURSELF = ("your function calls mtl_tutor's own `{name}`, which is the answer this "
                   "exercise asks you to write. Write it with torch operations (the check "
                   "compares it with the library's version).")


def _do_it_yourself(name: str) -> Verdict:
    return _report(False, _DO_IT_YOURSELF.format(name=name))


def _is_scalar(value) -> bool:
    return isinstance(value, torch.Tensor) and value.dim() == 0


def _not_a_loss(value, what: str):
    """A hint when `value` cannot be a loss-like number (a 0-d, finite, float tensor)."""
    if isinstance(value, (int, float)):
        return (f"return a torch tensor, not a Python number: without the tensor (e.g. after "
                f".item()) the {what} has no gradient to train with.")
    if not isinstance(value, torch.Tensor):
        return f"return a torch tensor (got {type(value).__name__}), so that backward() can run."
    if not _is_scalar(value):
        return (f"the {what} must be one number (a 0-d tensor), got shape "
                f"{tuple(value.shape)}: add the parts up into one.")
    if not value.is_floating_point():
        return f"the {what} must be a floating-point tensor, got {value.dtype}."
    if not torch.isfinite(value):
        return f"the {what} is {value.item()}: look for a division by zero or a log of 0."
    return None


def _safe(check):
    """Whatever the student's answer is, a check answers with a hint, never a traceback."""
    @functools.wraps(check)
    def wrapped(*args):
        try:
            return check(*args)
        except Exception as error:
            return _report(False, f"your answer could not be compared with the expected one "
                                  f"({type(error).__name__}: {error}). Check its type and "
                                  "shape against the exercise.")
    return wrapped
