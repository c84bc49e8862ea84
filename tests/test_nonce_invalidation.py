"""A signer withdraws what it signed before anyone relays it: invalidateNonces raises its nonce, so
the signed messages below it can no longer be submitted. EnergyTrading: the trader, for its orders
and cancellations. SmartMeter: the meter's own key, for its signed readings (the owner cannot, or
it could move metered energy between intervals). Lowering a nonce is refused; both stay open
during a pause."""

from __future__ import annotations

import pytest

from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE
from energy_grid.signing.orders import sign_cancel, sign_order
from energy_grid.signing.readings import sign_reading

from support.helpers import log, reverts
from support.market_helpers import BUY, PRICE, SELL, create, relay, signed_order

SIGNATURE_WINDOW = 600
MAX_TRADER_NONCE = 2**64 - 1
MAX_READING_NONCE = 2**32 - 1
REGION = 1


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin, meter_device, owner):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


# ----------------------------------------------------------------------------- EnergyTrading


def test_a_trader_voids_its_signed_orders_before_they_are_relayed(m, seller, keeper, wallets, chain, expiry):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    first = signed_order(m, seller, 1_000, PRICE, SELL, expiry, deadline, nonce=0)
    second = signed_order(m, seller, 2_000, PRICE, SELL, expiry, deadline, nonce=1)
    signatures = [sign_order(o, seller.private_key, m.address, chain.chain_id) for o in (first, second)]
    tx = m.invalidateNonces(2, sender=seller)
    assert tx.events == [log(m.NoncesInvalidated, trader=seller.address, previousNonce=0, newNonce=2)]
    assert m.nonces(seller) == 2
    before = wallets.read()
    for order, signature in zip((first, second), signatures, strict=True):
        with reverts(m.InvalidNonce, trader=seller.address, nonce=order.nonce, currentNonce=2):
            relay(m, order, signature, keeper)
    assert wallets.read() == before
    # The next message carries the new nonce and goes through.
    third = signed_order(m, seller, 500, PRICE, SELL, expiry, deadline)
    assert third.nonce == 2
    relay(m, third, sign_order(third, seller.private_key, m.address, chain.chain_id), keeper)
    assert m.nonces(seller) == 3


def test_a_trader_voids_a_signed_cancellation(m, seller, keeper, chain, expiry):
    order_id = create(m, seller, 1_000, PRICE, SELL, expiry)
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    signature = sign_cancel(order_id, 0, deadline, seller.private_key, m.address, chain.chain_id)
    m.invalidateNonces(1, sender=seller)
    with reverts(m.InvalidNonce, trader=seller.address, nonce=0, currentNonce=1):
        m.cancelOrderBySig(order_id, 0, deadline, *signature.args(), sender=keeper)
    assert m.getOrderInfo(order_id).status == 0  # still ACTIVE


def test_a_trader_nonce_only_goes_up_and_stays_in_range(m, buyer, stranger):
    m.invalidateNonces(5, sender=buyer)
    for lower in (5, 4, 0):
        with reverts(m.NonceNotRaised, trader=buyer.address, newNonce=lower, currentNonce=5):
            m.invalidateNonces(lower, sender=buyer)
    with reverts(m.NonceNotRaised, trader=buyer.address, newNonce=MAX_TRADER_NONCE + 1, currentNonce=5):
        m.invalidateNonces(MAX_TRADER_NONCE + 1, sender=buyer)
    m.invalidateNonces(MAX_TRADER_NONCE, sender=buyer)
    assert m.nonces(buyer) == MAX_TRADER_NONCE
    # Only the caller's own nonce moves.
    assert m.nonces(stranger) == 0


