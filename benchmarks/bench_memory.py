"""Measure the peak resident memory of MDNRegressor.fit on a large data set.

Fits n = 1,000,000 rows, d = 20 features, D = 2 outputs, K = 5 components
and one hidden layer of 64 units for 20 L-BFGS iterations, in a fresh
process, and reports the peak resident set size (VmHWM in /proc/self/status,
which ru_maxrss also reports) next to the bytes of X and y and the resident
size after the imports alone.

Usage::

    python benchmarks/bench_memory.py [--n-samples 1000000]
"""

import argparse
import resource
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skmdn import MDNRegressor

MIB = 2**20


def resident_mib(field):
    """Return a field of /proc/self/status such as VmRSS or VmHWM, in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not found in /proc/self/status")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=1_000_000)
    parser.add_argument("--n-features", type=int, default=20)
    parser.add_argument("--max-iter", type=int, default=20)
    args = parser.parse_args()

    after_imports = resident_mib("VmRSS")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n_samples, args.n_features))
    y = np.empty((args.n_samples, 2))
    np.sin(X[:, 0], out=y[:, 0])
    np.multiply(X[:, 1], X[:, 2], out=y[:, 1])
    data_mib = (X.nbytes + y.nbytes) / MIB

    model = MDNRegressor(
        5, hidden_layer_sizes=(64,), max_iter=args.max_iter, tol=0.0,
        early_stopping=False, random_state=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
        elapsed = time.perf_counter() - start

    peak = resident_mib("VmHWM")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"X {X.shape} and y {y.shape}, float64: {data_mib:.1f} MiB")
    print(f"fit: {model.n_iter_} L-BFGS iterations in {elapsed:.1f} s")
    print(f"resident after imports:      {after_imports:.1f} MiB")
    print(f"peak resident (VmHWM):       {peak:.1f} MiB")
    print(f"peak resident (ru_maxrss):   {maxrss:.1f} MiB")
    print(f"peak - (X + y):              {peak - data_mib:.1f} MiB")
    print(f"peak - imports - (X + y):    {peak - after_imports - data_mib:.1f} MiB")


if __name__ == "__main__":
    main()
