"""Numerical failure modes of MDNs: each is handled, none passes silently."""

import itertools
import warnings

import numpy as np
import pytest
from scipy.optimize import OptimizeResult
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from test_network import _central_differences

from skmdn import MDNRegressor, _checks, _mixture, _network, _regressor


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


# ------------------------------------------------------------ fitted models


def _fit(X, y, sample_weight=None, **params):
    """Fit a small model on all rows, ignoring ConvergenceWarning."""
    defaults = dict(hidden_layer_sizes=(8,), max_iter=200, early_stopping=False,
                    random_state=0)  # fmt: skip
    defaults.update(params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MDNRegressor(**defaults).fit(X, y, sample_weight=sample_weight)


def _assert_finite_model(model, X):
    for array in model.coefs_ + model.intercepts_:
        assert np.all(np.isfinite(array))
    assert np.isfinite(model.loss_)
    dist = model.predict_dist(X)
    for array in (dist.weights, dist.means, dist.covariances, dist.var()):
        assert np.all(np.isfinite(array))


def _weighted_std(y, sample_weight=None):
    w = np.ones(len(y)) if sample_weight is None else sample_weight
    mean = np.average(y, axis=0, weights=w)
    return np.sqrt(np.average((y - mean) ** 2, axis=0, weights=w))


@pytest.mark.parametrize(
    "offset, covariance_type", [(1e3, "diag"), (-1e6, "spherical")]
)
def test_far_offset_target_fits(offset, covariance_type):
    """A target far from zero fits like a single Gaussian, with no NaN."""
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(200, 1))
    y = X[:, 0] + 0.1 * rng.normal(size=200) + offset
    params = dict(covariance_type=covariance_type, max_iter=100)
    mixture = _fit(X, y, n_components=3, **params)
    single = _fit(X, y, n_components=1, **params)
    _assert_finite_model(mixture, X)
    np.testing.assert_allclose(mixture.predict(X), X[:, 0] + offset, atol=0.1)
    # Both scores are near minus the noise entropy, -log(0.1) - 1.419 = 0.88.
    assert abs(mixture.score(X, y) - single.score(X, y)) < 0.3
    assert single.score(X, y) > 0.7


@pytest.mark.parametrize("covariance_type", _mixture.COVARIANCE_TYPES)
def test_many_outputs_loss_is_gaussian_entropy(covariance_type):
    """With 30 independent standard normal outputs the loss is 30 x 1.419 nats."""
    rng = np.random.RandomState(0)
    X, Y = rng.normal(size=(300, 2)), rng.normal(size=(300, 30))
    model = _fit(X, Y, n_components=2, hidden_layer_sizes=(),
                 covariance_type=covariance_type, max_iter=500)  # fmt: skip
    entropy = 30 * 0.5 * (1 + np.log(2 * np.pi))  # 42.57 nats
    assert model.loss_ == pytest.approx(entropy, rel=0.05)
    X_test, Y_test = rng.normal(size=(300, 2)), rng.normal(size=(300, 30))
    assert model.score(X_test, Y_test) == pytest.approx(-entropy, rel=0.05)
    layer_units = [2, model.coefs_[-1].shape[1]]
    loss, grad = _network.loss_and_grad(
        _network.pack(model.coefs_, model.intercepts_),
        (X - model._x_mean) / model._x_scale,
        (Y - model._y_mean) / model._y_scale,
        np.ones(len(X)),
        layer_units=layer_units, activation="tanh", n_components=2,
        covariance_type=covariance_type, min_scale=model.min_scale, alpha=model.alpha,
    )  # fmt: skip
    assert loss == pytest.approx(model.loss_, rel=1e-12)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("activation", _network.ACTIVATIONS)
def test_unscaled_inputs_fit_like_scaled(activation):
    """Inputs in the thousands fit as well as the same inputs scaled to [0, 1]."""
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1000, size=(200, 1))
    y = np.sin(X[:, 0] / 100) + 0.05 * rng.normal(size=200)
    params = dict(n_components=2, hidden_layer_sizes=(10,), activation=activation,
                  max_iter=40)  # fmt: skip
    raw = _fit(X, y, **params)
    scaled = _fit(X / 1000, y, **params)
    _assert_finite_model(raw, X)
    assert raw.score(X, y) == pytest.approx(scaled.score(X / 1000, y), abs=0.02)


