"""The live community's set-up: the simulation's households, meters and baseline days on a freshly
deployed local chain, which then mines on its own.

    result = set_up_community(client, households=30, seed=0, run_file=Path("deployments/31337.live.json"))

It runs the simulation's set-up phase, the same step objects the simulation calls before its first
interval (energy_grid.simulation.driver, `SimulationRun.set_up_phase`): roles for the gateway and
the oracle reporter, gas money and stablecoin deposited in the vault, one meter per household
registered with the device address derived from the seed (`derived_account(seed, D, "meter", i)`),
the demand-response members, the BASELINE_DAYS before the day D uploaded as backdated readings with
the gateway role's unsigned `submitReadings` (so the meters' signed nonces still start at 0), the
clean producers and each household's standing order. The chain then stands at D, and the node mines
by itself again (`TransactionSender.release`), ready to be paced.

When the community is larger than one transformer serves, each feeder is a grid region and market
zone of its own, run by its own operator (energy_grid.simulation.feeders): the set-up declares each
feeder's transformer rating in a first load report by that operator, and the live load reporter
reports each feeder's load signed by the same keys (`feeder_operators`).

The run file is the simulation's RunRecord (its parameters, households, seed and days among them,
the day D, the block the run began at): what the virtual meters (energy_grid.live.virtual_meters)
read to build the same households, and what the live audit reads the chain from.

Idempotent: called again with the same parameters on the same chain, it finds the set-up complete
(every meter's baseline and standing order on chain) and sends nothing, touching neither the
node's mining nor its pool. Local chains only: it signs as anvil's dev accounts and mines blocks at
chosen times with anvil's RPCs. A chain already paced (mining by interval) is refused unless its
set-up is complete, since the set-up would move its clock days ahead under the running services.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from eth_account.signers.local import LocalAccount

from energy_grid.chain.accounts import DEV_CHAIN_ID
from energy_grid.community.grid import DEFAULT_HOUSEHOLDS_PER_FEEDER
from energy_grid.community.model import CommunityModel
from energy_grid.contracts.client import GridClient, GridError
from energy_grid.contracts.sender import TransactionSender, prepare
from energy_grid.live.stack import energy_grid_shell
from energy_grid.simulation.agents import demand_response_members, derived_account
from energy_grid.simulation.driver import SimulationRun, community_config, recorded_run, run_state
from energy_grid.simulation.run_state import GAS_LOAD_REPORT, RunRecord, RunState, SimulationConfig

ProgressCallback = Callable[[int, int, str], None]
LIVE_RUN_SUFFIX = "live"
SERIES_SUFFIX = "series.jsonl"


class LiveSetUpError(GridError):
    """The live community cannot be set up or found on this chain; the message says why."""


@dataclass(frozen=True)
class LiveCommunity:
    """A community set up on this chain: its parameters and the run file's record."""

    config: SimulationConfig
    record: RunRecord
    run_file: Path

    @property
    def day_start_s(self) -> int:
        """D: the chain time of the first simulated interval's start."""
        return self.record.day_start_s

    @property
    def series_file(self) -> Path:
        return series_file_for(self.run_file)

    def meter_keys(self) -> list[LocalAccount]:
        """The meters' device keys, derived from the seed and D: local test keys only."""
        return [derived_account(self.config.seed, self.day_start_s, "meter", i) for i in range(self.config.households)]

    def members(self) -> tuple[int, ...]:
        """The households registered for demand response (ids, ascending)."""
        return demand_response_members(self.config.seed, self.config.households, self.config.dr_share)

    def run_state(self, client: GridClient) -> RunState:
        """The simulation's view of the community on `client`'s chain: its feeders, regions and the
        accounts that sign for them (the model is built to place the households on the feeders)."""
        model = CommunityModel(community_config(self.config))
        return run_state(client, self.config, self.record, TransactionSender(client, manual_mining=False), model)

    def with_days(self, days: int) -> LiveCommunity:
        """The same community simulated for `days` days (the model's figures of a day do not depend
        on how many follow it)."""
        return replace(self, config=replace(self.config, days=days))


@dataclass(frozen=True)
class SetUpResult:
    community: LiveCommunity
    transactions: int  # sent by this call: 0 when the chain had the set-up already
    blocks_mined: int


def live_run_file_for(manifest: Path) -> Path:
    """The live run file next to a manifest: deployments/31337.json → deployments/31337.live.json."""
    return manifest.with_name(f"{manifest.stem}.{LIVE_RUN_SUFFIX}.json")


def series_file_for(run_file: Path) -> Path:
    """The virtual meters' series next to the run file: 31337.live.json → 31337.live.series.jsonl."""
    return run_file.with_name(f"{run_file.stem}.{SERIES_SUFFIX}")


def live_config(
    households: int, seed: int, days: int = 1, households_per_feeder: int = DEFAULT_HOUSEHOLDS_PER_FEEDER
) -> SimulationConfig:
    """The simulation's configuration of a live community: its defaults but for these four, and
    without flexible load: the virtual meters step the model without market prices."""
    if households < 1:
        raise LiveSetUpError(f"a community needs at least one household, not {households}")
    if days < 1:
        raise LiveSetUpError(f"a community lives at least one day, not {days}")
    if households_per_feeder < 1:
        raise LiveSetUpError(f"a feeder serves at least one household, not {households_per_feeder}")
    return SimulationConfig(
        households=households, seed=seed, days=days, households_per_feeder=households_per_feeder, flexible_load=False
    )


