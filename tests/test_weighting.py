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
    weighting = mt.weighting.UncertaintyWeighting(data.tasks)
    mt.fit(model, data, epochs=60, lr=0.05, batch_size=100, weighting=weighting,
           restore_best=False, progress=False)
    sigmas = weighting.sigmas()
    assert sigmas["noisy"] == pytest.approx(10.0, rel=0.15)
    assert sigmas["clean"] == pytest.approx(1.0, rel=0.15)


def test_uncertainty_weighting_value_by_hand():
    weighting = mt.weighting.UncertaintyWeighting([Task("r"), Task("c", "binary")])
    with torch.no_grad():
        weighting.log_variance[:] = torch.tensor([0.0, 2.0])
    value = weighting({"r": torch.tensor(4.0), "c": torch.tensor(1.0)})
    expected = 0.5 * 4.0 + 0.0 + torch.exp(torch.tensor(-2.0)) * 1.0 + 1.0
    assert value.item() == pytest.approx(expected.item())


def test_dynamic_weight_average():
    dwa = mt.weighting.DynamicWeightAverage([Task("a"), Task("b")], temperature=1.0)
    assert dwa.weights == {"a": 1.0, "b": 1.0}
    dwa.epoch_end([1.0, 1.0])
    assert dwa.weights == {"a": 1.0, "b": 1.0}  # two epochs are needed for a ratio
    dwa.epoch_end([0.5, 0.9])  # a fell fast, b slowly: b gets more weight
    assert sum(dwa.weights.values()) == pytest.approx(2.0)
    assert dwa.weights["b"] > 1.0 > dwa.weights["a"]


def test_pcgrad_leaves_non_conflicting_gradients_unchanged():
    grads = torch.tensor([[1.0, 0.0, 1.0], [0.5, 2.0, 0.0]])  # dot product 0.5 > 0
    torch.testing.assert_close(mt.weighting.project_conflicts(grads), grads)


def test_pcgrad_removes_the_conflicting_component():
    grads = torch.tensor([[1.0, 0.0], [-1.0, 1.0]])  # dot product -1 < 0
    projected = mt.weighting.project_conflicts(grads)
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
    mt.weighting.PCGrad(model).backward(losses())
    for p, e in zip(model.parameters(), expected):
        torch.testing.assert_close(p.grad, e)


def test_gradnorm_trains_and_keeps_weights_summing_to_the_task_count():
    data = two_regressions(noise=(1.0, 1.0))
    data.train.y["noisy"] = data.train.y["noisy"] * 10  # one task on a 10x larger scale
    mt.set_seed(0)
    model = mt.hard_sharing(data.n_features, (16,), data.tasks)
    weighting = mt.weighting.GradNorm(data.tasks, model.trunk[0].weight)
    history = mt.fit(model, data, epochs=5, lr=0.01, batch_size=200, weighting=weighting,
                     progress=False)
    w = weighting.w.detach()
    assert torch.isfinite(torch.tensor(history["train_loss"].tolist())).all()
    assert w.sum().item() == pytest.approx(2.0, rel=0.05)
    assert w[0] < w[1]  # the large-scale task's gradients are damped


def test_gradnorm_keeps_its_weights_positive_and_summing_to_the_task_count():
    # an update that stepped a weight below 0 (as a large weight rate can) is undone: the
    # weight goes to a small floor and the weights are renormalised to sum to T
    data = two_regressions(noise=(1.0, 1.0))
    mt.set_seed(0)
    model = mt.hard_sharing(data.n_features, (16,), data.tasks)
    weighting = mt.weighting.GradNorm(data.tasks, model.trunk[0].weight)
    with torch.no_grad():
        weighting.w.copy_(torch.tensor([-0.5, 2.5]))
    batch = data.train
    preds = model(batch.x)
    weighting.backward({t: (preds[t] - batch.y[t]).pow(2).mean() for t in data.names})
    w = weighting.w.detach()
    assert (w > 0).all() and w.sum().item() == pytest.approx(2.0)
    # the replicas' GradNorm renormalises each row the same way
    rows = torch.tensor([[-0.5, 2.5], [1.5, 0.5], [0.0, 0.0]])
    mt.weighting.renormalise(rows)
    assert (rows > 0).all()
    torch.testing.assert_close(rows.sum(dim=1), torch.full((3,), 2.0))
    torch.testing.assert_close(rows[1], torch.tensor([1.5, 0.5]))
    torch.testing.assert_close(rows[2], torch.tensor([1.0, 1.0]))


def test_gradnorm_with_a_large_weight_rate_keeps_every_weight_positive():
    data = two_regressions(noise=(1.0, 1.0))
    data.train.y["noisy"] = data.train.y["noisy"] * 10  # one task on a 10x larger scale

    class Tracked(mt.weighting.GradNorm):
        def backward(self, losses):  # record the weights each step uses
            super().backward(losses)
            self.lowest = min(getattr(self, "lowest", 2.0), self.w.min().item())

    mt.set_seed(0)
    model = mt.hard_sharing(data.n_features, (16,), data.tasks)
    weighting = Tracked(data.tasks, model.trunk[0].weight, alpha=0.0, lr=0.3)
    mt.fit(model, data, epochs=5, lr=0.01, batch_size=100, weighting=weighting,
           progress=False)
    assert weighting.lowest > 0


