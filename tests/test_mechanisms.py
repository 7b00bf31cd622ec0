"""The generators and measures of Part II (Caruana's mechanisms)."""
import pytest
import torch

import mtl_tutor as mt
from mtl_tutor.problems import mechanisms


def test_noisy_copies_share_function_not_noise():
    data = mechanisms.make_noisy_copies(n_copies=3, n_train=500, noise=1.0, seed=1)
    assert data.names == ["main", "copy1", "copy2", "copy3"]
    y = torch.stack(list(data.train.y.values()))
    # the same function: test targets (noiseless) are identical across copies
    t = torch.stack(list(data.test.y.values()))
    assert torch.equal(t[0], t[3])
    # independent noise: residuals around the true function are uncorrelated, sd ~ 1
    residual = y - data.info["teacher"](data.train.x, 0)[:, 0]
    corr = torch.corrcoef(residual)
    assert corr.fill_diagonal_(0).abs().max() < 0.15
    assert 0.9 < residual.std() < 1.1


def test_noisy_copies_same_problem_for_any_number_of_copies():
    a = mechanisms.make_noisy_copies(0, n_train=30, seed=4)
    b = mechanisms.make_noisy_copies(7, n_train=90, seed=4)
    assert torch.equal(a.test.x, b.test.x)
    assert torch.equal(a.test.y["main"], b.test.y["main"])


def test_attention_tasks_ignore_irrelevant_inputs():
    data = mechanisms.make_attention_tasks(n_tasks=3, n_relevant=2, n_irrelevant=8, seed=0)
    x = data.test.x.clone()
    x[:, 2:] = torch.randn_like(x[:, 2:])  # change only irrelevant inputs
    teacher = data.info["teacher"]
    assert torch.equal(teacher(x[:, :2], 1), teacher(data.test.x[:, :2], 1))
    assert data.info["relevant"] == [0, 1]
    noisy = mechanisms.make_attention_tasks(n_tasks=2, n_train=2000, noise=0.1, main_noise=1.0)
    f = noisy.info["teacher"]
    main_res = noisy.train.y["main"] - f(noisy.train.x[:, :3], 0)[:, 0]
    extra_res = noisy.train.y["extra1"] - f(noisy.train.x[:, :3], 1)[:, 0]
    assert 0.9 < main_res.std() < 1.1 and extra_res.std() < 0.12


def test_eavesdropping_hint_is_the_feature():
    data = mechanisms.make_eavesdropping_tasks(n_test=200, seed=2)
    g = data.info["feature"](data.test.x)
    assert torch.allclose(data.test.y["hint"], g)
    assert torch.allclose(data.test.y["main"], torch.sin(3.0 * g))


def test_shuffle_keeps_labels_breaks_relation():
    data = mt.problems.make_related_tasks(n_tasks=2, n_train=200, relatedness=1.0,
                                          shared_inputs=True)
    shuffled = mechanisms.shuffle_task(data, "task1", seed=0)
    y, ys = data.train.y["task1"], shuffled.train.y["task1"]
    assert torch.equal(y.sort().values, ys.sort().values)
    assert torch.corrcoef(torch.stack([y, ys]))[0, 1].abs() < 0.3
    assert torch.equal(shuffled.train.y["task0"], data.train.y["task0"])
    assert torch.equal(shuffled.test.y["task1"], data.test.y["task1"])
    with pytest.raises(ValueError, match="Unknown task"):
        mechanisms.shuffle_task(data, "task9")


def test_random_labels_and_fit_to_noise():
    data = mechanisms.make_random_label_tasks(n_tasks=2, n_train=400)
    assert abs(data.train.y["random0"].mean() - 0.5) < 0.1
    assert mechanisms.fit_to_noise(0.0) == 1.0 and mechanisms.fit_to_noise(0.5) == 0.0


