"""The set-up step: roles, gas money, stablecoin deposited in the vault, meters (each in its feeder's
region and zone when the run is zoned: feeders.py), the auction approved in the vault, and the
demand-response members. The households' standing orders come later, after
the baseline upload (auction_steps.py), because a standing order places each reading in the
auction and the baseline days' readings must not trade.

Each action checks the chain first, so a resumed run sends only what is missing.
"""

from __future__ import annotations

from eth_utils import function_signature_to_4byte_selector
from web3 import Web3

from energy_grid.chain.events import EventDecoder, address_topic
from energy_grid.chain.jsonrpc import RequestFailed
from energy_grid.contracts.client import GridError
from energy_grid.contracts.sender import prepare
from energy_grid.domain.units import ZERO_ADDRESS
from energy_grid.simulation.feeders import Feeders
from energy_grid.simulation.run_state import (
    BASELINE_DAYS,
    GAS_APPROVE,
    GAS_DEPOSIT,
    GAS_FAUCET,
    GAS_REGISTER,
    GAS_ROLE,
    HOUSEHOLD_ETH,
    MIN_ETH,
    OutsideOwner,
    RunState,
)

METER_UNKNOWN_SELECTOR = "0x" + function_signature_to_4byte_selector("MeterUnknown(address)").hex()


