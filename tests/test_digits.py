import pytest
import torch

import mtl_tutor as mt
from mtl_tutor.problems.digits import digit_net, factorise_net, load_digit_tasks, multiclass_error


def test_digit_tasks_are_ten_one_vs_all_tasks_with_a_fixed_test_set():
    small, large = load_digit_tasks(0.05, seed=0), load_digit_tasks(0.4, seed=1)
    assert small.names == [f"is_{k}" for k in range(10)]
    assert small.train.x.shape[1:] == (1, 8, 8) and small.train.n < large.train.n
    assert small.n_features == 64
    assert torch.equal(small.test.x, large.test.x)  # every run is scored on the same images
    y = torch.stack([small.test.y[name] for name in small.names])
    assert torch.equal(y.sum(0), torch.ones(small.test.n))  # exactly one task is positive
    assert torch.equal(y.argmax(0), small.info["labels"]["test"])


@pytest.mark.parametrize("n_shared", [0, 1, 3])
def test_digit_net_shapes(n_shared):
    data = load_digit_tasks(0.05)
    out = digit_net(data.tasks, n_shared)(data.train.x)
    assert out.stacked.shape == (data.train.n, 10)


def test_factorised_net_starts_close_to_the_stl_net():
    data = load_digit_tasks(0.05)
    stl = digit_net(data.tasks, 0)
    for kind in (mt.factorised.LAFWeights, mt.factorised.TuckerWeights, mt.factorised.TTWeights):
        dmtrl = factorise_net(stl, kind, threshold=0.01)
        torch.testing.assert_close(dmtrl(data.test.x).stacked, stl(data.test.x).stacked,
                                   atol=0.05, rtol=0.05)
    with pytest.raises(ValueError, match="needs an STL network"):
        factorise_net(digit_net(data.tasks, 1), mt.factorised.LAFWeights)


def test_multiclass_error_of_a_trained_net_beats_chance():
    data = load_digit_tasks(0.4)
    mt.set_seed(0)
    model = digit_net(data.tasks, 3)
    mt.fit(model, data, epochs=100, lr=1e-2, batch_size=64, patience=20, progress=False)
    assert multiclass_error(model, data) < 0.3  # chance is 0.9
