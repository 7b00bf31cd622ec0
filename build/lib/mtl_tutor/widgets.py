"""Explorers: live widgets for a running kernel, with the update function kept separate
so the online book can draw a static figure of the same settings and tests can call it
without a browser."""
import ipywidgets as widgets


def explorer(update, **controls):
    """A live explorer: `update(**values)` runs each time a control is released.

    `controls` maps each argument of `update` to an ipywidgets control, e.g.
    `relatedness=widgets.FloatSlider(0.5, min=0, max=1, step=0.1)`. Sliders update on
    release, not while dragging, because each update trains a model. Display the returned
    widget (make it the last expression of a cell).
    """
    for control in controls.values():
        if hasattr(control, "continuous_update"):
            control.continuous_update = False
    return widgets.interactive(update, **controls)


def log_slider(value, low_exponent, high_exponent, description):
    """A slider over 10**low .. 10**high, for strengths that span orders of magnitude."""
    return widgets.FloatLogSlider(value=value, base=10, min=low_exponent, max=high_exponent,
                                  step=0.5, description=description)
