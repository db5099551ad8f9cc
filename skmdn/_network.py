"""The multilayer perceptron of the MDN: packing, forward pass, loss and gradient.

All functions are pure: they take a flat parameter vector (or the arrays it
unpacks to) and data, and return new values. The exceptions are the
optional :class:`Workspace` of :func:`loss_and_grad`, scratch memory that
each call overwrites and that carries nothing from one call to the next, and
:class:`ThreadedLoss`, which keeps such workspaces and a pool of threads.
Layer ``l`` maps
``layer_units[l]`` inputs to ``layer_units[l + 1]`` outputs with weights
``coefs[l]`` of shape (fan_in, fan_out) and biases ``intercepts[l]`` of shape
(fan_out,). The flat vector stores all weight matrices first (row-major, in
layer order), then all bias vectors, like scikit-learn's MLP.
"""

from concurrent.futures import ThreadPoolExecutor, wait
from types import SimpleNamespace

import numpy as np
from scipy.special import expit

from skmdn import _mixture

ACTIVATIONS = ("tanh", "relu", "logistic", "identity")

# Rows per block in ``loss_and_grad``. Blocks bound the memory of the forward
# and backward pass; 4096 rows x 64 hidden units x 8 bytes is 2 MiB per array.
# Measured with benchmarks/bench_loss_grad.py on 64 hidden units: 1024 and
# 4096 rows run equally fast, 16384 rows 40% slower, and 4096 makes fewer
# BLAS calls than 1024.
DEFAULT_BLOCK_SIZE = 4096

# Minimum rows that ThreadedLoss gives a thread of its own. Below it, handing
# the rows to another thread costs more than it saves. On an idle 2-core Xeon
# (8 features, 64 hidden units, K = 5, D = 2), two threads took 1.77 ms for
# 1000 rows against 1.13 ms on one, broke even at 2000 rows and were 1.36
# times faster at 4000 (benchmarks/README.md).
MIN_ROWS_PER_THREAD = 1024


def _activate_inplace(Z, activation):
    """Apply the hidden activation to the pre-activations ``Z`` in place."""
    if activation == "tanh":
        np.tanh(Z, out=Z)
    elif activation == "relu":
        np.maximum(Z, 0.0, out=Z)
    elif activation == "logistic":
        expit(Z, out=Z)
    elif activation != "identity":
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}.")


def n_params(layer_units):
    """Return the length of the flat parameter vector."""
    return sum((a + 1) * b for a, b in zip(layer_units[:-1], layer_units[1:]))


def unpack(theta, layer_units):
    """Split a flat parameter vector into weight and bias views (no copy).

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
    layer_units : sequence of int
        ``[n_features, *hidden_layer_sizes, head_size]``.

    Returns
    -------
    coefs : list of ndarray, the l-th of shape (layer_units[l], layer_units[l+1])
    intercepts : list of ndarray, the l-th of shape (layer_units[l+1],)
    """
    coefs, intercepts = [], []
    start = 0
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        stop = start + fan_in * fan_out
        coefs.append(theta[start:stop].reshape(fan_in, fan_out))
        start = stop
    for fan_out in layer_units[1:]:
        intercepts.append(theta[start : start + fan_out])
        start += fan_out
    return coefs, intercepts


def pack(coefs, intercepts):
    """Concatenate weights and biases into one flat vector (the inverse of unpack)."""
    return np.concatenate([c.ravel() for c in coefs] + [b.ravel() for b in intercepts])


def forward(coefs, intercepts, X, activation):
    """Run the network and return every layer's output.

    Returns
    -------
    layers : list of ndarray
        ``[X, H_1, ..., H_L, A]``: the input, each hidden layer after its
        activation, and the linear output layer of shape (n_samples, head_size).
    """
    layers = [X]
    n_layers = len(coefs)
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        Z = layers[-1] @ W
        Z += b
        if i < n_layers - 1:
            _activate_inplace(Z, activation)
        layers.append(Z)
    return layers


