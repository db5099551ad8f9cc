"""MDNRegressor: a Mixture Density Network as a scikit-learn regressor."""

import contextlib
import threading
import warnings
from numbers import Integral, Real

import numpy as np
import threadpoolctl
from joblib import Parallel, delayed, effective_n_jobs
from scipy.optimize import minimize
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from skmdn import _checks, _mixture, _network
from skmdn._distribution import GaussianMixtureDistribution

# Smallest training set on which early_stopping="auto" holds out rows: 10% of
# it gives at least 10 validation rows.
_AUTO_EARLY_STOPPING_ROWS = 100

_FAR_X_REMEDY = "Remove or clip inputs that far outside the training data."
_FAR_Y_REMEDY = (
    "Check these rows for targets far outside the training range of y, or "
    "inputs far outside the training data."
)


def _threadpool_controller():
    """Return a threadpoolctl controller of the loaded native thread pools.

    Building a ``ThreadpoolController`` scans every loaded library (about
    14 ms in a cProfile run of a small fit on 2-core Linux), so the cached
    one is used where threadpoolctl provides it (version 3.8 does).
    """
    get_cached = getattr(threadpoolctl, "get_cached_controller", None)
    if get_cached is None:
        return threadpoolctl.ThreadpoolController()
    return get_cached()


def _blas_thread_count(controller):
    """Return the smallest thread limit of the loaded BLAS libraries, or 1.

    OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, ``threadpool_limits`` and
    joblib's per-worker limits all act on this number. It is 1 when
    threadpoolctl finds no BLAS library.
    """
    limits = [
        info["num_threads"]
        for info in controller.select(user_api="blas").info()
        if info["num_threads"]
    ]
    return max(1, min(limits)) if limits else 1


_HOLD_LOCK = threading.Lock()
_HOLD = {"depth": 0, "threads": 1, "limiter": None}


@contextlib.contextmanager
def _native_pools_on_one_thread():
    """Hold BLAS and OpenMP to one thread while any fit of the process runs.

    Yields ``(n_threads, nested)``: the BLAS thread count from before the
    first running fit took hold, and whether another fit of this process
    already held it. Fits that run at the same time in Python threads share
    one hold, so every one of them gets the same count, and the last to
    finish restores the limits that the first one found.
    """
    with _HOLD_LOCK:
        nested = _HOLD["depth"] > 0
        if not nested:
            controller = _threadpool_controller()
            _HOLD["threads"] = _blas_thread_count(controller)
            _HOLD["limiter"] = controller.limit(limits=1)
        _HOLD["depth"] += 1
        n_threads = _HOLD["threads"]
    try:
        yield n_threads, nested
    finally:
        with _HOLD_LOCK:
            _HOLD["depth"] -= 1
            if _HOLD["depth"] == 0:
                _HOLD["limiter"].restore_original_limits()
                _HOLD["limiter"] = None


def _limit_blas_in_thread():
    """Limit BLAS to one thread for the calling thread and never restore it.

    Run at the start of each loss thread. OpenBLAS with its pthreads layer
    has one process-wide limit, which the thread that started the fit has
    already set to 1. OpenBLAS with OpenMP, and MKL as threadpoolctl 3.8
    limits it, keep a limit per thread, and a new thread would otherwise
    start from the process-wide default.
    """
    _threadpool_controller().limit(limits=1, user_api="blas")


def _check_hidden_layer_sizes(hidden_layer_sizes):
    """Return ``hidden_layer_sizes`` as a list of positive ints."""
    if isinstance(hidden_layer_sizes, Integral):
        sizes = [hidden_layer_sizes]
    else:
        sizes = list(hidden_layer_sizes)
    for size in sizes:
        if not isinstance(size, Integral) or isinstance(size, bool) or size < 1:
            raise ValueError(
                "hidden_layer_sizes must hold positive integers (use () for no "
                f"hidden layer); got {hidden_layer_sizes!r}."
            )
    return [int(size) for size in sizes]


