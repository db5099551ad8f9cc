"""Quantiles, modes and highest-density regions of Gaussian mixtures.

Plain numpy and scipy functions on mixture parameters, used by
:class:`skmdn.GaussianMixtureDistribution`. Arguments are assumed valid
(finite, positive scales, weights summing to 1) because the public layer
checks them.
"""

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import logsumexp, ndtr, ndtri

from skmdn._mixture import LOG_2PI

_EPS = np.finfo(np.float64).eps

# Iteration limits. Bisection alone halves a bracket of any finite width to
# adjacent floats in under 2100 steps, and safeguarded Newton needs far fewer.
_MAX_QUANTILE_ITER = 2200
_MAX_MEAN_SHIFT_ITER = 10_000


def mixture_cdf_1d(x, weights, means, stds, upper=False):
    """Return the CDF (or with ``upper=True`` the survival function) at ``x``.

    ``x`` has shape (n, m), the parameters (n, K) and the result (n, m).
    """
    z = (x[:, :, None] - means[:, None, :]) / stds[:, None, :]
    if upper:
        z = -z
    return np.einsum("nmk,nk->nm", ndtr(z), weights)


def mixture_pdf_1d(x, weights, means, stds):
    """Return the density at ``x`` (n, m) for parameters of shape (n, K)."""
    z = (x[:, :, None] - means[:, None, :]) / stds[:, None, :]
    component = np.exp(-0.5 * z**2 - 0.5 * LOG_2PI) / stds[:, None, :]
    return np.einsum("nmk,nk->nm", component, weights)


def quantile_bracket(weights, means, stds, q):
    """Return the min and max over components of the component quantiles.

    The mixture CDF at level ``q`` is a weighted mean of component CDFs, each
    of which is below ``q`` left of its own quantile and above it to the
    right, so the mixture quantile lies between the extreme component
    quantiles. Components of zero weight are ignored.
    """
    component = means[:, None, :] + stds[:, None, :] * ndtri(q)[:, :, None]
    present = (weights > 0)[:, None, :]
    low = np.where(present, component, np.inf).min(axis=2)
    high = np.where(present, component, -np.inf).max(axis=2)
    return low, high


def mixture_quantiles_1d(weights, means, stds, q):
    """Solve ``F(x) = q`` for every row and level by safeguarded Newton.

    Parameters
    ----------
    weights, means, stds : ndarray of shape (n, K)
        Mixing weights, component means and standard deviations.
    q : ndarray of shape (n, m)
        Levels, each strictly between 0 and 1.

    Returns
    -------
    ndarray of shape (n, m)

    Notes
    -----
    Each root is kept inside the bracket of :func:`quantile_bracket`. A
    Newton step is taken when it stays inside the bracket and at most halves
    the step before last, otherwise the bracket is bisected (the safeguard of
    ``rtsafe`` in Numerical Recipes). The residual is formed in the lower
    tail for ``q <= 0.5`` and in the upper tail otherwise, so that levels near
    1 keep their relative precision. Iteration stops when the residual is
    within a few ulps of the tail mass or the bracket spans adjacent floats.
    """
    n_rows, n_levels = q.shape
    low, high = (bound.ravel() for bound in quantile_bracket(weights, means, stds, q))
    # one element per (row, level), with the row of each in `rows`
    rows = np.repeat(np.arange(n_rows), n_levels)
    q = q.ravel()
    upper = q > 0.5
    tail = np.where(upper, 1.0 - q, q)
    x = 0.5 * (low + high)
    step_before_last = np.full_like(x, np.inf)
    last_step = np.full_like(x, np.inf)
    # A bracket of zero width (all components give the same quantile) is
    # never iterated, and x is then that common quantile.
    active = np.flatnonzero(high > low)

    for _ in range(_MAX_QUANTILE_ITER):
        if active.size == 0:
            break
        params = weights[rows[active]], means[rows[active]], stds[rows[active]]
        xa = x[active]
        lower_mass = mixture_cdf_1d(xa[:, None], *params)[:, 0]
        upper_mass = mixture_cdf_1d(xa[:, None], *params, upper=True)[:, 0]
        density = mixture_pdf_1d(xa[:, None], *params)[:, 0]
        # residual = F(x) - q, written in the tail that keeps precision
        residual = np.where(
            upper[active], tail[active] - upper_mass, lower_mass - tail[active]
        )

        la = np.where(residual < 0, xa, low[active])
        ha = np.where(residual > 0, xa, high[active])
        low[active], high[active] = la, ha
        converged = (np.abs(residual) <= 4 * _EPS * tail[active]) | (
            ha - la <= 2 * _EPS * np.maximum(np.abs(la), np.abs(ha))
        )

        with np.errstate(divide="ignore", invalid="ignore"):
            newton = xa - residual / density
        use_newton = (
            (density > 0)
            & (newton > la)
            & (newton < ha)
            & (np.abs(newton - xa) <= 0.5 * np.abs(step_before_last[active]))
        )
        candidate = np.where(use_newton, newton, 0.5 * (la + ha))
        step_before_last[active] = last_step[active]
        last_step[active] = candidate - xa
        x[active] = np.where(converged, xa, candidate)
        active = active[~converged]
    return x.reshape(n_rows, n_levels)


