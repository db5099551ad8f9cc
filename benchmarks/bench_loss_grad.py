"""Time one loss-and-gradient evaluation against its matrix-product floor and peers.

For d = 8 features, D = 2 outputs, one hidden layer of 64 tanh units and
K = 5 "diag" components, in float64, this script times, in one run:

* ours: ``skmdn._network.ThreadedLoss.loss_and_grad`` as
  ``MDNRegressor.fit`` runs it, with BLAS on one thread and as many Python
  threads as fit would take (the BLAS thread count at the start, or
  ``--threads``);
* floor: only the five matrix products that the forward and backward pass
  need (input @ W1, hidden @ W2, the two weight-gradient products and the
  back-propagated product), on arrays of the same shapes;
* torch: PyTorch autograd on the same network, parameters and mixture
  negative log-likelihood (log_softmax, logsumexp), forward plus backward,
  with as many threads as the BLAS that numpy uses;
* per L-BFGS iteration: MLPRegressor(solver="lbfgs") and MDNRegressor with
  the same hidden layer, max_iter and tol=0, total fit time divided by
  iterations (and by loss evaluations).

Each time is the median of ``--repeats`` runs, by the wall clock or, with
``--clock cpu``, by the CPU time of the process. Run it on an idle
machine: other processes on the same cores inflate every figure, and the
load average is printed before and after for that reason.

Usage::

    python benchmarks/bench_loss_grad.py [--sizes 1000 10000 100000]
"""

import argparse
import datetime
import math
import os
import platform
import time
import warnings

import numpy as np
import threadpoolctl
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

import skmdn
from skmdn import MDNRegressor, _mixture, _network, _regressor

N_FEATURES, N_OUTPUTS, HIDDEN, N_COMPONENTS = 8, 2, 64, 5
COVARIANCE = "diag"
MIN_SCALE, ALPHA = 1e-3, 1e-4


# Set from --clock: time.perf_counter (wall clock) or time.process_time (CPU
# time of all threads of this process, which other processes on a busy
# machine do not inflate).
clock = time.perf_counter


def median_time(fun, repeats):
    """Median seconds of ``repeats`` calls by ``clock``, after one warm-up call."""
    fun()
    times = []
    for _ in range(repeats):
        start = clock()
        fun()
        times.append(clock() - start)
    return float(np.median(times))


