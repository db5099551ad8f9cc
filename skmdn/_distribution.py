"""Predictive distributions: one Gaussian mixture per row."""

import numpy as np
from scipy.special import logsumexp

from skmdn._mixture import LOG_2PI

_COVARIANCE_SHAPES = {
    "spherical": "(n_samples, n_components)",
    "diag": "(n_samples, n_components, n_outputs)",
}


class GaussianMixtureDistribution:
    r"""A frozen batch of Gaussian mixtures, one per row.

    Row ``i`` is the distribution

    .. math::

        p_i(y) = \sum_{k=1}^{K} w_{ik} \, \mathcal{N}(y \mid \mu_{ik}, \Sigma_{ik})

    over a target ``y`` with ``n_outputs`` dimensions. Methods are vectorised
    over rows and use the shape of the target the model was fitted on. With
    ``target_1d=True``, set for a model fitted on y of shape ``(n,)``, they
    accept and return one value per row instead of a trailing axis of length 1.

    Parameters
    ----------
    weights : array-like of shape (n_samples, n_components)
        Mixing weights; each row must be non-negative and sum to 1.
    means : array-like of shape (n_samples, n_components, n_outputs)
        Component means.
    covariances : array-like
        Component variances, shaped by ``covariance_type`` as in
        :class:`sklearn.mixture.GaussianMixture` with a leading row axis:
        (n_samples, n_components) for "spherical" (one variance per
        component, the same along every output) and
        (n_samples, n_components, n_outputs) for "diag".
    covariance_type : {"spherical", "diag"}, default="diag"
    target_1d : bool, default=False
        Whether queries take and return one value per row (requires
        ``n_outputs == 1``).

    Attributes
    ----------
    weights : ndarray of shape (n_samples, n_components)
    means : ndarray of shape (n_samples, n_components, n_outputs)
    covariances : ndarray
        As passed, see above.
    covariance_type : str
    """

    def __init__(self, weights, means, covariances, covariance_type="diag", *,
                 target_1d=False):  # fmt: skip
        if covariance_type not in _COVARIANCE_SHAPES:
            raise ValueError(
                f"`covariance_type` must be one of {sorted(_COVARIANCE_SHAPES)}, "
                f"got {covariance_type!r}."
            )
        weights = np.asarray(weights, dtype=np.float64)
        means = np.asarray(means, dtype=np.float64)
        covariances = np.asarray(covariances, dtype=np.float64)
        if weights.ndim != 2 or means.ndim != 3 or means.shape[:2] != weights.shape:
            raise ValueError(
                "`weights` must have shape (n_samples, n_components) and `means` "
                "(n_samples, n_components, n_outputs); got shapes "
                f"{weights.shape} and {means.shape}."
            )
        expected = weights.shape
        if covariance_type == "diag":
            expected = means.shape
        if covariances.shape != expected:
            raise ValueError(
                f"`covariances` for covariance_type={covariance_type!r} must have "
                f"shape {_COVARIANCE_SHAPES[covariance_type]} = {expected}, got "
                f"{covariances.shape}."
            )
        if target_1d and means.shape[2] != 1:
            raise ValueError(
                f"`target_1d=True` requires n_outputs == 1, got {means.shape[2]}."
            )
        self.weights = weights
        self.means = means
        self.covariances = covariances
        self.covariance_type = covariance_type
        self.target_1d = bool(target_1d)

    @property
    def n_components(self):
        """Number of mixture components K."""
        return self.weights.shape[1]

    @property
    def n_outputs(self):
        """Number of target dimensions D."""
        return self.means.shape[2]

    def __len__(self):
        return self.weights.shape[0]

    def __getitem__(self, index):
        """Select rows; an integer index keeps a batch of one row."""
        if isinstance(index, (int, np.integer)):
            index = slice(index, index + 1 if index != -1 else None)
        return type(self)(
            self.weights[index],
            self.means[index],
            self.covariances[index],
            self.covariance_type,
            target_1d=self.target_1d,
        )

    def __repr__(self):
        return (
            f"{type(self).__name__}(n_samples={len(self)}, "
            f"n_components={self.n_components}, n_outputs={self.n_outputs}, "
            f"covariance_type={self.covariance_type!r})"
        )

    def _variances(self):
        """Per-dimension component variances, shape (n, K, D)."""
        if self.covariance_type == "spherical":
            return np.broadcast_to(self.covariances[:, :, None], self.means.shape)
        return self.covariances

    def _check_y(self, y, name="y"):
        """Validate query points and return them with shape (n_samples, D)."""
        y = np.asarray(y, dtype=np.float64)
        n, D = len(self), self.n_outputs
        if self.target_1d and y.shape == (n,):
            y = y[:, None]
        if y.shape != (n, D):
            expected = f"({n},)" if self.target_1d else f"({n}, {D})"
            raise ValueError(
                f"`{name}` must have shape {expected}, one value per row of the "
                f"distribution; got shape {y.shape}."
            )
        if not np.all(np.isfinite(y)):
            raise ValueError(f"`{name}` contains NaN or infinity.")
        return y

    def _format(self, values):
        """Drop the output axis for a 1-D target."""
        return values[:, 0] if self.target_1d else values

    def logpdf(self, y):
        """Log of the probability density at ``y``, row by row.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            One query point per row.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        y = self._check_y(y)
        variances = self._variances()
        residual = y[:, None, :] - self.means
        log_density = -0.5 * np.sum(residual**2 / variances + np.log(variances), axis=2)
        log_density -= 0.5 * self.n_outputs * LOG_2PI
        with np.errstate(divide="ignore"):
            log_weights = np.log(self.weights)
        return logsumexp(log_weights + log_density, axis=1)

    def pdf(self, y):
        """Probability density at ``y``, shape (n_samples,); see :meth:`logpdf`."""
        return np.exp(self.logpdf(y))

    def mean(self):
        """Mixture mean per row.

        Returns
        -------
        ndarray of shape (n_samples,) for a 1-D target, else (n_samples, n_outputs)
        """
        return self._format(self._mean())

    def _mean(self):
        return np.einsum("nk,nkd->nd", self.weights, self.means)

    def var(self):
        """Marginal variance of each output per row (law of total variance).

        ``Var[y_d] = sum_k w_k (sigma_kd^2 + (mu_kd - m_d)^2)`` with mixture
        mean ``m``.

        Returns
        -------
        ndarray of shape (n_samples,) for a 1-D target, else (n_samples, n_outputs)
        """
        spread = self.means - self._mean()[:, None, :]
        total = np.einsum("nk,nkd->nd", self.weights, self._variances() + spread**2)
        return self._format(total)

    def std(self):
        """Marginal standard deviation of each output per row, ``sqrt(var())``."""
        return np.sqrt(self.var())
