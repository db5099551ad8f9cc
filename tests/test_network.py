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


def _threaded(n_threads, layer_units, covariance_type, **kwargs):
    return _network.ThreadedLoss(
        n_threads, layer_units, activation="tanh", n_components=3, n_outputs=2,
        covariance_type=covariance_type, min_scale=1e-3, alpha=1e-2, **kwargs,
    )  # fmt: skip


def test_one_thread_equals_loss_and_grad_bitwise():
    rng = np.random.RandomState(6)
    layer_units = [4, 8, 5, _mixture.head_size(3, 2, "diag")]
    theta = rng.normal(scale=0.3, size=_network.n_params(layer_units))
    X, Y, w = rng.normal(size=(300, 4)), rng.normal(size=(300, 2)), np.ones(300)
    expected = _network.loss_and_grad(
        theta, X, Y, w, block_size=64, **_loss_kwargs(layer_units)
    )
    with _threaded(1, layer_units, "diag", block_size=64) as threaded:
        loss, grad = threaded.loss_and_grad(theta, X, Y, w)
    assert loss == expected[0]
    np.testing.assert_array_equal(grad, expected[1])


def test_threaded_evaluation_is_repeatable():
    """Partial sums are added in range order, whatever thread finishes first."""
    rng = np.random.RandomState(7)
    layer_units = [3, 12, _mixture.head_size(3, 2, "diag")]
    X, Y, w = rng.normal(size=(2000, 3)), rng.normal(size=(2000, 2)), np.ones(2000)
    with _threaded(4, layer_units, "diag", block_size=128) as threaded:
        for seed in range(3):
            theta = np.random.RandomState(seed).normal(
                scale=0.5, size=_network.n_params(layer_units)
            )
            first = threaded.loss_and_grad(theta, X, Y, w)
            for _ in range(5):
                again = threaded.loss_and_grad(theta, X, Y, w)
                assert again[0] == first[0]
                np.testing.assert_array_equal(again[1], first[1])


def _weighted_problem(seed, covariance_type):
    """Return layer units, parameters and 1003 weighted rows: 4 inputs, 2 outputs, K = 3."""
    rng = np.random.RandomState(seed)
    layer_units = [4, 16, _mixture.head_size(3, 2, covariance_type)]
    theta = rng.normal(scale=0.3, size=_network.n_params(layer_units))
    X, Y = rng.normal(size=(1003, 4)), rng.normal(size=(1003, 2))
    w = rng.uniform(0.5, 2.0, size=1003)
    return layer_units, theta, X, Y, w