def _duplicated_rows(rng, n_outputs=1):
    X = rng.uniform(0, 1, size=(50, 1))
    y = X + 0.1 * rng.normal(size=(50, n_outputs))
    X = np.vstack([X, np.repeat(X[:1], 5, axis=0)])
    y = np.vstack([y, np.repeat(y[:1], 5, axis=0)])
    return X, (y[:, 0] if n_outputs == 1 else y)


@pytest.mark.parametrize(
    "covariance_type, n_outputs, weighted",
    [("diag", 1, False), ("spherical", 2, False), ("diag", 2, True)],
)
def test_duplicate_rows_stop_at_scale_floor(covariance_type, n_outputs, weighted):
    """Repeated rows cannot collapse a component below min_scale * std(y)."""
    rng = np.random.RandomState(0)
    X, y = _duplicated_rows(rng, n_outputs)
    sample_weight = rng.uniform(0.5, 2.0, size=len(y)) if weighted else None
    std = _weighted_std(y, sample_weight)
    if covariance_type == "spherical":
        std = np.full_like(std, np.sqrt(np.mean(std**2)))
    # No density can exceed that of one component at the floor.
    bound = -np.sum(np.log(1e-3 * std)) - 0.5 * n_outputs * np.log(2 * np.pi)
    scores = []
    for max_iter in (50, 300):
        model = _fit(X, y, sample_weight, n_components=3, alpha=0.0,
                     covariance_type=covariance_type, max_iter=max_iter)  # fmt: skip
        floor = 1e-3 * (std[0] if covariance_type == "spherical" else std)
        scales = np.sqrt(model.predict_dist(X).covariances)
        assert np.all(scales >= floor * (1 - 1e-12))
        assert np.isfinite(model.loss_)
        scores.append(model.score(X, y, sample_weight=sample_weight))
    assert scores[1] < bound
    assert scores[1] - scores[0] < 1.0


@pytest.mark.parametrize("value", [0.0, 3.0, -2e9])
def test_constant_target_warns_and_fits_at_floor(value):
    """A constant y gives a warning and a model at the floor around that value."""
    X = np.random.RandomState(0).uniform(size=(40, 2))
    y = np.full(40, value)
    with pytest.warns(UserWarning, match=r"y is constant \(outputs \[0\]\)"):
        model = _fit(X, y, n_components=2, hidden_layer_sizes=(5,), max_iter=50)
    _assert_finite_model(model, X)
    mean, std = model.predict(X, return_std=True)
    np.testing.assert_allclose(mean, value, atol=1e-2)
    # The training std is zero, so the floor is min_scale in the units of y.
    assert np.all(np.sqrt(model.predict_dist(X).covariances) >= 1e-3 * (1 - 1e-12))
    assert np.all(std < 0.1)
    assert np.isfinite(model.score(X, y))


def test_constant_output_keeps_spherical_scale_of_others():
    """A constant output does not set the common scale of a spherical model."""
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(100, 1))
    y = np.column_stack([1e-6 * (X[:, 0] + 0.1 * rng.normal(size=100)), np.ones(100)])
    with pytest.warns(UserWarning, match=r"outputs \[1\]"):
        model = _fit(X, y, n_components=1, covariance_type="spherical",
                     hidden_layer_sizes=())  # fmt: skip
    mean = model.predict(X)
    assert np.max(np.abs(mean[:, 0] - 1e-6 * X[:, 0])) < 0.3e-6
    np.testing.assert_allclose(mean[:, 1], 1.0, atol=1e-8)


