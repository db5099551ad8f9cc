"""The network core: packing, forward pass, and the analytic gradient."""

import itertools

import numpy as np
import pytest

from skmdn import _mixture, _network


def _problem(hidden, activation, n_components, n_outputs, covariance_type, seed=0):
    rng = np.random.RandomState(seed)
    n_samples, n_features = 9, 2
    head = _mixture.head_size(n_components, n_outputs, covariance_type)
    layer_units = [n_features, *hidden, head]
    theta = rng.normal(scale=0.7, size=_network.n_params(layer_units))
    X = rng.normal(size=(n_samples, n_features))
    Y = rng.normal(size=(n_samples, n_outputs))
    return theta, X, Y, layer_units


def _central_differences(fun, theta, step=1e-6):
    grad = np.empty_like(theta)
    for i in range(theta.size):
        shift = np.zeros_like(theta)
        shift[i] = step
        grad[i] = (fun(theta + shift) - fun(theta - shift)) / (2 * step)
    return grad


GRID = list(
    itertools.product(
        _mixture.COVARIANCE_TYPES,
        _network.ACTIVATIONS,
        [1, 3],  # n_components
        [1, 3],  # n_outputs
        [(), (5,), (4, 3)],  # hidden_layer_sizes
        [False, True],  # sample weights and alpha
    )
)


@pytest.mark.parametrize(
    "covariance_type, activation, n_components, n_outputs, hidden, weighted", GRID
)
def test_gradient_matches_finite_differences(
    covariance_type, activation, n_components, n_outputs, hidden, weighted
):
    theta, X, Y, layer_units = _problem(
        hidden, activation, n_components, n_outputs, covariance_type
    )
    if weighted:
        sample_weight = np.random.RandomState(1).uniform(0, 3, size=len(X))
        sample_weight[0] = 0.0
        alpha = 0.3
    else:
        sample_weight, alpha = np.ones(len(X)), 0.0
    kwargs = dict(
        layer_units=layer_units, activation=activation, n_components=n_components,
        covariance_type=covariance_type, min_scale=1e-2, alpha=alpha,
    )  # fmt: skip

    def loss(t):
        return _network.loss_and_grad(t, X, Y, sample_weight, **kwargs)[0]

    value, grad = _network.loss_and_grad(theta, X, Y, sample_weight, **kwargs)
    assert np.isfinite(value)
    numeric = _central_differences(loss, theta)
    error = np.linalg.norm(grad - numeric) / np.linalg.norm(numeric)
    assert error <= 1e-6, f"relative gradient error {error:.2e}"


def test_loss_is_weighted_mean_nll_plus_penalty():
    theta, X, Y, layer_units = _problem((4,), "tanh", 2, 2, "diag")
    w = np.arange(1.0, len(X) + 1)
    alpha = 0.7
    loss, _ = _network.loss_and_grad(
        theta, X, Y, w, layer_units=layer_units, activation="tanh", n_components=2,
        covariance_type="diag", min_scale=1e-3, alpha=alpha,
    )  # fmt: skip
    coefs, intercepts = _network.unpack(theta, layer_units)
    A = _network.forward(coefs, intercepts, X, "tanh")[-1]
    row_ll = _mixture.log_likelihood(A, Y, 2, "diag", 1e-3)
    penalty = 0.5 * alpha * sum(np.sum(W**2) for W in coefs)
    expected = (-(w @ row_ll) + penalty) / w.sum()
    np.testing.assert_allclose(loss, expected, rtol=1e-13)


@pytest.mark.parametrize("covariance_type", _mixture.COVARIANCE_TYPES)
def test_blocked_and_unblocked_evaluation_agree(covariance_type):
    rng = np.random.RandomState(3)
    layer_units = [4, 16, _mixture.head_size(3, 2, covariance_type)]
    theta = rng.normal(scale=0.3, size=_network.n_params(layer_units))
    X, Y = rng.normal(size=(1003, 4)), rng.normal(size=(1003, 2))
    w = rng.uniform(0.5, 2.0, size=1003)
    kwargs = dict(
        layer_units=layer_units, activation="tanh", n_components=3,
        covariance_type=covariance_type, min_scale=1e-3, alpha=1e-2,
    )  # fmt: skip
    whole = _network.loss_and_grad(theta, X, Y, w, block_size=None, **kwargs)
    for block_size in (1, 7, 256):
        blocked = _network.loss_and_grad(theta, X, Y, w, block_size=block_size, **kwargs)
        np.testing.assert_allclose(blocked[0], whole[0], rtol=1e-12)
        np.testing.assert_allclose(blocked[1], whole[1], rtol=1e-12, atol=1e-15)


