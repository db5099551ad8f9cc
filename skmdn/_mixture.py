"""The Gaussian-mixture head of the network: parameters, log-likelihood, gradient.

The last layer of the network produces, for each row, an output vector ``a`` of
length ``K * (1 + S + D)`` laid out as::

    [ a_pi (K) | a_sigma (K * S) | a_mu (K * D) ]

with ``K`` components, ``D`` outputs and ``S`` scale parameters per component
(1 for "spherical", D for "diag"). The links are

* mixing weights ``pi = softmax(a_pi)``,
* scales ``sigma = min_scale + exp(a_sigma)``, so no component can shrink below
  ``min_scale`` and the likelihood stays bounded,
* means ``mu = a_mu``.

Everything here is evaluated in log space and never forms a density in
probability space. The module is plain numpy and scipy, with no state.
"""

from types import SimpleNamespace

import numpy as np
from scipy.special import log_softmax

LOG_2PI = np.log(2.0 * np.pi)

# exp(50) is about 5e21 standard deviations of the training targets. Raw
# scale outputs above this are clipped (with zero gradient) so that exp never
# overflows, whatever the parameters.
MAX_LOG_SCALE = 50.0

# exp(-600) is about 1e-261. Exponents below it are raised to it: the sums
# that these terms enter do not change in float64, and the gradient never
# contains subnormal numbers, which make matrix products many times slower.
MIN_EXPONENT = -600.0

COVARIANCE_TYPES = ("spherical", "diag")


def n_scale_params(n_outputs, covariance_type):
    """Return the number S of raw scale outputs per component."""
    if covariance_type == "spherical":
        return 1
    if covariance_type == "diag":
        return n_outputs
    raise ValueError(
        f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}."
    )


def head_size(n_components, n_outputs, covariance_type):
    """Return the width of the output layer for this mixture head."""
    n_scales = n_scale_params(n_outputs, covariance_type)
    return n_components * (1 + n_scales + n_outputs)


def split_head(A, n_components, n_outputs, covariance_type):
    """Split output-layer activations into the three heads (views, no copy).

    Parameters
    ----------
    A : ndarray of shape (n_samples, head_size)
        Output-layer activations.

    Returns
    -------
    logits : ndarray of shape (n_samples, n_components)
    raw_scales : ndarray of shape (n_samples, n_components, S)
    means : ndarray of shape (n_samples, n_components, n_outputs)
    """
    K, D = n_components, n_outputs
    S = n_scale_params(D, covariance_type)
    n = A.shape[0]
    logits = A[:, :K]
    raw_scales = A[:, K : K + K * S].reshape(n, K, S)
    means = A[:, K + K * S :].reshape(n, K, D)
    return logits, raw_scales, means


def mixture_parameters(A, n_components, n_outputs, covariance_type, min_scale):
    """Map output-layer activations to mixture parameters.

    Returns
    -------
    log_weights : ndarray of shape (n_samples, n_components)
        Log mixing weights, normalised with a stable log-softmax.
    scales : ndarray of shape (n_samples, n_components, S)
        Component standard deviations, each at least ``min_scale``.
    means : ndarray of shape (n_samples, n_components, n_outputs)
    excess : ndarray of shape (n_samples, n_components, S)
        ``scales - min_scale``, which is also d(scale) / d(raw scale).
    """
    logits, raw_scales, means = split_head(A, n_components, n_outputs, covariance_type)
    log_weights = log_softmax(logits, axis=1)
    excess = np.exp(np.minimum(raw_scales, MAX_LOG_SCALE))
    scales = excess + min_scale
    return log_weights, scales, means, excess


