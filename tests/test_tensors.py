import numpy as np
import pytest
import torch

from mtl_tutor import tensors


@pytest.fixture
def x():
    torch.manual_seed(0)
    return torch.randn(4, 5, 6, dtype=torch.float64)


def test_unfold_by_hand():
    x = torch.arange(24.0).reshape(2, 3, 4)
    u1 = tensors.unfold(x, 1)
    assert u1.shape == (3, 8)
    # the columns are the mode-1 fibres x[i, :, k]
    torch.testing.assert_close(u1[:, 0], x[0, :, 0])
    torch.testing.assert_close(u1[:, 1], x[0, :, 1])
    torch.testing.assert_close(u1[:, 4], x[1, :, 0])


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_fold_undoes_unfold(x, mode):
    torch.testing.assert_close(tensors.fold(tensors.unfold(x, mode), mode, x.shape), x)


def test_mode_dot_equals_einsum(x):
    u = torch.randn(7, 5, dtype=torch.float64)
    torch.testing.assert_close(tensors.mode_dot(x, u, 1), torch.einsum("ijk,aj->iak", x, u))


def test_tensor_dot_is_a_matrix_product_for_matrices():
    a, b = torch.randn(3, 4), torch.randn(4, 2)
    torch.testing.assert_close(tensors.tensor_dot(a, b, [1], [0]), a @ b)
    with pytest.raises(ValueError, match="contracted axes must match"):
        tensors.tensor_dot(a, b, [0], [0])


def test_full_rank_decompositions_are_exact(x):
    core, factors = tensors.hosvd(x, ranks=[4, 5, 6])
    assert tensors.relative_error(x, tensors.tucker_to_tensor(core, factors)) < 1e-12
    cores = tensors.tt_svd(x, ranks=[4, 6])
    assert [tuple(c.shape) for c in cores] == [(1, 4, 4), (4, 5, 6), (6, 6, 1)]
    assert tensors.relative_error(x, tensors.tt_to_tensor(cores)) < 1e-12


def test_hosvd_factors_are_orthonormal(x):
    _, factors = tensors.hosvd(x, ranks=[2, 3, 3])
    for u in factors:
        torch.testing.assert_close(u.T @ u, torch.eye(u.shape[1], dtype=x.dtype))


def test_tt_cores_are_left_orthonormal(x):
    cores = tensors.tt_svd(x, threshold=0.3)
    for core in cores[:-1]:
        m = core.reshape(-1, core.shape[-1])
        torch.testing.assert_close(m.T @ m, torch.eye(m.shape[1], dtype=x.dtype))


@pytest.mark.parametrize("eps", [0.05, 0.2, 0.5])
def test_thresholds_bound_the_error(x, eps):
    core, factors = tensors.hosvd(x, threshold=eps)
    assert tensors.relative_error(x, tensors.tucker_to_tensor(core, factors)) <= eps
    assert tensors.relative_error(x, tensors.tt_to_tensor(tensors.tt_svd(x, threshold=eps))) <= eps


def test_larger_threshold_means_smaller_ranks(x):
    small = [u.shape[1] for u in tensors.hosvd(x, threshold=0.05)[1]]
    large = [u.shape[1] for u in tensors.hosvd(x, threshold=0.5)[1]]
    assert all(a >= b for a, b in zip(small, large)) and small != large


def test_compose_then_decompose_round_trips():
    torch.manual_seed(1)
    core = torch.randn(2, 3, 2, dtype=torch.float64)
    factors = [torch.linalg.qr(torch.randn(n, r, dtype=torch.float64)).Q
               for n, r in [(5, 2), (6, 3), (4, 2)]]
    x = tensors.tucker_to_tensor(core, factors)
    core2, factors2 = tensors.hosvd(x, threshold=1e-6)
    assert [u.shape[1] for u in factors2] == [2, 3, 2]  # the true multilinear ranks
    torch.testing.assert_close(tensors.tucker_to_tensor(core2, factors2), x)
    cores = tensors.tt_svd(x, threshold=1e-6)
    torch.testing.assert_close(tensors.tt_to_tensor(cores), x)


