"""Quickstart: predict Old Faithful eruption durations as distributions.

The duration of an eruption of the Old Faithful geyser depends on the waiting
time before it: short waits precede short eruptions, long waits long ones,
and between the two the outcome is uncertain. This script fits a Mixture
Density Network with one Gaussian component (a heteroscedastic Gaussian
regression) and with two, compares their held-out log-likelihood, and prints
what each predicts at a few waiting times. Both use the default settings,
which hold out 10% of the training rows to stop training before the network
overfits.

Run it with ``python examples/quickstart.py``; it takes a few seconds.
"""

import numpy as np
from sklearn.model_selection import train_test_split

from skmdn import MDNRegressor
from skmdn.datasets import load_faithful

X, y = load_faithful(return_X_y=True)  # X: waiting time (min), y: duration (min)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0
)
print(f"Old Faithful: {len(y_train)} training and {len(y_test)} held-out eruptions\n")

models = {}
for n_components in (1, 2):
    model = MDNRegressor(
        n_components=n_components,
        random_state=0,
    ).fit(X_train, y_train)
    models[n_components] = model
    print(
        f"K = {n_components}: held-out mean log-likelihood "
        f"{model.score(X_test, y_test):+.3f} nats per eruption "
        f"({model.n_iter_} L-BFGS iterations)"
    )

waiting = np.array([[50.0], [62.0], [68.0], [75.0], [90.0]])
print("\nPredicted eruption duration (minutes) given the waiting time:")
print("waiting   K=1 mean +- std   K=2 mean +- std   K=2 components (weight: mean)")
mean1, std1 = models[1].predict(waiting, return_std=True)
mean2, std2 = models[2].predict(waiting, return_std=True)
dist = models[2].predict_dist(waiting)
for i, minutes in enumerate(waiting[:, 0]):
    components = ", ".join(
        f"{w:.2f}: {m:.2f}" for w, m in zip(dist.weights[i], dist.means[i, :, 0])
    )
    print(
        f"{minutes:5.0f}     {mean1[i]:5.2f} +- {std1[i]:4.2f}      "
        f"{mean2[i]:5.2f} +- {std2[i]:4.2f}      {components}"
    )
