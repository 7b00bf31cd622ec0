"""Helpers for the book's notebooks: one number format for tables and prose alike, and the
hidden checks of the prose's claims."""
import math
import numbers
import os

import numpy as np


def significant(value: float, digits: int = 3) -> float:
    """`value` rounded to `digits` significant digits."""
    return float(f"{value:.{digits}g}")


def fmt(value, digits: int = 3) -> str:
    """How the book prints a number: integers whole, other numbers to `digits` significant
    digits in plain notation, without trailing zeros (0.0612, 13.8, 37200, 0.5, -0.18).

    `setup` makes pandas print tables with it, and `glue` puts numbers into the prose with
    it, so a number in the text reads exactly like the same number in a table.
    """
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value == 0:
        return "0"
    text = np.format_float_positional(value, precision=digits, unique=False,
                                      fractional=False, trim="-")
    return "0" if text in ("-0", "0") else text


def glue(name: str, value, digits: int = 3):
    """Store a computed value under `name` for the prose (the ``{glue:text}`` role), as the text
    `fmt` gives (so 13.8 reads "13.8", never "14.0"); strings are stored as they are.

    Outside Jupyter Book (e.g. on Colab without myst-nb) it does nothing, so the
    notebooks run anywhere.
    """
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    text = value if isinstance(value, str) else fmt(value, digits)
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, text, display=False)


STRICT_ENV = "MTL_TUTOR_STRICT"


def assert_claim(holds, message: str) -> None:
    """A hidden check of a claim the prose makes, e.g. `assert_claim(cmp.lower, str(cmp))`.

    Where the book is tested (nbval, `make execute`, `make robustness` set
    MTL_TUTOR_STRICT=1) a claim that does not hold raises AssertionError, and the build
    fails. Anywhere else, a reader who changed a setting to explore gets one line saying the
    claim does not hold for their settings, and the notebook runs on. Returns nothing, so
    that a claim ending a cell shows nothing.
    """
    if holds:
        return
    if os.environ.get(STRICT_ENV) == "1":
        raise AssertionError(message)
    print(f"With your settings the book's claim does not hold ({message}); that is what "
          "exploring is for.")
