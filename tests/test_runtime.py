import pytest
import torch

import mtl_tutor as mt


def test_setup_is_deterministic():
    def numbers():
        mt.setup(seed=3, verbose=False)
        data = mt.make_related_tasks(n_tasks=2, n_train=20, seed=3)
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
    assert device == torch.device("cpu") == mt.get_device()
    assert torch.get_num_threads() == 1
    assert "device cpu" in capsys.readouterr().out


def test_environment_variable_overrides(monkeypatch):
    monkeypatch.setenv("MTL_TUTOR_DEVICE", "cpu")
    assert mt.pick_device("auto") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_missing_device_falls_back_to_cpu():
    with pytest.warns(UserWarning, match="not available"):
        assert mt.pick_device("cuda") == torch.device("cpu")
