"""Weightings that shape gradients (or draw random weights, or follow the loss curves)
train on a replica axis and end where sequential `fit` ends; the solvers behind them give
one replica's answer whether asked alone or with others."""
import pytest
import torch

import mtl_tutor as mt
from mtl_tutor import weighting as W
from mtl_tutor.gradient_solvers import cagrad_direction, min_norm_weights, nash_weights
from mtl_tutor.problems import make_mixed_pair
from mtl_tutor.replicas import fit_replicas, seeded_models

SEEDS = [0, 1, 2]
TOLERANCE = 5e-5  # relative to the largest weight, as in test_replicas
DATAS = [make_mixed_pair(n_train=48, n_val=24, n_test=50, seed=s) for s in SEEDS]
TASKS = DATAS[0].tasks


def build():
    return mt.hard_sharing(10, (16, 8), TASKS)


WEIGHTINGS = {
    "PCGrad, weighted": lambda m, r: W.PCGrad(m, seed=r, weights={"amount": 1.0,
                                                                  "label": 10.0 * (r + 1)}),
    "MGDA": lambda m, r: W.MGDA(m, m.trunk.parameters(),
                                normalise=["none", "l2", "loss+"][r]),
    "CAGrad": lambda m, r: W.CAGrad(m, m.trunk.parameters(), c=[0.2, 0.5, 0.8][r]),
    "Nash-MTL": lambda m, r: W.NashMTL(m, m.trunk.parameters()),
    "GradNorm": lambda m, r: W.GradNorm(TASKS, m.trunk[-2].weight, alpha=[0.5, 1.5, 1.0][r],
                                        lr=0.05),
    "random weighting": lambda m, r: W.RandomWeighting(TASKS, seed=r),
    "DWA": lambda m, r: W.DynamicWeightAverage(TASKS, [1.0, 2.0, 5.0][r]),
    "log losses": lambda m, r: W.LogLosses(TASKS),
}


@pytest.mark.parametrize("name", list(WEIGHTINGS))
def test_vectorised_weighting_ends_where_fit_ends(name):
    make = WEIGHTINGS[name]
    settings = dict(epochs=25, patience=5, batch_size=16, progress=False)
    models, generators = seeded_models(build, SEEDS)
    histories = fit_replicas(models, DATAS, generators=generators,
                             weighting=[make(m, r) for r, m in enumerate(models)], **settings)
    for r, seed in enumerate(SEEDS):
        mt.set_seed(seed)
        alone = build()
        history = mt.fit(alone, DATAS[r], weighting=make(alone, r), **settings)
        assert len(history) == len(histories[r]) and history.attrs == histories[r].attrs
        a, b = alone.state_dict(), models[r].state_dict()
        scale = max(v.abs().max().item() for v in a.values())
        assert max((a[k] - b[k]).abs().max().item() for k in a) / scale < TOLERANCE


def test_a_penalty_with_own_gradients_needs_the_sequential_loop():
    models, generators = seeded_models(build, SEEDS)
    with pytest.raises(ValueError, match="penalty.*vectorise=False"):
        fit_replicas(models, DATAS, weighting=[W.NashMTL(m, m.trunk.parameters())
                                               for m in models],
                     penalty=lambda m: m.heads.stacked.weight.pow(2).sum(), epochs=1,
                     progress=False)


def gradients(replicas=4, tasks=3, parameters=7, seed=0):
    return torch.randn(replicas, tasks, parameters,
                       generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_batched_solvers_give_each_replica_its_own_answer():
    g = gradients()
    batched = min_norm_weights(g)
    cagrad = cagrad_direction(g, [0.2, 0.4, 0.6, 0.8])
    nash = nash_weights(g)
    for r in range(len(g)):
        torch.testing.assert_close(batched[r], min_norm_weights(g[r]), atol=1e-9, rtol=1e-9)
        torch.testing.assert_close(cagrad[r], cagrad_direction(g[r], [0.2, 0.4, 0.6, 0.8][r]),
                                   atol=1e-9, rtol=1e-9)
        torch.testing.assert_close(nash[r], nash_weights(g[r]))


def test_nash_weights_solve_their_equation_and_ignore_loss_scales():
    g = gradients(replicas=1)[0]
    alpha = nash_weights(g)
    gram = g @ g.T
    assert (alpha > 0).all()
    torch.testing.assert_close(gram @ alpha, 1 / alpha, atol=1e-6, rtol=1e-6)
    scaled = g * torch.tensor([[100.0], [1.0], [0.01]], dtype=g.dtype)
    torch.testing.assert_close(nash_weights(scaled) @ scaled, alpha @ g, atol=1e-6, rtol=1e-6)


def test_mgda_normalisations_and_its_record():
    model = build()
    g = torch.tensor([[3.0, 0.0], [0.0, 1.0]])
    plain = W.MGDA(model, model.trunk.parameters(), record=True)
    assert plain.combine(g).tolist() == pytest.approx([0.3, 0.9])  # a = (0.1, 0.9)
    assert plain.trace[0] == pytest.approx([3.0, 1.0, 0.1, 0.9])
    unit = W.MGDA(model, model.trunk.parameters(), normalise="l2")
    assert unit.combine(g).tolist() == pytest.approx([1.5, 0.5])  # a = (0.5, 0.5)
    by_loss = W.MGDA(model, model.trunk.parameters(), normalise="loss")
    with pytest.raises(ValueError, match="needs the tasks' losses"):
        by_loss.combine(g)
    # losses 3 and 1 make the scaled gradients unit vectors, as "l2" does
    assert by_loss.combine(g, torch.tensor([3.0, 1.0])).tolist() == pytest.approx([1.5, 0.5])
    with pytest.raises(ValueError, match="normalise is"):
        W.MGDA(model, model.trunk.parameters(), normalise="max")


def test_log_losses_do_not_see_a_loss_scale():
    weighting = W.LogLosses(TASKS)
    x = torch.tensor([2.0, 0.5], requires_grad=True)
    (g1,) = torch.autograd.grad(weighting({"amount": 100 * x[0], "label": x[1]}), x)
    (g2,) = torch.autograd.grad(weighting({"amount": x[0], "label": x[1]}), x)
    torch.testing.assert_close(g1, g2)


def test_random_weighting_draws_from_its_own_generator():
    a, b = W.RandomWeighting(TASKS, seed=3), W.RandomWeighting(TASKS, seed=3)
    first = a.draw()
    assert first.sum().item() == pytest.approx(1.0) and (first > 0).all()
    assert torch.equal(first, b.draw()) and not torch.equal(a.draw(), first)


def test_batched_projection_draws_each_replica_order_from_its_generator():
    g = gradients(replicas=3, tasks=4, parameters=6, seed=1).float()
    mine = [torch.Generator().manual_seed(r) for r in range(3)]
    theirs = [torch.Generator().manual_seed(r) for r in range(3)]
    batched = W.project_conflicts(g, mine)
    for r in range(3):
        torch.testing.assert_close(batched[r], W.project_conflicts(g[r], theirs[r]))
