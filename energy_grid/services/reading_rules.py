"""What SmartMeter checks a reading against, checked before anything is sent.

A gateway batch reverts whole when one of its readings breaks a rule, so the services that relay
readings (CSV ingestion, the MQTT gateway) refuse a bad reading on its own first, with the reason,
and send only what the contract will take. Each refusal has a stable code (what a device or a
dashboard reads) and a sentence (what an operator reads in a log).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from energy_grid.contracts.structs import MeterReading
from energy_grid.domain.units import DAY_SECONDS


class RefusalCode(StrEnum):
    """Why a reading is refused; the values are the documented reason codes."""

    REGISTER_TOO_LARGE = "register-too-large"
    FREQUENCY_OUT_OF_BOUNDS = "frequency-out-of-bounds"
    VOLTAGE_OUT_OF_BOUNDS = "voltage-out-of-bounds"
    NOT_AFTER_PREVIOUS = "not-after-previous"
    TOO_FREQUENT = "too-frequent"
    REGISTER_DECREASED = "register-decreased"
    IN_FUTURE = "in-future"
    TOO_OLD = "too-old"


@dataclass(frozen=True)
class Refusal:
    code: RefusalCode
    message: str


@dataclass(frozen=True)
class ChainLimits:
    """What SmartMeter checks a reading against, read from the chain."""

    now_s: int  # no reading may be later (the latest block's time, or the clock if later)
    min_interval_s: int  # minReadingInterval()
    max_age_s: int  # maxReadingAge()
    max_register_wh: int
    min_frequency_millihz: int
    max_frequency_millihz: int
    min_voltage_per_mille: int
    max_voltage_per_mille: int


def format_time(timestamp_s: int) -> str:
    return datetime.fromtimestamp(timestamp_s, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def check_bounds(r: MeterReading, limits: ChainLimits) -> Refusal | None:
    """The reading on its own: registers a meter can hold, a frequency and a voltage of a live grid."""
    for column, value in (("consumption_wh", r.consumption_wh), ("production_wh", r.production_wh)):
        if value > limits.max_register_wh:
            return Refusal(
                RefusalCode.REGISTER_TOO_LARGE,
                f"{column} {value:,} Wh is beyond any meter register (at most {limits.max_register_wh:,} Wh)",
            )
    if not limits.min_frequency_millihz <= r.frequency_millihz <= limits.max_frequency_millihz:
        return Refusal(
            RefusalCode.FREQUENCY_OUT_OF_BOUNDS,
            f"grid frequency {r.frequency_millihz:,} mHz is outside {limits.min_frequency_millihz:,}"
            f"–{limits.max_frequency_millihz:,} mHz",
        )
    if not limits.min_voltage_per_mille <= r.voltage_per_mille <= limits.max_voltage_per_mille:
        return Refusal(
            RefusalCode.VOLTAGE_OUT_OF_BOUNDS,
            f"voltage {r.voltage_per_mille} ‰ of nominal is outside {limits.min_voltage_per_mille}"
            f"–{limits.max_voltage_per_mille} ‰",
        )
    return None


def check_after(r: MeterReading, before: MeterReading, what: str, limits: ChainLimits) -> Refusal | None:
    """The reading after the meter's previous one (`what` names it in the message): later by at
    least the minimum interval, with registers that never go backwards."""
    if r.timestamp <= before.timestamp:
        return Refusal(
            RefusalCode.NOT_AFTER_PREVIOUS,
            f"timestamp {format_time(r.timestamp)} is not after {what} ({format_time(before.timestamp)}): out of order",
        )
    if r.timestamp < before.timestamp + limits.min_interval_s:
        return Refusal(
            RefusalCode.TOO_FREQUENT,
            f"timestamp {format_time(r.timestamp)} is only {r.timestamp - before.timestamp} s after {what}; "
            f"SmartMeter takes one reading per {limits.min_interval_s} s at most",
        )
    if r.consumption_wh < before.consumption_wh:
        return Refusal(
            RefusalCode.REGISTER_DECREASED,
            f"import register {r.consumption_wh:,} Wh is below {what} ({before.consumption_wh:,} Wh): registers never go backwards",
        )
    if r.production_wh < before.production_wh:
        return Refusal(
            RefusalCode.REGISTER_DECREASED,
            f"export register {r.production_wh:,} Wh is below {what} ({before.production_wh:,} Wh): registers never go backwards",
        )
    return None


def check_time(r: MeterReading, limits: ChainLimits) -> Refusal | None:
    """The reading against the chain's clock: not in the future, not older than SmartMeter keeps."""
    if r.timestamp > limits.now_s:
        return Refusal(
            RefusalCode.IN_FUTURE,
            f"timestamp {format_time(r.timestamp)} is in the future (chain time {format_time(limits.now_s)}); a later run takes it",
        )
    if r.timestamp < limits.now_s - limits.max_age_s:
        return Refusal(
            RefusalCode.TOO_OLD,
            f"timestamp {format_time(r.timestamp)} is older than SmartMeter accepts "
            f"({limits.max_age_s / DAY_SECONDS:g} days before chain time {format_time(limits.now_s)})",
        )
    return None
