"""Reentrancy attacks on every function that moves value.

1. The grid on a hook token. A hostile payment token (contracts/test/ReentrantToken.sol: once armed, its
   next transfer calls a target with a payload from inside the transfer, as an ERC-777 hook would) is the
   payment token of one EnergyVault shared by EnergyTrading (and its base Settlement), EnergyAuction (the
   reading market of a SmartMeter with standing orders) and EnergyAssetShares, as in a deployment
   (`grid`). `GRID_OUTERS` lists every call that transfers the token from inside a vault call: the
   markets' orders and revenue deposits whose shortfall the vault pulls from the wallet (EnergyVault.take)
   and the vault's own deposits and withdrawals. `GRID_REFUSED` lists every value-moving call an account
   can make from inside such a transfer, across contracts: the book's orders, fills, cancellations,
   settlements and voids, the auction's orders, claims and fee withdrawal, SmartMeter's readings (the
   token's own, a gateway's, a relayed signed one) and standing-order settlement, the vault's deposits,
   withdrawals, approvals and market entries. Each is set up so that it goes through when the token makes
   it outside a vault call (the token holds vault balances, its own orders and meters, the markets' fee
   recipient's place, the book's operator role and a gateway's, or relays the attacker's signatures), and
   a control test proves it does. The matrix runs every outer call with every inner call armed: the
   reentry must be refused with ReentrancyGuardReentrantCall (the vault's lock, or the inner contract's
   own) and nothing may move: every token balance of the vault and the accounts, every vault balance, the
   reserves, the attacker's vault nonce and approvals are compared. `GRID_HARMLESS` are the inner calls
   that reach no vault balance (a match, a clearing, a redemption of metered consumption): they run inside,
   and the vault's balances must still add up to its reserves, which are what it holds.

   Two tests play the attack end to end: the attacker, holding ATTACKER_VAULT in the vault and
   ATTACKER_WALLET in its wallet, sends a BUY of both; from inside the pull of the wallet's part its hook
   (a) settles the trade the attacker bought in, (b) relays its own meter's signed reading, whose standing
   bid locks its whole free balance. The reentry must be refused; then the attacker cancels, settles and
   withdraws all it can and must end with no more than it brought, every token's vault balances adding up
   to the reserve the vault holds, and the victim withdrawing its deposit.

2. The other contracts that hold or move PaymentToken, each on its own ReentrantToken and vault:
   DemandResponse, DemandPrograms and EnergyAssetShares. For each, `TRIGGERS` names (and the scene prepares) every
   call that transfers PaymentToken (the outer call) and `GUARDED` lists every function that moves value
   (the inner call); the test runs the cross product:

   - DemandResponse: outer startEvent (the budget pulled into the vault: the one PaymentToken
     transfer of an event); inner startEvent, cancelEvent, claimReward, distributeRewards. Refunds,
     claims and batches move vault balances and transfer nothing, so they have no outer case.
   - DemandPrograms: outer createDemandProgram; inner createDemandProgram, cancelProgram,
     claimReward, distributeRewards (the same reasoning).
   - EnergyAssetShares: outer depositRevenue (its vault pulls a shortfall from the depositor's
     wallet); inner split, recombine, depositRevenue, claimRevenue. Claims move vault balances only.

   Each reentrant call must be refused with ReentrancyGuardReentrantCall, with nothing moved: each
   scene's vault balances are checked too.
   A control test per outer call arms a harmless reentry (the token's own `decimals()`) and checks
   it ran, so no outer call in the list could pass without a hostile transfer inside it.

   The scenes are deployed once per module (`attack_scenes`, `grid`), and so is the state that takes many
   transactions to reach (a booked trade, accrued fees, a verified reward): ape reverts the chain
   after every test, so each case starts from the same prepared scene.

   GridManagement.consumeEnergy has no guard (the payment goes straight from the consumer to the fee
   recipient; the contract holds nothing): reentry is harmless by design, and its test lets the token,
   itself a registered consumer, buy energy from inside a consumer's payment and checks every
   balance and counter afterwards.

3. A hostile contract account (contracts/test/HostileReceiver.sol: an ERC-721 and ERC-1155 receiver
   that calls a target from inside its next callback) against EnergyAssetNFT and EnergyAssetShares:
   safeTransferFrom of an asset (callback: forward the asset, split it), split (the shares' mint
   callback: split, recombine, depositRevenue, claimRevenue), the shares' safeTransferFrom and
   safeBatchTransferFrom (callback: claimRevenue, harmless by design), and the paths with no callback
   at all (mintAsset uses _mint, recombine uses transferFrom).

How nothing is forgotten: `test_every_function_is_classified` reads each contract's ABI and fails
if a state-changing function is neither in `GUARDED` (value-moving: attacked above) nor in
`NO_VALUE_MOVED` (with the reason it moves no value), if a listed name is not in the ABI any more,
if a value-moving function of the vault, the book, the auction or SmartMeter is no inner call of the
grid matrix, or if a value-moving function that transfers PaymentToken has no outer call (`NO_OUTER`
names those that transfer none, each with why).

Relied on and not repeated: test_settlement_reentrancy.py (settlement reentry, and matchOrders called back from
inside a transfer), test_energy_auction.py, test_energy_vault.py, test_demand_response.py,
test_demand_programs.py, test_energy_asset_shares.py (one reentry each).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import (
    AUCTION_FEE_BPS,
    AUCTION_GATE_CLOSURE_SECONDS,
    AUCTION_MAX_PRICE_PER_KWH,
    AUCTION_MIN_PRICE_PER_KWH,
    AUCTION_PERIOD_SECONDS,
    AUCTION_TICK_SIZE_PER_KWH,
    GRID_BASE_PRICE_PER_KWH,
    MARKET_FEE_BPS,
    meter_energy_to,
)
from eth_account import Account
from eth_utils import keccak

from energy_grid.deploy.system import deploy_energy_auction, deploy_smart_meter, interface_type
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS
from energy_grid.signing.auction import SignedAuctionOrder, sign_auction_order
from energy_grid.signing.orders import sign_cancel, sign_order
from energy_grid.signing.packed_readings import pack_readings
from energy_grid.signing.readings import sign_reading
from energy_grid.signing.vault import sign_market_approval, sign_withdrawal

from support.asset_helpers import mint, new_meter
from support.auction_helpers import order_id
from support.bulk_helpers import Bulk
from support.fuzz_rpc import mined_receipt
from support.helpers import NO_FREEZE_QUERY, ZERO_ADDRESS, log, reverts, sign_permit
from support.market_helpers import (
    ACTIVE,
    BUY,
    SELL,
    cost_ceil,
    create,
    crossing,
    signed_order,
    token_balances,
    vault_balances,
)

MAX_UINT = 2**256 - 1
HISTORY_SECONDS = 6 * DAY_SECONDS  # an event starts on a later interval than the last one
REGION = 1  # conftest grid_operator's region
# DemandResponse: a 1,000 kW target at 0.01 per kW.
DR_TARGET_KW, DR_RATE_PER_KW, DR_DURATION = 1_000, 10_000, 3_600
# DemandPrograms: 10 MW at 1 unit per MW over one interval.
DP_TARGET_MW, DP_RATE_PER_MW = 10, 1_000_000


# ----------------------------------------------------------------------------- the classification


# Every state-changing function of each attacked contract that moves value: the inner calls.
GUARDED: dict[str, tuple[str, ...]] = {
    "EnergyTrading": (
        "createOrder",
        "createDirectedOrder",
        "fillOrder",
        "cancelOrder",
        "releaseExpiredOrder",
        "withdrawFees",
        "createOrderBySig",
        "cancelOrderBySig",
        "settleTransaction",
        "settleTransactions",
        "voidTransaction",
    ),
    "EnergyAuction": ("submitBid", "submitAsk", "submitBidIn", "submitAskIn", "submitOrderBySig", "claim", "claimBatch", "withdrawFees"),
    "SmartMeter": (
        "submitReading",
        "submitReadings",
        "submitPackedReadings",
        "submitSignedReadings",
        "submitPackedSignedReadings",
        "settleStandingOrders",
        "settleStandingOrdersIn",
        "redeemConsumption",
    ),
    "EnergyVault": (
        "deposit",
        "depositWithPermit",
        "depositWithPermitFor",
        "withdraw",
        "withdrawBySig",
        "creditArrived",
        "take",
        "give",
        "settleBatch",
        "retireEnergy",
    ),
    "DemandResponse": ("startEvent", "cancelEvent", "claimReward", "distributeRewards"),
    "DemandPrograms": ("createDemandProgram", "cancelProgram", "claimReward", "distributeRewards"),
    "EnergyAssetShares": ("split", "recombine", "depositRevenue", "claimRevenue"),
    # No guard by design: see test_consume_energy_reentry_is_harmless.
    "GridManagement": ("consumeEnergy",),
    # The NFT's transfers are OpenZeppelin's; the callback comes after the state change (see the
    # receiver tests); mintAsset uses _mint, no callback.
    "EnergyAssetNFT": ("mintAsset", "transferFrom", "safeTransferFrom"),
}
# The contracts of the grid matrix: each of their value-moving functions must be one of its inner calls.
GRID_CONTRACTS = ("EnergyTrading", "EnergyAuction", "SmartMeter", "EnergyVault")

_GIVES = "credits vault balances (IEnergyVault.give or settleBatch): no token moves"
_METERED = "mints or burns EnergyToken, which has no transfer hook, and credits or moves vault balances: no PaymentToken moves"
# Value-moving functions that transfer no PaymentToken themselves (they move only EnergyToken, an NFT or
# vault balances: no transfer hook to call back from): attacked as inner calls only, or through HostileReceiver.
NO_OUTER = {
    "EnergyTrading.cancelOrder": _GIVES,
    "EnergyTrading.cancelOrderBySig": _GIVES,
    "EnergyTrading.releaseExpiredOrder": _GIVES,
    "EnergyTrading.withdrawFees": _GIVES,
    "EnergyTrading.settleTransaction": _GIVES,
    "EnergyTrading.settleTransactions": _GIVES,
    "EnergyTrading.voidTransaction": _GIVES,
    "EnergyAuction.submitAsk": "escrows EnergyToken (the vault pulls it), which has no transfer hook",
    "EnergyAuction.submitAskIn": "escrows EnergyToken (the vault pulls it), which has no transfer hook",
    "EnergyAuction.claim": _GIVES,
    "EnergyAuction.claimBatch": _GIVES,
    "EnergyAuction.withdrawFees": _GIVES,
    "SmartMeter.submitReading": _METERED,
    "SmartMeter.submitReadings": _METERED,
    "SmartMeter.submitPackedReadings": _METERED,
    "SmartMeter.submitSignedReadings": _METERED,
    "SmartMeter.submitPackedSignedReadings": _METERED,
    "SmartMeter.settleStandingOrders": _METERED,
    "SmartMeter.settleStandingOrdersIn": _METERED,
    "SmartMeter.redeemConsumption": "burns the owner's EnergyToken: no vault, no PaymentToken",
    "EnergyVault.creditArrived": "books tokens another call transferred: transfers none itself",
    "EnergyVault.give": _GIVES,
    "EnergyVault.settleBatch": _GIVES,
    "EnergyVault.retireEnergy": "burns the market's EnergyToken: no PaymentToken moves",
    "EnergyVault.take": "the markets' pull from the wallet: its outer calls are the markets' calls that reach it (GRID_OUTERS)",
    "DemandResponse.cancelEvent": "refunds into the operator's vault balance (IEnergyVault.give): no token moves",
    "DemandResponse.claimReward": "pays into the consumer's vault balance (IEnergyVault.give): no token moves",
    "DemandResponse.distributeRewards": "pays vault balances (IEnergyVault.settleBatch, give): no token moves",
    "DemandPrograms.cancelProgram": "refunds into the operator's vault balance (IEnergyVault.give): no token moves",
    "DemandPrograms.claimReward": "pays into the participant's vault balance (IEnergyVault.give): no token moves",
    "DemandPrograms.distributeRewards": "pays vault balances (IEnergyVault.settleBatch, give): no token moves",
    "EnergyAssetShares.claimRevenue": "pays into the holder's vault balance (IEnergyVault.give): no token moves",
    "EnergyAssetShares.split": "takes the NFT with transferFrom; its shares' mint callback is attacked with HostileReceiver",
    "EnergyAssetShares.recombine": "returns the NFT with transferFrom (no callback), burns shares",
    "EnergyAssetNFT.mintAsset": "_mint: no receiver callback (test_mint_and_recombine_make_no_callback)",
    "EnergyAssetNFT.transferFrom": "no receiver callback",
    "EnergyAssetNFT.safeTransferFrom": "attacked with HostileReceiver",
}

_ROLES = {
    "grantRole": "AccessControl bookkeeping",
    "revokeRole": "AccessControl bookkeeping",
    "renounceRole": "AccessControl bookkeeping",
}
_PAUSE = {"pause": "a flag", "unpause": "a flag"}

# State-changing functions that move no value, each with why.
NO_VALUE_MOVED: dict[str, dict[str, str]] = {
    "EnergyTrading": _ROLES
    | _PAUSE
    | {
        "matchOrders": (
            "books a trade between escrowed orders; vault balances move at settlement (a harmless inner call of the grid matrix)"
        ),
        "pruneLevel": "unlinks dead queue entries",
        "invalidateNonces": "raises the caller's signed-message nonce",
        "setGridFee": "a parameter",
        "setFeeRecipient": "a parameter",
        "setSettlementWindow": "a parameter",
        "setMinOrderAmount": "a parameter",
        "setMaxPrice": "a parameter",
        "setPriceBand": "a parameter",
    },
    "EnergyAuction": _ROLES
    | _PAUSE
    | {
        "clear": "computes the clearing price and books fees; vault balances move at claim (a harmless inner call of the grid matrix)",
        "setGridFee": "a parameter",
        "setFeeRecipient": "a parameter",
        "setPriceGrid": "a parameter",
        "setReadingDeadline": "a parameter",
        "setMarketZones": "a parameter, set once",
        "recordMetered": (
            "the meter registry's report only (NotMeterRegistry for anyone else, a token included): the standing"
            " orders it places and settles are attacked through SmartMeter's readings and settlements"
        ),
    },
    "SmartMeter": _ROLES
    | _PAUSE
    | {
        "registerMeter": "a registration",
        "deactivateMeter": "a flag",
        "reactivateMeter": "a flag",
        "setMinReadingInterval": "a parameter",
        "setMaxReadingAge": "a parameter",
        "setVault": "a parameter",
        "setVaultDelivery": "the owner's choice of where export goes",
        "setStandingOrder": "the owner's limits; orders are placed by readings",
        "setStandingOrderBySig": "the owner's limits; orders are placed by readings",
        "removeStandingOrder": "the owner's limits",
        "invalidateNonces": "raises the meter's signed-reading nonce",
        "invalidateStandingOrderNonces": "raises the owner's signed-limits nonce",
        "syncMeterZone": "the meter's zone number, taken from the reading market's zones",
    },
    "EnergyVault": _ROLES
    | {
        "setMarketApproval": "an approval bit beside the balances (an inner call of the grid matrix too)",
        "approveMarketBySig": "an approval bit beside the balances (an inner call of the grid matrix too)",
        "registerMarket": "a registration",
        "closeMarket": "a flag",
        "invalidateNonces": "raises the caller's signed-message nonce",
    },
    "DemandResponse": _ROLES
    | {
        "registerGridOperator": "a registration",
        "registerConsumer": "a registration",
        "joinEvent": "a registration",
        "rejectParticipation": "a status change",
        "verifyReduction": "reserves a reward in the books; paid by claimReward/distributeRewards",
        "verifyReductions": "reserves rewards in the books; paid by claimReward/distributeRewards",
        "recordRewardedReduction": "bookkeeping: the once-only record of rewarded intervals",
        "setMinimumReductionW": "a parameter",
        "setVerificationPeriod": "a parameter",
    },
    "DemandPrograms": {
        "joinProgram": "a registration",
        "reportReduction": "reserves a reward in the books; paid by claimReward/distributeRewards",
    },
    "EnergyAssetShares": _ROLES
    | _PAUSE
    | {
        "setManager": "a role on the asset",
        "setApprovalForAll": "an approval",
        "safeTransferFrom": "moves shares (no PaymentToken); its receiver callback is attacked with HostileReceiver",
        "safeBatchTransferFrom": "moves shares (no PaymentToken); its receiver callback is attacked with HostileReceiver",
    },
    "GridManagement": _ROLES
    | {
        name: "bookkeeping or parameters: no token moves"
        for name in (
            "chargeStorage",
            "deactivateParticipant",
            "dischargeStorage",
            "emergencyShutdown",
            "implementEmergencyProtocol",
            "reactivateParticipant",
            "recordMetrics",
            "registerConsumer",
            "registerOperator",
            "registerProducer",
            "registerStorage",
            "reportProduction",
            "setBasePrice",
            "setFeeRecipient",
            "setOperatorAuthorization",
            "setShutdownTargets",
            "toggleEmergencyMode",
            "unpause",
            "updateGridStatus",
            "updateProducerReputation",
            "verifyOperator",
            "verifyProducer",
            "verifyStorage",
        )
    },
    "EnergyAssetNFT": _ROLES
    | {
        "approve": "an approval",
        "setApprovalForAll": "an approval",
        "setMaintainer": "a role on the asset",
        "addMaintenanceRecord": "a record",
        "setSharesContract": "a parameter",
    },
}


# ----------------------------------------------------------------------------- 1. the grid on a hook token

# The hook token is the payment token of one EnergyVault that the order book, the auction (the reading
# market of a SmartMeter with standing orders) and EnergyAssetShares share, as in a deployment.
# The outer calls: every call that transfers the hook token from inside a vault call, a market's pull of a
# shortfall from the wallet (EnergyVault.take) or the vault's own deposit or withdrawal.
GRID_OUTERS = (
    "EnergyTrading.createOrder",
    "EnergyTrading.createDirectedOrder",
    "EnergyTrading.fillOrder",
    "EnergyTrading.createOrderBySig",
    "EnergyAuction.submitBid",
    "EnergyAuction.submitBidIn",
    "EnergyAuction.submitOrderBySig",
    "EnergyAssetShares.depositRevenue",
    "EnergyVault.deposit",
    "EnergyVault.depositWithPermit",
    "EnergyVault.depositWithPermitFor",
    "EnergyVault.withdraw",
    "EnergyVault.withdrawBySig",
)
# The inner calls that reach a vault balance: each is set up to go through when the token makes it outside
# a vault call (the token holds vault balances, its own orders and meter, the markets' fee recipient's
# place, the book's operator role and a gateway's, or relays a signature of the attacker's), and from
# inside one the vault's lock refuses it.
GRID_REFUSED = (
    "EnergyTrading.createOrder",
    "EnergyTrading.createDirectedOrder",
    "EnergyTrading.fillOrder",
    "EnergyTrading.cancelOrder",
    "EnergyTrading.releaseExpiredOrder",
    "EnergyTrading.withdrawFees",
    "EnergyTrading.createOrderBySig",
    "EnergyTrading.cancelOrderBySig",
    "EnergyTrading.settleTransaction",
    "EnergyTrading.settleTransactions",
    "EnergyTrading.voidTransaction",
    "EnergyAuction.submitBid",
    "EnergyAuction.submitAsk",
    "EnergyAuction.submitBidIn",
    "EnergyAuction.submitAskIn",
    "EnergyAuction.submitOrderBySig",
    "EnergyAuction.claim",
    "EnergyAuction.claimBatch",
    "EnergyAuction.withdrawFees",
    "EnergyAssetShares.depositRevenue",
    "SmartMeter.submitReading",
    "SmartMeter.submitReadings",
    "SmartMeter.submitPackedReadings",
    "SmartMeter.submitSignedReadings",
    "SmartMeter.submitPackedSignedReadings",
    "SmartMeter.settleStandingOrders",
    "SmartMeter.settleStandingOrdersIn",
    "EnergyVault.deposit",
    "EnergyVault.depositWithPermit",
    "EnergyVault.depositWithPermitFor",
    "EnergyVault.withdraw",
    "EnergyVault.withdrawBySig",
    "EnergyVault.setMarketApproval",
    "EnergyVault.approveMarketBySig",
    "EnergyVault.give",
    "EnergyVault.take",
    "EnergyVault.settleBatch",
    "EnergyVault.creditArrived",
    "EnergyVault.retireEnergy",
)
# The vault's entries for markets (and creditors): the token, which is neither, is refused outside a vault
# call too, with this error; an attacker reaches them only through a market's call, attacked above.
GRID_MARKETS_ONLY = {
    "EnergyVault.give": "NotMarket",
    "EnergyVault.take": "NotMarket",
    "EnergyVault.settleBatch": "NotMarket",
    "EnergyVault.retireEnergy": "NotMarket",
    "EnergyVault.creditArrived": "NotCreditor",
}
# Inner calls that reach no vault balance, with the event each emits: they run from inside a vault call,
# and the vault's books must still add up.
GRID_HARMLESS = {
    "EnergyTrading.matchOrders": "OrdersMatched",
    "EnergyAuction.clear": "MarketCleared",
    "SmartMeter.redeemConsumption": "ConsumptionRedeemed",
}

# The attacker: ATTACKER_VAULT of the hook token in the vault and ATTACKER_WALLET in its wallet, so each
# outer call of ATTACKER_SPEND makes the vault pull the rest from the wallet.
ATTACKER_VAULT, ATTACKER_WALLET = 1_000_000, 100_000
ATTACKER_SPEND = ATTACKER_VAULT + ATTACKER_WALLET
BID_PRICE = 250_000  # the attacker's BUY and bid limit, per kWh: ATTACKER_SPEND buys 4,400 Wh
SPEND_WH = ATTACKER_SPEND * 1_000 // BID_PRICE
ASK_PRICE = 300_000  # the seller's resting asks: above BID_PRICE, so the attacker's BUY crosses none
VICTIM_DEPOSIT = 5_000_000
METERED_WH = 10_000_000  # metered into the seller's, the attacker's and the counterparty's wallets
SETTLEMENT_WINDOW = 3_600
FAR = 30 * DAY_SECONDS  # expiries and deadlines, from now
GAS = 12_000_000
FREQUENCY, VOLTAGE = 50_000, 1_000
LOCK_ERROR = keccak(text="ReentrancyGuardReentrantCall()")[:4]


def answer_of(response: dict[str, Any]) -> Any:
    """A JSON-RPC response's result; the node's error named when it answered one."""
    assert "result" in response, f"the node answered an error: {response.get('error')}"
    return response["result"]


@dataclass
class Grid:
    """The grid on a hook token, what each outer and inner call sends, and the reads that check it."""

    chain: Any
    token: Any
    energy: Any
    vault: Any
    book: Any
    auction: Any
    meter: Any
    shares: Any
    attacker: Any
    victim: Any
    seller: Any
    keeper: Any
    holders: list[str]  # every account and contract with a vault balance
    outers: dict[str, tuple[str, Any, bytes]]  # name -> (sender, target, calldata)
    inners: dict[str, tuple[Any, bytes]]  # name -> (target, calldata), sent by the token
    attacker_meter: str
    pending_buy: int  # the trade the attacker buys in, past its window
    events: dict[bytes, str] = field(default_factory=dict)  # topic -> event name, of every contract above
    case_time_s: int = 0  # the chain time every case runs at

    def send(self, sender: str, target: Any, data: bytes) -> tuple[dict[str, Any], bytes | None]:
        """One transaction with a fixed gas limit (no estimate: a reverting call is mined like any other):
        its receipt, and its revert data from the node's call tracer when it reverted."""
        rpc = self.chain.provider.web3.provider
        tx = {"from": sender, "to": target.address, "data": "0x" + bytes(data).hex(), "gas": hex(GAS)}
        receipt = mined_receipt(lambda method, params: answer_of(rpc.make_request(method, params)), tx)
        assert int(receipt["gasUsed"], 16) < GAS, "out of gas"
        if int(receipt["status"], 16) == 1:
            return receipt, None
        trace = answer_of(rpc.make_request("debug_traceTransaction", [receipt["transactionHash"], {"tracer": "callTracer"}]))
        return receipt, bytes.fromhex(trace.get("output", "0x")[2:])

    def arm(self, target: Any, data: bytes) -> None:
        _, reverted = self.send(self.keeper.address, self.token, self.token.arm.encode_input(target, data))
        assert reverted is None

    @contextmanager
    def case(self) -> Iterator[None]:
        """One case of a matrix: the chain goes back to where the case started."""
        rpc = self.chain.provider.web3.provider
        snapshot = rpc.make_request("evm_snapshot", [])["result"]
        # Every case runs at the same chain time, however long the wall took to reach it: otherwise a
        # node's clock follows the wall, and a loaded machine runs later cases later on the chain too.
        self.chain.pending_timestamp = self.case_time_s
        try:
            yield
        finally:
            assert rpc.make_request("evm_revert", [snapshot])["result"] is True

    def event_names(self, receipt: dict[str, Any]) -> list[str]:
        return [self.events.get(bytes.fromhex(entry["topics"][0][2:]), "?") for entry in receipt["logs"] if entry["topics"]]

    def state(self) -> tuple[list[str], list[str]]:
        """In one batch of reads: every token balance of the vault and the holders; and the vault's side,
        every holder's vault balances, the reserves, the attacker's vault nonce and the attacker's and the
        token's market approvals."""
        token_reads = [(asset, asset.balanceOf.encode_input(h)) for asset in (self.token, self.energy) for h in (self.vault, *self.holders)]
        vault_reads = [(self.vault, self.vault.balancesOf.encode_input(h)) for h in self.holders]
        vault_reads += [(self.vault, self.vault.reserves.encode_input()), (self.vault, self.vault.nonces.encode_input(self.attacker))]
        markets = (self.book, self.auction, self.shares)
        vault_reads += [(self.vault, self.vault.isMarketApproved.encode_input(a, m)) for a in (self.attacker, self.token) for m in markets]
        reads = token_reads + vault_reads
        requests = [("eth_call", [{"to": c.address, "data": "0x" + bytes(d).hex()}, "latest"]) for c, d in reads]
        raw = [r["result"] for r in self.chain.provider.web3.provider.make_batch_request(requests)]
        return raw[: len(token_reads)], raw[len(token_reads) :]

    def books_problems(self) -> list[str]:
        """Per token, the holders' vault balances add up to the reserve, which is what the vault holds."""
        held = token_balances([self.energy.address, self.token.address], [self.vault.address])[0]
        balances = vault_balances(self.vault.address, self.holders)
        sums = (sum(b[0] for b in balances), sum(b[1] for b in balances))
        reserves = tuple(self.vault.reserves())
        problems = []
        for i, name in enumerate(("energy", "payment")):
            if not sums[i] == reserves[i] == held[i]:
                problems.append(f"{name}: vault balances add up to {sums[i]}, reserve {reserves[i]}, the vault holds {held[i]}")
        return problems