def test_constant_input_column_is_harmless():
    """A constant column of X is ignored, at fit and at predict time."""
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.uniform(size=100), np.full(100, 7.0)])
    y = 2 * X[:, 0] + 0.1 * rng.normal(size=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = _fit(X, y, n_components=1, hidden_layer_sizes=(), max_iter=500)
    np.testing.assert_allclose(model.predict(X), 2 * X[:, 0], atol=0.1)
    moved = X.copy()
    moved[:, 1] = 1e6
    assert np.all(np.isfinite(model.predict(moved)))


def test_inputs_near_float64_limit_fit():
    """X spanning nearly the whole float64 range is standardised without overflow."""
    X, y = _clean_data()
    X_big = (2 * X - 1) * 1.7e308
    model = _fit(X_big, y, n_components=1, hidden_layer_sizes=(), max_iter=500)
    _assert_finite_model(model, X_big)
    np.testing.assert_allclose(model.predict(X_big), y, atol=1e-2)


def test_heteroscedastic_noise_is_learned():
    """Mean and spread follow x for every number of components."""
    rng = np.random.RandomState(0)
    x = rng.uniform(size=(500, 1))
    y = 2 * x[:, 0] + (0.05 + 0.5 * x[:, 0]) * rng.normal(size=500)
    grid = np.linspace(0.05, 0.95, 50)[:, None]
    for n_components in range(1, 6):
        model = _fit(x, y, n_components=n_components, hidden_layer_sizes=(5,),
                     max_iter=30)  # fmt: skip
        mean, std = model.predict(grid, return_std=True)
        assert np.max(np.abs(mean - 2 * grid[:, 0])) < 0.15, n_components
        assert spearmanr(grid[:, 0], std).statistic > 0.8, n_components


@pytest.mark.parametrize("factor", [1e6, -1e6, 1e-6, 1e-100])
@pytest.mark.parametrize("covariance_type", _mixture.COVARIANCE_TYPES)
def test_target_units_do_not_matter(factor, covariance_type):
    """Rescaling y rescales predictions and shifts the score by -log|factor|."""
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(200, 1))
    y = X[:, 0] + 0.01 * rng.normal(size=200)
    # A tightly converged fit: the two fits then differ by rounding and by
    # where L-BFGS stops, about 1e-6 of the predicted std.
    params = dict(n_components=1, hidden_layer_sizes=(), max_iter=1000, tol=1e-10,
                  covariance_type=covariance_type)  # fmt: skip
    base = _fit(X, y, **params)
    scaled = _fit(X, factor * y, **params)
    mean, std = base.predict(X, return_std=True)
    scaled_mean, scaled_std = scaled.predict(X, return_std=True)
    np.testing.assert_array_less(np.abs(scaled_mean / factor - mean), 1e-5 * std)
    np.testing.assert_allclose(scaled_std / abs(factor), std, rtol=1e-5)
    assert scaled.score(X, factor * y) == pytest.approx(
        base.score(X, y) - np.log(abs(factor)), abs=1e-8
    )


@pytest.mark.parametrize("factor, match", [(1e160, "too large"), (1e-160, "underflow")])
def test_target_units_beyond_float64_raise(factor, match):
    """A y whose predicted variances would leave float64 is rejected by name."""
    X = np.linspace(0, 1, 20)[:, None]
    with pytest.raises(ValueError, match=f"y has a standard deviation .*{match}"):
        MDNRegressor().fit(X, factor * X[:, 0])


# ----------------------------------------------------------------- bad input


def _clean_data():
    X = np.linspace(0, 1, 20)[:, None]
    return X, 2 * X[:, 0]


def _with(array, index, value):
    """Return a copy of ``array`` with ``value`` at ``index``, widening its dtype."""
    if array.dtype != object:
        array = array.astype(np.result_type(array, value))
    else:
        array = array.copy()
    array[index] = value
    return array


BAD_TRAINING_DATA = {
    "NaN in y": (None, (0, np.nan), None, "Input y contains NaN"),
    "inf in X": ((0, np.inf), None, None, "Input X contains infinity"),
    "-inf in y": (None, (3, -np.inf), None, "Input y contains infinity"),
    "1e308 in y": (None, (0, 1e308), None, "y has a standard deviation"),
    "complex X": ((0, 1j), None, None, "X contains complex numbers"),
    "complex y": (None, (0, 1 + 1j), None, "y contains complex numbers"),
    "NaN weight": (None, None, (0, np.nan), "sample_weight contains NaN"),
    "inf weight": (None, None, (0, np.inf), "sample_weight contains infinity"),
    "negative weight": (None, None, (0, -1.0), "Negative values in .*sample_weight"),
    "huge weights": (None, None, (slice(None), 1e308), "sample_weight sums to more"),
}


