"""GaussianMixtureDistribution: construction, indexing, density and moments."""

import numpy as np
import pytest
from scipy import stats

from skmdn import GaussianMixtureDistribution


def _bimodal(n_samples=4, target_1d=True):
    weights = np.tile([0.3, 0.7], (n_samples, 1))
    means = np.tile([[-2.0], [3.0]], (n_samples, 1, 1))
    variances = np.tile([[0.25], [1.0]], (n_samples, 1, 1))
    return GaussianMixtureDistribution(weights, means, variances, target_1d=target_1d)


def test_single_gaussian_matches_scipy():
    rng = np.random.RandomState(0)
    mu, var = rng.normal(size=(5, 1, 3)), rng.uniform(0.5, 2.0, size=(5, 1, 3))
    dist = GaussianMixtureDistribution(np.ones((5, 1)), mu, var)
    y = rng.normal(size=(5, 3))
    expected = [
        stats.multivariate_normal(mu[i, 0], np.diag(var[i, 0])).logpdf(y[i])
        for i in range(5)
    ]
    np.testing.assert_allclose(dist.logpdf(y), expected, rtol=1e-12)
    np.testing.assert_allclose(dist.mean(), mu[:, 0], rtol=1e-14)
    np.testing.assert_allclose(dist.var(), var[:, 0], rtol=1e-14)


def test_mixture_density_and_moments():
    dist = _bimodal()
    y = np.array([-2.0, 0.0, 3.0, 10.0])
    expected = 0.3 * stats.norm.pdf(y, -2, 0.5) + 0.7 * stats.norm.pdf(y, 3, 1)
    np.testing.assert_allclose(dist.pdf(y), expected, rtol=1e-12)
    np.testing.assert_allclose(dist.logpdf(y), np.log(expected), rtol=1e-12)
    mean = 0.3 * -2 + 0.7 * 3
    var = 0.3 * (0.25 + 4) + 0.7 * (1 + 9) - mean**2
    np.testing.assert_allclose(dist.mean(), mean, rtol=1e-14)
    np.testing.assert_allclose(dist.var(), var, rtol=1e-13)
    np.testing.assert_allclose(dist.std(), np.sqrt(var), rtol=1e-13)


def test_spherical_shares_one_variance_across_outputs():
    means = np.zeros((2, 1, 3))
    dist = GaussianMixtureDistribution(np.ones((2, 1)), means, [[4.0], [9.0]],
                                       covariance_type="spherical")  # fmt: skip
    np.testing.assert_allclose(dist.var(), [[4.0] * 3, [9.0] * 3])
    expected = stats.multivariate_normal(np.zeros(3), 4 * np.eye(3)).logpdf(np.ones(3))
    assert dist[0].logpdf(np.ones((1, 3)))[0] == pytest.approx(expected, rel=1e-12)


def test_far_query_gives_finite_log_density():
    dist = _bimodal()
    assert np.all(np.isfinite(dist.logpdf(np.full(4, 1e6))))


def test_indexing_and_length():
    dist = _bimodal(n_samples=6)
    assert len(dist) == 6
    assert len(dist[2]) == 1
    assert len(dist[-1]) == 1
    assert len(dist[1:4]) == 3
    assert len(dist[[0, 5]]) == 2
    assert dist[1:4].target_1d
    assert "n_samples=6" in repr(dist)


def test_shapes_follow_the_target():
    dist = _bimodal(target_1d=False)
    assert dist.mean().shape == (4, 1)
    assert dist.logpdf(np.zeros((4, 1))).shape == (4,)
    with pytest.raises(ValueError, match=r"shape \(4, 1\)"):
        dist.logpdf(np.zeros(4))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(weights=np.ones((2, 1)), means=np.zeros((2, 2, 1)),
              covariances=np.ones((2, 2, 1))), "weights"),  # fmt: skip
        (dict(weights=np.ones((2, 1)), means=np.zeros((2, 1, 1)),
              covariances=np.ones((2, 1))), "covariances"),  # fmt: skip
        (dict(weights=np.ones((2, 1)), means=np.zeros((2, 1, 1)),
              covariances=np.ones((2, 1, 1)), covariance_type="full"),
         "covariance_type"),  # fmt: skip
    ],
)
def test_invalid_construction_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixtureDistribution(**kwargs)


def test_invalid_query_raises():
    dist = _bimodal()
    with pytest.raises(ValueError, match="NaN"):
        dist.logpdf([0.0, np.nan, 0.0, 0.0])
    with pytest.raises(ValueError, match="shape"):
        dist.logpdf([0.0, 1.0])