class BlockArrays:
    """Preallocated arrays for blocks of up to ``n_rows`` samples.

    Each array is stored flat and viewed, for a block of ``m`` samples, as a
    contiguous array of its leading ``width * m`` values, so that one set of
    arrays serves every block height without copying or reallocating.

    Parameters
    ----------
    n_rows : int
        Largest block height.
    layouts : dict of str to (int, str)
        For each array name, its width and layout: "rows" gives views of
        shape (m, width), "columns" of shape (width, m), and "vector" (width
        1) of shape (m,).
    """

    def __init__(self, n_rows, layouts):
        self.n_rows = int(n_rows)
        self._layouts = dict(layouts)
        self.flat = {
            name: np.empty(width * self.n_rows)
            for name, (width, _) in self._layouts.items()
        }
        self._views = {}

    def views(self, n_samples):
        """Return a namespace of views of every array for ``n_samples`` samples.

        The views are cached for the last two block heights, which covers
        the full blocks and the shorter last block of a pass over the data.
        """
        views = self._views.get(n_samples)
        if views is not None:
            return views
        if not 0 < n_samples <= self.n_rows:
            raise ValueError(
                f"Blocks must have 1 to {self.n_rows} samples; got {n_samples}."
            )
        views = SimpleNamespace()
        for name, (width, layout) in self._layouts.items():
            view = self.flat[name][: width * n_samples]
            if layout == "rows":
                view = view.reshape(n_samples, width)
            elif layout == "columns":
                view = view.reshape(width, n_samples)
            setattr(views, name, view)
        if len(self._views) > 1:
            self._views.clear()
        self._views[n_samples] = views
        return views


def head_workspace(n_rows, n_components, n_outputs, covariance_type):
    """Return the scratch arrays of :func:`nll_and_grad_transposed`.

    Every array is transposed, with one row per head quantity and one column
    per sample, so that elementwise operations and the sums over components
    and outputs run along contiguous rows of samples rather than along axes
    of length K or D.
    """
    K, D = n_components, n_outputs
    S = n_scale_params(D, covariance_type)
    per_component = ("sq_dist", "log_joint", "joint", "prior")
    per_sample = ("joint_max", "joint_sum", "prior_max", "prior_sum", "row_ll")
    layouts = {
        "excess": (K * S, "columns"),
        "scales": (K * S, "columns"),
        "log_scales": (K * S, "columns"),
        "inv_scales": (K * S, "columns"),
        "residual": (K * D, "columns"),
        "square": (K * D, "columns"),
        **{name: (K, "columns") for name in per_component},
        **{name: (1, "vector") for name in per_sample},
    }
    return BlockArrays(n_rows, layouts)


def _log_joint_transposed(AT, YT, n_components, covariance_type, min_scale, s):
    """Fill ``s``, views of :func:`head_workspace`, with per-component terms.

    With ``AT`` of shape (head_size, m) and ``YT`` of shape (n_outputs, m), it
    sets, for each component k and sample column:

    * ``s.excess = exp(a_sigma)``, with ``a_sigma`` clipped to
      [MIN_EXPONENT, MAX_LOG_SCALE], ``s.scales = min_scale + s.excess``,
      ``s.log_scales`` and ``s.inv_scales = 1 / s.scales``, each of shape
      (K * S, m);
    * ``s.residual = (mu - y) / sigma`` and ``s.square`` its square, of shape
      (K * D, m), with outputs varying fastest within a component;
    * ``s.sq_dist``, the sum of ``s.square`` over outputs, shape (K, m);
    * ``s.log_joint = a_pi + log N(y | mu, Sigma) + D/2 log(2 pi)``, shape
      (K, m): the log joint before the softmax normaliser and the constant.
    """
    K = n_components
    D, m = YT.shape
    S = n_scale_params(D, covariance_type)
    logits = AT[:K]
    raw_scales = AT[K : K + K * S]
    means = AT[K + K * S :].reshape(K, D, m)
    residual = s.residual.reshape(K, D, m)

    np.clip(raw_scales, MIN_EXPONENT, MAX_LOG_SCALE, out=s.excess)
    np.exp(s.excess, out=s.excess)
    np.add(s.excess, min_scale, out=s.scales)
    np.log(s.scales, out=s.log_scales)
    np.divide(1.0, s.scales, out=s.inv_scales)

    # The sign of the residual does not matter to the density, and (mu - y)
    # makes the mean gradient below come out without a negation.
    np.subtract(means, YT, out=residual)  # (K, D, m) - (D, m)
    residual *= s.inv_scales.reshape(K, S, m)  # S = 1 broadcasts over outputs
    np.multiply(s.residual, s.residual, out=s.square)
    np.sum(s.square.reshape(K, D, m), axis=1, out=s.sq_dist)

    # log N_k + D/2 log(2 pi) = -(sq_dist + 2 sum_d log sigma_kd) / 2, where
    # the D outputs of a spherical component share one log sigma_k.
    np.sum(s.log_scales.reshape(K, S, m), axis=1, out=s.log_joint)
    s.log_joint *= 2.0 * D / S
    s.log_joint += s.sq_dist
    s.log_joint *= -0.5
    s.log_joint += logits