@pytest.mark.parametrize("case", BAD_TRAINING_DATA, ids=list(BAD_TRAINING_DATA))
def test_bad_training_data_raises_before_optimising(case, monkeypatch):
    """Invalid X, y or sample_weight raise a ValueError naming it, before L-BFGS."""
    x_change, y_change, w_change, match = BAD_TRAINING_DATA[case]
    X, y = _clean_data()
    w = np.ones(len(y))
    X = X if x_change is None else _with(X, *x_change)
    y = y if y_change is None else _with(y, *y_change)
    w = w if w_change is None else _with(w, *w_change)

    def fail(*args, **kwargs):
        raise AssertionError("the loss was evaluated")

    monkeypatch.setattr(_network.ThreadedLoss, "loss_and_grad", fail)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=match):
            MDNRegressor().fit(X, y, sample_weight=w)


@pytest.mark.parametrize("name", ["X", "y"])
@pytest.mark.parametrize(
    "strings",
    [["0.5"] * 20, ["a"] * 20, [0.5] * 19 + ["a"]],
    ids=["numeric", "letters", "mixed"],
)
def test_strings_raise_naming_the_argument(name, strings):
    """Strings in X or y are rejected, even numeric ones."""
    X, y = _clean_data()
    if name == "X":
        X = np.array(strings, dtype=object)[:, None]
    else:
        y = np.array(strings, dtype=object)
    with pytest.raises(ValueError, match=f"{name} contains strings"):
        MDNRegressor().fit(X, y)


@pytest.fixture(scope="module")
def fitted():
    X, y = _clean_data()
    return _fit(X, y, n_components=2, hidden_layer_sizes=(5,), max_iter=50), X, y


@pytest.mark.parametrize(
    "value, match",
    [
        (np.nan, "Input X contains NaN"),
        (np.inf, "Input X contains infinity"),
        (1j, "X contains complex numbers"),
        ("0.5", "X contains strings"),
    ],
)
def test_bad_prediction_input_raises(fitted, value, match):
    """predict, predict_dist and score reject invalid X by name."""
    model, X, y = fitted
    X = X.astype(object) if isinstance(value, str) else X
    X = _with(X, 0, value)
    with pytest.raises(ValueError, match=match):
        model.predict(X)
    with pytest.raises(ValueError, match=match):
        model.predict_dist(X)
    with pytest.raises(ValueError, match=match):
        model.score(X, y)


def test_bad_score_target_or_weights_raise(fitted):
    """score rejects invalid y and sample_weight by name."""
    model, X, y = fitted
    with pytest.raises(ValueError, match="Input y contains NaN"):
        model.score(X, _with(y, 0, np.nan))
    with pytest.raises(ValueError, match="y contains strings"):
        model.score(X, y.astype(str))
    with pytest.raises(ValueError, match="[Ss]ample weights must contain .* non-zero|positive sum"):
        model.score(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="Negative values in .*sample_weight"):
        model.score(X, y, sample_weight=-np.ones(len(y)))


def test_far_score_target_raises(fitted):
    """A y whose log-density is below float64 raises instead of scoring -inf."""
    model, X, y = fitted
    with pytest.raises(ValueError, match="log-likelihood of y is not finite"):
        model.score(X, _with(y, 4, 1e200))


