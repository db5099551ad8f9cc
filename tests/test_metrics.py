"""skmdn.metrics: scoring rules, calibration checks and scorers."""

import warnings

import numpy as np
import pytest
from scipy import integrate, stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skmdn
from skmdn import GaussianMixtureDistribution, MDNRegressor, metrics
from skmdn.datasets import load_faithful


def _random_mixtures(seed, n_samples=5, n_components=3, n_outputs=1):
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(n_components), size=n_samples)
    means = rng.normal(scale=2.0, size=(n_samples, n_components, n_outputs))
    variances = rng.uniform(0.05, 2.0, size=(n_samples, n_components, n_outputs))
    return GaussianMixtureDistribution(
        weights, means, variances, target_1d=n_outputs == 1
    )


def _crps_by_quadrature(dist, y):
    """Integrate (F(z) - 1{z >= y})^2 over z for a one-row, one-output mixture."""

    def integrand(z):
        return (dist.cdf([z])[0] - float(z >= y)) ** 2

    left, _ = integrate.quad(integrand, -np.inf, y, epsabs=1e-12, epsrel=1e-12)
    right, _ = integrate.quad(integrand, y, np.inf, epsabs=1e-12, epsrel=1e-12)
    return left + right


def test_metrics_importable_from_package():
    assert skmdn.metrics is metrics
    assert callable(metrics.neg_crps_scorer)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crps_matches_numerical_integration(seed):
    """The closed form equals a fine quadrature of the CRPS definition."""
    dist = _random_mixtures(seed)
    y = np.random.default_rng(seed + 10).normal(scale=3.0, size=len(dist))
    for i in range(len(dist)):
        expected = _crps_by_quadrature(dist[i], y[i])
        assert metrics.crps(y[i : i + 1], dist[i]) == pytest.approx(expected, abs=1e-6)


def test_crps_single_gaussian_closed_form():
    """For K = 1 the CRPS is sigma (z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi))."""
    rng = np.random.default_rng(3)
    mu, sigma = rng.normal(size=6), rng.uniform(0.1, 3.0, size=6)
    y = rng.normal(scale=2.0, size=6)
    dist = GaussianMixtureDistribution(
        np.ones((6, 1)), mu[:, None, None], sigma[:, None, None] ** 2, target_1d=True
    )
    z = (y - mu) / sigma
    expected = sigma * (
        z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi)
    )
    for i in range(6):
        assert metrics.crps(y[i : i + 1], dist[i]) == pytest.approx(expected[i])
    assert metrics.crps(y, dist) == pytest.approx(expected.mean(), rel=1e-12)
    weights = rng.uniform(size=6)
    assert metrics.crps(y, dist, sample_weight=weights) == pytest.approx(
        np.average(expected, weights=weights), rel=1e-12
    )


def test_crps_several_outputs_averages_marginals():
    """For D > 1 the CRPS is the mean of the per-output marginal CRPS."""
    dist = _random_mixtures(4, n_outputs=2)
    y = np.random.default_rng(4).normal(size=(len(dist), 2))
    per_output = [metrics.crps(y[:, d], dist.marginal(d)) for d in range(2)]
    assert metrics.crps(y, dist) == pytest.approx(np.mean(per_output), rel=1e-12)


def test_crps_point_mass_limit_is_absolute_error():
    """A very narrow prediction scores its absolute error."""
    dist = GaussianMixtureDistribution(
        [[0.5, 0.5]], [[[1.0], [1.0]]], [[[1e-20], [1e-20]]], target_1d=True
    )
    assert metrics.crps([3.5], dist) == pytest.approx(2.5, rel=1e-9)


def test_log_likelihood_is_mean_logpdf():
    dist = _random_mixtures(5)
    y = np.linspace(-1, 1, len(dist))
    weights = np.arange(1.0, len(dist) + 1)
    assert metrics.log_likelihood(y, dist) == pytest.approx(dist.logpdf(y).mean())
    assert metrics.log_likelihood(y, dist, sample_weight=weights) == pytest.approx(
        np.average(dist.logpdf(y), weights=weights)
    )


def test_pit_of_own_samples_is_uniform():
    """PIT values of draws from the predictions are uniform (KS test)."""
    dist = _random_mixtures(6, n_samples=2000, n_outputs=2)
    y = dist.sample(1, random_state=0)[:, 0, :]
    values = metrics.pit(y, dist)
    assert values.shape == (2000, 2)
    for d in range(2):
        assert stats.kstest(values[:, d], "uniform").pvalue > 1e-3
    dist_1d = dist.marginal(0)
    np.testing.assert_allclose(metrics.pit(y[:, 0], dist_1d), values[:, 0])


