"""The random-splits problem: exact generalisation errors, the two least-squares fits,
and the split differences whose interval the fair-comparison chapter corrects."""
import numpy as np
import pytest

from mtl_tutor.problems import splits


def population(**kwargs):
    return splits.make_linear_population(**{"n_tasks": 3, "n_features": 4, **kwargs})


def test_the_exact_error_is_the_expected_squared_error_on_fresh_examples():
    pop = population(noise=0.5)
    rng = np.random.default_rng(0)
    fitted = pop.betas + 0.3 * rng.standard_normal(pop.betas.shape)
    x, y = pop.sample(200_000, rng)
    monte_carlo = ((y - np.einsum("tnd,td->tn", x, fitted)) ** 2).mean(axis=1)
    assert np.allclose(pop.error(fitted), monte_carlo, rtol=0.02)


def test_the_fits_are_least_squares():
    pop = population(relatedness=0.5)
    x, y = pop.sample(12, np.random.default_rng(1))
    separate = splits.fit_separate(x, y)
    for t in range(pop.n_tasks):
        assert np.allclose(separate[t], np.linalg.lstsq(x[t], y[t], rcond=None)[0])
    pooled = splits.fit_pooled(x, y)
    stacked = np.linalg.lstsq(x.reshape(-1, pop.n_features), y.reshape(-1), rcond=None)[0]
    assert pooled.shape == separate.shape and np.allclose(pooled, stacked[None])


def test_without_noise_both_fits_recover_identical_tasks():
    pop = population(relatedness=1.0, noise=0.0)
    x, y = pop.sample(8, np.random.default_rng(2))
    assert np.allclose(splits.fit_separate(x, y), pop.betas)
    assert np.allclose(splits.fit_pooled(x, y), pop.betas)
    assert np.allclose(pop.error(pop.betas), 0.0)


def test_split_differences_are_repeatable_and_pooling_helps_identical_tasks():
    pop = population(relatedness=1.0)
    x, y = pop.sample(20, np.random.default_rng(3))
    first = splits.split_differences(x, y, 12, 5, np.random.default_rng(4))
    again = splits.split_differences(x, y, 12, 5, np.random.default_rng(4))
    assert first.shape == (5,) and np.array_equal(first, again)
    mu = splits.expected_difference(pop, 12, 500, np.random.default_rng(5))
    assert mu < 0  # one fit from 3 x 12 examples beats three fits from 12 each


def test_bad_input_says_what_is_wrong():
    with pytest.raises(ValueError, match="relatedness must lie in"):
        population(relatedness=1.5)
    with pytest.raises(ValueError, match="noise is a standard deviation"):
        population(noise=-1.0)
    pop = population()
    x, y = pop.sample(10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_train must be at least the number of features"):
        splits.split_differences(x, y, 10, 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="splits must be a whole number of at least 2"):
        splits.split_differences(x, y, 6, 1, np.random.default_rng(0))