def _backprop_activation(H, delta, activation, scratch):
    """Multiply ``delta`` in place by f'(z), written in terms of ``H = f(z)``.

    ``scratch`` is a work array of the shape of ``delta``, so that nothing is
    allocated.
    """
    if activation == "tanh":
        np.multiply(H, H, out=scratch)
        np.subtract(1.0, scratch, out=scratch)
        delta *= scratch
    elif activation == "relu":
        np.greater(H, 0.0, out=scratch)
        delta *= scratch
    elif activation == "logistic":
        np.subtract(1.0, H, out=scratch)
        scratch *= H
        delta *= scratch


class Workspace:
    """Scratch arrays for :func:`loss_and_grad` on blocks of up to ``n_rows`` rows.

    Build one per training run and pass it to every call, so that no call
    allocates arrays that grow with the number of rows. It contains the
    input block with an appended column of ones (so that one matrix product
    applies the first layer's weights and biases), each hidden layer's
    output and back-propagated error, the output layer and its gradient
    transposed for the mixture head, and the head's own arrays
    (:func:`skmdn._mixture.head_workspace`).

    Parameters
    ----------
    n_rows : int
        Largest block of rows the workspace serves.
    layer_units : sequence of int
        ``[n_features, *hidden_layer_sizes, head_size]``.
    n_components : int
    n_outputs : int
    covariance_type : {"spherical", "diag"}
    """

    def __init__(self, n_rows, layer_units, n_components, n_outputs, covariance_type):
        self.key = (tuple(layer_units), n_components, n_outputs, covariance_type)
        self.n_rows = int(n_rows)
        n_features, hidden = layer_units[0], layer_units[1:-1]
        self._n_hidden = len(hidden)
        layouts = {
            "input": (n_features + 1, "rows"),
            "output_t": (layer_units[-1], "columns"),
            "delta_t": (layer_units[-1], "columns"),
            "targets_t": (n_outputs, "columns"),
        }
        for i, units in enumerate(hidden):
            layouts[f"hidden{i}"] = (units, "rows")
            layouts[f"delta{i}"] = (units, "rows")
            layouts[f"scratch{i}"] = (units, "rows")
        self._arrays = _mixture.BlockArrays(n_rows, layouts)
        # The column of ones sits at the same flat positions for any block
        # height, and only the feature columns are ever written.
        self._arrays.flat["input"][n_features :: n_features + 1] = 1.0
        self._head = _mixture.head_workspace(
            n_rows, n_components, n_outputs, covariance_type
        )
        # The first layer's weights with its bias as an extra last row, and
        # one block's gradient of every layer's weights and biases.
        self.first_layer = np.empty((n_features + 1, layer_units[1]))
        self.block_coef_grads = [
            np.empty((a + int(i == 0), b))
            for i, (a, b) in enumerate(zip(layer_units[:-1], layer_units[1:]))
        ]
        self.block_intercept_grads = [np.empty(b) for b in layer_units[1:]]

    def matches(self, layer_units, n_components, n_outputs, covariance_type):
        """Return whether the workspace was built for this network and head."""
        key = (tuple(layer_units), n_components, n_outputs, covariance_type)
        return self.key == key

    def views(self, n_samples):
        """Return the arrays of one block of ``n_samples`` rows.

        A namespace with ``input`` (n_samples, n_features + 1), whose last
        column is ones; lists ``hidden``, ``deltas`` and ``scratch`` with one
        (n_samples, units) array per hidden layer; ``output_t`` and
        ``delta_t`` (head_size, n_samples); ``targets_t`` (n_outputs,
        n_samples); and ``head``, the views of the mixture head's arrays.
        """
        arrays = self._arrays.views(n_samples)
        layers = range(self._n_hidden)
        return SimpleNamespace(
            input=arrays.input,
            hidden=[getattr(arrays, f"hidden{i}") for i in layers],
            deltas=[getattr(arrays, f"delta{i}") for i in layers],
            scratch=[getattr(arrays, f"scratch{i}") for i in layers],
            output_t=arrays.output_t,
            delta_t=arrays.delta_t,
            targets_t=arrays.targets_t,
            head=self._head.views(n_samples),
        )


