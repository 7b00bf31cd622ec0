import pytest
import torch

import mtl_tutor as mt
from mtl_tutor.factorised import LAFWeights, TTWeights, TuckerWeights
from mtl_tutor.problems.digits import (
    balanced_error,
    digit_net,
    digit_scores,
    dmtrl_net,
    dmtrl_ranks,
    factorise_net,
    hidden_activations,
    load_digit_tasks,
    mean_auc,
    multiclass_error,
    validation_thresholds,
)


def test_digit_tasks_are_ten_one_vs_all_tasks_with_a_fixed_test_set():
    small, large = load_digit_tasks(5, seed=0), load_digit_tasks(40, seed=1)
    assert small.names == [f"is_{k}" for k in range(10)]
    assert small.train.x.shape[1:] == (1, 8, 8) and small.train.n < large.train.n
    assert small.n_features == 64
    assert torch.equal(small.test.x, large.test.x)  # every run is scored on the same images
    y = torch.stack([small.test.y[name] for name in small.names])
    assert torch.equal(y.sum(0), torch.ones(small.test.n))  # exactly one task is positive
    assert torch.equal(y.argmax(0), small.info["labels"]["test"])


@pytest.mark.parametrize("n_shared", [0, 1, 3])
def test_digit_net_shapes(n_shared):
    data = load_digit_tasks(5)
    out = digit_net(data.tasks, n_shared)(data.train.x)
    assert out.stacked.shape == (data.train.n, 10)


def test_factorised_net_starts_close_to_the_stl_net():
    data = load_digit_tasks(5)
    stl = digit_net(data.tasks, 0)
    for kind in (mt.factorised.LAFWeights, mt.factorised.TuckerWeights, mt.factorised.TTWeights):
        dmtrl = factorise_net(stl, kind, threshold=0.01)
        torch.testing.assert_close(dmtrl(data.test.x).stacked, stl(data.test.x).stacked,
                                   atol=0.05, rtol=0.05)
    with pytest.raises(ValueError, match="needs an STL network"):
        factorise_net(digit_net(data.tasks, 1), mt.factorised.LAFWeights)


def test_multiclass_error_of_a_trained_net_beats_chance():
    data = load_digit_tasks(40)
    mt.set_seed(0)
    model = digit_net(data.tasks, 3)
    mt.fit(model, data, epochs=100, lr=1e-2, batch_size=64, patience=20, progress=False)
    assert multiclass_error(model, data) < 0.3  # chance is 0.9


def test_training_and_validation_sets_are_stratified_and_disjoint():
    data = load_digit_tasks(per_digit=7, seed=3, val_per_digit=4)
    labels = data.info["labels"]
    assert torch.equal(labels["train"].bincount(), torch.full((10,), 7))  # no digit missing
    assert torch.equal(labels["val"].bincount(), torch.full((10,), 4))
    assert torch.equal(load_digit_tasks(6, seed=0).info["labels"]["val"].bincount(),
                       torch.full((10,), 6))  # validation sized to the training set
    pixels = {tuple(x.flatten().tolist()) for x in data.train.x}
    assert not pixels & {tuple(x.flatten().tolist()) for x in data.test.x}
    other = load_digit_tasks(per_digit=7, seed=4, val_per_digit=4)
    assert not torch.equal(other.train.x, data.train.x)  # the seed draws the images


@pytest.mark.parametrize("kwargs,message", [
    (dict(per_digit=0), "positive whole number"),
    (dict(per_digit=2.5), "positive whole number"),
    (dict(per_digit=100, val_per_digit=100), "rarest one"),
])
def test_impossible_sizes_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_digit_tasks(**kwargs)


class Fixed(torch.nn.Module):
    """Outputs given scores for the test images, whatever the input."""

    def __init__(self, tasks, scores):
        super().__init__()
        self.tasks, self.scores = tasks, scores
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return mt.data.Stacked([t.name for t in self.tasks], self.scores)


