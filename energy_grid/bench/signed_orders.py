"""Gas of the markets' relayed (EIP-712 signed) orders against their budgets: EnergyTrading's under
the conditions of bench_market's `createOrder SELL` (steady state: the trader has ordered before, so
their trader slot exists; a non-crossing SELL joining a level that already holds orders), and
EnergyAuction's firm ask beside the same trader's direct submitAsk.

A relayed order pays what a direct one does, plus the signature: its calldata, the EIP-712 hash
and ecrecover, and the nonce, which shares the trader's slot with their address (read by every
order anyway: the nonce's write, ~2,900, is what it adds).
"""

from __future__ import annotations

from typing import Any

from energy_grid.bench.core import ASK_LEVEL, BID_LEVEL, GasReport
from energy_grid.deploy.operations import BUY, SELL, approve_market, approve_vault_market, deposit_to_vault, meter_energy
from energy_grid.deploy.system import fund_local_accounts
from energy_grid.domain.enums import OrderType
from energy_grid.signing.auction import SignedAuctionOrder, sign_auction_order
from energy_grid.signing.orders import SignedOrder, sign_cancel, sign_market_approval, sign_order, sign_permit

# Budgets:
# relayed createOrder SELL, steady, from the vault: the direct createOrder SELL it extends plus the
# signature (~8,700 traced opcode by opcode before the vault: calldata 2,256 for trader, nonce,
# deadline, v, r, s and the empty permit list, ecrecover 3,100, ABI decoding, EIP-712 hashing and
# checks 3,027, the nonce's write 2,900: it shares the trader's slot, which every order reads).
BUDGET_RELAYED_CREATE = 105_000
# relayed create with a permit of the vault, the trader's first order (its market approval relayed
# before, approveMarketBySig): the steady figure + the trader's slot created (+17,100: its index is
# the low bits of its address, so the one slot holding its address and nonce maps both ways) + the
# permit's signature check and hashing (~5,000) and calldata (~2,500) + the token's nonce slot created
# (22,100) and the allowance slot set and spent (22,100, partly refunded when it returns to 0) + the
# vault's pull of the escrow from the wallet (a token transfer into the vault): ~171,800 measured.
BUDGET_RELAYED_CREATE_WITH_PERMIT = 180_000
# relayed cancelOrder: cancelOrder's 60,000 budget plus the signature (~6,000) and the nonce in
# the trader's slot, cold (5,000). Measured 62,759 (direct cancelOrder: 49,647).
BUDGET_RELAYED_CANCEL = 70_000
# relayed submitAsk (EnergyAuction.submitOrderBySig), the trader's second signed order, into a market
# and tick that hold orders, in a place of its own not used before, after three live places probed (as
# the direct submitAsk it is compared with, measured 93,002 on a fresh deployment: the place created,
# 22,100) plus the signature: calldata of the seven-field order and v, r, s (~2,900), the EIP-712
# hashing with the domain computed in the call (~1,500), ecrecover 3,000 and the trader's nonce slot
# read and rewritten (5,000; the trader's first signed order creates it, 22,100). Measured 105,525 on
# a fresh deployment, run alone.
BUDGET_RELAYED_AUCTION_ASK = 110_000
METERED_WH = 5_000_000
ORDER_WH = 1_000


