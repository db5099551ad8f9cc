"""Data for examples and tests: a real data set and a synthetic inverse problem."""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch, check_random_state

__all__ = ["load_faithful", "make_inverse_sine"]

_FAITHFUL_DESCR = """\
Old Faithful geyser data
------------------------
272 eruptions of the Old Faithful geyser in Yellowstone National Park.

- ``waiting``: time to the next eruption, in minutes (the feature).
- ``eruptions``: eruption duration, in minutes (the target).

The eruptions fall into a short and a long kind, so the duration given the
waiting time is bimodal for waiting times near 60 to 75 minutes.

Source: W. Härdle (1991), "Smoothing Techniques with Implementation in S",
Springer; distributed as the data set ``faithful`` of R's ``datasets`` package.
"""


def load_faithful(*, return_X_y=False, as_frame=False):
    """Load the Old Faithful geyser data (272 rows).

    The task is to predict the eruption duration from the waiting time before
    it; the conditional distribution is bimodal.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(X, y)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, X is a pandas DataFrame with column ``waiting`` and y a
        Series named ``eruptions`` (requires pandas).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``data`` (X of shape (272, 1)), ``target`` (y of shape (272,)),
        ``feature_names``, ``target_names``, ``frame`` (a DataFrame of both
        when ``as_frame=True``, else None) and ``DESCR``.
    (X, y) : tuple
        When ``return_X_y`` is True.

    Examples
    --------
    >>> from skmdn.datasets import load_faithful
    >>> X, y = load_faithful(return_X_y=True)
    >>> X.shape, y.shape
    ((272, 1), (272,))
    """
    path = resources.files("skmdn.datasets") / "data" / "faithful.csv"
    with path.open("r", encoding="utf-8") as handle:
        table = np.loadtxt(handle, delimiter=",", skiprows=1)
    X, y = table[:, 1:2], table[:, 0]
    frame = None
    if as_frame:
        import pandas as pd

        frame = pd.DataFrame({"waiting": X[:, 0], "eruptions": y})
        X, y = frame[["waiting"]], frame["eruptions"]
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        frame=frame,
        feature_names=["waiting"],
        target_names=["eruptions"],
        DESCR=_FAITHFUL_DESCR,
    )


def make_inverse_sine(n_samples=1000, noise=0.1, random_state=None):
    """Generate Bishop's inverse problem, whose solution is multi-valued.

    Draw ``t ~ U(0, 1)`` and set ``x = t + 0.3 sin(2 pi t) + U(-noise, noise)``.
    The forward map from t to x is a function, but the task is to predict t
    from x: for x near 0.5 there are three values of t, so p(t | x) is
    trimodal there and a least-squares fit averages the branches into a
    value that is rarely observed.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    noise : float, default=0.1
        Half-width of the uniform noise added to x.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Returns
    -------
    X : ndarray of shape (n_samples, 1)
        The inputs x.
    y : ndarray of shape (n_samples,)
        The targets t.

    References
    ----------
    C. M. Bishop, "Mixture Density Networks", Technical Report NCRG/94/004,
    Aston University, 1994, section 5.
    """
    if int(n_samples) != n_samples or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}.")
    rng = check_random_state(random_state)
    t = rng.uniform(0.0, 1.0, int(n_samples))
    x = t + 0.3 * np.sin(2.0 * np.pi * t) + rng.uniform(-noise, noise, int(n_samples))
    return x[:, None], t
