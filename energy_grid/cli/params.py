"""Command-line values in human units, converted exactly to the contracts' integers.

`--amount-kwh 1.5` is 1,500 Wh and `--price 0.21` is 210,000 base units of a 6-decimal
PaymentToken per kWh: parsed as Decimal, never float, and refused when the value has more
precision than the contract's unit can carry (1.2345 kWh is not a whole number of Wh).

Power follows one rule: an option the specification names in MW (`grid load --capacity-mw`) keeps
its name and takes MW to the contracts' kW resolution, at most three decimals (0.090 is 90 kW);
every other power option is named and given in kW (`dr start --target-kw`, `assets mint --capacity-kw`).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import click
from web3 import Web3

from energy_grid.domain.units import MAX_UINT256, WH_PER_KWH

KW_PER_MW = 1_000


class DecimalParam(click.ParamType):
    """A positive decimal number, exact: every amount, price and capacity the contracts take is more
    than 0, and a zero is the user's slip to name (exit 2), not a transaction for the chain to refuse."""

    name = "decimal"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            number = Decimal(str(value).replace("_", "").replace(",", ""))
        except InvalidOperation:
            self.fail(f"{value!r} is not a number.", param, ctx)
        if not number.is_finite():
            self.fail(f"{value!r} is not a number.", param, ctx)
        if number <= 0:
            self.fail(f"{value!r}: must be more than 0.", param, ctx)
        return number


class AddressParam(click.ParamType):
    """A 20-byte hex address, returned checksummed. All lower or all upper case is taken as is; mixed
    case must be the address's EIP-55 checksum (as the API requires): a mistyped digit is refused
    rather than sent to another account."""

    name = "address"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not Web3.is_address(text.lower()):
            self.fail(f"{value!r} is not an address (0x and 40 hex digits).", param, ctx)
        digits = text[2:]
        if digits not in (digits.lower(), digits.upper()) and not Web3.is_checksum_address(text):
            self.fail(
                f"{value!r} fails its EIP-55 checksum (a mistyped character?): copy the address again, "
                "or give it in lower case.",
                param,
                ctx,
            )
        return str(Web3.to_checksum_address(text.lower()))


class MegawattsParam(click.ParamType):
    """Power in MW, exact to the kW the contracts carry (at most three decimals), returned in kW; at
    least `minimum_kw`. A negative, a fourth decimal or a thousands comma (0,090 would be 90 MW to
    one reader and 0.09 MW to another) is the user's slip to name (exit 2)."""

    name = "mw"

    def __init__(self, minimum_kw: int = 0) -> None:
        self.minimum_kw = minimum_kw

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            number = Decimal(str(value).replace("_", ""))
        except InvalidOperation:
            self.fail(f"{value!r} is not a number of MW (e.g. 0.090 for 90 kW).", param, ctx)
        if not number.is_finite():
            self.fail(f"{value!r} is not a number of MW (e.g. 0.090 for 90 kW).", param, ctx)
        if number < 0:
            self.fail(f"{value!r}: power in MW cannot be negative.", param, ctx)
        power_kw = number * KW_PER_MW
        if power_kw != power_kw.to_integral_value():
            self.fail(f"{value!r} MW has more than three decimals: the grid carries whole kW (0.001 MW).", param, ctx)
        if power_kw < self.minimum_kw:
            self.fail(f"{value!r}: must be at least {Decimal(self.minimum_kw) / KW_PER_MW:f} MW.", param, ctx)
        if power_kw > MAX_UINT256:
            self.fail(f"{value!r} MW is beyond any grid.", param, ctx)
        return int(power_kw)


DECIMAL = DecimalParam()
ADDRESS = AddressParam()


def scaled_integer(value: Decimal, scale: int, what: str, option: str) -> int:
    """`value` × `scale` as an exact integer; a usage error naming `option` (exit 2) when it is not one."""
    scaled = value * scale
    if scaled != scaled.to_integral_value():
        raise click.BadParameter(f"{value:f} {what} has more decimals than the contract's unit carries.", param_hint=f"'{option}'")
    return int(scaled)


def kwh_to_wh(amount_kwh: Decimal, option: str = "--amount-kwh") -> int:
    return scaled_integer(amount_kwh, WH_PER_KWH, "kWh", option)


def to_base_units(amount: Decimal, decimals: int, symbol: str, option: str) -> int:
    """Whole token units (e.g. 0.21) to base units (210,000 at 6 decimals), exact."""
    return scaled_integer(amount, 10**decimals, symbol or "token units", option)


def energy_wh(amount_kwh: Decimal | None, amount_wh: int | None) -> int:
    """The one of --amount-kwh / --amount-wh the user gave, in Wh."""
    if amount_kwh is not None and amount_wh is not None:
        raise click.UsageError("Give the amount once: --amount-kwh or --amount-wh.")
    if amount_kwh is not None:
        return kwh_to_wh(amount_kwh)
    if amount_wh is None:
        raise click.UsageError("Missing the amount: --amount-kwh (e.g. 1.5) or --amount-wh (e.g. 1500).")
    return amount_wh
