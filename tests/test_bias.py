"""Representation bias helpers (problems.bias): the transfer draw, the frozen-trunk head,
the factor probe of a trunk and the capacity-matched width."""
import pytest
import torch

import mtl_tutor as mt
from mtl_tutor.problems import bias


def test_transfer_draw_holds_the_new_task_and_a_stranger():
    draw = bias.transfer_draw(seed=3, n_pretrain=4, n_train=20, n_new=5)
    assert draw.names == ["task0", "task1", "task2", "task3"]
    new, stranger = draw.info["new"], draw.info["stranger"]
    assert new.names == stranger.names == ["task4"]
    assert new.train.y["task4"].shape[0] == 5
    x = torch.randn(50, 10)  # the new task is of the same environment: the same factors
    assert torch.equal(new.info["teacher"].factors(x), draw.info["teacher"].factors(x))
    assert not torch.allclose(stranger.info["teacher"].factors(x),
                              draw.info["teacher"].factors(x))


def test_head_error_is_small_on_the_true_factors_and_rejects_several_tasks():
    draw = bias.transfer_draw(seed=0, n_pretrain=2, n_train=10, n_new=40)
    new = draw.info["new"]
    teacher = new.info["teacher"]
    exact = bias.head_error(teacher.factors, new)  # the task is linear in the factors
    raw = bias.head_error(lambda x: x, new)  # a linear head on the raw inputs
    assert exact < 0.05 and exact < raw / 5
    with pytest.raises(ValueError, match="one task"):
        bias.head_error(teacher.factors, draw)


def test_transfer_score_reads_a_pretrained_trunk_and_a_model_of_its_own():
    draw = bias.transfer_draw(seed=1, n_pretrain=2, n_train=10)
    model = mt.hard_sharing(10, (8,), draw.tasks)
    scores = bias.transfer_score(model, draw, "test")
    assert set(scores) == {"error", "stranger error", "factor R2"}
    own = bias.transfer_score(mt.hard_sharing(10, (8,), draw.info["new"].tasks),
                              draw.info["new"], "test")
    assert set(own) == {"error", "factor R2"} and own["factor R2"] <= 1


def test_matched_width_gives_stl_parameter_count():
    width = bias.matched_width(16, 20, 16)
    tasks = [f"t{i}" for i in range(16)]
    stl = mt.count_parameters(mt.single_task_nets(20, (16,), tasks))
    shared = mt.count_parameters(mt.hard_sharing(20, (width,), tasks))
    assert abs(shared - stl) <= 20 + 1 + 16