def _responsibilities(x, weights, means, variances):
    """Posterior component probabilities at points x (n, s, D), shape (n, s, K)."""
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    residual = x[:, :, None, :] - means[:, None, :, :]  # (n, s, K, D)
    log_resp = (
        log_weights[:, None, :]
        - 0.5 * np.log(variances).sum(axis=2)[:, None, :]
        - 0.5 * np.einsum("nskd,nkd->nsk", residual**2, 1.0 / variances)
    )
    return np.exp(log_resp - logsumexp(log_resp, axis=2, keepdims=True))


# Offsets, in component standard deviations along each axis, of the extra
# mean-shift starts around every component mean.
_START_OFFSETS = (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0)


# TODO: no finite set of starts is proven to reach every mode. Before the
# offset starts were added, a shallow mode beside a narrow spike was missed in
# about 1% of random 6- to 8-component mixtures.
def mode_search_starts(means, variances):
    """Return mean-shift starts at and around every component mean.

    A mode whose basin of attraction contains no component mean exists when a
    wide component sits on the flank of a narrow one (a shallow mode beside
    a spike). Starts at ``mu_k +- c sigma_kd`` along each axis, for c in
    ``_START_OFFSETS``, reach such modes too.

    Parameters
    ----------
    means, variances : ndarray of shape (n, K, D)

    Returns
    -------
    ndarray of shape (n, K * (1 + 6 D), D)
    """
    n, K, D = means.shape
    offsets = np.asarray(_START_OFFSETS)
    stds = np.sqrt(variances)
    # (n, K, offsets, axis d, D): mean moved along axis d only
    shifted = np.broadcast_to(
        means[:, :, None, None, :], (n, K, offsets.size, D, D)
    ).copy()
    axes = np.arange(D)
    shifted[:, :, :, axes, axes] += offsets[None, None, :, None] * stds[:, :, None, :]
    return np.concatenate([means, shifted.reshape(n, -1, D)], axis=1)


def mean_shift(weights, means, variances, starts, tol_scale):
    """Run the Gaussian mean-shift fixed point from each start.

    For a mixture with diagonal covariances the stationary points of the
    density satisfy ``x = (sum_k r_k S_k^-1)^-1 sum_k r_k S_k^-1 mu_k`` with
    responsibilities ``r_k(x)``, and iterating that map increases the
    density at every step (Carreira-Perpiñán, 2000).

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means, variances : ndarray of shape (n, K, D)
    starts : ndarray of shape (n, s, D)
    tol_scale : ndarray of shape (n,)
        Length scale per row. Iteration stops once no start moves by more
        than ``1e-12 * tol_scale``.

    Returns
    -------
    ndarray of shape (n, s, D)
        The fixed point reached from each start.
    """
    precisions = 1.0 / variances  # (n, K, D)
    weighted_means = means * precisions
    x = starts.copy()
    tol = 1e-12 * tol_scale[:, None]
    for _ in range(_MAX_MEAN_SHIFT_ITER):
        resp = _responsibilities(x, weights, means, variances)
        new_x = np.einsum("nsk,nkd->nsd", resp, weighted_means) / np.einsum(
            "nsk,nkd->nsd", resp, precisions
        )
        moved = np.abs(new_x - x).max(axis=2)
        x = new_x
        if np.all(moved <= tol):
            break
    # NOTE: near a bifurcation (two modes about to merge) the map converges
    # slowly, and after the iteration limit the last point is returned as is.
    return x


def is_local_maximum(x, weights, means, variances):
    """Tell which stationary points ``x`` (n, s, D) are local maxima.

    The Hessian of the density divided by the density is
    ``sum_k r_k (v_k v_k^T - S_k^-1)`` with ``v_k = S_k^-1 (mu_k - x)``, and
    its eigenvalues have the signs of those of the Hessian itself. Returns a
    bool array of shape (n, s).
    """
    precisions = 1.0 / variances
    residual = means[:, None, :, :] - x[:, :, None, :]  # (n, s, K, D)
    resp = _responsibilities(x, weights, means, variances)
    v = residual * precisions[:, None, :, :]
    hessian = np.einsum("nsk,nskd,nske->nsde", resp, v, v)
    diagonal = np.einsum("nsk,nkd->nsd", resp, precisions)
    D = x.shape[2]
    hessian[..., np.arange(D), np.arange(D)] -= diagonal
    largest = np.linalg.eigvalsh(hessian)[..., -1]
    # A flat maximum has eigenvalues at rounding level, well below the
    # curvature 1 / sigma^2 of any component.
    return largest <= 1e-8 * diagonal.max(axis=2)


