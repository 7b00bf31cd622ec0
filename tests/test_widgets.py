import ipywidgets as widgets

import mtl_tutor as mt


def test_explorer_calls_update_headless_and_on_change():
    calls = []

    def update(relatedness=0.5, strength=1e-2):
        calls.append((relatedness, strength))
        return relatedness * strength

    live = mt.explorer(update, relatedness=widgets.FloatSlider(0.5, min=0, max=1, step=0.1),
                       strength=mt.log_slider(1e-2, -4, 0, "strength"))
    assert calls == [(0.5, 0.01)]  # built: one update with the initial values
    live.children[0].value = 0.9
    assert calls[-1] == (0.9, 0.01)
    assert live.result == 0.9 * 0.01
    assert all(not c.continuous_update for c in live.children[:2])


def test_log_slider_spans_orders_of_magnitude():
    slider = mt.log_slider(1e-2, -4, 0, "strength")
    assert slider.min == -4 and slider.max == 0 and slider.value == 1e-2
