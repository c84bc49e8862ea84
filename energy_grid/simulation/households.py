"""Households: who they are (drawn from a seed) and what they consume per interval.

Consumption follows the BDEW H0 standard load profile (demandlib), the German utilities'
reference for a household: 15-minute values, weekday/Saturday/Sunday shapes per season, an
evening peak on weekdays. It is applied by local clock time at the community's site. Each
household scales it to its own annual consumption and multiplies each interval by its own noise
(normal, mean 1, σ 10 %, kept within 0.5..1.5), so that thirty households do not move in lockstep.

On top of H0, a share of households charge an electric car at home: plugged in when its owner
comes home in the evening and leaving the next morning (times drawn per day), it charges that
day's energy at the wallbox's full power until done (`ev_sessions` gives the stays; a flexible
charger plans its own, flex.py). H0 predates home charging; these evening blocks of 11 kW are what loads a
rural transformer today, and they are the load a demand-response event asks households to defer.

Every household draws from its own random stream, a child of the run's seed keyed by its index:
household 7 is the same household whether the community has 10 members or 100.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from demandlib import bdew

from energy_grid.domain.units import INTERVALS_PER_DAY
from energy_grid.simulation.battery import BatterySpec
from energy_grid.simulation.pv import PvSystem
from energy_grid.simulation.weather import check_window

FloatArray = npt.NDArray[np.float64]

WATTS_PER_KILOWATT = 1_000
NOISE_SIGMA = 0.10
NOISE_FLOOR, NOISE_CEILING = 0.5, 1.5
EV_STREAM = 1  # the car's draws: a stream of its own beside the consumption noise
EV_DEPARTURE_STREAM = 4  # the car's departures: drawn apart, so that the arrivals and energies stay as they were
HOURS_PER_DAY = 24
INTERVALS_PER_HOUR = INTERVALS_PER_DAY // HOURS_PER_DAY


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


@dataclass(frozen=True)
class EvSpec:
    """A household's electric car and wallbox."""

    charge_power_w: int
    daily_energy_kwh: tuple[float, float]  # drawn per day from this range
    arrival_hour: tuple[float, float]  # drawn per day from this range, local time
    departure_hour: tuple[float, float] = (6.0, 8.0)  # the next morning, drawn per day, local time


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
    noise_seed: int  # seeds the household's per-interval consumption noise
    ev: EvSpec | None = None


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
    return HouseholdSpec(
        household_id=household_id,
        annual_consumption_kwh=annual_kwh,
        pv=pv,
        battery=battery,
        noise_seed=noise_seed,
        ev=ev,
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
    """BDEW H0 mean power per interval for 1 kWh a year, a whole calendar year (W per kWh/a).

    demandlib's `get_profile` gives kW for the annual kWh it is given; the profile is linear in
    the annual energy, so one run at 1 kWh/a serves every household. (demandlib 0.2.1; the
    `get_scaled_power_profiles` of later releases needs numpy 2.)
    """
    profile = bdew.ElecSlp(calendar_year).get_profile({"h0": 1.0})["h0"]
    values: FloatArray = profile.to_numpy(dtype=np.float64) * WATTS_PER_KILOWATT
    values.setflags(write=False)  # shared through the cache
    return values


def consumption_power_w(
    spec: HouseholdSpec, calendar_year: int, start_day_of_year: int, days: int, *, with_ev: bool = True
) -> FloatArray:
    """The household's mean power per interval (W) over the window, noise included; its car charging
    on arrival too unless `with_ev` is False (a flexible charger plans its own, model.py)."""
    check_window(start_day_of_year, days)
    first = (start_day_of_year - 1) * INTERVALS_PER_DAY
    count = days * INTERVALS_PER_DAY
    profile = h0_profile_w_per_kwh_a(calendar_year)[first : first + count]
    # The noise stream starts at Jan 1 whatever the window, so a day's figures do not depend on
    # which day a run started from.
    rng = np.random.default_rng(spec.noise_seed)
    noise = rng.normal(1.0, NOISE_SIGMA, size=first + count)[first:]
    base_w = profile * spec.annual_consumption_kwh * np.clip(noise, NOISE_FLOOR, NOISE_CEILING)
    if not with_ev:
        return base_w
    return base_w + ev_charging_power_w(spec, start_day_of_year, days)


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
