"""MDNRegressor: early stopping on held-out rows and parallel restarts."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skmdn import MDNRegressor


def _noisy_data(n_samples=120, seed=0):
    """Few noisy rows and many features: a big network overfits them."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, 5))
    y = np.sin(2 * X[:, 0]) + 0.5 * rng.normal(size=n_samples)
    return X, y


def _overfitting(**params):
    defaults = dict(n_components=2, hidden_layer_sizes=(30,), alpha=0.0,
                    max_iter=2000, early_stopping=False, random_state=0)  # fmt: skip
    defaults.update(params)
    return MDNRegressor(**defaults)


def _record_validation_rows(monkeypatch):
    """Patch the split so that each fit appends its validation rows."""
    drawn = []
    split = MDNRegressor._split_validation

    def recording(self, *args):
        fit_rows, val_rows = split(self, *args)
        drawn.append(val_rows)
        return fit_rows, val_rows

    monkeypatch.setattr(MDNRegressor, "_split_validation", recording)
    return drawn


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def test_early_stopping_stops_after_patience():
    """Training ends n_iter_no_change iterations after the best one."""
    X, y = _noisy_data()
    model = _overfitting(early_stopping=True, n_iter_no_change=7).fit(X, y)
    scores = model.validation_scores_
    assert model.n_iter_ < 2000
    assert len(scores) == model.n_iter_
    assert len(model.loss_curve_) == model.n_iter_
    assert model.best_validation_score_ == max(scores)
    assert model.n_iter_ - (int(np.argmax(scores)) + 1) == 7


def test_early_stopping_keeps_best_parameters(monkeypatch):
    """The fitted network scores best_validation_score_ on the held-out rows."""
    drawn = _record_validation_rows(monkeypatch)
    X, y = _noisy_data()
    model = _overfitting(early_stopping=True).fit(X, y)
    (val_rows,) = drawn
    assert len(val_rows) == 12  # ceil(0.1 * 120)
    held_out = model.score(X[val_rows], y[val_rows])
    assert held_out == pytest.approx(model.best_validation_score_, rel=1e-10)
    assert model.best_validation_score_ > model.validation_scores_[-1]


def test_early_stopping_weighs_validation_rows(monkeypatch):
    """The validation score is the sample-weighted mean log-likelihood."""
    drawn = _record_validation_rows(monkeypatch)
    X, y = _noisy_data()
    w = np.random.RandomState(1).uniform(0.2, 3.0, size=len(y))
    model = _overfitting(early_stopping=True).fit(X, y, sample_weight=w)
    (val_rows,) = drawn
    weighted = model.score(X[val_rows], y[val_rows], sample_weight=w[val_rows])
    unweighted = model.score(X[val_rows], y[val_rows])
    assert model.best_validation_score_ == pytest.approx(weighted, rel=1e-10)
    assert abs(weighted - unweighted) > 1e-3


def test_early_stopping_beats_training_to_convergence():
    """On few noisy rows, stopping early gives a better held-out likelihood."""
    X, y = _noisy_data(n_samples=120, seed=0)
    X_test, y_test = _noisy_data(n_samples=2000, seed=1)
    stopped = _overfitting(early_stopping=True).fit(X, y)
    converged = _overfitting().fit(X, y)
    assert stopped.score(X_test, y_test) > converged.score(X_test, y_test) + 0.5


def test_without_early_stopping_validation_attributes_are_none():
    X, y = _noisy_data()
    model = _overfitting(max_iter=20).fit(X, y)
    assert model.validation_scores_ is None
    assert model.best_validation_score_ is None


def test_early_stopping_does_not_warn_when_it_stops():
    X, y = _noisy_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = _overfitting(early_stopping=True).fit(X, y)
    assert model.n_iter_ < 2000


def test_early_stopping_warns_on_iteration_limit():
    X, y = _noisy_data()
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        model = _overfitting(early_stopping=True, max_iter=3).fit(X, y)
    assert len(model.validation_scores_) == 3