@pytest.mark.parametrize("activation", _network.ACTIVATIONS)
def test_huge_prediction_input_never_gives_nan(activation):
    """Inputs at the float64 limit give finite predictions or a clear error."""
    X, y = _clean_data()
    model = _fit(X, y, n_components=2, hidden_layer_sizes=(5,), activation=activation,
                 max_iter=30)  # fmt: skip
    huge = np.array([[1e300], [-1e300], [1.7e308], [0.5]])
    try:
        mean, std = model.predict(huge, return_std=True)
    except ValueError as error:
        # Only unbounded activations can overflow.
        assert activation in ("relu", "identity")
        assert "training standard deviations" in str(error)
    else:
        assert np.all(np.isfinite(mean))
        assert np.all(np.isfinite(std))


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize("covariance_type", _mixture.COVARIANCE_TYPES)
def test_two_output_shapes(covariance_type):
    """Predictions and mixture parameters have the documented shapes."""
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(100, 3))
    Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]]) + 0.1 * rng.normal(size=(100, 2))
    model = _fit(X, Y, n_components=4, covariance_type=covariance_type, max_iter=50)
    mean, std = model.predict(X, return_std=True)
    assert mean.shape == (100, 2)
    assert std.shape == (100, 2)
    dist = model.predict_dist(X)
    assert dist.weights.shape == (100, 4)
    assert dist.means.shape == (100, 4, 2)
    expected = (100, 4, 2) if covariance_type == "diag" else (100, 4)
    assert dist.covariances.shape == expected
    np.testing.assert_allclose(dist.weights.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", _mixture.COVARIANCE_TYPES)
def test_flat_and_column_target_shapes(covariance_type):
    """y of shape (n,) and (n, 1) give the same model, shaped like y."""
    X, y = _clean_data()
    flat = _fit(X, y, covariance_type=covariance_type, max_iter=30)
    column = _fit(X, y[:, None], covariance_type=covariance_type, max_iter=30)
    for model, shape in ((flat, (20,)), (column, (20, 1))):
        mean, std = model.predict(X, return_std=True)
        assert mean.shape == shape
        assert std.shape == shape
        assert model.predict_dist(X).mean().shape == shape
    np.testing.assert_array_equal(flat.predict(X), column.predict(X)[:, 0])


# ------------------------------------------------------------- optimisation


def test_line_search_failure_warns_and_keeps_best(monkeypatch):
    """An abnormal L-BFGS stop warns with scipy's status and keeps a usable model."""
    X, y = _clean_data()
    original = _network.ThreadedLoss.loss_and_grad

    def uphill(self, theta, *args):
        loss, grad = original(self, theta, *args)
        return loss, -grad  # a wrong gradient makes every line search fail

    monkeypatch.setattr(_network.ThreadedLoss, "loss_and_grad", uphill)
    expected = r"line search.*scipy status 2: ABNORMAL"
    with pytest.warns(ConvergenceWarning, match=expected):
        model = MDNRegressor(2, hidden_layer_sizes=(5,), random_state=0).fit(X, y)
    _assert_finite_model(model, X)
    assert model.n_iter_ == 0


def test_noiseless_float32_tiny_tol():
    """A noiseless fit with tol=1e-15 on float32 X stays usable within max_iter."""
    X = np.linspace(-1, 1, 100, dtype=np.float32)[:, None]
    y = 2.0 * X[:, 0].astype(np.float64) + 1.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = MDNRegressor(1, hidden_layer_sizes=(5,), tol=1e-15, max_iter=300,
                             random_state=0).fit(X, y)  # fmt: skip
    for warning in caught:
        assert issubclass(warning.category, ConvergenceWarning)
        assert "scipy status" in str(warning.message)
    assert model.n_iter_ <= 300
    _assert_finite_model(model, X)
    np.testing.assert_allclose(model.predict(X), y, atol=1e-2)


@pytest.mark.parametrize("max_iter", [1, 7])
def test_n_iter_never_exceeds_max_iter(max_iter):
    """max_iter is scipy's maxiter, and reaching it warns."""
    X, y = _clean_data()
    with pytest.warns(ConvergenceWarning, match=f"max_iter={max_iter}.*scipy status 1"):
        model = MDNRegressor(3, max_iter=max_iter, random_state=0).fit(X, y)
    assert model.n_iter_ == max_iter
    assert len(model.loss_curve_) == max_iter


def test_optimizer_result_is_not_trusted(monkeypatch):
    """A non-finite result reported as success is never stored."""
    X, y = _clean_data()

    def broken_minimize(fun, x0, **kwargs):
        fun(x0)
        return OptimizeResult(x=np.full_like(x0, np.nan), fun=np.nan, nit=1,
                              status=0, success=True, message="done")  # fmt: skip

    monkeypatch.setattr(_regressor, "minimize", broken_minimize)
    model = MDNRegressor(2, hidden_layer_sizes=(5,), random_state=0).fit(X, y)
    _assert_finite_model(model, X)


def test_nonfinite_loss_reports_above_every_loss_seen(monkeypatch):
    """A non-finite loss is reported above every loss seen, however large."""
    X, y = _clean_data()
    original = _network.ThreadedLoss.loss_and_grad
    seen, overflows = [], []

    def offset(self, theta, *args):
        # A loss near 1e13 that overflows away from the start.
        loss, grad = original(self, theta, *args)
        if seen and np.max(np.abs(theta - seen[0])) > 0.5:
            overflows.append(theta)
            return np.inf, grad
        seen.append(theta.copy())
        return loss + 1e13, grad

    monkeypatch.setattr(_network.ThreadedLoss, "loss_and_grad", offset)
    recorded = []
    original_minimize = _regressor.minimize

    def recording_minimize(fun, x0, **kwargs):
        def wrapped(theta):
            value = fun(theta)
            recorded.append(value[0])
            return value

        return original_minimize(wrapped, x0, **kwargs)

    monkeypatch.setattr(_regressor, "minimize", recording_minimize)
    # tol=0, because an ftol relative to a loss of 1e13 would stop at once.
    _fit(X, y, n_components=2, hidden_layer_sizes=(5,), max_iter=50, tol=0.0)
    assert overflows
    assert min(recorded) >= 1e13
    assert np.all(np.isfinite(recorded))


def test_nonfinite_everywhere_raises(monkeypatch):
    """A loss that is never finite raises a ValueError instead of storing NaN."""
    X, y = _clean_data()
    monkeypatch.setattr(
        _network.ThreadedLoss,
        "loss_and_grad",
        lambda self, theta, *args: (np.nan, np.zeros_like(theta)),
    )
    with pytest.raises(ValueError, match="not finite at any parameters"):
        MDNRegressor(hidden_layer_sizes=(5,)).fit(X, y)


# ---------------------------------------------------------- estimator API


ALL_METHODS = [
    ("predict", lambda m, X, y: m.predict(X)),
    ("predict return_std", lambda m, X, y: m.predict(X, return_std=True)),
    ("predict_dist", lambda m, X, y: m.predict_dist(X)),
    ("score", lambda m, X, y: m.score(X, y)),
]


@pytest.mark.parametrize(
    "call", [call for _, call in ALL_METHODS], ids=[name for name, _ in ALL_METHODS]
)
def test_unfitted_methods_raise(call):
    """Every public method raises NotFittedError before fit."""
    X, y = _clean_data()
    with pytest.raises(NotFittedError):
        call(MDNRegressor(), X, y)


def test_clone_keeps_every_parameter():
    """clone copies each constructor argument, none left at its default."""
    params = dict(n_components=5, hidden_layer_sizes=(3, 2), activation="relu",
                  covariance_type="spherical", alpha=0.5, min_scale=0.01,
                  max_iter=7, tol=1e-3, n_init=2, early_stopping=True,
                  validation_fraction=0.2, n_iter_no_change=5, ensemble=True,
                  n_jobs=2, random_state=4, warm_start=True, verbose=1)  # fmt: skip
    defaults = MDNRegressor().get_params()
    assert set(params) == set(defaults)
    assert all(params[name] != defaults[name] for name in params)
    assert clone(MDNRegressor(**params)).get_params() == params


def test_set_params_n_components_refits():
    """set_params(n_components=5) before fit gives a five-component model."""
    X, y = _clean_data()
    model = _fit(X, y, n_components=2, max_iter=20)
    model.set_params(n_components=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert model.predict_dist(X).weights.shape == (20, 5)
    assert model.intercepts_[-1].shape == (5 * 3,)


def test_inputs_are_never_modified(tmp_path):
    """fit, predict and score read their inputs, also from read-only memmaps."""
    rng = np.random.RandomState(0)
    arrays = {
        "X": rng.uniform(size=(30, 2)),
        "y": rng.normal(size=30),
        "w": rng.uniform(0.5, 2.0, size=30),
    }
    maps = {}
    for name, array in arrays.items():
        path = tmp_path / f"{name}.npy"
        np.save(path, array)
        maps[name] = np.load(path, mmap_mode="r")
    copies = {name: array.copy() for name, array in arrays.items()}

    for data in (arrays, maps):
        model = _fit(data["X"], data["y"], data["w"], n_components=2, max_iter=20)
        model.predict(data["X"], return_std=True)
        model.predict_dist(data["X"])
        model.score(data["X"], data["y"], sample_weight=data["w"])
        for name in arrays:
            np.testing.assert_array_equal(data[name], copies[name])


def test_zero_weight_rows_ignored_in_scaling():
    rng = np.random.RandomState(0)
    Z = rng.normal(size=(300, 2))
    w = rng.uniform(0.5, 2.0, size=300)
    expected = _checks.weighted_mean_and_scale(Z[1:], w[1:])
    w[0] = 0.0
    for extreme in (1e200, -1e308, 1e-300):
        Z[0] = extreme
        mean, scale, constant = _checks.weighted_mean_and_scale(Z, w)
        np.testing.assert_allclose(mean, expected[0], rtol=1e-12)
        np.testing.assert_allclose(scale, expected[1], rtol=1e-12)
        assert not constant.any()
