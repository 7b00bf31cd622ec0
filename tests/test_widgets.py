import ipywidgets as widgets

import mtl_tutor as mt


def test_explorer_calls_update_headless_and_on_change():
    calls = []

    def update(relatedness=0.5, strength=1e-2):
        calls.append((relatedness, strength))
        return relatedness * strength

    live = mt.widgets.explorer(update, relatedness=widgets.FloatSlider(0.5, min=0, max=1, step=0.1),
                       strength=mt.widgets.log_slider(1e-2, -4, 0, "strength"))
    assert calls == [(0.5, 0.01)]  # built: one update with the initial values
    live.children[0].value = 0.9
    assert calls[-1] == (0.9, 0.01)
    assert live.result == 0.9 * 0.01
    assert all(not c.continuous_update for c in live.children[:2])


def test_log_slider_spans_orders_of_magnitude():
    slider = mt.widgets.log_slider(1e-2, -4, 0, "strength")
    assert slider.min == -4 and slider.max == 0 and slider.value == 1e-2


def _explorer_cells():
    import sys
    from pathlib import Path

    import nbformat

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    import colab_cells

    for path in colab_cells.notebooks():
        cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        for i, cell in enumerate(cells):
            if "mt.widgets.explorer(" in cell.source:
                yield path.name, cell, cells[i + 1:]


def test_every_explorer_is_built_by_nbval_and_followed_by_a_static_figure():
    """nbval executes each explorer cell, which builds the widget and calls its update
    function once with the initial values (headless); its output varies, so it is not
    compared. The online book cannot run the widget, so a figure must follow it."""
    found = list(_explorer_cells())
    assert found, "no explorer found in the book"
    for name, cell, rest in found:
        tags = cell.metadata.get("tags", [])
        assert "nbval-ignore-output" in tags and "skip-execution" not in tags, name
        kinds = {k for o in cell.outputs for k in o.get("data", {})}
        assert "application/vnd.jupyter.widget-view+json" in kinds, f"{name}: never built"
        following = next((c for c in rest if c.outputs), None)
        assert following is not None and any(
            "image/png" in o.get("data", {}) for o in following.outputs), \
            f"{name}: the explorer needs a static figure right after it"
