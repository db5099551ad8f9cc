"""Saving and loading fitted models with skops.io, without pickle's risks."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skmdn import MDNRegressor

sio = pytest.importorskip("skops.io")

MDN_TYPE = "skmdn._regressor.MDNRegressor"


def _data(n_outputs):
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(40, 2))
    y = X[:, :1] + 0.1 * rng.normal(size=(40, n_outputs))
    return X, (y[:, 0] if n_outputs == 1 else y)


CONFIGURATIONS = {
    "1-D y": (dict(), 1),
    "3 outputs, spherical": (dict(covariance_type="spherical"), 3),
    "relu, no hidden layer, n_init": (
        dict(activation="relu", hidden_layer_sizes=(), n_init=2), 1
    ),
    "RandomState instance": (dict(random_state=np.random.RandomState(1)), 2),
}


@pytest.mark.parametrize("name", CONFIGURATIONS, ids=list(CONFIGURATIONS))
def test_skops_round_trip(name):
    """A fitted model reloads with identical predictions, trusting only skmdn."""
    params, n_outputs = CONFIGURATIONS[name]
    X, y = _data(n_outputs)
    model = MDNRegressor(2, hidden_layer_sizes=(4,), max_iter=20, random_state=0)
    model.set_params(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)

    data = sio.dumps(model)
    assert sio.get_untrusted_types(data=data) == [MDN_TYPE]
    restored = sio.loads(data, trusted=[MDN_TYPE])
    assert isinstance(restored, MDNRegressor)
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert restored.score(X, y) == model.score(X, y)
    restored_dist, dist = restored.predict_dist(X), model.predict_dist(X)
    np.testing.assert_array_equal(restored_dist.covariances, dist.covariances)
    assert restored.get_params().keys() == model.get_params().keys()


def test_skops_round_trip_with_feature_names(tmp_path):
    """A model fitted on a DataFrame saves to a file and keeps its feature names."""
    pd = pytest.importorskip("pandas")
    X, y = _data(1)
    frame = pd.DataFrame(X, columns=["waiting", "height"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MDNRegressor(2, hidden_layer_sizes=(4,), max_iter=20,
                             random_state=0).fit(frame, y)  # fmt: skip
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    assert sio.get_untrusted_types(file=path) == [MDN_TYPE]
    restored = sio.load(path, trusted=[MDN_TYPE])
    np.testing.assert_array_equal(restored.feature_names_in_, ["waiting", "height"])
    np.testing.assert_array_equal(restored.predict(frame), model.predict(frame))


def test_skops_refuses_untrusted_model():
    """Loading without trusting MDNRegressor raises instead of running code."""
    X, y = _data(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MDNRegressor(1, hidden_layer_sizes=(), max_iter=5).fit(X, y)
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.loads(sio.dumps(model))
