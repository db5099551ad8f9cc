"""Input checks and numerical guards that keep NaN and infinity out of MDNRegressor.

The estimator calls these around scikit-learn's own validation: they reject
inputs that scikit-learn would convert silently or report without naming the
argument, and they check the values that leave the model for overflow.
"""

import numpy as np
from sklearn.utils.validation import _check_sample_weight

from skmdn._mixture import MAX_LOG_SCALE
from skmdn._network import DEFAULT_BLOCK_SIZE

# Loss reported to L-BFGS in place of a non-finite value, so that its line
# search backs off instead of stepping into a region where the network
# overflows. The loss is a mean NLL in standardised units, normally O(1).
NONFINITE_LOSS = 1e12

# Largest component standard deviation in standardised units of y.
_MAX_STANDARD_SCALE = np.exp(MAX_LOG_SCALE)


def check_real_numbers(value, name):
    """Raise a ValueError naming ``name`` if ``value`` has strings or complex numbers.

    scikit-learn's ``check_array`` with ``dtype=float64`` converts numeric
    strings silently and reports complex input without naming the argument.
    Input that numpy cannot turn into an array is left for ``check_array``.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return
    kind = array.dtype.kind
    if kind == "O":
        entries = array.ravel()
        if any(isinstance(entry, (str, bytes)) for entry in entries):
            kind = "U"
        elif any(isinstance(entry, complex) for entry in entries):
            kind = "c"
    if kind in "US":
        raise ValueError(
            f"{name} contains strings; MDNRegressor needs real numbers. Convert "
            f"numeric strings with {name}.astype(float) and encode categories, "
            "for example with sklearn.preprocessing.OneHotEncoder."
        )
    if kind == "c":
        raise ValueError(
            f"Complex data not supported: {name} contains complex numbers and "
            "MDNRegressor needs real numbers. Pass the real and imaginary parts "
            "as separate columns."
        )


def check_weights(sample_weight, X):
    """Validate ``sample_weight``: finite, non-negative, with a positive finite sum."""
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    with np.errstate(over="ignore"):
        total = sample_weight.sum()
    if not total > 0:
        raise ValueError(
            "sample_weight must have a positive sum; got all weights zero."
        )
    if not np.isfinite(total):
        raise ValueError(
            "sample_weight sums to more than float64 can hold; divide it and "
            "alpha by the same constant, for example the largest weight, to "
            "fit the same model."
        )
    return sample_weight


def _row_blocks(n_rows):
    """Yield slices of at most DEFAULT_BLOCK_SIZE rows covering ``n_rows``."""
    for start in range(0, n_rows, DEFAULT_BLOCK_SIZE):
        yield slice(start, start + DEFAULT_BLOCK_SIZE)


def weighted_mean_and_scale(Z, w):
    """Column means and standard deviations of ``Z`` under row weights ``w``.

    Columns are divided by their largest magnitude before any sum or square,
    so values near the float64 limits neither overflow nor underflow. A column
    whose spread is zero or within rounding of its mean is constant: it gets
    scale 1, so that standardising never divides by zero. Rows of zero weight
    are ignored altogether. The sums run over blocks of rows, so no temporary
    array as large as ``Z`` is made.

    Returns
    -------
    mean, scale : ndarray of shape (n_columns,)
        Not finite when ``Z`` spans more than float64 can hold.
    constant : ndarray of bool, shape (n_columns,)
    """
    fraction = w / w.sum()
    n_rows, n_columns = Z.shape

    def weighted_blocks():
        # Rows of zero weight are left out, so that extreme values there
        # cannot change the statistics through rounding or overflow.
        for rows in _row_blocks(n_rows):
            keep = w[rows] > 0
            if keep.all():
                yield Z[rows], fraction[rows]
            else:
                yield Z[rows][keep], fraction[rows][keep]

    with np.errstate(over="ignore", invalid="ignore"):
        magnitude = np.zeros(n_columns)
        for block, _ in weighted_blocks():
            if len(block):
                np.maximum(magnitude, np.max(np.abs(block), axis=0), out=magnitude)
        magnitude[magnitude == 0] = 1.0
        mean = np.zeros(n_columns)
        for block, block_fraction in weighted_blocks():
            mean += block_fraction @ (block / magnitude)
        mean *= magnitude

        spread = np.zeros(n_columns)
        for block, _ in weighted_blocks():
            if len(block):
                np.maximum(spread, np.max(np.abs(block - mean), axis=0), out=spread)
        spread[spread == 0] = 1.0
        variance = np.zeros(n_columns)
        for block, block_fraction in weighted_blocks():
            variance += block_fraction @ ((block - mean) / spread) ** 2
        scale = spread * np.sqrt(variance)
    constant = scale <= 10.0 * np.finfo(np.float64).eps * np.abs(mean)
    scale[constant] = 1.0
    return mean, scale, constant


def check_standardisation(name, mean, scale):
    """Raise if the training statistics of ``name`` are not finite."""
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale))):
        raise ValueError(
            f"{name} has values too large to standardise in float64 (its mean "
            "or spread overflows); rescale it, for example divide by a power "
            "of ten."
        )


def check_target_scale(y_scale, min_scale):
    """Raise if predicted variances of y could leave the float64 range.

    A component standard deviation lies between ``min_scale * y_scale`` and
    ``exp(MAX_LOG_SCALE) * y_scale`` in the units of y, and its square must be
    a positive, finite float64.
    """
    with np.errstate(over="ignore", under="ignore"):
        largest = ((_MAX_STANDARD_SCALE + min_scale) * y_scale) ** 2
        smallest = (min_scale * y_scale) ** 2
    if not np.all(np.isfinite(largest)):
        raise ValueError(
            f"y has a standard deviation of {np.max(y_scale):.3g}, too large for "
            "the variances of the predicted mixture to stay finite in float64; "
            "rescale y, for example divide it by a power of ten."
        )
    if not np.all(smallest >= np.finfo(np.float64).tiny):
        raise ValueError(
            f"y has a standard deviation of {np.min(y_scale):.3g} and min_scale is "
            f"{min_scale:.3g}: the smallest predicted variance would underflow "
            "float64. Multiply y by a power of ten or increase min_scale."
        )


def check_finite_rows(values, X, description, *, x_mean, x_scale, remedy):
    """Raise a ValueError if a row of ``values`` is not finite.

    Parameters
    ----------
    values : ndarray whose first axis is the rows of X
    X : ndarray of shape (n_samples, n_features)
        The inputs, to report how far the failing rows lie from the training
        data.
    description : str
        The name of ``values`` that starts the message.
    x_mean, x_scale : ndarray of shape (n_features,)
        The training mean and standard deviation of X.
    remedy : str
        The last sentence of the message: what the caller can do.
    """
    finite = np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    if np.all(finite):
        return
    bad = np.flatnonzero(~finite)
    with np.errstate(over="ignore"):
        distance = np.max(np.abs((X[bad] - x_mean) / x_scale))
    raise ValueError(
        f"{description} is not finite in float64 for {bad.size} rows of X (first: row "
        f"{bad[0]}), which lie up to {distance:.3g} training standard "
        f"deviations from the training mean of X. {remedy}"
    )


def convergence_message(result, max_iter, criterion="lowest finite loss"):
    """Describe why L-BFGS-B stopped, for a ConvergenceWarning; None if it converged.

    ``criterion`` names how the fitted parameters were chosen.
    """
    if result.status == 0:
        return None
    if result.status == 1 and result.nit >= max_iter:
        reason = (
            f"the iteration limit max_iter={max_iter} was reached; increase "
            "max_iter or tol"
        )
    elif result.status == 1:
        reason = "the limit on loss evaluations was reached; increase tol"
    elif result.status == 2:
        reason = (
            "the line search found no lower loss, which happens when tol asks "
            "for more precision than float64 rounding of the loss allows; "
            "increase tol"
        )
    else:
        reason = "scipy reported a problem"
    return (
        f"L-BFGS stopped before converging: {reason} (scipy status "
        f"{result.status}: {result.message}). The parameters with the {criterion} "
        "seen are kept."
    )
