"""MDNRegressor: fitting, prediction, scoring and scikit-learn integration."""

import pickle
import threading
import warnings

import numpy as np
import pytest
import threadpoolctl
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmdn import GaussianMixtureDistribution, MDNRegressor, _network, _regressor
from skmdn.datasets import load_faithful, make_inverse_sine


def _linear_data(n_samples=200, n_outputs=None, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n_samples, 2))
    y = X @ [1.0, -2.0] + 0.1 * rng.normal(size=n_samples)
    if n_outputs is not None:
        y = np.column_stack([y * (j + 1) + j for j in range(n_outputs)])
    return X, y


def _small(**params):
    defaults = dict(n_components=2, hidden_layer_sizes=(8,), max_iter=200,
                    early_stopping=False, random_state=0)  # fmt: skip
    defaults.update(params)
    return MDNRegressor(**defaults)


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


# ------------------------------------------------------------ shapes and API


@pytest.mark.parametrize("n_outputs", [None, 1, 3])
def test_prediction_shapes_follow_training_target(n_outputs):
    X, y = _linear_data(n_outputs=n_outputs)
    model = _small().fit(X, y)
    mean, std = model.predict(X[:5], return_std=True)
    assert mean.shape == y[:5].shape
    assert std.shape == y[:5].shape
    assert np.all(std > 0)
    dist = model.predict_dist(X[:5])
    assert isinstance(dist, GaussianMixtureDistribution)
    D = 1 if n_outputs is None else n_outputs
    assert model.n_outputs_ == D
    assert dist.weights.shape == (5, 2)
    assert dist.means.shape == (5, 2, D)
    assert dist.covariances.shape == (5, 2, D)
    np.testing.assert_allclose(dist.weights.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(dist.mean(), mean)


def test_flat_and_column_targets_agree():
    X, y = _linear_data()
    flat = _small().fit(X, y)
    column = _small().fit(X, y[:, None])
    np.testing.assert_array_equal(flat.predict(X), column.predict(X)[:, 0])
    assert flat.score(X, y) == column.score(X, y[:, None])


def test_spherical_covariances_have_one_variance_per_component():
    X, y = _linear_data(n_outputs=3)
    dist = _small(covariance_type="spherical").fit(X, y).predict_dist(X[:4])
    assert dist.covariances.shape == (4, 2)
    assert np.all(dist.covariances > 0)


def test_fitted_attributes():
    X, y = _linear_data()
    model = _small(hidden_layer_sizes=(6, 4)).fit(X, y)
    assert [W.shape for W in model.coefs_] == [(2, 6), (6, 4), (4, 2 * 3)]
    assert [b.shape for b in model.intercepts_] == [(6,), (4,), (6,)]
    assert model.n_features_in_ == 2
    assert 1 <= model.n_iter_ <= 200
    assert len(model.loss_curve_) == model.n_iter_
    assert model.loss_ == pytest.approx(min(model.loss_curve_), rel=1e-12)
    assert all(np.all(np.isfinite(W)) for W in model.coefs_)


def test_no_hidden_layer_and_int_hidden_layer_sizes():
    X, y = _linear_data()
    assert len(_small(hidden_layer_sizes=()).fit(X, y).coefs_) == 1
    assert [W.shape for W in _small(hidden_layer_sizes=5).fit(X, y).coefs_][0] == (2, 5)


# ------------------------------------------------------------------- quality


def test_mixture_beats_single_gaussian_on_inverse_problem():
    # Measured over seeds 0-4: K=3 beats K=1 by 0.50 to 0.56 nats per sample.
    X, y = make_inverse_sine(1000, random_state=0)
    X_test, y_test = make_inverse_sine(1000, random_state=1)
    single = MDNRegressor(1, hidden_layer_sizes=(20,), random_state=0).fit(X, y)
    mixture = MDNRegressor(3, hidden_layer_sizes=(20,), random_state=0).fit(X, y)
    margin = mixture.score(X_test, y_test) - single.score(X_test, y_test)
    assert margin > 0.3

    dist = mixture.predict_dist([[0.5]])
    heavy = dist.means[0, dist.weights[0] > 0.15, 0]
    assert heavy.size >= 2
    assert np.ptp(heavy) > 0.3  # the branches near t = 0.2, 0.5 and 0.8


def test_score_is_mean_log_likelihood_in_original_units():
    X, y = _linear_data()
    model = _small().fit(X, y)
    w = np.linspace(0.5, 2.0, len(y))
    expected = np.average(model.predict_dist(X).logpdf(y), weights=w)
    assert model.score(X, y, sample_weight=w) == pytest.approx(expected, rel=1e-10)


EQUIVARIANCE_CASES = [
    # A converged fit without hidden layer, and a mixture network stopped
    # early: standardisation makes each pair of fits the same problem up to
    # rounding, which L-BFGS would amplify over many more iterations.
    dict(n_components=1, hidden_layer_sizes=(), max_iter=500, early_stopping=False),
    dict(n_components=3, hidden_layer_sizes=(8,), max_iter=40, early_stopping=False),
]


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
@pytest.mark.parametrize("params", EQUIVARIANCE_CASES)
def test_scale_equivariance(covariance_type, params):
    X, y = _linear_data(n_outputs=2)
    model = MDNRegressor(covariance_type=covariance_type, random_state=0, **params)
    base = clone(model).fit(X, y)
    big = clone(model).fit(X, 1000 * y)
    assert big.score(X, 1000 * y) == pytest.approx(
        base.score(X, y) - 2 * np.log(1000), abs=1e-8
    )
    mean, std = base.predict(X, return_std=True)
    big_mean, big_std = big.predict(X, return_std=True)
    np.testing.assert_array_less(np.abs(big_mean / 1000 - mean), 1e-6 * std)
    np.testing.assert_allclose(big_std, 1000 * std, rtol=1e-6)


@pytest.mark.parametrize("params", EQUIVARIANCE_CASES)
def test_input_affine_invariance(params):
    X, y = _linear_data()
    base = MDNRegressor(random_state=0, **params).fit(X, y)
    moved = MDNRegressor(random_state=0, **params).fit(X * 1e4 + 7, y)
    mean, std = base.predict(X, return_std=True)
    np.testing.assert_array_less(np.abs(moved.predict(X * 1e4 + 7) - mean), 1e-6 * std)


def test_sample_weight_is_equivalent_to_repetition():
    # The objective of weighted rows equals that of repeated rows; on a
    # well-posed problem the fitted models then agree to fitting tolerance.
    X, y = _linear_data(n_samples=60)
    counts = np.random.RandomState(0).randint(0, 4, size=60)
    model = MDNRegressor(1, hidden_layer_sizes=(), tol=1e-12, max_iter=2000,
                         random_state=0)  # fmt: skip
    weighted = clone(model).fit(X, y, sample_weight=counts)
    repeated = clone(model).fit(np.repeat(X, counts, 0), np.repeat(y, counts))
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-5)
    assert weighted.loss_ == pytest.approx(repeated.loss_, rel=1e-8)