def _grid(
    project: Any, chain: Any, accounts: Any, admin: Any, actors: tuple[Any, ...], energy_token: Any, smart_meter: Any, grid_management: Any
) -> Grid:
    """Builds the grid on a hook token and the state each inner call needs: a trade of the attacker's past its
    window and one within it, a cleared auction with claims and fees, the book's fees, a seller's standing ask
    due for settlement, an expired order, a directed pair to match; the token's own vault balances, orders and
    meters; and the attacker's signed messages. The seller, a verified grid operator, mints the shared asset."""
    attacker, victim, seller, counterparty, keeper = actors
    meter_energy_to([seller, attacker, counterparty], METERED_WH, smart_meter, admin, accounts, chain)
    start = chain.pending_timestamp
    token = project.ReentrantToken.deploy(sender=admin)
    vault = project.EnergyVault.deploy(admin, energy_token, token, NO_FREEZE_QUERY, sender=admin)
    meter = deploy_smart_meter(project, admin, energy_token, sender=admin)
    energy_token.grantRole(energy_token.METER_ROLE(), meter, sender=admin)
    # The meter mints vault-delivered export into the vault and books it to the owners there.
    vault.grantRole(vault.CREDITOR_ROLE(), meter, sender=admin)
    for who in (admin, token):
        meter.grantRole(meter.GATEWAY_ROLE(), who, sender=admin)
    meter.grantRole(meter.OPERATOR_ROLE(), admin, sender=admin)
    # The token is the markets' fee recipient and the book's operator: withdrawFees and voidTransaction go
    # through when it calls them.
    book = project.EnergyTrading.deploy(admin, vault, token, MARKET_FEE_BPS, 1, sender=admin)
    book.grantRole(book.OPERATOR_ROLE(), token, sender=admin)
    book.setSettlementWindow(SETTLEMENT_WINDOW, sender=admin)
    auction = deploy_energy_auction(project,
        admin,
        vault,
        meter,
        token,
        AUCTION_FEE_BPS,
        AUCTION_PERIOD_SECONDS,
        AUCTION_GATE_CLOSURE_SECONDS,
        AUCTION_MIN_PRICE_PER_KWH,
        AUCTION_TICK_SIZE_PER_KWH,
        AUCTION_MAX_PRICE_PER_KWH,
        sender=admin,
    )
    nft = project.EnergyAssetNFT.deploy(admin, smart_meter, grid_management, sender=admin)
    shares = project.EnergyAssetShares.deploy(admin, nft, vault, sender=admin)
    nft.setSharesContract(shares, sender=admin)
    for market in (book, auction, shares):
        vault.registerMarket(market, sender=admin)
    meter.setVault(vault, auction, sender=admin)
    # The meters' region is a zone of the auction, so orders in it are attacked as the bus's are.
    operations = project.GridOperations.deploy(admin, grid_management, sender=admin)
    zones = project.MarketZones.deploy(admin, auction, grid_management, operations, sender=admin)
    zones.addZone(REGION, sender=admin)
    auction.setMarketZones(zones, sender=admin)
    asset_id, _, _ = mint(nft, seller, seller, new_meter(smart_meter, admin, seller), chain)
    nft.setApprovalForAll(shares, True, sender=seller)
    shares.split(asset_id, 10, sender=seller)

    victim.balance = 10**18
    for account in (attacker, victim, seller, counterparty, keeper):
        for asset in (token, energy_token):
            asset.approve(vault, MAX_UINT, sender=account)
        for market in (book, auction, shares):
            vault.setMarketApproval(market, True, sender=account)
    token.mint(victim, VICTIM_DEPOSIT, sender=victim)
    vault.deposit(token, VICTIM_DEPOSIT, sender=victim)
    token.mint(counterparty, 10**12, sender=counterparty)
    vault.deposit(token, 10**10, sender=counterparty)
    vault.deposit(energy_token, METERED_WH // 2, sender=seller)

    # Meters: the attacker's, buying standing; the seller's, selling standing; one whose device is the token
    # (the seller's, selling standing); one the token owns (delivering to the wallet: consumption to redeem).
    attacker_meter, seller_meter, token_meter = Account.create(), Account.create().address, Account.create().address
    for address, owner in ((attacker_meter.address, attacker), (seller_meter, seller), (token.address, seller), (token_meter, token)):
        meter.registerMeter(address, owner, REGION, 0, 0, sender=admin)
    meter.setStandingOrder(attacker_meter.address, 0, 0, BID_PRICE, 0, sender=attacker)
    for address in (seller_meter, token.address):
        meter.setStandingOrder(address, 60_000, 0, 0, 0, sender=seller)

    # The book: the counterparty's trade (settled later: the book's fees), the attacker's BUY from the
    # seller, the attacker's resting SELL, an order that expires, the seller's resting asks.
    expiry = start + FAR
    create(book, seller, 1_000, 200_000, SELL, expiry)
    fees_trade = crossing(book, counterparty, 1_000, 200_000, BUY, expiry)[1][0]
    token.mint(attacker, ATTACKER_SPEND + 200_000, sender=attacker)
    vault.deposit(token, ATTACKER_VAULT + 200_000, sender=attacker)
    create(book, seller, 1_000, 200_000, SELL, expiry)
    pending_buy = crossing(book, attacker, 1_000, 200_000, BUY, expiry)[1][0]
    attacker_sell = create(book, attacker, 1_000, ASK_PRICE, SELL, expiry)
    expiring = create(book, seller, 1_000, ASK_PRICE, SELL, start + 120)
    resting_ask = create(book, seller, 20_000, ASK_PRICE, SELL, expiry)

    # The auction: a market the counterparty and the seller trade in, cleared later.
    cleared_period = start // AUCTION_PERIOD_SECONDS + 2
    auction.submitBid(cleared_period, 2_000, 200_000, sender=counterparty)
    auction.submitAsk(cleared_period, 2_000, 100_000, sender=seller)
    bid, ask = order_id(cleared_period, True, counterparty), order_id(cleared_period, False, seller)

    # A reading a minute later: the seller's meter places a standing ask, the token's meter mints to it.
    chain.pending_timestamp = start + 61
    standing_period = (start + 61) // AUCTION_PERIOD_SECONDS
    meter.submitReadings(
        [seller_meter, token_meter],
        [(start + 61, 0, 3_000, FREQUENCY, VOLTAGE), (start + 61, 1_000, 2_000, FREQUENCY, VOLTAGE)],
        sender=admin,
    )

    # An hour on: the book's trades past their window, both markets past their clearing time.
    now = start + SETTLEMENT_WINDOW + 1
    chain.pending_timestamp = now
    auction.clear(cleared_period, sender=keeper)
    book.settleTransaction(fees_trade, sender=keeper)
    create(book, seller, 1_000, 200_000, SELL, now + FAR)
    voidable = crossing(book, counterparty, 1_000, 200_000, BUY, now + FAR)[1][0]
    directed_buy = create(book, counterparty, 1_000, 200_000, BUY, now + FAR, seller)
    directed_sell = create(book, seller, 1_000, 200_000, SELL, now + FAR, counterparty)

    # The token's own account: hook tokens and energy in the vault, the markets approved, a resting BUY.
    bulk = Bulk(chain)
    bulk.set_balance([token], 10**18)
    with bulk.impersonating([token]):
        bulk.send(token, token, "mint", token, 10**12)
        for asset in (token, energy_token):
            bulk.send(token, asset, "approve", vault, MAX_UINT)
        bulk.send(token, vault, "deposit", token, 10**10)
        bulk.send(token, vault, "deposit", energy_token, 1_000)
        for market in (book, auction, shares):
            bulk.send(token, vault, "setMarketApproval", market, True)
        bulk.send(token, book, "createOrder", 1_000, 100_000, now + FAR, BUY)
    token_order = book.orderCount()

    # The attacker's signed messages, at its nonces now.
    deadline = now + FAR
    chain_id = chain.chain_id
    key = attacker.private_key
    open_period = now // AUCTION_PERIOD_SECONDS + 2
    own_reading = sign_reading(attacker_meter.key, chain_id, meter.address, 0, deadline, (now, 5_000, 0, FREQUENCY, VOLTAGE))
    book_nonce, vault_nonce = book.nonces(attacker), vault.nonces(attacker)
    buy_order = signed_order(book, attacker, SPEND_WH, BID_PRICE, BUY, now + FAR, deadline)
    small_order = signed_order(book, attacker, 1_000, 100_000, BUY, now + FAR, deadline)
    cancel = sign_cancel(attacker_sell, book_nonce, deadline, key, book.address, chain_id)
    withdrawal, small_withdrawal = (
        sign_withdrawal(attacker.address, token.address, amount, attacker.address, vault_nonce, deadline, key, vault.address, chain_id)
        for amount in (ATTACKER_WALLET, 1_000)
    )
    approval = sign_market_approval(attacker.address, book.address, vault_nonce, deadline, key, vault.address, chain_id)
    permit = sign_permit(energy_token, attacker, vault, 100, energy_token.nonces(attacker), deadline, chain_id)[:3]
    auction_bid = SignedAuctionOrder(attacker.address, open_period, True, SPEND_WH, BID_PRICE, auction.nonces(attacker), deadline)

    outers: dict[str, tuple[Any, Any, bytes]] = {  # name -> (sender account, target, calldata)
        "EnergyTrading.createOrder": (attacker, book, book.createOrder.encode_input(SPEND_WH, BID_PRICE, deadline, BUY)),
        "EnergyTrading.createDirectedOrder": (
            attacker,
            book,
            book.createDirectedOrder.encode_input(SPEND_WH, BID_PRICE, deadline, BUY, seller),
        ),
        # 3,600 Wh at ASK_PRICE: 1,080,000, of which 80,000 from the wallet.
        "EnergyTrading.fillOrder": (attacker, book, book.fillOrder.encode_input(resting_ask, 3_600)),
        "EnergyTrading.createOrderBySig": (
            keeper,
            book,
            book.createOrderBySig.encode_input(buy_order.as_tuple(), *sign_order(buy_order, key, book.address, chain_id).args(), []),
        ),
        "EnergyAuction.submitBid": (attacker, auction, auction.submitBid.encode_input(open_period, SPEND_WH, BID_PRICE)),
        "EnergyAuction.submitBidIn": (attacker, auction, auction.submitBidIn.encode_input(REGION, open_period, SPEND_WH, BID_PRICE)),
        "EnergyAuction.submitOrderBySig": (
            keeper,
            auction,
            auction.submitOrderBySig.encode_input(
                auction_bid.as_tuple(), *sign_auction_order(auction_bid, key, auction.address, chain_id).args()
            ),
        ),
        "EnergyAssetShares.depositRevenue": (attacker, shares, shares.depositRevenue.encode_input(asset_id, ATTACKER_SPEND)),
        "EnergyVault.deposit": (attacker, vault, vault.deposit.encode_input(token, ATTACKER_WALLET)),
        # The hook token has no permit: the account's own call goes on to the deposit.
        "EnergyVault.depositWithPermit": (
            attacker,
            vault,
            vault.depositWithPermit.encode_input(token, ATTACKER_WALLET, deadline, 27, b"\x00" * 32, b"\x00" * 32),
        ),
        "EnergyVault.depositWithPermitFor": (
            attacker,
            vault,
            vault.depositWithPermitFor.encode_input(attacker, token, ATTACKER_WALLET, deadline, 27, b"\x00" * 32, b"\x00" * 32),
        ),
        "EnergyVault.withdraw": (attacker, vault, vault.withdraw.encode_input(token, ATTACKER_WALLET, attacker)),
        "EnergyVault.withdrawBySig": (
            keeper,
            vault,
            vault.withdrawBySig.encode_input(attacker, token, ATTACKER_WALLET, attacker, deadline, withdrawal),
        ),
    }
    later_period = open_period + 1
    small_bid = SignedAuctionOrder(attacker.address, later_period, True, 1_000, 200_000, auction.nonces(attacker), deadline)
    inners: dict[str, tuple[Any, bytes]] = {
        "EnergyTrading.createOrder": (book, book.createOrder.encode_input(1_000, 100_000, deadline, BUY)),
        "EnergyTrading.createDirectedOrder": (book, book.createDirectedOrder.encode_input(1_000, 100_000, deadline, BUY, seller)),
        "EnergyTrading.fillOrder": (book, book.fillOrder.encode_input(resting_ask, 1_000)),
        "EnergyTrading.cancelOrder": (book, book.cancelOrder.encode_input(token_order)),
        "EnergyTrading.releaseExpiredOrder": (book, book.releaseExpiredOrder.encode_input(expiring)),
        "EnergyTrading.withdrawFees": (book, book.withdrawFees.encode_input()),
        "EnergyTrading.createOrderBySig": (
            book,
            book.createOrderBySig.encode_input(small_order.as_tuple(), *sign_order(small_order, key, book.address, chain_id).args(), []),
        ),
        "EnergyTrading.cancelOrderBySig": (book, book.cancelOrderBySig.encode_input(attacker_sell, book_nonce, deadline, *cancel.args())),
        "EnergyTrading.settleTransaction": (book, book.settleTransaction.encode_input(pending_buy)),
        "EnergyTrading.settleTransactions": (book, book.settleTransactions.encode_input([pending_buy])),
        "EnergyTrading.voidTransaction": (book, book.voidTransaction.encode_input(voidable)),
        "EnergyTrading.matchOrders": (book, book.matchOrders.encode_input(directed_buy, directed_sell)),
        "EnergyAuction.submitBid": (auction, auction.submitBid.encode_input(later_period, 1_000, 200_000)),
        "EnergyAuction.submitAsk": (auction, auction.submitAsk.encode_input(later_period, 500, 100_000)),
        "EnergyAuction.submitBidIn": (auction, auction.submitBidIn.encode_input(REGION, later_period, 1_000, 200_000)),
        "EnergyAuction.submitAskIn": (auction, auction.submitAskIn.encode_input(REGION, later_period, 500, 100_000)),
        "EnergyAuction.submitOrderBySig": (
            auction,
            auction.submitOrderBySig.encode_input(
                small_bid.as_tuple(), *sign_auction_order(small_bid, key, auction.address, chain_id).args()
            ),
        ),
        "EnergyAuction.claim": (auction, auction.claim.encode_input(bid)),
        "EnergyAuction.claimBatch": (auction, auction.claimBatch.encode_input([bid, ask])),
        "EnergyAuction.withdrawFees": (auction, auction.withdrawFees.encode_input()),
        "EnergyAuction.clear": (auction, auction.clear.encode_input(standing_period)),
        "EnergyAssetShares.depositRevenue": (shares, shares.depositRevenue.encode_input(asset_id, 1_000)),
        "SmartMeter.submitReading": (meter, meter.submitReading.encode_input((now, 0, 2_000, FREQUENCY, VOLTAGE))),
        "SmartMeter.submitReadings": (meter, meter.submitReadings.encode_input([seller_meter], [(now, 0, 4_000, FREQUENCY, VOLTAGE)])),
        "SmartMeter.submitPackedReadings": (
            meter,
            meter.submitPackedReadings.encode_input(pack_readings([(seller_meter, (now, 0, 4_000, FREQUENCY, VOLTAGE))])),
        ),
        "SmartMeter.submitSignedReadings": (meter, meter.submitSignedReadings.encode_input([own_reading.as_tuple()])),
        "SmartMeter.submitPackedSignedReadings": (meter, meter.submitPackedSignedReadings.encode_input(own_reading.packed())),
        "SmartMeter.settleStandingOrders": (meter, meter.settleStandingOrders.encode_input([seller_meter])),
        "SmartMeter.settleStandingOrdersIn": (meter, meter.settleStandingOrdersIn.encode_input(auction, [seller_meter])),
        "SmartMeter.redeemConsumption": (meter, meter.redeemConsumption.encode_input(token_meter, 500)),
        "EnergyVault.deposit": (vault, vault.deposit.encode_input(token, 1_000)),
        "EnergyVault.depositWithPermit": (
            vault,
            vault.depositWithPermit.encode_input(token, 1_000, deadline, 27, b"\x00" * 32, b"\x00" * 32),
        ),
        "EnergyVault.depositWithPermitFor": (
            vault,
            vault.depositWithPermitFor.encode_input(attacker, energy_token, 100, deadline, *permit),
        ),
        "EnergyVault.withdraw": (vault, vault.withdraw.encode_input(token, 1_000, token)),
        "EnergyVault.withdrawBySig": (
            vault,
            vault.withdrawBySig.encode_input(attacker, token, 1_000, attacker, deadline, small_withdrawal),
        ),
        "EnergyVault.setMarketApproval": (vault, vault.setMarketApproval.encode_input(auction, False)),
        "EnergyVault.approveMarketBySig": (vault, vault.approveMarketBySig.encode_input(attacker, book, deadline, approval)),
        "EnergyVault.give": (vault, vault.give.encode_input(attacker, 0, 1)),
        "EnergyVault.take": (vault, vault.take.encode_input(attacker, 0, 1)),
        "EnergyVault.settleBatch": (vault, vault.settleBatch.encode_input([attacker], [0], [1])),
        "EnergyVault.creditArrived": (vault, vault.creditArrived.encode_input(token, [attacker], [1])),
        "EnergyVault.retireEnergy": (vault, vault.retireEnergy.encode_input(1)),
    }
    assert tuple(outers) == GRID_OUTERS and set(inners) == set(GRID_REFUSED) | set(GRID_HARMLESS)
    contracts = (token, energy_token, vault, book, auction, meter, shares)
    events = {keccak(text=i.selector): i.name for c in contracts for i in c.contract_type.abi if i.type == "event"}
    holders = [a.address for a in (*actors, admin, token, book, auction, shares)]
    grid = Grid(
        chain, token, energy_token, vault, book, auction, meter, shares, attacker, victim, seller, keeper, holders,
        {name: (sender.address, target, data) for name, (sender, target, data) in outers.items()},
        inners, attacker_meter.address, pending_buy, events,
    )
    assert grid.books_problems() == []
    assert vault.balancesOf(attacker)[1] == ATTACKER_VAULT and token.balanceOf(attacker) == ATTACKER_WALLET
    grid.case_time_s = chain.blocks.head.timestamp + 1
    return grid


@pytest.fixture(scope="module")
def grid(project, chain, accounts, admin, owner, other, keeper, grid_operator, energy_token, smart_meter, grid_management, grid_operations):
    """The grid on a hook token: `owner` attacks, a fresh account is the victim holding VICTIM_DEPOSIT,
    `grid_operator` sells (it also minted the shared asset), `other` trades with both."""
    victim = accounts.generate_test_account()
    return _grid(project, chain, accounts, admin, (owner, victim, grid_operator, other, keeper), energy_token, smart_meter, grid_management)


@pytest.mark.parametrize("outer", GRID_OUTERS)
def test_hook_reentry_into_the_grid_is_refused(grid, outer):
    """The hook, armed with each inner call in turn, fires inside the outer call's transfer: the vault's lock
    (or the inner contract's own) refuses it, the outer call reverts with it and nothing moves. One case per
    inner call, each from the same prepared grid."""
    problems = []
    for inner in GRID_REFUSED:
        with grid.case():
            before = grid.state()
            grid.arm(*grid.inners[inner])
            _, reverted = grid.send(*grid.outers[outer])
            if reverted != LOCK_ERROR:
                problems.append(f"{inner}: {'went through' if reverted is None else 'reverted ' + reverted.hex()}")
            elif grid.state() != before:
                problems.append(f"{inner}: refused, but balances moved")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("outer", GRID_OUTERS)
def test_hook_reentry_that_reaches_no_vault_runs_and_the_books_hold(grid, outer):
    problems = []
    for inner, event in GRID_HARMLESS.items():
        with grid.case():
            grid.arm(*grid.inners[inner])
            receipt, reverted = grid.send(*grid.outers[outer])
            if reverted is not None:
                problems.append(f"{inner}: reverted {reverted.hex()}")
                continue
            names = grid.event_names(receipt)
            if "ReentryExecuted" not in names or event not in names:
                problems.append(f"{inner}: logged {names}")
            problems += [f"{inner}: {p}" for p in grid.books_problems()]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("outer", GRID_OUTERS)
def test_every_grid_outer_transfers_the_hook_token_inside_a_vault_call(grid, outer):
    """Control: a harmless reentry (the token's own decimals()) runs inside each outer call, which succeeds."""
    grid.arm(grid.token, grid.token.decimals.encode_input())
    receipt, reverted = grid.send(*grid.outers[outer])
    assert reverted is None, reverted.hex()
    assert grid.event_names(receipt).count("ReentryExecuted") == 1


def test_every_grid_inner_goes_through_outside_a_vault_call(grid):
    """Control: fired by a plain transfer (no vault call around it), each inner call succeeds and moves the
    vault's side (a balance, the reserves, an approval, a nonce) when it reaches the vault, and leaves it
    as it was when it is harmless; a market's entry of the vault refuses the token as no market."""
    problems = []
    for inner in [*GRID_REFUSED, *GRID_HARMLESS]:
        with grid.case():
            _, vault_before = grid.state()
            grid.arm(*grid.inners[inner])
            receipt, reverted = grid.send(grid.keeper.address, grid.token, grid.token.transfer.encode_input(grid.keeper, 0))
            if inner in GRID_MARKETS_ONLY:
                error = keccak(text=getattr(grid.vault, GRID_MARKETS_ONLY[inner]).abi.selector)[:4]
                if reverted is None or reverted[:4] != error:
                    problems.append(f"{inner}: {'went through' if reverted is None else 'reverted ' + reverted.hex()}")
                continue
            if reverted is not None:
                problems.append(f"{inner}: reverted {reverted.hex()}")
                continue
            names = grid.event_names(receipt)
            moved = grid.state()[1] != vault_before
            if "ReentryExecuted" not in names:
                problems.append(f"{inner}: did not run")
            elif inner in GRID_HARMLESS and (GRID_HARMLESS[inner] not in names or moved):
                problems.append(f"{inner}: logged {names}, moved the vault: {moved}")
            elif inner not in GRID_HARMLESS and not moved:
                problems.append(f"{inner}: moved nothing in the vault")
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------------------- the attack, end to end


def _attack(grid: Grid, inner: str) -> str | None:
    """The attacker's BUY of ATTACKER_SPEND (the vault pulls ATTACKER_WALLET from its wallet) with the hook
    armed with `inner`: the error it reverted with, or None when it went through."""
    grid.arm(*grid.inners[inner])
    _, reverted = grid.send(*grid.outers["EnergyTrading.createOrder"])
    if reverted is None:
        return None
    # The revert left the token armed: disarmed, so that the attacker's withdrawals afterwards run plain.
    grid.send(grid.keeper.address, grid.token, grid.token.arm.encode_input(ZERO_ADDRESS, b""))
    errors = {keccak(text=e.selector)[:4]: e.name for e in grid.vault.contract_type.abi if e.type == "error"}
    return errors.get(reverted[:4], reverted.hex())


def _drain(grid: Grid) -> tuple[int, int]:
    """Everything the attacker can take out afterwards: its open orders cancelled, its standing orders
    settled once their market may clear, then all of its vault balances withdrawn. Its wallet then."""
    attacker, book = grid.attacker, grid.book
    orders, _ = book.getTraderOrders(attacker, 0, 100)
    for order_id_, *_, status, _, _ in orders:  # OrderInfo: (orderId, ..., status, counterparty, escrow)
        if status == ACTIVE:
            book.cancelOrder(order_id_, sender=attacker)
    slots = [s for s in grid.auction.getMeteredOrders(grid.attacker_meter) if s.period and not s.settled]
    if slots:
        grid.chain.pending_timestamp = max(grid.auction.clearingTime(s.period) for s in slots)
        grid.meter.settleStandingOrders([grid.attacker_meter], sender=attacker)
    energy_wh, payment = grid.vault.balancesOf(attacker)
    for asset, amount in ((grid.energy, energy_wh), (grid.token, payment)):
        if amount:
            grid.vault.withdraw(asset, amount, attacker, sender=attacker)
    return grid.energy.balanceOf(attacker), grid.token.balanceOf(attacker)


def _attack_problems(grid: Grid, inner: str) -> list[str]:
    """What a correct vault must give: the reentry refused, and after the attacker took out all it could, at
    most what it brought (ATTACKER_SPEND, and the energy it holds and bought), with every token's balances
    adding up to the reserve the vault holds; the victim withdraws its deposit."""
    energy_before = grid.energy.balanceOf(grid.attacker) + grid.vault.balancesOf(grid.attacker)[0] + 1_000  # its resting SELL
    refused = _attack(grid, inner)
    problems = [] if refused == "ReentrancyGuardReentrantCall" else [f"the reentry was not refused: {refused or 'it went through'}"]
    energy_wh, payment = _drain(grid)
    bought_wh = 1_000  # the trade it bought in, once settled
    if payment > ATTACKER_SPEND:
        problems.append(f"the attacker brought {ATTACKER_SPEND} and withdrew {payment}")
    if energy_wh > energy_before + bought_wh:
        problems.append(f"the attacker held {energy_before} Wh, bought {bought_wh} Wh and withdrew {energy_wh} Wh")
    problems += grid.books_problems()
    grid.vault.withdraw(grid.token, VICTIM_DEPOSIT, grid.victim, sender=grid.victim)
    return problems


def test_a_settlement_inside_a_wallet_pull_is_refused_and_pays_nobody_twice(grid):
    """The hook settles the trade the attacker bought in from inside the pull of its BUY's escrow. Without
    the lock the settlement's payouts are written over by the pull's write-back of the balances it read
    before: the seller is paid out of a market balance that is then restored."""
    problems = _attack_problems(grid, "EnergyTrading.settleTransaction")
    assert not problems, "\n".join(problems)


def test_a_relayed_reading_inside_a_wallet_pull_cannot_spend_the_attackers_balance_twice(grid):
    """The hook relays the attacker's own meter reading, whose standing bid locks the attacker's whole free
    balance, from inside the pull of its BUY's escrow. Without the lock the pull's write-back restores the
    locked balance: the BUY's escrow and the bid's lock both come back to the attacker, who withdraws
    2,100,000 having brought 1,100,000, and other accounts' deposits are no longer all backed."""
    problems = _attack_problems(grid, "SmartMeter.submitSignedReadings")
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------------------- 2. the other contracts on a hostile PaymentToken
@dataclass
class Scene:
    """A contract on a hostile PaymentToken: how to prepare each outer call, and the inner calls."""

    contract: Any
    token: Any
    actors: list[Any]
    # outer name ("function" or "function:variant") -> prepare(); prepare() runs unarmed and returns
    # (go, expected): go() makes the outer call; expected is None (ReentrancyGuardReentrantCall) or
    # (error, inputs) when the contract reports the refused transfer itself.
    # State that takes many transactions to reach (a booked trade, a verified reward) is prepared
    # once, when the scene is built: every test reverts to it, so each case uses it afresh.
    triggers: dict[str, Callable[[], tuple[Callable[[], Any], Any]]]
    inner: dict[str, bytes] = field(default_factory=dict)
    vault: Any = None  # the EnergyVault whose balances the contract moves, if any


def _jump_to_interval(chain: Any) -> None:
    """HISTORY_SECONDS ahead, 100 s into an interval."""
    chain.pending_timestamp = (chain.pending_timestamp + HISTORY_SECONDS) // INTERVAL_SECONDS * INTERVAL_SECONDS + 100


def _dr_scene(project: Any, admin: Any, smart_meter: Any, grid_management: Any, energy_token: Any, chain: Any) -> Scene:
    token = project.ReentrantToken.deploy(sender=admin)
    vault = project.EnergyVault.deploy(admin, energy_token, token, NO_FREEZE_QUERY, sender=admin)
    dr = project.DemandResponse.deploy(admin, smart_meter, vault, grid_management, sender=admin)
    vault.registerMarket(dr, sender=admin)
    dr.registerGridOperator(admin, sender=admin)
    # Only GridManagement's operators of REGION start its events.
    grid_management.registerOperator("Attack Grid Co", REGION, 100, sender=admin)
    grid_management.verifyOperator(admin, sender=admin)
    token.mint(admin, 10**15, sender=admin)
    token.approve(dr, MAX_UINT, sender=admin)

    def start():
        _jump_to_interval(chain)
        return (lambda: dr.startEvent(REGION, DR_TARGET_KW, DR_RATE_PER_KW, DR_DURATION, sender=admin)), None

    return Scene(
        dr,
        token,
        [admin],
        {"startEvent": start},
        {
            "startEvent": dr.startEvent.encode_input(REGION, DR_TARGET_KW, DR_RATE_PER_KW, DR_DURATION),
            "cancelEvent": dr.cancelEvent.encode_input(1),
            "claimReward": dr.claimReward.encode_input(1),
            "distributeRewards": dr.distributeRewards.encode_input(1),
        },
        vault,
    )


def _dp_scene(project: Any, admin: Any, operator: Any, smart_meter: Any, grid_management: Any, energy_token: Any) -> Scene:
    token = project.ReentrantToken.deploy(sender=admin)
    vault = project.EnergyVault.deploy(admin, energy_token, token, NO_FREEZE_QUERY, sender=admin)
    dr = project.DemandResponse.deploy(admin, smart_meter, vault, grid_management, sender=admin)
    dp = project.DemandPrograms.deploy(dr, sender=admin)
    dr.grantRole(dr.REDUCTION_RECORDER_ROLE(), dp, sender=admin)
    for market in (dr, dp):
        vault.registerMarket(market, sender=admin)
    dr.registerGridOperator(operator, sender=admin)
    token.mint(operator, 10**15, sender=operator)
    token.approve(dp, MAX_UINT, sender=operator)
    args = ("Evening peak shaving", 0, REGION, DP_TARGET_MW, DP_RATE_PER_MW, INTERVAL_SECONDS)

    return Scene(
        dp,
        token,
        [operator],
        {"createDemandProgram": lambda: ((lambda: dp.createDemandProgram(*args, sender=operator)), None)},
        {
            "createDemandProgram": dp.createDemandProgram.encode_input(*args),
            "cancelProgram": dp.cancelProgram.encode_input(1),
            "claimReward": dp.claimReward.encode_input(1),
            "distributeRewards": dp.distributeRewards.encode_input(1),
        },
        vault,
    )


def _shares_scene(
    project: Any, admin: Any, owner: Any, grid_operator: Any, smart_meter: Any, grid_management: Any, energy_token: Any, chain: Any
) -> Scene:
    token = project.ReentrantToken.deploy(sender=admin)
    vault = project.EnergyVault.deploy(admin, energy_token, token, NO_FREEZE_QUERY, sender=admin)
    nft = project.EnergyAssetNFT.deploy(admin, smart_meter, grid_management, sender=admin)
    shares = project.EnergyAssetShares.deploy(admin, nft, vault, sender=admin)
    nft.setSharesContract(shares, sender=admin)
    vault.registerMarket(shares, sender=admin)
    token_id, _, _ = mint(nft, grid_operator, owner, new_meter(smart_meter, admin, owner), chain)
    nft.setApprovalForAll(shares, True, sender=owner)
    shares.split(token_id, 10, sender=owner)
    # The depositor holds nothing in the vault: its deposits are pulled from its wallet.
    token.mint(owner, 10**15, sender=owner)
    token.approve(vault, MAX_UINT, sender=owner)
    vault.setMarketApproval(shares, True, sender=owner)

    return Scene(
        shares,
        token,
        [owner],
        {"depositRevenue": lambda: ((lambda: shares.depositRevenue(token_id, 1_000, sender=owner)), None)},
        {
            "split": shares.split.encode_input(token_id, 10),
            "recombine": shares.recombine.encode_input(token_id),
            "depositRevenue": shares.depositRevenue.encode_input(token_id, 1),
            "claimRevenue": shares.claimRevenue.encode_input(token_id),
        },
        vault,
    )


@pytest.fixture(scope="module")
def attack_scenes(project, chain, admin, owner, grid_operator, energy_token, smart_meter, grid_management, grid_operations):
    """Every other PaymentToken-moving contract deployed on its own ReentrantToken (and its own vault of
    it). `grid_operator` operates region 1 (grid_operations verified it); `owner` splits an asset."""
    return {
        "DemandResponse": _dr_scene(project, admin, smart_meter, grid_management, energy_token, chain),
        "DemandPrograms": _dp_scene(project, admin, grid_operator, smart_meter, grid_management, energy_token),
        "EnergyAssetShares": _shares_scene(project, admin, owner, grid_operator, smart_meter, grid_management, energy_token, chain),
    }


# Built without a chain, for parametrize: (contract, outer, inner) for every pair.
TRIGGERS = {
    "DemandResponse": ("startEvent",),
    "DemandPrograms": ("createDemandProgram",),
    "EnergyAssetShares": ("depositRevenue",),
}
INNER = {name: GUARDED[name] for name in TRIGGERS}
CASES = [(name, outer, inner) for name, outers in TRIGGERS.items() for outer in outers for inner in INNER[name]]


def _balances(scene: Scene, energy_token: Any) -> list[tuple[int, ...]]:
    """(PaymentToken, EnergyToken) balance of the contract and of each actor, in one batch; on a vault,
    the vault's token balances first and the vault balances of the contract and the actors last."""
    holders = [scene.contract.address, *(actor.address for actor in scene.actors)]
    if scene.vault is None:
        return token_balances([scene.token.address, energy_token.address], holders)
    tokens = token_balances([scene.token.address, energy_token.address], [scene.vault.address, *holders])
    return tokens + vault_balances(scene.vault.address, holders)


@pytest.mark.parametrize(("name", "outer", "inner"), CASES, ids=[f"{c}.{o}<-{i}" for c, o, i in CASES])
def test_payment_token_reentry_is_refused(attack_scenes, energy_token, keeper, chain, name, outer, inner):
    scene = attack_scenes[name]
    go, expected = scene.triggers[outer]()
    before = _balances(scene, energy_token)
    Bulk(chain).send(keeper, scene.token, "arm", scene.contract, scene.inner[inner])
    error, inputs = expected if expected else (scene.contract.ReentrancyGuardReentrantCall, {})
    with reverts(error, **inputs):
        go()
    assert _balances(scene, energy_token) == before


@pytest.mark.parametrize(
    ("name", "outer"),
    [(c, o) for c, outers in TRIGGERS.items() for o in outers],
    ids=[f"{c}.{o}" for c, outers in TRIGGERS.items() for o in outers],
)
def test_every_trigger_transfers_the_hostile_token(attack_scenes, keeper, chain, name, outer):
    """Control: a harmless reentry (the token's own decimals()) runs inside each outer call, which
    then succeeds: each outer call in the matrix does transfer the hostile token."""
    scene = attack_scenes[name]
    go, _ = scene.triggers[outer]()
    Bulk(chain).send(keeper, scene.token, "arm", scene.token, scene.token.decimals.encode_input())
    tx = go()
    assert tx.events.filter(scene.token.ReentryExecuted) == [log(scene.token.ReentryExecuted, target=scene.token.address)]


def interface_abi(project: Any, name: str) -> list:
    """The ABI callers see at a contract's address: EnergyAuction's and SmartMeter's with their extensions'."""
    return interface_type(project, name).abi


def test_every_function_is_classified(project):
    """Each attacked contract's ABI, function by function: value-moving (attacked) or not (reason); every
    value-moving function of the grid's contracts an inner call of its matrix; every one that transfers
    PaymentToken an outer call."""
    problems = []
    grid_inners = {*GRID_REFUSED, *GRID_HARMLESS}
    for name, guarded in GUARDED.items():
        abi = interface_abi(project, name)
        changing = {i.name for i in abi if i.type == "function" and i.stateMutability in ("nonpayable", "payable")}
        listed = set(guarded) | set(NO_VALUE_MOVED[name])
        problems += [f"{name}.{f}: not classified" for f in sorted(changing - listed)]
        problems += [f"{name}.{f}: listed but not in the ABI" for f in sorted(listed - changing)]
        problems += [f"{name}.{f}: listed twice" for f in sorted(set(guarded) & set(NO_VALUE_MOVED[name]))]
        outers = {o.split(".")[1] for o in GRID_OUTERS if o.startswith(f"{name}.")} | set(TRIGGERS.get(name, ()))
        for f in guarded:
            if name in GRID_CONTRACTS and f"{name}.{f}" not in grid_inners:
                problems.append(f"{name}.{f}: moves value but is no inner call of the grid matrix")
            if f not in outers and f"{name}.{f}" not in NO_OUTER and name != "GridManagement":
                problems.append(f"{name}.{f}: moves PaymentToken but no outer call")
    for call in sorted({*GRID_OUTERS, *grid_inners}):
        name, f = call.split(".")
        if f not in {i.name for i in interface_abi(project, name) if i.type == "function"}:
            problems.append(f"{call}: in the grid matrix but not in the ABI")
    assert problems == []


# ----------------------------------------------------------------------------- GridManagement: no guard, harmless


@pytest.fixture
def hostile_grid(project, admin, owner, fee_recipient):
    """A GridManagement on a ReentrantToken; `owner` is a consumer with money and an allowance, and
    the token itself is a second consumer (registered and approving from inside its own transfers)."""
    token = project.ReentrantToken.deploy(sender=admin)
    grid = project.GridManagement.deploy(admin, token, fee_recipient, GRID_BASE_PRICE_PER_KWH, sender=admin)
    grid.registerConsumer(10_000, sender=owner)
    token.mint(owner, 10**9, sender=owner)
    token.approve(grid, MAX_UINT, sender=owner)
    for target, payload in (
        (grid, grid.registerConsumer.encode_input(10_000)),
        (token, token.approve.encode_input(grid, MAX_UINT)),
    ):
        token.arm(target, payload, sender=owner)
        token.transfer(owner, 0, sender=owner)  # any transfer fires the armed call, as the token
    token.mint(token, 10**9, sender=owner)
    return grid, token


def test_consume_energy_reentry_is_harmless(hostile_grid, owner, fee_recipient):
    """consumeEnergy books before it pulls the payment straight to the fee recipient, and holds no
    money: a consumer buying from inside another's payment pays exactly its own price."""
    grid, token = hostile_grid
    price = grid.getDynamicPrice()
    token.arm(grid, grid.consumeEnergy.encode_input(500, price), sender=owner)
    tx = grid.consumeEnergy(1_000, price, sender=owner)
    assert tx.events.filter(token.ReentryExecuted) == [log(token.ReentryExecuted, target=grid.address)]
    consumed = tx.events.filter(grid.EnergyConsumed)
    inner_cost, outer_cost = cost_ceil(500, price), cost_ceil(1_000, price)
    assert [(e.consumer, e.amountWh, e.cost) for e in consumed] == [
        (owner.address, 1_000, outer_cost),
        (token.address, 500, inner_cost),
    ]
    assert token.balanceOf(fee_recipient) == outer_cost + inner_cost
    assert token.balanceOf(owner) == 10**9 - outer_cost
    assert token.balanceOf(token) == 10**9 - inner_cost
    assert token.balanceOf(grid) == 0


# ----------------------------------------------------------------------------- 3. hostile ERC-721 / ERC-1155 receiver


@pytest.fixture(scope="module")
def receiver_assets(project, admin, owner, grid_operator, smart_meter, grid_management, asset_nft, asset_shares, stablecoin, vault, chain):
    """A HostileReceiver; an asset of `owner`'s and one of the receiver's, both minted by grid_operator."""
    hostile = project.HostileReceiver.deploy(sender=admin)
    mine, _, _ = mint(asset_nft, grid_operator, owner, new_meter(smart_meter, admin, owner), chain)
    theirs, _, _ = mint(asset_nft, grid_operator, hostile, new_meter(smart_meter, admin, hostile), chain)
    asset_nft.setApprovalForAll(asset_shares, True, sender=owner)
    hostile.execute(asset_nft, asset_nft.setApprovalForAll.encode_input(asset_shares, True), sender=admin)
    stablecoin.addConsumerBalance(owner, 1_000, sender=admin)
    stablecoin.approve(vault, MAX_UINT, sender=owner)  # deposits of revenue are pulled from its wallet
    vault.setMarketApproval(asset_shares, True, sender=owner)
    return hostile, mine, theirs


def test_mint_and_recombine_make_no_callback(receiver_assets, asset_nft, asset_shares, admin):
    """mintAsset uses _mint and recombine a plain transferFrom: a receiver armed to revert is never called."""
    hostile, _, theirs = receiver_assets
    assert asset_nft.ownerOf(theirs) == hostile.address and hostile.callbacks() == 0
    hostile.execute(asset_shares, asset_shares.split.encode_input(theirs, 5), sender=admin)
    assert hostile.callbacks() == 1  # the shares' mint
    hostile.arm(asset_shares, asset_shares.recombine.encode_input(theirs), sender=admin)  # would revert if called
    hostile.execute(asset_shares, asset_shares.recombine.encode_input(theirs), sender=admin)
    assert asset_nft.ownerOf(theirs) == hostile.address and hostile.callbacks() == 1


def test_asset_forwarded_from_inside_its_receipt(receiver_assets, asset_nft, owner, other, admin):
    """OpenZeppelin moves the asset before the callback: forwarding it from inside is consistent."""
    hostile, mine, _ = receiver_assets
    hostile.arm(asset_nft, asset_nft.transferFrom.encode_input(hostile, other, mine), sender=admin)
    tx = asset_nft.safeTransferFrom(owner, hostile, mine, sender=owner)
    assert tx.events.filter(hostile.ReentryExecuted) == [log(hostile.ReentryExecuted, target=asset_nft.address)]
    assert asset_nft.ownerOf(mine) == other.address
    assert [asset_nft.balanceOf(a) for a in (owner, hostile, other)] == [0, 1, 1]


def test_asset_split_from_inside_its_receipt(receiver_assets, asset_nft, asset_shares, owner, admin):
    """The receiver splits the asset it is being sent: the asset ends locked with its 10 shares."""
    hostile, mine, _ = receiver_assets
    hostile.arm(asset_shares, asset_shares.split.encode_input(mine, 10), sender=admin)
    asset_nft.safeTransferFrom(owner, hostile, mine, sender=owner)
    assert asset_nft.ownerOf(mine) == asset_shares.address
    assert asset_shares.balanceOf(hostile, mine) == 10
    assert hostile.callbacks() == 2  # the NFT's receipt, then the shares' mint


@pytest.mark.parametrize("inner", ["split", "recombine", "depositRevenue", "claimRevenue"])
def test_split_callback_reentry_is_refused(receiver_assets, asset_nft, asset_shares, admin, inner):
    hostile, mine, theirs = receiver_assets
    payloads = {
        "split": asset_shares.split.encode_input(mine, 10),
        "recombine": asset_shares.recombine.encode_input(theirs),
        "depositRevenue": asset_shares.depositRevenue.encode_input(theirs, 1),
        "claimRevenue": asset_shares.claimRevenue.encode_input(theirs),
    }
    hostile.arm(asset_shares, payloads[inner], sender=admin)
    with reverts(asset_shares.ReentrancyGuardReentrantCall):
        hostile.execute(asset_shares, asset_shares.split.encode_input(theirs, 10), sender=admin)
    assert asset_nft.ownerOf(theirs) == hostile.address
    assert asset_shares.balanceOf(hostile, theirs) == 0


@pytest.mark.parametrize("batch", [False, True], ids=["safeTransferFrom", "safeBatchTransferFrom"])
def test_claim_from_inside_a_share_receipt_is_exact(receiver_assets, asset_shares, vault, stablecoin, owner, admin, batch):
    """Share transfers are not guarded: revenue moves with corrections in _update, before the
    callback, so a receiver claiming mid-transfer gets exactly what its earlier shares earned."""
    hostile, mine, _ = receiver_assets
    asset_shares.split(mine, 10, sender=owner)
    asset_shares.safeTransferFrom(owner, hostile, mine, 2, b"", sender=owner)
    asset_shares.depositRevenue(mine, 1_000, sender=owner)  # 100 per share
    hostile.arm(asset_shares, asset_shares.claimRevenue.encode_input(mine), sender=admin)
    if batch:
        tx = asset_shares.safeBatchTransferFrom(owner, hostile, [mine], [3], b"", sender=owner)
    else:
        tx = asset_shares.safeTransferFrom(owner, hostile, mine, 3, b"", sender=owner)
    claimed = tx.events.filter(asset_shares.RevenueClaimed)
    assert [(e.account, e.amount) for e in claimed] == [(hostile.address, 200)]
    assert vault.balanceOf(stablecoin, hostile) == 200
    assert asset_shares.claimableRevenue(mine, hostile) == 0
    assert asset_shares.claimableRevenue(mine, owner) == 800
    assert asset_shares.balanceOf(hostile, mine) == 5
