"""GaussianMixtureDistribution: construction, indexing, density and moments."""

import numpy as np
import pytest
from scipy import integrate, optimize, stats

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
        (dict(weights=[[0.5, 0.6]], means=np.zeros((1, 2, 1)),
              covariances=np.ones((1, 2, 1))), "sum to 1"),  # fmt: skip
        (dict(weights=[[1.5, -0.5]], means=np.zeros((1, 2, 1)),
              covariances=np.ones((1, 2, 1))), "non-negative"),  # fmt: skip
        (dict(weights=[[1.0]], means=[[[np.nan]]], covariances=[[[1.0]]]),
         "means"),  # fmt: skip
        (dict(weights=[[1.0]], means=[[[0.0]]], covariances=[[[0.0]]]),
         "covariances"),  # fmt: skip
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


def _random_mixtures(seed, n_samples=6, n_components=3, n_outputs=1, target_1d=None):
    if target_1d is None:
        target_1d = n_outputs == 1
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(n_components), size=n_samples)
    means = rng.normal(scale=3.0, size=(n_samples, n_components, n_outputs))
    variances = rng.uniform(0.1, 2.0, size=(n_samples, n_components, n_outputs))
    return GaussianMixtureDistribution(weights, means, variances, target_1d=target_1d)


def _single_gaussians(seed, n_samples=5):
    rng = np.random.default_rng(seed)
    mu = rng.normal(scale=5.0, size=n_samples)
    sigma = rng.uniform(0.01, 3.0, size=n_samples)
    dist = GaussianMixtureDistribution(
        np.ones((n_samples, 1)), mu[:, None, None], sigma[:, None, None] ** 2,
        target_1d=True,
    )  # fmt: skip
    return dist, mu, sigma


