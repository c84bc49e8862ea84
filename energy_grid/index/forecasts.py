"""A region's committed forecasts against what its meters metered, from the event index: for each
900 s interval of a time range, the band P10–P90 and the P50 of the forecast that covers it, and the
region's metered net import; and the scores ForecastLedger gave the forecasts of the range.

- A forecast is a ForecastCommitted event: the region's operator's P10, P50 and P90 of its net import
  for up to a day of intervals from its first. Two forecasts of one region may cover an interval (their
  windows overlap): the one whose window starts later, the newer forecast, is shown.
- The metered net import of an interval is the sum over the region's meters (their MeterRegistered
  region) of consumption − production of their readings in the interval (a reading at time T counts in
  interval T // 900, as SmartMeter's load profile counts it). Every meter of the region counts, also
  one registered after a forecast was committed, which its score leaves out; and readings still to
  come (up to SmartMeter's maximum reading age late) may change an interval's figure.
- A score is a ForecastScored event: of its forecast's intervals, how many the metered net import lay
  within [P10, P90] and how many above P90, and each quantile's pinball loss. An operator who inflates
  P90 to hold transformer capacity back shows as a band that holds nearly every interval with P90 far
  above the load: a high coverage, no P90 exceeded and a large P90 pinball loss.
- A period's forecasts (`period_forecasts`, what `energy-grid report` shows) are judged by
  energy_grid.forecast.metrics on the intervals with both a band and a metered net import: the share
  within the band, the share above P90, and the P50's skill over the same interval the day before.
  An interval counts as metered only once it has ended by the indexed head (one still being read
  would show as a drop in the load).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pydantic import computed_field
from sqlalchemy import select
from sqlalchemy.orm import Session

from energy_grid.contracts.forecasts import MAX_INTERVALS
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS, INTERVALS_PER_DAY
from energy_grid.forecast.metrics import FloatArray, coverage, exceeded, skill
from energy_grid.index import models as m
from energy_grid.index.analytics import interval_sums, meter_directory
from energy_grid.index.answers import Figures
from energy_grid.index.queries import head_of


class IntervalBand(Figures):
    """One interval: the forecast covering it (None where none does) and the metered net import (None
    where no meter of the region read in it), Wh."""

    interval: int  # unix s / 900
    p10_wh: int | None  # the forecast covering the interval (the newer where two do); None: none does
    p50_wh: int | None
    p90_wh: int | None
    net_import_wh: int | None  # metered; None: no meter of the region read in the interval (yet)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def start_s(self) -> int:
        return self.interval * INTERVAL_SECONDS


class Score(Figures):
    """One forecast's score, as ForecastLedger stored and emitted it."""

    first_interval: int
    interval_count: int
    covered_intervals: int  # P10 ≤ metered ≤ P90
    exceeded_p90_intervals: int  # metered > P90
    pinball_p10_wh: int  # each quantile's pinball loss summed over the window
    pinball_p50_wh: int
    pinball_p90_wh: int
    meters_tallied: int
    scorer: str
    scored_at_s: int  # the block's time


class ScoreTotals(Figures):
    """The scores of a range together: their intervals, those the band held and those above P90."""

    forecasts: int
    intervals: int
    covered_intervals: int
    exceeded_p90_intervals: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def coverage(self) -> float | None:
        """The share of the scored intervals within [P10, P90]; 0.8 for a well calibrated band."""
        return None if self.intervals == 0 else self.covered_intervals / self.intervals

    @computed_field  # type: ignore[prop-decorator]
    @property
    def exceeded_p90_share(self) -> float | None:
        """The share of the scored intervals above P90; 0.1 for a well calibrated P90."""
        return None if self.intervals == 0 else self.exceeded_p90_intervals / self.intervals

    @classmethod
    def of(cls, scores: list[Score]) -> ScoreTotals:
        return cls(
            forecasts=len(scores),
            intervals=sum(s.interval_count for s in scores),
            covered_intervals=sum(s.covered_intervals for s in scores),
            exceeded_p90_intervals=sum(s.exceeded_p90_intervals for s in scores),
        )


