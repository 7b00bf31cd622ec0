"""The chapter tools of hard sharing: the hidden-weight penalty, the a + b / N fit and the
per-step gradient cosines."""
import numpy as np
import pytest
import torch

import mtl_tutor as mt
from mtl_tutor.problems import make_related_tasks
from mtl_tutor.problems.sharing import fit_inverse_n, hidden_l2, step_cosines


def test_hidden_l2_sums_the_hidden_weights_only():
    tasks = [mt.Task("a"), mt.Task("b")]
    model = mt.ForkedMLP(3, (4, 5), tasks, n_shared=1)
    expected = (model.trunk[0].weight ** 2).sum() + (model.branches[0].weight ** 2).sum()
    assert torch.allclose(hidden_l2(model), expected)


def test_fit_inverse_n_recovers_an_exact_curve():
    n = np.array([1, 2, 4, 8, 16])
    fit = fit_inverse_n(n, 0.05 + 0.2 / n)
    assert fit["a"] == pytest.approx(0.05)
    assert fit["b"] == pytest.approx(0.2)
    assert fit["r2"] == pytest.approx(1.0)


def test_fit_inverse_n_matches_numpy_polyfit_in_one_over_n():
    n = np.array([1, 2, 4, 8, 16])
    y = np.array([0.14, 0.13, 0.13, 0.08, 0.056])
    b, a = np.polyfit(1 / n, y, 1)
    fit = fit_inverse_n(n, y)
    assert (fit["a"], fit["b"]) == pytest.approx((a, b))
    assert 0 < fit["r2"] < 1


@pytest.mark.parametrize("n, y", [([1, 2], [0.1, 0.2]), ([0, 1, 2], [1, 2, 3]),
                                  ([1, 2, 4], [0.1, float("nan"), 0.2])])
def test_fit_inverse_n_rejects_bad_input(n, y):
    with pytest.raises(ValueError, match="fit_inverse_n"):
        fit_inverse_n(n, y)


def test_step_cosines_shape_range_and_identical_tasks():
    data = make_related_tasks(n_tasks=3, n_train=10, n_val=5, n_test=5, relatedness=1.0,
                              shared_inputs=True, noise=0.0, seed=0)
    mt.set_seed(0)
    model = mt.hard_sharing(data.n_features, (8,), data.tasks)
    with torch.no_grad():  # identical heads: the tasks' gradients on the trunk coincide
        model.heads.stacked.weight[:] = model.heads.stacked.weight[0]
        model.heads.stacked.bias[:] = model.heads.stacked.bias[0]
    cosines = step_cosines(model, data, steps=1)
    assert cosines.shape == (1, 3)
    assert torch.allclose(cosines, torch.ones(1, 3), atol=1e-5)


def test_step_cosines_needs_a_trunk():
    data = make_related_tasks(n_tasks=2, n_train=10, n_val=5, n_test=5, seed=0)
    model = mt.single_task_nets(data.n_features, (4,), data.tasks)
    with pytest.raises(ValueError, match="trunk"):
        step_cosines(model, data, steps=1)


def test_another_environment_leaves_environment_0_unchanged():
    from mtl_tutor.problems import make_environment_tasks
    alone = make_environment_tasks(n_tasks=3, n_train=5, n_val=4, n_test=6, seed=2)
    mixed = make_environment_tasks(n_tasks=5, n_train=5, n_val=4, n_test=6, seed=2,
                                   environments=[0, 0, 0, 1, 1])
    for split in ("train", "val", "test"):
        a, b = getattr(alone, split), getattr(mixed, split)
        assert torch.equal(a.x, b.x[:3])
        for name in alone.names:
            assert torch.equal(a.y[name], b.y[name])
    teacher = mixed.info["teacher"]
    x = torch.randn(50, 10)
    assert not torch.allclose(teacher.factors(x, 0), teacher.factors(x, 1))
    assert mixed.info["environments"] == [0, 0, 0, 1, 1]


def test_environments_must_name_one_environment_per_task():
    from mtl_tutor.problems import make_environment_tasks
    with pytest.raises(ValueError, match="environments"):
        make_environment_tasks(n_tasks=3, environments=[0, 1])