def _logsumexp_rows(Z, exp_out, max_out, sum_out):
    """Prepare a stable log-sum-exp over the rows of ``Z`` (K, m), per column.

    Sets ``max_out = max_k Z``, ``exp_out = exp(Z - max_out)`` and
    ``sum_out = sum_k exp_out``; the log-sum-exp is ``log(sum_out) + max_out``
    and ``exp_out / sum_out`` is the softmax of each column.
    """
    np.max(Z, axis=0, out=max_out)
    np.subtract(Z, max_out, out=exp_out)
    np.maximum(exp_out, MIN_EXPONENT, out=exp_out)
    np.exp(exp_out, out=exp_out)
    np.sum(exp_out, axis=0, out=sum_out)


def _row_log_likelihood(AT, n_components, n_outputs, s):
    """Set ``s.row_ll`` to log p(y | x) per sample and return it.

    Expects ``s`` filled by :func:`_log_joint_transposed`. With log_softmax
    folded in, log sum_k pi_k N_k = lse_k(a_pi + log N) - lse_k(a_pi). It
    leaves the softmax numerators in ``s.joint`` and ``s.prior`` and their
    sums in ``s.joint_sum`` and ``s.prior_sum``.
    """
    _logsumexp_rows(s.log_joint, s.joint, s.joint_max, s.joint_sum)
    _logsumexp_rows(AT[:n_components], s.prior, s.prior_max, s.prior_sum)
    np.divide(s.joint_sum, s.prior_sum, out=s.row_ll)
    np.log(s.row_ll, out=s.row_ll)
    s.row_ll += s.joint_max
    s.row_ll -= s.prior_max
    s.row_ll -= 0.5 * n_outputs * LOG_2PI
    return s.row_ll


def log_likelihood(A, Y, n_components, covariance_type, min_scale):
    """Return log p(y_n | x_n) for each row, shape (n_samples,)."""
    n_samples, n_outputs = Y.shape
    work = head_workspace(n_samples, n_components, n_outputs, covariance_type)
    s = work.views(n_samples)
    AT = np.ascontiguousarray(A.T)
    YT = np.ascontiguousarray(Y.T)
    _log_joint_transposed(AT, YT, n_components, covariance_type, min_scale, s)
    return _row_log_likelihood(AT, n_components, n_outputs, s).copy()


def weighted_log_likelihood_transposed(
    AT, YT, sample_weight, n_components, covariance_type, min_scale, *, scratch
):
    """Return ``sum_n w_n log p(y_n | x_n)`` on transposed arrays.

    Takes the arrays of :func:`nll_and_grad_transposed` and allocates
    nothing. It leaves in ``scratch`` the terms that the gradient reuses.
    """
    D = YT.shape[0]
    _log_joint_transposed(AT, YT, n_components, covariance_type, min_scale, scratch)
    row_ll = _row_log_likelihood(AT, n_components, D, scratch)
    return float(sample_weight @ row_ll)


