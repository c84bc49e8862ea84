"""Governance: GovernanceToken, EnergyGovernor and GridTimelock as `deploy_system` wires them.

The system here is deployed as on a public network (`keep_deployer_admin=False`): the timelock is
the only admin, the guardian only pauses, the deployer keeps nothing but its GRID. Time moves with
`chain.pending_timestamp` (the governor's clock is the block timestamp) and blocks with `chain.mine`.
"""

from __future__ import annotations

import pytest
from eth_utils import keccak

from energy_grid.deploy.system import GRID, LOCAL_GOVERNANCE, DeploymentSettings, deploy_system, role_names

from support.helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, assert_logs, deploy_reverts, log, reverts, role

# ProposalState, as OpenZeppelin's IGovernor numbers it.
PENDING, ACTIVE, CANCELED, DEFEATED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED = range(8)
AGAINST, FOR, ABSTAIN = range(3)
SUPPLY = LOCAL_GOVERNANCE.initial_supply
QUORUM = SUPPLY * LOCAL_GOVERNANCE.quorum_percent // 100
BIG_STAKE = 1_000_000 * GRID  # 10 % of the supply: above the 4 % quorum alone
SMALL_STAKE = 100_000 * GRID  # 1 %: above the proposal threshold, below the quorum


@pytest.fixture(scope="module")
def gov_guardian(accounts):
    return accounts[8]


@pytest.fixture(scope="module")
def gov_voter(accounts):
    return accounts[5]


@pytest.fixture(scope="module")
def gov_small_voter(accounts):
    return accounts[6]


@pytest.fixture(scope="module")
def gov_system(project, chain, admin, gov_guardian, gov_voter, gov_small_voter, stranger):
    """Deployed as on a public network; the deployer hands GRID to two voters, who delegate to themselves."""
    settings = DeploymentSettings(guardian=gov_guardian, keep_deployer_admin=False, governance=LOCAL_GOVERNANCE)
    system = deploy_system(project, admin, settings)
    token = system.governance_token
    for voter, stake in ((gov_voter, BIG_STAKE), (gov_small_voter, SMALL_STAKE)):
        token.transfer(voter, stake, sender=admin)
        token.invoke_transaction("delegate", voter, sender=voter)  # ape shadows `.delegate`
    # Voting power counts from the next second on (`getVotes(account, clock() - 1)` at proposal time).
    chain.pending_timestamp += 1
    chain.mine()
    return system


def state_bits(*states):
    """A bitmap of states as the OpenZeppelin errors report it (bytes32)."""
    return sum(1 << state for state in states).to_bytes(32, "big")


def proposal(governor, calls, description):
    """(targets, values, calldatas, description hash, proposal id) of `calls` = [(contract, method, *args)]."""
    targets = [contract.address for contract, _, *_ in calls]
    calldatas = [getattr(contract, method).encode_input(*args) for contract, method, *args in calls]
    values = [0] * len(calls)
    description_hash = keccak(text=description)
    proposal_id = governor.hashProposal(targets, values, calldatas, description_hash)
    return targets, values, calldatas, description_hash, proposal_id


def vote_through(chain, governor, proposer, voters, calls, description, support=FOR):
    """Propose, wait for the snapshot, vote, wait for the deadline. Returns the proposal tuple."""
    targets, values, calldatas, description_hash, proposal_id = proposal(governor, calls, description)
    governor.propose(targets, values, calldatas, description, sender=proposer)
    chain.pending_timestamp = governor.proposalSnapshot(proposal_id) + 1
    for voter in voters:
        governor.castVote(proposal_id, support, sender=voter)
    chain.pending_timestamp = governor.proposalDeadline(proposal_id) + 1
    chain.mine()
    return targets, values, calldatas, description_hash, proposal_id