def set_up_community(
    client: GridClient,
    households: int,
    seed: int,
    run_file: Path,
    *,
    days: int = 1,
    households_per_feeder: int = DEFAULT_HOUSEHOLDS_PER_FEEDER,
    progress: ProgressCallback | None = None,
) -> SetUpResult:
    """Sets up the community on this chain (module docstring) or finds it set up; raises
    LiveSetUpError on a chain it cannot set up."""
    config = live_config(households, seed, days, households_per_feeder)
    check_local_chain(client)
    known = recorded_run(client, run_file, config)
    if known is not None and set_up_complete(client, LiveCommunity(config, known, run_file)):
        return SetUpResult(LiveCommunity(config, known, run_file), transactions=0, blocks_mined=0)
    interval_s = TransactionSender(client, manual_mining=False).rpc("anvil_getIntervalMining")
    if interval_s:
        raise LiveSetUpError(
            f"the chain already mines a block every {interval_s} s: the community's set-up moves its clock days ahead, "
            "so it runs on a freshly deployed chain before the chain is paced"
        )
    run = SimulationRun(client, config, run_file, progress)
    try:
        run.set_up_phase()
        _report_transformer_rating(run)
    finally:
        run.state.sender.release()
    sender = run.state.sender
    return SetUpResult(
        LiveCommunity(config, run.state.record, run_file), sum(sender.transactions_by_actor.values()), sender.blocks_mined
    )


def _report_transformer_rating(run: SimulationRun) -> None:
    """Each region's transformers' rating on chain, as its operator's first load report (no demand
    yet): the load reporter and the demand-response planner read the rating from there. Each
    feeder's own when the market is zoned, the feeders' summed rating for the one region otherwise."""
    state, grid = run.state, run.model.grid
    rating_kva = grid.feeder_rating_kva if state.zoned else grid.transformer_rating_kva
    operators = feeder_operators(state)
    unreported = [region for region, reported in zip(operators, _loads_reported(state), strict=True) if not reported]
    if not unreported:
        return
    operations = state.client["GridOperations"]
    for region in unreported:
        call = prepare(operations, "reportLoad", region, rating_kva, 0)
        state.sender.send(operators[region], call, gas=GAS_LOAD_REPORT, actor="operator")
    state.flush_at(state.calendar.day_start_s)


def _loads_reported(state: RunState) -> list[bool]:
    """Whether each region of `feeder_operators` has a load report, in its order."""
    operations = state.client["GridOperations"]
    counts = state.sender.read([prepare(operations, "loadReportCount", region) for region in feeder_operators(state)])
    return [int(count) != 0 for count in counts]


def feeder_operators(state: RunState) -> dict[int, LocalAccount]:
    """Region → the account that reports its load: each feeder's operator when the market is zoned,
    the community's operator for its one region otherwise."""
    feeders = range(state.feeders) if state.zoned else range(1)
    return {state.feeder_region(feeder): state.feeder_operator(feeder) for feeder in feeders}


def load_community(client: GridClient, run_file: Path) -> LiveCommunity:
    """The community the run file records, when it was set up on this chain; LiveSetUpError if not."""
    record = RunRecord.load(run_file)
    if record is None:
        raise LiveSetUpError(f"no live community is recorded in {run_file}: run `{energy_grid_shell('live setup')}` first")
    if recorded_run(client, run_file) is None:
        raise LiveSetUpError(f"the community recorded in {run_file} was set up on another chain or deployment: run the set-up again")
    return LiveCommunity(SimulationConfig(**record.config), record, run_file)


def check_local_chain(client: GridClient) -> None:
    """LiveSetUpError unless the node is a local anvil (chain DEV_CHAIN_ID)."""
    if client.chain_id != DEV_CHAIN_ID:
        raise LiveSetUpError(
            f"the live community is set up on a local anvil (chain {DEV_CHAIN_ID}) only; this node is chain {client.chain_id}"
        )


def set_up_complete(client: GridClient, community: LiveCommunity) -> bool:
    """Whether the chain has the set-up's last effects for every meter: the chain stands at D or
    later, each meter's latest reading is the baseline's last or later, and each has its standing
    order. The set-up's flushes follow each other, so everything before them is on chain too."""
    latest_s = int(client.w3.eth.get_block("latest")["timestamp"])
    if latest_s < community.day_start_s:
        return False
    meter_registry = client["SmartMeter"]
    meters = [account.address for account in community.meter_keys()]
    reader = TransactionSender(client, manual_mining=False)
    signature = "getLatestReading(address)"
    latest = reader.read([prepare(meter_registry, "getLatestReading", m, signature=signature) for m in meters])
    standing = reader.read([prepare(meter_registry, "getStandingOrder", m) for m in meters])
    baseline_end_s = community.day_start_s - 1
    state = community.run_state(client)
    return (
        all(_loads_reported(state))
        and all(int(reading[0]) >= baseline_end_s for reading in latest)
        and all(int(order[0]) != 0 or int(order[2]) != 0 for order in standing)
    )


__all__ = [
    "LiveCommunity",
    "LiveSetUpError",
    "SetUpResult",
    "check_local_chain",
    "feeder_operators",
    "live_config",
    "live_run_file_for",
    "load_community",
    "series_file_for",
    "set_up_community",
    "set_up_complete",
]
