"""skmdn: Mixture Density Networks as scikit-learn regressors.

:class:`MDNRegressor` fits a neural network whose outputs parameterise a
Gaussian mixture over the target, and :class:`GaussianMixtureDistribution`
contains the predicted mixtures in the original units of y. :mod:`skmdn.metrics`
scores them.
"""

from skmdn import metrics
from skmdn._distribution import GaussianMixtureDistribution
from skmdn._regressor import MDNRegressor

__version__ = "0.1.0.dev0"

__all__ = ["GaussianMixtureDistribution", "MDNRegressor", "metrics", "__version__"]