def _load_block(views, X, Y, rows, x_mean, x_scale):
    """Copy one block of X (standardised if asked) and of Y into ``views``."""
    X_block = views.input[:, :-1]
    if x_mean is None:
        np.copyto(X_block, X[rows])
    else:
        np.subtract(X[rows], x_mean, out=X_block)
        np.divide(X_block, x_scale, out=X_block)
    np.copyto(views.targets_t, Y[rows].T)


def _forward_block(views, work, coefs, intercepts, activation):
    """Fill ``views.hidden`` and ``views.output_t`` from ``views.input``."""
    layer_input = views.input
    weights = work.first_layer
    for i, hidden in enumerate(views.hidden):
        np.matmul(layer_input, weights, out=hidden)
        if i > 0:
            hidden += intercepts[i]
        _activate_inplace(hidden, activation)
        layer_input, weights = hidden, coefs[i + 1]
    # (head_size, m) = (head_size, fan_in) @ (fan_in, m); the first layer
    # adds its bias through the column of ones.
    np.matmul(weights.T, layer_input.T, out=views.output_t)
    if views.hidden:
        views.output_t += intercepts[-1][:, None]


def _backward_block(views, work, coefs, coef_grads, intercept_grads, activation):
    """Add the block's gradient to ``coef_grads`` and ``intercept_grads``.

    Expects ``views.delta_t`` to hold the gradient with respect to the output
    layer, and ``views.hidden`` the activations of the forward pass.
    """
    inputs = [views.input, *views.hidden]
    delta = views.delta_t.T  # (m, head_size), Fortran-ordered
    for i in range(len(coefs) - 1, -1, -1):
        block_grad = work.block_coef_grads[i]
        np.matmul(inputs[i].T, delta, out=block_grad)
        if i == 0:
            # The column of ones in the input yields the bias gradient.
            coef_grads[0] += block_grad[:-1]
            intercept_grads[0] += block_grad[-1]
            break
        coef_grads[i] += block_grad
        np.sum(delta, axis=0, out=work.block_intercept_grads[i])
        intercept_grads[i] += work.block_intercept_grads[i]
        np.matmul(delta, coefs[i].T, out=views.deltas[i - 1])
        delta = views.deltas[i - 1]
        _backprop_activation(inputs[i], delta, activation, views.scratch[i - 1])


def loss_and_grad(
    theta,
    X,
    Y,
    sample_weight,
    *,
    layer_units,
    activation,
    n_components,
    covariance_type,
    min_scale,
    alpha,
    block_size=DEFAULT_BLOCK_SIZE,
    x_mean=None,
    x_scale=None,
    workspace=None,
):
    """Return the training objective and its gradient for L-BFGS.

    The objective is the weighted mean negative log-likelihood of the mixture
    plus the L2 penalty ``0.5 * alpha * ||W||^2 / sum(w)`` on the weights
    (not the biases), the same scaling as scikit-learn's MLP.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        Flat parameter vector, see :func:`unpack`.
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_outputs)
    sample_weight : ndarray of shape (n_samples,)
        Non-negative weights with a positive sum.
    layer_units : sequence of int
        ``[n_features, *hidden_layer_sizes, head_size]``.
    activation : {"tanh", "relu", "logistic", "identity"}
    n_components : int
    covariance_type : {"spherical", "diag"}
    min_scale : float
        Floor on every component standard deviation.
    alpha : float
        L2 penalty strength.
    block_size : int or None
        Rows per block of the forward and backward pass; None for one block.
        The result does not depend on it beyond floating-point rounding.
    x_mean, x_scale : ndarray of shape (n_features,) or None
        If given, the network's input is ``(X - x_mean) / x_scale``, computed block
        by block so that no standardised copy of ``X`` is made.
    workspace : Workspace or None
        Scratch arrays reused across calls; None allocates them for this
        call. It must be built for ``layer_units`` and the mixture head, with
        ``n_rows`` at least the block height.

    Returns
    -------
    loss : float
    grad : ndarray of shape (n_params,)
    """
    n_samples, n_outputs = Y.shape
    step = _block_height(n_samples, block_size)
    if workspace is None:
        workspace = Workspace(
            step, layer_units, n_components, n_outputs, covariance_type
        )
    else:
        _check_workspace(workspace, layer_units, n_components, n_outputs, covariance_type)

    coefs, intercepts = unpack(theta, layer_units)
    grad = np.zeros_like(theta)
    nll = _add_nll_and_grad(
        coefs, intercepts, X, Y, sample_weight, 0, n_samples, step, workspace,
        grad, layer_units=layer_units, activation=activation,
        n_components=n_components, covariance_type=covariance_type,
        min_scale=min_scale, x_mean=x_mean, x_scale=x_scale,
    )  # fmt: skip
    return _add_penalty(nll, grad, coefs, alpha, sample_weight, layer_units)


