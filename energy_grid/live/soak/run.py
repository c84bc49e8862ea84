"""One soak run: the live community (energy_grid.live.stack) in a folder of its own, from a new
chain to the audit, with the monitor, and the faults and bad input the run asks for.

1. The run folder is written (a new chain) and supervisord started; the run waits until the
   community is set up and every service runs.
2. The monitor (and the hostile device) connect, the faults start, and the virtual meters publish
   `intervals` simulated intervals on the chain's clock.
3. Once the monitor has seen every meter's reading of the last interval, the virtual meters are
   stopped and the run waits for the community to come to rest: every meter's readings on chain,
   and the audit (energy_grid.live.audit) balancing once the keeper has cleared and settled what
   the last readings left open.
4. The chain's facts are read (chain_facts.py) and supervisord stopped.

Meanwhile the gateway's CPU and memory are sampled (psutil), whichever process runs it.
"""

from __future__ import annotations

import logging
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from eth_keys.datatypes import PrivateKey

from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.anvil import LOCAL_HOST
from energy_grid.chain.errors import GridError
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.sender import TransactionSender, prepare
from energy_grid.domain.units import INTERVAL_SECONDS
from energy_grid.live.audit import audit_community
from energy_grid.live.chain import DEFAULT_BLOCK_TIME_S, DEFAULT_STATE_INTERVAL_S, Pace
from energy_grid.live.community import LiveCommunity, live_run_file_for, load_community
from energy_grid.live.soak.answers import AnswerCheck, check_answers
from energy_grid.live.soak.chain_facts import ChainFacts, read_chain_facts
from energy_grid.live.soak.faults import FaultInjector, FaultPlan
from energy_grid.live.soak.hostile import HostileDevice
from energy_grid.live.soak.monitor import Monitor, Observed
from energy_grid.live.stack import (
    FLEET_USER,
    MONITOR_USER,
    SERVICES,
    LiveStack,
    program_pid,
    program_states,
    stack_is_up,
    start_supervisord,
    supervisorctl,
    write_run_folder,
)
from energy_grid.services.mqtt import BrokerSettings
from energy_grid.signing.readings import DEADLINE_MARGIN_S, domain_separator
from energy_grid.simulation.ledger import SimulationResult

log = logging.getLogger("energy_grid.live.soak")

UP_TIMEOUT_S = 1_800.0  # a thousand households' set-up takes minutes
POLL_S = 1.0
SAMPLE_S = 2.0
STOP_TIMEOUT_S = 180.0
# After the last interval's readings: intervals of the chain's clock the community gets to come to rest.
REST_INTERVALS = 12
# The faults fall in this share of the publishing window, leaving its end for the recovery.
FAULT_WINDOW_SHARE = 0.8
MIN_FAULT_GAP_S = 10.0
GATEWAY_DEV_ACCOUNT = next(s.dev_account or 0 for s in SERVICES if s.name == "gateway")
METERS_PROGRAM = "meters"


@dataclass(frozen=True)
class RunSpec:
    name: str
    households: int
    intervals: int
    speed: int = 60
    block_time_s: int = DEFAULT_BLOCK_TIME_S  # wall seconds between blocks
    faults: tuple[str, ...] = ()  # programs killed and chain events (faults.py), `fault_rounds` times each
    fault_rounds: int = 2
    bad_messages: int = 0
    seed: int = 0
    state_interval_s: int = DEFAULT_STATE_INTERVAL_S  # the chain's state dumps (see `live up --state-interval`)
    confirmations: int = 1  # the gateway's: how deep a reading's block is before it answers accepted
    deadline_margin_s: int = DEADLINE_MARGIN_S  # how long the virtual meters' signatures last, in chain seconds

    @property
    def interval_wall_s(self) -> float:
        return INTERVAL_SECONDS / self.speed


@dataclass
class GatewayUsage:
    """The gateway's processes over the run: CPU (% of one core) and resident memory."""

    cpu_percent: list[float] = field(default_factory=list)
    rss_bytes: list[int] = field(default_factory=list)
    restarts: int = 0  # times the gateway ran in a new process

    def as_json(self) -> dict[str, Any]:
        if not self.cpu_percent:
            return {"samples": 0}
        return {
            "samples": len(self.cpu_percent),
            "cpuPercentMean": round(statistics.mean(self.cpu_percent), 1),
            "cpuPercentMax": round(max(self.cpu_percent), 1),
            "rssMiBMax": round(max(self.rss_bytes) / 2**20, 1),
            "rssMiBLast": round(self.rss_bytes[-1] / 2**20, 1),
            "restarts": self.restarts,
        }


