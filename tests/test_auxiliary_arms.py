"""Part V under the comparison protocol: null copies of auxiliary tasks, the arms, the
entropy-at-fixed-information problem, and domain adaptation as multi-task data."""
import math

import pytest
import torch

import mtl_tutor as mt
from mtl_tutor.adversarial import flip_gradient, reverse_gradient
from mtl_tutor.problems import auxiliary as aux
from mtl_tutor.problems.auxiliary_arms import _knob, bits


def test_flip_gradient_is_reverse_gradient_in_plain_operations():
    x = torch.randn(6, 3, requires_grad=True)
    y = flip_gradient(x, 0.7)
    assert torch.equal(y, x)  # exactly, not approximately
    (torch.arange(18.0).reshape(6, 3) * y).sum().backward()
    flipped = x.grad.clone()
    x.grad = None
    (torch.arange(18.0).reshape(6, 3) * reverse_gradient(x, 0.7)).sum().backward()
    assert torch.allclose(flipped, x.grad)
    batched = torch.func.vmap(lambda v: flip_gradient(v, 2.0))(torch.randn(4, 5))
    assert batched.shape == (4, 5)


@pytest.mark.parametrize("make, names", [
    (lambda: aux.make_hint_problem(n_train=30), ["hint1", "hint2"]),  # shared inputs
    (lambda: aux.make_related_auxiliary(n_main=5, n_related=30), ["related"]),  # per task
])
def test_shuffled_copies_hold_the_same_targets_in_another_order(make, names):
    data = make()
    null = aux.with_shuffled(data, names, seed=3)
    assert null.names == data.names + [aux.shuffled(n) for n in names]
    for split in ("train", "val", "test"):
        a, b = data.split(split), null.split(split)
        for name in data.names:
            assert torch.equal(a.y[name], b.y[name])  # the real tasks are untouched
        for name in names:
            copy = b.y[aux.shuffled(name)]
            assert not torch.equal(copy, a.y[name])
            assert torch.equal(copy.sort(0).values, a.y[name].sort(0).values)
        # one permutation for all the names (their joint distribution is kept)
        first = a.y[names[0]]
        order = torch.stack([(first == v).nonzero()[0, 0] for v in b.y[aux.shuffled(
            names[0])]])
        for name in names[1:]:
            assert torch.equal(b.y[aux.shuffled(name)], a.y[name][order])
        if b.per_task:  # the copy keeps its task's inputs
            assert torch.equal(b.x[-1], a.x[data.names.index(names[0])])
    with pytest.raises(ValueError, match="unknown task"):
        aux.with_shuffled(data, ["nope"])


def test_auxiliary_arms_give_equal_budgets_and_switch_tasks_off():
    names = ["main", "hint1", "shuffled hint1"]
    arms = aux.auxiliary_arms(aux.forked((8,)), names,
                              {"+ hint": ["hint1"], "+ shuffled hint": ["shuffled hint1"]})
    assert [a.name for a in arms] == ["main alone", "+ hint", "+ shuffled hint"]
    assert {len(a.configurations()) for a in arms} == {4}
    alone = arms[0].configurations()
    assert [c["weight_decay"] for c in alone] == list(aux.auxiliary_arms.__defaults__[0])
    assert all(c["weights"] == {"main": 1.0, "hint1": 0.0, "shuffled hint1": 0.0}
               for c in alone)
    assert arms[2].configurations()[0]["weights"] == {"main": 1.0, "hint1": 0.0,
                                                      "shuffled hint1": 0.1}
    with pytest.raises(ValueError, match="must be one of the decays"):
        aux.auxiliary_arms(aux.forked((8,)), names, {}, weight_decay=0.5)


def test_a_task_weighted_zero_leaves_the_main_task_untouched():
    data = aux.make_hint_problem(n_train=40)
    other = aux.with_shuffled(data, ["hint1"], seed=1)
    nets = []
    for d in (data, other):
        d = d.subset(["main", "hint1"]) if d is data else d.subset(["main", "shuffled hint1"])
        mt.set_seed(0)
        net = aux.forked((8,))(d)
        weights = {name: 1.0 if name == "main" else 0.0 for name in d.names}
        mt.fit(net, d, epochs=3, weighting=mt.FixedWeights(weights), progress=False)
        nets.append(net)
    with torch.no_grad():
        assert torch.equal(nets[0](data.test.x)["main"], nets[1](data.test.x)["main"])