@pytest.mark.parametrize("method", ["central", "hdr"])
def test_interval_coverage_of_own_samples(method):
    """Draws from the predictions fall inside the intervals at the nominal rate."""
    dist = _random_mixtures(7, n_samples=500)
    y = dist.sample(1, random_state=1)[:, 0]
    coverage = metrics.interval_coverage(y, dist, 0.8, method=method)
    # four binomial standard errors, 4 * sqrt(0.8 * 0.2 / 500) = 0.072
    assert coverage == pytest.approx(0.8, abs=0.072)


def test_interval_coverage_counts_inside():
    """Coverage is the weighted fraction of observations inside."""
    dist = GaussianMixtureDistribution(np.ones((3, 1)), np.zeros((3, 1, 1)),
                                       np.ones((3, 1, 1)), target_1d=True)  # fmt: skip
    y = np.array([0.0, 1.0, 5.0])  # the 90% interval is +-1.645
    assert metrics.interval_coverage(y, dist) == pytest.approx(2 / 3)
    assert metrics.interval_coverage(y, dist, sample_weight=[1, 1, 2]) == 0.5
    assert metrics.interval_coverage(y, dist, 0.5) == pytest.approx(1 / 3)


def test_mean_interval_width():
    """Central widths match the normal quantiles; HDR is never wider."""
    dist = GaussianMixtureDistribution(np.ones((2, 1)), np.zeros((2, 1, 1)),
                                       [[[1.0]], [[4.0]]], target_1d=True)  # fmt: skip
    expected = 2 * stats.norm.ppf(0.95) * np.mean([1.0, 2.0])
    assert metrics.mean_interval_width(dist) == pytest.approx(expected, rel=1e-10)
    assert metrics.mean_interval_width(dist, method="hdr") == pytest.approx(
        expected, rel=1e-9
    )
    bimodal = _random_mixtures(8)
    assert metrics.mean_interval_width(bimodal, method="hdr") <= (
        metrics.mean_interval_width(bimodal) + 1e-9
    )


def test_metrics_invalid_input_raises():
    dist = _random_mixtures(9)
    with pytest.raises(ValueError, match="`y_true`"):
        metrics.crps(np.zeros(3), dist)
    with pytest.raises(ValueError, match="`y_true`"):
        metrics.log_likelihood(np.full(len(dist), np.nan), dist)
    with pytest.raises(TypeError, match="GaussianMixtureDistribution"):
        metrics.crps(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="`method`"):
        metrics.interval_coverage(np.zeros(5), dist, method="shortest")
    with pytest.raises(ValueError, match="`confidence`"):
        metrics.mean_interval_width(dist, 1.5)
    with pytest.raises(ValueError, match="one output"):
        metrics.interval_coverage(
            np.zeros((5, 2)), _random_mixtures(9, n_outputs=2), method="hdr"
        )


@pytest.fixture(scope="module")
def faithful():
    return load_faithful(return_X_y=True)


def _small_model(**params):
    return MDNRegressor(n_components=2, hidden_layer_sizes=(8,), max_iter=100,
                        random_state=0, **params)  # fmt: skip


def test_scorers_on_fitted_pipeline(faithful):
    """Scorers call predict_dist through a Pipeline and match the metrics."""
    X, y = faithful
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(StandardScaler(), _small_model()).fit(X, y)
    dist = pipe[-1].predict_dist(pipe[0].transform(X))
    assert metrics.log_likelihood_scorer(pipe, X, y) == pytest.approx(
        pipe.score(X, y), rel=1e-10
    )
    assert metrics.neg_crps_scorer(pipe, X, y) == pytest.approx(
        -metrics.crps(y, dist), rel=1e-12
    )
    with pytest.raises(TypeError, match="predict_dist"):
        metrics.neg_crps_scorer(StandardScaler().fit(X), X, y)


def test_scorers_in_grid_search_and_cross_validate(faithful):
    """A dict of skmdn scorers works in GridSearchCV and cross_validate."""
    X, y = faithful
    scoring = {
        "log_likelihood": metrics.log_likelihood_scorer,
        "neg_crps": metrics.neg_crps_scorer,
    }
    cv = KFold(2, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(
            make_pipeline(StandardScaler(), _small_model()),
            {"mdnregressor__n_components": [1, 2]},
            scoring=scoring,
            refit="neg_crps",
            cv=cv,
        ).fit(X, y)
        results = cross_validate(
            search.best_estimator_, X, y, scoring=scoring, cv=cv
        )
    for name in scoring:
        scores = search.cv_results_[f"mean_test_{name}"]
        assert scores.shape == (2,)
        assert np.all(np.isfinite(scores))
        assert results[f"test_{name}"].shape == (2,)
        assert np.all(np.isfinite(results[f"test_{name}"]))
    best = search.best_index_
    assert search.cv_results_["mean_test_neg_crps"][best] == np.max(
        search.cv_results_["mean_test_neg_crps"]
    )
    # the CRPS of eruption durations (minutes) is well below their spread
    assert 0 < -results["test_neg_crps"].mean() < np.std(y)
