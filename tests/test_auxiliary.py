"""Part V: the gradient reversal layer and the auxiliary-task problems."""
import math

import pytest
import torch

import mtl_tutor as mt
from mtl_tutor.problems import auxiliary as aux


def test_gradient_reversal_is_identity_forward_and_negated_scaled_backward():
    x = torch.randn(4, 3, requires_grad=True)
    layer = aux.GradientReversal(scale=0.5)
    y = layer(x)
    assert torch.equal(y, x)
    (3 * y).sum().backward()
    assert torch.allclose(x.grad, torch.full_like(x, -1.5))
    with pytest.raises(ValueError, match="scale must be >= 0"):
        aux.GradientReversal(-1.0)


def test_gradient_reversal_only_flips_what_lies_before_it():
    torch.manual_seed(0)
    net = aux.DomainAdversarialNet(3, hidden=8, feature_dim=2, scale=2.0)
    x = torch.randn(16, 3)
    domain_head = net.domain[1]
    out = net(x)["domain"].sum()
    grads = torch.autograd.grad(out, [net.features[2].weight, domain_head.weight])
    # the same loss without the reversal: head gradient equal, feature gradient * -2
    net.domain[0].scale = 0.0
    plain = torch.nn.Sequential(*list(net.domain)[1:])
    out2 = plain(net.features(x)).squeeze(-1).sum()
    grads2 = torch.autograd.grad(out2, [net.features[2].weight, domain_head.weight])
    assert torch.allclose(grads[1], grads2[1])
    assert torch.allclose(grads[0], -2.0 * grads2[0], atol=1e-6)


def test_domain_adversarial_training_runs_and_scores():
    d = aux.make_shifted_domains(n_source=60, n_target=60, seed=0)
    assert d["source_x"].shape == (60, 3) and set(d["target_y"].unique().tolist()) == {0.0, 1.0}
    torch.manual_seed(0)
    model = aux.DomainAdversarialNet(3)
    aux.fit_domain_adversarial(model, d["source_x"], d["source_y"], d["target_x"], epochs=20)
    assert aux.domain_accuracy(model, d["source_x"], d["source_y"]) > 0.8


@pytest.mark.parametrize("make, aux_names", [
    (lambda: aux.make_related_auxiliary(n_main=5, n_related=20), ["related"]),
    (lambda: aux.make_hint_problem(n_train=20), ["hint1", "hint2"]),
    (lambda: aux.make_marking_problem(n_train=20), ["marking"]),
    (lambda: aux.make_quantised_problem(n_train=20), ["score"]),
    (lambda: aux.make_input_or_output_problem(n_train=20), ["z"]),
    (lambda: aux.make_future_problem(n_train=20), ["future"]),
    (lambda: aux.make_manifold_problem(n_labelled=5, n_unlabelled=20), ["reconstruct"]),
    (lambda: aux.make_auxiliary_family(n_main=5, n_aux=20), None),
])
def test_generators_make_valid_problems_with_main_first(make, aux_names):
    data = make()
    assert data.names[0] == "main"
    if aux_names:
        assert data.names[1:] == aux_names
    rows = aux.compare_auxiliary(data, {"alone": ["main"], "all": data.names}, (8,), seed=0,
                                 epochs=2)
    assert [r["setup"] for r in rows] == ["alone", "all"]
    assert all(math.isfinite(r["error"]) for r in rows)


def test_main_examples_are_repeated_not_new():
    data = aux.make_related_auxiliary(n_main=5, n_related=20)
    x = data.train.x[0]
    related = data.train.x[1]
    assert torch.equal(x[:5], x[5:10]) and not torch.equal(related[:5], related[5:10])
    manifold = aux.make_manifold_problem(n_labelled=4, n_unlabelled=12)
    assert torch.equal(manifold.train.x[0, :4], manifold.train.x[0, 8:12])
    assert torch.equal(manifold.train.y["reconstruct"], manifold.train.x[1])


def test_quantised_classes_follow_the_score():
    data = aux.make_quantised_problem(n_train=500, levels=3)
    y, s = data.train.y["main"], data.train.y["score"]
    assert set(y.unique().tolist()) == {0, 1, 2}
    assert s[y == 0].max() <= s[y == 1].min() and s[y == 1].max() <= s[y == 2].min()


def test_input_or_output_problem_keeps_z_last():
    data = aux.make_input_or_output_problem(n_train=10)
    assert torch.equal(data.train.x[:, -1], data.train.y["z"])
    assert aux.without_last_input(data).n_features == data.n_features - 1


def test_future_targets_are_the_path():
    data = aux.make_future_problem(n_train=10, n_test=5, dim=2, horizon=3, noise=0.0)
    a_path = data.test.y["future"]
    assert a_path.shape == (5, 4)  # steps 1 and 2, two coordinates each


def test_family_thresholds_lower_entropy():
    data = aux.make_auxiliary_family(n_main=10, n_aux=400)
    low = aux.label_entropy(data.train.y["aux_r0.9_t2.0"])
    high = aux.label_entropy(data.train.y["aux_r0.9_t0.0"])
    assert high > 0.9 and low < high
    assert aux.label_entropy(torch.tensor([0, 1, 2, 3])) == pytest.approx(2.0)


def test_compare_auxiliary_needs_main_first():
    data = aux.make_hint_problem(n_train=10)
    with pytest.raises(ValueError, match="first task must be 'main'"):
        aux.compare_auxiliary(data, {"bad": ["hint1", "main"]}, (4,), seed=0, epochs=1)


def test_fixed_weights_work_with_auxiliary_tasks():
    data = aux.make_input_or_output_problem(n_train=20)
    rows = aux.compare_auxiliary(aux.without_last_input(data), {"w": ["main", "z"]}, (8,), 0,
                                 epochs=2, weighting=mt.FixedWeights({"main": 1, "z": 0.1}))
    assert math.isfinite(rows[0]["error"])


def test_validation_is_never_repeated_even_when_sizes_match():
    data = aux.make_related_auxiliary(n_main=5, n_related=20, n_val=20)
    assert not torch.equal(data.val.x[0, :5], data.val.x[0, 5:10])
    family = aux.make_auxiliary_family(n_main=5, n_aux=20, n_val=20)
    assert not torch.equal(family.val.x[0, :5], family.val.x[0, 5:10])
