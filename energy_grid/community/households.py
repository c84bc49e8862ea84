"""Households: who they are (drawn from a seed) and what they consume per interval.

Consumption follows the BDEW H0 standard load profile (demandlib), the German utilities'
reference for a household: 15-minute values, weekday/Saturday/Sunday shapes per season, an
evening peak on weekdays; a public holiday (holidays.py, Germany's) takes the Sunday shape, as H0
prescribes. It is applied by local clock time at the community's site and scaled to the
household's annual consumption. H0 is the mean of many households; one household is not, so each
adds what a forecaster meets in a real one (`household_load_w`):

- behaviour that lasts: a multiplicative noise that is an AR(1) process in log space (φ 0.8 per
  interval, a marginal σ of about 12 %, mean 1), so that a busy quarter hour is followed by
  another rather than by an independent draw;
- days of their own: on 5 % of days the household is away (40 % of its usual load all day:
  fridge, standby), and the other days are quieter or busier by up to 20 % (uniform), the mean
  over all days being 1;
- appliances: bursts of 1–3 kW for 1–4 intervals (kettle, oven, washing machine), starting at
  times weighted by the day's H0 shape (more in the evening than at 4 am). They carry 25 % of the
  annual energy and the profile is scaled down by as much, so the expected annual consumption is
  the drawn figure (a year lands within 4 % of it, σ 1.4 %).

Temperature adds its own load (`heat_pump_power_w`): 30 % of households heat with an air-source
heat pump, a third of those reversible (10 % of households), cooling too. The heat pump's heat is
the building's heat loss coefficient (W/K, drawn per household, larger for larger households)
times the degrees the outdoor air stands below the 15 °C heating limit (the mean of the day's
mean and the interval's own temperature: a building's mass evens the day out), shaped over the
day (a night setback, a morning recovery), divided by a COP that falls with the cold (4.0 at
10 °C to 2.5 at −10 °C). Over the typical year that is 2,500–5,000 kWh of electricity. Cooling
runs above 24 °C with the same building's heat loss and an EER falling from 3.5 to 2.5 at 35 °C.
H0 holds no electric heating, so this comes on top of the drawn annual consumption.

On top of H0, a share of households charge an electric car at home: plugged in when its owner
comes home in the evening and leaving the next morning (times drawn per day), it charges that
day's energy at the wallbox's full power until done (`ev_sessions` gives the stays; a flexible
charger plans its own, flex.py). H0 predates home charging; these evening blocks of 11 kW are what loads a
rural transformer today, and they are the load a demand-response event asks households to defer.

Every household draws from its own random streams, children of the run's seed keyed by its index:
household 7 is the same household whether the community has 10 members or 100. Every stream is
drawn from Jan 1 on, whatever the window, so a day's figures do not depend on the day a run
starts from.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from demandlib import bdew

from energy_grid.community.battery import BatterySpec
from energy_grid.community.holidays import public_holidays
from energy_grid.community.pv import PvSystem
from energy_grid.community.weather import check_window, interval_temperature_c, load_typical_year
from energy_grid.domain.units import INTERVALS_PER_DAY

FloatArray = npt.NDArray[np.float64]

WATTS_PER_KILOWATT = 1_000
HOURS_PER_DAY = 24
INTERVALS_PER_HOUR = INTERVALS_PER_DAY // HOURS_PER_DAY
HOURS_PER_INTERVAL = 1 / INTERVALS_PER_HOUR

# The household's streams, each a child of its noise seed (the consumption noise is the seed's own).
EV_STREAM = 1  # the car's draws: a stream of its own beside the consumption noise
EV_DEPARTURE_STREAM = 4  # the car's departures: drawn apart, so that the arrivals and energies stay as they were
DAY_STREAM = 5  # whether it is away, how busy it is: one pair of draws a day
APPLIANCE_STREAM = 6  # its appliances' bursts: a fixed number of draws a day

# Behaviour that lasts: log-space AR(1) noise, per interval.
NOISE_PHI = 0.8
NOISE_LOG_SIGMA = 0.12  # of the stationary log noise: the factor's own σ is about 12 % too
# Days of their own.
AWAY_PROBABILITY = 0.05
AWAY_LEVEL = 0.4  # of the usual load, all day
DAY_SPREAD = 0.2  # a day at home is up to 20 % quieter or busier (uniform)
# Appliances' bursts.
APPLIANCE_SHARE = 0.25  # of the annual energy the bursts carry; the profile carries the rest
APPLIANCE_POWER_W = (1_000.0, 3_000.0)  # uniform
APPLIANCE_MAX_INTERVALS = 4  # 1..4 intervals, each as likely
APPLIANCE_SLOTS_PER_DAY = 8  # draws a day, each a burst with the probability its rate gives
# Heating and cooling.
HEATING_LIMIT_C = 15.0  # no heating at or above this outdoor temperature (the building's gains suffice)
COOLING_LIMIT_C = 24.0
# Efficiency at two outdoor temperatures, linear between, held beyond.
HEAT_PUMP_COP_AT_C, HEAT_PUMP_COP = (-10.0, 10.0), (2.5, 4.0)
AIR_CONDITIONER_EER_AT_C, AIR_CONDITIONER_EER = (24.0, 35.0), (3.5, 2.5)
# Heating over the day, by the local hour each part starts: a night setback, a morning recovery.
HEATING_DAY_SHAPE = ((0, 0.6), (5, 1.4), (9, 1.0), (17, 1.1), (22, 0.6))


@dataclass(frozen=True)
class HouseholdDraw:
    """The ranges households are drawn from (uniform unless said otherwise)."""

    annual_consumption_kwh: tuple[float, float] = (1_500.0, 5_000.0)
    pv_share: float = 0.5  # of households, spread evenly over the indices (every 2nd at 0.5)
    battery_share_of_pv: float = 0.5  # of PV households (a battery without PV is rare)
    pv_peak_power_kw: tuple[float, float] = (3.0, 9.0)  # rounded to 0.1 kWp
    pv_tilt_deg: tuple[float, float] = (15.0, 45.0)
    pv_azimuth_deg: tuple[float, float] = (120.0, 240.0)  # south-east .. south-west
    battery_kwh_per_kwp: tuple[float, float] = (0.8, 1.5)  # the usual sizing rule of thumb
    battery_c_rate_per_h: float = 0.5  # max charge = max discharge power = 0.5 × capacity / h
    battery_round_trip_efficiency: float = 0.90
    battery_initial_soc_fraction: float = 0.3
    ev_share: float = 0.5  # of households, spread evenly over the indices
    ev_charge_power_kw: float = 11.0  # a three-phase 16 A wallbox, the common German installation
    ev_daily_energy_kwh: tuple[float, float] = (4.0, 12.0)  # about 25 to 75 km a day
    ev_arrival_hour: tuple[float, float] = (17.0, 19.0)  # local time the car is plugged in
    ev_departure_hour: tuple[float, float] = (6.0, 8.0)  # local time it leaves the next morning
    heat_pump_share: float = 0.3  # of households, spread evenly over the indices
    cooling_share_of_heat_pumps: float = 1 / 3  # reversible heat pumps, which also cool
    # The building's heat loss above the heating limit; a larger household's house tends to lose
    # more (half the draw follows its annual consumption). Sized on the typical year's weather for
    # 2,500–5,000 kWh of heat pump electricity a year.
    heat_loss_w_per_k: tuple[float, float] = (225.0, 450.0)


@dataclass(frozen=True)
class EvSpec:
    """A household's electric car and wallbox."""

    charge_power_w: int
    daily_energy_kwh: tuple[float, float]  # drawn per day from this range
    arrival_hour: tuple[float, float]  # drawn per day from this range, local time
    departure_hour: tuple[float, float] = (6.0, 8.0)  # the next morning, drawn per day, local time