# ---------------------------------------------------------------- training


def test_same_seed_gives_identical_model():
    X, y = _linear_data()
    first = _small(random_state=3).fit(X, y)
    second = _small(random_state=3).fit(X, y)
    for a, b in zip(first.coefs_ + first.intercepts_, second.coefs_ + second.intercepts_):
        np.testing.assert_array_equal(a, b)


def _record_loss_threads(monkeypatch, n_threads=None):
    """Record the thread count and row ranges of every loss evaluation.

    With ``n_threads``, fit takes that many threads in place of the BLAS
    thread count of the process.
    """
    if n_threads is not None:
        monkeypatch.setattr(_regressor, "_blas_thread_count", lambda _: n_threads)
    seen = []
    original = _network.ThreadedLoss.loss_and_grad

    def record(self, theta, X, *args):
        seen.append((self.n_threads, len(self._ranges(len(X)))))
        return original(self, theta, X, *args)

    monkeypatch.setattr(_network.ThreadedLoss, "loss_and_grad", record)
    return seen


def _parameters(model):
    return np.concatenate([a.ravel() for a in model.coefs_ + model.intercepts_])


@pytest.mark.parametrize("early_stopping", [False, True])
def test_threaded_fit_is_repeatable(monkeypatch, early_stopping):
    X, y = _linear_data(n_samples=3500)
    params = dict(max_iter=30, early_stopping=early_stopping)
    one_thread = _small(**params).fit(X, y)
    seen = _record_loss_threads(monkeypatch, n_threads=3)
    first = _small(**params).fit(X, y)
    assert seen
    assert set(seen) == {(3, 3)}
    for _ in range(2):
        again = _small(**params).fit(X, y)
        np.testing.assert_array_equal(_parameters(again), _parameters(first))
        assert again.loss_ == first.loss_
        assert again.best_validation_score_ == first.best_validation_score_
    # Threads change the order of the sums, and so only the rounding.
    np.testing.assert_allclose(
        _parameters(first), _parameters(one_thread), rtol=1e-7, atol=1e-9
    )
    np.testing.assert_allclose(first.predict(X), one_thread.predict(X), rtol=1e-8)