def make_problem(n_samples, seed=0):
    """Random standardised data and Glorot-uniform parameters."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, N_FEATURES))
    Y = np.column_stack([np.sin(X[:, 0] + X[:, 1]), X[:, 2] * X[:, 3]])
    Y += 0.1 * rng.normal(size=Y.shape)
    head = _mixture.head_size(N_COMPONENTS, N_OUTPUTS, COVARIANCE)
    layer_units = [N_FEATURES, HIDDEN, head]
    pieces = []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        pieces.append(rng.uniform(-bound, bound, fan_in * fan_out))
    pieces += [rng.uniform(-0.1, 0.1, fan_out) for fan_out in layer_units[1:]]
    return X, Y, np.ones(n_samples), np.concatenate(pieces), layer_units


def time_ours(X, Y, w, theta, layer_units, repeats, block_size, n_threads):
    """Time ThreadedLoss with BLAS held to one thread, as in MDNRegressor.fit."""
    threaded = _network.ThreadedLoss(
        n_threads, layer_units, activation="tanh", n_components=N_COMPONENTS,
        n_outputs=N_OUTPUTS, covariance_type=COVARIANCE, min_scale=MIN_SCALE,
        alpha=ALPHA, block_size=block_size,
    )  # fmt: skip
    controller = threadpoolctl.ThreadpoolController()
    with controller.limit(limits=1, user_api="blas"), threaded:
        loss, grad = threaded.loss_and_grad(theta, X, Y, w)
        elapsed = median_time(lambda: threaded.loss_and_grad(theta, X, Y, w), repeats)
    return elapsed, loss, grad


def time_floor(X, theta, layer_units, repeats):
    """Median time of the five matrix products alone, into preallocated arrays."""
    (W1, W2), (b1, _) = _network.unpack(theta, layer_units)
    n_samples = len(X)
    rng = np.random.default_rng(1)
    hidden = np.tanh(X @ W1 + b1)
    delta_out = rng.normal(size=(n_samples, W2.shape[1]))
    delta_hidden = rng.normal(size=(n_samples, HIDDEN))
    out_hidden = np.empty_like(hidden)
    out_head = np.empty_like(delta_out)
    out_back = np.empty_like(delta_hidden)
    grad_W1, grad_W2 = np.empty_like(W1), np.empty_like(W2)

    def products():
        np.matmul(X, W1, out=out_hidden)
        np.matmul(hidden, W2, out=out_head)
        np.matmul(hidden.T, delta_out, out=grad_W2)
        np.matmul(delta_out, W2.T, out=out_back)
        np.matmul(X.T, delta_hidden, out=grad_W1)

    return median_time(products, repeats)


def torch_loss_fn(X, Y, w, theta, layer_units):
    """Return (parameters, closure computing the loss) for PyTorch autograd."""
    (W1, W2), (b1, b2) = _network.unpack(theta, layer_units)
    params = [torch.tensor(a, requires_grad=True) for a in (W1, b1, W2, b2)]
    X_t, Y_t, w_t = (torch.from_numpy(a) for a in (X, Y, w))
    K, D = N_COMPONENTS, N_OUTPUTS
    n_samples = len(X)
    const = 0.5 * D * math.log(2 * math.pi)

    def loss_fn():
        W1_t, b1_t, W2_t, b2_t = params
        A = torch.tanh(X_t @ W1_t + b1_t) @ W2_t + b2_t
        log_w = torch.log_softmax(A[:, :K], dim=1)
        raw = torch.clamp(A[:, K : K + K * D], max=_mixture.MAX_LOG_SCALE)
        sigma = (MIN_SCALE + torch.exp(raw)).reshape(n_samples, K, D)
        mu = A[:, K + K * D :].reshape(n_samples, K, D)
        r = (Y_t[:, None, :] - mu) / sigma
        log_density = -0.5 * (r * r).sum(2) - torch.log(sigma).sum(2) - const
        row_ll = torch.logsumexp(log_w + log_density, dim=1)
        penalty = 0.5 * ALPHA * ((W1_t * W1_t).sum() + (W2_t * W2_t).sum())
        return (penalty - (w_t * row_ll).sum()) / w_t.sum()

    return params, loss_fn


def time_torch(X, Y, w, theta, layer_units, repeats):
    params, loss_fn = torch_loss_fn(X, Y, w, theta, layer_units)

    def forward_backward():
        for p in params:
            p.grad = None
        loss = loss_fn()
        loss.backward()
        return loss

    loss = forward_backward().item()
    W1, b1, W2, b2 = (p.grad.numpy() for p in params)
    grad = np.concatenate([W1.ravel(), W2.ravel(), b1, b2])
    return median_time(forward_backward, repeats), loss, grad


def counted(obj, name, tally):
    """Replace ``obj.name`` by a wrapper that counts and times its calls.

    ``tally`` is a two-item list that receives the number of calls and their
    total time by ``clock``. Returns the original attribute.
    """
    original = getattr(obj, name)

    def wrapper(*args, **kwargs):
        start = clock()
        result = original(*args, **kwargs)
        tally[0] += 1
        tally[1] += clock() - start
        return result

    setattr(obj, name, wrapper)
    return original


def time_per_iteration(X, Y, max_iter):
    """Fit both estimators and return, for each, a dict of timings and counts.

    The keys are ``per_iter`` (fit time / iterations), ``per_eval`` (mean
    time inside the loss function), ``outside_loss`` (fit time outside it),
    ``n_iter`` and ``n_eval``, with times in seconds by ``clock``.
    """
    results = {}
    estimators = {
        "mlp": MLPRegressor(
            hidden_layer_sizes=(HIDDEN,), activation="tanh", solver="lbfgs",
            alpha=ALPHA, max_iter=max_iter, tol=0.0, random_state=0,
        ),
        "ours": MDNRegressor(
            N_COMPONENTS, hidden_layer_sizes=(HIDDEN,), activation="tanh",
            covariance_type=COVARIANCE, alpha=ALPHA, min_scale=MIN_SCALE,
            max_iter=max_iter, tol=0.0, early_stopping=False, random_state=0,
        ),
    }  # fmt: skip
    loss_functions = {
        "mlp": (MLPRegressor, "_loss_grad_lbfgs"),
        "ours": (_network.ThreadedLoss, "loss_and_grad"),
    }
    for name, estimator in estimators.items():
        owner, attribute = loss_functions[name]
        tally = [0, 0.0]
        original = counted(owner, attribute, tally)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                start = clock()
                estimator.fit(X, Y)
                elapsed = clock() - start
        finally:
            setattr(owner, attribute, original)
        n_calls, loss_time = tally
        results[name] = {
            "per_iter": elapsed / estimator.n_iter_,
            "per_eval": loss_time / n_calls,
            "outside_loss": elapsed - loss_time,
            "n_iter": estimator.n_iter_,
            "n_eval": n_calls,
        }
    return results


def describe_machine(n_threads, ours_threads):
    blas = [
        info for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"
    ]
    lines = [
        f"date (UTC): {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M}",
        f"cpu: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} logical cores",
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"torch {torch.__version__}, skmdn {skmdn.__version__}",
    ]
    for info in blas:
        lines.append(
            f"BLAS: {info['internal_api']} {info.get('version')} "
            f"({info.get('architecture')}), {info['num_threads']} threads"
        )
    lines.append(f"torch threads: {n_threads}")
    lines.append(f"ours threads: {ours_threads}, BLAS on one thread each")
    lines.append(f"load average before: {os.getloadavg()}")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument(
        "--clock", choices=["wall", "cpu"], default="wall",
        help="wall-clock time, or CPU time of the process (all its threads)",
    )  # fmt: skip
    parser.add_argument(
        "--block-size", type=int, default=_network.DEFAULT_BLOCK_SIZE,
        help="rows per block of loss_and_grad in the single-evaluation timing",
    )  # fmt: skip
    parser.add_argument(
        "--max-iter", type=int, default=100,
        help="L-BFGS iterations of each fit in the per-iteration comparison",
    )  # fmt: skip
    parser.add_argument(
        "--skip-fits", action="store_true",
        help="skip the per-iteration comparison with MLPRegressor",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=int, default=None,
        help="threads of ours in the single-evaluation timing (default: the "
        "number MDNRegressor.fit takes, the BLAS thread count)",
    )  # fmt: skip
    args = parser.parse_args()
    global clock
    clock = time.perf_counter if args.clock == "wall" else time.process_time

    blas_threads = [
        info["num_threads"]
        for info in threadpoolctl.threadpool_info()
        if info["user_api"] == "blas"
    ]
    n_threads = blas_threads[0] if blas_threads else 1
    torch.set_num_threads(n_threads)
    ours_threads = args.threads
    if ours_threads is None:
        controller = threadpoolctl.ThreadpoolController()
        ours_threads = _regressor._blas_thread_count(controller)
    for line in describe_machine(n_threads, ours_threads):
        print(line)
    print()

    rows, fits = [], []
    for n_samples in args.sizes:
        X, Y, w, theta, layer_units = make_problem(n_samples)
        repeats = args.repeats if n_samples < 100000 else max(5, args.repeats // 3)
        ours, loss, grad = time_ours(
            X, Y, w, theta, layer_units, repeats, args.block_size, ours_threads
        )
        floor = time_floor(X, theta, layer_units, repeats)
        torch_time, torch_loss, torch_grad = time_torch(
            X, Y, w, theta, layer_units, repeats
        )
        loss_diff = abs(loss - torch_loss) / abs(torch_loss)
        grad_diff = np.max(np.abs(grad - torch_grad)) / np.max(np.abs(torch_grad))
        rows.append((n_samples, ours, floor, torch_time, loss_diff, grad_diff))
        if not args.skip_fits:
            fits.append((n_samples, time_per_iteration(X, Y, args.max_iter)))

    print(f"One loss-and-gradient evaluation (median {args.clock} ms)")
    print()
    print("| n | ours | floor | torch | ours/floor | ours/torch | "
          "loss vs torch (rel.) | grad vs torch (rel.) |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n_samples, ours, floor, torch_time, loss_diff, grad_diff in rows:
        print(
            f"| {n_samples} | {1e3 * ours:.3f} | {1e3 * floor:.3f} | "
            f"{1e3 * torch_time:.3f} | {ours / floor:.2f} | "
            f"{ours / torch_time:.2f} | {loss_diff:.1e} | {grad_diff:.1e} |"
        )
    if fits:
        print_fits(fits, args)
    times = {n_samples: ours for n_samples, ours, *_ in rows}
    if 10000 in times and 100000 in times:
        print()
        print(f"time(1e5) / time(1e4) = {times[100000] / times[10000]:.2f}")
    print()
    print(f"load average after: {os.getloadavg()}")


def print_fits(fits, args):
    print()
    print(
        f"Per L-BFGS iteration, fits with max_iter={args.max_iter} and tol=0 "
        f"({args.clock} ms)"
    )
    print()
    print("Per eval is the time inside the loss function itself; outside is the")
    print("rest of the fit (validation, initialisation, the L-BFGS update).")
    print()
    print("| n | MLP per iter | ours per iter | ours/MLP | MLP per eval | "
          "ours per eval | MLP outside | ours outside | MLP iters, evals | "
          "ours iters, evals |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n_samples, result in fits:
        mlp, ours = result["mlp"], result["ours"]
        print(
            f"| {n_samples} | {1e3 * mlp['per_iter']:.3f} | "
            f"{1e3 * ours['per_iter']:.3f} | "
            f"{ours['per_iter'] / mlp['per_iter']:.2f} | "
            f"{1e3 * mlp['per_eval']:.3f} | {1e3 * ours['per_eval']:.3f} | "
            f"{1e3 * mlp['outside_loss']:.0f} | {1e3 * ours['outside_loss']:.0f} | "
            f"{mlp['n_iter']}, {mlp['n_eval']} | {ours['n_iter']}, {ours['n_eval']} |"
        )


if __name__ == "__main__":
    main()
