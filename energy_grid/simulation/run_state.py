"""What every step of a simulation run shares: its settings and gas limits, the run file, the
actors, and the run's state (RunState), which the driver builds once and hands to each step object.

The step objects (set_up.py, baseline.py, auction_steps.py, demand_events.py, interval.py, and the
meters' gateway in gateway.py) each keep a reference to the one RunState and add only what their
own phase needs. RunState is frozen, so every attribute a step reads is set either in this file's
dataclass, by the driver that builds it, or in that step's own constructor.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from energy_grid.chain.events import EventDecoder
from energy_grid.community.grid import DEFAULT_HOUSEHOLDS_PER_FEEDER
from energy_grid.community.model import DEFAULT_START_DAY_OF_YEAR
from energy_grid.contracts.client import GridClient, GridError
from energy_grid.contracts.sender import Call, TransactionSender
from energy_grid.deploy.system import LOCAL_OPERATOR_REGION, LOCAL_UTC_OFFSET_MINUTES
from energy_grid.domain.units import INTERVAL_SECONDS, INTERVALS_PER_DAY
from energy_grid.simulation.chain_time import ChainCalendar

# ---- Settings ----

BASELINE_DAYS = 5  # DemandResponse.BASELINE_DAYS: checked against the contract at set-up
SITE_UTC_OFFSET_MINUTES = LOCAL_UTC_OFFSET_MINUTES  # the TMY site (Greensboro, NC) on local standard time
REGION_ID = LOCAL_OPERATOR_REGION
SOLAR = 0  # IGridManagement.EnergyType.SOLAR
WEI_PER_ETH = 10**18
HOUSEHOLD_ETH = 100 * WEI_PER_ETH  # gas money on a local chain
MIN_ETH = 10 * WEI_PER_ETH
READINGS_PER_BATCH = 100  # SmartMeter.MAX_BATCH_SIZE

# Gas limits (no per-transaction estimate; unused gas is not charged). Each is well above what
# the operation measured on anvil; the sender names an out-of-gas failure as such.
# A batch's readings may each be the first standing order of its zone in a market (a fresh market word,
# tick and bitmap): a small zoned community's batch of 4 used 594,448, so the base covers a few of those.
GAS_READINGS_BASE = 600_000
GAS_PER_READING = 100_000
GAS_ORACLE = 300_000
GAS_GRID_STATUS = 150_000
# 143,029 measured for an account's first report, in a new region (the account listed as a reporter,
# fresh count and history words).
GAS_LOAD_REPORT = 200_000
GAS_CLEAR = 15_000_000  # a market coupled across 34 zones walks every zone's occupied ticks
GAS_SETTLE_BATCH = 10_000_000  # settleStandingOrders of READINGS_PER_BATCH meters
GAS_APPROVE = 100_000
GAS_DEPOSIT = 150_000
GAS_STANDING_ORDER = 150_000
GAS_FAUCET = 150_000
GAS_REGISTER = 400_000
GAS_START_EVENT = 500_000
GAS_VERIFY = 1_500_000  # a consumer's verification
GAS_DISTRIBUTE = 6_000_000
GAS_ISSUE_CREDITS = 150_000  # a meter's share of issueCarbonCreditsBatch, its owner's first credits a fresh slot
GAS_ROLE = 200_000

ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate and how the agents behave."""

    households: int = 30
    days: int = 1
    seed: int = 0
    start_day_of_year: int = DEFAULT_START_DAY_OF_YEAR
    intervals: int | None = None  # simulate only the first N intervals (None: every interval of `days`)
    dr_trigger_per_mille: int | None = None  # transformer loading that starts an event; None: GridOperations' HIGH threshold
    dr_share: float = 0.5  # of households registered for demand response
    dr_consumption_factor: float = 0.6  # what a registered household consumes during an event
    dr_duration_seconds: int = 7_200
    dr_reward_per_kw: int = 500_000  # PaymentToken base units per kW of verified reduction
    dr_target_kw_per_member: int = 1  # the event's target (and so its budget) per registered household
    price_spread_bps: int = 500  # standing limits lie up to 5 % around the base price
    funding_whole_units: int = 10_000  # MockStablecoin each household (and the operator) gets once; households deposit it in the vault
    households_per_feeder: int = DEFAULT_HOUSEHOLDS_PER_FEEDER  # one transformer each
    # Each feeder its own grid region and market zone, its link to the others limited by its
    # transformer's forecast headroom (feeders.py). False: one region and one zone for the whole
    # community, a market blind to the feeders. One feeder is one zone either way.
    zonal_limits: bool = True
    # Batteries and car chargers answer their zone's price forecast (flex.py): cars charge in the
    # cheapest intervals before they leave, batteries also from the zone when it sells surplus cheap.
    flexible_load: bool = True
    # An address (a person's browser wallet) that owns one household from the start: its meter, its
    # vault balances, and stablecoin in its wallet (it gets twice the funding and deposits half).
    household_owner: str | None = None

    @property
    def interval_count(self) -> int:
        every = self.days * INTERVALS_PER_DAY
        return every if self.intervals is None else min(self.intervals, every)

    @property
    def dr_intervals(self) -> int:
        return -(-self.dr_duration_seconds // INTERVAL_SECONDS)

    def run_key(self) -> dict[str, Any]:
        """What must match for a run to be resumed rather than started afresh."""
        return asdict(self)


# ---- The run file and the actors ----


@dataclass(frozen=True)
class RunRecord:
    """The run file: the run's parameters and where it sits on the chain."""

    config: dict[str, Any]
    day_start_s: int
    anchor_block: int  # the latest block when the run started: its audit reads from here
    anchor_hash: str  # that block's hash: another chain (a fresh anvil) does not have it
    smart_meter: str
    auction_fees_at_start: int  # the auction's accrued fees then: the run's own are what it adds
    # What `config.household_owner` held then (EnergyToken, PaymentToken, vault energy, vault payment):
    # the audit counts what the run added.
    owner_balances_at_start: tuple[int, int, int, int] = (0, 0, 0, 0)
    # The auction's PaymentToken in the vault then: beside its fees, the escrow of orders others left
    # unclaimed (an example's). None in a run file written before it was recorded: taken as the fees.
    auction_cash_at_start: int | None = None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> RunRecord | None:
        try:
            fields = json.loads(path.read_text())
            fields["owner_balances_at_start"] = tuple(fields.get("owner_balances_at_start", (0, 0, 0, 0)))
            return cls(**fields)
        except (FileNotFoundError, json.JSONDecodeError, TypeError, AttributeError):
            return None


@dataclass(frozen=True)
class OutsideOwner:
    """A household's owner whose key the simulation does not hold (`SimulationConfig.household_owner`):
    its few transactions of its own (the deposit, the market approval, the standing order) are sent
    as that address through anvil's impersonation; everything else a household does is the
    operator's, the gateway's and the keeper's anyway."""

    address: str


@dataclass
class Actors:
    """The accounts that sign a run's transactions, and the meters the gateway reports for."""

    operator: LocalAccount
    gateway: LocalAccount
    oracle: LocalAccount
    keeper: LocalAccount
    households: list[LocalAccount | OutsideOwner]
    meters: list[str]  # meter device addresses, one per household (the gateway reports for them)
    owned: int | None = None  # the household of `SimulationConfig.household_owner`, if one is given
    # The operators of the second and later feeders' regions when the market is zoned (the first
    # feeder's region is the operator's own).
    feeder_operators: list[LocalAccount] = field(default_factory=list)


# ---- The state every step reads ----


@dataclass(frozen=True)
class RunState:
    """One run's settings, accounts and contracts, as the driver sets them up before the first step.

    Frozen: a step that needs state of its own (the planned events, the auction's price grid) keeps
    it in its own object, so a reader finds where each attribute is set in one place.
    """

    client: GridClient
    config: SimulationConfig
    sender: TransactionSender
    record: RunRecord
    calendar: ChainCalendar
    actors: Actors
    members: tuple[int, ...]  # the households registered for demand response
    pv_households: list[int]  # the households with PV, whose meters are clean producers
    feeder_of: tuple[int, ...] = ()  # each household's feeder (0-based; the model's grid)
    zoned: bool = False  # each feeder a region and market zone of its own (SimulationConfig.zonal_limits)

    @property
    def feeders(self) -> int:
        return max(self.feeder_of, default=0) + 1

    def feeder_region(self, feeder: int) -> int:
        """The grid region of `feeder`: its own when the market is zoned (the first feeder's is
        REGION_ID), REGION_ID for every feeder otherwise."""
        return REGION_ID + feeder if self.zoned else REGION_ID

    def region_of(self, household: int) -> int:
        return self.feeder_region(self.feeder_of[household]) if self.feeder_of else REGION_ID

    def feeder_operator(self, feeder: int) -> LocalAccount:
        """Who operates `feeder`'s region: the run's operator for the first feeder (or every feeder
        of an unzoned market), a feeder operator of its own otherwise."""
        return self.actors.feeder_operators[feeder - 1] if self.zoned and feeder > 0 else self.actors.operator

    @property
    def w3(self) -> Web3:
        return self.client.w3

    @property
    def auction(self) -> Contract:
        return self.client["EnergyAuction"]

    @property
    def vault(self) -> Contract:
        return self.client["EnergyVault"]

    @property
    def meter_registry(self) -> Contract:
        return self.client["SmartMeter"]

    @property
    def dr(self) -> Contract:
        return self.client["DemandResponse"]

    @property
    def market_zones(self) -> Contract:
        return self.client["MarketZones"]

    def send_as_household(self, household: LocalAccount | OutsideOwner, call: Call, *, gas: int) -> None:
        """Queues `call` signed by `household`; for an outside owner, sends it as that address at
        once (anvil_impersonateAccount) and mines it at the chain's latest time, before the steps
        that depend on it."""
        if not isinstance(household, OutsideOwner):
            self.sender.send(household, call, gas=gas, actor="households")
            return
        rpc = self.sender.rpc
        rpc("anvil_impersonateAccount", [household.address])
        try:
            tx_hash = rpc("eth_sendTransaction", [{"from": household.address, "to": call.address, "data": call.data, "gas": hex(gas)}])
        finally:
            rpc("anvil_stopImpersonatingAccount", [household.address])
        self.sender.mine_until_empty(int(self.w3.eth.get_block("latest")["timestamp"]))
        receipt = rpc("eth_getTransactionReceipt", [tx_hash])
        if receipt is None or int(receipt["status"], 16) != 1:
            raise GridError(f"{call.fn_name} as the household's owner {household.address} reverted (transaction {tx_hash})")

    def flush_at(self, at_s: int) -> None:
        """Mines what the sender holds in blocks at `at_s`, or at the latest block's time when the
        chain stands later already (a resumed run repeats steps the chain has passed)."""
        now_s = int(self.w3.eth.get_block("latest")["timestamp"])
        self.sender.flush(max(at_s, now_s))

    def logs(self, decoder: EventDecoder, topics: list[Any], from_block: int | None = None) -> list[dict[str, Any]]:
        """The event's logs since the run began (after its anchor block, the latest before the run's
        first transaction: what it holds is not the run's), or since `from_block`, matching `topics`."""
        anchor = self.record.anchor_block
        first = anchor if from_block is None else from_block
        query = {"address": decoder.address, "topics": topics, "fromBlock": hex(first), "toBlock": "latest"}
        logs: list[dict[str, Any]] = self.sender.rpc("eth_getLogs", [query])
        # From the anchor itself (asking from the block after it fails while the chain stands there).
        return logs if from_block is not None else [log for log in logs if int(log["blockNumber"], 16) != anchor]
