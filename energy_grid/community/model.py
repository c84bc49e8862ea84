"""A community on a low-voltage grid, one 15-minute interval at a time.

`CommunityModel(CommunityConfig(households=30, start_day_of_year=161, days=1, seed=0))` draws the
households, computes their consumption and PV for the whole window up front (vectorised, cheap),
and then steps: each `step()` turns one interval's energies into whole Wh (battery, meter), runs
the power flow on the meters' net power, and returns an `IntervalResult`. Iterating the model
steps to the end. Same config, same figures, to the Wh (no clock, no unseeded randomness).

Per household and interval, exactly (integers, see metering.py and battery.py):
    consumption_wh + battery_grid_charge_wh = pv_self_used_wh + battery_discharge_wh + import_wh
    pv_wh = pv_self_used_wh + (battery_charge_wh − battery_grid_charge_wh) + export_wh
    battery_soc_wh = previous soc + battery_charge_wh − battery_discharge_wh − battery_loss_wh
    import_register_wh = Σ import_wh,  export_register_wh = Σ export_wh  (over the run so far)
and the consumption and PV of all intervals add up to floor of the models' exact totals.

Time: interval i of the run starts at `interval_start_unix_s`, 00:00 local standard time of the
start day (the TMY site's zone, UTC−5) + 900 s × i, on `calendar_year`'s calendar (weekdays, public
holidays and the H0 profile's seasons follow it).

Flexible load (`CommunityConfig.flex`, flex.py): from the window's second day on, batteries and car
chargers answer their zone's price forecast. Each step takes the zones' latest cleared prices
(`cleared_prices`, from the market, none without one); the expected tariff comes from the model's
own past days. A car's session arriving on the first day (or before the window) charges on arrival,
as without flexible load. `battery_grid_charge_wh` is then what a battery drew through the meter.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from energy_grid.community.battery import Battery
from energy_grid.community.flex import (
    EV_PRICE_BAND_BPS,
    FORECAST_DAYS,
    ClearedPrice,
    FlexSettings,
    ev_charging_plan_wh,
    expected_tariff_per_kwh,
    grid_charge_pays,
    own_load_forecast_wh,
    price_forecast_per_kwh,
    stored_need_wh,
)
from energy_grid.community.grid import (
    DEFAULT_HOUSEHOLDS_PER_FEEDER,
    DEFAULT_NETWORK,
    FEEDER_BUS_STRIDE,
    GridState,
    LowVoltageGrid,
    sum_by_bus,
)
from energy_grid.community.households import (
    EvSession,
    HouseholdDraw,
    HouseholdSpec,
    add_charging_block,
    consumption_power_w,
    draw_households,
    ev_sessions,
)
from energy_grid.community.metering import Meter, WhCounter, split_interval
from energy_grid.community.pv import pv_ac_power_w
from energy_grid.community.weather import (
    Site,
    WeatherSample,
    WeatherWindow,
    check_window,
    load_typical_year,
    weather_window,
)
from energy_grid.domain.demand_response import day_loading_forecast
from energy_grid.domain.link_limits import headroom_kw
from energy_grid.domain.units import BPS, INTERVAL_SECONDS, INTERVALS_PER_DAY

FloatArray = npt.NDArray[np.float64]

SECONDS_PER_HOUR = 3_600
HOURS_PER_INTERVAL = INTERVAL_SECONDS / SECONDS_PER_HOUR
# W averaged over an interval from its Wh: × 3600 / 900.
W_PER_WH_PER_INTERVAL = SECONDS_PER_HOUR // INTERVAL_SECONDS
# A clear Tuesday in June in the TMY (10 June 2025): PV peaks near noon, H0 in the evening.
DEFAULT_START_DAY_OF_YEAR = 161


@dataclass(frozen=True)
class CommunityConfig:
    """What to simulate."""

    households: int = 30
    start_day_of_year: int = DEFAULT_START_DAY_OF_YEAR  # 1 = Jan 1
    days: int = 1
    seed: int = 0
    calendar_year: int = 2025  # weekdays, holidays and H0 seasons; the TMY is a typical year, any fits
    network: str = DEFAULT_NETWORK
    households_per_feeder: int = DEFAULT_HOUSEHOLDS_PER_FEEDER  # one transformer and its network each
    draw: HouseholdDraw = field(default_factory=HouseholdDraw)
    flex: FlexSettings | None = None  # batteries and car chargers answer their zone's price (flex.py)
    # 0: the community's own behaviour. k > 0: the same households, equipment and weather, with the
    # k-th other draw of every household's behaviour (its noise, its car): a re-run that tells which
    # part of the load no forecast could know (the noise floor).
    noise_run: int = 0

    def __post_init__(self) -> None:
        if self.households < 1:
            raise ValueError(f"a community needs at least one household, got {self.households}")
        if self.households_per_feeder < 1:
            raise ValueError(f"a feeder needs at least one household, got {self.households_per_feeder}")
        check_window(self.start_day_of_year, self.days)


@dataclass(frozen=True)
class HouseholdInterval:
    """One household during one interval, integer Wh (identities in the module docstring)."""

    household_id: int
    bus: int  # its load bus in the grid
    consumption_wh: int
    pv_wh: int
    pv_self_used_wh: int
    battery_charge_wh: int
    battery_discharge_wh: int
    battery_loss_wh: int  # conversion losses inside the battery (behind the meter)
    battery_soc_wh: int  # after the interval; 0 without a battery
    import_wh: int  # through the meter from the grid
    export_wh: int  # through the meter to the grid
    import_register_wh: int  # cumulative, after this interval (SmartMeter's `consumption`)
    export_register_wh: int  # cumulative, after this interval (SmartMeter's `production`)
    voltage_per_mille: int  # at its bus, from the power flow (nominal on a copper plate)
    battery_grid_charge_wh: int = 0  # of battery_charge_wh, what the battery drew through the meter

    @property
    def net_import_wh(self) -> int:
        return self.import_wh - self.export_wh


@dataclass(frozen=True)
class IntervalResult:
    """Everything that happened in one interval."""

    interval: int  # 0-based within the run
    interval_start_unix_s: int
    local_start: datetime.datetime  # local standard time at the site, timezone-aware
    households: tuple[HouseholdInterval, ...]
    grid: GridState
    weather: WeatherSample

    @property
    def import_wh(self) -> int:
        return sum(h.import_wh for h in self.households)

    @property
    def export_wh(self) -> int:
        return sum(h.export_wh for h in self.households)

    @property
    def consumption_wh(self) -> int:
        return sum(h.consumption_wh for h in self.households)

    @property
    def pv_wh(self) -> int:
        return sum(h.pv_wh for h in self.households)


@dataclass
class _HouseholdState:
    """What a household carries from one interval to the next."""

    consumption: WhCounter = field(default_factory=WhCounter)
    pv: WhCounter = field(default_factory=WhCounter)
    meter: Meter = field(default_factory=Meter)
    battery: Battery | None = None


class CommunityModel:
    """Steps a community through its intervals; see the module docstring."""

    def __init__(
        self, config: CommunityConfig = CommunityConfig(), grid: LowVoltageGrid | None = None
    ) -> None:
        self.config = config
        per_feeder = config.households_per_feeder
        if grid is None:
            grid = LowVoltageGrid(config.network, feeders=-(-config.households // per_feeder))
        self.grid = grid
        self.households: tuple[HouseholdSpec, ...] = tuple(
            _with_noise_run(spec, config.noise_run) for spec in draw_households(config.households, config.seed, config.draw)
        )
        self.household_buses: tuple[int, ...] = self.grid.assign_buses(config.households, per_feeder)
        self.weather: WeatherWindow = weather_window(
            load_typical_year(), config.calendar_year, config.start_day_of_year, config.days
        )
        # Exact (float) energy per household and interval, Wh: rows households, columns intervals
        # (without the cars' charging when flexible load plans it).
        self._consumption_wh = np.array(
            [self._consumption_power_w(spec) for spec in self.households]
        )
        self._consumption_wh *= HOURS_PER_INTERVAL
        self._flex = None if config.flex is None else _FlexibleLoad(self, config.flex)
        self._pv_wh = np.array([self._pv_power_w(spec) for spec in self.households])
        self._pv_wh *= HOURS_PER_INTERVAL
        self._states = [
            _HouseholdState(battery=Battery.new(spec.battery) if spec.battery else None)
            for spec in self.households
        ]
        self._next_interval = 0

    def _consumption_power_w(self, spec: HouseholdSpec) -> FloatArray:
        config = self.config
        return consumption_power_w(
            spec, config.calendar_year, config.start_day_of_year, config.days, with_ev=config.flex is None
        )

    def _pv_power_w(self, spec: HouseholdSpec) -> FloatArray:
        if spec.pv is None:
            return np.zeros(self.weather.interval_count)
        return pv_ac_power_w(spec.pv, self.weather)

    @property
    def site(self) -> Site:
        return self.weather.site

    @property
    def interval_count(self) -> int:
        return self.weather.interval_count

    @property
    def next_interval(self) -> int:
        return self._next_interval

    def __iter__(self) -> Iterator[IntervalResult]:
        while self._next_interval < self.interval_count:
            yield self.step()

    def step(
        self,
        consumption_factor: Mapping[int, float] | None = None,
        *,
        power_flow: bool = True,
        cleared_prices: Mapping[int, ClearedPrice] | None = None,
    ) -> IntervalResult:
        """Simulates the next interval.

        `consumption_factor` scales chosen households' consumption in this interval only (by
        household id; e.g. 0.5 for one answering a demand-response event); the rest as modelled.
        `power_flow=False` puts the households on a copper plate (LowVoltageGrid.copper_plate:
        nominal voltages, no losses) instead of solving the grid: for meter history.
        `cleared_prices`: with flexible load, each zone's latest market that traded (by zone: the
        feeder's index in a zoned run, 0 otherwise; intervals are the model's); none is the tariff.
        """
        i = self._next_interval
        if i >= self.interval_count:
            raise IndexError(f"all {self.interval_count} intervals are simulated")
        factors = consumption_factor or {}
        flex = self._flex
        grid_charging: frozenset[int] = frozenset()
        if flex is not None:
            stored_wh = {spec.household_id: state.battery.soc_wh for spec, state in zip(self.households, self._states, strict=True)
                         if state.battery is not None}  # fmt: skip
            grid_charging = flex.plan(i, cleared_prices or {}, stored_wh)
        charging_wh = flex.ev_wh[:, i].tolist() if flex is not None else None  # the cars' planned energy
        splits = []
        for spec, state in zip(self.households, self._states, strict=True):
            factor = factors.get(spec.household_id, 1.0)
            if factor < 0:
                raise ValueError(f"consumption factor must not be negative, got {factor}")
            planned_wh = float(self._consumption_wh[spec.household_id, i])
            if charging_wh is not None:
                planned_wh += charging_wh[spec.household_id]
            consumption_wh = state.consumption.add(planned_wh * factor)
            pv_wh = state.pv.add(float(self._pv_wh[spec.household_id, i]))
            # A household answering a demand-response event does not charge its battery from the grid.
            grid_charge = spec.household_id in grid_charging and factor >= 1
            split = split_interval(consumption_wh, pv_wh, state.battery, grid_charge=grid_charge)
            state.meter.record(split.import_wh, split.export_wh)
            splits.append(split)

        bus_loads = sum_by_bus(
            self.household_buses,
            consumption_w=[s.consumption_wh * W_PER_WH_PER_INTERVAL for s in splits],
            generation_w=[s.pv_wh * W_PER_WH_PER_INTERVAL for s in splits],
            net_active_w=[(s.import_wh - s.export_wh) * W_PER_WH_PER_INTERVAL for s in splits],
        )
        grid_state = self.grid.solve(bus_loads) if power_flow else self.grid.copper_plate(bus_loads)
        if flex is not None:
            flex.record(i, grid_state, [split.consumption_wh - split.pv_wh for split in splits])
        households = tuple(
            HouseholdInterval(
                household_id=spec.household_id,
                bus=bus,
                consumption_wh=split.consumption_wh,
                pv_wh=split.pv_wh,
                pv_self_used_wh=split.pv_self_used_wh,
                battery_charge_wh=split.battery_charge_wh,
                battery_discharge_wh=split.battery_discharge_wh,
                battery_loss_wh=split.battery_loss_wh,
                battery_soc_wh=split.battery_soc_wh,
                import_wh=split.import_wh,
                export_wh=split.export_wh,
                import_register_wh=state.meter.import_register_wh,
                export_register_wh=state.meter.export_register_wh,
                voltage_per_mille=grid_state.bus_voltage_per_mille[bus],
                battery_grid_charge_wh=split.battery_grid_charge_wh,
            )
            for spec, bus, split, state in zip(
                self.households, self.household_buses, splits, self._states, strict=True
            )
        )
        start_unix_s = int(self.weather.interval_start_unix_s[i])
        zone = datetime.timezone(datetime.timedelta(minutes=self.site.utc_offset_minutes))
        self._next_interval = i + 1
        return IntervalResult(
            interval=i,
            interval_start_unix_s=start_unix_s,
            local_start=datetime.datetime.fromtimestamp(start_unix_s, tz=zone),
            households=households,
            grid=grid_state,
            weather=self.weather.sample(i),
        )

    def run(self) -> list[IntervalResult]:
        """Every remaining interval."""
        return list(self)


def _with_noise_run(spec: HouseholdSpec, noise_run: int) -> HouseholdSpec:
    """The household with its behaviour drawn afresh for re-run `noise_run` (itself for 0)."""
    if noise_run == 0:
        return spec
    state = np.random.SeedSequence((spec.noise_seed, noise_run)).generate_state(1, dtype=np.uint64)[0]
    return dataclasses.replace(spec, noise_seed=int(state) >> 1)  # within the household's int63 range


class _FlexibleLoad:
    """A model's flexible load (flex.py): the feeders' load history, the cars' sessions still to
    plan and the energy planned for them, and which batteries charge from the grid in an interval.
    Each household's expected tariff is its feeder's; its cleared prices are its market zone's."""

    def __init__(self, model: CommunityModel, settings: FlexSettings) -> None:
        config = model.config
        self.settings = settings
        self.model = model
        self.feeders = model.grid.feeders
        self.feeder_of = [bus // FEEDER_BUS_STRIDE for bus in model.household_buses]
        # The market zone whose cleared prices each feeder's households see.
        self.zone_of_feeder = list(range(self.feeders)) if settings.zoned else [0] * self.feeders
        self.rating_kw = model.grid.feeder_rating_va // 1_000
        self.loading_per_mille: list[tuple[int, ...]] = []  # each interval's, per feeder
        self._tariff_day = -1
        self._tariff: list[list[int]] = []  # per feeder, per interval of the day
        self.first_interval = (config.start_day_of_year - 1) * INTERVALS_PER_DAY  # since Jan 1
        intervals = model.interval_count
        charging_w = np.zeros((len(model.households), intervals))
        # Sessions by the interval they arrive in (the model's index), planned then.
        self.arrivals: dict[int, list[tuple[HouseholdSpec, EvSession]]] = {}
        for spec in model.households:
            if spec.ev is None:
                continue
            for session in ev_sessions(spec, config.start_day_of_year, config.days):
                arrival = math.floor(session.arrival_h / HOURS_PER_INTERVAL) - self.first_interval
                if arrival < INTERVALS_PER_DAY:  # no past day to forecast from: on arrival
                    duration_h = session.energy_wh / spec.ev.charge_power_w
                    add_charging_block(
                        charging_w[spec.household_id], self.first_interval, session.arrival_h, duration_h, float(spec.ev.charge_power_w)
                    )
                else:
                    self.arrivals.setdefault(arrival, []).append((spec, session))
        self.ev_wh = charging_w * HOURS_PER_INTERVAL
        self.batteries = [(spec.household_id, spec.battery) for spec in model.households if spec.battery is not None]
        # Each interval's load before the battery (consumption − PV, Wh) of each household: its own forecast's history.
        self.load_wh = np.zeros((model.interval_count, len(model.households)))

    def plan(self, i: int, cleared_prices: Mapping[int, ClearedPrice], stored_wh: Mapping[int, int]) -> frozenset[int]:
        """Plans the sessions arriving in interval `i` and returns the households whose battery
        charges from the grid in it (none on the first day: no past day to forecast from), given
        what each battery holds (`stored_wh`, by household)."""
        day = i // INTERVALS_PER_DAY
        if day == 0:
            return frozenset()
        tariff = self._tariff_of(day)
        for spec, session in self.arrivals.pop(i, []):
            self._plan_session(i, spec, session, tariff, cleared_prices)
        if not self.batteries:
            return frozenset()
        base = self.settings.base_price_per_kwh
        now_and_dearest = []
        for feeder in range(self.feeders):
            forecast = price_forecast_per_kwh(i, INTERVALS_PER_DAY, tariff[feeder], cleared_prices.get(self.zone_of_feeder[feeder]), base)
            now_and_dearest.append((int(forecast[0]), int(forecast.max())))
        charging = [
            (household, battery)
            for household, battery in self.batteries
            if grid_charge_pays(*now_and_dearest[self.feeder_of[household]], base, battery.round_trip_efficiency)
        ]
        if not charging:
            return frozenset()
        past_wh = self.load_wh[max(0, day - FORECAST_DAYS) * INTERVALS_PER_DAY : day * INTERVALS_PER_DAY]
        by_day = past_wh.reshape(-1, INTERVALS_PER_DAY, past_wh.shape[1])
        return frozenset(
            household
            for household, battery in charging
            if stored_wh[household]
            < stored_need_wh(own_load_forecast_wh(by_day[:, :, household], i, INTERVALS_PER_DAY), battery.one_way_efficiency)
        )

    def _plan_session(
        self, i: int, spec: HouseholdSpec, session: EvSession, tariff: list[list[int]], cleared_prices: Mapping[int, ClearedPrice]
    ) -> None:
        assert spec.ev is not None
        first = self.first_interval + i  # since Jan 1
        last = math.ceil(session.departure_h / HOURS_PER_INTERVAL)  # the first interval after it
        slots = np.arange(first, max(first + 1, last))
        available_h = np.minimum(session.departure_h, (slots + 1) * HOURS_PER_INTERVAL) - np.maximum(
            session.arrival_h, slots * HOURS_PER_INTERVAL
        )
        feeder = self.feeder_of[spec.household_id]
        cleared = cleared_prices.get(self.zone_of_feeder[feeder])
        prices = price_forecast_per_kwh(i, len(slots), tariff[feeder], cleared, self.settings.base_price_per_kwh)
        band_per_kwh = max(1, self.settings.base_price_per_kwh * EV_PRICE_BAND_BPS // BPS)
        plan = ev_charging_plan_wh(session.energy_wh, np.maximum(available_h, 0.0), spec.ev.charge_power_w, prices, band_per_kwh)
        inside = min(len(plan), self.ev_wh.shape[1] - i)  # what falls after the window is not simulated
        self.ev_wh[spec.household_id, i : i + inside] += plan[:inside]

    def _tariff_of(self, day: int) -> list[list[int]]:
        """Each feeder's expected tariff over a day, from its loading on up to FORECAST_DAYS days
        before `day` (flex.py)."""
        if self._tariff_day != day:
            first = max(0, day - FORECAST_DAYS) * INTERVALS_PER_DAY
            history = np.asarray(self.loading_per_mille[first : day * INTERVALS_PER_DAY], dtype=np.int64)
            by_day = history.reshape(-1, INTERVALS_PER_DAY, self.feeders)
            base = self.settings.base_price_per_kwh
            forecasts = [day_loading_forecast(by_day[:, :, feeder].tolist()) for feeder in range(self.feeders)]
            self._tariff = [expected_tariff_per_kwh(headroom_kw(f, self.rating_kw), self.rating_kw, base) for f in forecasts]
            self._tariff_day = day
        return self._tariff

    def record(self, i: int, grid: GridState, load_wh: list[int]) -> None:
        """Interval `i`'s loading of each feeder's transformer, and each household's load before its battery."""
        self.loading_per_mille.append(grid.feeder_loading_per_mille)
        self.load_wh[i] = load_wh
