"""The generators and measures of Part II (Caruana's mechanisms)."""
import pytest
import torch

import mtl_tutor as mt
from mtl_tutor.problems import mechanisms


def test_noisy_copies_share_function_not_noise():
    data = mechanisms.make_noisy_copies(n_copies=3, n_train=500, noise=1.0, seed=1)
    assert data.names == ["main", "copy1", "copy2", "copy3"]
    y = torch.stack(list(data.train.y.values()))
    # the same function: test targets (noiseless) are identical across copies
    t = torch.stack(list(data.test.y.values()))
    assert torch.equal(t[0], t[3])
    # independent noise: residuals around the true function are uncorrelated, sd ~ 1
    residual = y - data.info["teacher"](data.train.x, 0)[:, 0]
    corr = torch.corrcoef(residual)
    assert corr.fill_diagonal_(0).abs().max() < 0.15
    assert 0.9 < residual.std() < 1.1


def test_noisy_copies_same_problem_for_any_number_of_copies():
    a = mechanisms.make_noisy_copies(0, n_train=30, seed=4)
    b = mechanisms.make_noisy_copies(7, n_train=90, seed=4)
    assert torch.equal(a.test.x, b.test.x)
    assert torch.equal(a.test.y["main"], b.test.y["main"])


def test_attention_tasks_ignore_irrelevant_inputs():
    data = mechanisms.make_attention_tasks(n_tasks=3, n_relevant=2, n_irrelevant=8, seed=0)
    x = data.test.x.clone()
    x[:, 2:] = torch.randn_like(x[:, 2:])  # change only irrelevant inputs
    teacher = data.info["teacher"]
    assert torch.equal(teacher(x[:, :2], 1), teacher(data.test.x[:, :2], 1))
    assert data.info["relevant"] == [0, 1]
    noisy = mechanisms.make_attention_tasks(n_tasks=2, n_train=2000, noise=0.1, main_noise=1.0)
    f = noisy.info["teacher"]
    main_res = noisy.train.y["main"] - f(noisy.train.x[:, :3], 0)[:, 0]
    extra_res = noisy.train.y["extra1"] - f(noisy.train.x[:, :3], 1)[:, 0]
    assert 0.9 < main_res.std() < 1.1 and extra_res.std() < 0.12


def test_eavesdropping_hint_is_the_feature():
    data = mechanisms.make_eavesdropping_tasks(n_test=200, seed=2)
    g = data.info["feature"](data.test.x)
    assert torch.allclose(data.test.y["hint"], g)
    assert torch.allclose(data.test.y["main"], torch.sin(3.0 * g))


def test_shuffle_keeps_labels_breaks_relation():
    data = mt.problems.make_related_tasks(n_tasks=2, n_train=200, relatedness=1.0,
                                          shared_inputs=True)
    shuffled = mechanisms.shuffle_task(data, "task1", seed=0)
    y, ys = data.train.y["task1"], shuffled.train.y["task1"]
    assert torch.equal(y.sort().values, ys.sort().values)
    assert torch.corrcoef(torch.stack([y, ys]))[0, 1].abs() < 0.3
    assert torch.equal(shuffled.train.y["task0"], data.train.y["task0"])
    assert torch.equal(shuffled.test.y["task1"], data.test.y["task1"])
    with pytest.raises(ValueError, match="Unknown task"):
        mechanisms.shuffle_task(data, "task9")


def test_random_labels_and_fit_to_noise():
    data = mechanisms.make_random_label_tasks(n_tasks=2, n_train=400)
    assert abs(data.train.y["random0"].mean() - 0.5) < 0.1
    assert mechanisms.fit_to_noise(0.0) == 1.0 and mechanisms.fit_to_noise(0.5) == 0.0


def test_input_weight_share():
    w = torch.ones(10, 4)
    assert mechanisms.input_weight_share(w, [0, 1]) == pytest.approx(0.2)
    w[2:] = 0
    assert mechanisms.input_weight_share(w, [0, 1]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="inputs, hidden"):
        mechanisms.input_weight_share(torch.ones(3), [0])


