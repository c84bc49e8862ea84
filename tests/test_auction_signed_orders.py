"""EnergyAuction: firm bids and asks that the trader signs (EIP-712) and anyone relays
(submitOrderBySig), and claims that a third party relays.

A relayed order is the signer's in every respect: the escrow leaves the signer's vault balance (so the
signer's market approval is required, as for submitBid), the OrderSubmitted event names the signer,
and the claim pays the signer whoever sends it. Every custom error is asserted with all of its
arguments and every event with all of its fields.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from eth_account import Account

from energy_grid.signing.auction import (
    AUCTION_ORDER_PRIMARY_TYPE,
    AUCTION_ORDER_TYPE,
    SignedAuctionOrder,
    recover_auction_order_signer,
    sign_auction_order,
)
from energy_grid.signing.eip712 import type_string

from support.auction_helpers import close_gate, cost_ceil, holdings, open_period, order_id, price
from support.helpers import ZERO_ADDRESS, assert_logs, log, reverts

SIGNATURE_WINDOW = 600  # a relayed order's deadline, seconds ahead
CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_auction, vault, auction_traders, keeper, stranger, admin):
    """Deploy and fund the auction, and name the accounts, before any test's own state (ape isolation)."""


@pytest.fixture
def period(chain):
    return open_period(chain)


def signed(a, trader, period, is_bid, amount_wh, limit_price_per_kwh, deadline, nonce=None):
    """An order of `trader` for the auction `a`, at the trader's current nonce unless given."""
    return SignedAuctionOrder(
        trader.address,
        period,
        is_bid,
        amount_wh,
        limit_price_per_kwh,
        int(a.nonces(trader)) if nonce is None else nonce,
        deadline,
    )


def relay(a, order, signature, relayer):
    return a.submitOrderBySig(order.as_tuple(), *signature.args(), sender=relayer)


def test_the_signed_order_type_matches_the_contracts(a, alice, keeper, chain, period):
    signed_type = type_string(AUCTION_ORDER_PRIMARY_TYPE, AUCTION_ORDER_TYPE)
    assert signed_type == (
        "AuctionOrder(address trader,uint256 period,bool isBid,uint256 amountWh,uint256 limitPricePerKWh,"
        "uint256 nonce,uint256 deadline,uint32 regionId)"
    )
    # The type hash's string in the contract and the type its interface documents for wallets are that one.
    for source in ("EnergyAuction.sol", "IEnergyAuction.sol"):
        text = (CONTRACTS / "market" / source).read_text()
        assert re.findall(r"AuctionOrder\([^)]*\)", text) == [signed_type], source
    # The auction accepts what the Python typed data signs: the domain and the type hash agree.
    order = signed(a, alice, period, True, 1_000, price(10), chain.pending_timestamp + SIGNATURE_WINDOW)
    signature = sign_auction_order(order, alice.private_key, a.address, chain.chain_id)
    assert recover_auction_order_signer(order, signature, a.address, chain.chain_id) == alice.address
    relay(a, order, signature, keeper)


@pytest.mark.parametrize("is_bid", [True, False], ids=["bid", "ask"])
def test_a_relayed_order_is_the_signers_and_escrows_from_the_signers_vault_balance(a, vault, alice, keeper, chain, period, is_bid):
    amount_wh, limit = 2_500, price(40)
    order = signed(a, alice, period, is_bid, amount_wh, limit, chain.pending_timestamp + SIGNATURE_WINDOW)
    assert order.nonce == 0
    before = holdings(vault, [alice, keeper, a])
    tx = relay(a, order, sign_auction_order(order, alice.private_key, a.address, chain.chain_id), keeper)
    escrow = cost_ceil(amount_wh, limit) if is_bid else amount_wh
    expected_id = order_id(period, is_bid, alice)
    assert tx.return_value == expected_id
    assert_logs(
        tx,
        log(
            a.OrderSubmitted,
            orderId=expected_id,
            period=period,
            trader=alice.address,
            isBid=is_bid,
            amountWh=amount_wh,
            limitPricePerKWh=limit,
            escrow=escrow,
        ),
    )
    moved = (0, escrow) if is_bid else (escrow, 0)
    after = holdings(vault, [alice, keeper, a])
    assert after[0] == (before[0][0] - moved[0], before[0][1] - moved[1])
    assert after[1] == before[1]  # the relayer paid gas only
    assert after[2] == (before[2][0] + moved[0], before[2][1] + moved[1])
    info = a.getOrder(expected_id)
    assert (info.trader, info.period, info.isBid, info.amountWh, info.limitPricePerKWh) == (alice.address, period, is_bid, amount_wh, limit)
    assert (a.nonces(alice), a.nonces(keeper)) == (1, 0)


