"""Replica training ends where sequential `fit` ends, for every model family of the book.

Each case builds three replicas (other seeds, other settings), trains them at once with
`fit_replicas`, trains each again alone with `fit` from the same seed and setting, and
requires the same history length, best epoch and stopping flag, and weights equal within
TOLERANCE of the largest weight. Measured (AMD EPYC, pinned numerics): the largest
difference is 6e-8 to 3e-7 of the largest weight for the plain networks (one to five
float32 ulps: a batched and a single matrix product sum in other orders) and 4e-6 to 8e-6
for the factorised layers (their weights are products of factors, which amplify the
ulps), 6x or more below TOLERANCE and far below any digit the book prints.
"""
import pytest
import torch
from torch import nn

import mtl_tutor as mt
from mtl_tutor.architectures import (
    BranchedMLP,
    CrossStitchMLP,
    HierarchicalMLP,
    SluiceMLP,
    TaskCovariancePenalty,
)
from mtl_tutor.factorised import DMTRLLinear, LAFWeights, TTWeights, TuckerWeights
from mtl_tutor.problems import make_related_tasks
from mtl_tutor.problems.digits import digit_net, load_digit_tasks
from mtl_tutor.problems.sharing import hidden_l2
from mtl_tutor.replicas import fit_replicas, seeded_models

TOLERANCE = 5e-5  # relative to the largest weight of the model
SEEDS = [0, 1, 2]


def largest_difference(a: nn.Module, b: nn.Module) -> float:
    """max |a - b| over all parameters and buffers, relative to the largest |a|."""
    sa, sb = a.state_dict(), b.state_dict()
    diff = max((sa[k].float() - sb[k].float()).abs().max().item() for k in sa)
    scale = max(v.float().abs().max().item() for v in sa.values())
    return diff / scale


def check_same_as_fit(build, datas, penalty=None, **settings):
    """Train replicas at once and each alone; return the largest relative difference."""
    models, generators = seeded_models(build, SEEDS)
    histories = fit_replicas(models, datas, generators=generators, penalty=penalty,
                             progress=False, **settings)
    worst = 0.0
    for r, seed in enumerate(SEEDS):
        mt.set_seed(seed)
        alone = build()
        own = {k: (v[r] if isinstance(v, list) else v) for k, v in settings.items()}
        strength = own.pop("penalty_weight", 1.0)
        term = None if penalty is None else (lambda m=alone, s=strength: s * penalty(m))
        history = mt.fit(alone, datas[r] if isinstance(datas, list) else datas,
                         penalty=term, progress=False, **own)
        assert len(history) == len(histories[r]), (r, len(history), len(histories[r]))
        assert history.attrs == histories[r].attrs
        worst = max(worst, largest_difference(alone, models[r]))
        torch.testing.assert_close(
            torch.tensor(history["train_loss"].to_numpy()),
            torch.tensor(histories[r]["train_loss"].to_numpy()), rtol=1e-4, atol=1e-6)
    assert worst < TOLERANCE
    return worst


def related(shared=False, n_tasks=3, **kwargs):
    return [make_related_tasks(n_tasks=n_tasks, n_train=48, n_val=24, n_test=50, seed=s,
                               shared_inputs=shared, **kwargs) for s in SEEDS]


def test_hard_sharing_per_task_inputs_with_own_rates_and_decay():
    datas = related()
    check_same_as_fit(lambda: mt.hard_sharing(10, (16, 8), datas[0].tasks), datas,
                      epochs=30, patience=4, batch_size=16, lr=[1e-2, 3e-2, 1e-2],
                      weight_decay=[0.0, 0.0, 1e-3])


def test_stl_stack_with_coupling_penalty_and_loss_weights():
    datas = related(shared=True)
    weights = [mt.FixedWeights({"task0": w, "task1": 1.0, "task2": 1.0}) for w in (1, 3, 10)]
    check_same_as_fit(lambda: mt.single_task_nets(10, (16,), datas[0].tasks), datas,
                      penalty=lambda m: mt.sharing_penalty(m.branches, l2=1.0)(),
                      penalty_weight=[1e-3, 1e-2, 1e-1], weighting=weights, epochs=25,
                      patience=5, batch_size=16)


def test_trace_norm_penalty():
    datas = related()
    check_same_as_fit(lambda: mt.single_task_nets(10, (8,), datas[0].tasks), datas,
                      penalty=lambda m: mt.sharing_penalty(m.branches, trace=1.0)(),
                      penalty_weight=[1e-3, 1e-2, 1e-1], epochs=20, batch_size=16)


