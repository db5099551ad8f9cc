"""Measure what early stopping by default does to an untuned MDNRegressor.

Compares MDNRegressor(early_stopping=False) with early_stopping=True, every
other parameter at its default, by 5-fold cross-validated mean log-likelihood
on Old Faithful (272 rows), the inverse-sine problem (1000 rows) and Boston
housing (506 rows, read from DATA_DIR/bostonHousing in the layout of the UCI
benchmark splits).

    python benchmarks/early_stopping_default.py DATA_DIR
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, cross_val_score

from skmdn import MDNRegressor
from skmdn.datasets import load_faithful, make_inverse_sine


def load_boston(data_dir):
    """Return X and y of the UCI Boston housing data in ``data_dir``."""
    folder = data_dir / "bostonHousing"
    data = np.loadtxt(folder / "data.txt")
    features = np.loadtxt(folder / "index_features.txt").astype(int)
    target = int(np.loadtxt(folder / "index_target.txt"))
    return data[:, features], data[:, target]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", type=Path, help="folder of the UCI data sets")
    args = parser.parse_args()

    problems = {
        "faithful": load_faithful(return_X_y=True),
        "inverse sine": make_inverse_sine(1000, random_state=0),
        "boston": load_boston(args.data_dir),
    }
    folds = KFold(5, shuffle=True, random_state=0)
    print("| data | rows | early_stopping | mean score | worst fold | seconds |")
    print("|---|---:|---|---:|---:|---:|")
    for name, (X, y) in problems.items():
        for early_stopping in (False, True):
            model = MDNRegressor(early_stopping=early_stopping, random_state=0)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                scores = cross_val_score(model, X, y, cv=folds)
            elapsed = time.perf_counter() - start
            print(
                f"| {name} | {len(y)} | {early_stopping} | {scores.mean():.3f} "
                f"| {scores.min():.3f} | {elapsed:.1f} |"
            )


if __name__ == "__main__":
    main()