@dataclass(frozen=True)
class ForecastView:
    """Region `region_id`'s intervals from `first_interval` to `last_interval` (both included) and the
    scores of its forecasts whose window overlaps them; `regions`: every region with a forecast."""

    region_id: int | None
    regions: list[int]
    first_interval: int
    last_interval: int
    intervals: list[IntervalBand]
    scores: list[Score]

    @property
    def totals(self) -> ScoreTotals:
        return ScoreTotals.of(self.scores)


def forecast_regions(session: Session) -> list[int]:
    """The regions with a committed forecast, lowest first."""
    c = m.ForecastCommitted
    return [int(region) for region in session.scalars(select(c.region_id).distinct().order_by(c.region_id))]


def forecast_view(session: Session, region_id: int | None, from_s: int, to_s: int) -> ForecastView:
    """The intervals from the one holding `from_s` to the one holding `to_s` of `region_id`, by
    default the lowest region with a forecast (with none, no region and no intervals)."""
    regions = forecast_regions(session)
    first, last = from_s // INTERVAL_SECONDS, to_s // INTERVAL_SECONDS
    region = region_id if region_id is not None else (regions[0] if regions else None)
    if region is None:
        return ForecastView(None, regions, first, last, [], [])
    bands = _bands(session, region, first, last)
    metered = _net_import(session, region, first, last)
    intervals = []
    for k in range(first, last + 1):
        p10_wh, p50_wh, p90_wh = bands.get(k, (None, None, None))
        intervals.append(IntervalBand(interval=k, p10_wh=p10_wh, p50_wh=p50_wh, p90_wh=p90_wh, net_import_wh=metered.get(k)))
    return ForecastView(region, regions, first, last, intervals, _scores(session, region, first, last))


@dataclass(frozen=True)
class ForecastFigures:
    """How a region's forecasts of a period did against its meters, on the `judged_intervals` that
    have both a band and a metered net import (the shares and the skill None where none has, the skill
    also where no such interval was metered the day before, or the day before was exactly right)."""

    banded_intervals: int  # the period's intervals a forecast covers
    judged_intervals: int
    coverage: float | None  # the share within [P10, P90]
    exceeded_p90: float | None  # the share above P90
    skill: float | None  # the P50's, over the same interval the day before
    p50_wh: int  # the judged intervals' P50s together
    net_import_wh: int  # and what was metered in them
    highest_p90_wh: int | None  # of the banded intervals
    highest_net_import_wh: int | None  # of the judged intervals


@dataclass(frozen=True)
class PeriodForecast:
    """Region `region_id`'s intervals of a period (each with the newer forecast covering it, as
    `forecast_view` shows them) and the net import its meters metered in the same interval a day
    earlier (None where none read)."""

    region_id: int
    intervals: list[IntervalBand]
    day_before_wh: list[int | None]

    def figures(self) -> ForecastFigures:
        def values(wh: list[int | None]) -> FloatArray:
            return np.array([np.nan if v is None else v for v in wh], dtype=np.float64)

        def judged_by(metric: Callable[..., float], *forecasts: list[int | None]) -> float | None:
            try:
                return metric(values([i.net_import_wh for i in self.intervals]), *(values(f) for f in forecasts))
            except ValueError:  # nothing to judge on, or a day before that was exactly right
                return None

        p10, p50, p90 = ([getattr(i, name) for i in self.intervals] for name in ("p10_wh", "p50_wh", "p90_wh"))
        banded_p90 = [p90_wh for p90_wh in p90 if p90_wh is not None]
        judged = [(i.p50_wh, i.net_import_wh) for i in self.intervals if i.p50_wh is not None and i.net_import_wh is not None]
        return ForecastFigures(
            banded_intervals=len(banded_p90),
            judged_intervals=len(judged),
            coverage=judged_by(coverage, p10, p90),
            exceeded_p90=judged_by(exceeded, p90),
            skill=judged_by(skill, p50, self.day_before_wh),
            p50_wh=sum(p50_wh for p50_wh, _ in judged),
            net_import_wh=sum(net_wh for _, net_wh in judged),
            highest_p90_wh=max(banded_p90, default=None),
            highest_net_import_wh=max((net_wh for _, net_wh in judged), default=None),
        )


