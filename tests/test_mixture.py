"""The mixture head: parameter links and log-likelihood in log space."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import log_softmax, logsumexp, softmax

from skmdn import _mixture


def _random_head(n_samples, K, D, covariance_type, seed=0):
    rng = np.random.RandomState(seed)
    size = _mixture.head_size(K, D, covariance_type)
    return rng.normal(size=(n_samples, size)), rng.normal(size=(n_samples, D))


@pytest.mark.parametrize("covariance_type", _mixture.COVARIANCE_TYPES)
def test_log_likelihood_matches_scipy(covariance_type):
    K, D, min_scale = 3, 2, 1e-2
    A, Y = _random_head(6, K, D, covariance_type)
    logits, raw, means = _mixture.split_head(A, K, D, covariance_type)
    scales = min_scale + np.exp(raw) * np.ones((1, 1, D))
    weights = softmax(logits, axis=1)
    expected = []
    for i in range(len(A)):
        density = sum(
            weights[i, k]
            * stats.multivariate_normal(means[i, k], np.diag(scales[i, k] ** 2)).pdf(Y[i])
            for k in range(K)
        )
        expected.append(np.log(density))
    got = _mixture.log_likelihood(A, Y, K, covariance_type, min_scale)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_scale_floor_holds_for_any_raw_output():
    A = np.full((1, _mixture.head_size(2, 1, "diag")), -1e6)
    _, scales, _, _ = _mixture.mixture_parameters(A, 2, 1, "diag", 1e-3)
    assert np.all(scales >= 1e-3)
    A = np.full_like(A, 1e6)
    _, scales, _, _ = _mixture.mixture_parameters(A, 2, 1, "diag", 1e-3)
    assert np.all(np.isfinite(scales))


@pytest.mark.parametrize("covariance_type", _mixture.COVARIANCE_TYPES)
def test_far_targets_stay_finite_in_log_space(covariance_type):
    # Every component density underflows to zero in probability space here.
    K, D = 3, 30
    A, Y = _random_head(4, K, D, covariance_type)
    Y = Y + 1e4
    row_ll = _mixture.log_likelihood(A, Y, K, covariance_type, 1e-3)
    assert np.all(np.isfinite(row_ll))
    assert np.all(row_ll < -1e6)
    nll, grad = _mixture.nll_and_grad(A, Y, np.ones(4), K, covariance_type, 1e-3)
    assert np.isfinite(nll)
    assert np.all(np.isfinite(grad))


def test_responsibility_weighted_gradient_sums_to_zero_over_logits():
    # d/da_pi_k = pi_k - gamma_k sums to zero over k for every row.
    A, Y = _random_head(5, 4, 2, "diag")
    _, grad = _mixture.nll_and_grad(A, Y, np.ones(5), 4, "diag", 1e-3)
    np.testing.assert_allclose(grad[:, :4].sum(axis=1), 0.0, atol=1e-14)


def test_log_likelihood_is_logsumexp_of_components():
    K, D = 2, 1
    A, Y = _random_head(3, K, D, "diag")
    log_w, scales, means, _ = _mixture.mixture_parameters(A, K, D, "diag", 0.0)
    comp = stats.norm.logpdf(Y[:, None, 0], means[:, :, 0], scales[:, :, 0])
    np.testing.assert_allclose(
        _mixture.log_likelihood(A, Y, K, "diag", 0.0),
        logsumexp(log_w + comp, axis=1),
        rtol=1e-13,
    )


def test_unknown_covariance_type_raises():
    with pytest.raises(ValueError, match="covariance_type"):
        _mixture.head_size(2, 2, "full")


def _reference_nll_and_grad(A, Y, w, K, covariance_type, min_scale):
    """The head's NLL and gradient written directly from the formulas, row by row."""
    n_samples, D = Y.shape
    logits, raw, means = _mixture.split_head(A, K, D, covariance_type)
    excess = np.exp(raw)
    sigma = (min_scale + excess) * np.ones((1, 1, D))  # (n, K, D)
    r = (Y[:, None, :] - means) / sigma
    log_density = (
        -0.5 * np.sum(r**2, axis=2)
        - np.sum(np.log(sigma), axis=2)
        - 0.5 * D * np.log(2 * np.pi)
    )
    log_joint = log_softmax(logits, axis=1) + log_density
    row_ll = logsumexp(log_joint, axis=1)
    gamma = np.exp(log_joint - row_ll[:, None]) * w[:, None]
    g_logits = softmax(logits, axis=1) * w[:, None] - gamma
    g_means = -gamma[:, :, None] * r / sigma
    g_raw = gamma[:, :, None] * (1 - r**2)
    if covariance_type == "spherical":
        g_raw = g_raw.sum(axis=2, keepdims=True)
    g_raw *= excess / (min_scale + excess)
    grad = np.concatenate(
        [g_logits, g_raw.reshape(n_samples, -1), g_means.reshape(n_samples, -1)],
        axis=1,
    )
    return -(w @ row_ll), grad


@pytest.mark.parametrize("covariance_type", _mixture.COVARIANCE_TYPES)
@pytest.mark.parametrize("n_components, n_outputs", [(1, 1), (3, 2), (4, 5)])
def test_nll_and_grad_match_direct_formulas(covariance_type, n_components, n_outputs):
    """The in-place transposed head agrees with a direct row-wise evaluation."""
    A, Y = _random_head(50, n_components, n_outputs, covariance_type, seed=2)
    A *= 3.0  # spread the responsibilities and scales over a wide range
    w = np.random.RandomState(3).uniform(0.0, 2.0, size=len(A))
    expected_nll, expected_grad = _reference_nll_and_grad(
        A, Y, w, n_components, covariance_type, 1e-2
    )
    nll, grad = _mixture.nll_and_grad(A, Y, w, n_components, covariance_type, 1e-2)
    np.testing.assert_allclose(nll, expected_nll, rtol=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-14)
