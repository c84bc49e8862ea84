"""EnergyTrading's ABI: every item from before signed orders kept as it was, the published
IEnergyTrading selectors exact, and
every function, event and error exercised by the market's test modules.

Every custom error is asserted with all of its arguments and every market event with all of its
fields (`reverts` and `log` from support/helpers.py make ape's subset checks exhaustive); shared helpers
are in support/market_helpers.py, the market's fixtures in conftest.py.
"""

from __future__ import annotations

from typing import Any

from eth_utils import keccak

from support.helpers import (
    unexercised_abi_items,
)

# ----------------------------------------------------------------------------- ABI


# EnergyTrading's ABI as it was before signed orders (functions with outputs and mutability, events with
# their indexed inputs, errors): order and transaction ids became internal value types, and every
# item stayed exactly as it was.
ABI_BEFORE_SIGNED_ORDERS = set(
    """
error AccessControlBadConfirmation()
error AccessControlUnauthorizedAccount(address,bytes32)
error AmountAboveMaximum(uint256,uint256)
error AmountBelowMinimum(uint256,uint256)
error BatchTooLarge(uint256,uint256)
error EmptyBatch()
error EmptyPriceLevel(uint8,uint256)
error EnforcedPause()
error ExpectedPause()
error ExpiryNotInFuture(uint256,uint256)
error ExpiryTooFar(uint256,uint256)
error FeeTooHigh(uint256,uint256)
error FillBelowMinimum(uint256,uint256)
error FillExceedsRemaining(uint256,uint256,uint256)
error InvalidCounterparty(address)
error InvalidCursor(address,uint256)
error InvalidFeeRecipient(address)
error InvalidPageSize(uint256,uint256)
error InvalidReferencePrice(address)
error MaxPriceOutOfRange(uint256,uint256)
error MinOrderAmountOutOfRange(uint256,uint256)
error NoFeesAccrued()
error NotCounterparty(uint256,address)
error NotFeeRecipient(address,address)
error NotOrderTrader(uint256,address)
error OrderExpired(uint256,uint256)
error OrderNotActive(uint256,uint8)
error OrderNotExpired(uint256,uint256)
error OrderUnknown(uint256)
error PriceAboveMaximum(uint256,uint256)
error PriceBandOutOfRange(uint256,uint256)
error PriceOutsideBand(uint256,uint256,uint256)
error PricesDoNotCross(uint256,uint256)
error ReentrancyGuardReentrantCall()
error SelfTrade(address)
error SettlementWindowClosed(uint256,uint256)
error SettlementWindowOpen(uint256,uint256)
error SettlementWindowTooLong(uint256,uint256)
error TransactionNotPending(uint256,uint8)
error TransactionUnknown(uint256)
error WrongOrderType(uint256,uint8)
error ZeroAddress()
error ZeroAmount()
error ZeroPrice()
event ExpiredOrderReleased(uint256,address,address,uint256,uint256) indexed=11100
event FeeRecipientUpdated(address,address) indexed=11
event FeesWithdrawn(address,uint256) indexed=10
event GridFeeUpdated(uint256,uint256) indexed=00
event MaxPriceUpdated(uint256,uint256) indexed=00
event MinOrderAmountUpdated(uint256,uint256) indexed=00
event OrderCancelled(uint256,address,uint256,uint256) indexed=1100
event OrderCreated(uint256,address,uint8,uint256,uint256,uint256,address) indexed=1110000
event OrderTaken(uint256,uint256,address,uint256,uint256) indexed=11100
event OrdersMatched(uint256,uint256,uint256,uint256,uint256) indexed=11100
event Paused(address) indexed=0
event PriceBandUpdated(address,uint32,uint256) indexed=110
event PriceLevelPruned(uint8,uint256,uint256) indexed=110
event RoleAdminChanged(bytes32,bytes32,bytes32) indexed=111
event RoleGranted(bytes32,address,address) indexed=111
event RoleRevoked(bytes32,address,address) indexed=111
event SettlementWindowUpdated(uint256,uint256) indexed=00
event TransactionSettled(uint256,address,address,uint256,uint256,uint256,uint256) indexed=1110000
event TransactionVoided(uint256,address,address,address,uint256,uint256) indexed=111000
event Unpaused(address) indexed=0
function DEFAULT_ADMIN_ROLE() -> (bytes32) view
function MAX_DEAD_ENTRIES_PER_CALL() -> (uint256) view
function MAX_FEE_BPS() -> (uint256) view
function MAX_FILLS_PER_ORDER() -> (uint256) view
function MAX_ORDER_AMOUNT_WH() -> (uint256) view
function MAX_ORDER_LIFETIME() -> (uint256) view
function MAX_ORDERS_SCANNED() -> (uint256) view
function MAX_PAGE_SIZE() -> (uint256) view
function MAX_PRICE_BAND_BPS() -> (uint256) view
function MAX_SETTLEMENT_BATCH() -> (uint256) view
function MAX_SETTLEMENT_WINDOW() -> (uint256) view
function OPERATOR_ROLE() -> (bytes32) view
function PAUSER_ROLE() -> (bytes32) view
function PRICE_CAP_PER_KWH() -> (uint256) view
function accruedFees() -> (uint256) view
function bestPrices() -> (uint256,uint256) view
function cancelOrder(uint256) -> () nonpayable
function createDirectedOrder(uint256,uint256,uint256,uint8,address) -> (uint256) nonpayable
function createOrder(uint256,uint256,uint256,uint8) -> (uint256) nonpayable
function energyToken() -> (address) view
function feeRecipient() -> (address) view
function fillOrder(uint256,uint256) -> (uint256) nonpayable
function getEnergyBalance(address) -> (uint256) view
function getOrder(uint256) -> ((address,uint256,uint256,uint256,uint8,uint8)) view
function getOrderInfo(uint256) -> ((uint256,address,uint256,uint256,uint256,uint256,uint8,uint8,address,uint256)) view
function getRoleAdmin(bytes32) -> (bytes32) view
function getTraderOrders(address,uint256,uint256) -> ((uint256,address,uint256,uint256,uint256,uint256,uint8,uint8,address,uint256)[],uint256) view
function getTransaction(uint256) -> ((address,address,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint8,uint256,uint256)) view
function grantRole(bytes32,address) -> () nonpayable
function gridFeeBps() -> (uint256) view
function hasRole(bytes32,address) -> (bool) view
function matchOrders(uint256,uint256) -> (uint256) nonpayable
function maxPrice() -> (uint256) view
function minOrderAmount() -> (uint256) view
function nextInLevel(uint256) -> (uint256) view
function nextPriceLevel(uint8,uint256) -> (uint256) view
function orderCount() -> (uint256) view
function pause() -> () nonpayable
function paused() -> (bool) view
function paymentToken() -> (address) view
function priceBand() -> (address,uint32,uint256) view
function priceLevel(uint8,uint256) -> (uint256,uint256) view
function pruneLevel(uint8,uint256) -> (uint256) nonpayable
function releaseExpiredOrder(uint256) -> () nonpayable
function renounceRole(bytes32,address) -> () nonpayable
function revokeRole(bytes32,address) -> () nonpayable
function setFeeRecipient(address) -> () nonpayable
function setGridFee(uint256) -> () nonpayable
function setMaxPrice(uint256) -> () nonpayable
function setMinOrderAmount(uint256) -> () nonpayable
function setPriceBand(address,uint32,uint256) -> () nonpayable
function setSettlementWindow(uint256) -> () nonpayable
function settleTransaction(uint256) -> () nonpayable
function settleTransactions(uint256[]) -> () nonpayable
function settlementWindow() -> (uint256) view
function supportsInterface(bytes4) -> (bool) view
function transactionCount() -> (uint256) view
function unpause() -> () nonpayable
function voidTransaction(uint256) -> () nonpayable
function withdrawFees() -> (uint256) nonpayable
""".strip().splitlines()
)
ABI_ADDED_WITH_SIGNED_ORDERS = {
    "function cancelOrderBySig(uint256,uint256,uint256,uint8,bytes32,bytes32) -> () nonpayable",
    "function createOrderBySig((address,uint256,uint256,uint256,uint8,address,uint256,uint256),uint8,bytes32,bytes32,"
    "(uint256,uint256,uint8,bytes32,bytes32)[]) -> (uint256) nonpayable",
    "function eip712Domain() -> (bytes1,string,string,uint256,address,bytes32,uint256[]) view",
    "function nonces(address) -> (uint256) view",
    "event EIP712DomainChanged() indexed=",
    "error InvalidNonce(address,uint256,uint256)",
    "error InvalidSigner(address,address)",
    "error MalleableSignature(bytes32)",
    "error SignatureExpired(uint256,uint256)",
}
# A crossing order that reaches a crossing bound stops there instead of reverting
# (test_book_dust_griefing.py): the two errors it used to raise are gone.
# On the EnergyVault the book moves no token: a shortfall is the vault's or the token's own error (raised
# in the vault's pull), a failed permit is passed over for the same pull to report, and no payout can be
# refused, so nothing is owed: those errors, events and functions are gone.
ABI_REMOVED = {
    "error TooManyCrossings(uint256)",
    "error TooManyDeadEntries(uint256)",
    "error InsufficientEnergyBalance(address,uint256,uint256)",
    "error InsufficientPaymentBalance(address,uint256,uint256)",
    "error PermitNotApplied(address,address,uint256,uint256)",
    "error NothingOwed(address,address)",
    "event PayoutDeferred(address,address,uint256) indexed=110",
    "event OwedWithdrawn(address,address,uint256) indexed=110",
    "function owed(address,address) -> (uint256) view",
    "function withdrawOwed(address) -> (uint256) nonpayable",
}
ABI_ADDED_WITH_THE_VAULT = {"function vault() -> (address) view"}
PUBLISHED_SELECTORS = {  # IEnergyTrading as integrators call it, exactly
    "createOrder(uint256,uint256,uint256,uint8)": "34ffe662",
    "cancelOrder(uint256)": "514fcac7",
    "matchOrders(uint256,uint256)": "1756353d",
    "settleTransaction(uint256)": "19062b8f",
}