def test_a_proposal_changes_the_grid_fee(chain, gov_system, gov_voter, stranger):
    """propose -> vote -> queue -> execute: the fee changes only at the end, after the timelock's delay."""
    governor, timelock, market = gov_system.governor, gov_system.timelock, gov_system.energy_trading
    old_fee = market.gridFeeBps()
    new_fee = old_fee + 25
    description = "Grid fee to 0.75 %"
    targets, values, calldatas, description_hash, proposal_id = proposal(governor, [(market, "setGridFee", new_fee)], description)

    tx = governor.propose(targets, values, calldatas, description, sender=gov_voter)
    snapshot = tx.timestamp + governor.votingDelay()
    assert governor.proposalSnapshot(proposal_id) == snapshot
    assert governor.proposalDeadline(proposal_id) == snapshot + governor.votingPeriod()
    assert governor.state(proposal_id) == PENDING
    with reverts(governor.GovernorUnexpectedProposalState, proposalId=proposal_id, current=PENDING, expectedStates=state_bits(ACTIVE)):
        governor.castVote(proposal_id, FOR, sender=gov_voter)

    chain.pending_timestamp = snapshot + 1
    tx = governor.castVote(proposal_id, FOR, sender=gov_voter)
    assert_logs(
        tx, log(governor.VoteCast, voter=gov_voter.address, proposalId=proposal_id, support=FOR, weight=BIG_STAKE, reason="")
    )
    assert governor.proposalVotes(proposal_id) == (0, BIG_STAKE, 0)  # against, for, abstain
    assert governor.hasVoted(proposal_id, gov_voter)
    assert governor.quorum(snapshot) == QUORUM

    chain.pending_timestamp = governor.proposalDeadline(proposal_id) + 1
    chain.mine()
    assert governor.state(proposal_id) == SUCCEEDED
    assert governor.proposalNeedsQueuing(proposal_id)  # the timelock stands between the vote and the change
    tx = governor.queue(targets, values, calldatas, description_hash, sender=stranger)  # anyone queues a passed proposal
    eta = tx.timestamp + timelock.getMinDelay()
    assert governor.proposalEta(proposal_id) == eta
    assert governor.state(proposal_id) == QUEUED
    assert market.gridFeeBps() == old_fee

    operation_id = timelock.hashOperationBatch(targets, values, calldatas, b"\x00" * 32, governor_salt(governor, description_hash))
    ready = state_bits(2)  # TimelockController.OperationState.Ready
    chain.pending_timestamp = eta - 1
    with reverts(timelock.TimelockUnexpectedOperationState, operationId=operation_id, expectedStates=ready):
        governor.execute(targets, values, calldatas, description_hash, sender=stranger)
    assert market.gridFeeBps() == old_fee

    chain.pending_timestamp = eta
    tx = governor.execute(targets, values, calldatas, description_hash, sender=stranger)
    assert market.gridFeeBps() == new_fee
    assert governor.state(proposal_id) == EXECUTED
    assert timelock.isOperationDone(operation_id)
    fee_logs = [event for event in tx.events if event.event_name == "GridFeeUpdated"]
    assert len(fee_logs) == 1 and fee_logs[0].contract_address == market.address


def governor_salt(governor, description_hash):
    """GovernorTimelockControl's salt: the governor's address, left-aligned, xor the description hash."""
    return bytes(a ^ b for a, b in zip(bytes.fromhex(governor.address[2:]).ljust(32, b"\x00"), description_hash, strict=True))


def test_a_proposal_short_of_quorum_is_defeated(chain, gov_system, gov_small_voter, stranger):
    """1 % of the supply votes For, nobody Against: the 4 % quorum is not met, nothing can be queued."""
    governor, market = gov_system.governor, gov_system.energy_trading
    old_fee = market.gridFeeBps()
    targets, values, calldatas, description_hash, proposal_id = vote_through(
        chain, governor, gov_small_voter, [gov_small_voter], [(market, "setGridFee", 0)], "No grid fee"
    )
    assert governor.proposalVotes(proposal_id) == (0, SMALL_STAKE, 0)
    assert SMALL_STAKE < governor.quorum(governor.proposalSnapshot(proposal_id)) == QUORUM
    assert governor.state(proposal_id) == DEFEATED
    with reverts(
        governor.GovernorUnexpectedProposalState, proposalId=proposal_id, current=DEFEATED, expectedStates=state_bits(SUCCEEDED)
    ):
        governor.queue(targets, values, calldatas, description_hash, sender=stranger)
    assert market.gridFeeBps() == old_fee


