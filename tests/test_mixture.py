"""The mixture head: parameter links and log-likelihood in log space."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp, softmax

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