def test_an_order_at_or_after_its_deadline_is_refused(a, alice, keeper, chain, period):
    deadline = chain.pending_timestamp + 60
    order = signed(a, alice, period, True, 1_000, price(10), deadline)
    signature = sign_auction_order(order, alice.private_key, a.address, chain.chain_id)
    chain.pending_timestamp = deadline  # the deadline's own second is too late
    with reverts(a.SignatureExpired, deadline=deadline, blockTimestamp=deadline):
        relay(a, order, signature, keeper)
    assert a.nonces(alice) == 0


def test_a_replayed_signature_and_a_nonce_ahead_are_refused(a, alice, keeper, stranger, chain, period):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    order = signed(a, alice, period, False, 1_000, price(10), deadline)
    signature = sign_auction_order(order, alice.private_key, a.address, chain.chain_id)
    relay(a, order, signature, keeper)
    # The same signature again, from anyone: its nonce is spent.
    with reverts(a.InvalidNonce, trader=alice.address, nonce=0, currentNonce=1):
        relay(a, order, signature, stranger)
    ahead = signed(a, alice, period, False, 1_000, price(10), deadline, nonce=5)
    with reverts(a.InvalidNonce, trader=alice.address, nonce=5, currentNonce=1):
        relay(a, ahead, sign_auction_order(ahead, alice.private_key, a.address, chain.chain_id), keeper)


def test_a_signature_that_is_not_the_traders_is_refused(a, project, admin, vault, fee_recipient, alice, bob, keeper, chain, period):
    chain_id = chain.chain_id
    order = signed(a, alice, period, True, 1_000, price(10), chain.pending_timestamp + SIGNATURE_WINDOW)
    # Another account's signature of alice's order.
    forged = sign_auction_order(order, bob.private_key, a.address, chain_id)
    with reverts(a.InvalidSigner, trader=alice.address, signer=bob.address):
        relay(a, order, forged, keeper)
    # Another chain's domain: the signature recovers to someone else.
    other_chain = sign_auction_order(order, alice.private_key, a.address, chain_id + 1)
    with reverts(a.InvalidSigner, trader=alice.address, signer=recover_auction_order_signer(order, other_chain, a.address, chain_id)):
        relay(a, order, other_chain, keeper)
    # Signed for other contents: a larger order than the one relayed.
    larger = SignedAuctionOrder(alice.address, period, True, 9_000, price(10), 0, order.deadline)
    other_contents = sign_auction_order(larger, alice.private_key, a.address, chain_id)
    with reverts(a.InvalidSigner, trader=alice.address, signer=recover_auction_order_signer(order, other_contents, a.address, chain_id)):
        relay(a, order, other_contents, keeper)
    good = sign_auction_order(order, alice.private_key, a.address, chain_id)
    # The malleable twin of the good signature, and a signature that recovers to no address.
    with reverts(a.InvalidSigner, trader=alice.address, signer=ZERO_ADDRESS):
        relay(a, order, good.malleated(), keeper)
    with reverts(a.InvalidSigner, trader=alice.address, signer=ZERO_ADDRESS):
        a.submitOrderBySig(order.as_tuple(), 29, good.r, good.s, sender=keeper)
    # A zero trader cannot be matched by a signature that recovers to no address.
    nobody = SignedAuctionOrder(ZERO_ADDRESS, period, True, 1_000, price(10), 0, order.deadline)
    with reverts(a.InvalidSigner, trader=ZERO_ADDRESS, signer=ZERO_ADDRESS):
        a.submitOrderBySig(nobody.as_tuple(), 29, good.r, good.s, sender=keeper)
    assert a.nonces(alice) == 0
    relay(a, order, good, keeper)
    assert a.nonces(alice) == 1


