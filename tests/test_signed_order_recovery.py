"""EnergyTrading: a signature that recovers to no address never passes for any trader, the zero
address included; every signed path (createOrderBySig, cancelOrderBySig) refuses it with
InvalidSigner before anything else happens, as SmartMeter's signed readings do."""

from __future__ import annotations

from typing import Any

import pytest

from energy_grid.domain.enums import OrderType
from energy_grid.signing.orders import SignedOrder, sign_order

from support.helpers import ZERO_ADDRESS, reverts
from support.market_helpers import PRICE, SELL, create, relay, signed_order

SIGNATURE_WINDOW = 600
NOT_A_SIGNATURE = (27, b"\0" * 32, b"\0" * 32)  # r = 0: ecrecover finds no address
ALSO_NOT_A_SIGNATURE = (29, b"\x11" * 32, b"\x22" * 32)  # v outside {27, 28}


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_market, keeper, fee_recipient, stranger, admin):
    """Deploy and fund the market, and name the accounts, before any test's own state (ape isolation)."""


def zero_trader_order(chain: Any, expiry: int) -> SignedOrder:
    return SignedOrder(ZERO_ADDRESS, 1_000, PRICE, expiry, OrderType(SELL), 0, chain.pending_timestamp + SIGNATURE_WINDOW)


def test_a_garbage_signature_does_not_pass_for_trader_zero(m, keeper, wallets, chain, expiry):
    order = zero_trader_order(chain, expiry)
    before = wallets.read()
    for garbage in (NOT_A_SIGNATURE, ALSO_NOT_A_SIGNATURE):
        with reverts(m.InvalidSigner, trader=ZERO_ADDRESS, signer=ZERO_ADDRESS):
            m.createOrderBySig(order.as_tuple(), *garbage, [], sender=keeper)
    assert m.nonces(ZERO_ADDRESS) == 0
    assert m.orderCount() == 0
    assert wallets.read() == before


def test_a_real_signature_does_not_pass_for_trader_zero_either(m, seller, keeper, chain, expiry):
    order = zero_trader_order(chain, expiry)
    signature = sign_order(order, seller.private_key, m.address, chain.chain_id)
    with reverts(m.InvalidSigner, trader=ZERO_ADDRESS, signer=seller.address):
        relay(m, order, signature, keeper)


def test_a_garbage_signature_does_not_pass_for_a_real_trader(m, seller, keeper, chain, expiry):
    order = signed_order(m, seller, 1_000, PRICE, SELL, expiry, chain.pending_timestamp + SIGNATURE_WINDOW)
    for garbage in (NOT_A_SIGNATURE, ALSO_NOT_A_SIGNATURE):
        with reverts(m.InvalidSigner, trader=seller.address, signer=ZERO_ADDRESS):
            m.createOrderBySig(order.as_tuple(), *garbage, [], sender=keeper)
    assert m.nonces(seller) == 0


def test_a_garbage_cancellation_is_refused(m, seller, keeper, chain, expiry):
    order_id = create(m, seller, 1_000, PRICE, SELL, expiry)
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    for garbage in (NOT_A_SIGNATURE, ALSO_NOT_A_SIGNATURE):
        with reverts(m.InvalidSigner, trader=seller.address, signer=ZERO_ADDRESS):
            m.cancelOrderBySig(order_id, 0, deadline, *garbage, sender=keeper)
    assert m.getOrderInfo(order_id).status == 0  # still ACTIVE
    assert m.nonces(seller) == 0