class MDNRegressor(RegressorMixin, BaseEstimator):
    """Mixture Density Network regressor.

    A multilayer perceptron whose outputs parameterise a mixture of
    ``n_components`` Gaussians over the target, so that each prediction is a
    whole conditional distribution ``p(y | x)`` (Bishop, 1994). It can
    represent multimodal, skewed and heteroscedastic targets with one or more
    outputs. The network is trained by maximum likelihood with L-BFGS on the
    analytic gradient.

    :meth:`predict` returns the conditional mean, :meth:`predict_dist` the
    whole mixture, and :meth:`score` the mean log-likelihood per sample (not
    R²), so that model selection tools such as
    :class:`~sklearn.model_selection.GridSearchCV` compare predictive
    distributions by default. Pass ``scoring="r2"`` to select by the mean.

    Parameters
    ----------
    n_components : int, default=3
        Number of Gaussian components K in each predicted mixture.

    hidden_layer_sizes : int or array-like of int, default=(50,)
        Units in each hidden layer; ``()`` for a network with no hidden
        layer, in which the mixture parameters are linear in ``X``.

    activation : {"tanh", "relu", "logistic", "identity"}, default="tanh"
        Activation of the hidden layers.

    covariance_type : {"diag", "spherical"}, default="diag"
        Shape of each component covariance, named as in
        :class:`sklearn.mixture.GaussianMixture`. "diag" gives each component
        one standard deviation per output. "spherical" gives it one standard
        deviation shared by all outputs, and then y is standardised by one
        common scale so that components stay spherical in the original units.

    alpha : float, default=1e-4
        Strength of the L2 penalty ``0.5 * alpha * ||W||² / sum(sample_weight)``
        on the network weights (not the biases), scaled as in
        :class:`sklearn.neural_network.MLPRegressor`.

    min_scale : float, default=1e-3
        Floor on every component standard deviation, in units of the training
        standard deviation of y (of each output for "diag", of the common
        scale for "spherical"). Without a floor the likelihood is unbounded:
        a component can collapse onto a repeated target value. An output of
        y that is constant has standard deviation 0, so 1 is used in its
        place: the floor is then ``min_scale`` in the units of y, and
        :meth:`fit` warns.

    max_iter : int, default=500
        Maximum number of L-BFGS iterations per initialisation (scipy's
        ``maxiter``).

    tol : float, default=1e-6
        Tolerance of L-BFGS, used as scipy's ``ftol`` (relative decrease of
        the loss) and ``gtol`` (largest gradient entry).

    n_init : int, default=1
        Number of initialisations. Each is trained from its own random
        weights and one is kept: the one with the highest validation
        log-likelihood when ``early_stopping`` is True, otherwise the one with
        the lowest final training loss.

    early_stopping : bool or "auto", default="auto"
        Whether to hold out ``validation_fraction`` of the training rows and
        stop L-BFGS when their log-likelihood has not improved for
        ``n_iter_no_change`` iterations. The parameters with the highest
        validation log-likelihood seen are kept. The network is then trained
        on the other rows only, and the standardisation of X and y uses
        those rows too. "auto" turns it on when ``fit`` gets at least 100
        rows. Without it, a network trained to convergence on a few hundred
        rows overfits: its held-out log-likelihood can be worse by orders of
        magnitude.

    validation_fraction : float, default=0.1
        Share of the training rows held out for early stopping, drawn at
        random with ``random_state``: once for all ``n_init`` networks, or
        once per network when ``ensemble`` is True. Only used when
        ``early_stopping`` is True.

    n_iter_no_change : int, default=100
        Number of L-BFGS iterations without a new best validation
        log-likelihood after which training stops. Only used when
        ``early_stopping`` is True.

    ensemble : bool, default=False
        Whether to keep all ``n_init`` networks and predict the uniform
        mixture of their predicted mixtures, itself a mixture of
        ``n_init * n_components`` Gaussians. With early stopping, each
        network holds out its own random ``validation_fraction`` of the rows,
        so that together the networks train on nearly every row, and the
        standardisation of X and y uses all rows. ``coefs_`` and
        ``intercepts_`` still hold the network of highest validation
        log-likelihood (each on its own held-out rows), or of lowest training
        loss without early stopping.

    n_jobs : int, default=None
        Number of initialisations trained in parallel through joblib.
        ``None`` means 1 unless in a :obj:`joblib.parallel_backend` context,
        and -1 means all processors. The fitted model depends on it only
        through the number of threads each initialisation runs on (see
        Notes).

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation. An int gives the same model, bit for
        bit, on the same data and machine with the same number of threads
        (see Notes).

    warm_start : bool, default=False
        If True and the model is already fitted, continue training from the
        current parameters (and the standardisation of the first fit) instead
        of initialising anew; ``n_init`` is then ignored. With early stopping,
        each network keeps validating on the rows it held out before, as long
        as the number of rows is unchanged.

    verbose : int, default=0
        If positive, print the loss after each iteration.

    Attributes
    ----------
    coefs_ : list of ndarray
        Weight matrices, the i-th of shape (units in layer i, units in layer
        i + 1). The network acts on standardised inputs and produces
        standardised targets; see :meth:`predict_dist` for original units.

    intercepts_ : list of ndarray
        Bias vectors, the i-th of shape (units in layer i + 1,).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    n_outputs_ : int
        Number of target dimensions D.

    n_iter_ : int
        Number of L-BFGS iterations run for the kept initialisation, including
        the iterations after the best validation score when
        ``early_stopping`` is True.

    loss_ : float
        Final training loss: the weighted mean negative log-likelihood in
        standardised units plus the L2 penalty.

    loss_curve_ : list of float
        Training loss after each iteration of the kept initialisation.

    validation_scores_ : list of float or None
        Mean log-likelihood per sample of the held-out rows, in the original
        units of y, after each iteration of the kept initialisation. None
        unless ``early_stopping`` is True.

    networks_ : list of tuple or None
        ``(coefs, intercepts)`` of every initialisation, in the order of
        their seeds, when ``ensemble`` is True; None otherwise.

    best_validation_score_ : float or None
        Highest value in ``validation_scores_`` (or of the initial
        parameters, if no iteration improved on them); the parameters that
        reached it are the fitted ones. None unless ``early_stopping`` is
        True.

    See Also
    --------
    GaussianMixtureDistribution : The predictive distribution object.
    sklearn.neural_network.MLPRegressor : The same network for a point
        prediction with squared loss.

    Notes
    -----
    One fit evaluates the loss, its gradient and the validation score on
    as many threads as BLAS may use when :meth:`fit` starts, as threadpoolctl
    reports it (the smallest limit if several BLAS libraries are loaded).
    BLAS itself, and OpenMP, run on one thread until the fit ends. Each
    thread takes a contiguous range of at least 1024 training rows, so a fit
    on fewer than 2048 training rows runs on one thread. To use fewer
    threads, set ``OMP_NUM_THREADS`` or ``OPENBLAS_NUM_THREADS`` before
    Python starts, or fit inside
    ``threadpoolctl.threadpool_limits(limits=n, user_api="blas")``, where
    ``n = 1`` gives one thread. With ``n_jobs`` other than 1, each
    initialisation runs in a joblib worker and takes the BLAS limit of that
    worker. joblib's process workers (the default "loky" backend) get the
    number of cores divided by ``n_jobs``, so that the workers together do
    not use more threads than there are cores.

    The thread count decides the order in which the rows' terms are
    summed, so fits on different thread counts differ by rounding, which
    L-BFGS can amplify over many iterations. They do not depend on thread
    scheduling. Fits that run at the same time in Python threads of one
    process (for example under joblib's "threading" backend) all take the
    thread count found by the first of them, and the last to finish
    restores the BLAS and OpenMP limits that the first one found.

    References
    ----------
    C. M. Bishop, "Mixture Density Networks", Technical Report NCRG/94/004,
    Aston University, 1994.

    Examples
    --------
    >>> from skmdn import MDNRegressor
    >>> from skmdn.datasets import make_inverse_sine
    >>> X, y = make_inverse_sine(n_samples=500, random_state=0)
    >>> model = MDNRegressor(n_components=3, random_state=0).fit(X, y)
    >>> dist = model.predict_dist([[0.5]])
    >>> dist.weights.shape
    (1, 3)
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_network.ACTIVATIONS))],
        "covariance_type": [StrOptions(set(_mixture.COVARIANCE_TYPES))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "min_scale": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "ensemble": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=3,
        *,
        hidden_layer_sizes=(50,),
        activation="tanh",
        covariance_type="diag",
        alpha=1e-4,
        min_scale=1e-3,
        max_iter=500,
        tol=1e-6,
        n_init=1,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=100,
        ensemble=False,
        n_jobs=None,
        random_state=None,
        warm_start=False,
        verbose=0,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.covariance_type = covariance_type
        self.alpha = alpha
        self.min_scale = min_scale
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.ensemble = ensemble
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # score is a log-likelihood, not R², so the common checks' R² bounds
        # do not apply.
        tags.regressor_tags.poor_score = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network by maximum likelihood.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Training targets. Predictions take the same shape: a model fitted
            on 1-D y predicts 1-D arrays.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights with a positive sum; None weighs every
            row 1. A weight of 2 is equivalent to repeating the row.

        Returns
        -------
        self : MDNRegressor
            The fitted estimator.

        Raises
        ------
        ValueError
            Before training, naming the invalid argument: NaN or infinity in
            X, y or sample_weight, and strings or complex numbers in X or y.
            Negative sample weights, or weights that sum to zero or overflow
            float64. A standard deviation of y so large or small that the
            predicted variances would leave float64. During training, if the
            loss is not finite even at the initial parameters.

        Warns
        -----
        UserWarning
            If an output of y is constant (see ``min_scale``).
        ConvergenceWarning
            If L-BFGS stops before converging, with scipy's status and
            message. The parameters with the lowest finite loss are kept.
        """
        hidden = _check_hidden_layer_sizes(self.hidden_layer_sizes)
        continuing = self.warm_start and hasattr(self, "coefs_")
        _checks.check_real_numbers(X, "X")
        _checks.check_real_numbers(y, "y")
        X, y = validate_data(
            self, X, y, reset=not continuing, multi_output=True, y_numeric=True,
            dtype=np.float64,
        )  # fmt: skip
        sample_weight = _checks.check_weights(sample_weight, X)
        target_1d = y.ndim == 1
        Y = y.reshape(-1, 1) if target_1d else y
        n_outputs = Y.shape[1]

        if continuing:
            if n_outputs != self.n_outputs_:
                raise ValueError(
                    f"warm_start=True needs y with {self.n_outputs_} outputs, as in "
                    f"the previous fit; got {n_outputs}. Set warm_start=False to "
                    "fit anew."
                )
            self._check_warm_start_shape(hidden)

        rng = check_random_state(self.random_state)
        if continuing:
            n_networks = len(self.networks_) if self.networks_ else 1
        else:
            n_networks = self.n_init
            seeds = rng.randint(np.iinfo(np.int32).max, size=self.n_init)
        uses_early_stopping = self._uses_early_stopping(X.shape[0])
        # Every network of an ensemble early-stops on rows of its own, so
        # that together the networks train on nearly every row. Otherwise
        # the networks share one validation set, so that the scores that
        # select the best restart are comparable.
        n_splits = n_networks if self.ensemble else 1
        split_seeds = None
        if uses_early_stopping:
            previous = getattr(self, "_split_seeds", None) if continuing else None
            if previous is not None and len(previous) == n_splits:
                # A continued fit keeps validating on the rows it held out.
                split_seeds = previous
            else:
                split_seeds = [
                    rng.randint(np.iinfo(np.int32).max) for _ in range(n_splits)
                ]
            row_splits = [
                self._split_validation(sample_weight, seed, network, n_splits)
                for network, seed in enumerate(split_seeds)
            ]
        else:
            row_splits = [(None, None)]
        self._split_seeds = split_seeds
        # The rows in the shared validation set of a fit without ensemble.
        # Its statistics and starting point use the other rows only.
        held_out = row_splits[0][1] if uses_early_stopping and not self.ensemble else None
        if not continuing:
            # Held-out rows count with weight zero, so that X is not copied.
            scaler_weight = sample_weight
            if held_out is not None:
                scaler_weight = sample_weight.copy()
                scaler_weight[held_out] = 0.0
            self._set_scalers(X, Y, scaler_weight)
        self._target_1d = target_1d
        self._network_shape = {
            "hidden_layer_sizes": hidden,
            "n_components": self.n_components,
            "covariance_type": self.covariance_type,
        }
        self.n_outputs_ = n_outputs

        # X is standardised block by block inside the loss, never copied
        # unless early stopping takes rows out of it.
        Ys = (Y - self._y_mean) / self._y_scale
        layer_units = self._layer_units(X.shape[1], hidden, n_outputs)

        # The loss runs on as many Python threads as BLAS may use. Each one
        # multiplies its blocks with BLAS on one thread, because blocks of at
        # most 4096 rows are too small for threaded BLAS to pay off. On 2
        # cores, one BLAS thread made a fit on 1000 rows five times faster
        # per iteration (benchmarks/README.md). OpenMP is held to one thread
        # too. With two OpenMP threads, k-means adds the threads' partial
        # centres in the order they finish (scikit-learn 1.9), and on a busy
        # 2-core machine it took 230 ms for 1000 rows.
        with _native_pools_on_one_thread() as (n_threads, _):
            if continuing:
                networks = self.networks_ or [(self.coefs_, self.intercepts_)]
                starts = [_network.pack(*network) for network in networks]
            else:
                head_Ys, head_weight = Ys, sample_weight
                if held_out is not None:
                    fit_rows = row_splits[0][0]
                    head_Ys, head_weight = Ys[fit_rows], sample_weight[fit_rows]
                head_bias = self._initial_head_bias(head_Ys, head_weight)
                starts = [
                    self._initial_params(
                        np.random.RandomState(seed), layer_units, head_bias
                    )
                    for seed in seeds
                ]
            tasks = [
                (theta0, row_splits[i % len(row_splits)])
                for i, theta0 in enumerate(starts)
            ]
            runs = self._optimize_starts(
                tasks, X, Ys, sample_weight, layer_units, n_threads
            )
        if not uses_early_stopping:
            best = min(runs, key=lambda run: run["loss"])
        else:
            best = max(runs, key=lambda run: run["validation_score"])

        if best["warning"] is not None:
            warnings.warn(best["warning"], ConvergenceWarning, stacklevel=3)
        coefs, intercepts = _network.unpack(best["theta"], layer_units)
        self.coefs_ = coefs
        self.intercepts_ = intercepts
        self.n_iter_ = best["n_iter"]
        self.loss_ = best["loss"]
        self.loss_curve_ = best["curve"]
        self.validation_scores_ = best["validation_scores"]
        self.best_validation_score_ = best["validation_score"]
        self.networks_ = None
        if self.ensemble:
            self.networks_ = [_network.unpack(run["theta"], layer_units) for run in runs]
        return self

    def _optimize_starts(self, tasks, X, Ys, w, layer_units, n_threads):
        """Run :meth:`_optimize_on_rows` for each ``(start, rows)`` task, in order.

        With one task, or ``n_jobs`` resolving to 1, the runs share this
        process and its ``n_threads``. Otherwise joblib runs them in parallel
        workers, and each one counts the BLAS threads of the worker that runs
        it, which joblib's process workers limit so that the workers together
        do not use more threads than there are cores.
        """
        if len(tasks) == 1 or effective_n_jobs(self.n_jobs) == 1:
            return [
                self._optimize_on_rows(theta0, X, Ys, w, rows, layer_units, n_threads)
                for theta0, rows in tasks
            ]
        return Parallel(n_jobs=self.n_jobs)(
            delayed(self._optimize_on_rows)(theta0, X, Ys, w, rows, layer_units, None)
            for theta0, rows in tasks
        )

    def _check_warm_start_shape(self, hidden):
        """Raise if a parameter that shapes the network changed since the last fit."""
        current = {
            "hidden_layer_sizes": hidden,
            "n_components": self.n_components,
            "covariance_type": self.covariance_type,
        }
        for name, value in current.items():
            previous = self._network_shape[name]
            if value != previous:
                raise ValueError(
                    f"warm_start=True continues the previous fit, but {name} "
                    f"changed from {previous!r} to {value!r}. Set it back, or set "
                    "warm_start=False to fit anew."
                )

    def _uses_early_stopping(self, n_samples):
        """Resolve ``early_stopping`` for a training set of ``n_samples`` rows."""
        if self.early_stopping == "auto":
            return n_samples >= _AUTO_EARLY_STOPPING_ROWS
        return bool(self.early_stopping)

    def _split_validation(self, sample_weight, seed, network=0, n_splits=1):
        """Draw the row indices used for training and for early stopping.

        ``seed`` seeds the draw. ``network`` and ``n_splits`` name the draw in
        errors when each network of an ensemble draws its own rows.
        """
        n_samples = sample_weight.shape[0]
        n_val = int(np.ceil(self.validation_fraction * n_samples))
        if n_val < 2 or n_samples - n_val < 2:
            raise ValueError(
                "early_stopping=True needs at least 2 training and 2 validation "
                f"rows; validation_fraction={self.validation_fraction} of "
                f"{n_samples} rows gives {n_val} validation rows. Pass more rows, "
                "change validation_fraction or set early_stopping=False."
            )
        fit_rows, val_rows = train_test_split(
            np.arange(n_samples), test_size=n_val, random_state=seed
        )
        for name, rows in (("training", fit_rows), ("validation", val_rows)):
            if sample_weight[rows].sum() > 0:
                continue
            drawn_for, remedy = "", (
                "Change random_state or validation_fraction, or set "
                "early_stopping=False."
            )
            if n_splits > 1:
                drawn_for = f" of network {network + 1} of n_init={self.n_init}"
                remedy = (
                    "Raise validation_fraction, lower n_init, or set "
                    "ensemble=False (one validation set for all networks) or "
                    "early_stopping=False."
                )
            raise ValueError(
                f"The {name} rows drawn for early stopping{drawn_for} all have "
                f"zero sample_weight; {np.count_nonzero(sample_weight)} of "
                f"{n_samples} rows have a positive weight. {remedy}"
            )
        return np.sort(fit_rows), np.sort(val_rows)

    def _layer_units(self, n_features, hidden, n_outputs):
        head = _mixture.head_size(self.n_components, n_outputs, self.covariance_type)
        return [n_features, *hidden, head]

    def _set_scalers(self, X, Y, w):
        """Store the weighted standardisation of X and Y."""
        x_mean, x_scale, _ = _checks.weighted_mean_and_scale(X, w)
        _checks.check_standardisation("X", x_mean, x_scale)
        y_mean, y_scale, constant = _checks.weighted_mean_and_scale(Y, w)
        _checks.check_standardisation("y", y_mean, y_scale)
        if np.any(constant):
            warnings.warn(
                f"y is constant (outputs {np.flatnonzero(constant).tolist()}), so "
                "the model puts nearly all its weight on a component at that "
                "value with the smallest scale allowed, "
                f"min_scale={self.min_scale} in the units of y.",
                UserWarning,
                stacklevel=4,
            )
        if self.covariance_type == "spherical":
            # One common scale keeps spherical components spherical in the
            # original units of y. Constant outputs do not count towards it.
            spread = y_scale[~constant] if not np.all(constant) else y_scale
            y_scale = np.full_like(y_scale, np.sqrt(np.mean(spread**2)))
        _checks.check_target_scale(y_scale, self.min_scale)
        self._x_mean, self._x_scale = x_mean, x_scale
        self._y_mean, self._y_scale = y_mean, y_scale

    def _initial_head_bias(self, Ys, w):
        """Output-layer biases that start every component where there is data.

        Rows are cut into K groups of equal weight along the first principal
        direction of the standardised targets, and k-means refines the group
        means. Each component starts at a group mean, with the group's spread
        as its scale and the group's weight as its mixing weight. The
        construction is deterministic and treats a weight of 2 like a
        repeated row.
        """
        K, D = self.n_components, Ys.shape[1]
        total = w.sum()
        centre = (w @ Ys) / total
        resid = Ys - centre
        _, eigvec = np.linalg.eigh((resid * w[:, None]).T @ resid / total)
        direction = eigvec[:, -1]
        direction *= np.sign(direction[np.argmax(np.abs(direction))])
        order = np.argsort(resid @ direction, kind="stable")
        mass = np.cumsum(w[order]) - 0.5 * w[order]
        groups = np.empty(len(w), dtype=np.intp)
        groups[order] = np.minimum((K * mass / total).astype(np.intp), K - 1)

        centers = np.tile(centre, (K, 1))
        for k in range(K):
            in_k = groups == k
            if w[in_k].sum() > 0:
                centers[k] = (w[in_k] @ Ys[in_k]) / w[in_k].sum()
        if np.count_nonzero(w) >= K:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                km = KMeans(K, init=centers, n_init=1, max_iter=20, random_state=0)
                groups = km.fit(Ys, sample_weight=w).labels_
            centers = km.cluster_centers_

        weights = np.empty(K)
        spread = np.empty((K, D))
        for k in range(K):
            in_k = groups == k
            weights[k] = w[in_k].sum()
            if weights[k] > 0:
                diff = Ys[in_k] - centers[k]
                spread[k] = np.sqrt((w[in_k] @ diff**2) / weights[k])
            else:
                spread[k] = 1.0
        if self.covariance_type == "spherical":
            spread = np.sqrt(np.mean(spread**2, axis=1, keepdims=True))
        scales = np.maximum(spread, 1e-2) + self.min_scale
        logits = np.log(np.maximum(weights / total, 1e-3))
        return np.concatenate(
            [logits, np.log(scales - self.min_scale).ravel(), centers.ravel()]
        )

    def _initial_params(self, rng, layer_units, head_bias):
        """Glorot-uniform weights; the output layer starts near its biases."""
        coefs, intercepts = [], []
        for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
            bound = np.sqrt(6.0 / (fan_in + fan_out))
            coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
            intercepts.append(rng.uniform(-bound, bound, fan_out))
        coefs[-1] *= 0.1
        intercepts[-1] = head_bias.copy()
        return _network.pack(coefs, intercepts)

    def _validation_score(self, theta, validation, loss):
        """Mean log-likelihood of the held-out rows, in standardised units.

        ``loss`` is the :class:`~skmdn._network.ThreadedLoss` of the fit,
        whose threads and workspaces evaluate the held-out rows too.
        """
        Xv, Yv, wv = validation
        # Selection compares scores in standardised units, so that it does
        # not depend on the units of y through rounding.
        with np.errstate(over="ignore", invalid="ignore"):
            return loss.mean_log_likelihood(theta, Xv, Yv, wv)

    def _optimize_on_rows(self, theta0, X, Ys, w, rows, layer_units, n_threads):
        """Run :meth:`_optimize` on the rows ``rows = (fit_rows, val_rows)``.

        ``rows = (None, None)`` trains on all rows without early stopping.
        """
        fit_rows, val_rows = rows
        if val_rows is None:
            return self._optimize(theta0, X, Ys, w, layer_units, None, n_threads)
        validation = (X[val_rows], Ys[val_rows], w[val_rows])
        return self._optimize(
            theta0, X[fit_rows], Ys[fit_rows], w[fit_rows], layer_units, validation,
            n_threads,
        )  # fmt: skip

    def _optimize(self, theta0, X, Ys, w, layer_units, validation=None, n_threads=None):
        """Run L-BFGS-B from ``theta0`` and return the parameters to keep.

        The loss runs on ``n_threads`` threads. None, in a joblib worker,
        takes the hold of :func:`_native_pools_on_one_thread` until the run
        ends, and the thread count from it. See :meth:`_minimize` for the rest.
        """
        with contextlib.ExitStack() as stack:
            if n_threads is None:
                # A joblib worker: a process of its own counts its BLAS
                # threads, and a thread of a fit in progress takes one.
                held_threads, nested = stack.enter_context(
                    _native_pools_on_one_thread()
                )
                n_threads = 1 if nested else held_threads
            loss = _network.ThreadedLoss(
                n_threads, layer_units, activation=self.activation,
                n_components=self.n_components, n_outputs=Ys.shape[1],
                covariance_type=self.covariance_type, min_scale=self.min_scale,
                alpha=self.alpha, x_mean=self._x_mean, x_scale=self._x_scale,
                thread_initializer=_limit_blas_in_thread,
            )  # fmt: skip
            stack.enter_context(loss)
            return self._minimize(theta0, X, Ys, w, loss, validation)

    def _minimize(self, theta0, X, Ys, w, loss, validation):
        """Run L-BFGS-B on ``loss`` and return the parameters to keep.

        X is the raw input, standardised inside the loss. Without
        ``validation`` the parameters kept are the finite ones of lowest loss.
        With ``validation = (X, Y, sample_weight)`` they are the iterate of
        highest held-out log-likelihood, and a callback stops L-BFGS-B (by
        raising StopIteration, which scipy >= 1.11 accepts) after
        ``n_iter_no_change`` iterations without a new best.
        """
        best = {"loss": np.inf, "theta": theta0.copy()}

        def objective(theta):
            value, grad = loss.loss_and_grad(theta, X, Ys, w)
            if not (np.isfinite(value) and np.all(np.isfinite(grad))):
                # Report a loss above every one seen, so the line search
                # backs off whatever the scale of the loss.
                substitute = _checks.NONFINITE_LOSS
                if np.isfinite(best["loss"]):
                    substitute = max(substitute, best["loss"] + abs(best["loss"]) + 1)
                return substitute, np.zeros_like(theta)
            if value < best["loss"]:
                best["loss"] = value
                best["theta"] = theta.copy()
            return value, grad

        curve, scores = [], []
        # Validation scores are reported in the original units of y.
        log_y_scale = float(np.sum(np.log(self._y_scale)))
        if validation is not None:
            best_val = {
                "score": self._validation_score(theta0, validation, loss),
                "theta": theta0.copy(),
                "loss": None,
                "since": 0,
            }

        def callback(intermediate_result):
            curve.append(float(intermediate_result.fun))
            message = f"Iteration {len(curve)}, loss = {curve[-1]:.8f}"
            if validation is not None:
                theta = intermediate_result.x
                scores.append(self._validation_score(theta, validation, loss))
                message += f", validation score = {scores[-1] - log_y_scale:.8f}"
                if scores[-1] > best_val["score"]:
                    best_val.update(score=scores[-1], theta=theta.copy(), since=0)
                    best_val["loss"] = curve[-1]
                else:
                    best_val["since"] += 1
            if self.verbose:
                print(message)
            if validation is not None and best_val["since"] >= self.n_iter_no_change:
                raise StopIteration

        result = minimize(
            objective,
            theta0,
            jac=True,
            method="L-BFGS-B",
            callback=callback,
            options={
                "maxiter": self.max_iter,
                "maxfun": max(15000, 20 * self.max_iter),
                "ftol": self.tol,
                "gtol": self.tol,
            },
        )
        if not np.isfinite(best["loss"]):
            raise ValueError(
                "The loss was not finite at any parameters tried, including the "
                "initial ones; check X and y for extreme values."
            )
        stopped_early = validation is not None and (
            best_val["since"] >= self.n_iter_no_change
        )
        warning = None
        if not stopped_early:
            criterion = "lowest finite loss" if validation is None else (
                "highest validation score"
            )
            warning = _checks.convergence_message(
                result, self.max_iter, criterion=criterion
            )
        run = {
            "theta": best["theta"],
            "loss": float(best["loss"]),
            "n_iter": int(result.nit),
            "curve": curve,
            "warning": warning,
            "validation_scores": None,
            "validation_score": None,
        }
        if validation is not None:
            if best_val["loss"] is None:
                best_val["loss"] = objective(best_val["theta"])[0]
            run.update(
                theta=best_val["theta"], loss=float(best_val["loss"]),
                validation_scores=[score - log_y_scale for score in scores],
                validation_score=best_val["score"] - log_y_scale,
            )  # fmt: skip
        return run

    # -------------------------------------------------------------- predict

    def _validate_X(self, X):
        """Check that the model is fitted and return X as float64."""
        check_is_fitted(self)
        _checks.check_real_numbers(X, "X")
        return validate_data(self, X, reset=False, dtype=np.float64)

    def _output_layers(self, X):
        """Return the output layer of each network whose mixtures are averaged.

        X is standardised block by block, never copied.
        """
        networks = self.networks_ or [(self.coefs_, self.intercepts_)]
        with np.errstate(over="ignore", invalid="ignore"):
            return [
                _network.output_layer(
                    coefs, intercepts, X, self.activation,
                    x_mean=self._x_mean, x_scale=self._x_scale,
                )  # fmt: skip
                for coefs, intercepts in networks
            ]

    def _check_finite_rows(self, values, X, description, remedy):
        _checks.check_finite_rows(
            values, X, description, x_mean=self._x_mean, x_scale=self._x_scale,
            remedy=remedy,
        )  # fmt: skip

    def predict_dist(self, X):
        """Predict the conditional distribution of y for each row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        dist : GaussianMixtureDistribution
            One mixture of ``n_components`` Gaussians per row (of
            ``n_init * n_components`` when ``ensemble`` is True), in the
            original units of y: ``weights`` (n_samples, n_components),
            ``means`` (n_samples, n_components, n_outputs) and
            ``covariances`` (n_samples, n_components, n_outputs) for "diag"
            or (n_samples, n_components) for "spherical". For a model fitted
            on 1-D y its methods take and return 1-D arrays.

        Raises
        ------
        ValueError
            If X contains NaN, infinity, strings or complex numbers, or if the
            predicted distribution of a row is not finite in float64, which
            happens only for inputs extremely far from the training data.
        """
        X = self._validate_X(X)
        with np.errstate(over="ignore", invalid="ignore"):
            heads = [
                _mixture.mixture_parameters(
                    A, self.n_components, self.n_outputs_, self.covariance_type,
                    self.min_scale,
                )  # fmt: skip
                for A in self._output_layers(X)
            ]
            # A uniform mixture of M mixtures: stack their components along
            # axis 1 and divide every weight by M.
            log_weights = np.concatenate([head[0] for head in heads], axis=1)
            log_weights -= np.log(len(heads))
            scales = np.concatenate([head[1] for head in heads], axis=1)
            means = np.concatenate([head[2] for head in heads], axis=1)
            means = means * self._y_scale + self._y_mean
            if self.covariance_type == "spherical":
                covariances = (scales[:, :, 0] * self._y_scale[0]) ** 2
            else:
                covariances = (scales * self._y_scale) ** 2
            weights = np.exp(log_weights)
        parameters = np.hstack(
            [a.reshape(len(X), -1) for a in (weights, means, covariances)]
        )
        self._check_finite_rows(
            parameters, X, "The predicted distribution", remedy=_FAR_X_REMEDY
        )
        dist = GaussianMixtureDistribution(
            weights, means, covariances, self.covariance_type,
            target_1d=self._target_1d,
        )  # fmt: skip
        # The variance can overflow even where means and covariances do not.
        with np.errstate(over="ignore", invalid="ignore"):
            variance = dist.var()
        self._check_finite_rows(
            variance, X, "The predicted variance", remedy=_FAR_X_REMEDY
        )
        return dist

    def predict(self, X, return_std=False):
        """Predict the conditional mean of y, and optionally its spread.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        return_std : bool, default=False
            Whether to also return the predictive standard deviation of each
            output (law of total variance over the mixture).

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Mean of the predicted mixture, shaped like the training y.
        y_std : ndarray, same shape as ``y_mean``
            Only when ``return_std`` is True.
        """
        dist = self.predict_dist(X)
        if return_std:
            return dist.mean(), dist.std()
        return dist.mean()

    def score(self, X, y, sample_weight=None):
        """Mean log-likelihood per sample of y under the predicted mixtures.

        The density is measured in the original units of y, so rescaling y by
        a factor c shifts the score by ``-log|c|`` per output. Higher is
        better. This is the default criterion of
        :class:`~sklearn.model_selection.GridSearchCV` and
        :func:`~sklearn.model_selection.cross_val_score`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Observed targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights of the mean.

        Returns
        -------
        score : float
            Weighted mean of ``log p(y_i | x_i)``.

        Raises
        ------
        ValueError
            If X, y or sample_weight are invalid as in :meth:`fit`, or if the
            log-likelihood of a row is not finite in float64 (a target or an
            input extremely far from the training data).
        """
        X = self._validate_X(X)
        _checks.check_real_numbers(y, "y")
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        Y = y.reshape(len(y), -1)
        if Y.shape != (X.shape[0], self.n_outputs_):
            raise ValueError(
                f"y must have {X.shape[0]} rows (one per row of X) and "
                f"{self.n_outputs_} outputs; got shape {y.shape}."
            )
        sample_weight = _checks.check_weights(sample_weight, X)
        with np.errstate(over="ignore", invalid="ignore"):
            Ys = (Y - self._y_mean) / self._y_scale
            network_ll = [
                _mixture.log_likelihood(
                    A, Ys, self.n_components, self.covariance_type, self.min_scale
                )
                for A in self._output_layers(X)
            ]
            row_ll = logsumexp(network_ll, axis=0) - np.log(len(network_ll))
        row_ll -= np.sum(np.log(self._y_scale))
        self._check_finite_rows(
            row_ll, X, "The log-likelihood of y", remedy=_FAR_Y_REMEDY
        )
        return float(np.average(row_ll, weights=sample_weight))