def test_the_signer_must_have_approved_the_auction_and_a_refused_order_keeps_its_nonce(a, vault, alice, keeper, chain, period):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    off_grid = signed(a, alice, period, True, 1_000, price(10) + 1, deadline)
    grid = {"minPricePerKWh": a.minPrice(), "tickSizePerKWh": a.tickSize(), "maxPricePerKWh": a.maxPrice()}
    with reverts(a.PriceNotOnGrid, limitPricePerKWh=price(10) + 1, **grid):
        relay(a, off_grid, sign_auction_order(off_grid, alice.private_key, a.address, chain.chain_id), keeper)
    vault.setMarketApproval(a, False, sender=alice)
    order = signed(a, alice, period, True, 1_000, price(10), deadline)
    signature = sign_auction_order(order, alice.private_key, a.address, chain.chain_id)
    with reverts(vault.MarketNotApproved, account=alice.address, market=a.address):
        relay(a, order, signature, keeper)
    assert a.nonces(alice) == 0  # nothing was spent: the same signature goes through once approved
    vault.setMarketApproval(a, True, sender=alice)
    relay(a, order, signature, keeper)
    assert a.nonces(alice) == 1


def test_a_trader_without_a_vault_balance_cannot_have_an_order_relayed(a, vault, keeper, chain, period):
    newcomer = Account.create()
    order = SignedAuctionOrder(newcomer.address, period, False, 1_000, price(10), 0, chain.pending_timestamp + SIGNATURE_WINDOW)
    with reverts(vault.MarketNotApproved, account=newcomer.address, market=a.address):
        relay(a, order, sign_auction_order(order, newcomer.key, a.address, chain.chain_id), keeper)


def test_a_paused_auction_refuses_relayed_orders(a, admin, alice, keeper, chain, period):
    order = signed(a, alice, period, True, 1_000, price(10), chain.pending_timestamp + SIGNATURE_WINDOW)
    a.pause(sender=admin)
    with reverts(a.EnforcedPause):
        relay(a, order, sign_auction_order(order, alice.private_key, a.address, chain.chain_id), keeper)
    a.unpause(sender=admin)


def test_a_claim_relayed_by_a_third_party_pays_the_trader(a, vault, alice, bob, keeper, stranger, chain, period):
    deadline = chain.pending_timestamp + SIGNATURE_WINDOW
    bid = signed(a, alice, period, True, 1_000, price(20), deadline)
    ask = signed(a, bob, period, False, 1_000, price(20), deadline)
    bid_id = relay(a, bid, sign_auction_order(bid, alice.private_key, a.address, chain.chain_id), keeper).return_value
    ask_id = relay(a, ask, sign_auction_order(ask, bob.private_key, a.address, chain.chain_id), keeper).return_value
    close_gate(chain, period)
    a.clear(period, sender=keeper)
    before = holdings(vault, [alice, bob, stranger])
    tx = a.claim(bid_id, sender=stranger)
    outcome = a.getOrderOutcome(bid_id)
    assert_logs(
        tx,
        log(
            a.OrderClaimed,
            orderId=bid_id,
            trader=alice.address,
            isBid=True,
            filledWh=1_000,
            payment=outcome.payment,
            fee=0,
            refund=outcome.refund,
        ),
    )
    after = holdings(vault, [alice, bob, stranger])
    assert after[0] == (before[0][0] + 1_000, before[0][1] + outcome.refund)
    assert after[2] == before[2]  # the claimer is paid nothing
    a.claim(ask_id, sender=stranger)
    ask_outcome = a.getOrderOutcome(ask_id)
    assert holdings(vault, [bob])[0] == (before[1][0] + ask_outcome.refund, before[1][1] + ask_outcome.payment - ask_outcome.fee)
    assert holdings(vault, [stranger])[0] == before[2]
