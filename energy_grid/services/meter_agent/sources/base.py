"""What every meter source gives the agent: the meter's cumulative registers, read when asked.

A source reads the meter's own protocol and answers `read()` with the registers as the meter shows
them now, in SmartMeter's units: import and export in whole Wh, voltage in per mille of the nominal
230 V and frequency in mHz where the meter gives them (None where it does not: the reading then
carries the nominal). Anything wrong with the meter's answer (no answer in time, a bad checksum, a
field missing) raises SourceError with one sentence for the log; the agent makes no reading for
that interval and goes on. A new source is one module with one class of this shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Protocol

from energy_grid.domain.units import VOLTAGE_NOMINAL_PER_MILLE, WH_PER_KWH

VOLTAGE_NOMINAL_V = Decimal(230)  # the low-voltage grid's nominal (EN 50160), SmartMeter's 1,000 per mille
MILLIHZ_PER_HZ = 1_000


class SourceError(Exception):
    """The meter gave no usable registers this time; the message says why in one sentence."""


@dataclass(frozen=True)
class Registers:
    """The meter's registers at one moment."""

    import_wh: int  # energy taken from the grid, cumulative
    export_wh: int  # energy fed into the grid, cumulative
    voltage_per_mille: int | None = None
    frequency_millihz: int | None = None


class MeterSource(Protocol):
    """One meter protocol. `describe` names the meter for the log ("DSMR 5 on socket://…")."""

    def describe(self) -> str: ...

    def start(self) -> None:
        """Connects what the source needs before its first read (a broker's subscription);
        ServiceError, one sentence, when it cannot."""
        ...

    def read(self, timeout_s: float) -> Registers:
        """The registers now; SourceError when the meter does not give them within `timeout_s`."""
        ...

    def close(self) -> None: ...


def wh_of(value: Decimal, unit: str) -> int:
    """An energy in `unit` ("kWh" or "Wh") as whole Wh, exactly; a fraction of a Wh (a meter showing
    more than three decimals of kWh) is cut off, as a register counts a Wh once it is complete."""
    wh = value * WH_PER_KWH if unit == "kWh" else value
    return int(wh.to_integral_value(ROUND_FLOOR))


def per_mille_of_volts(value: Decimal) -> int:
    """A voltage in V as per mille of the nominal 230 V, to the nearest."""
    return int((value * VOLTAGE_NOMINAL_PER_MILLE / VOLTAGE_NOMINAL_V).to_integral_value(ROUND_HALF_UP))


def millihz_of_hz(value: Decimal) -> int:
    return int((value * MILLIHZ_PER_HZ).to_integral_value(ROUND_HALF_UP))


def decimal_of(value: object, what: str) -> Decimal:
    """A number the meter sent (int, float, Decimal or decimal text) as a Decimal; SourceError if it
    is none, or negative."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise SourceError(f"{what} is {value!r}, not a number")
    try:
        # A float goes through its shortest text (12.345, not 12.3449999…): what the meter wrote.
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise SourceError(f"{what} is {value!r}, not a number") from None
    if not number.is_finite() or number < 0:
        raise SourceError(f"{what} is {value!r}, not a register value")
    return number


__all__ = [
    "MeterSource",
    "Registers",
    "SourceError",
    "decimal_of",
    "millihz_of_hz",
    "per_mille_of_volts",
    "wh_of",
]