def test_below_the_threshold_nobody_proposes(gov_system, stranger):
    governor, market = gov_system.governor, gov_system.energy_trading
    targets, values, calldatas, _, _ = proposal(governor, [(market, "setGridFee", 0)], "Spam")
    with reverts(
        governor.GovernorInsufficientProposerVotes,
        proposer=stranger.address,
        votes=0,
        threshold=LOCAL_GOVERNANCE.proposal_threshold,
    ):
        governor.propose(targets, values, calldatas, "Spam", sender=stranger)


def test_the_guardian_shuts_down_at_once_but_only_governance_unpauses(chain, gov_system, gov_guardian, gov_voter):
    """Emergency shutdown needs no vote; lifting it, or any setter, needs the timelock."""
    grid, market, meter = gov_system.grid_management, gov_system.energy_trading, gov_system.smart_meter
    auction, shares = gov_system.energy_auction, gov_system.energy_asset_shares
    grid.emergencyShutdown(sender=gov_guardian)
    assert [c.paused() for c in (grid, market, meter, auction)] == [True] * 4
    shares.pause(sender=gov_guardian)  # not a shutdown target: the guardian pauses it directly
    assert shares.paused()

    for contract in (grid, market, meter, auction, shares):
        with reverts(contract.AccessControlUnauthorizedAccount, account=gov_guardian.address, neededRole=DEFAULT_ADMIN_ROLE):
            contract.unpause(sender=gov_guardian)
    fee = market.gridFeeBps()
    with reverts(market.AccessControlUnauthorizedAccount, account=gov_guardian.address, neededRole=DEFAULT_ADMIN_ROLE):
        market.setGridFee(0, sender=gov_guardian)
    with reverts(grid.AccessControlUnauthorizedAccount, account=gov_guardian.address, neededRole=DEFAULT_ADMIN_ROLE):
        grid.setBasePrice(1, sender=gov_guardian)
    with reverts(market.AccessControlUnauthorizedAccount, account=gov_guardian.address, neededRole=DEFAULT_ADMIN_ROLE):
        market.grantRole(market.OPERATOR_ROLE(), gov_guardian, sender=gov_guardian)
    assert market.gridFeeBps() == fee
    assert [c.paused() for c in (grid, market, meter, auction, shares)] == [True] * 5

    # The way back: a proposal that unpauses every contract.
    calls = [(c, "unpause") for c in (grid, market, meter, auction, shares)]
    targets, values, calldatas, description_hash, _ = vote_through(
        chain, gov_system.governor, gov_voter, [gov_voter], calls, "Lift the shutdown"
    )
    gov_system.governor.queue(targets, values, calldatas, description_hash, sender=gov_voter)
    chain.pending_timestamp += gov_system.timelock.getMinDelay()
    gov_system.governor.execute(targets, values, calldatas, description_hash, sender=gov_voter)
    assert [c.paused() for c in (grid, market, meter, auction, shares)] == [False] * 5


def test_the_deployer_holds_no_role(gov_system, admin):
    """A public-network deploy: every role the deployer held while wiring is renounced."""
    contracts = {name: c for name, c in gov_system.contracts().items() if name != "PaymentToken"}
    held = [
        (name, role_name)
        for name, contract in contracts.items()
        if any(method.name == "hasRole" for method in contract.contract_type.view_methods)
        for value, role_name in role_names(contract).items()
        if contract.hasRole(value, admin)
    ]
    assert held == []
    market = gov_system.energy_trading
    with reverts(market.AccessControlUnauthorizedAccount, account=admin.address, neededRole=DEFAULT_ADMIN_ROLE):
        market.setGridFee(0, sender=admin)
    token = gov_system.energy_token
    with reverts(token.AccessControlUnauthorizedAccount, account=admin.address, neededRole=DEFAULT_ADMIN_ROLE):
        token.grantRole(token.METER_ROLE(), admin, sender=admin)  # the review's finding: no unbacked minting
    # Fees go to the timelock: a treasury only proposals spend.
    assert market.feeRecipient() == gov_system.timelock.address
    assert gov_system.grid_management.feeRecipient() == gov_system.timelock.address