def test_fit_takes_thread_count_from_blas(monkeypatch):
    X, y = _linear_data(n_samples=1200)
    controller = threadpoolctl.ThreadpoolController()
    blas_threads = _regressor._blas_thread_count(controller)
    seen = _record_loss_threads(monkeypatch)
    _small(max_iter=3).fit(X, y)
    assert {n_threads for n_threads, _ in seen} == {blas_threads}
    seen.clear()
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        _small(max_iter=3).fit(X, y)
    assert {n_threads for n_threads, _ in seen} == {1}
    # fit restores the BLAS limits it found.
    assert _regressor._blas_thread_count(controller) == blas_threads


def test_fit_stops_loss_threads_on_error(monkeypatch):
    X, y = _linear_data(n_samples=1200)
    _record_loss_threads(monkeypatch, n_threads=3)

    def failing_minimize(fun, x0, **kwargs):
        fun(x0)
        raise RuntimeError("optimiser failed")

    monkeypatch.setattr(_regressor, "minimize", failing_minimize)
    with pytest.raises(RuntimeError, match="optimiser failed"):
        _small().fit(X, y)
    loss_threads = [
        thread for thread in threading.enumerate()
        if thread.name.startswith("skmdn-loss")
    ]  # fmt: skip
    assert loss_threads == []


def test_n_init_keeps_the_lowest_loss(monkeypatch):
    X, y = make_inverse_sine(300, random_state=0)
    params = dict(n_components=3, hidden_layer_sizes=(5,), max_iter=60,
                  early_stopping=False, random_state=0)  # fmt: skip
    losses = []
    optimize = MDNRegressor._optimize

    def recording(self, *args):
        run = optimize(self, *args)
        losses.append(run["loss"])
        return run

    monkeypatch.setattr(MDNRegressor, "_optimize", recording)
    best = MDNRegressor(n_init=4, **params).fit(X, y)
    assert len(losses) == 4
    assert len(set(losses)) == 4  # the restarts differ
    assert best.loss_ == min(losses)
    # The first restart is the model a single initialisation would give.
    single = MDNRegressor(n_init=1, **params).fit(X, y)
    assert single.loss_ == losses[0] >= best.loss_