def test_early_stopping_verbose_prints_validation_score(capsys):
    X, y = _noisy_data()
    model = _overfitting(early_stopping=True, max_iter=4, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == model.n_iter_
    assert "validation score = " in lines[0]


@pytest.mark.parametrize(
    "n_samples, fraction", [(10, 0.1), (3, 0.5), (20, 0.95)]
)  # fmt: skip
def test_early_stopping_too_few_rows_raises(n_samples, fraction):
    X, y = _noisy_data(n_samples=n_samples)
    model = _overfitting(early_stopping=True, validation_fraction=fraction)
    with pytest.raises(ValueError, match="at least 2 training and 2 validation"):
        model.fit(X, y)


def test_early_stopping_zero_weight_validation_raises(monkeypatch):
    drawn = _record_validation_rows(monkeypatch)
    X, y = _noisy_data(n_samples=40)
    model = _overfitting(early_stopping=True, max_iter=5)
    model.fit(X, y)
    w = np.ones(len(y))
    w[drawn[0]] = 0.0
    with pytest.raises(ValueError, match="validation rows .* zero sample_weight"):
        model.fit(X, y, sample_weight=w)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_n_jobs_does_not_change_the_model(early_stopping):
    X, y = _noisy_data()
    params = dict(n_init=3, max_iter=60, early_stopping=early_stopping,
                  ensemble=early_stopping)  # fmt: skip
    serial = _overfitting(n_jobs=1, **params).fit(X, y)
    parallel = _overfitting(n_jobs=2, **params).fit(X, y)
    for a, b in zip(
        serial.coefs_ + serial.intercepts_, parallel.coefs_ + parallel.intercepts_
    ):
        np.testing.assert_array_equal(a, b)
    assert serial.loss_ == parallel.loss_
    assert serial.best_validation_score_ == parallel.best_validation_score_
    assert serial.score(X, y) == parallel.score(X, y)


def test_n_init_keeps_the_best_validation_score(monkeypatch):
    X, y = _noisy_data()
    runs = []
    optimize = MDNRegressor._optimize

    def recording(self, *args):
        run = optimize(self, *args)
        runs.append(run)
        return run

    monkeypatch.setattr(MDNRegressor, "_optimize", recording)
    model = _overfitting(early_stopping=True, n_init=4).fit(X, y)
    scores = [run["validation_score"] for run in runs]
    assert len(set(scores)) == 4  # the restarts differ
    assert model.best_validation_score_ == max(scores)
    # Selection is by held-out likelihood, not by training loss.
    best = runs[int(np.argmax(scores))]
    assert model.loss_ == best["loss"]


def test_ensemble_predicts_uniform_mixture_of_networks():
    """An ensemble's density is the mean of its networks' densities."""
    X, y = _noisy_data()
    model = _overfitting(n_init=3, ensemble=True, max_iter=50).fit(X, y)
    assert len(model.networks_) == 3
    dist = model.predict_dist(X[:7])
    assert dist.weights.shape == (7, 6)
    np.testing.assert_allclose(dist.weights.sum(axis=1), 1.0, rtol=1e-12)

    densities = []
    for coefs, intercepts in model.networks_:
        single = _overfitting(max_iter=50).fit(X, y)
        single.coefs_, single.intercepts_ = coefs, intercepts
        densities.append(single.predict_dist(X[:7]).pdf(y[:7]))
    expected = np.log(np.mean(densities, axis=0))
    np.testing.assert_allclose(dist.logpdf(y[:7]), expected, rtol=1e-10)
    assert model.score(X[:7], y[:7]) == pytest.approx(np.mean(expected), rel=1e-10)


def test_ensemble_of_one_is_the_single_network():
    X, y = _noisy_data()
    single = _overfitting(max_iter=50).fit(X, y)
    ensemble = _overfitting(max_iter=50, ensemble=True).fit(X, y)
    np.testing.assert_array_equal(ensemble.predict(X), single.predict(X))
    assert ensemble.score(X, y) == single.score(X, y)
    assert single.networks_ is None


def test_ensemble_beats_best_single_network():
    """Averaging early-stopped restarts raises the held-out likelihood."""
    X, y = _noisy_data(n_samples=200, seed=0)
    X_test, y_test = _noisy_data(n_samples=2000, seed=1)
    params = dict(n_init=5, early_stopping=True)
    best = _overfitting(**params).fit(X, y)
    ensemble = _overfitting(ensemble=True, **params).fit(X, y)
    assert ensemble.score(X_test, y_test) > best.score(X_test, y_test)


def test_ensemble_networks_own_validation_rows(monkeypatch):
    """Each early-stopped network of an ensemble validates on other rows."""
    X, y = _noisy_data(n_samples=200, seed=0)
    seen = []
    original = MDNRegressor._optimize_on_rows

    def record(self, theta0, X, Ys, w, rows, *args):
        seen.append(rows)
        return original(self, theta0, X, Ys, w, rows, *args)

    monkeypatch.setattr(MDNRegressor, "_optimize_on_rows", record)
    _overfitting(n_init=4, early_stopping=True, validation_fraction=0.25,
                 ensemble=True, max_iter=5).fit(X, y)  # fmt: skip
    assert len(seen) == 4
    held_out = [set(val_rows.tolist()) for _, val_rows in seen]
    assert all(len(rows) == 50 for rows in held_out)
    assert len({frozenset(rows) for rows in held_out}) == 4
    for fit_rows, val_rows in seen:
        assert set(fit_rows.tolist()) | set(val_rows.tolist()) == set(range(200))
    # With 4 networks each holding out a quarter, the rows that no network
    # trains on are those held out by all four: few, not a quarter of them.
    never_trained = set.intersection(*held_out)
    assert len(never_trained) < 10

    seen.clear()
    _overfitting(n_init=4, early_stopping=True, validation_fraction=0.25,
                 max_iter=5).fit(X, y)  # fmt: skip
    assert len({frozenset(val_rows.tolist()) for _, val_rows in seen}) == 1


def test_ensemble_warm_start_continues_every_network():
    X, y = _noisy_data()
    model = _overfitting(n_init=2, ensemble=True, max_iter=5).fit(X, y)
    before = [coefs[0].copy() for coefs, _ in model.networks_]
    model.set_params(warm_start=True).fit(X, y)
    assert len(model.networks_) == 2
    for old, (coefs, _) in zip(before, model.networks_):
        assert not np.array_equal(old, coefs[0])


@pytest.mark.parametrize("n_samples, expected", [(99, False), (100, True)])
def test_auto_early_stopping_needs_100_rows(n_samples, expected):
    X, y = _noisy_data(n_samples)
    model = MDNRegressor(hidden_layer_sizes=(4,), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert (model.validation_scores_ is not None) == expected


def test_ensemble_of_one_scales_all_rows():
    X, y = _noisy_data(n_samples=300, seed=2)
    w = np.random.RandomState(0).uniform(0.5, 2.0, size=len(y))
    model = _overfitting(n_init=1, ensemble=True, early_stopping=True, max_iter=5)
    model.fit(X, y, sample_weight=w)
    np.testing.assert_allclose(model._x_mean, np.average(X, axis=0, weights=w))
    shared = _overfitting(n_init=1, early_stopping=True, max_iter=5)
    shared.fit(X, y, sample_weight=w)
    assert not np.allclose(shared._x_mean, np.average(X, axis=0, weights=w))


@pytest.mark.parametrize("ensemble", [False, True])
def test_warm_start_keeps_validation_rows(monkeypatch, ensemble):
    """A continued fit validates on the rows it held out, whatever n_init."""
    drawn = _record_validation_rows(monkeypatch)
    X, y = _noisy_data(n_samples=200)
    model = _overfitting(n_init=3, ensemble=ensemble, early_stopping=True,
                         random_state=None, max_iter=5)  # fmt: skip
    model.fit(X, y)
    first = [rows.copy() for rows in drawn]
    assert len(first) == (3 if ensemble else 1)
    for n_init in (1, 4):
        drawn.clear()
        model.set_params(warm_start=True, n_init=n_init).fit(X, y)
        assert len(drawn) == len(first)
        for old, new in zip(first, drawn):
            np.testing.assert_array_equal(new, old)


def test_ensemble_zero_weight_error_names_network():
    X, y = _noisy_data(n_samples=100)
    w = np.zeros(len(y))
    w[:8] = 1.0
    model = _overfitting(n_init=5, ensemble=True, early_stopping=True, max_iter=5)
    with pytest.raises(ValueError) as error:
        model.fit(X, y, sample_weight=w)
    message = str(error.value)
    assert "of n_init=5" in message
    assert "8 of 100 rows have a positive weight" in message
    assert "ensemble=False" in message
