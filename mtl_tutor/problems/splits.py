"""Random splits of one data set, on a problem whose true answer is known.

A study that has one data set, not a generator, compares methods over J random splits of it
into training and test parts. The splits overlap, so their differences are correlated, and
the naive interval (s / sqrt(J)) is too narrow; Nadeau and Bengio (2003) correct it. To see
by how much, we need the quantity the interval is meant to cover: the expected difference
of the two methods' generalisation errors when trained on n_train examples. This module
gives a small linear multi-task problem where that quantity is exact:

    population = make_linear_population(n_tasks=4, n_features=10, relatedness=0.9)
    x, y = population.sample(40, rng)                    # one data set
    d = split_differences(population, x, y, n_train=30, splits=20, rng=rng)
    mu = expected_difference(population, n_train=30, draws=4000, rng=rng)

Each task t has y = x . beta_t + noise, x ~ N(0, I), beta_t = sqrt(r) beta_0 +
sqrt(1 - r) u_t. The two methods are STL (a least-squares fit per task, "separate") and
linear hard sharing (one least-squares fit to all tasks' examples, "pooled"). For x ~ N(0, I)
a fitted b has the exact generalisation error noise^2 + ||b - beta_t||^2.
"""
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LinearPopulation:
    """T linear tasks: `betas` (T, d), Gaussian inputs, Gaussian noise of sd `noise`."""

    betas: np.ndarray
    noise: float

    @property
    def n_tasks(self) -> int:
        return self.betas.shape[0]

    @property
    def n_features(self) -> int:
        return self.betas.shape[1]

    def sample(self, n: int, rng: np.random.Generator):
        """n examples per task: inputs (T, n, d) and targets (T, n)."""
        _check_count(n, "n", 1)
        x = rng.standard_normal((self.n_tasks, n, self.n_features))
        y = np.einsum("tnd,td->tn", x, self.betas)
        return x, y + self.noise * rng.standard_normal(y.shape)

    def error(self, fitted: np.ndarray) -> np.ndarray:
        """Each task's exact generalisation error (expected squared error on a fresh
        example) of fitted coefficients (..., T, d): noise^2 + ||b_t - beta_t||^2."""
        return self.noise**2 + ((fitted - self.betas) ** 2).sum(axis=-1)


def make_linear_population(n_tasks=4, n_features=10, relatedness=0.9, noise=1.0,
                           seed=0) -> LinearPopulation:
    """T related linear tasks, beta_t = sqrt(r) beta_0 + sqrt(1 - r) u_t with beta_0 and
    u_t ~ N(0, I / d) (so each task's signal has variance about 1)."""
    _check_count(n_tasks, "n_tasks", 1)
    _check_count(n_features, "n_features", 1)
    if not 0.0 <= relatedness <= 1.0:
        raise ValueError(f"relatedness must lie in [0, 1], got {relatedness}.")
    if not noise >= 0:
        raise ValueError(f"noise is a standard deviation and cannot be negative, got {noise}.")
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(n_features) / math.sqrt(n_features)
    own = rng.standard_normal((n_tasks, n_features)) / math.sqrt(n_features)
    betas = math.sqrt(relatedness) * common + math.sqrt(1 - relatedness) * own
    return LinearPopulation(betas, float(noise))


def fit_separate(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares per task: x (..., T, n, d), y (..., T, n) -> coefficients (..., T, d)."""
    gram = np.einsum("...nd,...ne->...de", x, x)
    return np.linalg.solve(gram, np.einsum("...nd,...n->...d", x, y)[..., None])[..., 0]


def fit_pooled(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """One least-squares fit to every task's examples, used by every task: (..., T, d)."""
    gram = np.einsum("...tnd,...tne->...de", x, x)
    b = np.linalg.solve(gram, np.einsum("...tnd,...tn->...d", x, y)[..., None])[..., 0]
    return np.broadcast_to(b[..., None, :], x.shape[:-2] + x.shape[-1:]).copy()


def split_differences(x, y, n_train: int, splits: int, rng: np.random.Generator) -> np.ndarray:
    """The test MSE of pooled minus separate least squares (averaged over the tasks) on
    `splits` random splits of one data set (x (T, n, d), y (T, n)): each split trains on
    n_train examples per task, drawn at random, and tests on the rest."""
    T, n, _ = x.shape
    _check_count(splits, "splits", 2)
    if not x.shape[-1] <= n_train < n:
        raise ValueError(f"n_train must be at least the number of features "
                         f"({x.shape[-1]}) and leave test examples (n = {n}); got {n_train}.")
    order = np.argsort(rng.random((splits, T, n)), axis=-1)  # a random permutation each
    xs = np.take_along_axis(x[None], order[..., None], axis=2)
    ys = np.take_along_axis(y[None], order, axis=2)
    train, test = slice(0, n_train), slice(n_train, n)
    mse = []
    for fit in (fit_pooled, fit_separate):
        b = fit(xs[:, :, train], ys[:, :, train])  # (splits, T, d)
        residual = ys[:, :, test] - np.einsum("stnd,std->stn", xs[:, :, test], b)
        mse.append((residual**2).mean(axis=(1, 2)))
    return mse[0] - mse[1]


def expected_difference(population: LinearPopulation, n_train: int, draws: int,
                        rng: np.random.Generator) -> float:
    """What the split intervals estimate: the expected difference of the generalisation
    errors (pooled minus separate, averaged over tasks) of the two methods trained on
    n_train fresh examples per task, averaged over `draws` training sets (exact errors)."""
    _check_count(draws, "draws", 1)
    x, y = population.sample(n_train * draws, rng)
    x = x.reshape(population.n_tasks, draws, n_train, -1).swapaxes(0, 1)
    y = y.reshape(population.n_tasks, draws, n_train).swapaxes(0, 1)
    pooled = population.error(fit_pooled(x, y)).mean(axis=-1)
    separate = population.error(fit_separate(x, y)).mean(axis=-1)
    return float((pooled - separate).mean())


def _check_count(value, name: str, least: int):
    if not (isinstance(value, (int, np.integer)) and value >= least):
        raise ValueError(f"{name} must be a whole number of at least {least}, got {value!r}.")
