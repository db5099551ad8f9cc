"""Predictive distributions: one Gaussian mixture per row."""

from numbers import Integral

import numpy as np
from scipy.special import log_ndtr, logsumexp, ndtr
from sklearn.utils import check_random_state

from skmdn import _numerics
from skmdn._mixture import LOG_2PI

_COVARIANCE_SHAPES = {
    "spherical": "(n_samples, n_components)",
    "diag": "(n_samples, n_components, n_outputs)",
}


def _check_parameter_values(weights, means, covariances):
    """Raise ValueError unless the mixture parameters describe distributions."""
    if not (np.all(np.isfinite(weights)) and np.all(weights >= 0)):
        raise ValueError("`weights` must be finite and non-negative.")
    sums = weights.sum(axis=1)
    # predicted weights come from a softmax and sum to 1 up to rounding
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-8):
        worst = sums[np.argmax(np.abs(sums - 1.0))]
        raise ValueError(
            f"Each row of `weights` must sum to 1; one sums to {worst!r}."
        )
    if not np.all(np.isfinite(means)):
        raise ValueError("`means` contains NaN or infinity.")
    if not (np.all(np.isfinite(covariances)) and np.all(covariances > 0)):
        raise ValueError("`covariances` must be finite and positive.")


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
        Mixing weights. Each row must be non-negative and sum to 1.
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

    Notes
    -----
    Queries with one value per output (:meth:`ppf`, :meth:`median`,
    :meth:`interval`) act on each output's marginal distribution. Queries on
    the joint distribution (:meth:`logpdf`, :meth:`cdf`, :meth:`mode`,
    :meth:`modes`, :meth:`sample`) take or return whole points.

    Quantiles are solved per row to a CDF residual of a few ulps of the tail
    mass, so their accuracy does not depend on the scale of the row. The
    float64 spacing of y still limits it: near ``y = 1`` adjacent floats are
    2.2e-16 apart, so a component with a standard deviation of 1e-8 there
    cannot hit a level closer than about 1e-8.

    References
    ----------
    M. Á. Carreira-Perpiñán, "Mode-finding for mixtures of Gaussian
    distributions", IEEE Transactions on Pattern Analysis and Machine
    Intelligence 22(11), 1318-1323, 2000.

    Examples
    --------
    >>> from skmdn import GaussianMixtureDistribution
    >>> dist = GaussianMixtureDistribution(
    ...     [[0.5, 0.5]], [[[-2.0], [2.0]]], [[[0.25], [0.25]]], target_1d=True
    ... )
    >>> dist.cdf([0.0])
    array([0.5])
    >>> sorted(round(float(m), 6) for m in dist.modes()[0][0])
    [-2.0, 2.0]
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
        _check_parameter_values(weights, means, covariances)
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
        """Select rows by an int, a slice, or an integer or boolean array.

        An integer index keeps a batch of one row, so every method still
        returns arrays with a leading row axis.
        """
        if isinstance(index, tuple):
            raise IndexError(
                "GaussianMixtureDistribution is indexed by row only (an int, a "
                f"slice, or an integer or boolean array); got the tuple {index!r}. "
                "Read components or outputs from `weights`, `means` and "
                "`covariances`, or use `marginal`."
            )
        if isinstance(index, (int, np.integer)):
            n_rows = len(self)
            if not -n_rows <= index < n_rows:
                raise IndexError(
                    f"Row index {index} is out of range for a distribution of "
                    f"{n_rows} rows."
                )
            start = int(index) % n_rows
            index = slice(start, start + 1)
        return type(self)(
            self.weights[index],
            self.means[index],
            self.covariances[index],
            self.covariance_type,
            target_1d=self.target_1d,
        )

    def __iter__(self):
        """Iterate over the rows, each a distribution of one row."""
        for row in range(len(self)):
            yield self[row]

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

    def _log_weights(self):
        """Log mixing weights, -inf for a component of weight zero."""
        with np.errstate(divide="ignore"):
            return np.log(self.weights)

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
                f"distribution; got shape {y.shape}. To evaluate row i at m "
                "points, repeat the row: dist[[i] * m]."
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

        Raises
        ------
        ValueError
            If a point lies so far from every component of its row that the
            log-density is below the float64 range (about -1e308).
        """
        with np.errstate(over="ignore"):
            values = self._logpdf(self._check_y(y))
        not_finite = np.flatnonzero(~np.isfinite(values))
        if not_finite.size:
            row = int(not_finite[0])
            raise ValueError(
                f"The log-density of `y` at row {row} is below the float64 range: "
                "the point lies too far from every component of that row. Check "
                "that y is in the units the model was fitted in."
            )
        return values

    def _logpdf(self, y):
        """logpdf of validated points of shape (n_samples, n_outputs)."""
        variances = self._variances()
        residual = y[:, None, :] - self.means
        log_density = -0.5 * np.sum(residual**2 / variances + np.log(variances), axis=2)
        log_density -= 0.5 * self.n_outputs * LOG_2PI
        return logsumexp(self._log_weights() + log_density, axis=1)

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

    def cov(self):
        """Covariance matrix of the target per row (law of total covariance).

        ``Cov[y] = sum_k w_k (Sigma_k + (mu_k - m)(mu_k - m)^T)`` with mixture
        mean ``m``.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs, n_outputs)
            Also for a 1-D target, where it is (n_samples, 1, 1).
        """
        spread = self.means - self._mean()[:, None, :]
        between = np.einsum("nk,nkd,nke->nde", self.weights, spread, spread)
        within = np.einsum("nk,nkd->nd", self.weights, self._variances())
        D = self.n_outputs
        between[:, np.arange(D), np.arange(D)] += within
        return between

    # ------------------------------------------------------------ the CDF

    def logcdf(self, y):
        """Log of the joint cumulative distribution function at ``y``.

        ``F(y) = P(Y_1 <= y_1, ..., Y_D <= y_D)``. Each component has a
        diagonal covariance, so its CDF is the product of normal CDFs over
        the outputs, and the result is exact for every D.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            One query point per row.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        y = self._check_y(y)
        z = (y[:, None, :] - self.means) / np.sqrt(self._variances())
        return logsumexp(self._log_weights() + log_ndtr(z).sum(axis=2), axis=1)

    def cdf(self, y):
        """Joint cumulative distribution function at ``y``.

        For one output this is ``sum_k w_k Phi((y - mu_k) / sigma_k)``,
        summed in probability space so that values near 1 keep their
        absolute precision. For several outputs see :meth:`logcdf`.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            One query point per row.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        if self.n_outputs > 1:
            return np.exp(self.logcdf(y))
        return self._marginal_cdf(self._check_y(y))[:, 0]

    def _marginal_cdf(self, y):
        """CDF of each output's marginal at validated y (n, D), shape (n, D)."""
        z = (y[:, None, :] - self.means) / np.sqrt(self._variances())
        return np.einsum("nk,nkd->nd", self.weights, ndtr(z))

    # ---------------------------------------------------------- quantiles

    def _check_levels(self, q, name):
        """Validate levels and return them as (n_samples, m) with a flag.

        The flag is True when ``q`` was a scalar, so the level axis is dropped
        from the result.
        """
        q = np.asarray(q, dtype=np.float64)
        n = len(self)
        if q.ndim == 0:
            levels = np.full((n, 1), float(q))
        elif q.ndim == 1:
            levels = np.broadcast_to(q, (n, q.shape[0]))
        elif q.ndim == 2 and q.shape[0] == n:
            levels = q
        else:
            raise ValueError(
                f"`{name}` must be a scalar, a 1-D array of levels or an array "
                f"of shape ({n}, n_levels) with levels per row; got shape "
                f"{q.shape}."
            )
        if not np.all((levels > 0) & (levels < 1)):
            raise ValueError(
                f"`{name}` must contain probabilities strictly between 0 and 1 "
                f"(no NaN); got values in [{np.min(q)}, {np.max(q)}]."
            )
        return np.ascontiguousarray(levels), q.ndim == 0

    def _quantiles(self, levels):
        """Marginal quantiles per output: levels (n, m) -> (n, m, D)."""
        stds = np.sqrt(self._variances())
        return np.stack(
            [
                _numerics.mixture_quantiles_1d(
                    self.weights, self.means[:, :, d], stds[:, :, d], levels
                )
                for d in range(self.n_outputs)
            ],
            axis=2,
        )

    def _format_levels(self, values, scalar):
        """Shape (n, m, D) results like the target: drop axes as documented."""
        if scalar:
            values = values[:, 0, :]
        return values[..., 0] if self.target_1d else values

    def ppf(self, q):
        """Quantile function (inverse CDF) of each output's marginal.

        Solved per row and level by safeguarded Newton iteration inside the
        bracket given by the component quantiles at the same level. It stops
        when ``|cdf(ppf(q)) - q|`` is a few ulps of ``min(q, 1 - q)`` or the
        bracket spans adjacent floats (see the class Notes).

        Parameters
        ----------
        q : float or array-like of shape (n_levels,) or (n_samples, n_levels)
            Probability levels in the open interval (0, 1). A 1-D array gives
            the same levels for every row. A 2-D array gives one set of levels
            per row, so ``q[:, None]`` requests one level per row.

        Returns
        -------
        ndarray
            For a scalar ``q``: shape (n_samples,) for a 1-D target, else
            (n_samples, n_outputs). For an array of levels: (n_samples,
            n_levels) for a 1-D target, else (n_samples, n_levels,
            n_outputs).
        """
        levels, scalar = self._check_levels(q, "q")
        return self._format_levels(self._quantiles(levels), scalar)

    def median(self):
        """Median of each output's marginal, ``ppf(0.5)``.

        Returns
        -------
        ndarray of shape (n_samples,) for a 1-D target, else (n_samples, n_outputs)
        """
        return self.ppf(0.5)

    def _check_confidence(self, confidence):
        confidence = np.asarray(confidence, dtype=np.float64)
        if confidence.ndim != 0 or not 0 < confidence < 1:
            raise ValueError(
                "`confidence` must be a number strictly between 0 and 1, got "
                f"{confidence!r}."
            )
        return float(confidence)

    def interval(self, confidence=0.9):
        """Central interval of each output's marginal.

        The interval runs from the ``(1 - confidence) / 2`` quantile to the
        ``(1 + confidence) / 2`` quantile. For a multimodal row it may cover
        regions of low density, and :meth:`hdr` gives the shortest region.

        Parameters
        ----------
        confidence : float, default=0.9
            Probability mass of the interval, in (0, 1).

        Returns
        -------
        low, high : ndarray
            Each of shape (n_samples,) for a 1-D target, else (n_samples,
            n_outputs).
        """
        confidence = self._check_confidence(confidence)
        levels = np.array([0.5 * (1 - confidence), 0.5 * (1 + confidence)])
        bounds = self._quantiles(np.broadcast_to(levels, (len(self), 2)))
        return self._format(bounds[:, 0]), self._format(bounds[:, 1])

    def hdr(self, confidence=0.9):
        """Highest-density region of a univariate mixture, row by row.

        The region ``{y : p(y) >= t}`` of probability ``confidence``: the
        shortest set with that mass. A multimodal row gives a union of
        disjoint intervals, with gaps where the density is low.

        Parameters
        ----------
        confidence : float, default=0.9
            Probability mass of the region, in (0, 1).

        Returns
        -------
        list of ndarray
            One array per row, of shape (n_intervals, 2), with columns low
            and high, sorted by position.

        Raises
        ------
        ValueError
            If the distribution has more than one output. Use
            ``marginal(d).hdr()`` for output ``d``.

        Notes
        -----
        Each row is solved on its own: brentq finds the density threshold
        whose superlevel set has the requested mass, and the interval ends
        are the roots of ``p(y) - t`` between consecutive modes and
        antimodes. The cost is a few milliseconds per row.
        """
        confidence = self._check_confidence(confidence)
        self._require_one_output("hdr", "marginal(d).hdr()")
        low, high = self.interval(confidence)
        low, high = np.reshape(low, -1), np.reshape(high, -1)
        stds = np.sqrt(self._variances()[:, :, 0])
        regions = []
        for i, (locations, _) in enumerate(self._modes()):
            regions.append(
                _numerics.hdr_1d(
                    self.weights[i], self.means[i, :, 0], stds[i],
                    locations[:, 0], confidence, (low[i], high[i]),
                )  # fmt: skip
            )
        return regions

    def _require_one_output(self, method, alternative):
        if self.n_outputs != 1:
            raise ValueError(
                f"{method} needs a distribution with one output, this one has "
                f"{self.n_outputs}; use {alternative} for each output instead."
            )

    # -------------------------------------------------------------- modes

    def _mode_candidates(self):
        """Fixed points of mean-shift from starts around each component mean.

        Returns the points, of shape (n, s, D), and each row's smallest
        component standard deviation, of shape (n,).
        """
        variances = self._variances()
        scale = np.sqrt(variances.min(axis=(1, 2)))
        starts = _numerics.mode_search_starts(self.means, variances)
        # Bound the (rows, starts, K, D) work arrays to about 2e6 floats.
        n, s, D = starts.shape
        block = max(1, int(2e6 // (s * self.n_components * D)))
        candidates = np.empty_like(starts)
        for first in range(0, n, block):
            rows = slice(first, first + block)
            candidates[rows] = _numerics.mean_shift(
                self.weights[rows], self.means[rows], variances[rows],
                starts[rows], scale[rows],
            )  # fmt: skip
        return candidates, scale

    def _candidate_logpdf(self, points):
        """Log-density of points (n, s, D) under each row's mixture, (n, s)."""
        n, s, D = points.shape
        rows = np.repeat(np.arange(n), s)
        repeated = type(self)(
            self.weights[rows], self.means[rows], self.covariances[rows],
            self.covariance_type,
        )  # fmt: skip
        return repeated.logpdf(points.reshape(n * s, D)).reshape(n, s)

    def _modes(self):
        """Return per row (locations (r, D), densities (r,)), best first."""
        candidates, scale = self._mode_candidates()
        log_density = self._candidate_logpdf(candidates)
        is_max = _numerics.is_local_maximum(
            candidates, self.weights, self.means, self._variances()
        )
        result = []
        for i in range(len(self)):
            # The global maximum is always a local one, so keep it even if
            # rounding made the Hessian test fail at a very flat top.
            is_max[i, np.argmax(log_density[i])] = True
            locations, values = _numerics.merge_points(
                candidates[i, is_max[i]], log_density[i, is_max[i]], 1e-4 * scale[i]
            )
            result.append((locations, np.exp(values)))
        return result

    def modes(self):
        """Find all distinct local modes of each row's density, highest first.

        Mean-shift iteration (Carreira-Perpiñán, 2000) runs from every
        component mean, and from points 0.5, 1 and 2 component standard
        deviations away from it along each axis, until its step falls below
        1e-12 times the smallest component standard deviation of the row.
        Fixed points that are not local maxima (saddles, minima) are dropped,
        and points closer than 1e-4 of that standard deviation are merged.
        For an inverse problem with several solutions, these are the
        alternative solutions.

        Returns
        -------
        list of tuple
            One ``(locations, densities)`` pair per row. ``locations`` has
            shape (n_modes,) for a 1-D target, else (n_modes, n_outputs).
            ``densities`` has shape (n_modes,) and is sorted in decreasing
            order.

        Notes
        -----
        Every mode found is a true local maximum. No start set is known to
        reach every mode of every mixture: starting at the component means
        alone misses a shallow mode on the flank of a narrow spike, which the
        extra starts catch. A mode whose basin contains no start can still be
        missed, and then :meth:`hdr` can be longer than the shortest region.
        """
        return [
            (self._format(locations), densities)
            for locations, densities in self._modes()
        ]

    def mode(self):
        """Global mode (the most probable point) of each row's density.

        Returns
        -------
        ndarray of shape (n_samples,) for a 1-D target, else (n_samples, n_outputs)
        """
        candidates, _ = self._mode_candidates()
        log_density = self._candidate_logpdf(candidates)
        best = np.argmax(log_density, axis=1)
        return self._format(candidates[np.arange(len(self)), best])

    # -------------------------------------------------- samples and parts

    def sample(self, n_samples=1, random_state=None):
        """Draw samples from each row's mixture.

        Parameters
        ----------
        n_samples : int, default=1
            Number of draws per row.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws. An int gives the same samples on every call.

        Returns
        -------
        ndarray
            Of shape (n_rows, n_samples) for a 1-D target, else (n_rows,
            n_samples, n_outputs), where ``n_rows`` is ``len(self)``.
        """
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"`n_samples` must be a positive integer, got {n_samples!r}."
            )
        rng = check_random_state(random_state)
        n, D = len(self), self.n_outputs
        cumulative = np.cumsum(self.weights, axis=1)
        u = rng.uniform(size=(n, n_samples)) * cumulative[:, -1:]
        component = (u[:, :, None] >= cumulative[:, None, :]).sum(axis=2)
        component = np.minimum(component, self.n_components - 1)  # (n, n_samples)
        rows = np.arange(n)[:, None]
        means = self.means[rows, component]  # (n, n_samples, D)
        stds = np.sqrt(self._variances()[rows, component])
        draws = means + stds * rng.standard_normal((n, n_samples, D))
        return draws[:, :, 0] if self.target_1d else draws

    def marginal(self, dims):
        """Mixture over a subset of the outputs.

        The components have diagonal covariances, so the marginal keeps the
        weights and drops the other outputs from each component.

        Parameters
        ----------
        dims : int or sequence of int
            Output indices. An int gives a distribution with ``target_1d=True``
            (1-D queries), a sequence one with ``len(dims)`` outputs.

        Returns
        -------
        GaussianMixtureDistribution
        """
        D = self.n_outputs
        single = isinstance(dims, Integral)
        index = np.atleast_1d(np.asarray(dims))
        if (
            index.ndim != 1
            or index.size == 0
            or not np.issubdtype(index.dtype, np.integer)
            or np.any((index < -D) | (index >= D))
            or len(np.unique(index % D)) != index.size
        ):
            raise ValueError(
                f"`dims` must be an output index or distinct output indices in "
                f"[0, {D}), got {dims!r}."
            )
        covariances = self.covariances
        if self.covariance_type == "diag":
            covariances = covariances[:, :, index]
        return type(self)(
            self.weights, self.means[:, :, index], covariances,
            self.covariance_type, target_1d=single,
        )  # fmt: skip

    def to_scipy(self):
        """Return the row's distribution as a ``scipy.stats.Mixture``.

        Requires one row, one output and scipy 1.15 or newer, which provides
        ``scipy.stats.Mixture`` and ``scipy.stats.Normal``.

        Returns
        -------
        scipy.stats.Mixture
            A mixture of ``scipy.stats.Normal`` components with the same
            weights.

        Raises
        ------
        ValueError
            If the distribution has more than one row or output.
        ImportError
            If the installed scipy has no ``scipy.stats.Mixture``.
        """
        if len(self) != 1:
            raise ValueError(
                f"to_scipy needs a single row, got {len(self)}; select one with "
                "dist[i]."
            )
        self._require_one_output("to_scipy", "marginal(d).to_scipy()")
        from scipy import stats

        if not hasattr(stats, "Mixture"):
            import scipy

            raise ImportError(
                "to_scipy needs scipy.stats.Mixture, added in scipy 1.15; the "
                f"installed scipy is {scipy.__version__}."
            )
        stds = np.sqrt(self._variances()[0, :, 0])
        components = [
            stats.Normal(mu=mu, sigma=sigma)
            for mu, sigma in zip(self.means[0, :, 0], stds)
        ]
        return stats.Mixture(components, weights=self.weights[0])
