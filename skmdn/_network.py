"""The multilayer perceptron of the MDN: packing, forward pass, loss and gradient.

All functions are pure: they take a flat parameter vector (or the arrays it
unpacks to) and data, and return new values. Layer ``l`` maps
``layer_units[l]`` inputs to ``layer_units[l + 1]`` outputs with weights
``coefs[l]`` of shape (fan_in, fan_out) and biases ``intercepts[l]`` of shape
(fan_out,). The flat vector stores all weight matrices first (row-major, in
layer order), then all bias vectors, like scikit-learn's MLP.
"""

import numpy as np
from scipy.special import expit

from skmdn import _mixture

ACTIVATIONS = ("tanh", "relu", "logistic", "identity")

# Rows per block in ``loss_and_grad``. Blocks bound the memory of the forward
# and backward pass; 4096 rows x 64 hidden units x 8 bytes is 2 MiB per array.
DEFAULT_BLOCK_SIZE = 4096


def _activate_inplace(Z, activation):
    """Apply the hidden activation to the pre-activations ``Z`` in place."""
    if activation == "tanh":
        np.tanh(Z, out=Z)
    elif activation == "relu":
        np.maximum(Z, 0.0, out=Z)
    elif activation == "logistic":
        expit(Z, out=Z)
    elif activation != "identity":
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}.")


def _backprop_activation_inplace(H, delta, activation):
    """Multiply ``delta`` in place by f'(z), written in terms of ``H = f(z)``."""
    if activation == "tanh":
        delta *= 1.0 - H**2
    elif activation == "relu":
        delta[H <= 0.0] = 0.0
    elif activation == "logistic":
        delta *= H * (1.0 - H)


def n_params(layer_units):
    """Return the length of the flat parameter vector."""
    return sum((a + 1) * b for a, b in zip(layer_units[:-1], layer_units[1:]))


def unpack(theta, layer_units):
    """Split a flat parameter vector into weight and bias views (no copy).

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
    layer_units : sequence of int
        ``[n_features, *hidden_layer_sizes, head_size]``.

    Returns
    -------
    coefs : list of ndarray, the l-th of shape (layer_units[l], layer_units[l+1])
    intercepts : list of ndarray, the l-th of shape (layer_units[l+1],)
    """
    coefs, intercepts = [], []
    start = 0
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        stop = start + fan_in * fan_out
        coefs.append(theta[start:stop].reshape(fan_in, fan_out))
        start = stop
    for fan_out in layer_units[1:]:
        intercepts.append(theta[start : start + fan_out])
        start += fan_out
    return coefs, intercepts


def pack(coefs, intercepts):
    """Concatenate weights and biases into one flat vector (the inverse of unpack)."""
    return np.concatenate([c.ravel() for c in coefs] + [b.ravel() for b in intercepts])


def forward(coefs, intercepts, X, activation):
    """Run the network and return every layer's output.

    Returns
    -------
    layers : list of ndarray
        ``[X, H_1, ..., H_L, A]``: the input, each hidden layer after its
        activation, and the linear output layer of shape (n_samples, head_size).
    """
    layers = [X]
    n_layers = len(coefs)
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        Z = layers[-1] @ W
        Z += b
        if i < n_layers - 1:
            _activate_inplace(Z, activation)
        layers.append(Z)
    return layers


def _accumulate_block(coefs, intercepts, X, Y, w, grads, head, activation):
    """Add one block's weighted NLL gradient into ``grads``; return its NLL."""
    coef_grads, intercept_grads = grads
    layers = forward(coefs, intercepts, X, activation)
    nll, delta = _mixture.nll_and_grad(layers[-1], Y, w, *head)
    for i in range(len(coefs) - 1, -1, -1):
        coef_grads[i] += layers[i].T @ delta
        intercept_grads[i] += delta.sum(axis=0)
        if i > 0:
            delta = delta @ coefs[i].T
            _backprop_activation_inplace(layers[i], delta, activation)
    return nll


def loss_and_grad(
    theta,
    X,
    Y,
    sample_weight,
    *,
    layer_units,
    activation,
    n_components,
    covariance_type,
    min_scale,
    alpha,
    block_size=DEFAULT_BLOCK_SIZE,
):
    """Return the training objective and its gradient for L-BFGS.

    The objective is the weighted mean negative log-likelihood of the mixture
    plus the L2 penalty ``0.5 * alpha * ||W||^2 / sum(w)`` on the weights
    (not the biases), the same scaling as scikit-learn's MLP.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        Flat parameter vector, see :func:`unpack`.
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_outputs)
    sample_weight : ndarray of shape (n_samples,)
        Non-negative weights with a positive sum.
    layer_units : sequence of int
        ``[n_features, *hidden_layer_sizes, head_size]``.
    activation : {"tanh", "relu", "logistic", "identity"}
    n_components : int
    covariance_type : {"spherical", "diag"}
    min_scale : float
        Floor on every component standard deviation.
    alpha : float
        L2 penalty strength.
    block_size : int or None
        Rows per block of the forward and backward pass; None for one block.
        The result does not depend on it beyond floating-point rounding.

    Returns
    -------
    loss : float
    grad : ndarray of shape (n_params,)
    """
    coefs, intercepts = unpack(theta, layer_units)
    grad = np.zeros_like(theta)
    grads = unpack(grad, layer_units)
    head = (n_components, covariance_type, min_scale)

    n_samples = X.shape[0]
    step = n_samples if block_size is None else max(int(block_size), 1)
    nll = 0.0
    for start in range(0, n_samples, step):
        rows = slice(start, start + step)
        nll += _accumulate_block(
            coefs, intercepts, X[rows], Y[rows], sample_weight[rows],
            grads, head, activation,
        )  # fmt: skip

    total_weight = float(sample_weight.sum())
    grad /= total_weight
    penalty = 0.0
    for W, g in zip(coefs, grads[0]):
        penalty += 0.5 * alpha * float(np.vdot(W, W))
        g += (alpha / total_weight) * W
    return (nll + penalty) / total_weight, grad


def output_layer(coefs, intercepts, X, activation, block_size=DEFAULT_BLOCK_SIZE):
    """Return the output-layer activations for ``X``, computed in row blocks.

    Parameters
    ----------
    coefs, intercepts : list of ndarray
        As returned by :func:`unpack`.
    X : ndarray of shape (n_samples, n_features)
    activation : {"tanh", "relu", "logistic", "identity"}
    block_size : int or None
        Rows per block; None for one block. Blocks bound the memory taken by
        the hidden layers.

    Returns
    -------
    A : ndarray of shape (n_samples, head_size)
    """
    n_samples = X.shape[0]
    A = np.empty((n_samples, coefs[-1].shape[1]))
    step = n_samples if block_size is None else max(int(block_size), 1)
    for start in range(0, n_samples, step):
        rows = slice(start, start + step)
        A[rows] = forward(coefs, intercepts, X[rows], activation)[-1]
    return A
