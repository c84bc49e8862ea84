"""The operator's forecasting service: each feeder's net import for the next day as calibrated
quantiles (P10, P50, P90), committed in ForecastLedger before the market's gate and scored there
once the meters have metered the day; each feeder's net import an hour ahead, and the community's
PV production of the next day, served beside its metrics.

Each round, for each region it forecasts:

1. History. The region's net import and production per interval, Wh (its meters' load profiles, RegionMeters),
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
5. An hour ahead. Once every active meter of the region has read one interval more (a meter silent
   for more than an hour left out), the interval HOUR_AHEAD intervals after the one under way when
   it ended is forecast (P10, P50, P90, Wh) by a model learned at that lead
   (energy_grid.forecast.day_ahead.forecast_day with `lead_intervals`, trained again as the
   day-ahead one), served, and kept until it is metered and scored.

And once a day, from 12:00 of the day before: the community's PV production of the next day (what
the meters of all the service's regions metered as production) forecast with the weather forecast,
in proportion to the clear sky when the forecast gives it (energy_grid.forecast.solar), and served.
Neither the hour-ahead nor the PV forecast is committed on chain: no one else checks them. Both
are served as JSON at /forecasts beside /metrics: {"regions": {region: {"hour_ahead":
{interval_start_s, metered_through_s, p10_wh, p50_wh, p90_wh}}}, "community_pv": {day_start_s,
interval_seconds, p10_wh, p50_wh, p90_wh (a list each, one per interval)}}; a restarted service
serves them again from the next interval metered and the next 12:00.

Metrics, per region, over the forecasts scored in the last SCORED_DAYS days:
`energy_grid_forecaster_band_coverage` (the share of intervals within [P10, P90]),
`energy_grid_forecaster_p90_exceeded`, `energy_grid_forecaster_pinball_wh{quantile}` (the mean
pinball loss per interval, from the ledger's scores), and `energy_grid_forecaster_skill` (the P50's
skill over the same interval the day before, on the meters' tally). And
`energy_grid_forecaster_link_limit_days_total{region,source}`: the days whose link limits the
service settled, by the forecast they came from (`committed` or `cautious`).
`energy_grid_forecaster_hour_ahead_wh{region,quantile}` and `…_hour_ahead_interval_start_seconds`
(the latest hour-ahead forecast and the interval it is of), and `…_hour_ahead_skill` and
`…_hour_ahead_coverage` over the latest day's hour-ahead forecasts once metered. For the community's
PV, over the days forecast and metered in the last SCORED_DAYS: `…_pv_band_coverage` (daylight
intervals within [P10, P90]) and `…_pv_daily_energy_error` (Σ |a day's P50s − its metered energy|
over the metered energy).

Whether a day was forecast, tallied or scored, and which link limits are in force, is read from the
chain, never only remembered, so a restarted service sends nothing twice.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, get_args

import numpy as np
from eth_account.signers.local import LocalAccount
from numpy.typing import NDArray

from energy_grid.contracts.client import GridClient, GridError
from energy_grid.contracts.forecasts import MAX_TALLY_BATCH, QuantileForecast
from energy_grid.contracts.sender import TransactionSender, prepare
from energy_grid.contracts.structs import ForecastScore
from energy_grid.contracts.zones import MAX_LIMIT_PERIODS
from energy_grid.domain.demand_response import BASELINE_DAYS, ForecastSource, day_loading_forecast
from energy_grid.domain.link_limits import headroom_kw, limit_runs
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS, INTERVALS_PER_DAY, interval_of
from energy_grid.forecast.day_ahead import HOUR_AHEAD, ISSUE_INTERVAL, NextDay, TooLittleHistoryError, days, forecast_day
from energy_grid.forecast.metrics import coverage, daily_energy_error, skill
from energy_grid.forecast.model import QUANTILES, QuantileForecaster
from energy_grid.forecast.solar import load_weather, pv_inputs
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
NET, PRODUCTION = 0, 1  # the rows of a day's history: net import and production per interval, Wh
QUANTILE_NAMES = ("p10", "p50", "p90")


@dataclass
class _Learned:
    """A model the service keeps and the local day it learned on (−1: none yet)."""

    model: QuantileForecaster | None = None
    trained_day: int = -1


@dataclass
class _Region:
    """What the service keeps of one region: its meters, its history by local day, its model."""

    meters: RegionMeters
    # Local day number → net import and production per interval, Wh (rows NET and PRODUCTION; NaN: no meter read).
    history: dict[int, FloatArray]
    day_ahead: _Learned = field(default_factory=_Learned)
    hour_ahead_model: _Learned = field(default_factory=_Learned)  # learned at HOUR_AHEAD
    latest_metered: int = -1  # the latest interval every active meter of the region had read, last seen
    # Interval → its hour-ahead P10, P50, P90 (Wh), kept until it is metered and scored.
    hour_ahead: dict[int, tuple[float, float, float]] = field(default_factory=dict)
    # The latest day's scored hour-ahead forecasts: (truth, P10, P50, P90, the same interval the day before).
    hour_scores: deque[tuple[float, float, float, float, float]] = field(default_factory=lambda: deque(maxlen=INTERVALS_PER_DAY))
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
        self.hour_ahead = self.metrics.gauge("hour_ahead_wh", "Net import an hour ahead, Wh.", ["region", "quantile"])
        self.hour_ahead_start = self.metrics.gauge("hour_ahead_interval_start_seconds", "The interval forecast an hour ahead.", ["region"])
        self.hour_ahead_skill = self.metrics.gauge(
            "hour_ahead_skill", "The hour-ahead P50's skill over the same interval the day before, latest day.", ["region"]
        )
        self.hour_ahead_coverage = self.metrics.gauge("hour_ahead_coverage", "Share of hour-ahead forecasts within [P10, P90].", ["region"])
        self.pv_model = _Learned()
        self.pv_day = -1  # the local day community PV was last forecast for
        self.pv_forecasts: dict[int, FloatArray] = {}  # local day → its PV quantiles (an interval a row), kept until scored
        self.pv_scores: deque[tuple[FloatArray, FloatArray]] = deque(maxlen=SCORED_DAYS)  # (metered, quantiles) a day
        self.pv_coverage = self.metrics.gauge(
            "pv_band_coverage", "Share of daylight intervals within [P10, P90], the community's PV, scored days."
        )
        self.pv_energy_error = self.metrics.gauge(
            "pv_daily_energy_error", "The community's PV: Σ |a day's P50s − its metered energy| / the metered energy, scored days."
        )
        # What the service serves at /forecasts (JSON), replaced whole so that the server's thread never reads half.
        self._served: dict[str, Any] = {"regions": {}, "community_pv": None}

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
            self._forecast_hour_ahead(region_id, region, now_s)
        self._forecast_pv_if_due(today + 1, now_s)
        self._score_pv(today, now_s)

    def documents(self) -> dict[str, Callable[[], Any]]:
        return {"/forecasts": lambda: self._served}

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
        values = self._known([region], first_day, day, self._issue_interval(day) - 1)[NET]
        made = self._pipeline(values, first_day, day, region.day_ahead, f"region {region_id}'s day {day}")
        if made is None:
            return None
        rounded = np.rint(made.quantiles).astype(np.int64)  # rounding keeps each row's order
        first_interval = interval_of(self.day_start_s(day))
        forecast = QuantileForecast(region_id, first_interval, *(tuple(int(wh) for wh in rounded[:, q]) for q in range(len(QUANTILES))))
        margins = tuple(int(np.ceil(margin)) for margin in made.calibration.margin_per_interval())
        region.margins = {d: m for d, m in region.margins.items() if d >= day - 1} | {day: margins}
        return DayForecast(forecast, margins)

    def _issue_interval(self, day: int) -> int:
        return interval_of(self.issue_s(day))

    def _pipeline(
        self, values: FloatArray, first_day: int, day: int, learned: _Learned, what: str, lead: int | None = None, *, pv: bool = False
    ) -> NextDay | None:
        """Day `day` of `values` (from local day `first_day`) forecast by the pipeline with the weather
        forecast, by `learned`'s model while it is younger than `retrain_days`, else by a fresh one,
        kept in `learned`; None, logged for `what`, with too little history. A load's model reads the
        load models' weather columns; with `pv`, production is learned in proportion to the clear sky
        (energy_grid.forecast.solar)."""
        weather = None
        if self.weather is not None:
            weather = dict(self.weather(self.day_start_s(first_day) + np.arange(len(values), dtype=np.int64) * INTERVAL_SECONDS))
        template, scale = self.template, None
        if pv:
            solar = pv_inputs(weather, template)
            weather, scale, template = solar.weather, solar.scale, solar.forecaster
        else:
            weather = load_weather(weather)
        fresh = learned.model is not None and day - learned.trained_day < self.retrain_days
        try:
            # The calendar in local time: the series' day 0 starts at a local midnight.
            made = forecast_day(values, day - first_day, first_day * DAY_SECONDS, template, holidays=self.holidays, weather=weather,
                                model=learned.model if fresh else None, lead_intervals=lead, scale=scale)  # fmt: skip
        except TooLittleHistoryError as too_little:
            self.log.info("no forecast of %s: %s", what, too_little)
            return None
        if made.model is not learned.model:
            learned.model, learned.trained_day = made.model, day
        return made

    def _known(self, regions: Collection[_Region], first_day: int, last_day: int, through_interval: int) -> FloatArray:
        """The regions' net import and production together (rows NET and PRODUCTION) per interval of
        local days `first_day`..`last_day`, as metered through `through_interval`, NaN after it and
        where no meter read. Days that end by then are read once and kept; the rest is read afresh."""
        out = np.full((2, (last_day - first_day + 1) * INTERVALS_PER_DAY), np.nan)
        for region in regions:
            for d in range(first_day, last_day + 1):
                start = interval_of(self.day_start_s(d))
                count = min(INTERVALS_PER_DAY, through_interval - start + 1)
                if count <= 0:
                    break
                profile = self._day(region, d) if count == INTERVALS_PER_DAY else self._read(region, start, count)
                at = days(d - first_day, d - first_day + 1).start
                part = out[:, at : at + count]
                out[:, at : at + count] = np.where(np.isnan(part), profile, np.where(np.isnan(profile), part, part + profile))
        return out

    def _day(self, region: _Region, day: int) -> FloatArray:
        """A whole local day's net import and production, read once and kept (the last HISTORY_DAYS days)."""
        if day not in region.history:
            region.history[day] = self._read(region, interval_of(self.day_start_s(day)), INTERVALS_PER_DAY)
            for old in [d for d in region.history if d < day - HISTORY_DAYS]:
                del region.history[old]
        return region.history[day]

    def _read(self, region: _Region, first_interval: int, count: int) -> FloatArray:
        pages = region.meters.history(first_interval, count)
        out = np.full((2, count), np.nan)
        for page in pages:
            for k, entry in enumerate(page):
                if entry.has_reading:
                    metered = np.array([entry.consumption_wh - entry.production_wh, entry.production_wh], dtype=np.float64)
                    out[:, k] = metered if np.isnan(out[0, k]) else out[:, k] + metered
        return out

    # -------------------------------------------------------------------- an hour ahead, community PV

    def _forecast_hour_ahead(self, region_id: int, region: _Region, now_s: int) -> None:
        """Once an interval more is metered by every active meter of the region: the interval an
        hour after it (HOUR_AHEAD intervals after the one under way when it ended) forecast, served
        and kept to be scored; the forecasts of the intervals now metered scored."""
        latest = self._latest_metered(region, now_s)
        if latest is None or latest <= region.latest_metered:
            return
        target = latest + 1 + HOUR_AHEAD
        day = self.local_day(target * INTERVAL_SECONDS)
        first_day = day - HISTORY_DAYS + 1
        values = self._known([region], first_day, day, latest)[NET]
        first_interval = interval_of(self.day_start_s(first_day))
        self._score_hour_ahead(region_id, region, values, first_interval, latest)
        made = self._pipeline(values, first_day, day, region.hour_ahead_model, f"region {region_id} an hour ahead", lead=HOUR_AHEAD)
        region.latest_metered = latest  # only now: a round that failed before here tries again
        if made is None:
            return
        low, median, high = (float(q) for q in made.quantiles[target - interval_of(self.day_start_s(day))])
        region.hour_ahead[target] = (low, median, high)
        label = str(region_id)
        for name, wh in zip(QUANTILE_NAMES, (low, median, high), strict=True):
            self.hour_ahead.labels(region=label, quantile=name).set(wh)
        self.hour_ahead_start.labels(region=label).set(target * INTERVAL_SECONDS)
        served = {"interval_start_s": target * INTERVAL_SECONDS, "metered_through_s": (latest + 1) * INTERVAL_SECONDS}
        regions = self._served["regions"] | {label: {"hour_ahead": served | _quantiles_wh((low, median, high))}}
        self._served = self._served | {"regions": regions}

    def _latest_metered(self, region: _Region, now_s: int) -> int | None:
        """The latest interval every active meter of the region has read (RegionMeters.metered_through),
        a meter silent for more than an hour left out so that it holds the forecasts back no longer."""
        if interval_of(now_s) - 1 <= region.latest_metered:
            return region.latest_metered  # nothing more can be metered yet
        return region.meters.metered_through(now_s, HOUR_AHEAD * INTERVAL_SECONDS)

    def _score_hour_ahead(self, region_id: int, region: _Region, values: FloatArray, first_interval: int, latest: int) -> None:
        """The kept hour-ahead forecasts of intervals metered through `latest` scored against what
        came (`values`, from `first_interval`), against the same interval the day before."""
        for target in sorted(t for t in region.hour_ahead if t <= latest):
            low, median, high = region.hour_ahead.pop(target)
            at = target - first_interval
            if at >= INTERVALS_PER_DAY and not np.isnan(values[at]) and not np.isnan(values[at - INTERVALS_PER_DAY]):
                region.hour_scores.append((float(values[at]), low, median, high, float(values[at - INTERVALS_PER_DAY])))
        if not region.hour_scores:
            return
        truth, low_q, median_q, high_q, before = (np.array(column) for column in zip(*region.hour_scores, strict=True))
        label = str(region_id)
        self.hour_ahead_coverage.labels(region=label).set(coverage(truth, low_q, high_q))
        with contextlib.suppress(ValueError):  # a perfect reference
            self.hour_ahead_skill.labels(region=label).set(skill(truth, median_q, before))

    def _forecast_pv_if_due(self, day: int, now_s: int) -> None:
        """From 12:00 of the day before, once: the community's PV production of local day `day` (the
        production its meters metered, every region's together) forecast and served; nothing on chain."""
        if now_s < self.issue_s(day) or self.pv_day == day:
            return
        first_day = day - HISTORY_DAYS + 1
        values = self._known(list(self.regions.values()), first_day, day, self._issue_interval(day) - 1)[PRODUCTION]
        made = self._pipeline(values, first_day, day, self.pv_model, f"the community's PV of day {day}", pv=True)
        self.pv_day = day  # only now: a round that failed before here tries again
        if made is None:
            return
        quantiles = np.maximum(made.quantiles, 0.0)  # production is never negative
        self.pv_forecasts[day] = quantiles
        served = {"day_start_s": self.day_start_s(day), "interval_seconds": INTERVAL_SECONDS}
        self._served = self._served | {"community_pv": served | _quantiles_wh(tuple(quantiles.T))}
        self.log.info("community PV of day %d forecast: %.1f kWh (the P50s summed)", day, quantiles[:, 1].sum() / 1_000)

    def _score_pv(self, today: int, now_s: int) -> None:
        """The community's PV forecasts of the days that have ended, once every region's meters have
        read them: scored against the production metered, over the last SCORED_DAYS days scored."""
        self.pv_forecasts = {d: q for d, q in self.pv_forecasts.items() if d >= today - SCORED_DAYS}
        ended = sorted(d for d in self.pv_forecasts if d < today)
        if not ended:
            return
        # Read once a round: each region's meters are asked for their latest readings.
        through = [region.meters.metered_through(now_s, HOUR_AHEAD * INTERVAL_SECONDS) for region in self.regions.values()]
        scored = 0
        for day in ended:
            last = interval_of(self.day_start_s(day + 1)) - 1
            if any(interval is None or interval < last for interval in through):
                break  # readings of the day may still come
            metered = self._known(list(self.regions.values()), day, day, last)[PRODUCTION]
            self.pv_scores.append((metered, self.pv_forecasts.pop(day)))
            scored += 1
        if not scored:
            return  # the gauges already hold the days scored before
        metered = np.concatenate([truth for truth, _ in self.pv_scores])
        quantiles = np.concatenate([forecast for _, forecast in self.pv_scores])
        daylight = (metered > 0) | (quantiles[:, -1] > 0)  # the night's zeros would be covered for nothing
        with contextlib.suppress(ValueError):  # no daylight interval metered yet
            self.pv_coverage.set(coverage(metered[daylight], quantiles[daylight, 0], quantiles[daylight, -1]))
        with contextlib.suppress(ValueError):  # no production metered on any scored day
            self.pv_energy_error.set(daily_energy_error(metered, quantiles[:, 1], INTERVALS_PER_DAY))

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
        elif all(np.isnan(self._day(region, d)[NET]).all() for d in range(day - 1 - BASELINE_DAYS, day - 1)):
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
        pending = [m for m in at_commitment if m in done and not self.ledger.is_meter_tallied(region_id, forecast.first_interval, m)]
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
        truth = np.concatenate([self._day(region, day)[NET] for day, _, _ in scores])
        median = np.concatenate([np.asarray(forecast.p50_wh, dtype=np.float64) for _, forecast, _ in scores])
        before = np.concatenate([self._day(region, day - 1)[NET] for day, _, _ in scores])
        with contextlib.suppress(ValueError):  # no interval read on both days, or a perfect reference
            self.skill.labels(region=label).set(skill(truth, median, before))


def _quantiles_wh(quantiles: tuple[Any, ...]) -> dict[str, Any]:
    """P10, P50 and P90 as whole Wh (each a number, or a list of numbers per interval)."""
    return {
        f"{name}_wh": np.rint(np.asarray(value)).astype(np.int64).tolist() for name, value in zip(QUANTILE_NAMES, quantiles, strict=True)
    }


__all__ = ["Forecaster", "WeatherSource"]
