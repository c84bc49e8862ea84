"""EnergyAuction: one uniform-price double auction per delivery period.

Submission and escrow, the gate closing at its exact second, clearing (each tie rule on a hand-made
book), rationing at the marginal level, claims, fees and their snapshot, pause, admin, and the
back-run that the continuous book allowed, replayed in the auction. Every custom error is asserted
with all of its arguments and every event with all of its fields.

The auction moves no token: escrow is taken from the trader's EnergyVault balance (a shortfall pulled
from the wallet through the vault's allowance), and claims, refunds and fees are paid into vault
balances. The conftest traders hold everything in the vault, so balances are read there
(`holdings`); the vault side of an order (its approvals, registration, the pull and the vault's own
lock against a re-entrant token) is asserted here too. The standing orders of a meter registry are in
tests/test_standing_orders.py; here the auction has none (meter registry zero), except where the
clearing time with a registry is shown.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak, to_checksum_address, to_hex

from energy_grid.deploy.system import deploy_energy_auction

from support.auction_helpers import (
    ASKS,
    BIDS,
    FEE_BPS,
    GATE_SECONDS,
    MAX_PRICE,
    MIN_PRICE,
    N_TICKS,
    NONE,
    ORDER_SLOTS,
    PERIOD_SECONDS,
    TICK_SIZE,
    close_gate,
    cost_ceil,
    gate_closure_time,
    holdings,
    level_money,
    open_period,
    order_id,
    order_period,
    price,
    submit,
)
from support.helpers import (
    DEFAULT_ADMIN_ROLE,
    NO_FREEZE_QUERY,
    ZERO_ADDRESS,
    assert_logs,
    deploy_reverts,
    log,
    reverts,
    role,
    unexercised_abi_items,
)

PAUSER_ROLE = role("PAUSER_ROLE")
MAX_FEE_BPS = 1_000
WEEK = 7 * 86_400
MAX_ORDER_WH = 2**36 - 1
MAX_PRICE_PER_KWH = 10**24
MAX_UINT = 2**256 - 1
REENTRANT_CALL_SELECTOR = to_hex(keccak(text="ReentrancyGuardReentrantCall()")[:4])


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(funded_auction, vault, auction_traders, keeper, fee_recipient, stranger, other, admin):
    """Deploy and fund the auction, and name the accounts, before any test's own state (ape isolation)."""


@pytest.fixture
def carol(auction_traders):
    return auction_traders[2]


@pytest.fixture
def dave(auction_traders):
    return auction_traders[3]


@pytest.fixture
def period(chain):
    return open_period(chain)


def transfer(token, sender, receiver, value):
    return log(token.Transfer, **{"from": sender.address, "to": receiver.address, "value": value})


def wallets(tokens, accounts):
    """(energy, cash) token balance of each account or contract: the traders' wallets, the vault's reserves."""
    energy, cash = tokens
    return [(energy.balanceOf(x), cash.balanceOf(x)) for x in accounts]


def deploy_args(admin, vault, fee_recipient, /, **changes):
    """The conftest auction's constructor arguments, with `changes` by name."""
    args = {
        "admin": admin,
        "vault": vault,
        "registry": ZERO_ADDRESS,
        "recipient": fee_recipient,
        "fee_bps": FEE_BPS,
        "period": PERIOD_SECONDS,
        "gate": GATE_SECONDS,
        "min": MIN_PRICE,
        "tick": TICK_SIZE,
        "max": MAX_PRICE,
    }
    args.update(changes)
    return list(args.values())


# ----------------------------------------------------------------------------- deployment and completeness


def test_deployment_parameters_constants_and_size(a, vault, energy_token, stablecoin, fee_recipient, admin, chain):
    assert (a.energyToken(), a.paymentToken(), a.feeRecipient()) == (energy_token.address, stablecoin.address, fee_recipient.address)
    # The tokens are the vault's; the auction is its registered market, with no meter registry.
    assert (a.vault(), a.meterRegistry()) == (vault.address, ZERO_ADDRESS)
    assert (vault.energyToken(), vault.paymentToken()) == (energy_token.address, stablecoin.address)
    assert vault.marketInfo(a) == (True, 0, False)
    assert a.readingDeadline() == PERIOD_SECONDS  # the default: a period's length
    assert (a.gridFeeBps(), a.accruedFees()) == (FEE_BPS, 0)
    assert (a.periodLength(), a.gateClosure()) == (PERIOD_SECONDS, GATE_SECONDS)
    assert (a.minPrice(), a.tickSize(), a.maxPrice(), a.tickCount()) == (MIN_PRICE, TICK_SIZE, MAX_PRICE, 256)
    assert (a.MAX_FEE_BPS(), a.MAX_TICKS(), a.MAX_PERIOD_LENGTH(), a.MAX_GATE_CLOSURE(), a.MAX_LEAD_TIME()) == (
        MAX_FEE_BPS,
        256,
        WEEK,
        WEEK,
        WEEK,
    )
    assert (a.MAX_ORDER_WH(), a.MAX_TICK_VOLUME_WH(), a.MAX_PRICE_PER_KWH()) == (MAX_ORDER_WH, MAX_ORDER_WH, MAX_PRICE_PER_KWH)
    assert a.hasRole(DEFAULT_ADMIN_ROLE, admin) and a.hasRole(PAUSER_ROLE, admin) and a.PAUSER_ROLE() == PAUSER_ROLE
    assert not a.paused()
    assert a.currentPeriod() == chain.blocks.head.timestamp // PERIOD_SECONDS
    assert 0 < len(chain.provider.get_code(a.address)) < 24_576


def test_every_function_error_and_event_is_exercised(auction):
    # RoleAdminChanged cannot happen: nothing calls OpenZeppelin's internal _setRoleAdmin. The
    # standing orders (recordMetered and what it emits and raises) are tested in test_standing_orders.py.
    modules = [
        "test_energy_auction.py", "test_standing_orders.py", "test_auction_signed_orders.py", "test_auction_zones.py",
        "support/meter_helpers.py",  # the settlement's packed log, which test_standing_orders.py asserts
    ]  # fmt: skip
    for contract in ("EnergyAuction", "EnergyAuctionExtension"):
        assert unexercised_abi_items(contract, modules, ("function", "event", "error"), {"RoleAdminChanged"}) == [], contract


def test_the_auction_serves_its_extensions_functions_and_the_extension_alone_serves_nothing(
    project, a, admin, vault, fee_recipient, chain
):
    """The settings and views live in EnergyAuctionExtension, which the auction runs on its own storage
    by delegatecall: through the auction they answer for its markets; called at its own address the
    extension refuses (it has no market), and an auction refuses an extension deployed with other settings."""
    settings = (vault, ZERO_ADDRESS, fee_recipient, FEE_BPS, PERIOD_SECONDS, GATE_SECONDS)
    extension = project.EnergyAuctionExtension.deploy(*settings, sender=admin)
    assert extension.extensionSettings() == (extension.address, vault.address, ZERO_ADDRESS, PERIOD_SECONDS, GATE_SECONDS)
    served_from, *settings_of_auction = a.extensionSettings()  # the auction's own extension, named through it
    assert settings_of_auction == [vault.address, ZERO_ADDRESS, PERIOD_SECONDS, GATE_SECONDS]
    assert len(chain.provider.get_code(served_from)) > 0 and served_from != extension.address
    with reverts(extension.NotThroughAuction):
        extension.periodLength()
    with reverts(extension.NotThroughAuction):
        extension.pause(sender=admin)
    assert a.periodLength() == PERIOD_SECONDS  # through the auction, the same function answers
    main = project.EnergyAuction
    for changed in ({"period": PERIOD_SECONDS * 2}, {"gate": GATE_SECONDS + 1}, {"registry": admin.address}):
        args = deploy_args(admin, vault, fee_recipient, **changed)
        with deploy_reverts(a.AuctionExtensionMismatch, extension.address):
            main.deploy(*args, extension, sender=admin)