def test_one_data_set_shared_by_every_replica_and_a_monitor():
    data = related()[0]
    check_same_as_fit(lambda: mt.ForkedMLP(10, (16, 8), data.tasks, 1), data,
                      epochs=40, patience=3, monitor="task1", batch_size=16)


def test_without_restoring_and_without_validation():
    datas = related()
    check_same_as_fit(lambda: mt.hard_sharing(10, (8,), datas[0].tasks), datas, epochs=40,
                      patience=2, restore_best=False, batch_size=16, lr=3e-2)
    for d in datas:
        d.val = None
    check_same_as_fit(lambda: mt.hard_sharing(10, (8,), datas[0].tasks), datas, epochs=5,
                      batch_size=16)


def test_cross_stitch_with_its_own_learning_rate():
    datas = related(shared=True)
    check_same_as_fit(lambda: CrossStitchMLP(10, (16, 8), datas[0].tasks, stitch_lr=0.05),
                      datas, epochs=15, patience=4, batch_size=16)


def test_sluice_with_its_orthogonality_penalty():
    datas = related(shared=True)
    check_same_as_fit(lambda: SluiceMLP(10, 8, 2, datas[0].tasks), datas,
                      penalty=lambda m: m.orthogonality, penalty_weight=[0.0, 1e-3, 1e-2],
                      epochs=15, batch_size=16)


def test_mmoe_and_branched():
    datas = related(shared=True, n_tasks=4)
    check_same_as_fit(lambda: mt.architectures.MMoE(10, datas[0].tasks, n_experts=3, expert_size=8,
                                      tower_size=4), datas, epochs=15, batch_size=16)
    check_same_as_fit(lambda: BranchedMLP(10, (16, 8), datas[0].tasks, [0, 0, 1, 1]),
                      datas, epochs=15, batch_size=16)


def test_deep_relationship_penalty():
    datas = related(shared=True)
    check_same_as_fit(lambda: mt.single_task_nets(10, (8,), datas[0].tasks), datas,
                      penalty=lambda m: TaskCovariancePenalty(m.branches[0].weight, 1.0)(),
                      penalty_weight=[1e-3, 1e-2, 1e-1], epochs=10, batch_size=16)


def test_heterogeneous_tasks_in_a_hierarchy():
    datas = [mt.problems.make_task_hierarchy(n_train=40, n_val=20, n_test=20, seed=s)
             for s in SEEDS]
    tasks = datas[0].tasks
    check_same_as_fit(lambda: HierarchicalMLP(datas[0].n_features, 8, tasks,
                                              [1] * (len(tasks) - 1) + [2], shortcuts=True),
                      datas, epochs=10, batch_size=16)


@pytest.mark.parametrize("kind", [LAFWeights, TuckerWeights, TTWeights])
def test_factorised_layers_with_fixed_ranks(kind):
    datas = [load_digit_tasks(per_digit=3, seed=s, n_test=50) for s in SEEDS]

    def build():
        net = digit_net(datas[0].tasks, n_shared=0)
        for i, layer in enumerate(net.layers):
            T, n_in, n_out = layer.weight.shape
            ranks = {LAFWeights: [4], TuckerWeights: [min(6, n_in), min(6, n_out), 4],
                     TTWeights: [min(4, n_in), 4]}[kind]
            net.layers[i] = DMTRLLinear.from_stack(kind, layer.weight, layer.bias,
                                                   ranks=ranks)
        return net
    check_same_as_fit(build, datas, epochs=8, batch_size=10)


def test_learned_uncertainty_weighting_replicates_too():
    datas = related()
    weightings = [mt.weighting.UncertaintyWeighting(datas[0].tasks) for _ in SEEDS]
    models, generators = seeded_models(lambda: mt.hard_sharing(10, (8,), datas[0].tasks),
                                       SEEDS)
    fit_replicas(models, datas, generators=generators, weighting=weightings, epochs=10,
                 batch_size=16, progress=False)
    for r, seed in enumerate(SEEDS):
        mt.set_seed(seed)
        alone, weighting = mt.hard_sharing(10, (8,), datas[0].tasks), \
            mt.weighting.UncertaintyWeighting(datas[0].tasks)
        mt.fit(alone, datas[r], weighting=weighting, epochs=10, batch_size=16, progress=False)
        assert largest_difference(alone, models[r]) < TOLERANCE
        torch.testing.assert_close(weighting.log_variance, weightings[r].log_variance,
                                   rtol=1e-4, atol=1e-6)