def test_input_sensitivity_share_of_a_known_function():
    data = mechanisms.make_attention_tasks(n_tasks=1, n_relevant=2, n_irrelevant=2, seed=0)

    class OnlyFirst(torch.nn.Module):
        def forward(self, x):
            return {"main": 3 * x[:, 0]}

    share = mechanisms.input_sensitivity_share(OnlyFirst(), data.test.x, "main", [0, 1])
    assert share == pytest.approx(1.0)


def test_encode_bits():
    bits = mechanisms.encode_bits(torch.tensor([-5.0, 5.0, 0.0]), -5, 5, bits=10)
    assert bits.shape == (3, 10)
    assert bits[0].sum() == 0 and bits[1].sum() == 10
    levels = (bits * 2 ** torch.arange(9, -1, -1)).sum(dim=1)
    assert levels.tolist() == [0, 1023, 512]  # 511.5 rounds to the even 512


def test_sum_difference_targets_and_variants():
    out = mechanisms.make_sum_difference(n_trials=3, n_train=20, f2="output", seed=0)
    assert out.n_features == 20 and out.tasks[0].outputs == 2
    y = out.train.y["trial0"]
    assert y.shape == (20, 2) and ((y > 0) & (y < 1)).all()
    inp = mechanisms.make_sum_difference(n_trials=3, n_train=20, f2="input", seed=0)
    assert inp.n_features == 21
    # paired: the same A and B in every variant, so F2 (input) equals F2 (output)
    assert torch.allclose(inp.train.x[0, :, -1], y[:, 1])
    assert torch.allclose(inp.train.y["trial0"], y[:, 0])
    with pytest.raises(ValueError, match="f2 must be"):
        mechanisms.make_sum_difference(f2="hidden")


def test_f1_rmse_of_a_perfect_model():
    data = mechanisms.make_sum_difference(n_trials=2, n_train=10, n_test=30, f2="output")

    class Oracle(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return {t.name: data.test.y[t.name] for t in data.tasks}

    assert mechanisms.f1_rmse(Oracle(), data).tolist() == [0.0, 0.0]


def test_subset_keeps_examples_and_order():
    data = mt.problems.make_related_tasks(n_tasks=3, n_train=10)
    part = data.subset(["task2", "task0"])
    assert part.names == ["task2", "task0"]
    assert torch.equal(part.train.x[0], data.train.x[2])
    with pytest.raises(ValueError, match="Unknown task"):
        data.subset(["task7"])


def test_redundant_views_main_sees_both_extra_tasks_one():
    data = mechanisms.make_redundant_views(extra_view="A", n_extra=2, view_size=3, seed=1)
    a, b = data.info["views"]["A"], data.info["views"]["B"]
    x = data.train.x
    assert torch.equal(x[0][:, a], x[0][:, b])  # main: two identical views
    assert not torch.equal(x[1][:, a], x[1][:, b])  # extra tasks: independent views
    teacher = data.info["teacher"]
    # extra task 1 is a function of view A only; with extra_view="B", of view B only
    assert torch.allclose(data.test.y["extra1"], teacher(data.test.x[1][:, a], 1)[:, 0])
    flipped = mechanisms.make_redundant_views(extra_view="B", n_extra=2, view_size=3, seed=1)
    assert torch.allclose(flipped.test.y["extra1"], teacher(flipped.test.x[1][:, b], 1)[:, 0])
    assert torch.equal(flipped.test.y["main"], data.test.y["main"])  # the same main task
    alone = mechanisms.make_redundant_views(extra_view=None, seed=1)
    assert alone.names == ["main"] and torch.equal(alone.test.y["main"], data.test.y["main"])
    with pytest.raises(ValueError, match="extra_view"):
        mechanisms.make_redundant_views(extra_view="C")


def test_lose_view_replaces_only_that_view_of_the_test_inputs():
    data = mechanisms.make_redundant_views(extra_view="A", n_extra=1, seed=2)
    a, b = data.info["views"]["A"], data.info["views"]["B"]
    lost = mechanisms.lose_view(data, "B", seed=2)
    assert torch.equal(lost.test.x[..., a], data.test.x[..., a])
    assert not torch.equal(lost.test.x[..., b], data.test.x[..., b])
    assert lost.train is data.train and torch.equal(lost.test.y["main"], data.test.y["main"])
    assert torch.equal(data.test.x[0][:, a], data.test.x[0][:, b])  # the original is untouched