def test_convergence_warning_on_iteration_limit():
    X, y = make_inverse_sine(200, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter=3") as record:
        model = MDNRegressor(3, max_iter=3, random_state=0).fit(X, y)
    # The warning points at the caller's line, not at library internals.
    assert record[0].filename == __file__
    assert model.n_iter_ == 3
    assert np.all(np.isfinite(model.predict(X)))


def test_no_warning_when_converged():
    X, y = _linear_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = MDNRegressor(1, hidden_layer_sizes=(), tol=1e-5, max_iter=1000,
                             random_state=0).fit(X, y)  # fmt: skip
    assert model.n_iter_ < 1000


def test_warm_start_continues_from_previous_parameters():
    X, y = make_inverse_sine(300, random_state=0)
    model = MDNRegressor(3, hidden_layer_sizes=(8,), max_iter=20, warm_start=True,
                         random_state=0).fit(X, y)  # fmt: skip
    first_loss = model.loss_
    model.fit(X, y)
    assert model.loss_ < first_loss
    # The second fit starts where the first stopped, not from a fresh start.
    assert model.loss_curve_[0] < first_loss + 1e-9
    with pytest.raises(ValueError, match="n_components changed from 3 to 2"):
        model.set_params(n_components=2).fit(X, y)
    with pytest.raises(ValueError, match=r"hidden_layer_sizes changed from \[8\]"):
        model.set_params(n_components=3, hidden_layer_sizes=(4,)).fit(X, y)


def test_verbose_prints_one_line_per_iteration(capsys):
    X, y = _linear_data()
    model = _small(max_iter=5, verbose=1).fit(X, y)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "loss" in ln]
    assert len(lines) == model.n_iter_
    assert lines[0].startswith("Iteration 1, loss = ")


def test_set_params_changes_the_fitted_model():
    X, y = _linear_data()
    model = _small().set_params(n_components=5).fit(X, y)
    assert model.predict_dist(X[:2]).weights.shape == (2, 5)


# ----------------------------------------------------- scikit-learn tooling


def test_pipeline_grid_search_and_cross_validation():
    X, y = make_inverse_sine(300, random_state=0)
    pipe = make_pipeline(StandardScaler(), _small(max_iter=100))
    search = GridSearchCV(
        pipe, {"mdnregressor__n_components": [1, 3]}, cv=KFold(3, shuffle=True,
        random_state=0),
    ).fit(X, y)  # fmt: skip
    # Default scoring is the model's log-likelihood, which prefers the mixture.
    assert search.best_params_ == {"mdnregressor__n_components": 3}
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,)
    assert np.all(np.isfinite(scores))


def test_clone_and_pickle_round_trip():
    X, y = _linear_data(n_outputs=3)
    model = _small(n_components=3, alpha=0.01)
    assert clone(model).get_params() == model.get_params()
    model.fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert restored.score(X, y) == model.score(X, y)


def test_pandas_dataframe_keeps_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = load_faithful(return_X_y=True, as_frame=True)
    model = _small().fit(X, y)
    np.testing.assert_array_equal(model.feature_names_in_, ["waiting"])
    assert model.predict(X.iloc[:3]).shape == (3,)
    with pytest.warns(UserWarning, match="feature names"):
        model.predict(X.to_numpy()[:3])
    with pytest.raises(ValueError, match="feature names"):
        model.predict(pd.DataFrame({"minutes": X["waiting"]}))


# -------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "X, y, match",
    [
        ([[0.0], [np.nan]], [1.0, 2.0], "NaN"),
        ([[0.0], [np.inf]], [1.0, 2.0], "infinity"),
        ([[0.0], [1.0]], [1.0, np.nan], "NaN"),
        ([[0.0], [1.0]], [1.0, np.inf], "infinity"),
        ([[0.0], [1.0], [2.0]], [1.0, 2.0], "inconsistent numbers of samples"),
        (np.empty((0, 1)), np.empty(0), "0 sample"),
        ([[0.0], [1.0]], [1e308, -1e308], "too large"),
    ],
)
def test_bad_training_data_raises(X, y, match):
    with pytest.raises(ValueError, match=match):
        _small().fit(X, y)