def test_one_after_another_gives_the_same_results():
    datas = related()
    build = lambda: mt.hard_sharing(10, (8,), datas[0].tasks)  # noqa: E731
    results = []
    for vectorise in (True, False):
        models, generators = seeded_models(build, SEEDS)
        histories = fit_replicas(models, datas, generators=generators, epochs=20, patience=3,
                                 batch_size=16, vectorise=vectorise, progress=False)
        results.append((models, [len(h) for h in histories]))
    assert results[0][1] == results[1][1]
    for a, b in zip(results[0][0], results[1][0]):
        assert largest_difference(a, b) < TOLERANCE


@pytest.mark.parametrize("weighted", [False, True])
def test_stopped_replicas_leave_the_stack_with_the_same_results(monkeypatch, weighted):
    """Replicas that stopped cost no more work, and the others end exactly (bit for bit)
    as they would with every replica kept in the stack to the end."""
    from mtl_tutor.replica_stack import ReplicaStack
    datas = related()
    build = lambda: mt.ForkedMLP(10, (16, 8), datas[0].tasks, n_shared=1)  # noqa: E731
    can_drop, kept = ReplicaStack.can_drop, []

    def run(drop):
        monkeypatch.setattr(ReplicaStack, "can_drop",
                            (lambda self: can_drop(self)) if drop else (lambda self: False))
        monkeypatch.setattr(ReplicaStack, "keep", lambda self, index, keep=ReplicaStack.keep:
                            kept.append(len(index)) or keep(self, index))
        models, generators = seeded_models(build, SEEDS * 2)
        weighting = [mt.weighting.UncertaintyWeighting(datas[0].tasks) for _ in SEEDS * 2] \
            if weighted else mt.weighting.equal_weights
        histories = fit_replicas(models, datas * 2, generators=generators, epochs=60,
                                 patience=4, penalty=hidden_l2,
                                 penalty_weight=[0.0, 0.1, 1.0] * 2, weighting=weighting,
                                 batch_size=16, monitor="task0", progress=False)
        return models, histories
    (a, ha), (b, hb) = run(False), run(True)
    assert kept and kept == sorted(kept, reverse=True)  # the stack shrank as they stopped
    assert len({len(h) for h in hb}) > 1  # the replicas stopped at different epochs
    for x, y, hx, hy in zip(a, b, ha, hb):
        assert hx.equals(hy) and hx.attrs == hy.attrs
        for p, q in zip(x.state_dict().values(), y.state_dict().values()):
            assert torch.equal(p, q)


class Itemising(nn.Module):
    """A model whose forward reads a tensor's value into Python: no replica axis."""

    def __init__(self, tasks):
        super().__init__()
        self.tasks, self.net = tasks, mt.hard_sharing(10, (4,), tasks)

    def forward(self, x):
        if x.sum().item() > 1e9:
            x = x * 0
        return self.net(x)


def test_a_model_vmap_cannot_batch_gets_one_clear_error():
    datas = related()
    models = [Itemising(datas[0].tasks) for _ in SEEDS]
    with pytest.raises(RuntimeError, match="cannot run this model on a replica axis.*"
                                           "vectorise=False"):
        fit_replicas(models, datas, epochs=1, progress=False)
    fit_replicas(models, datas, epochs=1, progress=False, vectorise=False)  # the fallback


class OwnBackward:
    """A weighting that shapes gradients per model and has no path for a replica axis."""

    def __init__(self, model):
        self.model = model

    def __call__(self, losses):
        return sum(losses.values())

    def backward(self, losses):
        sum(losses.values()).backward()


def test_gradient_shaping_weightings_without_a_replica_path_are_refused():
    datas = related()
    models = [mt.hard_sharing(10, (4,), datas[0].tasks) for _ in SEEDS]
    with pytest.raises(TypeError, match="OwnBackward.*vectorise=False"):
        fit_replicas(models, datas, weighting=[OwnBackward(m) for m in models], epochs=1,
                     progress=False)
    fit_replicas(models, datas, weighting=[OwnBackward(m) for m in models], epochs=1,
                 progress=False, vectorise=False)  # the fallback


def test_bad_settings_are_clear():
    datas = related()
    models = [mt.hard_sharing(10, (4,), datas[0].tasks) for _ in SEEDS]
    with pytest.raises(ValueError, match="lr has 2 values for 3 replicas"):
        fit_replicas(models, datas, lr=[1e-2, 1e-3], progress=False)
    with pytest.raises(ValueError, match="copies of one architecture"):
        fit_replicas([models[0], mt.hard_sharing(10, (5,), datas[0].tasks)], datas[:2],
                     epochs=1, progress=False)
    with pytest.raises(ValueError, match="learning rate must be positive"):
        fit_replicas(models, datas, lr=[1e-2, 0.0, 1e-2], progress=False)
