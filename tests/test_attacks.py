"""Reentrancy attacks on every function that moves value.

1. A hostile PaymentToken (contracts/test/ReentrantToken.sol: once armed, its next transfer calls a
   target with a payload from inside the transfer) is the payment token of a fresh copy of every
   contract that holds or moves PaymentToken: EnergyTrading (and its base Settlement), EnergyAuction,
   DemandResponse, DemandPrograms, EnergyAssetShares and GridManagement. For each contract,
   `PAYMENT_TRIGGERS` prepares every call that transfers PaymentToken (the outer call) and
   `GUARDED` lists every function that moves value (the inner call); the test runs the whole cross
   product outer x inner:

   - EnergyTrading: outer createOrder (its EnergyVault, on the hostile token, pulls the BUY escrow
     from the wallet), createDirectedOrder (BUY), fillOrder (a SELL taken, payment pulled),
     createOrderBySig (BUY); inner: every locked function of the book. Refunds, settlement, voids
     and the fee withdrawal credit vault balances and transfer nothing, so they have no outer case
     (and settlement and voids, which call nothing but the vault, need no lock).
   - EnergyAuction: outer submitBid (its EnergyVault, on the hostile token, pulls the buyer's escrow
     from the wallet: the one PaymentToken transfer an auction call makes); inner submitBid,
     submitAsk, claim, withdrawFees. Claims and the fee withdrawal credit vault balances and transfer
     nothing, so they have no outer case; the vault's own lock (a second market's take from inside
     the pull) is in test_energy_auction.py and test_energy_vault.py.
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

   The scenes are deployed once per module (`attack_scenes`), and so is the state that takes many
   transactions to reach (a booked trade, accrued fees, a verified reward): ape reverts the chain
   after every test, so each case starts from the same prepared scene.

   GridManagement.consumeEnergy has no guard (the payment goes straight from the consumer to the fee
   recipient; the contract holds nothing): reentry is harmless by design, and its test lets the token,
   itself a registered consumer, buy energy from inside a consumer's payment and checks every
   balance and counter afterwards.

2. A hostile contract account (contracts/test/HostileReceiver.sol: an ERC-721 and ERC-1155 receiver
   that calls a target from inside its next callback) against EnergyAssetNFT and EnergyAssetShares:
   safeTransferFrom of an asset (callback: forward the asset, split it), split (the shares' mint
   callback: split, recombine, depositRevenue, claimRevenue), the shares' safeTransferFrom and
   safeBatchTransferFrom (callback: claimRevenue, harmless by design), and the paths with no callback
   at all (mintAsset uses _mint, recombine uses transferFrom).

How nothing is forgotten: `test_every_function_is_classified` reads each contract's ABI and fails
if a state-changing function is neither in `GUARDED` (value-moving: attacked above) nor in
`NO_VALUE_MOVED` (with the reason it moves no token), if a listed name is not in the ABI any more,
or if a value-moving function that transfers PaymentToken has no outer trigger (`ENERGY_ONLY` names
those that move only EnergyToken or an NFT, which have no transfer hooks).

Relied on and not repeated: test_settlement_reentrancy.py (settlement reentry, and matchOrders called back from
inside a transfer, which is harmless: it books without moving tokens), test_energy_auction.py,
test_demand_response.py, test_demand_programs.py, test_energy_asset_shares.py (one reentry each).
"""

from __future__ import annotations

from collections.abc import Callable
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

from energy_grid.signed_orders import sign_order
from energy_grid.units import DAY_SECONDS, INTERVAL_SECONDS

from support.asset_helpers import mint, new_meter
from support.auction_helpers import open_period
from support.bulk_helpers import Bulk
from support.helpers import NO_FREEZE_QUERY, ZERO_ADDRESS, log, reverts
from support.market_helpers import (
    BUY,
    SELL,
    book_on_own_vault,
    cost_ceil,
    create,
    relay,
    signed_order,
    token_balances,
    vault_balances,
)