@dataclass(frozen=True)
class HeatPumpSpec:
    """A household's air-source heat pump."""

    heat_loss_w_per_k: float  # heat the building loses per kelvin the outdoor air is below the heating limit
    cools: bool  # a reversible heat pump: it also cools above the cooling limit


@dataclass(frozen=True)
class EvSession:
    """A car's stay at home: plugged in and leaving (hours since Jan 1 of the calendar year, local
    time) and the energy it needs before it leaves (Wh)."""

    arrival_h: float
    departure_h: float
    energy_wh: float


@dataclass(frozen=True)
class HouseholdSpec:
    """A household's fixed traits."""

    household_id: int  # 0-based index in the community
    annual_consumption_kwh: float
    pv: PvSystem | None
    battery: BatterySpec | None
    noise_seed: int  # seeds the household's per-interval consumption noise and its other streams
    ev: EvSpec | None = None
    heat_pump: HeatPumpSpec | None = None


def _spread(index: int, share: float) -> bool:
    """Whether `index` is among the `share` of indices, spread evenly (exact for any count)."""
    return math.floor((index + 1) * share) > math.floor(index * share)


def draw_household(
    household_id: int, seed: int, draw: HouseholdDraw = HouseholdDraw()
) -> HouseholdSpec:
    """Household `household_id` of the community seeded with `seed`."""
    sequence = np.random.SeedSequence(seed, spawn_key=(household_id,))
    rng = np.random.default_rng(sequence)
    annual_kwh = round(float(rng.uniform(*draw.annual_consumption_kwh)), 1)
    # Drawn for every household, used or not, so a change of shares does not reshuffle the rest.
    peak_kw = round(float(rng.uniform(*draw.pv_peak_power_kw)), 1)
    tilt_deg = round(float(rng.uniform(*draw.pv_tilt_deg)), 1)
    azimuth_deg = round(float(rng.uniform(*draw.pv_azimuth_deg)), 1)
    battery_kwh_per_kwp = float(rng.uniform(*draw.battery_kwh_per_kwp))
    noise_seed = int(rng.integers(0, 2**63 - 1))
    heat_loss_draw = float(rng.uniform())

    has_pv = _spread(household_id, draw.pv_share)
    pv_rank = math.floor(household_id * draw.pv_share)  # this household's index among PV owners
    has_battery = has_pv and _spread(pv_rank, draw.battery_share_of_pv)

    pv = (
        PvSystem(
            peak_power_w=round(peak_kw * WATTS_PER_KILOWATT),
            tilt_deg=tilt_deg,
            azimuth_deg=azimuth_deg,
        )
        if has_pv
        else None
    )
    battery = None
    if has_battery:
        capacity_wh = round(peak_kw * battery_kwh_per_kwp * 10) * 100  # to 0.1 kWh, as sold
        max_power_w = round(capacity_wh * draw.battery_c_rate_per_h)
        battery = BatterySpec(
            capacity_wh=capacity_wh,
            max_charge_w=max_power_w,
            max_discharge_w=max_power_w,
            round_trip_efficiency=draw.battery_round_trip_efficiency,
            initial_soc_wh=round(capacity_wh * draw.battery_initial_soc_fraction),
        )
    ev = (
        EvSpec(
            charge_power_w=round(draw.ev_charge_power_kw * WATTS_PER_KILOWATT),
            daily_energy_kwh=draw.ev_daily_energy_kwh,
            arrival_hour=draw.ev_arrival_hour,
            departure_hour=draw.ev_departure_hour,
        )
        if _spread(household_id, draw.ev_share)
        else None
    )
    heat_pump = None
    if _spread(household_id, draw.heat_pump_share):
        low_kwh, high_kwh = draw.annual_consumption_kwh
        size = (annual_kwh - low_kwh) / (high_kwh - low_kwh) if high_kwh > low_kwh else 0.5
        heat_pump_rank = math.floor(household_id * draw.heat_pump_share)
        heat_pump = HeatPumpSpec(
            heat_loss_w_per_k=round(_scale((size + heat_loss_draw) / 2, draw.heat_loss_w_per_k), 1),
            cools=_spread(heat_pump_rank, draw.cooling_share_of_heat_pumps),
        )
    return HouseholdSpec(
        household_id=household_id,
        annual_consumption_kwh=annual_kwh,
        pv=pv,
        battery=battery,
        noise_seed=noise_seed,
        ev=ev,
        heat_pump=heat_pump,
    )