@dataclass
class RunOutcome:
    spec: RunSpec
    setup_s: float = 0.0
    publishing_s: float = 0.0
    rest_s: float = 0.0
    facts: ChainFacts | None = None
    audit: SimulationResult | None = None
    audit_error: str | None = None
    observed: Observed | None = None
    gateway: GatewayUsage = field(default_factory=GatewayUsage)
    faults: list[dict[str, Any]] = field(default_factory=list)
    bad_sent: dict[str, int] = field(default_factory=dict)
    bad_expected_reasons: dict[str, int] = field(default_factory=dict)
    bad_digests: set[str] = field(default_factory=set)  # of the hostile device's signed messages
    answers: AnswerCheck | None = None
    error: str | None = None


def run_soak(spec: RunSpec, root: Path, project_dir: Path, echo: Callable[[str], None]) -> RunOutcome:
    """Runs `spec` in `root` / spec.name; the outcome says what happened, `error` what stopped it."""
    outcome = RunOutcome(spec)
    stack = write_run_folder(
        root / spec.name,
        project_dir=project_dir,
        households=spec.households,
        seed=spec.seed,
        pace=Pace(block_time_s=spec.block_time_s, speed=spec.speed),
        fresh=True,
        state_interval_s=spec.state_interval_s,
        confirmations=spec.confirmations,
        deadline_margin_s=spec.deadline_margin_s,
    )
    with (stack.folder.logs / "soak-supervisord.out").open("ab") as output:
        process = start_supervisord(stack, output)
    try:
        _run(spec, stack, process, outcome, echo)
    except (GridError, TimeoutError, OSError) as err:
        outcome.error = str(err)
        echo(f"{spec.name}: stopped: {err}")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
    return outcome


def _run(spec: RunSpec, stack: LiveStack, process: subprocess.Popen[bytes], outcome: RunOutcome, echo: Callable[[str], None]) -> None:
    started = time.monotonic()
    echo(f"{spec.name}: setting up {spec.households} households on a new chain in {stack.folder.root}")

    def up() -> bool:
        return process.poll() is None and stack_is_up(stack, program_states(stack.folder) or {})

    _wait(up, UP_TIMEOUT_S, "the community to come up")
    outcome.setup_s = round(time.monotonic() - started, 1)
    manifest = stack.folder.manifest_file(stack.chain_id)
    client = GridClient.from_manifest(manifest, stack.rpc_url)
    community = load_community(client, live_run_file_for(manifest))
    meters = [str(account.address) for account in community.meter_keys()]
    monitor, hostile = _watchers(spec, stack, client, community)
    faults: FaultInjector | None = None
    if spec.faults:
        window_s = spec.intervals * spec.interval_wall_s * FAULT_WINDOW_SHARE
        plan = FaultPlan.draw(list(spec.faults), spec.fault_rounds, window_s, MIN_FAULT_GAP_S, spec.seed)
        faults = FaultInjector(stack.folder, plan, lambda: int(client.w3.eth.block_number), client, spec.seed)
        faults.start()
    sampler = _GatewaySampler(stack, outcome.gateway)
    sampler.start()
    echo(f"{spec.name}: up in {outcome.setup_s:.0f} s; {spec.intervals} intervals of {spec.interval_wall_s:g} s follow")
    try:
        _publish(spec, stack, monitor, meters, outcome)
        if faults is not None:
            faults.stop()
        echo(f"{spec.name}: the meters published {spec.intervals} intervals in {outcome.publishing_s:.0f} s; waiting for rest")
        _come_to_rest(spec, client, community, meters, outcome)
        gateway = anvil_account(GATEWAY_DEV_ACCOUNT).address
        outcome.facts = read_chain_facts(client, meters, gateway, community.day_start_s, spec.intervals)
    finally:
        sampler.stop()
        if faults is not None:
            faults.stop()
            outcome.faults = [vars(record) for record in faults.plan.done]
        if hostile is not None:
            hostile.stop()
            outcome.bad_sent = dict(hostile.sent)
            outcome.bad_expected_reasons = dict(hostile.expected_rejections)
            outcome.bad_digests = set(hostile.digests)
        monitor.stop()
        outcome.observed = monitor.snapshot()
    if outcome.facts is not None:
        touched = hostile.touched if hostile is not None else set()
        outcome.answers = check_answers(client, stack.chain_id, outcome.observed, outcome.facts, touched)