def period_forecasts(session: Session, from_s: int, to_s: int, owner: str | None = None) -> list[PeriodForecast]:
    """Each region with a committed forecast covering an interval from the one holding `from_s` to the
    one holding `to_s`, lowest first: every such region, or only those of `owner`'s meters. Metered
    figures only of intervals ended by the indexed head."""
    regions = forecast_regions(session)
    if owner is not None:
        meters = meter_directory(session)
        owned = {meters.region[meter] for meter in meters.of(owner)}
        regions = [region for region in regions if region in owned]
    head_s = head_of(session).time_s()
    periods = []
    for region in regions:
        # A day more in front: the reference each interval's P50 is judged against.
        view = forecast_view(session, region, from_s - DAY_SECONDS, to_s)
        intervals = [
            i if (i.interval + 1) * INTERVAL_SECONDS <= head_s else i.model_copy(update={"net_import_wh": None}) for i in view.intervals
        ]
        period = intervals[INTERVALS_PER_DAY:]
        if any(i.p50_wh is not None for i in period):
            periods.append(PeriodForecast(region, period, [i.net_import_wh for i in intervals[: len(period)]]))
    return periods


def _bands(session: Session, region_id: int, first: int, last: int) -> dict[int, tuple[int, int, int]]:
    """(P10, P50, P90) per interval of `first`..`last` that a forecast of the region covers."""
    c = m.ForecastCommitted
    # A window is at most MAX_INTERVALS long: a forecast starting earlier cannot reach `first`.
    overlapping = (
        select(c)
        .where(c.region_id == region_id, c.first_interval > first - MAX_INTERVALS, c.first_interval <= last)
        .order_by(c.first_interval)
    )
    bands: dict[int, tuple[int, int, int]] = {}
    for forecast in session.scalars(overlapping):
        # Later windows overwrite earlier ones: the newer forecast of an interval is the one shown.
        for offset, quantiles in enumerate(zip(forecast.p10_wh, forecast.p50_wh, forecast.p90_wh, strict=True)):
            interval = forecast.first_interval + offset
            if first <= interval <= last:
                bands[interval] = (int(quantiles[0]), int(quantiles[1]), int(quantiles[2]))
    return bands


def _net_import(session: Session, region_id: int, first: int, last: int) -> dict[int, int]:
    """The region's metered net import (consumption − production) per interval read in, Wh."""
    region_meters = select(m.MeterRegistered.meter).where(m.MeterRegistered.region_id == region_id)
    sums = interval_sums(session, first * INTERVAL_SECONDS, (last + 1) * INTERVAL_SECONDS - 1, region_meters)
    return {start_s // INTERVAL_SECONDS: import_wh - export_wh for start_s, (import_wh, export_wh) in sums.items()}


def _scores(session: Session, region_id: int, first: int, last: int) -> list[Score]:
    """The scores of the region's forecasts whose window overlaps `first`..`last`, oldest window first."""
    s = m.ForecastScored
    query = select(s).where(s.region_id == region_id, s.first_interval > first - MAX_INTERVALS, s.first_interval <= last)
    scores = []
    for row in session.scalars(query.order_by(s.first_interval)):
        if row.first_interval + row.interval_count <= first:
            continue
        scores.append(
            Score(
                first_interval=row.first_interval, interval_count=row.interval_count, covered_intervals=row.covered_intervals,
                exceeded_p90_intervals=row.exceeded_p90_intervals, pinball_p10_wh=row.pinball_p10_wh,
                pinball_p50_wh=row.pinball_p50_wh, pinball_p90_wh=row.pinball_p90_wh, meters_tallied=row.meters_tallied,
                scorer=row.scorer, scored_at_s=row.timestamp_s,
            )
        )
    return scores


__all__ = [
    "ForecastFigures",
    "ForecastView",
    "IntervalBand",
    "PeriodForecast",
    "Score",
    "ScoreTotals",
    "forecast_regions",
    "forecast_view",
    "period_forecasts",
]