def _block_height(n_samples, block_size):
    """Return the rows per block for ``block_size`` (None for one block)."""
    step = n_samples if block_size is None else max(int(block_size), 1)
    return max(min(step, n_samples), 1)


def _check_workspace(workspace, layer_units, n_components, n_outputs, covariance_type):
    if not workspace.matches(layer_units, n_components, n_outputs, covariance_type):
        raise ValueError(
            "The workspace was built for another network or mixture head; "
            "build one with the same layer_units, n_components, n_outputs and "
            "covariance_type."
        )


def _add_nll_and_grad(
    coefs, intercepts, X, Y, sample_weight, start, stop, step, workspace, grad,
    *, layer_units, activation, n_components, covariance_type, min_scale,
    x_mean, x_scale,
):  # fmt: skip
    """Add the gradient of rows ``start:stop`` to ``grad`` and return their NLL.

    The rows are taken in blocks of ``step`` in order, and ``grad`` receives
    the sum of the block gradients in that order, without the penalty and
    before division by the total weight.
    """
    workspace.first_layer[:-1] = coefs[0]
    workspace.first_layer[-1] = intercepts[0]
    coef_grads, intercept_grads = unpack(grad, layer_units)
    nll = 0.0
    for block_start in range(start, stop, step):
        rows = slice(block_start, min(block_start + step, stop))
        views = workspace.views(rows.stop - rows.start)
        _load_block(views, X, Y, rows, x_mean, x_scale)
        _forward_block(views, workspace, coefs, intercepts, activation)
        nll += _mixture.nll_and_grad_transposed(
            views.output_t, views.targets_t, sample_weight[rows], n_components,
            covariance_type, min_scale, out=views.delta_t, scratch=views.head,
        )  # fmt: skip
        _backward_block(
            views, workspace, coefs, coef_grads, intercept_grads, activation
        )
    return nll


def _add_penalty(nll, grad, coefs, alpha, sample_weight, layer_units):
    """Add the L2 penalty to the summed NLL and gradient and divide by sum(w)."""
    coef_grads, _ = unpack(grad, layer_units)
    penalty = 0.0
    for W, g_W in zip(coefs, coef_grads):
        g_W += alpha * W
        penalty += 0.5 * alpha * float(np.vdot(W, W))
    total_weight = float(sample_weight.sum())
    grad /= total_weight
    return (nll + penalty) / total_weight, grad


