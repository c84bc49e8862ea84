"""Access matrix: every state-changing function of every deployed contract, called by an account
that holds no role, reverts for lack of access.

The system is deployed with `energy_grid.deploy.system.deploy_system` (plus `setup_local_roles`, so the
deployer owns one object of each kind: an order, a demand-response event, a program, an asset, a split
asset, a balancing action). The test walks `System.contracts()` (so a contract added to the System is
covered at once) and each one's ABI; for every nonpayable or payable function it builds arguments
from the ABI types (1 for numbers, a bystander's address, one-element arrays, ...), or takes them
from `ARGS` where a function checks access against an object (the deployer's order, asset, event),
and sends it from `stranger` as an eth_call. Every function not in `PUBLIC` must revert with an
access error (`ACCESS_ERRORS`: AccessControlUnauthorizedAccount or the contract's own not-authorized
error) that names the caller, decoded from the revert data with the errors of every ABI.
`PUBLIC` lists the deliberately public functions, each with its reason; a name there (or in `ARGS`)
that is in no deployed ABI fails the test too.

Governance contracts added to the System later are covered as soon as they appear in
`System.contracts()`: their public functions (propose, castVote, delegate, ...) go into `PUBLIC`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_abi import decode, encode
from eth_account import Account
from eth_utils import keccak
from web3.exceptions import ContractCustomError, ContractLogicError

from energy_grid.deploy.system import deploy_system, fund_local_accounts, role_names, setup_local_roles

from support.helpers import DEFAULT_ADMIN_ROLE, reverts

DAY = 86_400
MAX_UINT = 2**256 - 1

_ERC20 = {
    "approve": "ERC-20: the caller's own allowance",
    "transfer": "ERC-20: the caller's own balance",
    "transferFrom": "ERC-20: spends the caller's allowance (ERC20InsufficientAllowance otherwise)",
    "permit": "EIP-2612: the holder's signature is the authorization",
}

# Deliberately public, "Contract.function": why anyone may call it.
PUBLIC: dict[str, str] = {
    **{f"EnergyToken.{k}": v for k, v in _ERC20.items()},
    "EnergyToken.burn": "ERC20Burnable: the caller's own balance",
    "EnergyToken.burnFrom": "ERC20Burnable: spends the caller's allowance",
    **{f"PaymentToken.{k}": v for k, v in _ERC20.items()},
    **{f"CarbonCredits.{k}": v for k, v in _ERC20.items()},
    "CarbonCredits.transferCarbonCredits": "seed alias of transfer: the caller's own credits",
    "CarbonCredits.retire": "burns the caller's own credits",
    "CarbonCredits.issueCarbonCredits": "permissionless: mints only what the meter measured, to the meter's owner",
    "CarbonCredits.issueCarbonCreditsBatch": "permissionless: issueCarbonCredits for each meter, in one transaction",
    "EnergyTrading.createOrderBySig": (
        "any relayer: the trader's EIP-712 signature (nonce, deadline) is the authorization; the order is the signer's"
    ),
    "EnergyTrading.cancelOrderBySig": "any relayer: the trader's EIP-712 signature is the authorization",
    "EnergyTrading.invalidateNonces": "raises the caller's own signed-message nonce (NonceNotRaised for a lower one)",
    "SmartMeter.submitSignedReadings": "any relayer: each reading's meter signature (EIP-712, nonce, deadline) is the authorization",
    "SmartMeter.submitPackedSignedReadings": "as submitSignedReadings, in packed calldata: each meter's signature is the authorization",
    "SmartMeter.setStandingOrderBySig": (
        "any relayer: the meter owner's EIP-712 signature (nonce, deadline) is the authorization"
    ),
    "SmartMeter.syncMeterZone": "anyone takes a meter's zone from the reading market's zones: its region decides, not the caller",
    "MarketZones.syncRating": "anyone takes a zone's rating from GridOperations' latest load report, for periods whose gate is open",
    "SteppedClearing.step": "anyone takes a large coupled market's clearing a step on, once its books are final; the rule decides",
    "ForecastLedger.tallyMeters": "anyone adds the region's meters to a forecast's window: what they metered decides, each counted once",
    "ForecastLedger.scoreForecast": "anyone scores a committed forecast against its tallied meters, once: the rule decides",
    "SmartMeter.settleStandingOrders": "keepers settle the meters' cleared standing orders; fills go to the meters' owners only",
    "SmartMeter.settleStandingOrdersIn": (
        "keepers settle the meters' standing orders in a reading market the registry named; fills go to the meters' owners only"
    ),
    "SmartMeter.invalidateStandingOrderNonces": (
        "raises the caller's own standing-order nonce (StandingOrderNonceNotRaised for a lower one)"
    ),
    "EnergyVault.deposit": "the caller's own tokens into its own vault balance",
    "EnergyVault.depositWithPermit": "as deposit, after the caller's own EIP-2612 permit",
    "EnergyVault.withdraw": "the caller's own vault balance",
    "EnergyVault.depositWithPermitFor": "any relayer: the account's EIP-2612 permit of the vault, into its own balance",
    "EnergyVault.withdrawBySig": "any relayer: the account's EIP-712 withdrawal signature (nonce, deadline) is the authorization",
    "EnergyVault.setMarketApproval": "the caller's own approval of a registered market",
    "EnergyVault.approveMarketBySig": "any relayer: the account's EIP-712 signature (nonce, deadline) is the authorization",
    "EnergyVault.invalidateNonces": "the caller's own nonce for signed approvals and withdrawals",
    **{f"GovernanceToken.{k}": v for k, v in _ERC20.items()},
    "GovernanceToken.delegate": "ERC20Votes: the caller's own voting power",
    "GovernanceToken.delegateBySig": "ERC20Votes: the holder's signature is the authorization",
    "EnergyGovernor.propose": "anyone holding the proposal threshold of votes (GovernorInsufficientProposerVotes otherwise)",
    "EnergyGovernor.castVote": "voters vote with their own voting power at the snapshot",
    "EnergyGovernor.castVoteWithReason": "as castVote",
    "EnergyGovernor.castVoteWithReasonAndParams": "as castVote",
    "EnergyGovernor.castVoteBySig": "the voter's signature is the authorization",
    "EnergyGovernor.castVoteWithReasonAndParamsBySig": "the voter's signature is the authorization",
    "EnergyGovernor.queue": "anyone queues a proposal that passed",
    "EnergyGovernor.execute": "anyone executes a queued proposal once the timelock's delay passed",
    "EnergyGovernor.cancel": "the proposer, while the proposal is pending (GovernorUnableToCancel otherwise)",
    "EnergyGovernor.onERC721Received": "refuses deposits (GovernorDisabledDeposit): the governor holds no assets",
    "EnergyGovernor.onERC1155Received": "refuses deposits (GovernorDisabledDeposit)",
    "EnergyGovernor.onERC1155BatchReceived": "refuses deposits (GovernorDisabledDeposit)",
    "GridTimelock.execute": (
        "execution is open to anyone (EXECUTOR_ROLE held by the zero address), only for operations voted and waited out"
    ),
    "GridTimelock.executeBatch": "as execute",
    "GridTimelock.onERC721Received": "the timelock is the treasury: it accepts tokens",
    "GridTimelock.onERC1155Received": "the timelock is the treasury: it accepts tokens",
    "GridTimelock.onERC1155BatchReceived": "the timelock is the treasury: it accepts tokens",
    "EnergyTrading.createOrder": "any trader who approved the book in the vault; escrow taken from the caller's vault balance",
    "EnergyTrading.createDirectedOrder": "any trader who approved the book in the vault; escrow taken from the caller's vault balance",
    "EnergyTrading.fillOrder": "any taker who approved the book in the vault; pays from the caller's vault balance",
    "EnergyTrading.matchOrders": "keepers match crossing orders; books only what both traders escrowed",
    "EnergyTrading.settleTransaction": "keepers settle; pays the trade's parties only",
    "EnergyTrading.settleTransactions": "keepers settle; pays the trades' parties only",
    "EnergyTrading.releaseExpiredOrder": "anyone frees an expired order; the escrow goes back to its trader",
    "EnergyTrading.pruneLevel": "anyone unlinks dead queue entries",
    "Settlement.createOrder": "as EnergyTrading.createOrder (the same contract)",
    "Settlement.matchOrders": "as EnergyTrading.matchOrders",
    "Settlement.settleTransaction": "as EnergyTrading.settleTransaction",
    "Settlement.settleTransactions": "as EnergyTrading.settleTransactions",
    "GridManagement.registerConsumer": "self-registration of the caller",
    "GridManagement.registerProducer": "self-registration of the caller; an operator verifies before its capacity counts",
    "GridManagement.registerStorage": "self-registration of the caller; an operator verifies before it moves energy",
    "GridManagement.registerOperator": "self-registration; an admin verifies before it counts",
    "GridManagement.consumeEnergy": "a registered consumer buys for itself (ParticipantNotFound otherwise)",
    "GridManagement.reportProduction": "a registered, verified producer reports its own output",
    "GridManagement.chargeStorage": "a registered, verified storage unit books its own flow",
    "GridManagement.dischargeStorage": "a registered, verified storage unit books its own flow",
    "DemandResponse.joinEvent": "a registered consumer joins for itself",
    "DemandResponse.verifyReduction": "anyone submits the meter's figures; the contract recomputes them",
    "DemandResponse.verifyReductions": "anyone asks for consumers' verification; the contract measures each meter",
    "DemandResponse.claimReward": "the caller's own reward",
    "DemandResponse.distributeRewards": "keepers push rewards to their owners in bounded batches",
    "DemandPrograms.joinProgram": "a registered consumer joins for itself",
    "DemandPrograms.claimReward": "the caller's own reward",
    "DemandPrograms.distributeRewards": "keepers push rewards to their owners in bounded batches",
    "EnergyAssetNFT.setApprovalForAll": "ERC-721: the caller's own approvals",
    "EnergyAssetShares.setApprovalForAll": "ERC-1155: the caller's own approvals",
    "EnergyAssetShares.depositRevenue": "anyone may pay revenue to an asset's shareholders",
    "EnergyAssetShares.claimRevenue": "the caller's own revenue",
    "EnergyAuction.submitBid": "any trader; escrow pulled from the caller",
    "EnergyAuction.submitAsk": "any trader; escrow pulled from the caller",
    "EnergyAuction.submitOrderBySig": (
        "any relayer: the trader's EIP-712 signature (nonce, deadline) is the authorization; the order and its escrow are the signer's"
    ),
    "EnergyAuction.submitBidIn": "any trader, in a zone of the market; escrow pulled from the caller",
    "EnergyAuction.submitAskIn": "any trader, in a zone of the market; escrow pulled from the caller",
    "EnergyAuction.clear": "keepers clear a period once its gate has closed",
    "EnergyAuction.claim": "anyone settles an order; tokens go to its trader only",
    "EnergyAuction.claimBatch": "anyone settles orders, a keeper a round of them; each pays its own trader only",
}

# Errors that mean "the caller may not do this". Each must name the caller, except
# AccessControlBadConfirmation (renounceRole for another account), which has no arguments.
ACCESS_ERRORS = {
    "AccessControlUnauthorizedAccount",
    "AccessControlBadConfirmation",
    "GovernorOnlyExecutor",  # EnergyGovernor: its settings change only through the timelock
    "TimelockUnauthorizedCaller",  # GridTimelock.updateDelay: only the timelock itself
    "NotFeeRecipient",
    "Unauthorized",  # GridManagement: not a verified, authorized operator
    "OperatorNotAuthorized",  # GridOperations, CarbonCredits: not the region's operator
    "UnknownReporter",  # oracles
    "GridOperatorNotRegistered",  # DemandResponse / DemandPrograms
    "NotGridOperator",  # EnergyAssetNFT.mintAsset
    "NotEventOperator",
    "NotProgramOperator",
    "NotOrderTrader",
    "NotMeterOwner",
    "NotMarket",  # EnergyVault: only a registered market moves balances (take, give, settleBatch, retireEnergy)
    "NotCreditor",  # EnergyVault.creditArrived: only a registered market or a CREDITOR_ROLE holder books arrivals
    "NotMeterRegistry",  # EnergyAuction.recordMetered: only the meter registry reports metered energy
    "NotAuction",  # MarketZones.recordClearing: only its auction records a clearing
    "NotSteppedClearing",  # MarketZones.beginSteps: only its SteppedClearing begins a market's steps
    "NotRegionOperator",  # MarketZones.setLinkLimits: only the region's own operator
    "MeterUnknown",  # SmartMeter.submitReading: the caller is not a registered meter
    "NotAssetController",
    "NotAuthorizedMaintainer",
    "NotAssetOwner",
    "NotAllShares",
    "NotManager",
    "ERC721InvalidApprover",
    "ERC721InsufficientApproval",
    "ERC1155MissingApprovalForAll",
}


def _objects(system: Any, admin: Any, smart_meter: Any, chain: Any) -> dict[str, Any]:
    """One object of each kind, owned by the deployer, for the functions that check the caller
    against an object."""
    market, dr, dp = system.energy_trading, system.demand_response, system.demand_programs
    nft, shares, ops, cash = system.energy_asset_nft, system.energy_asset_shares, system.grid_operations, system.payment_token
    fund_local_accounts(system, admin, [admin])
    for spender in (system.energy_vault, dr, dp):
        cash.approve(spender, MAX_UINT, sender=admin)
    system.energy_vault.setMarketApproval(market, True, sender=admin)
    order = market.createOrder(1_000, 100_000, chain.pending_timestamp + DAY, 0, sender=admin).return_value
    event = dr.startEvent(1, 1, 1, 3_600, sender=admin).return_value
    program = dp.createDemandProgram("Peak", 0, 1, 1, 1, 900, sender=admin).return_value
    assets = []
    for _ in range(2):
        meter = Account.create().address
        smart_meter.registerMeter(meter, admin, 1, 0, 0, sender=admin)
        assets.append(nft.mintAsset(admin, 0, 5_000, 1, chain.pending_timestamp - DAY, meter, sender=admin).return_value)
    nft.setApprovalForAll(shares, True, sender=admin)
    shares.split(assets[1], 10, sender=admin)
    ops.setRegionCapacity(1, 1_000, 500, 100, sender=admin)
    action = ops.initiateBalancingAction(1, 1, 10, 1, sender=admin).return_value  # GENERATION_UP from reserve
    return {"order": order, "event": event, "program": program, "asset": assets[0], "split": assets[1], "action": action, "meter": meter}


# Arguments for functions that check access against an object: "Contract.signature" -> args(objects, admin, other).
ARGS: dict[str, Callable[[dict, str, str], list]] = {
    "EnergyTrading.cancelOrder(uint256)": lambda o, a, b: [o["order"]],
    "Settlement.cancelOrder(uint256)": lambda o, a, b: [o["order"]],
    "SmartMeter.redeemConsumption(address,uint256)": lambda o, a, b: [o["meter"], 1],
    "SmartMeter.setVaultDelivery(address,bool)": lambda o, a, b: [o["meter"], True],
    "SmartMeter.setStandingOrder(address,uint256,uint256,uint256,uint256)": lambda o, a, b: [o["meter"], 1, 1, 1, 1],
    "SmartMeter.removeStandingOrder(address)": lambda o, a, b: [o["meter"]],
    "DemandResponse.cancelEvent(uint256)": lambda o, a, b: [o["event"]],
    "DemandResponse.rejectParticipation(uint256,address,bytes32)": lambda o, a, b: [o["event"], b, b"\0" * 32],
    "DemandPrograms.cancelProgram(uint256)": lambda o, a, b: [o["program"]],
    "DemandPrograms.reportReduction(uint256,address,uint64)": lambda o, a, b: [o["program"], b, 1],
    "GridOperations.completeBalancingAction(uint256)": lambda o, a, b: [o["action"]],
    "GridOperations.cancelBalancingAction(uint256)": lambda o, a, b: [o["action"]],
    "EnergyAssetNFT.approve(address,uint256)": lambda o, a, b: [b, o["asset"]],
    "EnergyAssetNFT.transferFrom(address,address,uint256)": lambda o, a, b: [a, b, o["asset"]],
    "EnergyAssetNFT.safeTransferFrom(address,address,uint256)": lambda o, a, b: [a, b, o["asset"]],
    "EnergyAssetNFT.safeTransferFrom(address,address,uint256,bytes)": lambda o, a, b: [a, b, o["asset"], b""],
    "EnergyAssetNFT.setMaintainer(uint256,address,bool)": lambda o, a, b: [o["asset"], b, True],
    "EnergyAssetNFT.addMaintenanceRecord(uint256,uint8,uint256,string)": lambda o, a, b: [o["asset"], 0, 1, "x"],
    "EnergyAssetShares.split(uint256,uint256)": lambda o, a, b: [o["asset"], 10],
    "EnergyAssetShares.recombine(uint256)": lambda o, a, b: [o["split"]],
    "EnergyAssetShares.setManager(uint256,address)": lambda o, a, b: [o["split"], b],
}


@pytest.fixture(scope="module")
def matrix(project, admin, stranger, other, chain):
    """The deployed system and the deployer's objects (accounts resolved before isolation)."""
    system = deploy_system(project, admin)
    setup_local_roles(system, admin)
    return system, _objects(system, admin, system.smart_meter, chain)


