"""Operator actions shared by the demo, the benchmark and the tests."""

from __future__ import annotations

from typing import Any

from eth_account import Account

from energy_grid.domain.enums import OrderType
from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, MAX_UINT256, VOLTAGE_NOMINAL_PER_MILLE

BUY, SELL = int(OrderType.BUY), int(OrderType.SELL)  # plain ints, as ape passes them


def meter_energy(system: Any, gateway: Any, chain: Any, holders: list[Any], amount_wh: int) -> None:
    """Gives each holder `amount_wh` EnergyToken the only way there is: a meter of theirs exports it.

    Registers one fresh meter per holder (installation registers 0) and submits one gateway batch.
    """
    meter_energy_with(system.smart_meter, gateway, chain, holders, amount_wh)


def meter_energy_with(meter: Any, gateway: Any, chain: Any, holders: list[Any], amount_wh: int) -> None:
    """`meter_energy` on the SmartMeter `meter` (a benchmark's own contracts rather than a System)."""
    devices = [Account.create().address for _ in holders]
    for device, holder in zip(devices, holders, strict=True):
        meter.registerMeter(device, holder, 1, 0, 0, sender=gateway)
    # Registration counts as the previous reading: wait out the minimum interval.
    chain.pending_timestamp += int(meter.minReadingInterval())
    timestamp = chain.pending_timestamp
    readings = [(timestamp, 0, amount_wh, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE) for _ in devices]
    meter.submitReadings(devices, readings, sender=gateway)


def approve_market(system: Any, traders: list[Any]) -> None:
    """Each trader approves EnergyTrading in the vault and lets the vault pull both tokens: an order's
    escrow comes from the vault balance, a shortfall from the wallet."""
    approve_vault_market(system, system.energy_trading, traders)


def deposit_to_vault(system: Any, traders: list[Any], energy_wh: int, payment: int) -> None:
    """Each trader (who allowed the vault both tokens) deposits up to `energy_wh` EnergyToken and up to
    `payment` PaymentToken base units of what its wallet holds."""
    for trader in traders:
        for token, most in ((system.energy_token, energy_wh), (system.payment_token, payment)):
            amount = min(most, int(token.balanceOf(trader)))
            if amount:
                system.energy_vault.deposit(token, amount, sender=trader)


def approve_vault_market(system: Any, market: Any, traders: list[Any]) -> None:
    """Each trader lets the vault pull both tokens (so an order from an empty vault balance pulls its
    escrow from the wallet) and approves `market` (the order book or an auction) in the vault."""
    for trader in traders:
        approve_both_tokens(system, system.energy_vault, [trader])
        system.energy_vault.setMarketApproval(market, True, sender=trader)


def approve_both_tokens(system: Any, market: Any, traders: list[Any]) -> None:
    """Each trader approves `market` (the order book or an auction, which escrow both) for both tokens."""
    for trader in traders:
        system.energy_token.approve(market, MAX_UINT256, sender=trader)
        system.payment_token.approve(market, MAX_UINT256, sender=trader)