def test_access_control_surface(a, admin, other, stranger):
    assert a.getRoleAdmin(PAUSER_ROLE) == DEFAULT_ADMIN_ROLE == a.DEFAULT_ADMIN_ROLE()
    assert a.supportsInterface("0x7965db0b")  # IAccessControl
    assert not a.supportsInterface("0xffffffff")
    with reverts(a.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        a.grantRole(PAUSER_ROLE, stranger, sender=stranger)
    with reverts(a.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        a.revokeRole(PAUSER_ROLE, admin, sender=stranger)
    tx = a.grantRole(PAUSER_ROLE, other, sender=admin)
    assert_logs(tx, log(a.RoleGranted, role=PAUSER_ROLE, account=other.address, sender=admin.address))
    with reverts(a.AccessControlBadConfirmation):
        a.renounceRole(PAUSER_ROLE, stranger, sender=other)
    tx = a.renounceRole(PAUSER_ROLE, other, sender=other)
    assert_logs(tx, log(a.RoleRevoked, role=PAUSER_ROLE, account=other.address, sender=other.address))
    a.grantRole(PAUSER_ROLE, stranger, sender=admin)
    tx = a.revokeRole(PAUSER_ROLE, stranger, sender=admin)
    assert_logs(tx, log(a.RoleRevoked, role=PAUSER_ROLE, account=stranger.address, sender=admin.address))
    assert not a.hasRole(PAUSER_ROLE, stranger)


@pytest.mark.parametrize("field", ["admin", "vault"])
def test_constructor_rejects_zero_addresses(project, auction, admin, vault, fee_recipient, field):
    """The meter registry may be zero (an auction of firm orders, as the conftest one); the vault may not."""
    with deploy_reverts(auction.ZeroAddress):
        deploy_energy_auction(project, *deploy_args(admin, vault, fee_recipient, **{field: ZERO_ADDRESS}), sender=admin)


def test_constructor_rejects_bad_parameters(project, auction, admin, vault, fee_recipient):
    def deploy(**changes):
        return deploy_energy_auction(project, *deploy_args(admin, vault, fee_recipient, **changes), sender=admin)

    with deploy_reverts(auction.InvalidFeeRecipient, ZERO_ADDRESS):
        deploy(recipient=ZERO_ADDRESS)
    with deploy_reverts(auction.FeeTooHigh, MAX_FEE_BPS + 1, MAX_FEE_BPS):
        deploy(fee_bps=MAX_FEE_BPS + 1)
    for bad in (0, WEEK + 1):
        with deploy_reverts(auction.InvalidPeriodLength, bad, WEEK):
            deploy(period=bad)
    with deploy_reverts(auction.InvalidGateClosure, WEEK + 1, WEEK):
        deploy(gate=WEEK + 1)
    with deploy_reverts(auction.InvalidPriceGrid, 0, TICK_SIZE, MAX_PRICE):
        deploy(min=0)
    # The extremes are accepted: an hourly market, a week long period and gate, one tick, 256 ticks.
    assert deploy(period=WEEK, gate=WEEK, max=MIN_PRICE, fee_bps=MAX_FEE_BPS).tickCount() == 1
    assert deploy(period=3_600, gate=0).maxPrice() == MAX_PRICE


@pytest.mark.parametrize(
    "grid",
    [
        (0, 1_000, 100_000),  # zero minimum: a zero-priced bid escrows nothing
        (50_000, 0, 50_000),  # zero tick
        (50_000, 1_000, 49_000),  # maximum below the minimum
        (50_000, 1_000, 50_500),  # maximum off the grid
        (50_000, 1_000, 306_000),  # 257 ticks
        (MAX_PRICE_PER_KWH - 10, 1, MAX_PRICE_PER_KWH + 1),  # above the price cap
    ],
)
def test_set_price_grid_rejects_bad_grids(a, admin, grid):
    with reverts(a.InvalidPriceGrid, minPricePerKWh=grid[0], tickSizePerKWh=grid[1], maxPricePerKWh=grid[2]):
        a.setPriceGrid(*grid, sender=admin)
    assert (a.minPrice(), a.tickSize(), a.maxPrice()) == (MIN_PRICE, TICK_SIZE, MAX_PRICE)


def test_a_grid_change_applies_only_to_markets_without_orders(a, admin, alice, bob, keeper, chain, period):
    first = submit(a, alice, period, True, 1_000, 10)  # limit 60,000 on the old grid
    tx = a.setPriceGrid(100_000, 5_000, 1_375_000, sender=admin)  # 256 ticks again, coarser
    assert_logs(tx, log(a.PriceGridUpdated, minPricePerKWh=100_000, tickSizePerKWh=5_000, maxPricePerKWh=1_375_000))
    assert (a.minPrice(), a.tickSize(), a.maxPrice(), a.tickCount()) == (100_000, 5_000, 1_375_000, 256)
    # The market that has an order keeps its grid: 61,000 is still a price there, 105,000 is not.
    second = a.submitAsk(period, 1_000, 61_000, sender=bob).return_value
    with reverts(a.PriceNotOnGrid, limitPricePerKWh=105_500, minPricePerKWh=MIN_PRICE, tickSizePerKWh=TICK_SIZE, maxPricePerKWh=MAX_PRICE):
        a.submitAsk(period, 1_000, 105_500, sender=bob)
    assert a.getOrder(first).limitPricePerKWh == 60_000 and a.getOrder(second).tick == 11
    # A market without orders takes the new grid.
    with reverts(a.PriceNotOnGrid, limitPricePerKWh=61_000, minPricePerKWh=100_000, tickSizePerKWh=5_000, maxPricePerKWh=1_375_000):
        a.submitAsk(period + 1, 1_000, 61_000, sender=bob)
    later = a.submitAsk(period + 1, 1_000, 105_000, sender=bob).return_value
    assert a.getOrder(later).tick == 1
    market = a.getMarket(period + 1)
    assert (market.minPricePerKWh, market.tickSizePerKWh, market.tickCount) == (100_000, 5_000, 256)
    # An empty market cleared after the change reports a price on the new grid: its middle tick.
    close_gate(chain, period + 2)
    a.clear(period + 2, sender=keeper)
    assert a.getMarket(period + 2).clearingPricePerKWh == 100_000 + 127 * 5_000


# ----------------------------------------------------------------------------- submission


def test_submit_bid_escrows_payment_and_records_the_order(a, vault, alice, stablecoin, energy_token, period):
    """The escrow moves from the bidder's vault balance to the auction's: no token moves, so the
    auction's event is the only log."""
    before = holdings(vault, [alice, a])
    assert before[1] == (0, 0)
    tokens_before = wallets((energy_token, stablecoin), [alice, vault, a])
    tx = a.submitBid(period, 1_001, price(150), sender=alice)
    escrow = cost_ceil(1_001, price(150))
    oid = order_id(period, True, alice)
    assert tx.return_value == oid
    assert_logs(
        tx,
        log(
            a.OrderSubmitted,
            orderId=oid,
            period=period,
            trader=alice.address,
            isBid=True,
            amountWh=1_001,
            limitPricePerKWh=price(150),
            escrow=escrow,
        ),
    )
    assert holdings(vault, [alice, a]) == [(before[0][0], before[0][1] - escrow), (0, escrow)]
    assert wallets((energy_token, stablecoin), [alice, vault, a]) == tokens_before
    assert a.getOrder(oid) == (alice.address, period, True, 1_001, price(150), 150, 0, False, 0)
    second = a.submitBid(period, 500, price(150), sender=alice).return_value
    assert second == order_id(period, True, alice, (period + 1) % ORDER_SLOTS)  # its first place is taken
    assert a.getOrder(second).volumeBeforeWh == 1_001  # C(i-1): the level's volume before it
    bids, asks = a.getTickVolumes(period)
    assert len(bids) == len(asks) == N_TICKS
    assert bids[150] == 1_501 and sum(bids) == 1_501 and sum(asks) == 0
    market = a.getMarket(period)
    assert (market.cleared, market.orderCount, market.tickCount, market.minPricePerKWh, market.tickSizePerKWh) == (
        False,
        2,
        N_TICKS,
        MIN_PRICE,
        TICK_SIZE,
    )


def test_submit_ask_escrows_energy(a, vault, bob, energy_token, stablecoin, period):
    before = holdings(vault, [bob])[0]
    tokens_before = wallets((energy_token, stablecoin), [bob, vault, a])
    submit(a, bob, period, True, 100, 3)  # a bid first: each side has its own places
    tx = a.submitAsk(period, 2_500, MAX_PRICE, sender=bob)
    oid = order_id(period, False, bob)
    assert tx.return_value == oid
    assert_logs(
        tx,
        log(
            a.OrderSubmitted,
            orderId=oid,
            period=period,
            trader=bob.address,
            isBid=False,
            amountWh=2_500,
            limitPricePerKWh=MAX_PRICE,
            escrow=2_500,
        ),
    )
    bid_escrow = cost_ceil(100, price(3))
    assert holdings(vault, [bob, a]) == [(before[0] - 2_500, before[1] - bid_escrow), (2_500, bid_escrow)]
    assert wallets((energy_token, stablecoin), [bob, vault, a]) == tokens_before
    assert a.getOrder(oid) == (bob.address, period, False, 2_500, MAX_PRICE, N_TICKS - 1, 0, False, 0)
    assert a.getTickVolumes(period)[1][N_TICKS - 1] == 2_500


def test_a_shortfall_of_the_vault_balance_is_pulled_from_the_wallet(a, vault, alice, energy_token, stablecoin, period):
    """The vault takes what the trader's balance holds and pulls the rest from the wallet through the
    allowance the trader gave the vault: the vault's Deposited log and the token's transfer to it."""
    energy, cash = vault.balancesOf(alice)
    vault.withdraw(stablecoin, cash - 100, alice, sender=alice)  # 100 left in the vault
    vault.withdraw(energy_token, energy - 1_000, alice, sender=alice)  # 1,000 Wh left
    wallet, reserves = wallets((energy_token, stablecoin), [alice])[0], vault.reserves()
    escrow = cost_ceil(1_001, price(150))
    tx = a.submitBid(period, 1_001, price(150), sender=alice)
    bid = order_id(period, True, alice)
    assert_logs(
        tx,
        log(
            a.OrderSubmitted,
            orderId=bid,
            period=period,
            trader=alice.address,
            isBid=True,
            amountWh=1_001,
            limitPricePerKWh=price(150),
            escrow=escrow,
        ),
        log(vault.Deposited, account=alice.address, token=stablecoin.address, amount=escrow - 100),
        transfer(stablecoin, alice, vault, escrow - 100),
    )
    tx = a.submitAsk(period, 2_500, MAX_PRICE, sender=alice)
    assert_logs(
        tx,
        log(
            a.OrderSubmitted,
            orderId=order_id(period, False, alice),
            period=period,
            trader=alice.address,
            isBid=False,
            amountWh=2_500,
            limitPricePerKWh=MAX_PRICE,
            escrow=2_500,
        ),
        log(vault.Deposited, account=alice.address, token=energy_token.address, amount=1_500),
        transfer(energy_token, alice, vault, 1_500),
    )
    assert holdings(vault, [alice, a]) == [(0, 0), (2_500, escrow)]
    assert wallets((energy_token, stablecoin), [alice])[0] == (wallet[0] - 1_500, wallet[1] - (escrow - 100))
    assert vault.reserves() == (reserves[0] + 1_500, reserves[1] + escrow - 100)
    assert wallets((energy_token, stablecoin), [vault])[0] == vault.reserves()
    # Without the allowance the pull fails in the token, and the order with it.
    stablecoin.approve(vault, 0, sender=alice)
    with reverts(stablecoin.ERC20InsufficientAllowance, spender=vault.address, allowance=0, needed=escrow):
        a.submitBid(period, 1_001, price(150), sender=alice)
    assert a.getMarket(period).orderCount == 2 and holdings(vault, [alice])[0] == (0, 0)


def test_a_trader_who_has_not_approved_the_auction_is_refused(a, vault, admin, alice, stranger, energy_token, stablecoin, period):
    """Only an account that approved this market in the vault has its balance taken (the vault checks
    it before any pull); an approval can be withdrawn and given again."""
    stablecoin.addConsumerBalance(stranger, 1_000, sender=admin)
    for token in (energy_token, stablecoin):
        token.approve(vault, MAX_UINT, sender=stranger)  # an allowance is not an approval of the market
    assert not vault.isMarketApproved(stranger, a)
    with reverts(vault.MarketNotApproved, account=stranger.address, market=a.address):
        a.submitBid(period, 1_000, MIN_PRICE, sender=stranger)
    nonce = vault.nonces(alice)
    tx = vault.setMarketApproval(a, False, sender=alice)
    assert_logs(
        tx,
        log(vault.NoncesInvalidated, account=alice.address, previousNonce=nonce, newNonce=nonce + 1),
        log(vault.MarketApprovalSet, account=alice.address, market=a.address, approved=False),
    )
    before = holdings(vault, [alice, a])
    with reverts(vault.MarketNotApproved, account=alice.address, market=a.address):
        a.submitBid(period, 1_000, MIN_PRICE, sender=alice)
    with reverts(vault.MarketNotApproved, account=alice.address, market=a.address):
        a.submitAsk(period, 1_000, MIN_PRICE, sender=alice)
    assert holdings(vault, [alice, a]) == before and a.getMarket(period).orderCount == 0
    vault.setMarketApproval(a, True, sender=alice)
    a.submitAsk(period, 1_000, MIN_PRICE, sender=alice)
    assert holdings(vault, [alice, a]) == [(before[0][0] - 1_000, before[0][1]), (1_000, 0)]


def test_an_auction_the_vault_has_not_registered_is_refused(project, admin, vault, fee_recipient, alice, chain):
    """An auction is a market of the vault only once the vault's admin registered it: before, no
    escrow can be taken for it, nor can anyone approve it."""
    unregistered = deploy_energy_auction(project, *deploy_args(admin, vault, fee_recipient), sender=admin)
    period = open_period(chain)
    before = holdings(vault, [alice])
    with reverts(vault.NotMarket, caller=unregistered.address):
        vault.setMarketApproval(unregistered, True, sender=alice)
    with reverts(vault.NotMarket, caller=unregistered.address):
        unregistered.submitBid(period, 1_000, MIN_PRICE, sender=alice)
    with reverts(vault.NotMarket, caller=unregistered.address):
        unregistered.submitAsk(period, 1_000, MIN_PRICE, sender=alice)
    assert unregistered.getMarket(period).orderCount == 0 and holdings(vault, [alice]) == before
    vault.registerMarket(unregistered, sender=admin)
    vault.setMarketApproval(unregistered, True, sender=alice)
    unregistered.submitBid(period, 1_000, MIN_PRICE, sender=alice)
    escrow = cost_ceil(1_000, MIN_PRICE)
    assert holdings(vault, [alice, unregistered]) == [(before[0][0], before[0][1] - escrow), (0, escrow)]


def test_a_market_the_vault_closed_takes_no_escrow_but_pays_out(a, vault, admin, alice, bob, keeper, fee_recipient, chain, period):
    """The vault's admin closing the auction as a market stops new escrow; clearing, claims and the
    fee withdrawal still pay out of the auction's vault balance, as under a pause."""
    bid = submit(a, alice, period, True, 1_000, 150)
    ask = submit(a, bob, period, False, 1_000, 100)
    tx = vault.closeMarket(a, sender=admin)
    assert_logs(tx, log(vault.MarketClosedForIntake, market=a.address))
    with reverts(vault.MarketClosed, market=a.address):
        a.submitBid(period, 1_000, MIN_PRICE, sender=alice)
    with reverts(vault.MarketClosed, market=a.address):
        a.submitAsk(period, 1_000, MIN_PRICE, sender=bob)
    before = holdings(vault, [alice, bob, fee_recipient])
    close_gate(chain, period)
    a.clear(period, sender=keeper)
    a.claim(bid, sender=keeper)
    a.claim(ask, sender=keeper)
    fees = a.accruedFees()
    a.withdrawFees(sender=fee_recipient)
    bid_out, ask_out = a.getOrderOutcome(bid), a.getOrderOutcome(ask)
    assert holdings(vault, [alice, bob, fee_recipient, a]) == [
        (before[0][0] + 1_000, before[0][1] + bid_out.refund),
        (before[1][0], before[1][1] + ask_out.payment - ask_out.fee),
        (before[2][0], before[2][1] + fees),
        (0, 0),
    ]


def test_bad_submissions_revert_and_move_nothing(a, vault, alice, energy_token, stablecoin, chain, period):
    now = chain.pending_timestamp
    chain.pending_timestamp = now  # reverted calls mine nothing: every check below runs at `now`
    before = holdings(vault, [alice, a]), wallets((energy_token, stablecoin), [alice, vault])
    for amount in (0, MAX_ORDER_WH + 1):
        with reverts(a.AmountOutOfRange, amountWh=amount, maxAmountWh=MAX_ORDER_WH):
            a.submitBid(period, amount, MIN_PRICE, sender=alice)
        with reverts(a.AmountOutOfRange, amountWh=amount, maxAmountWh=MAX_ORDER_WH):
            a.submitAsk(period, amount, MIN_PRICE, sender=alice)
    for bad_price in (MIN_PRICE - TICK_SIZE, MAX_PRICE + TICK_SIZE, MIN_PRICE + 1, 0):
        with reverts(
            a.PriceNotOnGrid, limitPricePerKWh=bad_price, minPricePerKWh=MIN_PRICE, tickSizePerKWh=TICK_SIZE, maxPricePerKWh=MAX_PRICE
        ):
            a.submitBid(period, 1_000, bad_price, sender=alice)
    # The furthest period open now is the last whose gate closes within MAX_LEAD_TIME.
    furthest = (now + WEEK + GATE_SECONDS) // PERIOD_SECONDS
    with reverts(a.PeriodTooFarAhead, period=furthest + 1, maxPeriod=furthest):
        a.submitAsk(furthest + 1, 1_000, MIN_PRICE, sender=alice)
    with reverts(a.PeriodTooFarAhead, period=2**200, maxPeriod=furthest):
        a.submitAsk(2**200, 1_000, MIN_PRICE, sender=alice)
    past = now // PERIOD_SECONDS - 1
    with reverts(a.GateClosed, period=past, gateClosureTime=gate_closure_time(past)):
        a.submitBid(past, 1_000, MIN_PRICE, sender=alice)
    with reverts(a.GateClosed, period=0, gateClosureTime=0):
        a.submitBid(0, 1_000, MIN_PRICE, sender=alice)
    assert (holdings(vault, [alice, a]), wallets((energy_token, stablecoin), [alice, vault])) == before
    assert a.getMarket(period).orderCount == 0
    a.submitAsk(furthest, 1_000, MIN_PRICE, sender=alice)  # the furthest itself is open
    assert a.getMarket(furthest).orderCount == 1


def test_gate_closes_at_its_exact_second(a, alice, bob, keeper, chain, period):
    closes_at = period * PERIOD_SECONDS - GATE_SECONDS
    assert a.gateClosureTime(period) == a.clearingTime(period) == closes_at  # no meter registry: clears at the gate
    chain.pending_timestamp = closes_at - 1
    with reverts(a.GateNotClosed, period=period, gateClosureTime=closes_at):
        a.clear(period, sender=keeper)  # the market does not clear the second before
    chain.pending_timestamp = closes_at - 1
    a.submitBid(period, 1_000, price(100), sender=alice)  # and takes orders in it: the last second accepted
    assert a.getMarket(period).orderCount == 1
    chain.pending_timestamp = closes_at
    with reverts(a.GateClosed, period=period, gateClosureTime=closes_at):
        a.submitAsk(period, 1_000, price(100), sender=bob)  # the exact second rejected
    chain.pending_timestamp = closes_at
    a.clear(period, sender=keeper)  # and clears at it
    assert a.getMarket(period).cleared


def test_gate_closure_time_saturates(a):
    assert a.gateClosureTime(0) == a.clearingTime(0) == 0
    assert a.gateClosureTime(1) == a.clearingTime(1) == PERIOD_SECONDS - GATE_SECONDS
    assert a.gateClosureTime(MAX_UINT) == a.clearingTime(MAX_UINT) == MAX_UINT - GATE_SECONDS


def test_with_a_meter_registry_a_market_clears_after_its_reading_deadline(
    project, a, admin, vault, fee_recipient, alice, keeper, stranger, chain, period
):
    """With a meter registry (here a plain account: no reading is sent) a market waits for its
    interval's readings: it clears from (period + 1) * length + readingDeadline, and GateNotClosed
    names that time. Firm orders still close at the gate. The deadline is the admin's, at most a
    period's length; it moves nothing in an auction without a registry."""
    metered = deploy_energy_auction(project, *deploy_args(admin, vault, fee_recipient, registry=stranger), sender=admin)
    vault.registerMarket(metered, sender=admin)
    vault.setMarketApproval(metered, True, sender=alice)
    assert (metered.meterRegistry(), metered.readingDeadline()) == (stranger.address, PERIOD_SECONDS)
    assert metered.clearingTime(period) == (period + 1) * PERIOD_SECONDS + PERIOD_SECONDS
    assert metered.gateClosureTime(period) == gate_closure_time(period)
    assert metered.clearingTime(MAX_UINT) == MAX_UINT  # saturates
    with reverts(metered.InvalidReadingDeadline, deadlineSeconds=PERIOD_SECONDS + 1, maxSeconds=PERIOD_SECONDS):
        metered.setReadingDeadline(PERIOD_SECONDS + 1, sender=admin)
    with reverts(metered.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        metered.setReadingDeadline(60, sender=stranger)
    tx = metered.setReadingDeadline(60, sender=admin)
    assert_logs(tx, log(metered.ReadingDeadlineUpdated, previousSeconds=PERIOD_SECONDS, newSeconds=60))
    clears_at = (period + 1) * PERIOD_SECONDS + 60
    assert (metered.readingDeadline(), metered.clearingTime(period)) == (60, clears_at)
    # A firm-order auction's markets clear at the gate whatever its deadline.
    a.setReadingDeadline(60, sender=admin)
    assert a.clearingTime(period) == a.gateClosureTime(period)
    bid = metered.submitBid(period, 1_000, MIN_PRICE, sender=alice).return_value
    chain.pending_timestamp = gate_closure_time(period)
    with reverts(metered.GateClosed, period=period, gateClosureTime=gate_closure_time(period)):
        metered.submitBid(period, 1_000, MIN_PRICE, sender=alice)
    chain.pending_timestamp = clears_at - 1
    with reverts(metered.GateNotClosed, period=period, gateClosureTime=clears_at):
        metered.clear(period, sender=keeper)  # the gate has closed, the interval's readings may still come
    chain.pending_timestamp = clears_at
    metered.clear(period, sender=keeper)
    assert metered.getMarket(period).cleared
    metered.claim(bid, sender=keeper)
    assert metered.getOrderOutcome(bid).refund == cost_ceil(1_000, MIN_PRICE)
    # The full range: a deadline of zero clears at the period's end.
    tx = metered.setReadingDeadline(0, sender=admin)
    assert_logs(tx, log(metered.ReadingDeadlineUpdated, previousSeconds=60, newSeconds=0))
    assert metered.clearingTime(period + 1) == (period + 2) * PERIOD_SECONDS
    # The market of the interval just ended closed 60 s ago: a deadline longer than that would reopen it.
    chain.pending_timestamp = (period + 2) * PERIOD_SECONDS + 60
    with reverts(metered.InvalidReadingDeadline, deadlineSeconds=PERIOD_SECONDS, maxSeconds=60):
        metered.setReadingDeadline(PERIOD_SECONDS, sender=admin)
    metered.setReadingDeadline(60, sender=admin)
    assert metered.readingDeadline() == 60


def on_own_vault(project, admin, energy_token, cash, fee_recipient, traders):
    """A vault of EnergyToken and `cash` with an auction of firm orders registered in it, approved by
    `traders` both as their market and with an unlimited `cash` allowance: their escrow is pulled
    from their wallets."""
    own_vault = project.EnergyVault.deploy(admin, energy_token, cash, NO_FREEZE_QUERY, sender=admin)
    auction = deploy_energy_auction(project, *deploy_args(admin, own_vault, fee_recipient), sender=admin)
    own_vault.registerMarket(auction, sender=admin)
    for trader in traders:
        own_vault.setMarketApproval(auction, True, sender=trader)
        cash.approve(own_vault, MAX_UINT, sender=trader)
    return own_vault, auction


def test_tick_volume_is_bounded(project, admin, energy_token, fee_recipient, alice, chain):
    """68.7 GWh (2^36 - 1 Wh) per side of a tick, what its bits in the word hold. A mintable token pays for it."""
    cash = project.ReentrantToken.deploy(sender=admin)  # never armed here: a plain mintable ERC-20
    cash_vault, big = on_own_vault(project, admin, energy_token, cash, fee_recipient, [alice])
    cash.mint(alice, 10**20, sender=alice)
    period = open_period(chain)
    big.submitBid(period, MAX_ORDER_WH - 5, MIN_PRICE, sender=alice)
    before = cash.balanceOf(alice), cash_vault.balancesOf(big)
    with reverts(big.TickVolumeTooLarge, period=period, tick=0, volumeWh=MAX_ORDER_WH + 1, maxVolumeWh=MAX_ORDER_WH):
        big.submitBid(period, 6, MIN_PRICE, sender=alice)
    escrow = cost_ceil(MAX_ORDER_WH - 5, MIN_PRICE)  # pulled from the wallet
    assert (cash.balanceOf(alice), cash_vault.balancesOf(big)) == before == (10**20 - escrow, (0, escrow))
    big.submitBid(period, 5, MIN_PRICE, sender=alice)  # exactly the bound
    big.submitBid(period, MAX_ORDER_WH, MIN_PRICE + TICK_SIZE, sender=alice)  # another tick is another level
    assert list(big.getTickVolumes(period)[0][:2]) == [MAX_ORDER_WH, MAX_ORDER_WH]


# ----------------------------------------------------------------------------- clearing rules


def book(a, period, orders, traders):
    """Submits (trader index, is_bid, amountWh, tick) in order; returns the ids."""
    return [submit(a, traders[who], period, is_bid, amount, tick) for who, is_bid, amount, tick in orders]


def cleared(a, chain, keeper, period):
    close_gate(chain, period)
    tx = a.clear(period, sender=keeper)
    return tx, a.getMarket(period)


def fills(a, ids):
    return [a.getOrderOutcome(i).filledWh for i in ids]


def test_a_rationed_level_is_the_price(a, auction_traders, keeper, chain, period):
    """Asks 400 @ 20 and 600 @ 30, bids 500 @ 25 and 500 @ 40: the most volume, 500, trades on 30..40, and
    the asks at 30 share what the ask at 20 leaves. A rationed order is competitive only at its own limit:
    at any tick above 30 its asks would be in the money and left short. So 30 is the price."""
    ids = book(a, period, [(0, False, 400, 20), (1, False, 600, 30), (2, True, 500, 25), (3, True, 500, 40)], auction_traders)
    tx, m = cleared(a, chain, keeper, period)
    # hi(p) = S(p) - D(p + 1): -1,000 below 20, -600 on 20..24, -100 on 25..29, +400 from 30: 0 is reached and
    # passed at 30, the only competitive tick.
    assert (m.clearingTick, m.clearingPricePerKWh, m.volumeWh) == (30, price(30), 500)
    # Asks are long: the ask at 20 (better) fills in full, the level at 30 shares the rest.
    assert (m.longSide, m.marginalTick, m.rationedWh, m.marginalLevelWh) == (ASKS, 30, 100, 600)
    assert fills(a, ids) == [400, 100, 0, 500]
    assert_logs(
        tx,
        log(
            a.MarketCleared,
            period=period,
            clearingTick=30,
            clearingPricePerKWh=price(30),
            volumeWh=500,
            longSide=ASKS,
            marginalTick=30,
            rationedWh=100,
            marginalLevelWh=600,
            feeBps=FEE_BPS,
        ),
    )


def test_orders_left_out_bound_the_competitive_ticks(a, auction_traders, keeper, chain, period):
    """min(D, S) = 1,000 on ticks 4..12, but the bid of 500 at 6 left out keeps the price at or above 6 and the
    ask of 700 at 8 left out at or below 8: the middle of 6..8 is 7, not the middle of 4..12."""
    orders = [(0, True, 1_000, 12), (1, True, 500, 6), (2, False, 1_000, 4), (3, False, 700, 8)]
    ids = book(a, period, orders, auction_traders)
    _, m = cleared(a, chain, keeper, period)
    assert (m.clearingTick, m.volumeWh, m.longSide) == (7, 1_000, NONE)
    assert fills(a, ids) == [1_000, 0, 1_000, 0]


def test_the_middle_of_the_competitive_ticks_rounds_down(a, auction_traders, keeper, chain, period):
    """A bid 1,000 @ 10 and an ask 1,000 @ 5 fill in full at any tick of 5..10: the middle 7.5 rounds
    down to 7."""
    ids = book(a, period, [(0, True, 1_000, 10), (1, False, 1_000, 5)], auction_traders)
    _, m = cleared(a, chain, keeper, period)
    assert (m.clearingTick, m.clearingPricePerKWh, m.volumeWh, m.longSide) == (7, price(7), 1_000, NONE)
    assert fills(a, ids) == [1_000, 1_000]


def test_markets_sixteen_periods_apart_take_turns_in_book_words_and_each_clears_on_its_own_orders(
    a, auction_traders, keeper, chain, period
):
    """The market 16 periods later (BookWords.RING_PERIODS) writes into the same book words. Taking a word
    while the earlier market is open moves the earlier market's volumes to a word of its own, where its
    later orders join them; after the earlier one cleared, the later market's words start empty. Each
    market clears on its own orders alone."""
    later, last = period + 16, period + 32
    # Ticks 9-11 share a word, as do 12-14: the later market's orders at 11 and 12 take both words.
    early_ids = book(a, period, [(0, True, 1_000, 10), (1, False, 600, 5)], auction_traders)
    later_ids = book(a, later, [(2, True, 300, 12), (3, False, 200, 11)], auction_traders)
    early_ids += book(a, period, [(1, False, 400, 11)], auction_traders)
    assert a.getTickVolumes(period)[0][10] == 1_000 and a.getTickVolumes(period)[1][11] == 400
    assert a.getTickVolumes(later)[0][10] == 0 and a.getTickVolumes(later)[1][11] == 200
    _, m = cleared(a, chain, keeper, period)
    # hi(p) = S(p) - D(p + 1) is -400 on 5..9 and +600 at 10: the price is 10, and the 600 Wh of asks at 5 fill.
    assert (m.clearingTick, m.volumeWh) == (10, 600)
    assert fills(a, early_ids) == [600, 600, 0]
    _, m = cleared(a, chain, keeper, later)
    assert (m.clearingTick, m.volumeWh) == (12, 200)
    assert fills(a, later_ids) == [200, 200]
    # The later market has cleared, so the next one in its words starts from an empty book.
    last_ids = book(a, last, [(0, True, 50, 11), (1, False, 50, 11)], auction_traders)
    assert a.getTickVolumes(last)[0][11] == a.getTickVolumes(last)[1][11] == 50
    _, m = cleared(a, chain, keeper, last)
    assert (m.clearingTick, m.volumeWh) == (11, 50)
    assert fills(a, last_ids) == [50, 50]


def test_rationing_on_running_totals_at_the_price_level(a, auction_traders, keeper, chain, period):
    """Asks 300, 700 and 500 at tick 100 (T = 1,500) meet a bid of 1,000 at 105: the asks are rationed, so
    their limit, 100, is the price, and they share L = 1,000 in arrival order: floor(300 * 2/3) = 200,
    floor(1,000 * 2/3) - 200 = 466, 1,000 - 666 = 334."""
    orders = [(0, False, 300, 100), (1, False, 700, 100), (2, True, 1_000, 105), (3, False, 500, 100)]
    ids = book(a, period, orders, auction_traders)
    assert [a.getOrder(i).volumeBeforeWh for i in ids] == [0, 300, 0, 1_000]
    _, m = cleared(a, chain, keeper, period)
    assert (m.clearingTick, m.volumeWh, m.longSide, m.marginalTick, m.rationedWh, m.marginalLevelWh) == (
        100,
        1_000,
        ASKS,
        100,
        1_000,
        1_500,
    )
    assert fills(a, ids) == [200, 466, 1_000, 334]


def test_long_bids_fill_best_first_then_share_the_marginal_level(a, auction_traders, keeper, chain, period):
    """Bids 400 @ 60 (best), 300 and 301 @ 55 (marginal), 500 @ 50 (worse) against asks 800 @ 50: the
    best level fills, the level at 55 shares the 400 Wh left of 601, so 55 is the price."""
    orders = [(0, True, 400, 60), (1, True, 300, 55), (2, True, 500, 50), (3, True, 301, 55), (4, False, 800, 50)]
    ids = book(a, period, orders, auction_traders)
    _, m = cleared(a, chain, keeper, period)
    assert (m.clearingTick, m.volumeWh, m.longSide, m.marginalTick, m.rationedWh, m.marginalLevelWh) == (55, 800, BIDS, 55, 400, 601)
    # floor(300 * 400 / 601) = 199; floor(601 * 400 / 601) - 199 = 201.
    assert fills(a, ids) == [400, 199, 0, 201, 800]


def test_no_crossing_clears_with_volume_zero_and_refunds_everything(
    a, vault, auction_traders, alice, bob, keeper, chain, energy_token, stablecoin, period
):
    before = holdings(vault, [alice, bob])
    tokens_before = wallets((energy_token, stablecoin), [alice, bob, vault])
    bid = submit(a, alice, period, True, 1_000, 10)
    ask = submit(a, bob, period, False, 1_000, 20)
    _, m = cleared(a, chain, keeper, period)
    assert (m.volumeWh, m.longSide, m.cleared) == (0, NONE, True)
    assert a.getOrderOutcome(bid) == (0, 0, 0, cost_ceil(1_000, price(10)), False)
    assert a.getOrderOutcome(ask) == (0, 0, 0, 1_000, False)
    # Refunds are credited to the vault balances the escrow came from: the auction's event only.
    tx = a.claim(bid, sender=keeper)
    assert_logs(
        tx,
        log(
            a.OrderClaimed, orderId=bid, trader=alice.address, isBid=True, filledWh=0, payment=0, fee=0, refund=cost_ceil(1_000, price(10))
        ),
    )
    tx = a.claim(ask, sender=keeper)
    assert_logs(tx, log(a.OrderClaimed, orderId=ask, trader=bob.address, isBid=False, filledWh=0, payment=0, fee=0, refund=1_000))
    assert holdings(vault, [alice, bob, a]) == [*before, (0, 0)]
    assert a.accruedFees() == 0
    assert wallets((energy_token, stablecoin), [alice, bob, vault]) == tokens_before


def test_an_empty_market_clears_at_the_grid_midpoint(a, keeper, chain, period):
    market = a.getMarket(period)
    assert (market.cleared, market.tickCount, market.orderCount) == (False, 0, 0)
    tx, m = cleared(a, chain, keeper, period)
    assert (m.cleared, m.tickCount, m.clearingTick, m.volumeWh, m.orderCount) == (True, N_TICKS, 127, 0, 0)
    assert_logs(
        tx,
        log(
            a.MarketCleared,
            period=period,
            clearingTick=127,
            clearingPricePerKWh=price(127),
            volumeWh=0,
            longSide=NONE,
            marginalTick=0,
            rationedWh=0,
            marginalLevelWh=0,
            feeBps=FEE_BPS,
        ),
    )


def test_clear_errors(a, alice, keeper, chain, period):
    submit(a, alice, period, True, 1_000, 10)
    with reverts(a.GateNotClosed, period=period, gateClosureTime=gate_closure_time(period)):
        a.clear(period, sender=keeper)
    with reverts(a.GateNotClosed, period=MAX_UINT, gateClosureTime=MAX_UINT - GATE_SECONDS):
        a.clear(MAX_UINT, sender=keeper)
    close_gate(chain, period)
    a.clear(period, sender=keeper)
    with reverts(a.MarketAlreadyCleared, period=period):
        a.clear(period, sender=keeper)  # a second clear


# ----------------------------------------------------------------------------- claims and money


def test_claims_pay_the_uniform_price_fee_and_refunds(
    a, vault, alice, bob, carol, keeper, fee_recipient, chain, energy_token, stablecoin, period
):
    """Bob asks 1,000 @ tick 100 and Carol 999 @ 102; Alice bids 2,500 @ 150. The asks are short and fill in
    full; Alice's bid is rationed, so its limit, tick 150, is the price. Claims and the fee withdrawal credit
    vault balances: no token moves, the vault's token balances stay put."""
    bid = submit(a, alice, period, True, 2_500, 150)
    ask = submit(a, bob, period, False, 1_000, 100)
    ask2 = submit(a, carol, period, False, 999, 102)
    with reverts(a.MarketNotCleared, period=period):
        a.claim(bid, sender=keeper)  # claims before clearing
    with reverts(a.MarketNotCleared, period=period):
        a.getOrderOutcome(bid)
    _, m = cleared(a, chain, keeper, period)
    p = price(150)
    assert (m.clearingTick, m.volumeWh, m.longSide, m.marginalTick, m.rationedWh) == (150, 1_999, BIDS, 150, 1_999)
    pay, _, _ = level_money(0, 1_999, p, FEE_BPS)
    _, gross, fee = level_money(0, 1_000, p, FEE_BPS)
    _, gross2, fee2 = level_money(0, 999, p, FEE_BPS)
    assert pay == cost_ceil(1_999, p) and gross == 1_000 * p // 1_000 and fee == gross * FEE_BPS // 10_000
    assert a.accruedFees() == pay - gross - gross2 + fee + fee2  # fees and rounding, accrued at clearing
    escrow = cost_ceil(2_500, price(150))
    assert holdings(vault, [a])[0] == (1_999, escrow)  # the asks' energy and the bid's escrow
    alice_before, bob_before, fees_before = holdings(vault, [alice, bob, fee_recipient])
    tokens_before = wallets((energy_token, stablecoin), [alice, bob, fee_recipient, vault])

    tx = a.claim(bid, sender=keeper)  # a keeper claims for Alice: the value goes to Alice's vault balance
    assert_logs(
        tx,
        log(a.OrderClaimed, orderId=bid, trader=alice.address, isBid=True, filledWh=1_999, payment=pay, fee=0, refund=escrow - pay),
    )
    assert holdings(vault, [alice])[0] == (alice_before[0] + 1_999, alice_before[1] + escrow - pay)
    tx = a.claim(ask, sender=bob)
    assert_logs(
        tx,
        log(a.OrderClaimed, orderId=ask, trader=bob.address, isBid=False, filledWh=1_000, payment=gross, fee=fee, refund=0),
    )
    assert holdings(vault, [bob])[0] == (bob_before[0], bob_before[1] + gross - fee)
    assert a.getOrderOutcome(ask) == (1_000, gross, fee, 0, True)
    assert a.getOrder(ask).claimed
    with reverts(a.AlreadyClaimed, orderId=ask):
        a.claim(ask, sender=keeper)
    a.claim(ask2, sender=keeper)

    with reverts(a.NotFeeRecipient, caller=keeper.address, feeRecipient=fee_recipient.address):
        a.withdrawFees(sender=keeper)
    accrued = a.accruedFees()
    assert holdings(vault, [a])[0] == (0, accrued)  # what is left is the fees
    tx = a.withdrawFees(sender=fee_recipient)  # credited to the recipient's vault balance
    assert_logs(tx, log(a.FeesWithdrawn, feeRecipient=fee_recipient.address, amount=accrued))
    assert holdings(vault, [fee_recipient])[0] == (fees_before[0], fees_before[1] + accrued)
    with reverts(a.NoFeesAccrued):
        a.withdrawFees(sender=fee_recipient)
    assert holdings(vault, [a])[0] == (0, 0) and a.accruedFees() == 0
    assert wallets((energy_token, stablecoin), [alice, bob, fee_recipient, vault]) == tokens_before


def test_a_claim_batch_pays_each_order_as_its_own_claim_and_skips_what_was_claimed(
    a, vault, alice, bob, carol, keeper, chain, period
):
    """claimBatch pays each order exactly what its own claim would, into each trader's vault balance;
    an order claimed before (by a claim, or in line by its trader's next order in its place) is
    skipped, not refused, so a keeper's batch survives a race."""
    bid = submit(a, alice, period, True, 1_000, 150)
    ask = submit(a, bob, period, False, 600, 100)
    ask2 = submit(a, carol, period, False, 300, 101)
    early = submit(a, carol, period + 1, False, 100, 100)
    with reverts(a.MarketNotCleared, period=period):
        a.claimBatch([bid, ask], sender=keeper)
    cleared(a, chain, keeper, period)
    outcomes = {order: a.getOrderOutcome(order) for order in (bid, ask, ask2)}
    a.claim(ask2, sender=carol)  # claimed before the batch: skipped
    before = holdings(vault, [alice, bob, carol])
    tx = a.claimBatch([bid, ask, ask2], sender=keeper)
    assert_logs(
        tx,
        *(
            log(
                a.OrderClaimed,
                orderId=order,
                trader=trader.address,
                isBid=is_bid,
                filledWh=o.filledWh,
                payment=o.payment,
                fee=o.fee,
                refund=o.refund,
            )
            for order, trader, is_bid, o in ((bid, alice, True, outcomes[bid]), (ask, bob, False, outcomes[ask]))
        ),
    )
    o_bid, o_ask = outcomes[bid], outcomes[ask]
    assert holdings(vault, [alice, bob, carol]) == [
        (before[0][0] + o_bid.filledWh, before[0][1] + o_bid.refund),
        (before[1][0] + o_ask.refund, before[1][1] + o_ask.payment - o_ask.fee),
        before[2],
    ]
    assert a.getOrder(bid).claimed and a.getOrder(ask).claimed
    assert not a.claimBatch([bid, ask], sender=keeper).events  # everything claimed already: nothing paid
    # A place reused by the trader's next order (which claimed it in line) is skipped too.
    later = submit(a, alice, period + ORDER_SLOTS, True, 100, 10)
    assert place_of(later) == place_of(bid)
    assert not a.claimBatch([bid], sender=keeper).events
    # Anything else refuses the whole batch, as a claim would.
    with reverts(a.MarketNotCleared, period=period + 1):
        a.claimBatch([ask, early], sender=keeper)
    with reverts(a.OrderUnknown, orderId=early + 1):
        a.claimBatch([early + 1], sender=keeper)
    with reverts(a.EmptyBatch):
        a.claimBatch([], sender=keeper)
    too_many = a.MAX_CLAIM_BATCH() + 1
    with reverts(a.BatchTooLarge, size=too_many, maxSize=too_many - 1):
        a.claimBatch([bid] * too_many, sender=keeper)


def test_unknown_orders(a, alice, keeper, period):
    ask = submit(a, alice, period, False, 1_000, 10)
    for unknown in (0, ask + 1, ask | (1 << 63), order_id(period + 1, False, alice), order_id(period, False, alice, ORDER_SLOTS + 2)):
        with reverts(a.OrderUnknown, orderId=unknown):
            a.claim(unknown, sender=keeper)
        with reverts(a.OrderUnknown, orderId=unknown):
            a.getOrder(unknown)
        with reverts(a.OrderUnknown, orderId=unknown):
            a.getOrderOutcome(unknown)


# ----------------------------------------------------------------------------- reusable order places


def place_of(order: int) -> int:
    return (order >> 160) & ((1 << 31) - 1)


def crossed_market(a, chain, keeper, alice, bob, period):
    """Alice bids 1,000 @ tick 150 and Bob asks 600 @ tick 100 in `period`, which then clears: the ask
    sells in full, the bid buys 600 and is refunded the rest. Returns (bid, ask, clearing price)."""
    bid = submit(a, alice, period, True, 1_000, 150)
    ask = submit(a, bob, period, False, 600, 100)
    _, m = cleared(a, chain, keeper, period)
    return bid, ask, m.clearingPricePerKWh


def test_a_claimed_place_is_rewritten_by_the_next_order_and_its_old_id_is_told_apart(a, alice, bob, keeper, chain, period):
    """An order takes its trader's place period % 16; once claimed, the trader's order of the market
    16 periods on rewrites it, and the old id names a place that moved on."""
    bid, _, _ = crossed_market(a, chain, keeper, alice, bob, period)
    assert bid == order_id(period, True, alice) and place_of(bid) == period % ORDER_SLOTS
    a.claim(bid, sender=keeper)
    later = period + ORDER_SLOTS
    tx = a.submitBid(later, 700, price(40), sender=alice)
    assert tx.return_value == order_id(later, True, alice) and place_of(tx.return_value) == place_of(bid)
    assert_logs(  # the place held a claimed order: nothing to claim in line
        tx,
        log(
            a.OrderSubmitted,
            orderId=tx.return_value,
            period=later,
            trader=alice.address,
            isBid=True,
            amountWh=700,
            limitPricePerKWh=price(40),
            escrow=cost_ceil(700, price(40)),
        ),
    )
    assert a.getOrder(tx.return_value) == (alice.address, later, True, 700, price(40), 40, 0, False, 0)
    with reverts(a.OrderSlotReused, orderId=bid, placePeriod=later):
        a.claim(bid, sender=keeper)
    with reverts(a.OrderSlotReused, orderId=bid, placePeriod=later):
        a.getOrder(bid)
    with reverts(a.OrderSlotReused, orderId=bid, placePeriod=later):
        a.getOrderOutcome(bid)


def test_a_later_order_claims_the_earlier_one_in_line(a, vault, alice, bob, keeper, chain, period):
    """A place whose order's market cleared unclaimed is claimed in line by the trader's next order
    there: the claim's event, its payout credited and the new escrow taken in the same transaction,
    exactly as a claim and a submission one after the other; the old id is then spent."""
    bid, ask, p = crossed_market(a, chain, keeper, alice, bob, period)
    bid_outcome, ask_outcome = a.getOrderOutcome(bid), a.getOrderOutcome(ask)
    assert (bid_outcome.filledWh, ask_outcome.filledWh) == (600, 600)
    before = holdings(vault, [alice, bob, a])
    later = period + ORDER_SLOTS
    escrow = cost_ceil(500, price(30))
    tx = a.submitBid(later, 500, price(30), sender=alice)
    new_bid = tx.return_value
    assert place_of(new_bid) == place_of(bid)
    assert_logs(
        tx,
        log(
            a.OrderClaimed,
            orderId=bid,
            trader=alice.address,
            isBid=True,
            filledWh=600,
            payment=bid_outcome.payment,
            fee=0,
            refund=bid_outcome.refund,
        ),
        log(
            a.OrderSubmitted,
            orderId=new_bid,
            period=later,
            trader=alice.address,
            isBid=True,
            amountWh=500,
            limitPricePerKWh=price(30),
            escrow=escrow,
        ),
    )
    assert bid_outcome.payment == cost_ceil(600, p) and bid_outcome.payment + bid_outcome.refund == cost_ceil(1_000, price(150))
    tx = a.submitAsk(later, 100, price(200), sender=bob)  # Bob's ask: proceeds in, 100 Wh escrowed
    proceeds = ask_outcome.payment - ask_outcome.fee
    assert_logs(
        tx,
        log(
            a.OrderClaimed,
            orderId=ask,
            trader=bob.address,
            isBid=False,
            filledWh=600,
            payment=ask_outcome.payment,
            fee=ask_outcome.fee,
            refund=0,
        ),
        log(
            a.OrderSubmitted,
            orderId=tx.return_value,
            period=later,
            trader=bob.address,
            isBid=False,
            amountWh=100,
            limitPricePerKWh=price(200),
            escrow=100,
        ),
    )
    (alice_wh, alice_cash), (bob_wh, bob_cash), (auction_wh, auction_cash) = before
    assert holdings(vault, [alice, bob, a]) == [
        (alice_wh + 600, alice_cash + bid_outcome.refund - escrow),
        (bob_wh - 100, bob_cash + proceeds),
        (auction_wh - 600 + 100, auction_cash - bid_outcome.refund - proceeds + escrow),
    ]
    for spent, later_order in ((bid, new_bid), (ask, tx.return_value)):
        with reverts(a.OrderSlotReused, orderId=spent, placePeriod=later):
            a.claim(spent, sender=keeper)
        assert not a.getOrder(later_order).claimed


def test_a_live_place_is_skipped_and_no_order_clears_a_market_in_line(a, alice, bob, keeper, chain, period):
    """A place is live while its order is unclaimed and its market uncleared, even once the market
    may clear: the next order takes the next place, and nobody's submission pays for a clearing."""
    first = submit(a, alice, period, True, 1_000, 150)
    submit(a, bob, period, False, 600, 100)
    second = submit(a, alice, period, True, 1_000, 150)  # the same market: the next place
    assert place_of(second) == (period + 1) % ORDER_SLOTS
    close_gate(chain, period)  # the market may clear; nobody has
    later = submit(a, alice, period + ORDER_SLOTS, True, 100, 10)
    assert place_of(later) == (period + 2) % ORDER_SLOTS
    assert not a.getMarket(period).cleared and not a.getOrder(first).claimed
    a.clear(period, sender=keeper)
    a.claim(first, sender=keeper)
    with reverts(a.AlreadyClaimed, orderId=first):
        a.claim(first, sender=keeper)


def test_a_trader_with_every_probed_place_live_takes_a_one_off_place(a, alice, bob, keeper, chain, period):
    """Four places are probed from period % 16, wrapping after 15; with all four live, the order takes
    a place of its own market, 16 + its sequence number there: a trader's open orders are not capped."""
    market = period + (14 - period) % ORDER_SLOTS  # places 14, 15, 0, 1
    ids = [submit(a, alice, market, True, 100, 150) for _ in range(4)]
    assert [place_of(i) for i in ids] == [14, 15, 0, 1]
    submit(a, bob, market, False, 50, 200)  # the market's fifth order, above every bid: nothing trades
    extra = submit(a, alice, market, True, 100, 150)  # its sixth
    assert extra == order_id(market, True, alice, ORDER_SLOTS + 6)
    assert a.getOrder(extra) == (alice.address, market, True, 100, price(150), 150, 400, False, 0)
    cleared(a, chain, keeper, market)
    tx = a.claim(extra, sender=keeper)
    assert_logs(
        tx,
        log(
            a.OrderClaimed, orderId=extra, trader=alice.address, isBid=True, filledWh=0, payment=0, fee=0, refund=cost_ceil(100, price(150))
        ),
    )
    with reverts(a.AlreadyClaimed, orderId=extra):
        a.claim(extra, sender=keeper)


def test_fee_rate_is_fixed_when_a_market_opens(a, admin, alice, bob, keeper, chain, period):
    """The setter's bounds and event; tests/test_auction_fee_snapshot.py has the rate's rules."""
    submit(a, alice, period, True, 10_000, 200)
    ask = submit(a, bob, period, False, 10_000, 100)
    with reverts(a.FeeTooHigh, feeBps=MAX_FEE_BPS + 1, maxFeeBps=MAX_FEE_BPS):
        a.setGridFee(MAX_FEE_BPS + 1, sender=admin)
    tx = a.setGridFee(200, sender=admin)
    assert_logs(tx, log(a.GridFeeUpdated, previousBps=FEE_BPS, newBps=200))
    assert a.gridFeeBps() == 200
    submit(a, alice, period + 1, True, 10_000, 200)
    later_ask = submit(a, bob, period + 1, False, 10_000, 100)
    close_gate(chain, period + 1)
    a.clear(period, sender=keeper)
    a.clear(period + 1, sender=keeper)
    gross = 10_000 * price(150) // 1_000
    assert a.getMarket(period).feeBps == FEE_BPS and a.getOrderOutcome(ask).fee == gross * FEE_BPS // 10_000
    assert a.getMarket(period + 1).feeBps == 200 and a.getOrderOutcome(later_ask).fee == gross * 200 // 10_000


def test_fee_recipient_change(a, vault, admin, fee_recipient, stranger, alice, bob, keeper, chain, stablecoin, period):
    submit(a, alice, period, True, 10_000, 200)
    submit(a, bob, period, False, 10_000, 100)
    close_gate(chain, period)
    a.clear(period, sender=keeper)
    with reverts(a.InvalidFeeRecipient, feeRecipient=ZERO_ADDRESS):
        a.setFeeRecipient(ZERO_ADDRESS, sender=admin)
    tx = a.setFeeRecipient(stranger, sender=admin)
    assert_logs(tx, log(a.FeeRecipientUpdated, previousRecipient=fee_recipient.address, newRecipient=stranger.address))
    assert a.feeRecipient() == stranger.address
    accrued = a.accruedFees()
    assert accrued > 0
    with reverts(a.NotFeeRecipient, caller=fee_recipient.address, feeRecipient=stranger.address):
        a.withdrawFees(sender=fee_recipient)
    wallet, (held_wh, held) = stablecoin.balanceOf(stranger), holdings(vault, [a])[0]
    a.withdrawFees(sender=stranger)  # fees accrued before the change go to the new recipient, in the vault
    # The auction keeps the unclaimed orders' escrow; only the fees left it.
    assert holdings(vault, [stranger, fee_recipient, a]) == [(0, accrued), (0, 0), (held_wh, held - accrued)]
    assert stablecoin.balanceOf(stranger) == wallet


def test_admin_functions_refuse_strangers(a, stranger):
    for call in (
        lambda: a.setPriceGrid(MIN_PRICE, TICK_SIZE, MAX_PRICE, sender=stranger),
        lambda: a.setGridFee(10, sender=stranger),
        lambda: a.setFeeRecipient(stranger, sender=stranger),
        lambda: a.unpause(sender=stranger),
    ):
        with reverts(a.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
            call()
    with reverts(a.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=PAUSER_ROLE):
        a.pause(sender=stranger)


def test_pause_stops_submission_but_never_clearing_or_claims(
    a, admin, alice, bob, keeper, fee_recipient, chain, energy_token, stablecoin, period
):
    bid = submit(a, alice, period, True, 1_000, 150)
    ask = submit(a, bob, period, False, 1_000, 100)
    submit(a, alice, period + 1, True, 1_000, 150)
    close_gate(chain, period)
    a.clear(period, sender=keeper)
    tx = a.pause(sender=admin)
    assert_logs(tx, log(a.Paused, account=admin.address))
    assert a.paused()
    with reverts(a.EnforcedPause):
        a.pause(sender=admin)
    with reverts(a.EnforcedPause):
        a.submitBid(period + 2, 1_000, MIN_PRICE, sender=alice)
    with reverts(a.EnforcedPause):
        a.submitAsk(period + 2, 1_000, MIN_PRICE, sender=bob)
    # The way out stays open: clearing, claims and the fee withdrawal.
    close_gate(chain, period + 1)
    a.clear(period + 1, sender=keeper)
    assert a.getMarket(period + 1).cleared
    a.claim(bid, sender=keeper)
    a.claim(ask, sender=keeper)
    a.withdrawFees(sender=fee_recipient)
    tx = a.unpause(sender=admin)
    assert_logs(tx, log(a.Unpaused, account=admin.address))
    with reverts(a.ExpectedPause):
        a.unpause(sender=admin)
    assert order_period(submit(a, alice, period + 3, True, 1_000, 0)) == period + 3


def innermost_refusal(chain: Any, sender: Any, contract: Any, data: Any) -> str:
    """The contract whose lock refused `sender`'s call of `contract` with `data`, replayed with the
    node's call tracer: the innermost call that reverted with ReentrancyGuardReentrantCall (the
    auction and the vault share the error, so its data alone does not tell them apart)."""
    call = {"from": sender.address, "to": contract.address, "data": to_hex(data), "gas": hex(10_000_000)}
    tree = chain.provider.make_request("debug_traceCall", [call, "latest", {"tracer": "callTracer"}])
    frames, refused = [tree], []
    while frames:
        frame = frames.pop()
        if frame.get("error") and frame.get("output") == REENTRANT_CALL_SELECTOR:
            refused.append((frame.get("depth", 0), frame["to"]))
        frames += [dict(c, depth=frame.get("depth", 0) + 1) for c in frame.get("calls", ())]
    assert refused, f"no call was refused by a lock: {tree.get('error')}"
    return to_checksum_address(max(refused)[1])


@pytest.mark.parametrize("inner", ["submitBid", "submitAsk", "claim", "withdrawFees"])
def test_a_reentrant_token_inside_the_vault_pull_finds_the_auction_locked(
    project, admin, energy_token, fee_recipient, alice, keeper, chain, inner
):
    """The auction moves no token itself; its vault pulls an escrow shortfall from the trader's wallet.
    A payment token that calls back into the auction from inside that pull meets the auction's guard
    (submitBid, submitAsk and withdrawFees share it) or, for a claim (whose one call out is the vault's
    give), the vault's own lock; and nothing moves."""
    cash = project.ReentrantToken.deploy(sender=admin)
    cash_vault, hostile = on_own_vault(project, admin, energy_token, cash, fee_recipient, [alice])
    cash.mint(alice, 10**12, sender=alice)
    period = open_period(chain)
    first = hostile.submitBid(period, 1_000, MIN_PRICE, sender=alice).return_value
    close_gate(chain, period)
    hostile.clear(period, sender=keeper)  # `first` can be claimed now (a refund: nothing crossed)
    later = open_period(chain)
    payloads = {
        "submitBid": hostile.submitBid.encode_input(later, 1_000, MIN_PRICE),
        "submitAsk": hostile.submitAsk.encode_input(later, 1_000, MIN_PRICE),
        "claim": hostile.claim.encode_input(first),
        "withdrawFees": hostile.withdrawFees.encode_input(),
    }
    before = wallets((energy_token, cash), [alice, cash_vault]), holdings(cash_vault, [alice, hostile])
    cash.arm(hostile, payloads[inner], sender=alice)
    outer = hostile.submitBid.encode_input(later, 2_000, MIN_PRICE)
    refused_by = cash_vault if inner == "claim" else hostile
    assert innermost_refusal(chain, alice, hostile, outer) == refused_by.address
    with reverts(hostile.ReentrancyGuardReentrantCall):
        hostile.submitBid(later, 2_000, MIN_PRICE, sender=alice)
    assert (wallets((energy_token, cash), [alice, cash_vault]), holdings(cash_vault, [alice, hostile])) == before
    assert before[1] == [(0, 0), (0, cost_ceil(1_000, MIN_PRICE))]  # the first bid's escrow, pulled unarmed
    assert not hostile.getOrder(first).claimed and hostile.getMarket(later).orderCount == 0


def test_a_reentrant_token_inside_the_vault_pull_finds_the_vault_locked(project, admin, energy_token, fee_recipient, alice, chain):
    """The vault's own lock: from inside one auction's pull the token bids in a second auction of the
    same vault, which is not locked itself, and that auction's take meets the vault's guard."""
    cash = project.ReentrantToken.deploy(sender=admin)
    cash_vault, hostile = on_own_vault(project, admin, energy_token, cash, fee_recipient, [alice])
    second = deploy_energy_auction(project, *deploy_args(admin, cash_vault, fee_recipient), sender=admin)
    cash_vault.registerMarket(second, sender=admin)
    cash.mint(alice, 10**12, sender=alice)
    period = open_period(chain)
    before = wallets((energy_token, cash), [alice, cash_vault]), holdings(cash_vault, [alice, hostile, second])
    cash.arm(second, second.submitBid.encode_input(period, 1_000, MIN_PRICE), sender=alice)
    outer = hostile.submitBid.encode_input(period, 1_000, MIN_PRICE)
    assert innermost_refusal(chain, alice, hostile, outer) == cash_vault.address
    with reverts(hostile.ReentrancyGuardReentrantCall):
        hostile.submitBid(period, 1_000, MIN_PRICE, sender=alice)
    assert (wallets((energy_token, cash), [alice, cash_vault]), holdings(cash_vault, [alice, hostile, second])) == before
    assert hostile.getMarket(period).orderCount == second.getMarket(period).orderCount == 0
    # Unarmed, the same bid goes through: the pull, then the escrow in the auction's balance.
    cash.arm(ZERO_ADDRESS, b"", sender=alice)
    hostile.submitBid(period, 1_000, MIN_PRICE, sender=alice)
    assert holdings(cash_vault, [alice, hostile]) == [(0, 0), (0, cost_ceil(1_000, MIN_PRICE))]


def test_claims_do_not_depend_on_the_payment_token(project, admin, energy_token, fee_recipient, alice, keeper, chain):
    """A claim only credits the trader's vault balance, so a payment token whose transfers return
    false cannot hold it up. The withdrawal from the vault is the transfer, and the vault's SafeERC20
    refuses the false return there, leaving the balance in the vault."""
    cash = project.FailingToken.deploy(sender=admin)
    cash_vault, odd = on_own_vault(project, admin, energy_token, cash, fee_recipient, [alice])
    cash.mint(alice, 10**12, sender=alice)
    period = open_period(chain)
    bid = odd.submitBid(period, 1_000, MIN_PRICE, sender=alice).return_value  # pulled with transferFrom, which works
    close_gate(chain, period)
    odd.clear(period, sender=keeper)
    cash.setMode(1, sender=alice)  # ReturnFalse
    refund = cost_ceil(1_000, MIN_PRICE)
    tx = odd.claim(bid, sender=keeper)
    assert_logs(tx, log(odd.OrderClaimed, orderId=bid, trader=alice.address, isBid=True, filledWh=0, payment=0, fee=0, refund=refund))
    assert odd.getOrder(bid).claimed and holdings(cash_vault, [alice, odd]) == [(0, refund), (0, 0)]
    with reverts(cash_vault.SafeERC20FailedOperation, token=cash.address):
        cash_vault.withdraw(cash, refund, alice, sender=alice)
    assert holdings(cash_vault, [alice])[0] == (0, refund) and cash.balanceOf(cash_vault) == refund


# ----------------------------------------------------------------------------- the back-run


def test_the_back_run_gains_nothing_in_the_auction(a, vault, alice, bob, carol, keeper, chain, period):
    """The continuous book's back-run: a SELL at 0.10 rests, a BUY at 0.25 arrives, and an
    attacker adds a SELL at 0.25 and a BUY at 0.10 to sell to the buyer at 0.25 and buy the resting
    energy at 0.10. In the auction everyone trades at one price: the buyer and the honest seller trade
    with each other at the uniform price, the attacker's orders are outside it, and the attacker
    ends exactly where it started."""
    seller, buyer, attacker = alice, bob, carol
    t_010, t_025 = (100_000 - MIN_PRICE) // TICK_SIZE, (250_000 - MIN_PRICE) // TICK_SIZE
    before = holdings(vault, [seller, buyer, attacker])
    sell = submit(a, seller, period, False, 1_000, t_010)
    buy = submit(a, buyer, period, True, 1_000, t_025)
    attack_sell = submit(a, attacker, period, False, 1_000, t_025)
    attack_buy = submit(a, attacker, period, True, 1_000, t_010)
    _, m = cleared(a, chain, keeper, period)
    # D = 2,000 up to 0.10, 1,000 up to 0.25; S = 1,000 from 0.10, 2,000 from 0.25: 1,000 trades with
    # no imbalance strictly between them, and the price is that range's midpoint, 0.175.
    assert (m.clearingPricePerKWh, m.volumeWh, m.longSide) == (175_000, 1_000, NONE)
    assert fills(a, [sell, buy, attack_sell, attack_buy]) == [1_000, 1_000, 0, 0]
    for oid in (sell, buy, attack_sell, attack_buy):
        a.claim(oid, sender=keeper)
    after = holdings(vault, [seller, buyer, attacker])
    paid = cost_ceil(1_000, 175_000)
    assert after[2] == before[2]  # the attacker: no profit, no loss
    assert after[1] == (before[1][0] + 1_000, before[1][1] - paid)  # the buyer pays the uniform price, not 0.25
    fee = paid * FEE_BPS // 10_000
    assert after[0] == (before[0][0] - 1_000, before[0][1] + paid - fee)