class SetUp:
    """Prepares the chain for a run: every account, meter and registration the later steps use."""

    def __init__(self, state: RunState, feeders: Feeders) -> None:
        self.state = state
        self.feeders = feeders

    def run(self) -> None:
        """Roles, gas money, stablecoin, meters, approvals, DR members and, in a zoned run, the
        feeders' operators and zones, in three flushes: deposits need the faucet's money, DR
        registrations the meters, and a meter's zone its region's zone."""
        state = self.state
        dr_baseline_days = int(state.dr.functions.BASELINE_DAYS().call())
        if dr_baseline_days != BASELINE_DAYS:
            raise GridError(f"DemandResponse measures against {dr_baseline_days} days; the driver uploads {BASELINE_DAYS}")
        self._grant_roles()
        self._fund_accounts()
        self.feeders.register_operators()
        self._register_meters()
        state.sender.flush()  # set-up: any time will do
        self._deposit_and_approve()
        self.feeders.verify_operators_and_add_zones()
        self._register_dr_members()
        state.sender.flush()
        self.feeders.sync_meter_zones()
        state.sender.flush()

    # ---- Roles and money ----

    def _grant_roles(self) -> None:
        state = self.state
        c, a, sender = state.client.contracts, state.actors, state.sender
        meter_c = c["SmartMeter"]
        gateway_role = meter_c.functions.GATEWAY_ROLE().call()
        if not meter_c.functions.hasRole(gateway_role, a.gateway.address).call():
            sender.send(a.operator, prepare(meter_c, "grantRole", gateway_role, a.gateway.address), gas=GAS_ROLE, actor="operator")
        # The operator reports every feeder's load in one transaction, as a grid's head-end system does.
        operations = c["GridOperations"]
        load_reporter_role = operations.functions.LOAD_REPORTER_ROLE().call()
        if not operations.functions.hasRole(load_reporter_role, a.operator.address).call():
            call = prepare(operations, "grantRole", load_reporter_role, a.operator.address)
            sender.send(a.operator, call, gas=GAS_ROLE, actor="operator")
        # The reporter is these oracles' only one: a value needs more than half of the reporters, so
        # with the deployer reporting too, nothing the reporter sends alone would be written.
        for oracle in ("GridOracle", "WeatherOracle"):
            if not c[oracle].functions.isReporter(a.oracle.address).call():
                sender.send(a.operator, prepare(c[oracle], "addReporter", a.oracle.address), gas=GAS_ROLE, actor="operator")
            for reporter in c[oracle].functions.getReporters().call():
                if reporter != a.oracle.address:
                    sender.send(a.operator, prepare(c[oracle], "removeReporter", reporter), gas=GAS_ROLE, actor="operator")

    def _fund_accounts(self) -> None:
        state = self.state
        c, a, sender = state.client.contracts, state.actors, state.sender
        accounts = [a.operator, a.gateway, a.oracle, a.keeper, *a.households]
        addresses = [Web3.to_checksum_address(account.address) for account in accounts]
        sender.read_nonces(addresses)  # each one sends, the households from the next flush on
        for address, balance in zip(addresses, sender.balances(addresses), strict=True):
            if balance < MIN_ETH:
                sender.rpc("anvil_setBalance", [address, hex(HOUSEHOLD_ETH)])
        funded = self._faucet_recipients()
        # The feeders' operators too: each pays its own demand-response events' rewards.
        for account in [a.operator, *a.feeder_operators, *a.households]:
            if account.address not in funded:
                # An outside owner keeps half of its money in its wallet: it deposits the other half.
                whole_units = state.config.funding_whole_units * (2 if isinstance(account, OutsideOwner) else 1)
                call = prepare(c["PaymentToken"], "addConsumerBalance", account.address, whole_units)
                sender.send(a.operator, call, gas=GAS_FAUCET, actor="operator")

    def _faucet_recipients(self) -> set[str]:
        """Who got MockStablecoin minted since the run began (the faucet mints)."""
        transfer = EventDecoder(self.state.client["PaymentToken"], "Transfer")
        logs = self.state.logs(transfer, [transfer.topic, address_topic(ZERO_ADDRESS)])
        return {transfer.decode(log)["to"] for log in logs}

    def _deposit_and_approve(self) -> None:
        """Each household deposits its faucet money in the vault (its standing bids lock from there)
        and approves the auction as a market of the vault."""
        state = self.state
        households, sender, vault, auction = state.actors.households, state.sender, state.vault, state.auction
        payment = state.client["PaymentToken"]
        funding = state.config.funding_whole_units * 10 ** int(payment.functions.decimals().call())
        balances = sender.read([prepare(vault, "balancesOf", h.address) for h in households])
        approved = sender.read([prepare(vault, "isMarketApproved", h.address, auction.address) for h in households])
        for household, (_energy_wh, deposited), market_approved in zip(households, balances, approved, strict=True):
            if deposited == 0:
                state.send_as_household(household, prepare(payment, "approve", vault.address, funding), gas=GAS_APPROVE)
                state.send_as_household(household, prepare(vault, "deposit", payment.address, funding), gas=GAS_DEPOSIT)
            if not market_approved:
                state.send_as_household(household, prepare(vault, "setMarketApproval", auction.address, True), gas=GAS_APPROVE)

    # ---- Meters and demand-response members ----

    def _register_meters(self) -> None:
        state = self.state
        meter_c, a = state.meter_registry, state.actors
        signature = "registerMeter(address,address,uint32,uint256,uint256)"
        registered = self._meters_registered()
        for i, (household, meter) in enumerate(zip(a.households, a.meters, strict=True)):
            if not registered[i]:
                call = prepare(meter_c, "registerMeter", meter, household.address, state.region_of(i), 0, 0, signature=signature)
                state.sender.send(a.operator, call, gas=GAS_REGISTER, actor="operator")

    def _meters_registered(self) -> list[bool]:
        """Whether the registry knows each meter: getMeter of every meter in one JSON-RPC batch (a
        call each would cost a round trip each, minutes over 1,000 meters); it reverts with
        MeterUnknown for a meter never registered, and any other error raises."""
        state = self.state
        outcomes = state.sender.read_outcomes([prepare(state.meter_registry, "getMeter", meter) for meter in state.actors.meters])
        registered = []
        for meter, outcome in zip(state.actors.meters, outcomes, strict=True):
            refused = isinstance(outcome, RequestFailed)
            if refused and not outcome.data.startswith(METER_UNKNOWN_SELECTOR):
                raise GridError(f"getMeter({meter}): {outcome.message}")
            registered.append(not refused)
        return registered

    def _register_dr_members(self) -> None:
        state = self.state
        a, dr = state.actors, state.dr
        members = list(state.members)
        consumers = [a.households[i].address for i in members]
        meters = state.sender.read([prepare(dr, "getConsumerMeter", consumer) for consumer in consumers])
        for i, consumer, meter in zip(members, consumers, meters, strict=True):
            if meter == ZERO_ADDRESS:
                call = prepare(dr, "registerConsumer", consumer, a.meters[i])
                state.sender.send(a.operator, call, gas=GAS_REGISTER, actor="operator")