def test_mean_cosine_reference_matrices():
    assert tensors.mean_cosine(torch.eye(5)) == pytest.approx(0.0)
    assert tensors.mean_cosine(torch.randn(4, 1).repeat(1, 3)) == pytest.approx(1.0)
    clusters = torch.zeros(2, 10)
    clusters[0, :5], clusters[1, 5:] = 1.0, 1.0
    assert tensors.mean_cosine(clusters) == pytest.approx(40 / 90)  # pairs in a cluster


def test_sharing_strength_is_the_papers_normalised_rho():
    e = torch.e
    for T in (2, 10):  # S = I by formula: (2e + T - 2) / (e^2 + T - 1)
        want = (2 * e + T - 2) / (e ** 2 + T - 1)
        assert tensors.sharing_strength(torch.eye(T)) == pytest.approx(want, rel=1e-5)
    hard = torch.zeros(5, 5)
    hard[0] = 1.0
    assert tensors.sharing_strength(hard) == pytest.approx(1.0)
    same = torch.randn(4, 1).repeat(1, 3)
    assert tensors.sharing_strength(same) == pytest.approx(1.0)


def test_weight_similarity_does_not_depend_on_the_factorisation_but_rho_does():
    g = torch.Generator().manual_seed(0)
    L, S = torch.randn(12, 4, generator=g), torch.randn(4, 6, generator=g)
    M = torch.diag(torch.tensor([3.0, 0.5, 1.0, 2.0])) + 0.1 * torch.randn(4, 4, generator=g)
    other_L, other_S = L @ M, torch.linalg.solve(M, S)  # (L M)(M^-1 S) = L S
    torch.testing.assert_close(other_L @ other_S, L @ S, atol=1e-4, rtol=1e-4)
    assert tensors.weight_similarity(other_L @ other_S) == pytest.approx(
        tensors.weight_similarity(L @ S), abs=1e-5)
    assert abs(tensors.sharing_strength(other_S) - tensors.sharing_strength(S)) > 0.01
    # a (in, out, tasks) stack: the tasks' flattened weights
    stack = torch.randn(3, 4, 5, generator=g)
    assert tensors.weight_similarity(stack) == pytest.approx(
        tensors.mean_cosine(stack.reshape(12, 5)))


@pytest.mark.parametrize("call,message", [
    (lambda x: tensors.hosvd(x, ranks=[4, 9, 6]), "rank 9 at position 1 is impossible"),
    (lambda x: tensors.hosvd(x, ranks=[4, 5]), "expected 3 ranks"),
    (lambda x: tensors.hosvd(x, threshold=1.5), "strictly between 0 and 1"),
    (lambda x: tensors.tt_svd(x, threshold=0.0), "strictly between 0 and 1"),
    (lambda x: tensors.tt_svd(x, ranks=[4, 7]), "must lie between 1 and 6"),
    (lambda x: tensors.hosvd(x), "either ranks or a relative-error threshold"),
    # the edges found against TensorLy (issue 23): unreachable, zero, negative, fractional
    (lambda x: tensors.tt_svd(x, ranks=[1, 6]), "rank 6 at position 1 cannot be reached.*after "
                                           "rank 1: the largest reachable there is 5"),
    (lambda x: tensors.hosvd(torch.randn(10, 2, 3, dtype=x.dtype), ranks=[8, 2, 3]),
     r"rank 8 at position 0 is impossible.*between 1 and 6 \(the largest reachable\)"),
    (lambda x: tensors.hosvd(x, ranks=[0, 2, 2]), "between 1 and 4"),
    (lambda x: tensors.tt_svd(x, ranks=[-1, 2]), "between 1 and 4"),
    (lambda x: tensors.hosvd(x, ranks=[2.5, 2, 2]), "ranks must be whole numbers, got 2.5"),
    (lambda x: tensors.tt_svd(x, ranks=[2, 2, 2]), "expected 2 ranks"),
    (lambda x: tensors.unfold(x, 3), "mode must be between 0 and 2"),
    (lambda x: tensors.mode_dot(x, torch.ones(2, 3, dtype=x.dtype), 1),
     r"must have shape \(J, 5\)"),
])
def test_bad_decomposition_input_is_a_clear_error(x, call, message):
    with pytest.raises(ValueError, match=message):
        call(x)