def test_input_weight_share():
    w = torch.ones(10, 4)
    assert mechanisms.input_weight_share(w, [0, 1]) == pytest.approx(0.2)
    w[2:] = 0
    assert mechanisms.input_weight_share(w, [0, 1]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="inputs, hidden"):
        mechanisms.input_weight_share(torch.ones(3), [0])


def test_input_sensitivity_share_of_a_known_function():
    data = mechanisms.make_attention_tasks(n_tasks=1, n_relevant=2, n_irrelevant=2, seed=0)

    class OnlyFirst(torch.nn.Module):
        def forward(self, x):
            return {"main": 3 * x[:, 0]}

    share = mechanisms.input_sensitivity_share(OnlyFirst(), data.test.x, "main", [0, 1])
    assert share == pytest.approx(1.0)


def test_encode_bits():
    bits = mechanisms.encode_bits(torch.tensor([-5.0, 5.0, 0.0]), -5, 5, bits=10)
    assert bits.shape == (3, 10)
    assert bits[0].sum() == 0 and bits[1].sum() == 10
    levels = (bits * 2 ** torch.arange(9, -1, -1)).sum(dim=1)
    assert levels.tolist() == [0, 1023, 512]  # 511.5 rounds to the even 512


def test_sum_difference_targets_and_variants():
    out = mechanisms.make_sum_difference(n_trials=3, n_train=20, f2="output", seed=0)
    assert out.n_features == 20 and out.tasks[0].outputs == 2
    y = out.train.y["trial0"]
    assert y.shape == (20, 2) and ((y > 0) & (y < 1)).all()
    inp = mechanisms.make_sum_difference(n_trials=3, n_train=20, f2="input", seed=0)
    assert inp.n_features == 21
    # paired: the same A and B in every variant, so F2 (input) equals F2 (output)
    assert torch.allclose(inp.train.x[0, :, -1], y[:, 1])
    assert torch.allclose(inp.train.y["trial0"], y[:, 0])
    with pytest.raises(ValueError, match="f2 must be"):
        mechanisms.make_sum_difference(f2="hidden")


