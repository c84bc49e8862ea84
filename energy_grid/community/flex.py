"""Flexible load: home batteries and car chargers that answer their zone's price.

A household's market zone is its feeder when the market is zoned (each feeder a market zone), else
the whole community (one zone); its transformer is its feeder's either way. Every rule here is a
pure function of what a household can know, the same in a zoned and a blind run: the two differ
only in the cleared prices their zones give it (with links that do not bind, not at all).

**The price forecast** of a zone for the coming intervals (`price_forecast_per_kwh`):
- Where its market cleared with trades lately below the grid's price at no load (the base price,
  the tariff's floor: the zone's neighbours sell surplus cheaper than the grid ever does), that
  price is taken to hold for the hour after that market's interval (PRICE_HOLD_INTERVALS); a market
  is cleared once the interval after it has its readings, so the freshest price a household sees
  is two intervals old. A cleared price at or above the base price says the zone is short: its
  margin comes from the grid at the tariff, which the forecast keeps.
- Everywhere else (at night there are no asks, so no market price) the grid tariff at the zone's
  expected load: GridManagement's dynamic price (its base price raised by up to half with load
  against rating) at the load the operator's day-ahead headroom leaves (`expected_tariff_per_kwh`).
  The load is the household's own feeder's, by the rule its operator sets the feeder's link limits
  with (domain.link_limits.headroom_kw on the cautious forecast): in each interval, rating × (1 −
  the highest loading the past days saw at that time of day), in 5 kW steps. In a zoned run that
  headroom is exactly the link limit the operator published, so a feeder whose link is limited in
  an interval is forecast dear there; a blind run's operator forecasts its transformers the same
  way, though its market does not enforce it. The past days are the model's own up to FORECAST_DAYS (the baseline days' five for the
  simulated day); on the first day of a run there is no history, and flexible load waits.

**Car chargers** (`ev_charging_plan_wh`): when the car is plugged in, the charger plans the
session's energy into the cheapest forecast intervals between arrival and departure, each at most
the charger's power for the part of the interval the car is there. Prices within EV_PRICE_BAND_BPS
(10 %) of the base price above the session's cheapest count as one band, and a band that holds
more than the need shares it among its intervals at the power that just meets it, rather than at
full power in the first. The expected tariff moves in 5 kW steps (2.5 % of the base price on a
100 kVA feeder) and remembers each time of day's highest load of five days, so once the cars have
filled the night, a street of them at 11 kW in the one step left cheaper would make the peak they
were meant to avoid; a band of 10 % spreads them over the night and still keeps out the evening,
when the cars come home (35 to 45 % above the base price). The plan delivers the whole need
whenever the session has room for it (12 kWh at 11 kW take little over an hour of a night's eleven
or more).

**Batteries** (`grid_charge_pays`, `stored_need_wh`): as before they charge from their own PV
surplus and discharge to cover the house's deficit; in addition, in an interval whose forecast price
is below the grid's price at no load (the base price, the floor of the tariff: neighbours are
selling surplus cheap in the zone) and low enough that the energy, after the round-trip losses, is
worth more at the dearest price of the coming day, the battery charges from the grid at its full
power (not while its household answers a demand-response event, model.py), as long as it holds
less than its household will need from it over the coming day: by the household's own forecast of
its load before the battery (consumption less PV, `own_load_forecast_wh`: each time of day's mean
over its past days, up to FORECAST_DAYS, the rule demand response's baseline takes), what the
battery must hold now to cover each forecast deficit, once its forecast PV surplus has refilled what
it can (`stored_need_wh`, at the battery's one-way efficiency each way). Energy beyond that would be
bought only to push the household's own PV out to the grid later. The battery's own limits (power,
capacity, losses; battery.py) and the model's Wh identities hold as before, with the energy drawn
from the grid for the battery counted apart (model.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from energy_grid.domain.pricing import dynamic_price
from energy_grid.domain.units import INTERVALS_PER_DAY

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

W_PER_KW = 1_000
PRICE_HOLD_INTERVALS = 4  # a cleared price is taken to hold for the hour after its interval
FORECAST_DAYS = 5  # the past days the expected load is taken from (DemandResponse's baseline days)
# A car charger takes prices within 10 % of the base price of the session's cheapest as equal: four
# 5 kW steps of a 100 kVA feeder's expected tariff (the module docstring).
EV_PRICE_BAND_BPS = 1_000


@dataclass(frozen=True)
class FlexSettings:
    """Flexible load in a model run: the grid's base price (PaymentToken base units per kWh, the
    tariff at no load) and whether each feeder is a market zone of its own, whose cleared prices its
    households see (a zoned market), or the community one zone."""

    base_price_per_kwh: int
    zoned: bool


@dataclass(frozen=True)
class ClearedPrice:
    """A zone's latest market that traded: its interval (the model's index) and its price."""

    interval: int
    price_per_kwh: int


def expected_tariff_per_kwh(headroom: Sequence[int], rating_kw: int, base_price_per_kwh: int) -> list[int]:
    """The grid tariff (GridManagement's dynamic price) at the load each interval's headroom leaves."""
    rating_w = rating_kw * W_PER_KW
    return [dynamic_price(base_price_per_kwh, (rating_kw - kw) * W_PER_KW, rating_w) for kw in headroom]


def price_forecast_per_kwh(
    now: int, horizon: int, tariff_by_time_of_day: Sequence[int], last_cleared: ClearedPrice | None, base_price_per_kwh: int
) -> IntArray:
    """The zone's forecast for intervals now, now + 1, …, now + horizon − 1 (the module docstring):
    the last cleared price, when below `base_price_per_kwh`, for the intervals up to
    PRICE_HOLD_INTERVALS after it; the expected tariff at each interval's time of day elsewhere.
    Interval indices count from a midnight."""
    intervals = np.arange(now, now + horizon)
    forecast = np.asarray(tariff_by_time_of_day, dtype=np.int64)[intervals % INTERVALS_PER_DAY]
    if last_cleared is not None and last_cleared.price_per_kwh < base_price_per_kwh:
        held = intervals <= last_cleared.interval + PRICE_HOLD_INTERVALS
        forecast[held] = last_cleared.price_per_kwh
    return forecast


def ev_charging_plan_wh(
    need_wh: float, available_h: npt.ArrayLike, power_w: int, prices: npt.ArrayLike, band_per_kwh: int
) -> FloatArray:
    """Energy (Wh) to charge in each interval of a session: the cheapest price band first (prices
    within `band_per_kwh` above the session's cheapest, then the next band), each interval at most
    `power_w` for the `available_h` hours the car is plugged in during it; the band that completes
    `need_wh` shares the rest among its intervals in proportion to their room. Less than `need_wh`
    only when the whole session has no more room."""
    room_wh = np.asarray(available_h, dtype=np.float64) * power_w
    price_of = np.asarray(prices, dtype=np.int64)
    if room_wh.shape != price_of.shape:
        raise ValueError("a session needs one availability and one price per interval")
    if band_per_kwh < 1:
        raise ValueError(f"a price band must be at least one unit wide, got {band_per_kwh}")
    plan = np.zeros(len(room_wh))
    if not len(plan):
        return plan
    bands = (price_of - price_of.min()) // (band_per_kwh + 1)  # band 0: the cheapest to cheapest + band
    left_wh = max(0.0, need_wh)
    for band in np.unique(bands):  # ascending
        at = (bands == band) & (room_wh > 0)
        band_room_wh = float(room_wh[at].sum())
        if left_wh <= 0 or band_room_wh <= 0:
            continue
        share = min(1.0, left_wh / band_room_wh)
        plan[at] = room_wh[at] * share
        left_wh -= band_room_wh * share
    return plan


def own_load_forecast_wh(past_days_wh: npt.ArrayLike, now: int, horizon: int) -> FloatArray:
    """A household's own forecast of its load before its battery (consumption − PV, Wh) for
    intervals now, now + 1, …, now + horizon − 1 (indices from a midnight): each time of day's mean
    over `past_days_wh` (days × intervals of a day, the latest last)."""
    past = np.asarray(past_days_wh, dtype=np.float64)
    if past.shape[1:] != (INTERVALS_PER_DAY,) or not len(past):
        raise ValueError(f"a household's own forecast needs whole past days of {INTERVALS_PER_DAY} intervals")
    return np.asarray(past.mean(axis=0)[np.arange(now, now + horizon) % INTERVALS_PER_DAY], dtype=np.float64)


def stored_need_wh(forecast_load_wh: npt.ArrayLike, one_way_efficiency: float) -> int:
    """What a battery must hold now so that, following its household's forecast load before it
    (`forecast_load_wh`, from now: a deficit above 0 that it covers, a PV surplus below 0 that
    refills it), it covers every deficit to the forecast's end: worked back from the end, an
    interval's deficit drawn at the battery's one-way efficiency, plus what the intervals after it
    need beyond what its surplus stores. Whole Wh, rounded up."""
    need_wh = 0.0
    for load_wh in np.asarray(forecast_load_wh, dtype=np.float64)[::-1]:
        if load_wh >= 0:
            need_wh += load_wh / one_way_efficiency
        else:
            need_wh = max(0.0, need_wh + load_wh * one_way_efficiency)
    return math.ceil(need_wh)


def grid_charge_pays(price_per_kwh: int, dearest_per_kwh: int, base_price_per_kwh: int, round_trip_efficiency: float) -> bool:
    """Whether a battery charges from the grid now (the module docstring): the forecast price is
    below the tariff's floor (the base price: the zone has surplus) and, after the round-trip losses,
    below the dearest forecast price to come."""
    return price_per_kwh < base_price_per_kwh and price_per_kwh < dearest_per_kwh * round_trip_efficiency


__all__ = [
    "EV_PRICE_BAND_BPS",
    "ClearedPrice",
    "FlexSettings",
    "ev_charging_plan_wh",
    "expected_tariff_per_kwh",
    "grid_charge_pays",
    "own_load_forecast_wh",
    "price_forecast_per_kwh",
    "stored_need_wh",
]