def test_balanced_error_and_auc_agree_with_scikit_learn():
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    data = load_digit_tasks(5)
    labels = data.info["labels"]["test"]
    scores = torch.randn(len(labels), 10, generator=torch.Generator().manual_seed(0))
    scores[torch.arange(len(labels)), labels] += 1.0  # better than chance
    model = Fixed(data.tasks, scores)
    truth = torch.nn.functional.one_hot(labels, 10).numpy()
    want_balanced = sum(1 - balanced_accuracy_score(truth[:, k], scores[:, k] > 0)
                        for k in range(10)) / 10
    want_auc = sum(roc_auc_score(truth[:, k], scores[:, k]) for k in range(10)) / 10
    assert balanced_error(model, data) == pytest.approx(want_balanced, abs=1e-6)
    assert mean_auc(model, data) == pytest.approx(want_auc, abs=1e-6)
    always_no = Fixed(data.tasks, torch.full_like(scores, -1.0))
    assert balanced_error(always_no, data) == pytest.approx(0.5)
    assert mean_auc(always_no, data) == pytest.approx(0.5)  # all tied


class Linear(torch.nn.Module):
    """Fixed scores that depend on the images: a random linear map of the pixels."""

    def __init__(self, tasks):
        super().__init__()
        self.tasks = tasks
        self.map = torch.nn.Linear(64, 10)

    def forward(self, x):
        return mt.data.Stacked([t.name for t in self.tasks], self.map(x.flatten(-3)))


def test_validation_thresholds_minimise_the_validation_balanced_error():
    from sklearn.metrics import balanced_accuracy_score

    data = load_digit_tasks(5)
    torch.manual_seed(0)
    model = Linear(data.tasks)
    chosen = validation_thresholds(model, data)
    with torch.no_grad():
        scores = model(data.val.x).stacked.numpy()
    truth = torch.nn.functional.one_hot(data.info["labels"]["val"], 10).numpy()
    for k in range(10):
        def error(c, k=k):
            return 1 - balanced_accuracy_score(truth[:, k], scores[:, k] > c)
        best = min(error(c) for c in [scores[:, k].min() - 1, *scores[:, k]])
        assert error(float(chosen[k])) == pytest.approx(best, abs=1e-9)
    # applied to the test split, and one number per task
    assert balanced_error(model, data, threshold=chosen) == pytest.approx(
        digit_scores(model, data)["balanced error"])
    assert digit_scores(model, data)["balanced error at 0"] == balanced_error(model, data)


def test_dmtrl_net_has_the_fixed_ranks_and_binds_below_stl():
    data = load_digit_tasks(3, n_test=50)
    stl = digit_net(data.tasks, 0)
    for kind in (LAFWeights, TuckerWeights, TTWeights):
        net = dmtrl_net(data.tasks, kind, 4)
        assert all(layer.weights.ranks()[-1] == 4 for layer in net.layers)
        assert mt.count_parameters(net) < mt.count_parameters(stl)
    assert dmtrl_ranks(TuckerWeights, 8, (10, 16, 1)) == [10, 1, 8]
    assert dmtrl_ranks(TTWeights, 8, (10, 64, 32)) == [16, 8]
    in_l = dmtrl_net(data.tasks, LAFWeights, 3, start=stl)
    in_s = dmtrl_net(data.tasks, LAFWeights, 3, start=stl, singular_values="S")
    for a, b in zip(in_l.layers, in_s.layers):
        torch.testing.assert_close(a.stacked_weight(), b.stacked_weight(), rtol=1e-4,
                                   atol=1e-5)
    with pytest.raises(ValueError, match="positive whole number"):
        dmtrl_net(data.tasks, LAFWeights, 0)


def test_hidden_activations_of_shared_and_task_layers():
    data = load_digit_tasks(3, n_test=50)
    hidden = hidden_activations(digit_net(data.tasks, 1), data.test.x)
    assert [tuple(h.shape) for h in hidden] == [(10, 50, 32), (10, 50, 32), (10, 50, 16)]
    assert torch.equal(hidden[0][0], hidden[0][7])  # the shared first layer
    assert not torch.equal(hidden[1][0], hidden[1][7])
