"""One gradient-boosted model per quantile (scikit-learn's HistGradientBoostingRegressor with the
quantile loss): each learns its quantile of the target given the features, and a forecast is their
predictions side by side, sorted so that a lower quantile is never above a higher one.

The median learns in detail; the band's ends learn coarser, in half the rounds at twice the rate on
trees of at most END_MAX_LEAF_NODES leaves. Most of a fit's time is scikit-learn setting each leaf to
its quantile, one leaf at a time, and an end's raw position matters less than the median's: the
calibration shifts it to where recent days put it (forecast.calibrate), and a tail quantile taken
over a small leaf's few values is mostly noise anyway. On the tuning community this cut the
training time by 40 %, kept every skill within 0.004 of what it was and the link limits holding
back as much capacity (docs/forecasting.md).

The models learn and predict on one thread. A forecaster shares its machine with a chain node and the
community's other services, and OpenMP's threads, one per core, each spin while they wait for the
others: on a busy two-core machine that made training ten times slower than on one thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from energy_grid.forecast.calibrate import MEDIAN

QUANTILES = (0.1, 0.5, 0.9)
MIN_TRAINING_ROWS = 96  # a day of intervals
TIE_JITTER = 1e-9
MAX_LEAF_NODES = 31  # scikit-learn's default
END_MAX_LEAF_NODES = 15
MIN_DISTINCT_VALUES = 2  # a column with fewer cannot split a tree


@dataclass
class QuantileForecaster:
    """`fit` on usable rows, then `predict` a row per interval, a column per quantile."""

    quantiles: tuple[float, ...] = QUANTILES
    # The median's rounds (the band's ends take half as many at twice the rate: the module docstring).
    # 100 rounds at 0.1 forecast as well as 200 at 0.05 in the backtest, in half the time.
    max_iter: int = 100
    learning_rate: float = 0.1
    seed: int = 0
    # With a column index: the models learn the target's departure from that feature (e.g. the mean of
    # the same time of day over the latest days), which follows a shift in level (heating as autumn
    # comes) that trees, which cannot extrapolate, would miss. Where the feature is unknown, 0.
    baseline_column: int | None = None
    # Feature columns the models never learn from (PV's reads the sun's position, not the calendar).
    ignored_columns: tuple[int, ...] = ()
    models: list[HistGradientBoostingRegressor] = field(default_factory=list, repr=False)
    # The feature columns learned from: those with at least two known values in the training rows (a
    # short history leaves some, such as the same time a week before, unknown throughout).
    columns: NDArray[np.bool_] | None = field(default=None, repr=False)

    def fit(self, features: NDArray[np.float64], target: NDArray[np.float64], usable: NDArray[np.bool_]) -> QuantileForecaster:
        """Learns from the rows where `usable` holds and the target is known; ValueError with fewer
        than a day of them."""
        if list(self.quantiles) != sorted(self.quantiles) or not all(0 < q < 1 for q in self.quantiles):
            raise ValueError(f"quantiles rise strictly between 0 and 1, not {self.quantiles}")
        rows = usable & ~np.isnan(target)
        if rows.sum() < MIN_TRAINING_ROWS:
            raise ValueError(f"{int(rows.sum())} usable intervals to learn from: at least {MIN_TRAINING_ROWS} (a day) are needed")
        learn = features[rows]
        # Ties broken by a negligible jitter (a billionth of the target's spread): scikit-learn's quantile
        # boosting stalls at its starting value when more targets than the quantile's share equal it
        # exactly (PV at night: every quantile up to the median stayed 0).
        departure = target[rows] - self._baseline(learn)
        spread = float(np.std(departure)) or 1.0
        jittered = departure + np.random.default_rng(self.seed).normal(0.0, spread * TIE_JITTER, int(rows.sum()))
        self.columns = np.array([len(np.unique(column[~np.isnan(column)])) >= MIN_DISTINCT_VALUES for column in learn.T])
        self.columns[list(self.ignored_columns)] = False
        with threadpool_limits(limits=1):
            self.models = [self._model(q).fit(learn[:, self.columns], jittered) for q in self.quantiles]
        return self

    def _model(self, quantile: float) -> HistGradientBoostingRegressor:
        """The median's model in detail, an end's coarser (the module docstring)."""
        median = quantile == MEDIAN
        return HistGradientBoostingRegressor(
            loss="quantile",
            quantile=quantile,
            max_iter=self.max_iter if median else max(1, self.max_iter // 2),
            learning_rate=self.learning_rate if median else 2 * self.learning_rate,
            max_leaf_nodes=MAX_LEAF_NODES if median else END_MAX_LEAF_NODES,
            random_state=self.seed,
        )

    def predict(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """A row per row of `features`, a column per quantile, rising along each row."""
        if not self.models or self.columns is None:
            raise ValueError("the forecaster has not learned yet: fit it first")
        known = features[:, self.columns]
        with threadpool_limits(limits=1):
            predicted = np.column_stack([model.predict(known) for model in self.models])
        predicted += self._baseline(features)[:, None]
        return np.sort(predicted, axis=1)

    def _baseline(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.baseline_column is None:
            return np.zeros(len(features))
        return np.nan_to_num(features[:, self.baseline_column])
