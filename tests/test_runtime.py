import pytest
import torch

import mtl_tutor as mt


def test_setup_is_deterministic():
    def numbers():
        mt.setup(seed=3, verbose=False)
        data = mt.problems.make_related_tasks(n_tasks=2, n_train=20, seed=3)
        model = mt.hard_sharing(data.n_features, (8,), data.tasks)
        history = mt.fit(model, data, epochs=3, progress=False)
        return torch.rand(3), [p.detach().clone() for p in model.parameters()], history

    a, b = numbers(), numbers()
    assert torch.equal(a[0], b[0])
    assert all(torch.equal(p, q) for p, q in zip(a[1], b[1]))
    assert a[2].equals(b[2])


def test_different_seeds_differ():
    mt.set_seed(0)
    a = torch.rand(3)
    mt.set_seed(1)
    assert not torch.equal(a, torch.rand(3))


def test_setup_reports_device_and_threads(capsys):
    device = mt.setup(seed=0, threads=1, device="cpu")
    assert device == torch.device("cpu") == mt.runtime.get_device()
    assert torch.get_num_threads() == 1
    assert "device cpu" in capsys.readouterr().out


def test_environment_variable_overrides(monkeypatch):
    monkeypatch.setenv("MTL_TUTOR_DEVICE", "cpu")
    assert mt.runtime.pick_device("auto") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_missing_device_falls_back_to_cpu():
    with pytest.warns(UserWarning, match="not available"):
        assert mt.runtime.pick_device("cuda") == torch.device("cpu")


def test_seeds_scale_and_offset(monkeypatch):
    monkeypatch.delenv("MTL_TUTOR_SEED", raising=False)
    monkeypatch.delenv("MTL_TUTOR_SCALE", raising=False)
    assert list(mt.seeds(3)) == [0, 1, 2]
    monkeypatch.setenv("MTL_TUTOR_SEED", "1000")
    monkeypatch.setenv("MTL_TUTOR_SCALE", "2")
    assert list(mt.seeds(3)) == list(range(1000, 1006))
    assert "seed 1005" in _setup_line(seed=5)
    monkeypatch.setenv("MTL_TUTOR_SEED", "-1")
    with pytest.raises(ValueError, match="MTL_TUTOR_SEED must be at least 0"):
        mt.seeds(3)


def _setup_line(seed):
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        mt.setup(seed=seed)
    return out.getvalue()


def test_setup_prints_tables_in_the_book_format():
    import pandas as pd
    mt.setup(seed=0, verbose=False)
    text = repr(pd.DataFrame({"x": [0.06123, 13.84, 37184.0]}))
    assert "0.0612" in text and "13.8" in text and "37200" in text


def test_setup_prints_every_column_of_a_wide_table():
    import pandas as pd
    pd.set_option("display.max_columns", 20)  # Jupyter's default: a "..." column from 21
    mt.setup(seed=0, verbose=False)
    wide = pd.DataFrame([range(21)], columns=[f"c{i}" for i in range(21)])
    assert "c10" in repr(wide) and "c10" in wide._repr_html_()