def test_pack_unpack_round_trip():
    layer_units = [3, 5, 2, 7]
    theta = np.arange(float(_network.n_params(layer_units)))
    coefs, intercepts = _network.unpack(theta, layer_units)
    assert [W.shape for W in coefs] == [(3, 5), (5, 2), (2, 7)]
    assert [b.shape for b in intercepts] == [(5,), (2,), (7,)]
    np.testing.assert_array_equal(_network.pack(coefs, intercepts), theta)
    coefs[0][0, 0] = -1.0
    assert theta[0] == -1.0


def test_output_layer_matches_forward_in_blocks():
    rng = np.random.RandomState(0)
    layer_units = [2, 6, 4]
    coefs, intercepts = _network.unpack(
        rng.normal(size=_network.n_params(layer_units)), layer_units
    )
    X = rng.normal(size=(50, 2))
    expected = _network.forward(coefs, intercepts, X, "relu")[-1]
    got = _network.output_layer(coefs, intercepts, X, "relu", block_size=7)
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_unknown_activation_raises():
    with pytest.raises(ValueError, match="activation"):
        _network.forward([np.ones((1, 1)), np.ones((1, 1))], [np.ones(1)] * 2,
                         np.ones((1, 1)), "softsign")  # fmt: skip


def _loss_kwargs(layer_units, covariance_type="diag"):
    return dict(
        layer_units=layer_units, activation="tanh", n_components=3,
        covariance_type=covariance_type, min_scale=1e-3, alpha=1e-2,
    )  # fmt: skip


def test_loss_standardises_input_per_block():
    """x_mean and x_scale give the result of standardising X beforehand."""
    rng = np.random.RandomState(4)
    layer_units = [3, 6, _mixture.head_size(3, 2, "diag")]
    theta = rng.normal(scale=0.3, size=_network.n_params(layer_units))
    X = rng.normal(loc=5.0, scale=40.0, size=(50, 3))
    Y, w = rng.normal(size=(50, 2)), np.ones(50)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    kwargs = _loss_kwargs(layer_units)
    inside = _network.loss_and_grad(
        theta, X, Y, w, x_mean=mean, x_scale=scale, block_size=16, **kwargs
    )
    outside = _network.loss_and_grad(
        theta, (X - mean) / scale, Y, w, block_size=16, **kwargs
    )
    assert inside[0] == outside[0]
    np.testing.assert_array_equal(inside[1], outside[1])

    coefs, intercepts = _network.unpack(theta, layer_units)
    np.testing.assert_array_equal(
        _network.output_layer(
            coefs, intercepts, X, "tanh", 16, x_mean=mean, x_scale=scale
        ),
        _network.output_layer(coefs, intercepts, (X - mean) / scale, "tanh", 16),
    )


@pytest.mark.parametrize("covariance_type", _mixture.COVARIANCE_TYPES)
def test_reused_workspace_matches_fresh_one(covariance_type):
    """A workspace reused across calls and block heights keeps no stale state."""
    rng = np.random.RandomState(5)
    layer_units = [2, 5, 4, _mixture.head_size(3, 2, covariance_type)]
    X, Y = rng.normal(size=(23, 2)), rng.normal(size=(23, 2))
    w = rng.uniform(0.5, 2.0, size=23)
    kwargs = _loss_kwargs(layer_units, covariance_type)
    workspace = _network.Workspace(8, layer_units, 3, 2, covariance_type)
    for seed, n_rows in [(0, 23), (1, 5), (2, 23)]:
        theta = np.random.RandomState(seed).normal(
            scale=0.5, size=_network.n_params(layer_units)
        )
        reused = _network.loss_and_grad(
            theta, X[:n_rows], Y[:n_rows], w[:n_rows], block_size=8,
            workspace=workspace, **kwargs,
        )  # fmt: skip
        fresh = _network.loss_and_grad(
            theta, X[:n_rows], Y[:n_rows], w[:n_rows], block_size=8, **kwargs
        )
        assert reused[0] == fresh[0]
        np.testing.assert_array_equal(reused[1], fresh[1])


def test_workspace_mismatch_raises():
    """A workspace built for another network or for smaller blocks is rejected."""
    layer_units = [2, 5, _mixture.head_size(3, 2, "diag")]
    theta = np.zeros(_network.n_params(layer_units))
    X, Y, w = np.zeros((10, 2)), np.zeros((10, 2)), np.ones(10)
    kwargs = _loss_kwargs(layer_units)
    other = _network.Workspace(10, [2, 6, layer_units[-1]], 3, 2, "diag")
    with pytest.raises(ValueError, match="another network"):
        _network.loss_and_grad(theta, X, Y, w, workspace=other, **kwargs)
    small = _network.Workspace(4, layer_units, 3, 2, "diag")
    with pytest.raises(ValueError, match="Blocks must have 1 to 4 samples"):
        _network.loss_and_grad(
            theta, X, Y, w, block_size=8, workspace=small, **kwargs
        )