def test_pcgrad_with_weights_projects_the_weighted_gradients():
    torch.manual_seed(1)
    model = torch.nn.Linear(3, 1)
    x = torch.randn(8, 3)

    def losses():
        out = model(x)[:, 0]
        return {"a": (out - 1).pow(2).mean(), "b": (out + 1).pow(2).mean()}  # conflicting

    mt.weighting.PCGrad(model, weights={"a": 1.0, "b": 10.0}).backward(losses())
    got = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    scaled = losses()
    mt.weighting.PCGrad(model).backward({"a": scaled["a"], "b": 10.0 * scaled["b"]})
    for g, p in zip(got, model.parameters()):
        torch.testing.assert_close(g, p.grad)
    with pytest.raises(ValueError, match="one weight per task"):
        mt.weighting.PCGrad(model, weights={"a": 1.0}).backward(losses())


# --- MGDA and CAGrad: the combined direction against closed forms and a library -----------

def test_min_norm_weights_of_two_tasks_match_the_closed_form():
    """For two gradients the min-norm point of the segment has a closed form (Sener and
    Koltun, Algorithm 1): a = clip((g2 - g1) . g2 / |g1 - g2|^2, 0, 1) on g1."""
    from mtl_tutor.weighting import min_norm_weights

    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        g1, g2 = torch.randn(2, 7, generator=g, dtype=torch.float64)
        a = ((g2 - g1) @ g2 / (g1 - g2).pow(2).sum()).clamp(0, 1)
        torch.testing.assert_close(min_norm_weights(torch.stack([g1, g2])),
                                   torch.stack([a, 1 - a]))
    # a direction good for both exists only if the min-norm point is not 0
    opposite = torch.tensor([[1.0, 0.0], [-2.0, 0.0]], dtype=torch.float64)
    assert (min_norm_weights(opposite) @ opposite).norm() < 1e-12


def test_min_norm_point_matches_torchjd():
    from mtl_tutor.weighting import min_norm_weights

    torchjd = pytest.importorskip("torchjd.aggregation")
    g = torch.Generator().manual_seed(1)
    for tasks in (3, 5):
        J = torch.randn(tasks, 20, generator=g, dtype=torch.float64)
        theirs = torchjd.MGDA(epsilon=1e-12, max_iters=100000)(J)
        torch.testing.assert_close(min_norm_weights(J) @ J, theirs, atol=1e-8, rtol=1e-8)


def test_cagrad_direction_by_hand():
    """Two orthogonal unit gradients, c = 0.5: by symmetry w = (1/2, 1/2), so g_w = g0 =
    (1/2, 1/2), |g0| = 1/sqrt(2), sqrt(phi) = c |g0|, and d = g0 (1 + c) / (1 + c^2) =
    (0.6, 0.6). With c = 0 it is the mean gradient."""
    from mtl_tutor.weighting import cagrad_direction

    grads = torch.eye(2, dtype=torch.float64)
    torch.testing.assert_close(cagrad_direction(grads, 0.5),
                               torch.tensor([0.6, 0.6], dtype=torch.float64))
    g = torch.Generator().manual_seed(2)
    J = torch.randn(3, 6, generator=g, dtype=torch.float64)
    torch.testing.assert_close(cagrad_direction(J, 0.0), J.mean(dim=0))


def test_cagrad_direction_minimises_its_objective():
    """Against a fine grid over the weights of two tasks: the same w, so the same update."""
    from mtl_tutor.weighting import cagrad_direction

    g = torch.Generator().manual_seed(3)
    for c in (0.2, 0.5, 0.9):
        J = torch.randn(2, 9, generator=g, dtype=torch.float64)
        g0 = J.mean(dim=0)
        root_phi = c * g0.norm()
        a = torch.linspace(0, 1, 100001, dtype=torch.float64)
        gw = a[:, None] * J[0] + (1 - a[:, None]) * J[1]
        best = gw[(gw @ g0 + root_phi * gw.norm(dim=1)).argmin()]
        want = (g0 + root_phi / best.norm() * best) / (1 + c**2)
        torch.testing.assert_close(cagrad_direction(J, c), want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("make", [lambda m: mt.weighting.MGDA(m, m.trunk.parameters()),
                                  lambda m: mt.weighting.CAGrad(m, m.trunk.parameters(), c=0.4)],
                         ids=["MGDA", "CAGrad"])
def test_gradient_combiners_shape_the_trunk_and_leave_the_heads_their_own_gradient(make):
    data = two_regressions(noise=(1.0, 1.0), n=64)
    mt.set_seed(0)
    model = mt.hard_sharing(data.n_features, (8,), data.tasks)
    weighting = make(model)
    out = model(data.train.x)
    losses = {t: (out[t] - data.train.y[t]).pow(2).mean() for t in data.names}
    weighting.backward(losses)
    got = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad()
    out = model(data.train.x)
    sum((out[t] - data.train.y[t]).pow(2).mean() for t in data.names).backward()
    heads = [name for name, _ in model.named_parameters() if name.startswith("heads")]
    assert heads
    for name, p in model.named_parameters():
        if name in heads:
            torch.testing.assert_close(got[name], p.grad)  # the plain sum's gradient
        else:  # the trunk: the combined direction, not the plain sum's
            assert not torch.allclose(got[name], p.grad)
    fresh = mt.hard_sharing(data.n_features, (8,), data.tasks)
    history = mt.fit(fresh, data, epochs=3, weighting=make(fresh), progress=False)
    assert len(history) == 3 and history["train_loss"].notna().all()
