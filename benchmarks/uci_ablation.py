"""Cross-validated log-likelihood of MDN settings on UCI training rows.

Usage::

    python benchmarks/uci_ablation.py DATA_DIR SETTINGS_JSON
        [--datasets NAME ...] [--splits 0 1] [--folds 5] [--jobs 2]

SETTINGS_JSON maps a name to MDNRegressor parameters that replace the base
settings (``BASE_PARAMS``), for example
``'{"base": {}, "relu": {"activation": "relu"}}'``. For each data set, split
and setting, the script runs ``cross_val_score`` with
``KFold(folds, shuffle=True, random_state=0)`` on the split's training rows.
It never reads the test rows. Each result is one JSON line: the mean
cross-validated negative log-likelihood in the original units of y (lower is
better) and the wall time.
"""

import argparse
import json
import time
import warnings
from pathlib import Path

from joblib import Parallel, delayed
from sklearn.model_selection import KFold, cross_val_score

from skmdn import MDNRegressor
from uci import DATASETS, MDN_PARAMS, load_split

# The fixed settings of uci.py for small data sets, with three components.
BASE_PARAMS = {**MDN_PARAMS, "n_components": 3, "n_iter_no_change": 300}


def cross_validated_nll(data_dir, dataset, split, name, overrides, folds):
    """Return the cross-validated NLL of one setting on one split's training rows."""
    warnings.simplefilter("ignore")
    X, y, _, _ = load_split(data_dir / DATASETS[dataset], split)
    model = MDNRegressor(random_state=split, **{**BASE_PARAMS, **overrides})
    start = time.perf_counter()
    scores = cross_val_score(
        model, X, y, cv=KFold(folds, shuffle=True, random_state=0)
    )
    return {
        "dataset": dataset,
        "split": split,
        "setting": name,
        "cv_nll": -float(scores.mean()),
        "seconds": time.perf_counter() - start,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", type=Path, help="folder of the data sets")
    parser.add_argument("settings", type=json.loads, help="JSON of named settings")
    parser.add_argument(
        "--datasets", nargs="+", choices=sorted(DATASETS), default=["boston"]
    )
    parser.add_argument("--splits", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2, help="parallel settings")
    args = parser.parse_args(argv)

    tasks = [
        (dataset, split, name, overrides)
        for dataset in args.datasets
        for split in args.splits
        for name, overrides in args.settings.items()
    ]
    for record in Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
        delayed(cross_validated_nll)(args.data_dir, *task, args.folds)
        for task in tasks
    ):
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
