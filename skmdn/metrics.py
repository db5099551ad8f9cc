"""Scoring rules, calibration checks and scorers for predictive mixtures.

Every metric takes the observed targets first and a
:class:`~skmdn.GaussianMixtureDistribution` (from
:meth:`MDNRegressor.predict_dist <skmdn.MDNRegressor.predict_dist>`) second,
and returns a float, as the metrics of :mod:`sklearn.metrics` do. The scorers
follow the scikit-learn scorer protocol ``scorer(estimator, X, y)`` and can be
passed as ``scoring`` to :class:`~sklearn.model_selection.GridSearchCV` or
:func:`~sklearn.model_selection.cross_validate`, alone or in a dict.
"""

import numpy as np
from scipy.special import ndtr
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import _check_sample_weight

from skmdn._distribution import GaussianMixtureDistribution
from skmdn._mixture import LOG_2PI

__all__ = [
    "crps",
    "interval_coverage",
    "log_likelihood",
    "log_likelihood_scorer",
    "mean_interval_width",
    "neg_crps_scorer",
    "pit",
]


def _check_dist(dist):
    if not isinstance(dist, GaussianMixtureDistribution):
        raise TypeError(
            "`dist` must be a GaussianMixtureDistribution, such as the result "
            f"of MDNRegressor.predict_dist; got {type(dist).__name__}."
        )
    return dist


def _average(values, sample_weight):
    """Weighted mean of per-row values (n,) as a float."""
    sample_weight = _check_sample_weight(sample_weight, values, dtype=np.float64)
    return float(np.average(values, weights=sample_weight))


def log_likelihood(y_true, dist, *, sample_weight=None):
    """Mean log-likelihood per sample of ``y_true`` under the predicted mixtures.

    The logarithmic score, in nats, of densities in the units of y. Higher is
    better. It equals :meth:`MDNRegressor.score <skmdn.MDNRegressor.score>` on
    the same data.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets, shaped as the model's training y.
    dist : GaussianMixtureDistribution
        Predicted distributions, one row per sample.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights of the mean.

    Returns
    -------
    float
    """
    dist = _check_dist(dist)
    return _average(dist._logpdf(dist._check_y(y_true, "y_true")), sample_weight)


def _expected_abs(m, s2):
    """``E|Z|`` for ``Z ~ N(m, s2)``: ``s (2 phi(m/s) + (m/s) (2 Phi(m/s) - 1))``."""
    s = np.sqrt(s2)
    z = m / s
    return s * (2 * np.exp(-0.5 * z**2 - 0.5 * LOG_2PI) + z * (2 * ndtr(z) - 1))


def _crps_values(y_true, dist):
    """CRPS of each output's marginal per row, shaped like ``dist.mean()``."""
    dist = _check_dist(dist)
    y = dist._check_y(y_true, "y_true")  # (n, D)
    variances = dist._variances()  # (n, K, D)
    w = dist.weights
    to_observation = _expected_abs(y[:, None, :] - dist.means, variances)
    between = _expected_abs(
        dist.means[:, :, None, :] - dist.means[:, None, :, :],
        variances[:, :, None, :] + variances[:, None, :, :],
    )  # (n, K, K, D)
    score = np.einsum("nk,nkd->nd", w, to_observation)
    score -= 0.5 * np.einsum("nj,nk,njkd->nd", w, w, between)
    return dist._format(score)


def crps(y_true, dist, *, sample_weight=None):
    """Mean continuous ranked probability score (CRPS) of the predictions.

    ``CRPS(F, y) = integral (F(z) - 1{z >= y})^2 dz``, in closed form for a
    Gaussian mixture (see Notes). It is in the units of y, and
    lower is better. For a point forecast it reduces to the absolute error.
    With several outputs, the CRPS of each output's marginal is averaged over
    outputs.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets.
    dist : GaussianMixtureDistribution
        Predicted distributions, one row per sample.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights of the mean.

    Returns
    -------
    float

    Notes
    -----
    With ``CRPS(F, y) = E|X - y| - E|X - X'| / 2`` for independent ``X, X'``
    from ``F``, and ``E|Z| = A(m, s^2)`` for ``Z ~ N(m, s^2)``, a mixture gives
    ``sum_k w_k A(y - mu_k, s_k^2) - 1/2 sum_jk w_j w_k A(mu_j - mu_k,
    s_j^2 + s_k^2)`` (Grimit et al., 2006).

    References
    ----------
    E. P. Grimit, T. Gneiting, V. J. Berrocal and N. A. Johnson, "The
    continuous ranked probability score for circular variables and its
    application to mesoscale forecast ensemble verification", Quarterly
    Journal of the Royal Meteorological Society 132, 2925-2942, 2006.
    """
    values = np.asarray(_crps_values(y_true, dist))
    if values.ndim == 2:
        values = values.mean(axis=1)
    return _average(values, sample_weight)