def merge_points(points, values, tol):
    """Merge points closer than ``tol``, keeping the one of highest value.

    ``points`` has shape (s, D) and ``values`` (s,). Returns the kept points
    and values, sorted by decreasing value.
    """
    order = np.argsort(-values, kind="stable")
    kept_indices = []
    for i in order:
        if all(np.abs(points[i] - points[j]).max() > tol for j in kept_indices):
            kept_indices.append(i)
    kept_indices = np.asarray(kept_indices, dtype=np.intp)
    return points[kept_indices], values[kept_indices]


class _Mixture1D:
    """One row's univariate mixture, with scalar pdf and CDF for root finding."""

    def __init__(self, weights, means, stds):
        present = weights > 0
        self.weights = weights[present]
        self.means = means[present]
        self.stds = stds[present]

    def pdf(self, x):
        z = (x - self.means) / self.stds
        density = np.exp(-0.5 * z**2 - 0.5 * LOG_2PI) / self.stds
        return float(np.dot(self.weights, density))

    def cdf(self, x):
        return float(np.dot(self.weights, ndtr((x - self.means) / self.stds)))

    def level_crossing(self, threshold, left, right, xtol):
        """Return the x in [left, right] where the monotone pdf equals threshold."""
        return brentq(lambda x: self.pdf(x) - threshold, left, right, xtol=xtol)

    def outer_point(self, threshold, start, direction):
        """Step away from ``start`` until the density drops below threshold."""
        step = self.stds.max()
        x = start + direction * step
        while self.pdf(x) >= threshold:
            step *= 2.0
            x = start + direction * step
        return x


def hdr_1d(weights, means, stds, modes, confidence, central):
    """Return the highest-density region of one row as an (r, 2) array.

    Parameters
    ----------
    weights, means, stds : ndarray of shape (K,)
    modes : ndarray of shape (s,)
        Every local mode of the row's density.
    confidence : float
        Probability mass of the region.
    central : tuple of float
        The central interval of the same mass, used to bound the threshold.

    Notes
    -----
    The region is the superlevel set ``{x : p(x) >= t}`` whose mass is
    ``confidence``. Between consecutive modes lies one antimode (found by
    bounded minimisation), so the density is monotone on each piece between
    critical points and every crossing of level ``t`` is a bracketed root. The
    mass is decreasing in ``t``, and brentq solves ``mass(t) = confidence``
    between the lowest density on the central interval (whose superlevel set
    contains that interval, so its mass is at least ``confidence``) and the
    highest mode.
    """
    row = _Mixture1D(weights, means, stds)
    modes = np.sort(modes)
    xtol = 1e-13 * row.stds.min()
    antimodes = [
        minimize_scalar(row.pdf, bounds=(a, b), method="bounded",
                        options={"xatol": xtol}).x  # fmt: skip
        for a, b in zip(modes[:-1], modes[1:])
    ]
    # critical points in order: mode, antimode, mode, ..., mode
    critical = np.empty(2 * len(modes) - 1)
    critical[0::2] = modes
    critical[1::2] = antimodes
    critical_density = np.array([row.pdf(c) for c in critical])

    def intervals(threshold):
        crossings = []
        left = row.outer_point(threshold, critical[0], -1.0)
        if critical_density[0] >= threshold:
            crossings.append(row.level_crossing(threshold, left, critical[0], xtol))
        for i in range(len(critical) - 1):
            a, b = critical[i], critical[i + 1]
            above = critical_density[i] >= threshold
            if above != (critical_density[i + 1] >= threshold):
                crossings.append(row.level_crossing(threshold, a, b, xtol))
        if critical_density[-1] >= threshold:
            right = row.outer_point(threshold, critical[-1], 1.0)
            crossings.append(row.level_crossing(threshold, critical[-1], right, xtol))
        return np.reshape(crossings, (-1, 2))

    def excess_mass(threshold):
        bounds = intervals(threshold)
        mass = sum(row.cdf(high) - row.cdf(low) for low, high in bounds)
        return mass - confidence

    inside = (critical > central[0]) & (critical < central[1])
    lowest = min(row.pdf(central[0]), row.pdf(central[1]),
                 *critical_density[inside])  # fmt: skip
    highest = critical_density.max()
    if excess_mass(lowest) <= 0:
        return intervals(lowest)
    threshold = brentq(excess_mass, lowest, highest, xtol=1e-14 * highest,
                       rtol=4 * _EPS)  # fmt: skip
    return intervals(threshold)