@pytest.mark.parametrize("covariance_type", _mixture.COVARIANCE_TYPES)
def test_blocked_threaded_and_unblocked_evaluation_agree(covariance_type):
    layer_units, theta, X, Y, w = _weighted_problem(3, covariance_type)
    kwargs = dict(
        layer_units=layer_units, activation="tanh", n_components=3,
        covariance_type=covariance_type, min_scale=1e-3, alpha=1e-2,
    )  # fmt: skip
    whole = _network.loss_and_grad(theta, X, Y, w, block_size=None, **kwargs)
    for block_size in (1, 7, 256):
        blocked = _network.loss_and_grad(theta, X, Y, w, block_size=block_size, **kwargs)
        np.testing.assert_allclose(blocked[0], whole[0], rtol=1e-12)
        np.testing.assert_allclose(blocked[1], whole[1], rtol=1e-12, atol=1e-15)
    for n_threads, block_size in [(2, 256), (3, 7), (4, 4096), (7, 100)]:
        with _threaded(
            n_threads, layer_units, covariance_type, block_size=block_size,
            min_rows_per_thread=100,
        ) as threaded:  # fmt: skip
            loss, grad = threaded.loss_and_grad(theta, X, Y, w)
        np.testing.assert_allclose(loss, whole[0], rtol=1e-12)
        np.testing.assert_allclose(grad, whole[1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("covariance_type", _mixture.COVARIANCE_TYPES)
def test_threaded_gradient_matches_finite_differences(covariance_type):
    theta, X, Y, layer_units = _problem((4, 3), "tanh", 3, 2, covariance_type)
    w = np.random.RandomState(1).uniform(0, 3, size=len(X))
    with _threaded(
        3, layer_units, covariance_type, block_size=2, min_rows_per_thread=2
    ) as threaded:
        assert len(threaded._ranges(len(X))) == 3

        def loss(t):
            return threaded.loss_and_grad(t, X, Y, w)[0]

        value, grad = threaded.loss_and_grad(theta, X, Y, w)
        numeric = _central_differences(loss, theta)
    assert np.isfinite(value)
    error = np.linalg.norm(grad - numeric) / np.linalg.norm(numeric)
    assert error <= 1e-6, f"relative gradient error {error:.2e}"


@pytest.mark.parametrize("covariance_type", _mixture.COVARIANCE_TYPES)
def test_threaded_log_likelihood_matches_forward_pass(covariance_type):
    layer_units, theta, X, Y, w = _weighted_problem(8, covariance_type)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    coefs, intercepts = _network.unpack(theta, layer_units)
    A = _network.forward(coefs, intercepts, (X - mean) / scale, "tanh")[-1]
    row_ll = _mixture.log_likelihood(A, Y, 3, covariance_type, 1e-3)
    expected = np.average(row_ll, weights=w)
    with _threaded(
        3, layer_units, covariance_type, block_size=100, min_rows_per_thread=100,
        x_mean=mean, x_scale=scale,
    ) as threaded:  # fmt: skip
        got = threaded.mean_log_likelihood(theta, X, Y, w)
        # More rows than the workspaces were first built for.
        X_more, Y_more = np.vstack([X] * 3), np.vstack([Y] * 3)
        got_more = threaded.mean_log_likelihood(theta, X_more, Y_more, np.tile(w, 3))
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(got_more, expected, rtol=1e-12)


def test_threads_use_caller_floating_point_settings():
    """An invalid operation in a pool thread raises under errstate(invalid="raise")."""
    rng = np.random.RandomState(9)
    layer_units = [2, 5, _mixture.head_size(3, 2, "diag")]
    theta = rng.normal(size=_network.n_params(layer_units))
    X, Y, w = rng.normal(size=(40, 2)), rng.normal(size=(40, 2)), np.ones(40)
    X[-1] = np.inf  # in the last range, which a pool thread evaluates
    with _threaded(2, layer_units, "diag", min_rows_per_thread=10) as threaded:
        with np.errstate(invalid="raise"):
            with pytest.raises(FloatingPointError):
                threaded.loss_and_grad(theta, X, Y, w)
        with np.errstate(invalid="ignore"):
            loss, _ = threaded.loss_and_grad(theta, X, Y, w)
        assert not np.isfinite(loss)
        # The evaluator still works after a failed evaluation.
        loss, grad = threaded.loss_and_grad(theta, X[:-1], Y[:-1], w[:-1])
    assert np.isfinite(loss)
    assert np.all(np.isfinite(grad))


def test_threaded_loss_stops_its_threads():
    rng = np.random.RandomState(10)
    layer_units = [2, 5, _mixture.head_size(3, 2, "diag")]
    theta = rng.normal(size=_network.n_params(layer_units))
    X, Y, w = rng.normal(size=(40, 2)), rng.normal(size=(40, 2)), np.ones(40)
    with _threaded(3, layer_units, "diag", min_rows_per_thread=10) as threaded:
        threaded.loss_and_grad(theta, X, Y, w)
        # The pool starts a thread only when none is idle, so 1 or 2.
        threads = list(threaded._executor._threads)
        assert 1 <= len(threads) <= 2
    assert threaded._executor is None
    assert not any(thread.is_alive() for thread in threads)


@pytest.mark.parametrize(
    "n_samples, n_threads, min_rows, expected",
    [
        (1000, 2, 256, [(0, 500), (500, 1000)]),
        (1000, 4, 256, [(0, 333), (333, 666), (666, 1000)]),
        (511, 2, 256, [(0, 511)]),
        (5, 8, 1, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]),
        (100, 1, 1, [(0, 100)]),
    ],
)
def test_split_rows(n_samples, n_threads, min_rows, expected):
    assert _network.split_rows(n_samples, n_threads, min_rows) == expected


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
