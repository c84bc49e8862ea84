"""The operator's forecasting service: each feeder's net import for the next day as calibrated
quantiles (P10, P50, P90), committed in ForecastLedger before the market's gate and scored there
once the meters have metered the day.

Each round, for each region it forecasts:

1. History. The region's net import per interval, Wh (its meters' load profiles, RegionMeters),
   read a day at a time once the day has ended and kept; the current day's intervals are read as
   they end. A day is local to the deployment's zone (PriceDiscovery.utcOffsetMinutes).
2. Forecast. From 12:00 of the day before, while the gate of the day's first interval is open and
   the region has no forecast of the day in ForecastLedger: the region's model (trained again when
   it is `retrain_days` old by the chain's clock) forecasts the day's 96 intervals from the history,
   the calendar, the holidays and the weather forecast, calibrated on the days before
   (energy_grid.forecast.day_ahead); the region's operator commits it. With too little history to
   learn from there is no forecast (skipped as `short_history`), and the demand-response planner
   falls back on its rule. A service down until the gate closed skips the day (`missed`).
3. Link limits. When the region is a zone of the coupled market (MarketZones), right after the
   day's forecast is committed (by this round or found in the ledger), the region's operator sets
   its link's limits for the day's 96 periods, import and export alike: the headroom the forecast
   loading leaves the transformer (domain.link_limits.headroom_kw: rating × (1 − the loading bound
   against the rating), in 5 kW steps). The bound is the larger magnitude of P10 and P90 widened by
   the margin the forecast's calibration called for, so that it holds 9 intervals in 10 (its
   calibration days' loading beyond the band, energy_grid.forecast.day_ahead; a restarted service
   works it out again with the model it has). The rating is the capacity of the region's
   latest load report (GridOperations). A day that gets no forecast (`short_history`, or `missed`)
   takes the cautious rule instead: each time of day's highest loading over the five whole days
   before the round's day (DemandResponse's baseline days); when no meter of the region read in
   those days, or the region has no load report, nothing is set. The limits in force are read first
   (linkLimitsKW, capped by the zone's rating for the period) and only the periods still unlimited
   (at the rating) that the rule limits below it are sent, in runs of equal limits (one
   setLinkLimits each), leaving out the periods whose gate has closed. A period already limited,
   by an earlier round or by the operator's own hand, is left as it is, so a service killed midway
   sends only the rest. A refusal is logged with its reason and counted as `refused`; the round goes on.
4. Scoring. Each of the region's forecasts of the last SCORED_DAYS days that is not scored yet, once
   its window has ended: its meters are tallied (MAX_TALLY_BATCH a call, those not tallied yet), then
   it is scored. The ledger refuses while a meter's readings of the window may still come, and the
   next round tries again.

Metrics, per region, over the forecasts scored in the last SCORED_DAYS days:
`energy_grid_forecaster_band_coverage` (the share of intervals within [P10, P90]),
`energy_grid_forecaster_p90_exceeded`, `energy_grid_forecaster_pinball_wh{quantile}` (the mean
pinball loss per interval, from the ledger's scores), and `energy_grid_forecaster_skill` (the P50's
skill over the same interval the day before, on the meters' tally). And
`energy_grid_forecaster_link_limit_days_total{region,source}`: the days whose link limits the
service settled, by the forecast they came from (`committed` or `cautious`).

Whether a day was forecast, tallied or scored, and which link limits are in force, is read from the
chain, never only remembered, so a restarted service sends nothing twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import get_args

import numpy as np
from eth_account.signers.local import LocalAccount
from numpy.typing import NDArray

from energy_grid.chain.client import GridClient, GridError
from energy_grid.chain.sender import TransactionSender, prepare
from energy_grid.contracts.forecasts import MAX_TALLY_BATCH, QuantileForecast
from energy_grid.contracts.structs import ForecastScore
from energy_grid.contracts.zones import MAX_LIMIT_PERIODS
from energy_grid.domain.demand_response import BASELINE_DAYS, ForecastSource, day_loading_forecast
from energy_grid.domain.link_limits import headroom_kw, limit_runs
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS, INTERVALS_PER_DAY, interval_of
from energy_grid.forecast.day_ahead import ISSUE_INTERVAL, TooLittleHistoryError, days, forecast_day
from energy_grid.forecast.metrics import skill
from energy_grid.forecast.model import QUANTILES, QuantileForecaster
from energy_grid.services.reporters.region import RatingUnknownError, RegionMeters, transformer_rating_kva
from energy_grid.services.reporters.schedule import interval_label
from energy_grid.services.reporters.service import ReportingService
from energy_grid.services.runtime import ChainHead

FloatArray = NDArray[np.float64]
# The weather forecast of each interval starting at the given unix seconds: a model's columns.
WeatherSource = Callable[[NDArray[np.int64]], Mapping[str, FloatArray]]

KINDS = ("forecast", "link_limits", "tally", "score")
DEFAULT_RETRAIN_DAYS = 7
SCORED_DAYS = 14  # how far back forecasts are scored, and the metrics' window
# The meters' load profiles keep 35 days on chain (SmartMeter's PROFILE_CAPACITY): the history the
# service reads, the day forecast included, so a model learns from about three weeks and is calibrated
# on the days after them.
HISTORY_DAYS = 34
SECONDS_PER_MINUTE = 60


@dataclass
class _Region:
    """What the service keeps of one region: its meters, its history by local day, its model."""

    meters: RegionMeters
    history: dict[int, FloatArray]  # local day number → net import per interval, Wh (NaN: no meter read)
    model: QuantileForecaster | None = None
    trained_day: int = -1
    # Local day number → the loading margin of each interval (Wh) its forecast's calibration called for.
    margins: dict[int, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class DayForecast:
    """A day's forecast and its calibration's loading margin per interval, Wh (forecast.day_ahead)."""

    forecast: QuantileForecast
    loading_margin_wh: tuple[int, ...]


class Forecaster(ReportingService):
    """Forecasts, commits and scores each given region's next day, signed by the region's operator."""

    def __init__(
        self,
        client: GridClient,
        operators: Mapping[int, LocalAccount],
        *,
        weather: WeatherSource | None = None,
        holidays: Collection[date] = (),
        retrain_days: int = DEFAULT_RETRAIN_DAYS,
        forecaster: QuantileForecaster | None = None,
        from_block: int = 0,
    ) -> None:
        if not operators:
            raise ValueError("the forecaster needs at least one region and its operator")
        super().__init__("forecaster", client, next(iter(operators.values())), KINDS)
        self.skipped.labels(reason="short_history")
        ledger = client.forecast_ledger
        if ledger is None:
            raise GridError("the deployment has no ForecastLedger to commit forecasts to")
        self.ledger = ledger
        self.operators = dict(operators)
        self.weather = weather
        self.holidays = tuple(holidays)
        self.retrain_days = retrain_days
        self.template = forecaster or QuantileForecaster()
        self.utc_offset_s = int(client["PriceDiscovery"].functions.utcOffsetMinutes().call()) * SECONDS_PER_MINUTE
        self.regions = {region: _Region(RegionMeters(client, region, from_block=from_block), {}) for region in operators}
        self._missed: set[tuple[int, int]] = set()
        # A score, and a day whose gate closed without a forecast, cannot change: kept, so that a round
        # reads the ledger only for the days still open (the chain may be polled every second).
        self._scored: dict[tuple[int, int], tuple[int, QuantileForecast, ForecastScore]] = {}
        self._never_committed: set[tuple[int, int]] = set()
        self._committed: set[tuple[int, int]] = set()
        self._limited: set[tuple[int, int]] = set()  # (region, day) whose link limits are settled
        self.zones = client.market_zones
        if self.zones is not None and self.zones.period_length() != INTERVAL_SECONDS:
            self.log.warning("MarketZones' periods are not the forecast's intervals: no link limits are set")
            self.zones = None
        self._reader = TransactionSender(client, manual_mining=False)
        self.limit_days = self.metrics.counter(
            "link_limit_days", "Days whose link limits were settled, by the forecast they came from.", ["region", "source"]
        )
        for region_id in operators:
            for source in get_args(ForecastSource):
                self.limit_days.labels(region=str(region_id), source=source)
        self.coverage = self.metrics.gauge("band_coverage", "Share of intervals within [P10, P90], scored forecasts.", ["region"])
        self.exceeded = self.metrics.gauge("p90_exceeded", "Share of intervals above P90, scored forecasts.", ["region"])
        self.pinball = self.metrics.gauge("pinball_wh", "Mean pinball loss per interval, Wh, scored forecasts.", ["region", "quantile"])
        self.skill = self.metrics.gauge("skill", "The P50's skill over the same interval the day before.", ["region"])

    # -------------------------------------------------------------------- a round

    def run_round(self, head: ChainHead) -> None:
        now_s = head.timestamp_s
        today = self.local_day(now_s)
        self._missed = {key for key in self._missed if key[1] > today}
        self._committed = {key for key in self._committed if key[1] > today}
        self._limited = {key for key in self._limited if key[1] > today}
        for region_id, region in self.regions.items():
            region.meters.refresh()
            self._forecast_if_due(region_id, region, today + 1, now_s)
            self._limit_links_if_due(region_id, region, today + 1, now_s)
            self._score_ended(region_id, region, today, now_s)

    def local_day(self, timestamp_s: int) -> int:
        """The deployment's local day number (days since 1970 in its zone) at `timestamp_s`."""
        return (timestamp_s + self.utc_offset_s) // DAY_SECONDS

    def day_start_s(self, day: int) -> int:
        return day * DAY_SECONDS - self.utc_offset_s

    # -------------------------------------------------------------------- forecasting

    def issue_s(self, day: int) -> int:
        """When local day `day`'s forecast is made: 12:00 the day before."""
        return self.day_start_s(day) - (INTERVALS_PER_DAY - ISSUE_INTERVAL) * INTERVAL_SECONDS

    def _forecast_if_due(self, region_id: int, region: _Region, day: int, now_s: int) -> None:
        first_interval = interval_of(self.day_start_s(day))
        if now_s < self.issue_s(day) or (region_id, day) in self._missed or (region_id, day) in self._committed:
            return
        if self.ledger.committed_forecast(region_id, first_interval) is not None:
            self._committed.add((region_id, day))
            return
        if now_s >= self.ledger.gate_closure_time(first_interval):
            self._missed.add((region_id, day))
            self.skip("missed", f"region {region_id}'s forecast of {interval_label(first_interval)}: its gate closed first")
            return
        made = self.forecast_day(region_id, region, day)
        if made is None:
            self._missed.add((region_id, day))
            what = f"region {region_id}'s forecast of {interval_label(first_interval)}"
            self.skip("short_history", f"{what}: too little history to learn from")
            return
        forecast = made.forecast
        call = self.client["ForecastLedger"].functions.commitForecast(region_id, first_interval, *forecast.vectors())
        self.send(
            f"region {region_id}'s forecast of {interval_label(first_interval)} (P90 peak {max(forecast.p90_wh)} Wh an interval)",
            "forecast",
            call,
            self.operators[region_id],
        )

    def forecast_day(self, region_id: int, region: _Region, day: int) -> DayForecast | None:
        """The region's calibrated forecast of local day `day`, as known at 12:00 the day before
        (energy_grid.forecast.day_ahead.forecast_day); None with too little history."""
        first_day = day - HISTORY_DAYS + 1
        values = self._series(region, first_day, day)
        weather = None
        if self.weather is not None:
            weather = dict(self.weather(self.day_start_s(first_day) + np.arange(len(values), dtype=np.int64) * INTERVAL_SECONDS))
        fresh = region.model is not None and day - region.trained_day < self.retrain_days
        try:
            # The calendar in local time: the series' day 0 starts at a local midnight.
            made = forecast_day(values, day - first_day, first_day * DAY_SECONDS, self.template, holidays=self.holidays,
                                weather=weather, model=region.model if fresh else None)  # fmt: skip
        except TooLittleHistoryError as too_little:
            self.log.info("region %d: %s", region_id, too_little)
            return None
        if made.model is not region.model:
            region.model, region.trained_day = made.model, day
        rounded = np.rint(made.quantiles).astype(np.int64)  # rounding keeps each row's order
        first_interval = interval_of(self.day_start_s(day))
        forecast = QuantileForecast(region_id, first_interval, *(tuple(int(wh) for wh in rounded[:, q]) for q in range(len(QUANTILES))))
        margins = tuple(int(np.ceil(margin)) for margin in made.calibration.margin_per_interval())
        region.margins = {d: m for d, m in region.margins.items() if d >= day - 1} | {day: margins}
        return DayForecast(forecast, margins)

    def _series(self, region: _Region, first_day: int, day: int) -> FloatArray:
        """Net import per interval from local day `first_day` through `day`: whole days before
        `day` − 1, the morning of `day` − 1 up to 12:00, NaN for the rest."""
        out = np.full((day - first_day + 1) * INTERVALS_PER_DAY, np.nan)
        for d in range(first_day, day - 1):
            out[days(d - first_day, d - first_day + 1)] = self._day(region, d)
        morning = self._read(region, interval_of(self.day_start_s(day - 1)), ISSUE_INTERVAL)
        start = (day - 1 - first_day) * INTERVALS_PER_DAY
        out[start : start + ISSUE_INTERVAL] = morning
        return out

    def _day(self, region: _Region, day: int) -> FloatArray:
        """A whole local day's net import, read once and kept (the last HISTORY_DAYS days)."""
        if day not in region.history:
            region.history[day] = self._read(region, interval_of(self.day_start_s(day)), INTERVALS_PER_DAY)
            for old in [d for d in region.history if d < day - HISTORY_DAYS]:
                del region.history[old]
        return region.history[day]

    def _read(self, region: _Region, first_interval: int, count: int) -> FloatArray:
        pages = region.meters.history(first_interval, count)
        net = np.full(count, np.nan)
        for page in pages:
            for k, entry in enumerate(page):
                if entry.has_reading:
                    net[k] = (0.0 if np.isnan(net[k]) else net[k]) + entry.consumption_wh - entry.production_wh
        return net

    # -------------------------------------------------------------------- link limits

    def _limit_links_if_due(self, region_id: int, region: _Region, day: int, now_s: int) -> None:
        """Sets the region's link limits for local day `day` once its forecast is committed, or known
        not to come (the module docstring)."""
        key = (region_id, day)
        if self.zones is None or key in self._limited or now_s < self.issue_s(day):
            return
        first_interval = interval_of(self.day_start_s(day))
        committed = self.ledger.committed_forecast(region_id, first_interval)
        if committed is None and key not in self._missed:
            return  # the day's forecast is still to come
        self._limit_links(region_id, region, day, committed, now_s)
        self._limited.add(key)

    def _limit_links(self, region_id: int, region: _Region, day: int, committed: QuantileForecast | None, now_s: int) -> None:
        """Sets the region's link limits for local day `day` from `committed`, else by the cautious rule."""
        assert self.zones is not None
        first_interval = interval_of(self.day_start_s(day))
        what = f"region {region_id}'s link limits of the day from {interval_label(first_interval)}"
        if self.zones.zone_of(region_id) == 0:
            self.log.debug("%s: the region is no zone of the market, nothing to limit", what)
            return
        try:
            rating_kva = transformer_rating_kva(self.client, region_id, None)
        except RatingUnknownError:
            self.log.info("%s not set: the region has no load report to take its transformer's rating from", what)
            return
        if committed is not None:
            margin_wh = self._loading_margin_wh(region_id, region, day)
            loading = day_loading_forecast([], (committed.p10_wh, committed.p90_wh), rating_kva, margin_wh)
        elif all(np.isnan(self._day(region, d)).all() for d in range(day - 1 - BASELINE_DAYS, day - 1)):
            self.log.info("%s not set: no forecast committed, and no meter of the region read in the %d days before", what, BASELINE_DAYS)
            return
        else:
            # The cautious rule's days: the five whole days before the round's day (`day` − 1).
            baseline = region.meters.baseline_loading_per_mille(interval_of(self.day_start_s(day - 1)), rating_kva)
            loading = day_loading_forecast(baseline, None, rating_kva)
        runs = self._send_limits(region_id, first_interval, headroom_kw(loading, rating_kva), now_s, loading.source)
        self.log.info("%s by the %s forecast against %d kVA: %d runs not in force sent", what, loading.source, rating_kva, runs)
        self.limit_days.labels(region=str(region_id), source=loading.source).inc()

    def _loading_margin_wh(self, region_id: int, region: _Region, day: int) -> tuple[int, ...] | None:
        """The loading margin the calibration of day `day`'s forecast called for: kept from its
        forecast, or worked out again (a restarted service learns the same model, forecast_day); None
        when it cannot be (the band's worst loading is then the bound)."""
        if day not in region.margins:
            self.forecast_day(region_id, region, day)
        return region.margins.get(day)

    def _send_limits(self, region_id: int, first_period: int, limits_kw: list[int], now_s: int, source: ForecastSource) -> int:
        """Sends the limits of the periods whose gate is open and that are still unlimited, in runs;
        returns the number of runs."""
        assert self.zones is not None
        contract = self.client["MarketZones"]
        periods = range(first_period, first_period + len(limits_kw))
        reads = self._reader.read([prepare(contract, name, region_id, p) for name in ("linkLimitsKW", "ratingKW") for p in periods])
        in_force, ratings = reads[: len(periods)], reads[len(periods) :]
        gate_s = self.zones.gate_closure()
        wanted: list[int | None] = []  # None: the period is left as it is
        for period, limit, (import_kw, export_kw), rating_kw in zip(periods, limits_kw, in_force, ratings, strict=True):
            is_open = period * INTERVAL_SECONDS - gate_s > now_s
            unlimited = int(import_kw) == int(export_kw) == int(rating_kw)  # the rating caps every limit
            wanted.append(limit if is_open and unlimited and limit < int(rating_kw) else None)
        runs = limit_runs(first_period, wanted, MAX_LIMIT_PERIODS)
        for first, count, limit in runs:
            call = self.zones.calls.set_link_limits(self.operators[region_id], region_id, first, count, limit, limit)
            what = f"region {region_id}'s link limit of {limit} kW either way in {count} periods from {interval_label(first)} ({source})"
            self.send(what, "link_limits", call, self.operators[region_id])
        return len(runs)

    # -------------------------------------------------------------------- scoring

    def _score_ended(self, region_id: int, region: _Region, today: int, now_s: int) -> None:
        scores: list[tuple[int, QuantileForecast, ForecastScore]] = []
        for day in range(today - SCORED_DAYS, today):
            first_interval = interval_of(self.day_start_s(day))
            key = (region_id, first_interval)
            if key in self._scored:
                scores.append(self._scored[key])
                continue
            if key in self._never_committed:
                continue
            forecast = self.ledger.committed_forecast(region_id, first_interval)
            if forecast is None:
                if now_s >= self.ledger.gate_closure_time(first_interval):
                    self._never_committed.add(key)  # no forecast can come for it any more
                continue
            kept = self.ledger.get_forecast(region_id, first_interval)
            if not kept.scored:
                self._tally(region_id, region, forecast, kept.meter_count, now_s)
                kept = self.ledger.get_forecast(region_id, first_interval)
                if kept.meters_tallied < kept.meter_count:
                    continue
                score = self.send(f"the score of region {region_id}'s forecast of {interval_label(first_interval)}", "score",
                                  self.client["ForecastLedger"].functions.scoreForecast(region_id, first_interval, *forecast.vectors()),
                                  self.operators[region_id])  # fmt: skip
                if score is None:
                    continue
            self._scored[key] = (day, forecast, self.ledger.get_score(region_id, first_interval))
            scores.append(self._scored[key])
        oldest = interval_of(self.day_start_s(today - SCORED_DAYS))
        self._scored = {k: v for k, v in self._scored.items() if k[1] >= oldest}
        self._never_committed = {k for k in self._never_committed if k[1] >= oldest}
        self._observe(region_id, region, scores)

    def _tally(self, region_id: int, region: _Region, forecast: QuantileForecast, meter_count: int, now_s: int) -> None:
        """Tallies the region's meters of the forecast whose readings of its window are final: those
        that read in its last second or later, and, once no reading can land in it any more (the
        registry's maxReadingAge after its end), the rest. Only the `meter_count` meters the region had
        at commitment count (registered in order)."""
        end_s = (forecast.first_interval + forecast.interval_count) * INTERVAL_SECONDS
        if now_s < end_s:
            return
        at_commitment = region.meters.meters[:meter_count]
        final_by_age = now_s >= end_s + int(self.client["SmartMeter"].functions.maxReadingAge().call())
        last_interval = forecast.first_interval + forecast.interval_count - 1
        done = set(at_commitment) if final_by_age else set(region.meters.read_through(last_interval)[0])
        pending = [
            m for m in at_commitment if m in done and not self.ledger.is_meter_tallied(region_id, forecast.first_interval, m)
        ]
        for batch in range(0, len(pending), MAX_TALLY_BATCH):
            meters = pending[batch : batch + MAX_TALLY_BATCH]
            call = self.client["ForecastLedger"].functions.tallyMeters(region_id, forecast.first_interval, meters)
            what = f"a tally of {len(meters)} meters for region {region_id}'s forecast of {interval_label(forecast.first_interval)}"
            if self.send(what, "tally", call, self.operators[region_id]) is None:
                return

    def _observe(self, region_id: int, region: _Region, scores: list[tuple[int, QuantileForecast, ForecastScore]]) -> None:
        if not scores:
            return
        label = str(region_id)
        intervals = sum(score.interval_count for _, _, score in scores)
        self.coverage.labels(region=label).set(sum(score.covered_intervals for _, _, score in scores) / intervals)
        self.exceeded.labels(region=label).set(sum(score.exceeded_p90_intervals for _, _, score in scores) / intervals)
        for name in ("p10", "p50", "p90"):
            total = sum(getattr(score, f"pinball_{name}_wh") for _, _, score in scores)
            self.pinball.labels(region=label, quantile=name).set(total / intervals)
        truth = np.concatenate([self._day(region, day) for day, _, _ in scores])
        median = np.concatenate([np.asarray(forecast.p50_wh, dtype=np.float64) for _, forecast, _ in scores])
        before = np.concatenate([self._day(region, day - 1) for day, _, _ in scores])
        with contextlib.suppress(ValueError):  # no interval read on both days, or a perfect reference
            self.skill.labels(region=label).set(skill(truth, median, before))


__all__ = ["Forecaster", "WeatherSource"]
