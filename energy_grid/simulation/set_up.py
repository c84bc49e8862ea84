"""Set-up: roles, gas money, stablecoin deposited in the vault, meters, the auction approved in the
vault, and demand-response members. (The households' standing orders follow the baseline upload.)

Each step checks the chain first, so a resumed run sends only what is missing.
"""

from __future__ import annotations

from web3.exceptions import ContractCustomError

from energy_grid.client import GridError
from energy_grid.events import EventDecoder, address_topic
from energy_grid.sender import prepare
from energy_grid.simulation.run_state import (
    BASELINE_DAYS,
    GAS_APPROVE,
    GAS_DEPOSIT,
    GAS_FAUCET,
    GAS_REGISTER,
    GAS_ROLE,
    HOUSEHOLD_ETH,
    MIN_ETH,
    REGION_ID,
    RunState,
)
from energy_grid.units import ZERO_ADDRESS


class SetUpSteps(RunState):
    """Set-up: roles, gas money, deposits, meters, approvals and demand-response members."""

    def _set_up(self) -> None:
        """Roles, gas money, stablecoin, meters, approvals and DR members: each step checks the
        chain first, so a resumed run sends only what is missing."""
        dr_baseline_days = int(self.dr.functions.BASELINE_DAYS().call())
        if dr_baseline_days != BASELINE_DAYS:
            raise GridError(f"DemandResponse measures against {dr_baseline_days} days; the driver uploads {BASELINE_DAYS}")
        self._grant_roles()
        self._fund_accounts()
        self._register_meters()
        self.sender.flush()  # set-up: any time will do
        self._deposit_and_approve()  # needs the faucet's money
        self._register_dr_members()  # needs the meters registered
        self.sender.flush()

    def _grant_roles(self) -> None:
        c, a, sender = self.client.contracts, self.actors, self.sender
        meter_c = c["SmartMeter"]
        gateway_role = meter_c.functions.GATEWAY_ROLE().call()
        if not meter_c.functions.hasRole(gateway_role, a.gateway.address).call():
            sender.send(a.operator, prepare(meter_c, "grantRole", gateway_role, a.gateway.address), gas=GAS_ROLE, actor="operator")
        # The reporter is these oracles' only one: a value needs more than half of the reporters, so
        # with the deployer reporting too, nothing the reporter sends alone would be written.
        for oracle in ("GridOracle", "WeatherOracle"):
            if not c[oracle].functions.isReporter(a.oracle.address).call():
                sender.send(a.operator, prepare(c[oracle], "addReporter", a.oracle.address), gas=GAS_ROLE, actor="operator")
            for reporter in c[oracle].functions.getReporters().call():
                if reporter != a.oracle.address:
                    sender.send(a.operator, prepare(c[oracle], "removeReporter", reporter), gas=GAS_ROLE, actor="operator")

    def _fund_accounts(self) -> None:
        c, a, sender = self.client.contracts, self.actors, self.sender
        for account in [a.operator, a.gateway, a.oracle, a.keeper, *a.households]:
            if self.w3.eth.get_balance(account.address) < MIN_ETH:
                sender.rpc("anvil_setBalance", [account.address, hex(HOUSEHOLD_ETH)])
        funded = self._faucet_recipients()
        for account in [a.operator, *a.households]:
            if account.address not in funded:
                call = prepare(c["PaymentToken"], "addConsumerBalance", account.address, self.config.funding_whole_units)
                sender.send(a.operator, call, gas=GAS_FAUCET, actor="operator")

    def _register_meters(self) -> None:
        meter_c, a = self.client.contracts["SmartMeter"], self.actors
        signature = "registerMeter(address,address,uint32,uint256,uint256)"
        for household, meter in zip(a.households, a.meters, strict=True):
            if not self._meter_registered(meter):
                call = prepare(meter_c, "registerMeter", meter, household.address, REGION_ID, 0, 0, signature=signature)
                self.sender.send(a.operator, call, gas=GAS_REGISTER, actor="operator")

    def _deposit_and_approve(self) -> None:
        """Each household deposits its faucet money in the vault (its standing bids lock from there)
        and approves the auction as a market of the vault."""
        c, households, sender, vault = self.client.contracts, self.actors.households, self.sender, self.vault
        payment = c["PaymentToken"]
        funding = self.config.funding_whole_units * 10 ** int(payment.functions.decimals().call())
        balances = sender.read([prepare(vault, "balancesOf", h.address) for h in households])
        approved = sender.read([prepare(vault, "isMarketApproved", h.address, self.auction.address) for h in households])
        for household, (_energy_wh, deposited), market_approved in zip(households, balances, approved, strict=True):
            if deposited == 0:
                sender.send(household, prepare(payment, "approve", vault.address, funding), gas=GAS_APPROVE, actor="households")
                call = prepare(vault, "deposit", payment.address, funding)
                sender.send(household, call, gas=GAS_DEPOSIT, actor="households")
            if not market_approved:
                call = prepare(vault, "setMarketApproval", self.auction.address, True)
                sender.send(household, call, gas=GAS_APPROVE, actor="households")

    def _register_dr_members(self) -> None:
        a = self.actors
        for i in self.members:
            consumer = a.households[i].address
            if self.dr.functions.getConsumerMeter(consumer).call() == ZERO_ADDRESS:
                call = prepare(self.dr, "registerConsumer", consumer, a.meters[i])
                self.sender.send(a.operator, call, gas=GAS_REGISTER, actor="operator")

    def _meter_registered(self, meter: str) -> bool:
        try:
            self.meter_registry.functions.getMeter(meter).call()
        except ContractCustomError:  # MeterUnknown
            return False
        return True

    def _faucet_recipients(self) -> set[str]:
        """Who got MockStablecoin minted since the run began (the faucet mints)."""
        transfer = EventDecoder(self.client["PaymentToken"], "Transfer")
        logs = self._logs(transfer, [transfer.topic, address_topic(ZERO_ADDRESS)])
        return {transfer.decode(log)["to"] for log in logs}