def test_a_trader_voids_signed_orders_during_a_pause(m, admin, buyer, keeper, chain, expiry):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    order = signed_order(m, buyer, 1_000, PRICE, BUY, expiry, deadline)
    signature = sign_order(order, buyer.private_key, m.address, chain.chain_id)
    m.pause(sender=admin)
    m.invalidateNonces(1, sender=buyer)
    m.unpause(sender=admin)
    with reverts(m.InvalidNonce, trader=buyer.address, nonce=0, currentNonce=1):
        relay(m, order, signature, keeper)


# ----------------------------------------------------------------------------- SmartMeter


@pytest.fixture
def signed_meter(smart_meter, admin, owner, meter_device, chain):
    """meter_device registered to owner with registers 0; returns the registration time."""
    return smart_meter.registerMeter(meter_device, owner, REGION, 0, 0, sender=admin).timestamp


def signed(smart_meter, device, nonce, ts, production_wh, chain):
    reading = (ts, 0, production_wh, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)
    return sign_reading(device.private_key, chain.chain_id, smart_meter.address, nonce, ts + 3_600, reading)


def test_a_meter_voids_its_signed_readings_before_they_are_relayed(
    smart_meter, energy_token, owner, stranger, meter_device, signed_meter, chain
):
    ts = signed_meter + 60
    held = energy_token.balanceOf(owner)
    entries = [signed(smart_meter, meter_device, n, ts + 60 * n, 100 * (n + 1), chain) for n in (0, 1)]
    tx = smart_meter.invalidateNonces(2, sender=meter_device)
    assert tx.events == [
        log(smart_meter.ReadingNoncesInvalidated, meter=meter_device.address, previousNonce=0, newNonce=2)
    ]
    assert smart_meter.nonces(meter_device) == 2
    chain.pending_timestamp = ts + 60
    for entry in entries:
        with reverts(smart_meter.InvalidReadingNonce, meter=meter_device.address, nonce=entry.nonce, expectedNonce=2):
            smart_meter.submitSignedReadings([entry.as_tuple()], sender=stranger)
    assert energy_token.balanceOf(owner) == held
    # A reading signed with the new nonce counts everything metered since (registers are cumulative).
    chain.pending_timestamp = ts + 120
    fresh = signed(smart_meter, meter_device, 2, ts + 120, 300, chain)
    smart_meter.submitSignedReadings([fresh.as_tuple()], sender=stranger)
    assert energy_token.balanceOf(owner) == held + 300
    assert smart_meter.nonces(meter_device) == 3


def test_only_the_meter_itself_voids_its_readings(smart_meter, admin, owner, stranger, meter_device, signed_meter):
    # The owner is no meter: it cannot skip the device's nonces.
    for caller in (owner, stranger, admin):
        with reverts(smart_meter.MeterUnknown, meter=caller.address):
            smart_meter.invalidateNonces(1, sender=caller)
    assert smart_meter.nonces(meter_device) == 0


def test_a_meter_nonce_only_goes_up_and_stays_in_range(smart_meter, admin, meter_device, signed_meter):
    smart_meter.grantRole(smart_meter.PAUSER_ROLE(), admin, sender=admin)
    smart_meter.pause(sender=admin)  # open during a pause: it holds no value and mints nothing
    assert smart_meter.MAX_READING_NONCE() == MAX_READING_NONCE
    smart_meter.invalidateNonces(3, sender=meter_device)
    for lower in (3, 2, 0):
        with reverts(smart_meter.ReadingNonceNotRaised, meter=meter_device.address, newNonce=lower, currentNonce=3):
            smart_meter.invalidateNonces(lower, sender=meter_device)
    with reverts(
        smart_meter.ReadingNonceNotRaised, meter=meter_device.address, newNonce=MAX_READING_NONCE + 1, currentNonce=3
    ):
        smart_meter.invalidateNonces(MAX_READING_NONCE + 1, sender=meter_device)
    assert smart_meter.MAX_READING_NONCE() == MAX_READING_NONCE
    smart_meter.invalidateNonces(MAX_READING_NONCE, sender=meter_device)
    assert smart_meter.nonces(meter_device) == MAX_READING_NONCE