def test_bad_sample_weight_raises():
    X, y = _linear_data(n_samples=10)
    with pytest.raises(ValueError, match="[Nn]egative"):
        _small().fit(X, y, sample_weight=-np.ones(10))
    with pytest.raises(ValueError, match="non-zero|positive sum"):
        _small().fit(X, y, sample_weight=np.zeros(10))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_components": 0}, "n_components"),
        ({"covariance_type": "full"}, "covariance_type"),
        ({"activation": "softsign"}, "activation"),
        ({"hidden_layer_sizes": (4, 0)}, "hidden_layer_sizes"),
        ({"min_scale": 0.0}, "min_scale"),
        ({"alpha": -1.0}, "alpha"),
        ({"validation_fraction": 0.0}, "validation_fraction"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"n_iter_no_change": 0}, "n_iter_no_change"),
        ({"n_jobs": "two"}, "n_jobs"),
    ],
)
def test_bad_parameters_raise(params, match):
    X, y = _linear_data(n_samples=10)
    with pytest.raises(ValueError, match=match):
        _small(**params).fit(X, y)


def test_methods_raise_before_fit():
    model = MDNRegressor()
    for method in (model.predict, model.predict_dist):
        with pytest.raises(NotFittedError):
            method([[0.0]])
    with pytest.raises(NotFittedError):
        model.score([[0.0]], [0.0])


def test_score_rejects_wrong_target_shape():
    X, y = _linear_data(n_outputs=2)
    model = _small().fit(X, y)
    with pytest.raises(ValueError, match="2 outputs"):
        model.score(X, y[:, 0])


def test_nonfinite_loss_is_never_kept(monkeypatch):
    # A network that overflows on some parameters must not store them.
    X, y = _linear_data()
    calls = {"n": 0}
    original = _network.ThreadedLoss.loss_and_grad

    def sometimes_nan(self, theta, *args):
        calls["n"] += 1
        loss, grad = original(self, theta, *args)
        if calls["n"] % 3 == 0:
            return np.nan, grad * np.nan
        return loss, grad

    monkeypatch.setattr(_network.ThreadedLoss, "loss_and_grad", sometimes_nan)
    model = _small(max_iter=30).fit(X, y)
    assert calls["n"] >= 3
    assert np.isfinite(model.loss_)
    assert all(np.all(np.isfinite(W)) for W in model.coefs_)
    assert np.all(np.isfinite(model.predict(X)))


def test_fit_passes_float64_input_without_copy(monkeypatch):
    """A float64 C-contiguous X reaches the loss itself, not a standardised copy."""
    X, y = _linear_data()
    seen = []
    original = _network.ThreadedLoss.loss_and_grad

    def record(self, theta, X_seen, *args):
        seen.append(X_seen)
        return original(self, theta, X_seen, *args)

    monkeypatch.setattr(_network.ThreadedLoss, "loss_and_grad", record)
    _small(max_iter=5).fit(X, y)
    assert seen
    assert all(np.shares_memory(X_seen, X) for X_seen in seen)


def test_concurrent_fits_restore_blas_limits(monkeypatch):
    """Fits running at once in Python threads see one count and restore BLAS."""
    X, y = _linear_data(n_samples=2500)
    controller = threadpoolctl.ThreadpoolController()
    blas_threads = _regressor._blas_thread_count(controller)
    seen = _record_loss_threads(monkeypatch)
    both_fitting = threading.Barrier(2, timeout=30)
    original = _network.ThreadedLoss.loss_and_grad
    waited = set()

    def wait_for_the_other_fit(self, *args):
        # Each fit's first evaluation waits until the other fit has started.
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            both_fitting.wait()
        return original(self, *args)

    monkeypatch.setattr(_network.ThreadedLoss, "loss_and_grad", wait_for_the_other_fit)
    errors = []

    def fit(max_iter):
        try:
            _small(max_iter=max_iter).fit(X, y)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=fit, args=(n,)) for n in (3, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(waited) == 2
    assert {n_threads for n_threads, _ in seen} == {blas_threads}
    assert _regressor._blas_thread_count(controller) == blas_threads