def _watchers(spec: RunSpec, stack: LiveStack, client: GridClient, community: LiveCommunity) -> tuple[Monitor, HostileDevice | None]:
    """The monitor, connected, and the hostile device when the run sends bad messages."""
    broker = f"{LOCAL_HOST}:{stack.ports.broker}"
    hostile: HostileDevice | None = None
    if spec.bad_messages:
        keys = {account.address.lower(): PrivateKey(bytes(account.key)) for account in community.meter_keys()}
        picked = HostileDevice.pick(sorted(keys), spec.intervals, spec.bad_messages, spec.seed)
        separator = domain_separator(stack.chain_id, client["SmartMeter"].address)
        fleet = BrokerSettings.parse(broker, FLEET_USER, stack.passwords[FLEET_USER])
        hostile = HostileDevice(fleet, stack.chain_id, separator, keys, picked, spec.seed)
    monitor = Monitor(
        BrokerSettings.parse(broker, MONITOR_USER, stack.passwords[MONITOR_USER]),
        stack.chain_id,
        on_accepted=hostile.on_accepted if hostile else None,
        foreign=hostile.is_ours if hostile else None,
    )
    monitor.start()
    if hostile is not None:
        hostile.start(monitor)
    return monitor, hostile


def _publish(spec: RunSpec, stack: LiveStack, monitor: Monitor, meters: list[str], outcome: RunOutcome) -> None:
    """Waits until the monitor has seen every meter's reading of the last interval, then stops the
    virtual meters (the next interval's readings are a whole interval away)."""
    started = time.monotonic()
    last = spec.intervals - 1
    everyone = {m.lower() for m in meters}
    timeout_s = spec.intervals * spec.interval_wall_s * 3 + 600
    _wait(lambda: monitor.readings_seen(last) >= everyone, timeout_s, f"every meter's reading of interval {last}")
    supervisorctl(stack.folder, "stop", METERS_PROGRAM)
    outcome.publishing_s = round(time.monotonic() - started, 1)


def _come_to_rest(spec: RunSpec, client: GridClient, community: LiveCommunity, meters: list[str], outcome: RunOutcome) -> None:
    """Waits until every meter's readings are on chain and the audit balances (the keeper has
    cleared and settled what the last readings left open); the audit's last complaint stays in the
    outcome when it never does."""
    started = time.monotonic()
    reader = TransactionSender(client, manual_mining=False)
    registry = client["SmartMeter"]

    def all_on_chain() -> bool:
        return all(int(n) >= spec.intervals for n in reader.read([prepare(registry, "nonces", m) for m in meters]))

    rest_s = REST_INTERVALS * spec.interval_wall_s + 120
    _wait(all_on_chain, rest_s, "every meter's readings on chain")
    deadline = time.monotonic() + rest_s
    while True:
        try:
            outcome.audit = audit_community(client, community)
            outcome.audit_error = None
            break
        except GridError as err:  # SimulationImbalance, LiveSetUpError: not at rest yet
            outcome.audit_error = str(err)
            if time.monotonic() > deadline:
                break
            time.sleep(spec.interval_wall_s)
    outcome.rest_s = round(time.monotonic() - started, 1)


def _wait(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if condition():
                return
        except Exception as err:  # a node or broker restarting answers with anything for a moment
            log.debug("waiting for %s: %s", what, err)
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout_s:.0f} s for {what}")
        time.sleep(POLL_S)


class _GatewaySampler:
    """Samples the gateway's CPU and memory every SAMPLE_S seconds in a thread."""

    def __init__(self, stack: LiveStack, usage: GatewayUsage) -> None:
        self.stack = stack
        self.usage = usage
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gateway-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        process: psutil.Process | None = None
        while not self._stop.wait(SAMPLE_S):
            try:
                pid = program_pid(self.stack.folder, "gateway")
                if pid is None:
                    continue
                if process is None or process.pid != pid:
                    self.usage.restarts += process is not None
                    process = psutil.Process(pid)
                    process.cpu_percent(None)  # the first call only starts the measurement
                    continue
                self.usage.cpu_percent.append(process.cpu_percent(None))
                self.usage.rss_bytes.append(process.memory_info().rss)
            except psutil.Error:
                process = None


__all__ = ["GatewayUsage", "RunOutcome", "RunSpec", "run_soak"]