def test_the_timelock_obeys_only_the_governor(chain, gov_system, admin, stranger):
    governor, timelock = gov_system.governor, gov_system.timelock
    assert timelock.hasRole(timelock.PROPOSER_ROLE(), governor)
    assert timelock.hasRole(timelock.CANCELLER_ROLE(), governor)
    assert timelock.hasRole(timelock.EXECUTOR_ROLE(), ZERO_ADDRESS)  # open execution
    assert timelock.hasRole(DEFAULT_ADMIN_ROLE, timelock)
    assert not any(timelock.hasRole(r, admin) for r in role_names(timelock))
    assert governor.timelock() == timelock.address
    assert governor.token() == gov_system.governance_token.address
    assert timelock.getMinDelay() == LOCAL_GOVERNANCE.timelock_delay_seconds
    market = gov_system.energy_trading
    data = market.setGridFee.encode_input(0)
    with reverts(timelock.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=role("PROPOSER_ROLE")):
        timelock.schedule(market, 0, data, b"\x00" * 32, b"\x00" * 32, timelock.getMinDelay(), sender=stranger)
    with reverts(timelock.TimelockUnauthorizedCaller, caller=admin.address):
        timelock.updateDelay(0, sender=admin)
    # Settings change only by a proposal: the governor's executor is the timelock.
    with reverts(governor.GovernorOnlyExecutor, account=admin.address):
        governor.setVotingPeriod(1, sender=admin)


def test_governance_settings(gov_system):
    governor, token = gov_system.governor, gov_system.governance_token
    assert (governor.votingDelay(), governor.votingPeriod(), governor.proposalThreshold()) == (
        LOCAL_GOVERNANCE.voting_delay_seconds,
        LOCAL_GOVERNANCE.voting_period_seconds,
        LOCAL_GOVERNANCE.proposal_threshold,
    )
    assert governor.quorumNumerator() == LOCAL_GOVERNANCE.quorum_percent
    assert governor.name() == "EnergyGovernor"
    assert (token.name(), token.symbol(), token.decimals(), token.totalSupply()) == ("Grid Governance", "GRID", 18, SUPPLY)
    assert token.CLOCK_MODE() == governor.CLOCK_MODE() == "mode=timestamp"


def test_votes_count_only_once_delegated(chain, gov_system, admin, stranger):
    token = gov_system.governance_token
    token.transfer(stranger, 5 * GRID, sender=admin)
    assert token.getVotes(stranger) == 0
    tx = token.invoke_transaction("delegate", stranger, sender=stranger)
    assert token.getVotes(stranger) == 5 * GRID
    chain.pending_timestamp = tx.timestamp + 1
    chain.mine()
    assert token.getPastVotes(stranger, tx.timestamp) == 5 * GRID
    assert token.clock() == chain.blocks.head.timestamp


def test_token_constructor_rejects_a_zero_recipient_or_supply(project, admin):
    with deploy_reverts(project.GovernanceToken.ZeroAddress):
        project.GovernanceToken.deploy(ZERO_ADDRESS, GRID, sender=admin)
    with deploy_reverts(project.GovernanceToken.ZeroAmount):
        project.GovernanceToken.deploy(admin, 0, sender=admin)


def test_governor_constructor_rejects_zero_addresses_and_quorum(project, admin, gov_system):
    token, timelock = gov_system.governance_token, gov_system.timelock
    settings = (1, 300, 0)
    with deploy_reverts(project.EnergyGovernor.ZeroAddress):
        project.EnergyGovernor.deploy(ZERO_ADDRESS, timelock, *settings, 4, sender=admin)
    with deploy_reverts(project.EnergyGovernor.ZeroAddress):
        project.EnergyGovernor.deploy(token, ZERO_ADDRESS, *settings, 4, sender=admin)
    with deploy_reverts(project.EnergyGovernor.GovernorInvalidQuorumFraction, 0, 100):
        project.EnergyGovernor.deploy(token, timelock, *settings, 0, sender=admin)
    with deploy_reverts(project.EnergyGovernor.GovernorInvalidQuorumFraction, 101, 100):
        project.EnergyGovernor.deploy(token, timelock, *settings, 101, sender=admin)
    assert project.EnergyGovernor.deploy(token, timelock, *settings, 100, sender=admin).quorumNumerator() == 100
