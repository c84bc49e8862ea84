"""The community simulation on the chain: the model's meters, grid and agents, one interval at a time.

    client = GridClient.from_manifest("deployments/31337.json", "http://127.0.0.1:8545")
    result = run_simulation(client, SimulationConfig(households=30, days=1, seed=0),
                            run_file=Path("deployments/31337.simulation.json"))

Local chains only (anvil): the driver sets every block's time (`evm_mine` at the step's time),
funds accounts with `anvil_setBalance` and the MockStablecoin faucet, and signs as anvil's dev
accounts (operator = dev 0, the local deployer with every role; gateway = dev 1, oracle reporter =
dev 2, keeper = dev 3) and as households whose keys it derives from the seed.

One run:
1. Set-up (each action skipped when the chain shows it done): roles for the gateway and the
   oracle reporter (GridOracle's and WeatherOracle's only reporter, so its reports make the
   quorum), households funded, their money deposited in the vault and the auction approved there,
   one meter each (registered with zero registers), PV meters registered as clean (SOLAR)
   producers, a seeded share of households registered for demand response.
2. The chain's day D (chain_time.py) and BASELINE_DAYS days of the model before it, uploaded as
   backdated gateway batches once the chain stands at D; they do not trade (their export is minted
   to the households' wallets). They are meter history (demand response's baselines): the model
   steps them on a copper plate, without a power flow, so their readings carry nominal voltage.
   Then each household sets its standing order once (agents.py: a sell and a buy limit around the
   base price), which also delivers its meter's energy into the vault from then on.
3. Each simulated interval i, all blocks at its end T = D + 900 (i + 1) (anvil allows blocks of equal
   time; each flush is one or more blocks, so a transaction that needs another's effect comes in a
   later flush). The model steps the interval first; with flexible load (flex.py) its batteries and
   car chargers see each zone's price of the latest cleared market, interval i - 2's, read from
   the chain:
   A. meters report (gateway batches): SmartMeter credits each export to its owner's vault balance
      and places the interval's export as an ask and its import as a bid, at the household's
      standing limits, in the market of interval i; each meter's reading also settles its orders
      of interval i - 2 into the vault (the energy a bid bought is retired against the import it
      was bid for). The operator reports the power flow (GridManagement.updateGridStatus) and its
      transformers' load (GridOperations.reportLoads, one transaction for every feeder: each
      transformer's rating and apparent power, kVA taken as kW, or their sum when the market is not
      zoned; the baseline days report none, a report being stamped with its block's time),
      and the reporter the grid state and weather (GridOracle, WeatherOracle); the keeper clears
      the market of interval i - 1, whose readings are in (its clearing time is T); when an event planned
      before the day (demand_events.py: centred on the peak of a forecast from the baseline days,
      where that reaches the trigger) opens at interval i + 1, the operator starts it: its window
      opens at T (a block on an interval boundary) and covers intervals i + 1 .. i + 8, where the
      model steps the registered households with `dr_consumption_factor`;
   B. the households send nothing; the keeper verifies the participants of an event whose window
      ended at T with their meters' own figures (previewReduction → verifyReduction; below the
      minimum reduction: skipped and counted), and, at the end of each day, issues carbon credits
      for every clean meter with counted production (a day's clean export in one issue per meter:
      a credit's worth does not depend on how often it is issued, and an hour's clean export
      stays on chain in its meter's readings for hourly matching);
   C. the keeper pays the verified rewards (distributeRewards, bounded batches).
4. After the last interval: its market clears once its reading deadline has passed, and the keeper
   settles the orders of the last two intervals (settleStandingOrders, bounded batches).
5. The audit (ledger.py) reads every figure from the chain and checks that energy and money
   balance to the unit; `SimulationImbalance` if not.

The steps are objects, one per phase, each built here with what it needs: the run's state
(run_state.py: settings, accounts, contracts, the run file's record, fixed once built), and for
some the other steps they call. SetUp (set_up.py) is step 1; Baseline (baseline.py) step 2, with
the auction's standing orders (Auction, auction_steps.py) and demand response's plan
(DemandResponse, demand_events.py); Interval (interval.py) steps 3 and 4, calling the auction and
demand response at their place; the meters' gateway (gateway.py) reads and submits the readings of
steps 2 and 3. SimulationRun owns them all and calls them in order (steps 1 and 2 are its
`set_up_phase`, which the live community, energy_grid.live, calls alone); the audit (ledger.py)
gets the state and the series the run collected.

Restart: every step above is idempotent against the chain. The run file (next to the manifest)
records the run's parameters and D; a run started again with the same parameters on the same
chain steps the model from the start without sending (cheap), finds where the chain stands
(meters' latest readings, deposits, approvals and standing orders, the latest grid and load
reports, cleared markets, events and verifications) and sends only what is missing, so a run
killed at any point, node or process, ends with the same totals as an uninterrupted one.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.manifest import hash_hex
from energy_grid.community.flex import ClearedPrice, FlexSettings
from energy_grid.community.grid import FEEDER_BUS_STRIDE
from energy_grid.community.model import CommunityConfig, CommunityModel, IntervalResult
from energy_grid.contracts.client import GridClient, GridError
from energy_grid.contracts.sender import TransactionSender
from energy_grid.domain.pricing import dynamic_price
from energy_grid.simulation.agents import demand_response_members, derived_account
from energy_grid.simulation.auction_steps import Auction
from energy_grid.simulation.baseline import Baseline
from energy_grid.simulation.chain_time import ChainCalendar, plan_day_start
from energy_grid.simulation.demand_events import DemandResponse
from energy_grid.simulation.feeders import Feeders
from energy_grid.simulation.gateway import MeterGateway
from energy_grid.simulation.interval import Interval
from energy_grid.simulation.ledger import IntervalFigures, SimulationResult, audit
from energy_grid.simulation.run_state import (
    BASELINE_DAYS,
    SITE_UTC_OFFSET_MINUTES,
    Actors,
    OutsideOwner,
    ProgressCallback,
    RunRecord,
    RunState,
    SimulationConfig,
)
from energy_grid.simulation.set_up import SetUp

SITE_ZONE = timezone(timedelta(minutes=SITE_UTC_OFFSET_MINUTES))
PRICE_LAG_INTERVALS = 2  # a market clears in the step after its interval's: the freshest price a step sees


class SimulationRun:
    """One run: its state and its step objects, built here; `run()` calls the steps in order and
    returns the audited result. See the module docstring."""

    def __init__(
        self,
        client: GridClient,
        config: SimulationConfig,
        run_file: Path | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        if config.households < 1:
            raise GridError("a community needs at least one household")
        self.progress = progress or (lambda done, total, note: None)
        sender = TransactionSender(client)
        sender.drop_pending()  # a killed run may have left transactions in the pool
        self.started = time.monotonic()
        record = _run_record(client, config, run_file)
        self.community = community_config(config, flex_settings(client, config))
        self.model = CommunityModel(self.community)
        self._model_after_baseline: CommunityModel | None = None  # set_up_phase's copy, for the day without events
        self.state = run_state(client, config, record, sender, self.model)
        self.gateway = MeterGateway(self.state)
        self.feeders = Feeders(self.state)
        self.set_up = SetUp(self.state, self.feeders)
        self.baseline = Baseline(self.state, self.gateway)
        self.auction = Auction(self.state)
        self.demand_response = DemandResponse(self.state)
        self.interval = Interval(self.state, self.gateway, self.auction, self.demand_response, self.feeders)

    def set_up_phase(self) -> list[IntervalResult]:
        """Steps 1 and 2 of the module docstring: the set-up, the baseline days stepped and
        uploaded, demand response planned from them and the standing orders set; the chain then
        stands at D. Returns the model's baseline intervals. The simulation goes on with its
        intervals; the live community (energy_grid.live) stops here and lets the chain run."""
        state = self.state
        self.progress(0, state.config.interval_count, "set-up")
        self.set_up.run()
        baseline = [self.model.step(power_flow=False) for _ in range(state.calendar.baseline_intervals)]
        self.demand_response.plan(baseline)
        # The day had no event been called starts where the baseline days leave the model.
        self._model_after_baseline = copy.deepcopy(self.model) if self.demand_response.events else None
        self.feeders.set_limits(baseline)
        state.sender.flush()  # before the day: the first market's gate closes before it starts
        self.progress(0, state.config.interval_count, "baseline days")
        self.baseline.upload(baseline)
        # The periods that were further ahead than the market takes limits are within its lead time now.
        self.feeders.set_limits(baseline)
        self.auction.set_standing_orders()
        state.flush_at(state.calendar.day_start_s)
        return baseline

    def run(self) -> SimulationResult:
        state = self.state
        total = state.config.interval_count
        try:
            baseline = self.set_up_phase()
            resume_from = self._resume_interval()
            # The model steps every interval, also those a resumed run finds on chain, so that its
            # registers and the series are an uninterrupted run's; flexible load takes the zones'
            # prices from the chain either way.
            series: list[IntervalFigures] = []
            prices_seen: list[dict[int, ClearedPrice]] = []
            cleared: dict[int, ClearedPrice] = {}
            last = baseline[-1]
            for i in range(total):
                if self.community.flex is not None and i >= PRICE_LAG_INTERVALS:
                    # The latest market cleared before interval i's step (interval i - 1's clears in it).
                    known = i - PRICE_LAG_INTERVALS
                    for zone, price in self.auction.zone_prices(state.calendar.period_of(known)).items():
                        cleared[zone] = ClearedPrice(len(baseline) + known, price)
                prices_seen.append(dict(cleared))
                last = self.model.step(self.demand_response.consumption_factors(i), cleared_prices=prices_seen[-1])
                series.append(self._figures(i, last))
                if i < resume_from:
                    continue
                self.interval.step(i, last, check=i < resume_from + 2)
                self.progress(i + 1, total, last.local_start.strftime("%H:%M"))
            self.interval.close(total)
            if self.demand_response.events:
                without_dr = self._loading_without_demand_response(prices_seen)
                series = [replace(s, transformer_loading_without_dr_per_mille=w) for s, w in zip(series, without_dr, strict=True)]
        finally:
            state.sender.release()
        self.progress(total, total, "audit")
        return audit(state, series, baseline[-1], last, self.started)

    def _loading_without_demand_response(self, prices: list[dict[int, ClearedPrice]]) -> list[int]:
        """The simulated days' transformer loading had no event been called: the same seed's model,
        taken as the baseline days left it and stepped without the registered households' cuts and
        with the prices the run's flexible load saw (the summary's peak is measured against it)."""
        model = self._model_after_baseline
        if model is None:
            raise GridError("the model after the baseline days is kept only when an event is planned")
        return [model.step(cleared_prices=p).grid.transformer_loading_per_mille for p in prices]

    def _resume_interval(self) -> int:
        """The first interval to check against the chain: the last one whose readings are all on
        chain (its later flushes may be missing). Flushes follow each other and a lost block takes
        the blocks after it, so every earlier interval is complete and every later one untouched
        but for the next, which is checked too."""
        calendar = self.state.calendar
        done = min(self.gateway.latest_reading_times())
        if done < calendar.reading_time_s(0):
            return 0
        return calendar.interval_of(done)

    def _figures(self, i: int, result: IntervalResult) -> IntervalFigures:
        """The model's figures of simulated interval `i`; the market's are added by the audit, the
        loading without demand response after the last interval."""
        return interval_figures(
            i,
            result,
            self.auction.base_price_per_kwh,
            None,
            bool(self.demand_response.consumption_factors(i)),
            start_s=self.state.calendar.interval_start_s(i),
        )


def interval_figures(
    i: int,
    result: IntervalResult,
    base_price_per_kwh: int,
    loading_without_dr_per_mille: int | None,
    demand_response: bool,
    *,
    start_s: int | None = None,
    feeder_of: Sequence[int] = (),
) -> IntervalFigures:
    """The model's figures of simulated interval `i` (`loading_without_dr_per_mille`: the same
    model's transformer loading had no event been called, None when none was). `start_s`, the
    chain's time of the interval's start, dates it as the chain does (the weather year's date is
    the model's own): at the site's clock, which a local deployment's zone is by default. With
    `feeder_of` (each household's feeder), each feeder's meters' net import as well."""
    grid = result.grid
    start = result.local_start if start_s is None else datetime.fromtimestamp(start_s, SITE_ZONE)
    return IntervalFigures(
        interval=i,
        local_time=start.strftime("%Y-%m-%d %H:%M"),
        consumption_wh=result.consumption_wh,
        pv_wh=result.pv_wh,
        import_wh=result.import_wh,
        export_wh=result.export_wh,
        transformer_loading_per_mille=grid.transformer_loading_per_mille,
        transformer_loading_without_dr_per_mille=(
            grid.transformer_loading_per_mille if loading_without_dr_per_mille is None else loading_without_dr_per_mille
        ),
        transformer_apparent_kva=grid.transformer_apparent_kva,
        voltage_min_per_mille=grid.voltage_min_per_mille,
        reference_price_per_kwh=dynamic_price(base_price_per_kwh, grid.load_w, grid.transformer_rating_va),
        demand_response=demand_response,
        feeder_loading_per_mille=grid.feeder_loading_per_mille,
        feeder_apparent_kva=grid.feeder_apparent_kva,
        battery_grid_charge_wh=sum(h.battery_grid_charge_wh for h in result.households),
        feeder_net_import_wh=feeder_net_import_wh(result, feeder_of),
    )


def feeder_net_import_wh(result: IntervalResult, feeder_of: Sequence[int]) -> tuple[int, ...]:
    """Each feeder's meters' net import (import − export, Wh) in the interval: what its load
    reporter, which has only the meters, reports as its transformer's load."""
    net = [0] * (max(feeder_of) + 1 if feeder_of else 0)
    for household in result.households:
        if feeder_of:
            net[feeder_of[household.household_id]] += household.net_import_wh
    return tuple(net)


# ---- The run file and the actors ----


def recorded_run(client: GridClient, run_file: Path, config: SimulationConfig | None = None) -> RunRecord | None:
    """The run file's record when it belongs to this chain (same SmartMeter, its anchor block still
    there) and, when `config` is given, to a run with those parameters; None otherwise."""
    known = RunRecord.load(run_file)
    if known is None or known.smart_meter != client["SmartMeter"].address:
        return None
    if config is not None and known.config != config.run_key():
        return None
    block = _block_or_none(client, known.anchor_block)
    return known if block is not None and hash_hex(block["hash"]) == known.anchor_hash else None


def _run_record(client: GridClient, config: SimulationConfig, run_file: Path | None) -> RunRecord:
    """The run file's record when it is this run's on this chain (recorded_run), so that the run
    resumes; a new record, saved, otherwise."""
    if run_file is not None:
        known = recorded_run(client, run_file, config)
        if known is not None:
            return known
    latest = client.w3.eth.get_block("latest")
    smart_meter = client["SmartMeter"].address
    day_start_s = plan_day_start(int(latest["timestamp"]), BASELINE_DAYS, SITE_UTC_OFFSET_MINUTES)
    block = int(latest["number"])
    auction = client["EnergyAuction"]
    fees = int(auction.functions.accruedFees().call(block_identifier=block))
    auction_cash = int(client["EnergyVault"].functions.balancesOf(auction.address).call(block_identifier=block)[1])
    owner_held = (0, 0, 0, 0) if config.household_owner is None else _balances_of(client, config.household_owner, block)
    record = RunRecord(config.run_key(), day_start_s, block, hash_hex(latest["hash"]), smart_meter, fees, owner_held, auction_cash)
    if run_file is not None:
        record.save(run_file)
    return record


def _balances_of(client: GridClient, account: str, block: int) -> tuple[int, int, int, int]:
    """(EnergyToken, PaymentToken, vault energy, vault payment) of `account` at `block`."""
    c = client.contracts
    energy_wh = int(c["EnergyToken"].functions.balanceOf(account).call(block_identifier=block))
    cash = int(c["PaymentToken"].functions.balanceOf(account).call(block_identifier=block))
    vault_wh, vault_cash = (int(x) for x in c["EnergyVault"].functions.balancesOf(account).call(block_identifier=block))
    return energy_wh, cash, vault_wh, vault_cash


def _block_or_none(client: GridClient, number: int) -> Any:
    try:
        return client.w3.eth.get_block(number)
    except Exception:
        return None


def community_config(config: SimulationConfig, flex: FlexSettings | None = None) -> CommunityConfig:
    """The model of a run: its days begin BASELINE_DAYS before the simulated ones (the baseline);
    with `flex` (flex_settings) its batteries and car chargers answer prices. Without it the model
    is the rigid one the live community's virtual meters step, whatever `config.flexible_load` says:
    no market price reaches them."""
    return CommunityConfig(
        households=config.households,
        start_day_of_year=config.start_day_of_year - BASELINE_DAYS,
        days=config.days + BASELINE_DAYS,
        seed=config.seed,
        households_per_feeder=config.households_per_feeder,
        flex=flex,
    )


def flex_settings(client: GridClient, config: SimulationConfig) -> FlexSettings | None:
    """Flexible load of a run on this deployment (None without `config.flexible_load`): the grid's
    base price, and each feeder a price zone when the run's market is zoned (run_state)."""
    if not config.flexible_load:
        return None
    base_price_per_kwh = int(client["GridManagement"].functions.basePrice().call())
    return FlexSettings(base_price_per_kwh, zoned=config.zonal_limits and "MarketZones" in client.contracts)


def run_state(
    client: GridClient, config: SimulationConfig, record: RunRecord, sender: TransactionSender, model: CommunityModel
) -> RunState:
    """The state every step reads, for the run `record` describes on this chain."""
    pv_households = [spec.household_id for spec in model.households if spec.pv is not None]
    feeder_of = tuple(bus // FEEDER_BUS_STRIDE for bus in model.household_buses)
    # Zoned when the market has zones to give and the community more than one feeder to put in them.
    zoned = config.zonal_limits and max(feeder_of) > 0 and "MarketZones" in client.contracts
    return RunState(
        client=client,
        config=config,
        sender=sender,
        record=record,
        calendar=ChainCalendar(record.day_start_s, BASELINE_DAYS),
        actors=run_actors(config, record, owned_household(pv_households), max(feeder_of) if zoned else 0),
        members=demand_response_members(config.seed, config.households, config.dr_share),
        pv_households=pv_households,
        feeder_of=feeder_of,
        zoned=zoned,
    )


def owned_household(pv_households: list[int]) -> int:
    """The household `SimulationConfig.household_owner` gets: the first with PV (its export fills its
    vault energy balance), else the first."""
    return pv_households[0] if pv_households else 0


def run_actors(config: SimulationConfig, record: RunRecord, owned: int = 0, feeder_operators: int = 0) -> Actors:
    """Anvil's dev accounts for the operator, gateway, oracle reporter and keeper; the households',
    meters' and `feeder_operators` feeder operators' keys derived from the seed and the day, so that
    a resumed run signs as the same. With `config.household_owner`, household `owned` is that address's."""
    seed, day = config.seed, record.day_start_s
    households: list[LocalAccount | OutsideOwner] = [
        derived_account(seed, day, "household", i) for i in range(config.households)
    ]
    meters = [str(derived_account(seed, day, "meter", i).address) for i in range(config.households)]
    operators = [derived_account(seed, day, "feeder operator", f) for f in range(1, feeder_operators + 1)]
    if config.household_owner is None:
        owned_by: int | None = None
    else:
        households[owned] = OutsideOwner(config.household_owner)
        owned_by = owned
    return Actors(anvil_account(0), anvil_account(1), anvil_account(2), anvil_account(3), households, meters, owned_by, operators)


def run_simulation(
    client: GridClient | str,
    config: SimulationConfig | None = None,
    *,
    manifest: Path | None = None,
    run_file: Path | None = None,
    progress: ProgressCallback | None = None,
) -> SimulationResult:
    """Runs (or resumes) a simulation (`config`: SimulationConfig's defaults when None); local
    chains only (see the module docstring).

    `client` is a GridClient, or an RPC URL together with `manifest` (deployments/<chainId>.json).
    `run_file` (default: next to the manifest, `<chainId>.simulation.json`, when a manifest is
    given) records the run so that a run started again resumes it. `progress(done, total, note)`
    is called as intervals complete. Raises GridError on a rejected transaction and
    SimulationImbalance when the audit finds energy or money that does not balance.
    """
    config = config or SimulationConfig()
    if isinstance(client, str):
        if manifest is None:
            raise GridError("run_simulation needs the manifest of the deployment at that RPC URL")
        client = GridClient.from_manifest(manifest, client)
    if run_file is None and manifest is not None:
        run_file = run_file_for(manifest)
    return SimulationRun(client, config, run_file, progress).run()


def run_file_for(manifest: Path) -> Path:
    """The run file next to a manifest: deployments/31337.json → deployments/31337.simulation.json."""
    return manifest.with_name(f"{manifest.stem}.simulation.json")


__all__ = [
    "BASELINE_DAYS",
    "SITE_UTC_OFFSET_MINUTES",
    "SimulationConfig",
    "SimulationRun",
    "community_config",
    "flex_settings",
    "interval_figures",
    "owned_household",
    "recorded_run",
    "run_actors",
    "run_file_for",
    "run_simulation",
    "run_state",
]
