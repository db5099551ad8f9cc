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

import numpy as np
from scipy.special import log_softmax, logsumexp

LOG_2PI = np.log(2.0 * np.pi)

# exp(50) is about 5e21 standard deviations of the training targets. Raw
# scale outputs above this are clipped (with zero gradient) so that exp never
# overflows, whatever the parameters.
MAX_LOG_SCALE = 50.0

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


def _component_log_density(Y, scales, means, covariance_type):
    """Log N(y | mu_k, Sigma_k) per row and component, plus a reusable residual.

    Returns ``(log_density, residual)``, where log_density has shape
    (n_samples, n_components) and residual has shape (n, K, D). For "diag"
    the residual is standardised, ``(y - mu) / sigma``. For "spherical" it is
    the raw residual ``y - mu``.
    """
    D = means.shape[2]
    residual = Y[:, None, :] - means  # (n, K, D)
    if covariance_type == "diag":
        residual /= scales
        log_density = -0.5 * np.einsum("nkd,nkd->nk", residual, residual)
        log_density -= np.log(scales).sum(axis=2)
    else:
        sigma = scales[:, :, 0]  # (n, K)
        sq_dist = np.einsum("nkd,nkd->nk", residual, residual)
        log_density = -0.5 * sq_dist / sigma**2 - D * np.log(sigma)
    log_density -= 0.5 * D * LOG_2PI
    return log_density, residual


def log_likelihood(A, Y, n_components, covariance_type, min_scale):
    """Return log p(y_n | x_n) for each row, shape (n_samples,)."""
    D = Y.shape[1]
    log_weights, scales, means, _ = mixture_parameters(
        A, n_components, D, covariance_type, min_scale
    )
    log_density, _ = _component_log_density(Y, scales, means, covariance_type)
    return logsumexp(log_weights + log_density, axis=1)


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
    K, D = n_components, Y.shape[1]
    log_weights, scales, means, excess = mixture_parameters(
        A, K, D, covariance_type, min_scale
    )
    log_density, residual = _component_log_density(Y, scales, means, covariance_type)
    log_joint = log_weights + log_density  # (n, K)
    row_ll = logsumexp(log_joint, axis=1)  # (n,)
    nll = -float(sample_weight @ row_ll)

    # Responsibilities gamma_k = pi_k N_k / sum_j pi_j N_j, pre-multiplied by
    # the row weight; every gradient below is linear in them.
    w_gamma = np.exp(log_joint - row_ll[:, None])
    w_gamma *= sample_weight[:, None]

    grad = np.empty_like(A)
    g_logits, g_raw, g_means = split_head(grad, K, D, covariance_type)
    # Softmax with negative log-likelihood (Bishop 1994, eq. 35):
    # d/da_pi_k = pi_k - gamma_k.
    np.multiply(np.exp(log_weights), sample_weight[:, None], out=g_logits)
    g_logits -= w_gamma

    # With sigma = min_scale + exp(a_sigma), d sigma / d a_sigma = excess, so
    # each log-scale derivative of Bishop's exp link is scaled by excess/sigma.
    # diag, with r = (y - mu) / sigma:
    #   d/da_mu = -gamma r / sigma,  d/da_sigma = gamma (1 - r^2) excess / sigma
    # spherical, with e = y - mu:
    #   d/da_mu = -gamma e / sigma^2,
    #   d/da_sigma = gamma (D - |e|^2 / sigma^2) excess / sigma
    if covariance_type == "diag":
        np.divide(residual, scales, out=g_means)
        g_means *= -w_gamma[:, :, None]
        g_raw[...] = 1.0 - residual**2
        g_raw *= w_gamma[:, :, None]
    else:
        sigma = scales[:, :, 0]
        inv_var = 1.0 / sigma**2  # (n, K)
        np.multiply(residual, (-w_gamma * inv_var)[:, :, None], out=g_means)
        sq_dist = np.einsum("nkd,nkd->nk", residual, residual)
        g_raw[:, :, 0] = w_gamma * (D - sq_dist * inv_var)
    g_raw *= excess
    g_raw /= scales
    # The scale link clips raw scales at MAX_LOG_SCALE, where the loss is flat.
    _, raw_scales, _ = split_head(A, K, D, covariance_type)
    g_raw[raw_scales > MAX_LOG_SCALE] = 0.0
    return nll, grad
