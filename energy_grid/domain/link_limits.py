"""The operator's link limits: how much the coupled market may move through a feeder's transformer in
each interval of a day (MarketZones.setLinkLimits, both directions alike).

The rule: in each interval, the headroom the transformer's forecast loading leaves, rating × (1 −
forecast loading), rounded down to LIMIT_STEP_KW (so that whole runs of intervals share one
transaction), never below zero. The forecast loading is a `LoadingForecast`
(demand_response.day_loading_forecast): the region's committed forecast when there is one, else the
cautious rule over the baseline days. The simulation's operators set their feeders' limits by it and
its flexible load forecasts its zone's tariff by it; the live forecaster sets the limits of each
day it forecasts by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from energy_grid.domain.demand_response import LoadingForecast
from energy_grid.domain.units import PER_MILLE

LIMIT_STEP_KW = 5  # the operator's limits move in 5 kW steps


def headroom_kw(forecast: LoadingForecast, rating_kw: int) -> list[int]:
    """The headroom in each interval of the forecast: rating × (1 − forecast loading), rounded down to
    LIMIT_STEP_KW, 0 where the forecast reaches the rating."""
    return [
        rating_kw * max(0, PER_MILLE - loading) // PER_MILLE // LIMIT_STEP_KW * LIMIT_STEP_KW
        for loading in forecast.loading_per_mille
    ]


def limit_runs(first_period: int, limits_kw: Sequence[int | None], max_periods: int) -> list[tuple[int, int, int]]:
    """Runs of consecutive periods with equal limits, as (first period, period count, limit kW), each of
    at most `max_periods` periods; `limits_kw[i]` is the limit of period `first_period` + i, None for a
    period to leave as it is (which ends a run)."""
    runs: list[tuple[int, int, int]] = []
    period = first_period
    for limit, group in groupby(limits_kw):
        count = len(list(group))
        if limit is not None:
            runs += [(start, min(max_periods, period + count - start), limit) for start in range(period, period + count, max_periods)]
        period += count
    return runs


__all__ = ["LIMIT_STEP_KW", "headroom_kw", "limit_runs"]
