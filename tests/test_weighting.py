import pytest
import torch

import mtl_tutor as mt
from mtl_tutor import MultiTaskData, Split, Task


def two_regressions(noise=(10.0, 1.0), n=2000, d=5, seed=0):
    """Kendall et al.'s toy: two linear regressions on shared inputs, different noise."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(d, 2, generator=g)

    def split(m):
        x = torch.randn(m, d, generator=g)
        y = x @ w + torch.randn(m, 2, generator=g) * torch.tensor(noise)
        return Split(x, {"noisy": y[:, 0].contiguous(), "clean": y[:, 1].contiguous()})

    return MultiTaskData([Task("noisy"), Task("clean")], split(n), split(500), split(500))


def test_fixed_weights():
    losses = {"a": torch.tensor(2.0), "b": torch.tensor(3.0)}
    assert mt.FixedWeights({"a": 0.5, "b": 2.0})(losses).item() == 7.0
    with pytest.raises(ValueError, match=r"missing: \['b'\], unknown task\(s\): none"):
        mt.FixedWeights({"a": 1.0})(losses)


def test_uncertainty_weighting_learns_the_noise_levels():
    data = two_regressions()
    mt.set_seed(0)
    model = mt.hard_sharing(data.n_features, (), data.tasks)  # linear heads on the inputs
    weighting = mt.UncertaintyWeighting(data.tasks)
    mt.fit(model, data, epochs=60, lr=0.05, batch_size=100, weighting=weighting,
           restore_best=False, progress=False)
    sigmas = weighting.sigmas()
    assert sigmas["noisy"] == pytest.approx(10.0, rel=0.15)
    assert sigmas["clean"] == pytest.approx(1.0, rel=0.15)


def test_uncertainty_weighting_value_by_hand():
    weighting = mt.UncertaintyWeighting([Task("r"), Task("c", "binary")])
    with torch.no_grad():
        weighting.log_variance[:] = torch.tensor([0.0, 2.0])
    value = weighting({"r": torch.tensor(4.0), "c": torch.tensor(1.0)})
    expected = 0.5 * 4.0 + 0.0 + torch.exp(torch.tensor(-2.0)) * 1.0 + 1.0
    assert value.item() == pytest.approx(expected.item())


def test_dynamic_weight_average():
    dwa = mt.DynamicWeightAverage([Task("a"), Task("b")], temperature=1.0)
    assert dwa.weights == {"a": 1.0, "b": 1.0}
    dwa.epoch_end([1.0, 1.0])
    assert dwa.weights == {"a": 1.0, "b": 1.0}  # two epochs are needed for a ratio
    dwa.epoch_end([0.5, 0.9])  # a fell fast, b slowly: b gets more weight
    assert sum(dwa.weights.values()) == pytest.approx(2.0)
    assert dwa.weights["b"] > 1.0 > dwa.weights["a"]


def test_pcgrad_leaves_non_conflicting_gradients_unchanged():
    grads = torch.tensor([[1.0, 0.0, 1.0], [0.5, 2.0, 0.0]])  # dot product 0.5 > 0
    torch.testing.assert_close(mt.project_conflicts(grads), grads)


def test_pcgrad_removes_the_conflicting_component():
    grads = torch.tensor([[1.0, 0.0], [-1.0, 1.0]])  # dot product -1 < 0
    projected = mt.project_conflicts(grads)
    assert projected[0] @ grads[1] == pytest.approx(0.0, abs=1e-6)
    assert projected[1] @ grads[0] == pytest.approx(0.0, abs=1e-6)
    torch.testing.assert_close(projected[0], torch.tensor([0.5, 0.5]))


def test_pcgrad_backward_equals_the_plain_sum_without_conflicts():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    x = torch.randn(8, 3)

    def losses():
        out = model(x)
        return {"a": out[:, 0].pow(2).mean(), "b": out[:, 1].pow(2).mean()}

    sum(losses().values()).backward()  # the two tasks use disjoint weights: no conflict
    expected = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    mt.PCGrad(model).backward(losses())
    for p, e in zip(model.parameters(), expected):
        torch.testing.assert_close(p.grad, e)


def test_gradnorm_trains_and_keeps_weights_summing_to_the_task_count():
    data = two_regressions(noise=(1.0, 1.0))
    data.train.y["noisy"] = data.train.y["noisy"] * 10  # one task on a 10x larger scale
    mt.set_seed(0)
    model = mt.hard_sharing(data.n_features, (16,), data.tasks)
    weighting = mt.GradNorm(data.tasks, model.trunk[0].weight)
    history = mt.fit(model, data, epochs=5, lr=0.01, batch_size=200, weighting=weighting,
                     progress=False)
    w = weighting.w.detach()
    assert torch.isfinite(torch.tensor(history["train_loss"].tolist())).all()
    assert w.sum().item() == pytest.approx(2.0, rel=0.05)
    assert w[0] < w[1]  # the large-scale task's gradients are damped