MAX_UINT = 2**256 - 1
MIN_PRICE = AUCTION_MIN_PRICE_PER_KWH
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
    ),
    "EnergyAuction": ("submitBid", "submitAsk", "claim", "claimBatch", "withdrawFees"),
    "DemandResponse": ("startEvent", "cancelEvent", "claimReward", "distributeRewards"),
    "DemandPrograms": ("createDemandProgram", "cancelProgram", "claimReward", "distributeRewards"),
    "EnergyAssetShares": ("split", "recombine", "depositRevenue", "claimRevenue"),
    # No guard by design: see test_consume_energy_reentry_is_harmless.
    "GridManagement": ("consumeEnergy",),
    # The NFT's transfers are OpenZeppelin's; the callback comes after the state change (see the
    # receiver tests); mintAsset uses _mint, no callback.
    "EnergyAssetNFT": ("mintAsset", "transferFrom", "safeTransferFrom"),
}

# Value-moving functions that transfer no PaymentToken (they move only EnergyToken, an NFT or vault
# balances: no transfer hook to call back from): attacked as inner calls only, or through HostileReceiver.
ENERGY_ONLY = {
    "EnergyTrading.cancelOrder": "refunds into the trader's vault balance (IEnergyVault.give): no token moves",
    "EnergyTrading.cancelOrderBySig": "refunds into the trader's vault balance (IEnergyVault.give): no token moves",
    "EnergyTrading.releaseExpiredOrder": "refunds into the trader's vault balance (IEnergyVault.give): no token moves",
    "EnergyTrading.withdrawFees": "credits the fee recipient's vault balance (IEnergyVault.give): no token moves",
    "EnergyAuction.submitAsk": "escrows EnergyToken (the vault pulls it), which has no transfer hook",
    "EnergyAuction.claim": "credits vault balances (IEnergyVault.give): no token moves",
    "EnergyAuction.claimBatch": "credits vault balances (IEnergyVault.give per order): no token moves",
    "EnergyAuction.withdrawFees": "credits the fee recipient's vault balance (IEnergyVault.give): no token moves",
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

# State-changing functions that transfer no token, each with why.
NO_VALUE_MOVED: dict[str, dict[str, str]] = {
    "EnergyTrading": _ROLES
    | _PAUSE
    | {
        "matchOrders": (
            "books a trade between escrowed orders; vault balances move at settlement"
            " (test_settlement_reentrancy.py calls it back from a pull)"
        ),
        "settleTransaction": "credits vault balances only (IEnergyVault.give), calling nothing but the vault: no lock",
        "settleTransactions": "credits vault balances only (IEnergyVault.give), calling nothing but the vault: no lock",
        "voidTransaction": "credits vault balances only (IEnergyVault.give), calling nothing but the vault: no lock",
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
        "clear": "computes the clearing price and books fees; vault balances move at claim",
        "setGridFee": "a parameter",
        "setFeeRecipient": "a parameter",
        "setPriceGrid": "a parameter",
        "setReadingDeadline": "a parameter",
        "recordMetered": (
            "the meter registry's report only (NotMeterRegistry for anyone else, a token included): its standing"
            " orders move vault balances (settleBatch) and burn retired energy, never a token transfer (test_standing_orders.py)"
        ),
    },
    "DemandResponse": _ROLES
    | {
        "registerGridOperator": "a registration",
        "registerConsumer": "a registration",
        "joinEvent": "a registration",
        "rejectParticipation": "a status change",
        "verifyReduction": "reserves a reward in the books; paid by claimReward/distributeRewards",
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


# ----------------------------------------------------------------------------- scenes


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


def _trading_scene(project, admin, seller, buyer, keeper, fee_recipient, energy_token, chain) -> Scene:
    """The book on an EnergyVault of EnergyToken and the hostile token. The buyer keeps its money in its
    wallet, with an allowance to the vault: each BUY escrow is pulled from there (a transfer of the
    hostile token) while the book is inside the call. Refunds, payouts and fees credit vault balances."""
    token = project.ReentrantToken.deploy(sender=admin)
    vault, market = book_on_own_vault(project, admin, energy_token, token, fee_recipient, MARKET_FEE_BPS, [seller, buyer])
    token.mint(buyer, 10**15, sender=buyer)

    def expiry() -> int:
        return chain.pending_timestamp + 3_600

    def fill():
        ask = create(market, seller, 1_000, 200_000, SELL, expiry())
        return (lambda: market.fillOrder(ask, 500, sender=buyer)), None

    def create_by_sig():
        order = signed_order(market, buyer, 1_000, 100_000, BUY, expiry(), expiry())
        signature = sign_order(order, buyer.private_key, market.address, chain.chain_id)
        return (lambda: relay(market, order, signature, keeper)), None

    far = chain.pending_timestamp + 30 * DAY_SECONDS
    return Scene(
        market,
        token,
        [seller, buyer, keeper, fee_recipient, admin],
        {
            "createOrder": lambda: ((lambda: market.createOrder(1_000, 100_000, expiry(), BUY, sender=buyer)), None),
            "createDirectedOrder": lambda: (
                (lambda: market.createDirectedOrder(1_000, 100_000, expiry(), BUY, seller, sender=buyer)),
                None,
            ),
            "fillOrder": fill,
            "createOrderBySig": create_by_sig,
        },
        {
            "createOrder": market.createOrder.encode_input(1_000, 100_000, far, BUY),
            "createDirectedOrder": market.createDirectedOrder.encode_input(1_000, 100_000, far, BUY, seller),
            "fillOrder": market.fillOrder.encode_input(1, 1),
            "cancelOrder": market.cancelOrder.encode_input(1),
            "releaseExpiredOrder": market.releaseExpiredOrder.encode_input(1),
            "withdrawFees": market.withdrawFees.encode_input(),
            "createOrderBySig": market.createOrderBySig.encode_input(
                (ZERO_ADDRESS, 1, 1, far, BUY, ZERO_ADDRESS, 0, far), 27, b"\x00" * 32, b"\x00" * 32, []
            ),
            "cancelOrderBySig": market.cancelOrderBySig.encode_input(1, 0, far, 27, b"\x00" * 32, b"\x00" * 32),
        },
        vault,
    )


def _auction_scene(project, admin, seller, buyer, keeper, fee_recipient, energy_token, chain) -> Scene:
    """An auction on an EnergyVault of EnergyToken and the hostile token. The buyer keeps its money in
    its wallet, with an allowance to the vault: each bid's escrow is pulled from there (a transfer of
    the hostile token) while the auction is inside submitBid. Claims and fees only credit vault balances."""
    token = project.ReentrantToken.deploy(sender=admin)
    vault = project.EnergyVault.deploy(admin, energy_token, token, NO_FREEZE_QUERY, sender=admin)
    auction = project.EnergyAuction.deploy(
        admin,
        vault,
        ZERO_ADDRESS,  # no meter registry: firm orders, cleared at the gate
        fee_recipient,
        AUCTION_FEE_BPS,
        AUCTION_PERIOD_SECONDS,
        AUCTION_GATE_CLOSURE_SECONDS,
        AUCTION_MIN_PRICE_PER_KWH,
        AUCTION_TICK_SIZE_PER_KWH,
        AUCTION_MAX_PRICE_PER_KWH,
        sender=admin,
    )
    vault.registerMarket(auction, sender=admin)
    for trader in (seller, buyer):
        vault.setMarketApproval(auction, True, sender=trader)
    energy_token.approve(vault, MAX_UINT, sender=seller)
    token.approve(vault, MAX_UINT, sender=buyer)
    token.mint(buyer, 10**15, sender=buyer)
    assert vault.balancesOf(buyer) == (0, 0)  # so every bid's escrow is pulled

    def submit():
        period = open_period(chain)
        return (lambda: auction.submitBid(period, 1_000, MIN_PRICE, sender=buyer)), None

    period = open_period(chain)
    return Scene(
        auction,
        token,
        [seller, buyer, keeper, fee_recipient],
        {"submitBid": submit},
        {
            "submitBid": auction.submitBid.encode_input(period, 1_000, MIN_PRICE),
            "submitAsk": auction.submitAsk.encode_input(period, 1_000, MIN_PRICE),
            "claim": auction.claim.encode_input(1),
            "claimBatch": auction.claimBatch.encode_input([1]),
            "withdrawFees": auction.withdrawFees.encode_input(),
        },
        vault,
    )


def _jump_to_interval(chain) -> None:
    """HISTORY_SECONDS ahead, 100 s into an interval."""
    chain.pending_timestamp = (chain.pending_timestamp + HISTORY_SECONDS) // INTERVAL_SECONDS * INTERVAL_SECONDS + 100


def _dr_scene(project, admin, smart_meter, grid_management, energy_token, chain) -> Scene:
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


def _dp_scene(project, admin, operator, smart_meter, grid_management, energy_token) -> Scene:
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


def _shares_scene(project, admin, owner, grid_operator, smart_meter, grid_management, energy_token, chain) -> Scene:
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
def attack_scenes(
    project,
    admin,
    owner,
    other,
    keeper,
    fee_recipient,
    stranger,
    grid_operator,
    energy_token,
    smart_meter,
    grid_management,
    grid_operations,
    accounts,
    chain,
) -> dict[str, Scene]:
    """Every PaymentToken-moving contract deployed on its own ReentrantToken (and its own vault of it). `owner` sells (metered
    EnergyToken), `other` buys, `grid_operator` operates region 1 (grid_operations verified it)."""
    meter_energy_to([owner], 10_000_000, smart_meter, admin, accounts, chain)
    return {
        "EnergyTrading": _trading_scene(project, admin, owner, other, keeper, fee_recipient, energy_token, chain),
        "EnergyAuction": _auction_scene(project, admin, owner, other, keeper, fee_recipient, energy_token, chain),
        "DemandResponse": _dr_scene(project, admin, smart_meter, grid_management, energy_token, chain),
        "DemandPrograms": _dp_scene(project, admin, grid_operator, smart_meter, grid_management, energy_token),
        "EnergyAssetShares": _shares_scene(project, admin, owner, grid_operator, smart_meter, grid_management, energy_token, chain),
    }


# Built without a chain, for parametrize: (contract, outer, inner) for every pair.
TRIGGERS = {
    "EnergyTrading": ("createOrder", "createDirectedOrder", "fillOrder", "createOrderBySig"),
    "EnergyAuction": ("submitBid",),
    "DemandResponse": ("startEvent",),
    "DemandPrograms": ("createDemandProgram",),
    "EnergyAssetShares": ("depositRevenue",),
}
INNER = {name: GUARDED[name] for name in TRIGGERS}
CASES = [(name, outer, inner) for name, outers in TRIGGERS.items() for outer in outers for inner in INNER[name]]


def _balances(scene: Scene, energy_token) -> list[tuple[int, ...]]:
    """(PaymentToken, EnergyToken) balance of the contract and of each actor, in one batch; on a vault,
    the vault's token balances first and the vault balances of the contract and the actors last."""
    holders = [scene.contract.address, *(actor.address for actor in scene.actors)]
    if scene.vault is None:
        return token_balances([scene.token.address, energy_token.address], holders)
    tokens = token_balances([scene.token.address, energy_token.address], [scene.vault.address, *holders])
    return tokens + vault_balances(scene.vault.address, holders)


# ----------------------------------------------------------------------------- 1. hostile PaymentToken


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


def test_every_function_is_classified(project):
    """Each attacked contract's ABI, function by function: value-moving (attacked) or not (reason)."""
    problems = []
    for name, guarded in GUARDED.items():
        abi = getattr(project, name).contract_type.abi
        changing = {i.name for i in abi if i.type == "function" and i.stateMutability in ("nonpayable", "payable")}
        listed = set(guarded) | set(NO_VALUE_MOVED[name])
        problems += [f"{name}.{f}: not classified" for f in sorted(changing - listed)]
        problems += [f"{name}.{f}: listed but not in the ABI" for f in sorted(listed - changing)]
        problems += [f"{name}.{f}: listed twice" for f in sorted(set(guarded) & set(NO_VALUE_MOVED[name]))]
        triggered = {t.split(":")[0] for t in TRIGGERS.get(name, ())}
        for f in guarded:
            if f not in triggered and f"{name}.{f}" not in ENERGY_ONLY and name != "GridManagement":
                problems.append(f"{name}.{f}: moves PaymentToken but no outer trigger")
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


# ----------------------------------------------------------------------------- 2. hostile ERC-721 / ERC-1155 receiver


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