def test_single_gaussian_queries_match_scipy_norm():
    """With K = 1 every univariate query equals scipy.stats.norm."""
    dist, mu, sigma = _single_gaussians(0)
    norm = stats.norm(mu, sigma)
    y = mu + sigma * np.linspace(-3, 3, 5)
    levels = np.array([1e-6, 0.05, 0.5, 0.9, 1 - 1e-6])
    np.testing.assert_allclose(dist.logpdf(y), norm.logpdf(y), rtol=1e-12)
    np.testing.assert_allclose(dist.cdf(y), norm.cdf(y), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dist.logcdf(y), norm.logcdf(y), rtol=1e-12)
    np.testing.assert_allclose(
        dist.ppf(levels), norm.ppf(levels[:, None]).T, rtol=1e-10, atol=1e-10
    )
    low, high = dist.interval(0.8)
    expected_low, expected_high = norm.interval(0.8)
    np.testing.assert_allclose(low, expected_low, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(high, expected_high, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dist.median(), mu, rtol=1e-12)
    np.testing.assert_allclose(dist.mean(), norm.mean(), rtol=1e-12)
    np.testing.assert_allclose(dist.var(), norm.var(), rtol=1e-12)
    np.testing.assert_allclose(dist.mode(), mu, rtol=1e-12)


def test_single_gaussian_hdr_is_central_interval():
    """For one Gaussian the highest-density region is the central interval."""
    dist, mu, sigma = _single_gaussians(1)
    expected_low, expected_high = stats.norm(mu, sigma).interval(0.7)
    for i, region in enumerate(dist.hdr(0.7)):
        assert region.shape == (1, 2)
        assert region[0, 0] == pytest.approx(expected_low[i], abs=1e-9 * sigma[i])
        assert region[0, 1] == pytest.approx(expected_high[i], abs=1e-9 * sigma[i])


def test_single_multivariate_gaussian_matches_scipy():
    """With K = 1 and D = 3 the joint CDF and covariance match scipy."""
    rng = np.random.default_rng(2)
    mu = rng.normal(size=(3, 1, 3))
    var = rng.uniform(0.5, 2.0, size=(3, 1, 3))
    dist = GaussianMixtureDistribution(np.ones((3, 1)), mu, var)
    y = rng.normal(size=(3, 3))
    for i in range(3):
        mvn = stats.multivariate_normal(mu[i, 0], np.diag(var[i, 0]))
        assert dist[i].logpdf(y[i : i + 1])[0] == pytest.approx(mvn.logpdf(y[i]))
        expected_cdf = np.prod(stats.norm.cdf(y[i], mu[i, 0], np.sqrt(var[i, 0])))
        assert dist[i].cdf(y[i : i + 1])[0] == pytest.approx(expected_cdf, rel=1e-12)
        np.testing.assert_allclose(dist.cov()[i], np.diag(var[i, 0]), rtol=1e-12)
    levels = np.array([0.1, 0.5])
    expected = stats.norm.ppf(levels[None, :, None], mu[:, 0][:, None, :],
                              np.sqrt(var[:, 0])[:, None, :])  # fmt: skip
    np.testing.assert_allclose(dist.ppf(levels), expected, rtol=1e-10, atol=1e-10)


def test_mixture_logpdf_is_log_pdf():
    """logpdf equals the log of pdf, and logcdf the log of cdf."""
    dist = _random_mixtures(3)
    y = np.linspace(-4, 4, len(dist))
    np.testing.assert_allclose(dist.logpdf(y), np.log(dist.pdf(y)), rtol=1e-12)
    np.testing.assert_allclose(dist.logcdf(y), np.log(dist.cdf(y)), rtol=1e-12)


def test_mixture_cdf_monotone_with_limits():
    """The CDF increases along a grid and tends to 0 and 1."""
    dist = _random_mixtures(4)
    grid = np.linspace(-30, 30, 601)
    values = np.array([dist.cdf(np.full(len(dist), y)) for y in grid])
    assert np.all(np.diff(values, axis=0) >= 0)
    np.testing.assert_allclose(values[0], 0.0, atol=1e-12)
    np.testing.assert_allclose(values[-1], 1.0, atol=1e-12)


def test_mixture_cdf_integrates_pdf():
    """The CDF equals the integral of the density up to y."""
    dist = _random_mixtures(5)[0]
    integral, _ = integrate.quad(lambda t: dist.pdf([t])[0], -np.inf, 0.7)
    assert dist.cdf([0.7])[0] == pytest.approx(integral, abs=1e-10)


def test_ppf_inverts_cdf():
    """ppf(cdf(y)) = y and cdf(ppf(q)) = q on random mixtures."""
    dist = _random_mixtures(6, n_samples=20)
    # draws from the rows themselves, away from the far tails where a level
    # near 0 or 1 cannot pin y down in float64
    y = dist.sample(1, random_state=6)[:, 0]
    np.testing.assert_allclose(dist.ppf(dist.cdf(y)[:, None])[:, 0], y, atol=1e-9)
    levels = np.array([1e-9, 0.01, 0.2, 0.5, 0.77, 0.999, 1 - 1e-9])
    x = dist.ppf(levels)
    assert x.shape == (20, 7)
    for j, level in enumerate(levels):
        np.testing.assert_allclose(dist.cdf(x[:, j]), level, rtol=0, atol=1e-10)


def test_ppf_tiny_scale_row_is_accurate():
    """A row with sigma 1e-8 next to a wide row is solved as accurately."""
    weights = [[0.4, 0.6], [0.4, 0.6]]
    means = [[[-3e-8], [2e-8]], [[-3e3], [2e3]]]
    variances = [[[1e-16], [4e-16]], [[1e6], [4e6]]]
    dist = GaussianMixtureDistribution(weights, means, variances, target_1d=True)
    levels = np.array([1e-6, 0.1, 0.4, 0.41, 0.5, 0.9, 1 - 1e-6])
    x = dist.ppf(levels)
    for j, level in enumerate(levels):
        np.testing.assert_allclose(dist.cdf(x[:, j]), level, rtol=0, atol=1e-10)
    np.testing.assert_allclose(x[0] * 1e11, x[1], rtol=1e-8)


def test_ppf_shapes_follow_the_target():
    """Scalar and array levels give the documented shapes."""
    dist_1d = _random_mixtures(7, n_samples=4, target_1d=True)
    assert dist_1d.ppf(0.3).shape == (4,)
    assert dist_1d.ppf([0.3, 0.6, 0.9]).shape == (4, 3)
    assert dist_1d.ppf(np.full((4, 2), 0.5)).shape == (4, 2)
    dist_2d = _random_mixtures(7, n_samples=4, n_outputs=2)
    assert dist_2d.ppf(0.3).shape == (4, 2)
    assert dist_2d.ppf([0.3, 0.6, 0.9]).shape == (4, 3, 2)
    assert dist_2d.median().shape == (4, 2)
    assert dist_2d.interval()[0].shape == (4, 2)
    assert dist_2d.cov().shape == (4, 2, 2)
    assert dist_2d.mode().shape == (4, 2)


def test_ppf_per_output_is_marginal_ppf():
    """ppf of a 2-output mixture is the ppf of each output's marginal."""
    dist = _random_mixtures(8, n_samples=5, n_outputs=2)
    levels = [0.25, 0.75]
    joint = dist.ppf(levels)
    for d in range(2):
        np.testing.assert_allclose(joint[:, :, d], dist.marginal(d).ppf(levels))


def test_interval_is_central():
    """The interval leaves half the missing mass in each tail."""
    dist = _random_mixtures(9)
    low, high = dist.interval(0.8)
    np.testing.assert_allclose(dist.cdf(low), 0.1, atol=1e-10)
    np.testing.assert_allclose(dist.cdf(high), 0.9, atol=1e-10)


def test_sample_moments_match_closed_form():
    """Sample mean and variance agree with mean() and var() (seeded MC)."""
    dist = _random_mixtures(10, n_samples=3, target_1d=False)
    n_draws = 200_000
    draws = dist.sample(n_draws, random_state=0)
    assert draws.shape == (3, n_draws, 1)
    mean, var = dist.mean()[:, 0], dist.var()[:, 0]
    # five standard errors of the sample mean and of the sample variance
    np.testing.assert_array_less(
        np.abs(draws[:, :, 0].mean(axis=1) - mean), 5 * np.sqrt(var / n_draws)
    )
    fourth = np.mean((draws[:, :, 0] - mean[:, None]) ** 4, axis=1)
    np.testing.assert_array_less(
        np.abs(draws[:, :, 0].var(axis=1) - var), 5 * np.sqrt(fourth / n_draws)
    )


def test_sample_covariance_and_shapes():
    """Samples of a 2-output mixture follow cov(); a 1-D target drops an axis."""
    dist = _random_mixtures(11, n_samples=2, n_outputs=2)
    draws = dist.sample(100_000, random_state=1)
    assert draws.shape == (2, 100_000, 2)
    for i in range(2):
        np.testing.assert_allclose(np.cov(draws[i].T), dist.cov()[i], atol=0.1)
    dist_1d = _random_mixtures(11, n_samples=2, target_1d=True)
    assert dist_1d.sample(7, random_state=1).shape == (2, 7)
    np.testing.assert_array_equal(
        dist_1d.sample(7, random_state=3), dist_1d.sample(7, random_state=3)
    )


def test_cov_law_of_total_covariance():
    """cov() equals the covariance computed from the second moment."""
    dist = _random_mixtures(12, n_samples=3, n_outputs=3)
    mean = dist.mean()
    second = np.einsum("nk,nkd,nke->nde", dist.weights, dist.means, dist.means)
    second += np.einsum("nk,nkd->nd", dist.weights, dist.covariances)[
        :, :, None
    ] * np.eye(3)
    expected = second - mean[:, :, None] * mean[:, None, :]
    np.testing.assert_allclose(dist.cov(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.diagonal(dist.cov(), axis1=1, axis2=2), dist.var())


def test_hdr_bimodal_is_two_intervals_with_requested_mass():
    """A well-separated bimodal row gives two intervals of total mass 0.9."""
    dist = _bimodal(n_samples=2)
    for region in dist.hdr(0.9):
        assert region.shape == (2, 2)
        assert region[0, 1] < 0.0 < region[1, 0]
        mass = sum(
            stats.norm.cdf(high, [-2, 3], [0.5, 1]) @ [0.3, 0.7]
            - stats.norm.cdf(low, [-2, 3], [0.5, 1]) @ [0.3, 0.7]
            for low, high in region
        )
        assert mass == pytest.approx(0.9, abs=1e-10)
        # every end sits at the same density
        ends = region.ravel()
        densities = 0.3 * stats.norm.pdf(ends, -2, 0.5)
        densities += 0.7 * stats.norm.pdf(ends, 3, 1)
        np.testing.assert_allclose(densities, densities[0], rtol=1e-8)


def test_hdr_is_shorter_than_central_interval():
    """The highest-density region is never longer than the central interval."""
    dist = _random_mixtures(13, n_samples=8)
    low, high = dist.interval(0.8)
    for i, region in enumerate(dist.hdr(0.8)):
        assert np.sum(region[:, 1] - region[:, 0]) <= high[i] - low[i] + 1e-9


def test_modes_of_bimodal_mixture():
    """modes() returns both modes of a constructed bimodal mixture."""
    # symmetric: the modes of 0.5 N(-a, 1) + 0.5 N(a, 1) solve
    # x = a tanh(a x), found here to full precision by brentq
    a = 2.0
    root = optimize.brentq(lambda x: x - a * np.tanh(a * x), 0.1, 10)
    dist = GaussianMixtureDistribution(
        [[0.5, 0.5]], [[[-a], [a]]], [[[1.0], [1.0]]], target_1d=True
    )
    (locations, densities), = dist.modes()
    np.testing.assert_allclose(np.sort(locations), [-root, root], atol=1e-8)
    np.testing.assert_allclose(densities, dist.pdf([root])[0], rtol=1e-12)


def test_modes_asymmetric_bimodal_sorted_by_density():
    """Each mode is a zero of the derivative; the higher peak comes first."""
    dist = _bimodal(n_samples=1)
    (locations, densities), = dist.modes()
    assert locations.shape == (2,)
    assert densities[0] > densities[1]
    step = 1e-5
    for x in locations:
        slope = (dist.pdf([x + step])[0] - dist.pdf([x - step])[0]) / (2 * step)
        assert abs(slope) < 1e-8
    assert dist.mode()[0] == pytest.approx(locations[0], abs=1e-10)


def test_modes_skip_local_minimum():
    """A component mean at the antimode of its neighbours is not a mode."""
    # the middle component is too light to curve the density down at 0:
    # p''(0) = 0.05 * -phi(0) + 2 * 0.475 * 8 * phi(3) > 0
    dist = GaussianMixtureDistribution(
        [[0.475, 0.05, 0.475]], [[[-3.0], [0.0], [3.0]]], [[[1.0], [1.0], [1.0]]],
        target_1d=True,
    )  # fmt: skip
    (locations, _), = dist.modes()
    assert len(locations) == 2
    assert np.all(np.abs(locations) > 2)


def test_modes_shallow_mode_beside_spike():
    """A mode whose basin contains no component mean is still found."""
    # The wide component at -4.88 has a shallow mode near -4.72, but
    # mean-shift from -4.88 climbs the flank of the spike at -5.31.
    weights = np.array([0.227, 0.223, 0.212, 0.147, 0.191])
    weights /= weights.sum()
    means = np.array([-5.31, -4.88, 2.79, 2.22, -1.26])
    stds = np.array([0.116, 1.88, 0.205, 1.69, 1.18])
    dist = GaussianMixtureDistribution(
        weights[None], means[None, :, None], stds[None, :, None] ** 2,
        target_1d=True,
    )  # fmt: skip
    (locations, _), = dist.modes()
    assert len(locations) == 4
    shallow = locations[np.argmin(np.abs(locations + 4.72))]
    assert shallow == pytest.approx(-4.7241, abs=1e-3)
    step = 1e-6
    slope = (dist.pdf([shallow + step])[0] - dist.pdf([shallow - step])[0]) / (2 * step)
    assert abs(slope) < 1e-8


def test_modes_unimodal_merges_duplicates():
    """Two overlapping components with one peak give one mode."""
    dist = GaussianMixtureDistribution(
        [[0.5, 0.5]], [[[-0.5, 0.0], [0.5, 0.0]]], [[[1.0, 1.0], [1.0, 1.0]]]
    )
    (locations, densities), = dist.modes()
    assert locations.shape == (1, 2)
    np.testing.assert_allclose(locations[0], [0.0, 0.0], atol=1e-10)


def test_modes_two_outputs():
    """Mean-shift finds both modes of a two-output mixture."""
    dist = GaussianMixtureDistribution(
        [[0.6, 0.4]], [[[0.0, 0.0], [8.0, 5.0]]], [[[1.0, 2.0], [0.5, 0.5]]]
    )
    (locations, densities), = dist.modes()
    assert locations.shape == (2, 2)
    np.testing.assert_allclose(locations, [[8.0, 5.0], [0.0, 0.0]], atol=1e-8)
    assert densities[0] > densities[1]


def test_marginal_selects_outputs():
    """marginal keeps weights and the chosen outputs' means and variances."""
    dist = _random_mixtures(14, n_samples=3, n_outputs=3)
    sub = dist.marginal([2, 0])
    assert sub.n_outputs == 2
    assert not sub.target_1d
    np.testing.assert_array_equal(sub.means, dist.means[:, :, [2, 0]])
    np.testing.assert_allclose(sub.mean(), dist.mean()[:, [2, 0]])
    single = dist.marginal(1)
    assert single.target_1d
    np.testing.assert_allclose(single.var(), dist.var()[:, 1])
    spherical = GaussianMixtureDistribution(
        np.ones((2, 1)), np.zeros((2, 1, 3)), [[4.0], [9.0]], "spherical"
    )
    np.testing.assert_allclose(spherical.marginal(0).var(), [4.0, 9.0])


def test_to_scipy_matches():
    """to_scipy builds an equivalent scipy.stats.Mixture."""
    if not hasattr(stats, "Mixture"):
        with pytest.raises(ImportError, match="scipy 1.15"):
            _bimodal()[0].to_scipy()
        return
    dist = _bimodal()[0]
    mixture = dist.to_scipy()
    for y in (-2.5, 0.0, 3.3):
        assert mixture.cdf(y) == pytest.approx(dist.cdf([y])[0], rel=1e-12)
        assert mixture.logpdf(y) == pytest.approx(dist.logpdf([y])[0], rel=1e-12)
    assert mixture.mean() == pytest.approx(dist.mean()[0], rel=1e-12)


def test_to_scipy_rejects_several_rows():
    with pytest.raises(ValueError, match="single row"):
        _bimodal().to_scipy()


@pytest.mark.parametrize("q", [0.0, 1.0, -0.2, np.nan, [0.5, 1.5]])
def test_ppf_invalid_level_raises(q):
    with pytest.raises(ValueError, match="`q`"):
        _bimodal().ppf(q)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 2.0, np.nan, [0.5]])