def split_rows(n_samples, n_threads, min_rows=MIN_ROWS_PER_THREAD):
    """Return the contiguous ``(start, stop)`` row ranges of the threads.

    The rows are split into equal ranges, one per thread, but no range has
    fewer than ``min_rows`` rows unless there is only one range. The ranges
    depend on the three arguments only, so that the sums of
    :class:`ThreadedLoss` are taken in the same order on every call.
    """
    n_ranges = max(1, min(int(n_threads), n_samples // max(int(min_rows), 1)))
    bounds = [n_samples * i // n_ranges for i in range(n_ranges + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


class ThreadedLoss:
    """Evaluate :func:`loss_and_grad` on parallel threads, one row range each.

    The rows are split by :func:`split_rows`, and each range is evaluated in
    blocks by one thread, with its own :class:`Workspace` and its own partial
    gradient: the calling thread takes the first range and a pool of
    ``n_threads - 1`` threads the others. numpy releases the GIL in matrix
    products and in ufuncs on arrays of block size, so the threads run in
    parallel. The partial sums are added in range order, so the result does
    not depend on thread scheduling. With one range the result is bitwise
    that of :func:`loss_and_grad` with the same ``block_size``. With more it
    differs by floating-point rounding only.

    Each worker thread evaluates its range under the caller's
    :func:`numpy.errstate` settings. BLAS should run on one thread while the
    evaluator is in use, otherwise each thread's matrix products start BLAS
    threads of their own.

    Use it as a context manager, or call :meth:`close`, to stop the threads.

    Parameters
    ----------
    n_threads : int
        Largest number of threads, the calling one included.
    layer_units : sequence of int
        ``[n_features, *hidden_layer_sizes, head_size]``.
    activation, n_components, covariance_type, min_scale, alpha
        As in :func:`loss_and_grad`.
    n_outputs : int
    block_size : int
        Rows per block within each thread's range.
    min_rows_per_thread : int
        Minimum rows for which a range gets a thread of its own.
    x_mean, x_scale : ndarray of shape (n_features,) or None
        As in :func:`loss_and_grad`.
    thread_initializer : callable or None
        Called with no arguments at the start of each pool thread.
    """

    def __init__(
        self,
        n_threads,
        layer_units,
        *,
        activation,
        n_components,
        n_outputs,
        covariance_type,
        min_scale,
        alpha,
        block_size=DEFAULT_BLOCK_SIZE,
        min_rows_per_thread=MIN_ROWS_PER_THREAD,
        x_mean=None,
        x_scale=None,
        thread_initializer=None,
    ):
        if int(n_threads) < 1:
            raise ValueError(f"n_threads must be at least 1; got {n_threads}.")
        self.n_threads = int(n_threads)
        self.layer_units = list(layer_units)
        self.block_size = max(int(block_size), 1)
        self.min_rows_per_thread = int(min_rows_per_thread)
        self._head = dict(
            activation=activation, n_components=n_components,
            covariance_type=covariance_type, min_scale=min_scale,
            x_mean=x_mean, x_scale=x_scale,
        )  # fmt: skip
        self._alpha = alpha
        self._n_outputs = n_outputs
        self._thread_initializer = thread_initializer
        self._workspaces = []
        self._partial_grads = []
        self._executor = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.close()

    def close(self):
        """Stop the pool threads, if any were started."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def loss_and_grad(self, theta, X, Y, sample_weight):
        """Return the objective of :func:`loss_and_grad` and its gradient."""
        coefs, intercepts = unpack(theta, self.layer_units)
        ranges = self._ranges(len(Y))

        def evaluate(index):
            start, stop = ranges[index]
            step = min(self.block_size, stop - start)
            grad = self._partial_grads[index]
            grad.fill(0.0)
            return _add_nll_and_grad(
                coefs, intercepts, X, Y, sample_weight, start, stop, step,
                self._workspaces[index], grad, layer_units=self.layer_units,
                **self._head,
            )  # fmt: skip

        self._prepare(ranges)
        partial_nlls = self._run(evaluate, len(ranges))
        nll = partial_nlls[0]
        grad = self._partial_grads[0].copy()
        for index in range(1, len(ranges)):
            nll += partial_nlls[index]
            grad += self._partial_grads[index]
        return _add_penalty(
            nll, grad, coefs, self._alpha, sample_weight, self.layer_units
        )

    def mean_log_likelihood(self, theta, X, Y, sample_weight):
        """Return the ``sample_weight``-weighted mean of log p(y | x) over the rows.

        It runs the forward pass only, with the penalty left out.
        """
        coefs, intercepts = unpack(theta, self.layer_units)
        head = self._head
        ranges = self._ranges(len(Y))

        def evaluate(index):
            start, stop = ranges[index]
            step = min(self.block_size, stop - start)
            workspace = self._workspaces[index]
            workspace.first_layer[:-1] = coefs[0]
            workspace.first_layer[-1] = intercepts[0]
            total = 0.0
            for block_start in range(start, stop, step):
                rows = slice(block_start, min(block_start + step, stop))
                views = workspace.views(rows.stop - rows.start)
                _load_block(views, X, Y, rows, head["x_mean"], head["x_scale"])
                _forward_block(
                    views, workspace, coefs, intercepts, head["activation"]
                )
                total += _mixture.weighted_log_likelihood_transposed(
                    views.output_t, views.targets_t, sample_weight[rows],
                    head["n_components"], head["covariance_type"],
                    head["min_scale"], scratch=views.head,
                )  # fmt: skip
            return total

        self._prepare(ranges)
        partial_sums = self._run(evaluate, len(ranges))
        total = partial_sums[0]
        for partial in partial_sums[1:]:
            total += partial
        return total / float(sample_weight.sum())

    def _ranges(self, n_samples):
        return split_rows(n_samples, self.n_threads, self.min_rows_per_thread)

    def _prepare(self, ranges):
        """Allocate a workspace and a partial gradient for each range.

        A workspace is rebuilt only when a range needs taller blocks than it
        serves, as when the validation rows outnumber the training rows.
        """
        height = max(min(self.block_size, stop - start) for start, stop in ranges)
        for index in range(len(ranges)):
            if index == len(self._workspaces):
                self._workspaces.append(None)
                self._partial_grads.append(np.empty(n_params(self.layer_units)))
            workspace = self._workspaces[index]
            if workspace is None or workspace.n_rows < height:
                self._workspaces[index] = Workspace(
                    height, self.layer_units, self._head["n_components"],
                    self._n_outputs, self._head["covariance_type"],
                )  # fmt: skip

    def _run(self, evaluate, n_ranges):
        """Call ``evaluate(i)`` for each range ``i`` and return the results in order.

        Range 0 runs on the calling thread. Every submitted range is waited
        for, also when one of them raises, so that no thread still writes to
        a workspace when the next evaluation starts.
        """
        if n_ranges == 1:
            return [evaluate(0)]
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self.n_threads - 1,
                thread_name_prefix="skmdn-loss",
                initializer=self._thread_initializer,
            )
        settings = np.geterr()

        def evaluate_with_settings(index):
            with np.errstate(**settings):
                return evaluate(index)

        futures = [
            self._executor.submit(evaluate_with_settings, index)
            for index in range(1, n_ranges)
        ]
        try:
            first = evaluate(0)
        finally:
            wait(futures)
        return [first, *(future.result() for future in futures)]


def output_layer(
    coefs,
    intercepts,
    X,
    activation,
    block_size=DEFAULT_BLOCK_SIZE,
    *,
    x_mean=None,
    x_scale=None,
):
    """Return the output-layer activations for ``X``, computed in row blocks.

    Parameters
    ----------
    coefs, intercepts : list of ndarray
        As returned by :func:`unpack`.
    X : ndarray of shape (n_samples, n_features)
    activation : {"tanh", "relu", "logistic", "identity"}
    block_size : int or None
        Rows per block; None for one block. Blocks bound the memory taken by
        the hidden layers.
    x_mean, x_scale : ndarray of shape (n_features,) or None
        If given, the network's input is ``(X - x_mean) / x_scale``, computed block
        by block so that no standardised copy of ``X`` is made.

    Returns
    -------
    A : ndarray of shape (n_samples, head_size)
    """
    n_samples = X.shape[0]
    A = np.empty((n_samples, coefs[-1].shape[1]))
    step = n_samples if block_size is None else max(int(block_size), 1)
    for start in range(0, n_samples, step):
        rows = slice(start, start + step)
        X_block = X[rows]
        if x_mean is not None:
            X_block = (X_block - x_mean) / x_scale
        A[rows] = forward(coefs, intercepts, X_block, activation)[-1]
    return A
