"""Shared by the SmartMeter test modules: its constants, moving the clock to interval and day
starts, the mock logs of an accepted reading and of minted and burned Wh, and a standing order's
settlement, packed and unpacked."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from energy_grid.chain.events import unpacked
from energy_grid.domain.units import (
    DAY_SECONDS,
    FREQUENCY_NOMINAL_MILLIHZ,
    INTERVAL_SECONDS,
    INTERVALS_PER_DAY,
    VOLTAGE_NOMINAL_PER_MILLE,
    day_of,
    interval_of,
)
from energy_grid.services.reading_rules import ChainLimits

from support.helpers import ZERO_ADDRESS, log, role

OPERATOR_ROLE = role("OPERATOR_ROLE")
GATEWAY_ROLE = role("GATEWAY_ROLE")
PAUSER_ROLE = role("PAUSER_ROLE")
METER_ROLE = role("METER_ROLE")

PROFILE_CAPACITY = 35 * INTERVALS_PER_DAY
MAX_BATCH_SIZE = 100
MAX_HISTORY_PAGE = INTERVALS_PER_DAY
MAX_REGISTER_WH = 2**48 - 1
MAX_INTERVAL_ENERGY_WH = 2**27 - 1
MAX_INTERVAL = 2**16 * PROFILE_CAPACITY - 1  # the profile's 65,536 laps of 35 days
DEFAULT_MIN_READING_INTERVAL = 60
DEFAULT_MAX_READING_AGE = 7 * DAY_SECONDS
MAX_READING_AGE_FLOOR = INTERVAL_SECONDS
MAX_READING_AGE_CEILING = (PROFILE_CAPACITY - 1) * INTERVAL_SECONDS
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
REGION = 7
EMPTY_READING = (0, 0, 0, 0, 0)


def next_interval_start(chain: Any, offset: int = 0) -> int:
    """Moves the next block to `offset` s into the next 900 s interval; returns that timestamp."""
    ts = (interval_of(chain.pending_timestamp) + 1) * INTERVAL_SECONDS + offset
    chain.pending_timestamp = ts
    return ts


def next_day_start(chain: Any, offset: int = 0) -> int:
    """Moves the next block to `offset` s into the next UTC day; returns that timestamp."""
    ts = (day_of(chain.pending_timestamp) + 1) * DAY_SECONDS + offset
    chain.pending_timestamp = ts
    return ts


def accepted(smart_meter, meter, ts, consumed=0, produced=0):
    """The ReadingAccepted log expected, packed as ISmartMeterRegistry lays it out (written out here, so
    that the contract's packing is checked against the layout)."""
    return log(smart_meter.ReadingAccepted, meter=meter, reading=ts | consumed << 40 | produced << 80)


def minted(energy_token, to, amount):
    return log(energy_token.Transfer, **{"from": ZERO_ADDRESS, "to": to, "value": amount})


def burned(energy_token, holder, amount):
    return log(energy_token.Transfer, **{"from": holder, "to": ZERO_ADDRESS, "value": amount})


def settled_orders(market, meter, period, ask_wh=0, sold_wh=0, proceeds=0, bid_wh=0, bought_wh=0, paid=0):
    """The MeteredOrdersSettled log expected of `market`, its figures packed as IMeteredMarket lays
    them out (written out here, so that the contract's packing is checked against the layout)."""
    return log(
        market.MeteredOrdersSettled,
        meter=meter,
        periodAndVolumes=period | ask_wh << 40 | sold_wh << 80 | bid_wh << 120 | bought_wh << 160,
        payments=proceeds | paid << 128,
    )


def fill_of(event: Any) -> SimpleNamespace:
    """A MeteredOrdersSettled log's figures by name (period, askWh, soldWh, proceeds, bidWh, boughtWh,
    paid) beside its meter and contract, from ape's decoded log or web3's."""
    args = event.event_arguments if hasattr(event, "event_arguments") else event.args
    return SimpleNamespace(**unpacked("MeteredOrdersSettled", dict(args)), contract_address=getattr(event, "contract_address", None))


def fills_in(tx: Any) -> list[SimpleNamespace]:
    """The MeteredOrdersSettled logs of an ape receipt, unpacked, in order."""
    return [fill_of(e) for e in tx.events if e.event_name == "MeteredOrdersSettled"]


def submit_at(smart_meter, chain, device, block_ts, reading_ts, consumption, production):
    """Submits a reading timed `reading_ts` in a block at `block_ts`."""
    chain.pending_timestamp = block_ts
    reading = (reading_ts, consumption, production, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)
    return smart_meter.submitReading(reading, sender=device)


def sample_limits(now_s: int) -> ChainLimits:
    """SmartMeter's rules at chain time `now_s` as a fresh deployment has them, for the gateway's
    checks without a chain (registers capped far below the contract's bound, which no test nears)."""
    return ChainLimits(
        now_s=now_s,
        min_interval_s=DEFAULT_MIN_READING_INTERVAL,
        max_age_s=DEFAULT_MAX_READING_AGE,
        max_register_wh=10**12,
        min_frequency_millihz=45_000,
        max_frequency_millihz=65_000,
        min_voltage_per_mille=500,
        max_voltage_per_mille=1_500,
    )


def oldest_retained_interval(now_interval: int) -> int:
    """The oldest interval the load profile still holds in interval `now_interval`: the
    PROFILE_CAPACITY intervals up to the current one."""
    return now_interval - PROFILE_CAPACITY + 1
