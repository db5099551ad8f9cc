"""skmdn.datasets: the shipped Old Faithful data and the inverse-sine problem."""

import numpy as np
import pytest

from skmdn.datasets import load_faithful, make_inverse_sine


def test_load_faithful():
    data = load_faithful()
    assert data.data.shape == (272, 1)
    assert data.target.shape == (272,)
    assert data.feature_names == ["waiting"]
    assert data.target_names == ["eruptions"]
    # First row of the published table: 3.6 minutes after 79 minutes.
    assert (data.target[0], data.data[0, 0]) == (3.6, 79.0)
    assert 1.5 < data.target.min()
    assert data.target.max() < 5.2
    assert "Härdle" in data.DESCR
    X, y = load_faithful(return_X_y=True)
    np.testing.assert_array_equal(X, data.data)


def test_load_faithful_as_frame():
    pytest.importorskip("pandas")
    X, y = load_faithful(return_X_y=True, as_frame=True)
    assert list(X.columns) == ["waiting"]
    assert y.name == "eruptions"
    assert load_faithful(as_frame=True).frame.shape == (272, 2)


def test_make_inverse_sine():
    X, y = make_inverse_sine(500, noise=0.0, random_state=0)
    assert X.shape == (500, 1)
    assert y.shape == (500,)
    assert 0 <= y.min()
    assert y.max() <= 1
    np.testing.assert_allclose(X[:, 0], y + 0.3 * np.sin(2 * np.pi * y))
    X2, y2 = make_inverse_sine(500, noise=0.0, random_state=0)
    np.testing.assert_array_equal(y, y2)
    # The inverse is multi-valued: near x = 0.5 the targets fall on three branches.
    middle = y[np.abs(X[:, 0] - 0.5) < 0.02]
    assert middle.min() < 0.3
    assert middle.max() > 0.7
    assert np.any(np.abs(middle - 0.5) < 0.1)


@pytest.mark.parametrize("kwargs", [dict(n_samples=0), dict(noise=-1.0)])
def test_make_inverse_sine_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        make_inverse_sine(**kwargs)