def _abi_type(item: Any) -> str:
    if item.type.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item.components) + ")" + item.type[5:]
    return item.type


def abi_lines(contract_type: Any) -> set[str]:
    lines = set()
    for item in contract_type.abi:
        if item.type == "function":
            args = ",".join(_abi_type(i) for i in item.inputs)
            outputs = ",".join(_abi_type(o) for o in item.outputs)
            lines.add(f"function {item.name}({args}) -> ({outputs}) {item.stateMutability}")
        elif item.type == "event":
            indexed = "".join("1" if i.indexed else "0" for i in item.inputs)
            lines.add(f"event {item.name}({','.join(_abi_type(i) for i in item.inputs)}) indexed={indexed}")
        elif item.type == "error":
            lines.add(f"error {item.name}({','.join(_abi_type(i) for i in item.inputs)})")
    return lines


def test_the_abi_kept_every_item_and_gained_the_signed_orders(project):
    """Nothing of the ABI before signed orders went or changed (the published selectors included)."""
    lines = abi_lines(project.EnergyTrading.contract_type)
    assert ABI_BEFORE_SIGNED_ORDERS - lines == set()
    assert ABI_ADDED_WITH_SIGNED_ORDERS - lines == set()
    assert ABI_REMOVED & lines == set()
    assert ABI_ADDED_WITH_THE_VAULT - lines == set()
    selectors = {
        item.selector: keccak(text=item.selector)[:4].hex() for item in project.EnergyTrading.contract_type.abi if item.type == "function"
    }
    assert {signature: selectors[signature] for signature in PUBLISHED_SELECTORS} == PUBLISHED_SELECTORS


# ----------------------------------------------------------------------------- completeness


def test_every_function_event_and_error_is_exercised(market):
    """The market's ABI (EnergyTrading with its Settlement base), item by item, is named in its test
    modules or their shared helpers."""
    kinds = ("function", "event", "error")
    exempt = {
        "RoleAdminChanged",  # no role admin is ever changed
    }
    modules = [
        "test_energy_trading_*.py",
        "test_settlement_*.py",
        "test_book_dust_griefing.py",
        "test_nonce_invalidation.py",
        "test_pause_keeps_exits.py",
        "support/market_helpers.py",
    ]
    assert unexercised_abi_items("EnergyTrading", modules, kinds, exempt) == []