def draw_households(
    count: int, seed: int, draw: HouseholdDraw = HouseholdDraw()
) -> tuple[HouseholdSpec, ...]:
    """The `count` households of the community seeded with `seed`."""
    if count < 1:
        raise ValueError(f"a community needs at least one household, got {count}")
    return tuple(draw_household(i, seed, draw) for i in range(count))


@functools.lru_cache(maxsize=4)
def h0_profile_w_per_kwh_a(calendar_year: int) -> FloatArray:
    """BDEW H0 mean power per interval for 1 kWh a year, a whole calendar year (W per kWh/a), its
    public holidays (holidays.py) on the Sunday profile.

    demandlib's `get_profile` gives kW for the annual kWh it is given; the profile is linear in
    the annual energy, so one run at 1 kWh/a serves every household. (demandlib 0.2.1: it reads
    holidays from a dict's keys and ignores a list; the `get_scaled_power_profiles` of later
    releases needs numpy 2.)
    """
    slp = bdew.ElecSlp(calendar_year, holidays=public_holidays(calendar_year))
    profile = slp.get_profile({"h0": 1.0})["h0"]
    values: FloatArray = profile.to_numpy(dtype=np.float64) * WATTS_PER_KILOWATT
    values.setflags(write=False)  # shared through the cache
    return values


