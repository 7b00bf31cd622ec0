"""Helpers for the book's notebooks: putting computed numbers into the prose."""


def significant(value: float, digits: int = 3) -> float:
    """`value` rounded to `digits` significant digits (what the book prints)."""
    return float(f"{value:.{digits}g}")


def glue(name: str, value, digits: int = 3):
    """Store a computed number under `name` for the prose ({glue:text}`name`), rounded to
    `digits` significant digits so the stored output is stable across machines.

    Outside Jupyter Book (e.g. on Colab without myst-nb) it does nothing, so the
    notebooks run anywhere.
    """
    if isinstance(value, float) or hasattr(value, "item"):
        value = significant(float(value), digits)
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=False)
