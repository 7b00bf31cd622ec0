import pytest
import torch

import mtl_tutor as mt
from mtl_tutor import Task
from mtl_tutor.penalties import (
    pairwise_l2,
    task_norms,
    task_nuclear_norm,
    trace_norm,
    uncoupled_l2,
)
from mtl_tutor.problems.soft import (
    hidden_penalty,
    mean_penalty,
    same_start,
    trunk_l2,
    two_strength_nets,
    weight_measures,
    weights_score,
)

TASKS = [Task(f"t{i}") for i in range(3)]


def stl():
    torch.manual_seed(0)
    return mt.single_task_nets(4, (5, 2), TASKS)


@pytest.mark.parametrize("name, function", [
    ("l2", pairwise_l2), ("trace", trace_norm), ("uncoupled l2", uncoupled_l2),
    ("task nuclear", task_nuclear_norm), ("task norm", task_norms)])
def test_hidden_penalty_sums_the_penalty_over_the_hidden_stacks(name, function):
    model = stl()
    explicit = function(model.branches[0].weight) + function(model.branches[2].weight)
    torch.testing.assert_close(hidden_penalty(name)(model), explicit)


def test_trunk_l2_is_the_uncoupled_pull_on_one_shared_copy():
    torch.manual_seed(0)
    hard = mt.hard_sharing(4, (5, 2), TASKS)
    weights = [hard.trunk[0].weight, hard.trunk[2].weight]
    explicit = 3 * sum((w**2).sum() for w in weights)
    torch.testing.assert_close(trunk_l2(hard), explicit)
    # the same as uncoupled_l2 on a stack of three equal copies, over 3 (one copy)
    stack = torch.stack([weights[0]] * 3)
    torch.testing.assert_close(uncoupled_l2(stack) / 3, 3 * (weights[0] ** 2).sum())


def test_bad_inputs_say_what_to_use():
    with pytest.raises(ValueError, match="No penalty 'l1'"):
        hidden_penalty("l1")
    torch.manual_seed(0)
    with pytest.raises(ValueError, match="trunk_l2"):
        hidden_penalty("l2")(mt.hard_sharing(4, (5, 2), TASKS))
    with pytest.raises(ValueError, match="hidden_penalty"):
        trunk_l2(stl())


def test_weight_measures_of_equal_tasks_and_of_hard_sharing():
    model = stl()
    with torch.no_grad():
        model.branches[0].weight.copy_(model.branches[0].weight[:1].expand(3, -1, -1))
    measures = weight_measures(model)
    assert measures["task distance"] == pytest.approx(0.0, abs=1e-6)
    assert measures["top singular share"] == pytest.approx(1.0, abs=1e-5)
    assert measures["stack norm"] == pytest.approx(model.branches[0].weight.norm().item())
    torch.manual_seed(0)
    hard = weight_measures(mt.hard_sharing(4, (5, 2), TASKS))
    assert hard["task distance"] == 0.0 and hard["top singular share"] == 1.0


def test_weights_score_adds_the_measures_to_the_error():
    data = mt.problems.make_related_tasks(n_tasks=3, n_train=8, n_val=4, n_features=4,
                                          seed=0)
    torch.manual_seed(0)
    score = weights_score(mt.single_task_nets(4, (5, 2), data.tasks), data, "test")
    assert {"error", "task errors", "task distance", "top singular share",
            "stack norm"} <= set(score)


def test_mean_penalty_runs_from_the_coupled_l2_to_its_twin():
    class Data:  # what the model reads of a data set
        n_features, tasks = 4, TASKS

    torch.manual_seed(0)
    model = two_strength_nets(Data, (5, 2), (0.1, 0.0))
    torch.testing.assert_close(mean_penalty(model), 0.1 * hidden_penalty("l2")(model))
    model.strengths = (0.1, 0.1)
    torch.testing.assert_close(mean_penalty(model),
                               0.1 * hidden_penalty("uncoupled l2")(model))
    with pytest.raises(ValueError, match="two_strength_nets"):
        mean_penalty(stl())
    with pytest.raises(ValueError, match="cannot be negative"):
        two_strength_nets(Data, (5, 2), (-1.0, 0.0))


def test_same_start_makes_every_task_start_from_task_0s_draw():
    model = same_start(stl())
    assert weight_measures(model)["task distance"] == 0.0
    for layer in (model.branches[0], model.branches[2], model.heads.stacked):
        torch.testing.assert_close(layer.weight, layer.weight[:1].expand_as(layer.weight))
        torch.testing.assert_close(layer.bias, layer.bias[:1].expand_as(layer.bias))
    torch.manual_seed(0)
    with pytest.raises(ValueError, match="task-stacked"):
        same_start(torch.nn.Linear(2, 2))