def test_every_reachable_rank_works(x):
    """At every rank the checks allow, the decompositions run and have the asked shapes."""
    for r1 in range(1, 5):
        for r2 in range(1, min(r1 * 5, 6) + 1):
            cores = tensors.tt_svd(x, ranks=[r1, r2])
            assert [c.shape[2] for c in cores[:-1]] == [r1, r2]
    core, _ = tensors.hosvd(x, ranks=[4, 5, 6])
    assert tuple(core.shape) == (4, 5, 6)


def test_cp_als_recovers_a_low_rank_tensor():
    g = torch.Generator().manual_seed(0)
    factors = [torch.randn(n, 3, generator=g, dtype=torch.float64) for n in (6, 5, 4)]
    x = tensors.cp_to_tensor(factors)
    torch.testing.assert_close(x, torch.einsum("ir,jr,kr->ijk", *factors))
    fitted = tensors.cp_als(x, 3, iters=3000, tol=1e-15)
    assert tensors.relative_error(x, tensors.cp_to_tensor(fitted)) < 1e-6
    kr = tensors.khatri_rao(factors[1:])  # unfold's column order: the last mode fastest
    torch.testing.assert_close(tensors.unfold(x, 0), factors[0] @ kr.T)
    with pytest.raises(ValueError, match="positive whole number"):
        tensors.cp_als(x, 0)


# --- against TensorLy (a test-only dependency), at valid ranks -------------------------------

tl = pytest.importorskip("tensorly")
from tensorly.decomposition import parafac, tensor_train, tucker  # noqa: E402


def test_unfold_fold_and_mode_product_match_tensorly(x):
    a = x.numpy()
    for mode in range(3):
        np.testing.assert_allclose(tensors.unfold(x, mode).numpy(), tl.unfold(a, mode),
                                   atol=1e-15)
        np.testing.assert_allclose(
            tensors.fold(tensors.unfold(x, mode), mode, x.shape).numpy(),
            tl.fold(tl.unfold(a, mode), mode, a.shape), atol=1e-15)
        m = np.random.default_rng(mode).normal(size=(2, a.shape[mode]))
        np.testing.assert_allclose(tensors.mode_dot(x, torch.from_numpy(m), mode).numpy(),
                                   tl.tenalg.mode_dot(a, m, mode), atol=1e-12)


@pytest.mark.parametrize("ranks", [[1, 1], [2, 3], [4, 5], [3, 6]])
def test_tt_svd_matches_tensorly(x, ranks):
    ours = tensors.tt_to_tensor(tensors.tt_svd(x, ranks=ranks)).numpy()
    theirs = tl.tt_to_tensor(tensor_train(x.numpy(), rank=[1, *ranks, 1]))
    np.testing.assert_allclose(ours, theirs, atol=1e-10)


@pytest.mark.parametrize("ranks", [[1, 1, 1], [2, 3, 2], [4, 5, 6], [3, 2, 4]])
def test_hosvd_is_quasi_optimal_against_tensorlys_tucker(x, ranks):
    """TensorLy's tucker refines an HOSVD start (HOOI), so its error is at most ours, and
    HOSVD's error is at most sqrt(N) times the best possible (De Lathauwer et al.): on a
    tensor with the asked structure plus a little noise, the two agree within 1 %."""
    def errors(t):
        core, factors = tensors.hosvd(torch.from_numpy(t), ranks=ranks)
        ours = np.linalg.norm(tensors.tucker_to_tensor(core, factors).numpy() - t)
        theirs = np.linalg.norm(tl.tucker_to_tensor(tucker(t, rank=ranks, init="svd")) - t)
        return ours, theirs

    ours, theirs = errors(x.numpy())  # random: the hard case
    assert theirs <= ours + 1e-9 and ours <= np.sqrt(3) * theirs + 1e-9
    rng = np.random.default_rng(1)
    core = rng.normal(size=ranks)
    structured = tl.tucker_to_tensor((core, [np.linalg.qr(rng.normal(size=(n, r)))[0]
                                             for n, r in zip(x.shape, ranks)]))
    ours, theirs = errors(structured + 0.01 * rng.normal(size=x.shape))
    assert theirs <= ours + 1e-9 and ours <= 1.01 * theirs + 1e-9  # full rank: both ~1e-14