def bench_signed_orders(report: GasReport, system: Any, operator: Any, chain: Any, traders: list[Any]) -> dict[str, int]:
    """Relayed createOrder (SELL, steady), relayed createOrder with a permit (the trader's first
    order: no approval transaction before it) and relayed cancelOrder, each beside the direct call.

    `traders`: three accounts with keys (ape test accounts): a trader who trades from the vault (its
    direct and relayed orders are compared), a trader who never sends a transaction (the relayer
    submits its signed market approval in the vault, then its first order with a permit of the vault),
    and the relayer. Levels: ASK_LEVEL and BID_LEVEL, as in
    bench_market (a first order opens each level if bench_market has not). Returns the figures.
    """
    trader, newcomer, relayer = traders
    market, energy_token = system.energy_trading, system.energy_token
    fund_local_accounts(system, operator, [trader, newcomer])
    meter_energy(system, operator, chain, [trader, newcomer], METERED_WH)
    approve_market(system, [trader])
    deposit_to_vault(system, [trader], METERED_WH, 0)  # its orders escrow from the vault
    chain_id = chain.chain_id
    expiry = chain.pending_timestamp + 30 * 86_400
    deadline = chain.pending_timestamp + 86_400

    def relayed(account: Any, amount_wh: int, price: int, kind: int, permit: list[Any] | None = None) -> Any:
        order = SignedOrder(account.address, amount_wh, price, expiry, OrderType(kind), int(market.nonces(account)), deadline)
        sig = sign_order(order, account.private_key, market.address, chain_id)
        return market.createOrderBySig(order.as_tuple(), *sig.args(), permit or [], sender=relayer)

    # Anchors and the trader's first orders: the levels and the trader's account exist from here on.
    market.createOrder(ORDER_WH, ASK_LEVEL, expiry, SELL, sender=trader)
    market.createOrder(ORDER_WH, BID_LEVEL, expiry, BUY, sender=trader)
    relayed(trader, ORDER_WH, ASK_LEVEL, SELL)

    direct = market.createOrder(ORDER_WH, ASK_LEVEL, expiry, SELL, sender=trader).gas_used
    tx = relayed(trader, ORDER_WH, ASK_LEVEL, SELL)
    relayed_create = tx.gas_used
    report.add("createOrderBySig SELL (relayed, steady)", relayed_create, BUDGET_RELAYED_CREATE, f"direct createOrder SELL: {direct:,}")

    # The newcomer's first order: metered energy in its wallet, no transaction of its own. Its market
    # approval in the vault is relayed first (approveMarketBySig), then the order with a permit of the vault.
    vault = system.energy_vault
    approval = sign_market_approval(
        newcomer.address, market.address, int(vault.nonces(newcomer)), deadline, newcomer.private_key, vault.address, chain_id
    )
    vault.approveMarketBySig(newcomer, market, deadline, approval, sender=relayer)
    permit = sign_permit(
        energy_token.name(),
        energy_token.address,
        newcomer.address,
        vault.address,
        ORDER_WH,
        int(energy_token.nonces(newcomer)),
        deadline,
        newcomer.private_key,
        chain_id,
    )
    with_permit = relayed(newcomer, ORDER_WH, ASK_LEVEL, SELL, [permit]).gas_used
    report.add(
        "createOrderBySig SELL + permit (relayed, first order)",
        with_permit,
        BUDGET_RELAYED_CREATE_WITH_PERMIT,
        "the trader's first order; the permit writes its allowance slot",
    )

    order_id = tx.return_value
    nonce = int(market.nonces(trader))
    sig = sign_cancel(order_id, nonce, deadline, trader.private_key, market.address, chain_id)
    relayed_cancel = market.cancelOrderBySig(order_id, nonce, deadline, *sig.args(), sender=relayer).gas_used
    direct_id = market.createOrder(ORDER_WH, ASK_LEVEL, expiry, SELL, sender=trader).return_value
    direct_cancel = market.cancelOrder(direct_id, sender=trader).gas_used
    report.add("cancelOrderBySig SELL (relayed)", relayed_cancel, BUDGET_RELAYED_CANCEL, f"direct cancelOrder SELL: {direct_cancel:,}")

    direct_ask, relayed_ask = _bench_auction_ask(system, chain, trader, relayer, deadline)
    report.add(
        "submitOrderBySig ask (auction, relayed)",
        relayed_ask,
        BUDGET_RELAYED_AUCTION_ASK,
        f"direct submitAsk in a new place: {direct_ask:,}",
    )
    return {
        "submitAsk (new place)": direct_ask,
        "submitOrderBySig ask": relayed_ask,
        "createOrder SELL": direct,
        "createOrderBySig SELL": relayed_create,
        "createOrderBySig SELL + permit": with_permit,
        "cancelOrder SELL": direct_cancel,
        "cancelOrderBySig SELL": relayed_cancel,
    }


def _bench_auction_ask(system: Any, chain: Any, trader: Any, relayer: Any, deadline: int) -> tuple[int, int]:
    """The trader's direct submitAsk and its relayed ask (its second signed order), each the trader's
    second ask of a market whose tick its first ask opened, so each takes a place not used before.
    Markets far enough ahead that the other benches leave them empty."""
    auction = system.energy_auction
    approve_vault_market(system, auction, [trader])
    limit = int(auction.minPrice())
    direct_market = int(auction.currentPeriod()) + 40
    relayed_market = direct_market + 1

    def relayed(period: int) -> Any:
        order = SignedAuctionOrder(trader.address, period, False, ORDER_WH, limit, int(auction.nonces(trader)), deadline)
        sig = sign_auction_order(order, trader.private_key, auction.address, chain.chain_id)
        return auction.submitOrderBySig(order.as_tuple(), *sig.args(), sender=relayer)

    for period in (direct_market, relayed_market):
        auction.submitAsk(period, ORDER_WH, limit, sender=trader)
    relayed(relayed_market)  # the trader's first signed order creates its nonce slot
    direct = auction.submitAsk(direct_market, ORDER_WH, limit, sender=trader).gas_used
    return direct, relayed(relayed_market).gas_used