def consumption_power_w(
    spec: HouseholdSpec, calendar_year: int, start_day_of_year: int, days: int, *, with_ev: bool = True
) -> FloatArray:
    """The household's mean power per interval (W) over the window: its own H0 load
    (`household_load_w`), its heat pump (`heat_pump_power_w`), and its car charging on arrival
    unless `with_ev` is False (a flexible charger plans its own, model.py)."""
    power_w = household_load_w(spec, calendar_year, start_day_of_year, days)
    power_w += heat_pump_power_w(spec, start_day_of_year, days)
    if with_ev:
        power_w += ev_charging_power_w(spec, start_day_of_year, days)
    return power_w


def household_load_w(spec: HouseholdSpec, calendar_year: int, start_day_of_year: int, days: int) -> FloatArray:
    """H0 scaled to the household, with its behaviour (module docstring), mean W per interval over
    the window: the profile less the appliances' share times the AR(1) noise, plus the appliances'
    bursts, all times each day's factor. Every stream starts at Jan 1 whatever the window, so a
    day's figures do not depend on which day a run started from."""
    check_window(start_day_of_year, days)
    first = (start_day_of_year - 1) * INTERVALS_PER_DAY
    end = first + days * INTERVALS_PER_DAY
    profile_w = h0_profile_w_per_kwh_a(calendar_year)[:end] * spec.annual_consumption_kwh
    noise = log_ar1_noise(np.random.default_rng(spec.noise_seed), end)
    load_w = profile_w * (1.0 - APPLIANCE_SHARE) * noise + appliance_bursts_w(spec.noise_seed, profile_w)
    load_w *= np.repeat(day_factors(spec.noise_seed, end // INTERVALS_PER_DAY), INTERVALS_PER_DAY)
    return load_w[first:]


def log_ar1_noise(rng: np.random.Generator, count: int) -> FloatArray:
    """`count` values of mean-one multiplicative noise exp(x − σ²/2), x an AR(1) process (φ
    NOISE_PHI) from its stationary distribution (σ NOISE_LOG_SIGMA), one standard normal a value."""
    innovations = rng.standard_normal(count) * NOISE_LOG_SIGMA
    innovations[1:] *= math.sqrt(1.0 - NOISE_PHI**2)  # the first value is already stationary
    return np.exp(ar1(innovations, NOISE_PHI) - NOISE_LOG_SIGMA**2 / 2)


def ar1(innovations: FloatArray, phi: float) -> FloatArray:
    """x_t = φ x_{t−1} + e_t from x_0 = e_0 (0.5 ≤ φ < 1), without a Python step per value: within a
    day x_j = φ^j Σ_{k≤j} φ^−k e_k + φ^(j+1) × the previous day's last x, so only each day's last
    value is carried from day to day (φ^−95 stays well inside a float's range)."""
    count = len(innovations)
    days = -(-count // INTERVALS_PER_DAY)
    blocks = np.zeros(days * INTERVALS_PER_DAY)
    blocks[:count] = innovations
    blocks = blocks.reshape(days, INTERVALS_PER_DAY)
    powers = phi ** np.arange(INTERVALS_PER_DAY, dtype=np.float64)
    within = np.cumsum(blocks / powers, axis=1) * powers  # each day from a zero start
    carried = np.empty(days)  # each day's start: the previous day's last value
    last = 0.0
    for day, within_last in enumerate(within[:, -1].tolist()):
        carried[day] = last
        last = within_last + phi**INTERVALS_PER_DAY * last
    values: FloatArray = (within + np.outer(carried, powers * phi)).ravel()[:count]
    return values


def day_factors(noise_seed: int, days: int) -> FloatArray:
    """Each day's factor from Jan 1 on: AWAY_LEVEL on a day away (AWAY_PROBABILITY), else uniform
    within DAY_SPREAD of a mean that makes all days' mean 1."""
    draws = np.random.default_rng([noise_seed, DAY_STREAM]).uniform(size=(days, 2))
    at_home_mean = (1.0 - AWAY_PROBABILITY * AWAY_LEVEL) / (1.0 - AWAY_PROBABILITY)
    at_home = at_home_mean * (1.0 + DAY_SPREAD * (2.0 * draws[:, 1] - 1.0))
    factors: FloatArray = np.where(draws[:, 0] < AWAY_PROBABILITY, AWAY_LEVEL, at_home)
    return factors


def appliance_bursts_w(noise_seed: int, profile_w: FloatArray) -> FloatArray:
    """The appliances' bursts over whole days from Jan 1 (`profile_w`: the household's H0 over them,
    W), mean W per interval. Each day has APPLIANCE_SLOTS_PER_DAY draws, each a burst with the
    probability that makes the bursts' expected energy APPLIANCE_SHARE of the day's H0 energy; a
    burst starts at an interval drawn by the day's H0 shape and runs on past midnight if it must."""
    count = len(profile_w)
    days = count // INTERVALS_PER_DAY
    by_day = profile_w.reshape(days, INTERVALS_PER_DAY)
    draws = np.random.default_rng([noise_seed, APPLIANCE_STREAM]).uniform(size=(days, APPLIANCE_SLOTS_PER_DAY, 4))
    mean_intervals = (1 + APPLIANCE_MAX_INTERVALS) / 2
    mean_burst_wh = sum(APPLIANCE_POWER_W) / 2 * mean_intervals * HOURS_PER_INTERVAL
    day_wh = by_day.sum(axis=1) * HOURS_PER_INTERVAL
    probability = np.minimum(1.0, APPLIANCE_SHARE * day_wh / mean_burst_wh / APPLIANCE_SLOTS_PER_DAY)
    happens = draws[:, :, 0] < probability[:, None]
    shape = np.cumsum(by_day, axis=1)
    shape /= shape[:, -1:]
    start_in_day = np.minimum((shape[:, None, :] < draws[:, :, 1:2]).sum(axis=2), INTERVALS_PER_DAY - 1)
    start = start_in_day + np.arange(days)[:, None] * INTERVALS_PER_DAY
    power_w = APPLIANCE_POWER_W[0] + draws[:, :, 2] * (APPLIANCE_POWER_W[1] - APPLIANCE_POWER_W[0])
    intervals = 1 + np.floor(draws[:, :, 3] * APPLIANCE_MAX_INTERVALS)
    bursts_w = np.zeros(count)
    for offset in range(APPLIANCE_MAX_INTERVALS):
        on = happens & (offset < intervals) & (start + offset < count)
        np.add.at(bursts_w, start[on] + offset, power_w[on])
    return bursts_w


def _heating_day_weights() -> FloatArray:
    """HEATING_DAY_SHAPE per interval of the day, scaled to mean 1: the shape moves the heat within
    the day, not its amount."""
    starts_h, weights = zip(*HEATING_DAY_SHAPE, strict=True)
    hours = np.arange(INTERVALS_PER_DAY) / INTERVALS_PER_HOUR
    per_interval: FloatArray = np.asarray(weights, dtype=np.float64)[np.searchsorted(starts_h, hours, side="right") - 1]
    return per_interval / per_interval.mean()


HEATING_DAY_WEIGHTS = _heating_day_weights()


def heat_pump_power_w(spec: HouseholdSpec, start_day_of_year: int, days: int) -> FloatArray:
    """The household's heat pump, mean W per interval over the window (zeros without one): heating
    below the heating limit, and cooling above the cooling limit if it is reversible, from the
    typical year's temperature (module docstring). No random draw: a thermostat's load."""
    if spec.heat_pump is None:
        return np.zeros(days * INTERVALS_PER_DAY)
    heat_loss_w_per_k = spec.heat_pump.heat_loss_w_per_k
    temperature_c = interval_temperature_c(load_typical_year(), start_day_of_year, days).reshape(days, INTERVALS_PER_DAY)
    # The building's mass evens the day out: half the day's mean, half the interval's own.
    heating_c = (temperature_c + temperature_c.mean(axis=1, keepdims=True)) / 2
    heat_w = heat_loss_w_per_k * np.maximum(0.0, HEATING_LIMIT_C - heating_c) * HEATING_DAY_WEIGHTS
    power_w = heat_w / np.interp(temperature_c, HEAT_PUMP_COP_AT_C, HEAT_PUMP_COP)
    if spec.heat_pump.cools:
        cool_w = heat_loss_w_per_k * np.maximum(0.0, temperature_c - COOLING_LIMIT_C)
        power_w += cool_w / np.interp(temperature_c, AIR_CONDITIONER_EER_AT_C, AIR_CONDITIONER_EER)
    values: FloatArray = power_w.ravel()
    return values


def ev_charging_power_w(spec: HouseholdSpec, start_day_of_year: int, days: int) -> FloatArray:
    """The household's car charging, mean W per interval over the window (zeros without a car).

    Each day's arrival time and energy come from the household's own stream, drawn from Jan 1
    on (like the noise), so a day charges the same whichever day a run starts from. A charge
    that runs past midnight continues into the next day's first intervals.
    """
    power = np.zeros(days * INTERVALS_PER_DAY)
    if spec.ev is None:
        return power
    charge_power_w = spec.ev.charge_power_w
    first_interval = (start_day_of_year - 1) * INTERVALS_PER_DAY
    for session in ev_sessions(spec, start_day_of_year, days):
        add_charging_block(power, first_interval, session.arrival_h, session.energy_wh / charge_power_w, float(charge_power_w))
    return power


def ev_sessions(spec: HouseholdSpec, start_day_of_year: int, days: int) -> list[EvSession]:
    """The car's sessions that may charge in the window: one a day from the day before the window's
    first (its charge may run past midnight) to the window's last; none without a car. Arrival and
    energy come from the household's car stream, the departure the next morning from a stream of its
    own, each drawn per day from Jan 1 on, so a day's session is the same whichever day a run starts."""
    if spec.ev is None:
        return []
    ev = spec.ev
    rng = np.random.default_rng([spec.noise_seed, EV_STREAM])
    # Per day of the year up to the window's last: arrival hour and energy (two draws each).
    draws = rng.uniform(size=(start_day_of_year - 1 + days, 2))
    departures = np.random.default_rng([spec.noise_seed, EV_DEPARTURE_STREAM]).uniform(size=start_day_of_year - 1 + days)
    return [
        EvSession(
            arrival_h=day * HOURS_PER_DAY + _scale(draws[day, 0], ev.arrival_hour),
            departure_h=(day + 1) * HOURS_PER_DAY + _scale(departures[day], ev.departure_hour),
            energy_wh=_scale(draws[day, 1], ev.daily_energy_kwh) * WATTS_PER_KILOWATT,
        )
        for day in range(max(0, start_day_of_year - 2), start_day_of_year - 1 + days)
    ]


def _scale(unit: float, bounds: tuple[float, float]) -> float:
    return bounds[0] + unit * (bounds[1] - bounds[0])


def add_charging_block(
    power_w: FloatArray, first_interval: int, start_h: float, duration_h: float, block_w: float
) -> None:
    """Adds `block_w` from `start_h` for `duration_h` to the per-interval means of the window
    that starts at interval `first_interval`, each interval weighted by the part of it the block
    covers. Hours count from Jan 1, so a block's figures do not depend on the window."""
    end_h = start_h + duration_h
    first = max(first_interval, math.floor(start_h * INTERVALS_PER_HOUR))
    last = min(first_interval + len(power_w), math.ceil(end_h * INTERVALS_PER_HOUR))
    for k in range(first, last):
        covered_h = min(end_h, (k + 1) / INTERVALS_PER_HOUR) - max(start_h, k / INTERVALS_PER_HOUR)
        power_w[k - first_interval] += block_w * max(0.0, covered_h) * INTERVALS_PER_HOUR