def test_f1_rmse_of_a_perfect_model():
    data = mechanisms.make_sum_difference(n_trials=2, n_train=10, n_test=30, f2="output")

    class Oracle(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return {t.name: data.test.y[t.name] for t in data.tasks}

    assert mechanisms.f1_rmse(Oracle(), data).tolist() == [0.0, 0.0]


def test_subset_keeps_examples_and_order():
    data = mt.problems.make_related_tasks(n_tasks=3, n_train=10)
    part = data.subset(["task2", "task0"])
    assert part.names == ["task2", "task0"]
    assert torch.equal(part.train.x[0], data.train.x[2])
    with pytest.raises(ValueError, match="Unknown task"):
        data.subset(["task7"])


def test_redundant_views_main_sees_both_extra_tasks_one():
    data = mechanisms.make_redundant_views(extra_view="A", n_extra=2, view_size=3, seed=1)
    a, b = data.info["views"]["A"], data.info["views"]["B"]
    x = data.train.x
    assert torch.equal(x[0][:, a], x[0][:, b])  # main: two identical views
    assert not torch.equal(x[1][:, a], x[1][:, b])  # extra tasks: independent views
    teacher = data.info["teacher"]
    # extra task 1 is a function of view A only; with extra_view="B", of view B only
    assert torch.allclose(data.test.y["extra1"], teacher(data.test.x[1][:, a], 1)[:, 0])
    flipped = mechanisms.make_redundant_views(extra_view="B", n_extra=2, view_size=3, seed=1)
    assert torch.allclose(flipped.test.y["extra1"], teacher(flipped.test.x[1][:, b], 1)[:, 0])
    assert torch.equal(flipped.test.y["main"], data.test.y["main"])  # the same main task
    alone = mechanisms.make_redundant_views(extra_view=None, seed=1)
    assert alone.names == ["main"] and torch.equal(alone.test.y["main"], data.test.y["main"])
    with pytest.raises(ValueError, match="extra_view"):
        mechanisms.make_redundant_views(extra_view="C")


def test_lose_view_replaces_only_that_view_of_the_test_inputs():
    data = mechanisms.make_redundant_views(extra_view="A", n_extra=1, seed=2)
    a, b = data.info["views"]["A"], data.info["views"]["B"]
    lost = mechanisms.lose_view(data, "B", seed=2)
    assert torch.equal(lost.test.x[..., a], data.test.x[..., a])
    assert not torch.equal(lost.test.x[..., b], data.test.x[..., b])
    assert lost.train is data.train and torch.equal(lost.test.y["main"], data.test.y["main"])
    assert torch.equal(data.test.x[0][:, a], data.test.x[0][:, b])  # the original is untouched


def test_attention_both_holds_the_extra_tasks_and_their_mirrors():
    both = mechanisms.make_attention_tasks(n_tasks=3, n_irrelevant=7, shared_inputs=False,
                                           extra_inputs="both", seed=4)
    same = mechanisms.make_attention_tasks(n_tasks=3, n_irrelevant=7, shared_inputs=False,
                                           seed=4)
    assert both.names == ["main", "extra1", "extra2", "other1", "other2"]
    for name in same.names:  # main and the extra tasks are those of extra_inputs="same"
        assert torch.equal(both.subset([name]).train.x, same.subset([name]).train.x)
        assert torch.equal(both.train.y[name], same.train.y[name])
    f, x = both.info["teacher"], both.train.x
    for t in (1, 2):  # the mirror: same examples and noise, read from inputs 3 to 5
        assert torch.equal(x[t], x[2 + t])
        noise = both.train.y[f"extra{t}"] - f(x[t][:, :3], t)[:, 0]
        mirror = f(x[t][:, 3:6], t)[:, 0] + noise
        assert torch.allclose(both.train.y[f"other{t}"], mirror, atol=1e-6)
    with pytest.raises(ValueError, match="'same', 'other' or 'both'"):
        mechanisms.make_attention_tasks(extra_inputs="mirror")


def test_redundant_views_both_mirrors_the_extra_tasks():
    both = mechanisms.make_redundant_views(extra_view="both", n_extra=2, seed=3)
    on_a = mechanisms.make_redundant_views(extra_view="A", n_extra=2, seed=3)
    assert both.names == ["main", "onA1", "onA2", "onB1", "onB2"]
    assert torch.equal(both.train.x[:3], on_a.train.x)  # main and the tasks on view A
    assert torch.equal(both.train.y["onA1"], on_a.train.y["extra1"])
    swapped = both.train.x[1][:, [3, 4, 5, 0, 1, 2]]  # views A and B exchanged
    assert torch.equal(both.train.x[3], swapped)
    assert torch.equal(both.train.y["onB1"], both.train.y["onA1"])


def test_views_of_a_draw():
    data = mechanisms.make_noisy_copies(2, n_train=50, n_val=20, seed=1)
    first = mechanisms.first_examples(data, 10)
    assert first.train.n == 10 and torch.equal(first.train.x, data.train.x[:10])
    assert first.val is data.val and first.test is data.test
    with pytest.raises(ValueError, match="between 1 and the 50"):
        mechanisms.first_examples(data, 51)
    averaged = mechanisms.average_copies(data)
    assert averaged.names == ["main"]
    mean = (data.train.y["main"] + data.train.y["copy1"] + data.train.y["copy2"]) / 3
    assert torch.allclose(averaged.train.y["main"], mean)
    assert torch.equal(averaged.val.y["main"], data.val.y["main"])  # main's own noisy labels


def test_join_tasks_adds_another_draws_tasks():
    own = mt.problems.make_environment_tasks(n_tasks=2, n_train=5, n_val=4, n_test=6, seed=0)
    other = mt.problems.make_environment_tasks(n_tasks=2, n_train=5, n_val=4, n_test=6,
                                               seed=9)
    joined = mechanisms.join_tasks(own, other, {"task1": "other1"})
    assert joined.names == ["task0", "task1", "other1"]
    assert torch.equal(joined.test.x[2], other.test.x[1])
    assert torch.equal(joined.val.y["other1"], other.val.y["task1"])
    with pytest.raises(ValueError, match="tasks of data already"):
        mechanisms.join_tasks(own, other, {"task1": "task0"})
    shared = mt.problems.make_related_tasks(n_tasks=2, n_train=5, shared_inputs=True)
    with pytest.raises(ValueError, match="per-task inputs"):
        mechanisms.join_tasks(shared, shared, {"task1": "x"})


def test_factor_recovery_reads_what_a_representation_holds():
    teacher = mt.problems.make_environment_tasks(n_tasks=2, seed=0).info["teacher"]
    g = torch.Generator().manual_seed(0)
    x_fit, x_eval = torch.randn(2, 500, 10, generator=g)
    exact = mechanisms.factor_recovery(teacher.factors, teacher.factors, x_fit, x_eval)
    assert exact.shape == (4,) and (exact > 0.99).all()
    noise = mechanisms.factor_recovery(lambda x: torch.randn(len(x), 8, generator=g),
                                       teacher.factors, x_fit, x_eval)
    assert (noise < 0.1).all()


def test_error_parts_add_up_to_the_mean_squared_error():
    g = torch.Generator().manual_seed(1)
    y = torch.randn(200, generator=g)
    p = 0.5 * y + torch.randn(200, generator=g) + 0.3
    parts = mechanisms.error_parts(p, y)
    total = parts["bias^2"] + parts["var(prediction)"] + parts["var(target)"] - 2 * parts["cov"]
    assert parts["mse"] == pytest.approx(total, rel=1e-9)
    assert parts["mse"] == pytest.approx(float((p - y).pow(2).mean()), rel=1e-5)
    assert 0 < parts["correlation"] < 1


def test_f2_as_gives_the_other_versions_of_table_6():
    out = mechanisms.make_sum_difference(n_trials=2, n_train=8, f2="output", seed=3)
    for f2 in ("none", "input"):
        view, drawn = mechanisms.f2_as(out, f2), mechanisms.make_sum_difference(
            n_trials=2, n_train=8, f2=f2, seed=3)
        for split in ("train", "val", "test"):
            assert torch.equal(view.split(split).x, drawn.split(split).x)
            assert all(torch.equal(view.split(split).y[k], v)
                       for k, v in drawn.split(split).y.items())
    with pytest.raises(ValueError, match="f2='output'"):
        mechanisms.f2_as(mechanisms.make_sum_difference(n_trials=2, f2="none"), "input")


def test_shuffle_tasks_permutes_each_task_on_its_own():
    data = mechanisms.make_noisy_copies(2, n_train=50, n_val=20, seed=0)
    null = mechanisms.shuffle_tasks(data, ["copy1", "copy2"], seed=3)
    for name in ("copy1", "copy2"):
        assert torch.equal(null.train.y[name].sort().values, data.train.y[name].sort().values)
        assert not torch.equal(null.train.y[name], data.train.y[name])
    assert torch.equal(null.train.y["main"], data.train.y["main"])
    assert torch.equal(null.test.y["copy1"], data.test.y["copy1"])


def test_relevant_inputs_only_keeps_the_relevant_columns():
    data = mechanisms.make_attention_tasks(n_tasks=2, n_relevant=3, n_irrelevant=7,
                                           shared_inputs=False, seed=1)
    oracle = mechanisms.relevant_inputs_only(data)
    assert oracle.n_features == 3 and oracle.info["relevant"] == [0, 1, 2]
    assert torch.equal(oracle.test.x, data.test.x[..., :3])
    assert torch.equal(oracle.train.y["main"], data.train.y["main"])
    with pytest.raises(ValueError, match="relevant"):
        mechanisms.relevant_inputs_only(mechanisms.make_noisy_copies(1, seed=0))