def test_invalid_confidence_raises(confidence):
    dist = _bimodal()
    with pytest.raises(ValueError, match="`confidence`"):
        dist.interval(confidence)
    with pytest.raises(ValueError, match="`confidence`"):
        dist.hdr(confidence)


def test_invalid_queries_raise():
    dist = _bimodal()
    with pytest.raises(ValueError, match="`y`"):
        dist.cdf(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        dist.cdf([0.0, np.nan, 0.0, 0.0])
    with pytest.raises(ValueError, match="`q`"):
        dist.ppf(np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match="`n_samples`"):
        dist.sample(0)
    with pytest.raises(ValueError, match="`dims`"):
        dist.marginal(1)
    with pytest.raises(ValueError, match="`dims`"):
        _random_mixtures(0, n_outputs=2).marginal([0, 0])
    with pytest.raises(ValueError, match="one output"):
        _random_mixtures(0, n_outputs=2).hdr()


def test_row_index_out_of_range_raises():
    dist = _bimodal(n_samples=3)
    with pytest.raises(IndexError, match="out of range"):
        dist[3]
    with pytest.raises(IndexError, match="out of range"):
        dist[-4]
    assert len(dist[-3]) == 1


def test_iteration_yields_each_row():
    dist = _bimodal(n_samples=3)
    rows = list(dist)
    assert len(rows) == 3
    np.testing.assert_array_equal(rows[2].weights, dist.weights[2:3])


def test_tuple_index_raises():
    with pytest.raises(IndexError, match="by row only"):
        _bimodal()[0, 0]


def test_one_row_on_a_grid_by_repetition():
    dist = _bimodal(n_samples=2)
    grid = np.linspace(-3.0, 4.0, 5)
    expected = [dist[1].logpdf([value])[0] for value in grid]
    np.testing.assert_allclose(dist[[1] * 5].logpdf(grid), expected, rtol=1e-14)


def test_logpdf_beyond_float64_range_raises():
    dist = _bimodal(n_samples=2)
    with pytest.raises(ValueError, match="row 1"):
        dist.logpdf([0.0, 1e300])
