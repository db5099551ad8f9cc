"""Numerical failure modes of MDNs: each is handled, none passes silently."""

import itertools

import numpy as np
import pytest

from test_network import _central_differences

from skmdn import _mixture, _network


# ---------------------------------------------- gradient at large parameters


def _large_parameters(activation, covariance_type, regime, seed=0):
    """A tiny problem whose parameters push the network to an extreme."""
    rng = np.random.RandomState(seed)
    K, D = 2, 2
    layer_units = [2, 4, _mixture.head_size(K, D, covariance_type)]
    coefs, intercepts = _network.unpack(
        rng.normal(size=_network.n_params(layer_units)), layer_units
    )
    if regime == "big hidden weights":
        # Pre-activations of tens to hundreds: tanh and logistic saturate,
        # relu and identity pass large values on.
        coefs[0] *= 50.0
        coefs[1] *= 0.5
        intercepts[1] *= 0.5
    else:
        # One component's raw scales beyond the clip of the scale link, the
        # other's normal, so the loss still depends on every head.
        logits, raw_scales, means = _mixture.split_head(
            intercepts[1][None, :], K, D, covariance_type
        )
        raw_scales[0, 0] = _mixture.MAX_LOG_SCALE + 10.0
        logits[0] = [30.0, -30.0]
        means[0] += 100.0
    X = rng.uniform(size=(9, 2))
    Y = rng.normal(size=(9, D)) + 100.0
    return _network.pack(coefs, intercepts), X, Y, layer_units


@pytest.mark.parametrize(
    "activation, covariance_type, regime",
    list(
        itertools.product(
            _network.ACTIVATIONS,
            _mixture.COVARIANCE_TYPES,
            ["big hidden weights", "clipped scales"],
        )
    ),
)
def test_gradient_at_large_parameters(activation, covariance_type, regime):
    """The analytic gradient matches central differences in extreme regimes."""
    theta, X, Y, layer_units = _large_parameters(activation, covariance_type, regime)
    kwargs = dict(
        layer_units=layer_units, activation=activation, n_components=2,
        covariance_type=covariance_type, min_scale=1e-2, alpha=1e-3,
    )  # fmt: skip
    w = np.ones(len(X))

    def loss(t):
        return _network.loss_and_grad(t, X, Y, w, **kwargs)[0]

    value, grad = _network.loss_and_grad(theta, X, Y, w, **kwargs)
    assert np.isfinite(value)
    assert np.all(np.isfinite(grad))
    numeric = _central_differences(loss, theta)
    error = np.linalg.norm(grad - numeric) / np.linalg.norm(numeric)
    assert error <= 1e-6, f"relative gradient error {error:.2e}"