def _abis(project: Any, system: Any) -> dict[str, tuple[Any, list[Any]]]:
    """name -> (deployed contract, its ABI); Settlement is EnergyTrading's address with its own ABI."""
    settlement = project.Settlement.contract_type
    out = {}
    for name, contract in system.contracts().items():
        ctype = settlement if name == "Settlement" else contract.contract_type
        out[name] = (contract, list(ctype.abi))
    return out


def _signature(item: Any) -> str:
    return f"{item.name}({','.join(i.canonical_type for i in item.inputs)})"


def _split_tuple(t: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in t[1:-1]:
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += (ch == "(") - (ch == ")")
        current += ch
    return [*parts, current]


def _value(t: str, bystander: str) -> Any:  # noqa: PLR0911 (one return per kind of ABI type)
    """A plausible value of ABI type `t`: nonzero numbers and addresses, one-element arrays."""
    if t.endswith("]"):
        base, _, size = t[:-1].rpartition("[")
        return [_value(base, bystander)] * (int(size) if size else 1)
    if t.startswith("("):
        return tuple(_value(p, bystander) for p in _split_tuple(t))
    if t.startswith(("uint", "int")):
        return 1
    if t == "address":
        return bystander
    if t == "bool":
        return False
    if t == "string":
        return "x"
    if t == "bytes":
        return b""
    if t.startswith("bytes"):
        return b"\0" * int(t[5:])
    raise AssertionError(f"no value for ABI type {t}")


def _error_table(project: Any, abis: dict[str, tuple[Any, list[Any]]]) -> dict[bytes, tuple[str, list[str], list[str]]]:
    """Selector -> (name, input names, input types), from every ABI deployed or in the project."""
    items = [item for _, abi in abis.values() for item in abi]
    for ctype in project.contracts.values():
        items += list(ctype.abi)
    table = {}
    for item in items:
        if item.type == "error":
            types = [i.canonical_type for i in item.inputs]
            table[keccak(text=f"{item.name}({','.join(types)})")[:4]] = (item.name, [i.name for i in item.inputs], types)
    return table


def _revert(w3: Any, sender: str, to: str, data: bytes) -> bytes | None:
    """The revert data of an eth_call, or None if the call succeeds."""
    try:
        w3.eth.call({"from": sender, "to": to, "data": "0x" + data.hex()})
    except (ContractCustomError, ContractLogicError) as exc:
        raw = exc.data if isinstance(exc.data, str) else (exc.args[1] if len(exc.args) > 1 else "")
        return bytes.fromhex(raw[2:]) if isinstance(raw, str) and raw.startswith("0x") else b""
    return None


def test_every_restricted_function_refuses_an_account_without_roles(matrix, project, admin, stranger, other, chain):
    system, objects = matrix
    abis = _abis(project, system)
    errors = _error_table(project, abis)
    w3 = chain.provider.web3
    failures, checked = [], 0
    for name, (contract, abi) in abis.items():
        for item in abi:
            if item.type != "function" or item.stateMutability not in ("nonpayable", "payable"):
                continue
            if f"{name}.{item.name}" in PUBLIC:
                continue
            signature = _signature(item)
            types = [i.canonical_type for i in item.inputs]
            build = ARGS.get(f"{name}.{signature}")
            args = build(objects, admin.address, other.address) if build else [_value(t, other.address) for t in types]
            data = keccak(text=signature)[:4] + encode(types, args)
            revert = _revert(w3, stranger.address, contract.address, data)
            checked += 1
            where = f"{name}.{signature}"
            if revert is None:
                failures.append(f"{where}: succeeded for an account without roles")
                continue
            known = errors.get(revert[:4])
            if known is None:
                failures.append(f"{where}: reverted with undecodable data 0x{revert.hex()}")
                continue
            error, input_names, input_types = known
            inputs = dict(zip(input_names, decode(input_types, revert[4:]), strict=True))
            if error not in ACCESS_ERRORS:
                failures.append(f"{where}: reverted with {error}{inputs}, not an access error")
            elif error != "AccessControlBadConfirmation" and stranger.address.lower() not in {str(v).lower() for v in inputs.values()}:
                failures.append(f"{where}: {error}{inputs} does not name the caller")
    assert failures == [], "\n".join(failures)
    assert checked >= 150  # the matrix ran (about 170 restricted functions today)


def test_public_and_argument_lists_name_existing_functions(matrix, project):
    system, _ = matrix
    abis = _abis(project, system)
    names = {f"{n}.{i.name}" for n, (_, abi) in abis.items() for i in abi if i.type == "function"}
    signatures = {f"{n}.{_signature(i)}" for n, (_, abi) in abis.items() for i in abi if i.type == "function"}
    assert sorted(set(PUBLIC) - names) == []
    assert sorted(set(ARGS) - signatures) == []
    # A function is either public or gets object arguments because it is restricted: never both.
    assert sorted(k for k in ARGS if k.split("(")[0] in PUBLIC) == []


def test_the_vaults_markets_are_registered_and_closed_by_its_admin_only(matrix, stranger):
    """EnergyVault's admin role is handed over to the timelock: registering a market (one whose approved
    accounts' balances it may move) and closing one need it; CREDITOR_ROLE (the meter registry's)
    books tokens that reached the vault."""
    system, _ = matrix
    vault = system.energy_vault
    assert role_names(vault) == {DEFAULT_ADMIN_ROLE: "DEFAULT_ADMIN_ROLE", vault.CREDITOR_ROLE(): "CREDITOR_ROLE"}
    assert vault.hasRole(vault.CREDITOR_ROLE(), system.smart_meter)
    assert vault.hasRole(DEFAULT_ADMIN_ROLE, system.timelock)
    for admin_only in (vault.registerMarket, vault.closeMarket):
        with reverts(vault.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
            admin_only(system.energy_auction, sender=stranger)