def nll_and_grad_transposed(
    AT, YT, sample_weight, n_components, covariance_type, min_scale, *, out, scratch
):
    """Weighted NLL and its gradient, on transposed arrays and in place.

    The fast form of :func:`nll_and_grad`, used on every block of the
    training loss: it allocates nothing and computes every quantity once.

    Parameters
    ----------
    AT : ndarray of shape (head_size, n_samples)
        Output-layer activations, one column per sample.
    YT : ndarray of shape (n_outputs, n_samples)
        Targets, one column per sample.
    sample_weight : ndarray of shape (n_samples,)
        Non-negative sample weights.
    n_components : int
    covariance_type : {"spherical", "diag"}
    min_scale : float
    out : ndarray of shape (head_size, n_samples)
        Receives ``w_n * d(-log p(y_n | x_n)) / dA_n``, laid out like ``AT``.
    scratch : namespace
        ``head_workspace(...).views(n_samples)`` for this head.

    Returns
    -------
    nll : float
        ``-sum_n w_n log p(y_n | x_n)`` (a sum, not a mean).
    """
    K = n_components
    D, m = YT.shape
    S = n_scale_params(D, covariance_type)
    s = scratch
    nll = -weighted_log_likelihood_transposed(
        AT, YT, sample_weight, K, covariance_type, min_scale, scratch=s
    )

    # Responsibilities gamma_k = pi_k N_k / sum_j pi_j N_j and the mixing
    # weights pi_k, each pre-multiplied by the sample weight; every gradient
    # below is linear in them.
    np.divide(sample_weight, s.joint_sum, out=s.joint_sum)
    w_gamma = s.joint
    w_gamma *= s.joint_sum
    np.divide(sample_weight, s.prior_sum, out=s.prior_sum)
    w_pi = s.prior
    w_pi *= s.prior_sum

    g_logits = out[:K]
    g_raw = out[K : K + K * S]
    g_means = out[K + K * S :].reshape(K, D, m)
    # Softmax with negative log-likelihood (Bishop 1994, eq. 35):
    # d/da_pi_k = pi_k - gamma_k.
    np.subtract(w_pi, w_gamma, out=g_logits)

    # With r = (mu - y) / sigma and sigma = min_scale + exp(a_sigma), so that
    # d sigma / d a_sigma = excess, each log-scale derivative of Bishop's exp
    # link is scaled by excess / sigma:
    #   d/da_mu_kd = gamma_k r_kd / sigma_kd,
    #   diag: d/da_sigma_kd = gamma_k (1 - r_kd^2) excess_kd / sigma_kd,
    #   spherical: d/da_sigma_k = gamma_k (D - sum_d r_kd^2) excess_k / sigma_k.
    inv_scales = s.inv_scales.reshape(K, S, m)
    np.multiply(s.residual.reshape(K, D, m), inv_scales, out=g_means)
    g_means *= w_gamma[:, None, :]
    if S == 1:
        np.subtract(float(D), s.sq_dist, out=g_raw)
    else:
        np.subtract(1.0, s.square, out=g_raw)
    g_raw_per_output = g_raw.reshape(K, S, m)
    g_raw_per_output *= w_gamma[:, None, :]
    s.excess *= s.inv_scales
    g_raw *= s.excess
    # The scale link clips raw scales at MAX_LOG_SCALE, where the loss is flat.
    raw_scales = AT[K : K + K * S]
    if raw_scales.max() > MAX_LOG_SCALE:
        g_raw[raw_scales > MAX_LOG_SCALE] = 0.0
    return nll


def nll_and_grad(A, Y, sample_weight, n_components, covariance_type, min_scale):
    """Weighted negative log-likelihood and its gradient w.r.t. the activations.

    Parameters
    ----------
    A : ndarray of shape (n_samples, head_size)
        Output-layer activations.
    Y : ndarray of shape (n_samples, n_outputs)
        Targets.
    sample_weight : ndarray of shape (n_samples,)
        Non-negative row weights.

    Returns
    -------
    nll : float
        ``-sum_n w_n log p(y_n | x_n)`` (a sum, not a mean).
    grad : ndarray of shape (n_samples, head_size)
        ``w_n * d(-log p(y_n | x_n)) / dA_n``, laid out like ``A``.
    """
    n_samples, n_outputs = Y.shape
    work = head_workspace(n_samples, n_components, n_outputs, covariance_type)
    grad_t = np.empty((A.shape[1], n_samples))
    nll = nll_and_grad_transposed(
        np.ascontiguousarray(A.T), np.ascontiguousarray(Y.T),
        np.asarray(sample_weight, dtype=np.float64), n_components,
        covariance_type, min_scale, out=grad_t, scratch=work.views(n_samples),
    )  # fmt: skip
    return nll, grad_t.T
