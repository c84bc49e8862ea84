"""Shared by the market test modules: constants, status codes, order helpers, balance snapshots,
mock logs and a revert check for errors bubbled up from the reference price source."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

import ape
from ape.exceptions import CustomError
from eth_utils import keccak
from hexbytes import HexBytes

from energy_grid.deploy.operations import BUY, SELL  # noqa: F401  (re-exported: IEnergyTrading.OrderType)
from energy_grid.domain.units import ZERO_ADDRESS
from energy_grid.signing.orders import SignedOrder

from support.helpers import NO_FREEZE_QUERY, error_data, log, role

ACTIVE, FILLED, CANCELLED = 0, 1, 2  # IEnergyTrading.OrderStatus
PENDING, SETTLED, VOIDED = 0, 1, 2  # ISettlement.TransactionStatus
OPERATOR_ROLE = role("OPERATOR_ROLE")
FEE_BPS = 50  # conftest MARKET_FEE_BPS
PAUSER_ROLE = role("PAUSER_ROLE")
MAX_ORDER_AMOUNT_WH = 2**40 - 1
PRICE_CAP_PER_KWH = 2**64 - 1
MAX_ORDER_LIFETIME = 365 * 86_400
MAX_PAGE_SIZE = 100
MAX_ORDERS_SCANNED = 1_000
MAX_FEE_BPS = 1_000
MAX_SETTLEMENT_WINDOW = 7 * 86_400
MAX_SETTLEMENT_BATCH = 50
BALANCE_OF_SELECTOR = "0x70a08231"  # balanceOf(address)
BALANCES_OF_SELECTOR = "0x" + keccak(text="balancesOf(address)")[:4].hex()  # IEnergyVault.balancesOf(address)
PRICE = 200_000  # 0.20 MOCKUSD per kWh (6 decimals)


def market_logs(tx, market):
    """The logs `market` emitted in `tx` (token Transfer logs left out)."""
    return [e for e in tx.events if e.contract_address == market.address]


def create(market: Any, trader: Any, amount_wh: int, price: int, order_type: int, expiry: int, counterparty: Any = None) -> int:
    if counterparty is None:
        tx = market.createOrder(amount_wh, price, expiry, order_type, sender=trader)
    else:
        tx = market.createDirectedOrder(amount_wh, price, expiry, order_type, counterparty, sender=trader)
    return tx.events.filter(market.OrderCreated)[0].orderId


def matched(market: Any, buy_id: int, sell_id: int, keeper: Any) -> int:
    tx = market.matchOrders(buy_id, sell_id, sender=keeper)
    return tx.events.filter(market.OrdersMatched)[0].transactionId


def fill_ids(tx: Any, market: Any) -> list[int]:
    """The transactions an order's creation recorded by crossing resting orders, in fill order."""
    return [e.transactionId for e in tx.events.filter(market.OrdersMatched)]


def matches(tx: Any, m: Any) -> list[tuple[int, int, int, int, int]]:
    """(transactionId, buyOrderId, sellOrderId, amountWh, pricePerKWh) of each fill, in order."""
    return [tuple(e.event_arguments.values()) for e in tx.events.filter(m.OrdersMatched)]


def crossing(market: Any, trader: Any, amount_wh: int, price: int, order_type: int, expiry: int) -> tuple[int, list[int]]:
    """Creates an undirected order; returns its id and the transactions it traded at once."""
    tx = market.createOrder(amount_wh, price, expiry, order_type, sender=trader)
    return tx.events.filter(market.OrderCreated)[0].orderId, fill_ids(tx, market)