def test_cp_als_fits_as_well_as_tensorlys_parafac():
    """On a noisy rank-3 tensor both alternating least squares reach the same error (to
    0.001), and the Khatri-Rao products agree (TensorLy unfolds in our column order)."""
    rng = np.random.default_rng(2)
    factors = [rng.normal(size=(n, 3)) for n in (7, 6, 5)]
    x = tl.cp_to_tensor((np.ones(3), factors)) + 0.05 * rng.normal(size=(7, 6, 5))
    ours = tensors.relative_error(torch.from_numpy(x), tensors.cp_to_tensor(
        tensors.cp_als(torch.from_numpy(x), 3, iters=2000, tol=1e-13)))
    theirs_cp = parafac(x, rank=3, n_iter_max=2000, tol=1e-13, init="svd")
    theirs = np.linalg.norm(tl.cp_to_tensor(theirs_cp) - x) / np.linalg.norm(x)
    assert abs(ours - theirs) < 1e-3
    np.testing.assert_allclose(
        tensors.khatri_rao([torch.from_numpy(f) for f in factors[1:]]).numpy(),
        tl.tenalg.khatri_rao(factors[1:]), atol=1e-12)


# --- HOOI -----------------------------------------------------------------------------------

@pytest.mark.parametrize("ranks", [[1, 1, 1], [2, 3, 2], [3, 2, 4], [4, 5, 6]])
def test_hooi_matches_tensorlys_tucker(x, ranks):
    """TensorLy's tucker is HOOI from an HOSVD start: the same error (to 1e-8 of the norm),
    and never above the truncated HOSVD's."""
    core, factors = tensors.hooi(x, ranks, iters=500, tol=1e-14)
    ours = tensors.relative_error(x, tensors.tucker_to_tensor(core, factors))
    theirs_core, theirs_factors = tucker(x.numpy(), rank=ranks, init="svd", n_iter_max=500,
                                         tol=1e-14)
    theirs = np.linalg.norm(tl.tucker_to_tensor((theirs_core, theirs_factors)) - x.numpy()) \
        / np.linalg.norm(x.numpy())
    assert ours == pytest.approx(theirs, abs=1e-8)
    h_core, h_factors = tensors.hosvd(x, ranks=ranks)
    assert ours <= tensors.relative_error(x, tensors.tucker_to_tensor(h_core, h_factors)) + 1e-12
    for u, r in zip(factors, ranks):
        torch.testing.assert_close(u.T @ u, torch.eye(r, dtype=x.dtype))


def test_hooi_error_is_the_norm_the_core_leaves_out(x):
    """With orthonormal factors ||X - X_hat||^2 = ||X||^2 - ||G||^2."""
    core, factors = tensors.hooi(x, [2, 2, 3])
    err = torch.linalg.norm(x - tensors.tucker_to_tensor(core, factors)) ** 2
    assert err.item() == pytest.approx((x.norm() ** 2 - core.norm() ** 2).item(), rel=1e-9)


def test_hooi_refuses_impossible_ranks(x):
    with pytest.raises(ValueError, match="exceeds the product of the other ranks"):
        tensors.hooi(x, [4, 1, 1])
    with pytest.raises(ValueError, match="impossible"):
        tensors.hooi(x, [5, 1, 1])