def pit(y_true, dist):
    """Probability integral transform: each output's marginal CDF at y.

    For calibrated predictions the values are uniform on [0, 1]. A histogram
    shaped like a U means the predictions are too narrow, a hump too wide.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets.
    dist : GaussianMixtureDistribution
        Predicted distributions, one row per sample.

    Returns
    -------
    ndarray of shape (n_samples,) for a 1-D target, else (n_samples, n_outputs)
    """
    dist = _check_dist(dist)
    return dist._format(dist._marginal_cdf(dist._check_y(y_true, "y_true")))


def _check_method(method, dist):
    if method not in ("central", "hdr"):
        raise ValueError(f"`method` must be 'central' or 'hdr', got {method!r}.")
    if method == "hdr" and dist.n_outputs != 1:
        raise ValueError(
            "method='hdr' needs a distribution with one output, this one has "
            f"{dist.n_outputs}; use method='central' or dist.marginal(d)."
        )


def _hdr_contains(regions, y):
    """Tell for each row whether y lies in one of the row's intervals."""
    return np.array(
        [np.any((region[:, 0] <= v) & (v <= region[:, 1]))
         for region, v in zip(regions, y)]
    )  # fmt: skip


def interval_coverage(y_true, dist, confidence=0.9, *, method="central",
                      sample_weight=None):  # fmt: skip
    """Fraction of observations inside their predicted intervals.

    For calibrated predictions it is close to ``confidence``. Below it the
    intervals are too narrow, above it too wide. Read it together with
    :func:`mean_interval_width`: at the same coverage, narrower is better.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets.
    dist : GaussianMixtureDistribution
        Predicted distributions, one row per sample.
    confidence : float, default=0.9
        Probability mass of each interval, in (0, 1).
    method : {"central", "hdr"}, default="central"
        "central" uses :meth:`~skmdn.GaussianMixtureDistribution.interval`
        for each output, and "hdr" uses the highest-density region (one output
        only), which may be a union of intervals.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    float
        Weighted fraction in [0, 1] of (row, output) pairs whose observation
        lies inside the interval.
    """
    dist = _check_dist(dist)
    _check_method(method, dist)
    y = dist._check_y(y_true, "y_true")
    if method == "hdr":
        inside = _hdr_contains(dist.hdr(confidence), y[:, 0])
    else:
        low, high = dist.interval(confidence)
        low, high = np.reshape(low, y.shape), np.reshape(high, y.shape)
        inside = ((low <= y) & (y <= high)).mean(axis=1)
    return _average(inside.astype(np.float64), sample_weight)


def mean_interval_width(dist, confidence=0.9, *, method="central",
                        sample_weight=None):  # fmt: skip
    """Mean width of the predicted intervals (sharpness), in the units of y.

    Lower is sharper, but only at the intended coverage, which
    :func:`interval_coverage` checks.

    Parameters
    ----------
    dist : GaussianMixtureDistribution
        Predicted distributions.
    confidence : float, default=0.9
        Probability mass of each interval, in (0, 1).
    method : {"central", "hdr"}, default="central"
        As in :func:`interval_coverage`. The width of a highest-density
        region is the total length of its intervals.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    float
        For several outputs, the mean over outputs of the mean width.
    """
    dist = _check_dist(dist)
    _check_method(method, dist)
    if method == "hdr":
        widths = np.array(
            [np.sum(region[:, 1] - region[:, 0]) for region in dist.hdr(confidence)]
        )
    else:
        low, high = dist.interval(confidence)
        widths = np.reshape(high - low, (len(dist), -1)).mean(axis=1)
    return _average(widths, sample_weight)


def _predict_dist(estimator, X):
    """Call ``predict_dist``, also through the steps of a Pipeline."""
    if hasattr(estimator, "predict_dist"):
        return estimator.predict_dist(X)
    if isinstance(estimator, Pipeline):
        for _, step in estimator.steps[:-1]:
            if step is not None and step != "passthrough":
                X = step.transform(X)
        return _predict_dist(estimator.steps[-1][1], X)
    raise TypeError(
        f"{type(estimator).__name__} has no predict_dist method; the skmdn "
        "scorers need an MDNRegressor or a Pipeline ending in one."
    )


def log_likelihood_scorer(estimator, X, y, sample_weight=None):
    """Scorer: mean log-likelihood of ``y`` under ``estimator.predict_dist(X)``.

    Higher is better. Pass it as ``scoring=log_likelihood_scorer`` or in a
    dict of scorers. It works on an MDNRegressor and on a Pipeline ending in
    one.

    Parameters
    ----------
    estimator : fitted MDNRegressor or Pipeline
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    float
    """
    dist = _predict_dist(estimator, X)
    return log_likelihood(y, dist, sample_weight=sample_weight)


def neg_crps_scorer(estimator, X, y, sample_weight=None):
    """Scorer: the negated mean CRPS, so that higher is better.

    scikit-learn maximises scores and the CRPS is a loss, so this scorer
    returns ``-crps(y, estimator.predict_dist(X))``, in the units of y.

    Parameters
    ----------
    estimator : fitted MDNRegressor or Pipeline
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    float
    """
    dist = _predict_dist(estimator, X)
    return -crps(y, dist, sample_weight=sample_weight)