def cost_ceil(amount_wh: int, price: int) -> int:
    return -(-amount_wh * price // 1000)


def transfer(token, sender, receiver, value):
    return log(token.Transfer, **{"from": sender.address, "to": receiver.address, "value": value})


class Wallets:
    """Vault balances (energy Wh, payment) of some accounts and the market, to diff: every escrow,
    refund, payout and fee of the book moves these, never a wallet."""

    def __init__(self, market, vault, *accounts):
        self.vault = vault.address
        self.addresses = [a.address for a in accounts] + [market.address]

    def read(self) -> dict[str, tuple[int, int]]:
        """Every balance in one batch (vault_balances)."""
        return dict(zip(self.addresses, vault_balances(self.vault, self.addresses), strict=True))


def assert_vault_backed(vault: Any, energy_token: Any, stablecoin: Any) -> None:
    """The vault's invariant, per token: the balances add up to the reserve (checked by the vault
    on every move) and the reserve is exactly what the vault holds of the token."""
    energy_reserve, payment_reserve = vault.reserves()
    assert energy_token.balanceOf(vault) == energy_reserve
    assert stablecoin.balanceOf(vault) == payment_reserve


def token_balances(tokens: Sequence[str], holders: Sequence[str]) -> list[tuple[int, ...]]:
    """Each holder's balance of each token (a row per holder, in the tokens' order), in one
    JSON-RPC batch of raw eth_calls: through ape or web3's contract layer each read costs
    milliseconds of encoding and formatting, and property and attack tests read dozens a step."""
    requests = [
        ("eth_call", [{"to": token, "data": BALANCE_OF_SELECTOR + holder[2:].lower().rjust(64, "0")}, "latest"])
        for holder in holders
        for token in tokens
    ]
    values = iter(int(response["result"], 16) for response in ape.chain.provider.web3.provider.make_batch_request(requests))
    return [tuple(next(values) for _ in tokens) for _ in holders]


def vault_balances(vault: str, holders: Sequence[str]) -> list[tuple[int, int]]:
    """Each holder's (energy Wh, payment) balance in the EnergyVault at `vault`, in one JSON-RPC
    batch of raw eth_calls, as token_balances reads wallets."""
    requests = [
        ("eth_call", [{"to": vault, "data": BALANCES_OF_SELECTOR + holder[2:].lower().rjust(64, "0")}, "latest"]) for holder in holders
    ]
    rows = []
    for response in ape.chain.provider.web3.provider.make_batch_request(requests):
        data = bytes.fromhex(response["result"][2:])
        rows.append((int.from_bytes(data[:32], "big"), int.from_bytes(data[32:64], "big")))
    return rows


def signed_order(market, trader, amount_wh, price, order_type, expiry, deadline, *, counterparty=None, nonce=None):
    """A SignedOrder of `trader` for `market` with the trader's current nonce (or `nonce`)."""
    return SignedOrder(
        trader.address,
        amount_wh,
        price,
        expiry,
        order_type,
        int(market.nonces(trader)) if nonce is None else nonce,
        deadline,
        counterparty=counterparty.address if counterparty is not None else ZERO_ADDRESS,
    )


def relay(market, order, signature, relayer, permit=()):
    """createOrderBySig sent by `relayer`; returns the transaction."""
    return market.createOrderBySig(order.as_tuple(), *signature.args(), list(permit), sender=relayer)


@contextmanager
def reverts_from_reference(error, **inputs):
    """The revert bubbled up from the reference price source is exactly `error(**inputs)`. ape decodes
    an error of another contract than the one called only sometimes (it depends on what it has seen
    of that contract), so the raw revert data is compared when it did not."""
    with ape.reverts() as info:
        yield info
    raised = info.value
    if isinstance(raised, CustomError):
        assert type(raised).__name__ == error.abi.name
        assert dict(raised.inputs) == inputs
    else:
        args = [inputs[ipt.name] for ipt in error.abi.inputs]
        assert set(inputs) == {ipt.name for ipt in error.abi.inputs}
        assert HexBytes(raised.revert_message) == error_data(error, *args)


def book_on_own_vault(project, admin, energy_token, cash, fee_recipient, fee_bps, traders, min_order_wh=1):
    """A vault of EnergyToken and `cash` with an EnergyTrading registered in it, approved by `traders`
    as their market and with unlimited allowances of both tokens for the vault: escrow the vault
    balance falls short of is pulled from their wallets; refunds and payouts are vault credits."""
    own_vault = project.EnergyVault.deploy(admin, energy_token, cash, NO_FREEZE_QUERY, sender=admin)
    market = project.EnergyTrading.deploy(admin, own_vault, fee_recipient, fee_bps, min_order_wh, sender=admin)
    own_vault.registerMarket(market, sender=admin)
    for trader in traders:
        own_vault.setMarketApproval(market, True, sender=trader)
        for token in (energy_token, cash):
            token.approve(own_vault, 2**256 - 1, sender=trader)
    return own_vault, market