def test_compare_with_auxiliary_arms_reports_choices_edges_and_gains():
    def data(seed):
        return aux.with_shuffled(aux.make_hint_problem(n_train=30, seed=seed), ["hint1"],
                                 seed)
    arms = aux.auxiliary_arms(aux.forked((8,)), data(0).names,
                              {"+ hint": ["hint1"], "+ shuffled hint": ["shuffled hint1"]})
    result = mt.compare(arms, data, [0, 1], score=aux.main_error, monitor="main", epochs=3)
    table = aux.summary(result)
    assert list(table.index) == ["main alone", "+ hint", "+ shuffled hint"]
    assert table.loc["+ hint", "chosen (seeds)"].startswith("aux weight ")
    assert table.loc["main alone", "chosen (seeds)"].startswith("weight decay ")
    report = aux.Reported(result)
    weights = _knob(result.arms["+ hint"])[1]
    chosen = result.chosen.query("arm == '+ hint'")["setting weights"].map(
        lambda w: w["hint1"])
    expected = int((chosen == max(weights)).sum())
    assert (f"aux weight at its top in {expected} of 2 seeds" in report.edges("+ hint")) \
        == (expected > 0)
    assert report.budget("+ hint") == 4 and report.parameters("+ hint")
    gains = aux.gains(result, confidence=0.9)
    assert list(gains.index) == ["+ hint", "+ shuffled hint"]
    assert (gains["low"] <= gains["gain (%)"]).all() and gains.seeds.eq(2).all()
    assert set(result.runs.columns) >= {"error"} and "task errors" not in result.runs


def test_label_for_sets_rate_and_information():
    g = torch.randn(20000, generator=torch.Generator().manual_seed(0))
    t, s = aux.label_for(g, 0.1)
    assert s == 0 and float((g > t).float().mean()) == pytest.approx(0.1, abs=1e-3)
    t, s = aux.label_for(g, 0.5, information=0.3)
    normal = torch.distributions.Normal(0.0, 1.0)
    p = normal.cdf((g.double() - t) / s)
    assert float(p.mean()) == pytest.approx(0.5, abs=1e-4)
    assert float(bits(torch.tensor(0.5)) - bits(p).mean()) == pytest.approx(0.3, abs=1e-4)


def test_entropy_problem_varies_entropy_at_fixed_information():
    data = aux.make_entropy_problem(n_main=10, n_aux=2000, n_val=20, n_test=20)
    table = data.info["labels"]
    assert list(table.index) == ["balanced", "rare", "balanced, less information"]
    assert table.loc["rare", "information (bits)"] == pytest.approx(
        table.loc["balanced, less information", "information (bits)"])
    assert table.loc["rare", "entropy (bits)"] == pytest.approx(float(bits(
        torch.tensor(0.1))))
    assert table.loc["balanced", "noise"] == 0 and table.loc["rare", "noise"] == 0
    assert table.loc["balanced, less information", "noise"] > 0
    for name, rate in [("balanced", 0.5), ("rare", 0.1), ("balanced, less information", 0.5)]:
        assert float(data.train.y[name].mean()) == pytest.approx(rate, abs=0.04)
    assert data.train.x.shape == (4, 2000, 10)
    assert torch.equal(data.train.x[0, :10], data.train.x[0, 10:20])  # main repeated


def test_domain_problem_labels_only_the_source():
    data = aux.make_domain_problem(n_source=40, n_target=30, n_val=10, n_test=25)
    main, domain = data.train.y["main"], data.train.y["domain"]
    assert data.missing_labels and data.train.n == 70
    assert not main[:40].isnan().any() and main[40:].isnan().all()
    assert domain[:40].eq(0).all() and domain[40:].eq(1).all()
    assert data.val.y["main"][10:].isnan().all()
    assert data.test.n == 25 and not data.test.y["main"].isnan().any()
    assert data.info["source_test_x"].shape == (25, 3)


def test_adversarial_mlp_trains_as_replicas_as_it_does_alone():
    data = aux.with_shuffled(aux.make_domain_problem(n_source=40, n_target=40, n_val=10,
                                                     n_test=10), ["domain"])
    build = lambda: aux.AdversarialMLP(3, data.tasks, ["domain", "shuffled domain"],  # noqa: E731
                                       hidden=8)
    weights = mt.FixedWeights({"main": 1.0, "domain": 1.0, "shuffled domain": 0.0})
    runs = []
    for vectorise in (True, False):
        models, generators = mt.seeded_models(build, [0, 1])
        mt.fit_replicas(models, data, generators=generators, epochs=3, monitor="main",
                        weighting=weights, vectorise=vectorise, progress=False)
        runs.append(models)
    for a, b in zip(*runs):
        for p, q in zip(a.parameters(), b.parameters()):
            assert torch.allclose(p, q, atol=1e-5)
    assert math.isfinite(aux.main_error(runs[0][0], data, "test")["error"])
