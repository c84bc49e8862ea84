"""`energy-grid live up`: the whole live community on one machine, under supervisord.

The run folder (`.live/` by default) holds everything a run needs and leaves behind:

    mosquitto.conf, mosquitto.passwd, mosquitto.acl   the broker: a listener on 127.0.0.1, no anonymous clients
    broker-credentials.json                           the broker users' passwords (readable by the owner only)
    mosquitto/                                        the broker's saved sessions and queued QoS 1 messages
    chain/state.json                                  the chain's state (energy_grid.live.chain)
    deployments/<chainId>.json                        the deployment's manifest
    community.json                                    the households and seed the chain was set up with
    ready.json                                        the ready marker (energy_grid.live.ready)
    gateway.sqlite, index.sqlite                      the gateway's store, the web app's event index
    supervisord.conf, logs/<program>.log              the process manager's configuration and each program's log
    ports.json                                        the ports this run listens on (what `live status` reads)
    operator-token                                    the web app's operator token (readable by the owner only; never in a log)

Programs start in the order of the table: the broker, the chain, the one-shot set-up (deploy when
the chain has no deployment, then `energy-grid live setup`, then the ready marker) and the
services, each of which waits for the ready marker (`energy-grid live wait-ready`) before it
starts. supervisord restarts any of them that dies. Ports are chosen free each time the folder is
written, and each service gets a metrics port of its own.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

import requests

from energy_grid.chain.accounts import write_private_file
from energy_grid.chain.anvil import DEFAULT_CHAIN_ID, LOCAL_HOST, free_port, port_is_free
from energy_grid.chain.errors import GridError
from energy_grid.chain.manifest import manifest_path
from energy_grid.live.chain import DEFAULT_GAS_LIMIT, DEFAULT_STATE_INTERVAL_S, Pace
from energy_grid.live.ready import AFTER_SET_UP_BLOCK, read_ready_marker
from energy_grid.services.broker import (
    acl_text,
    append_password_lines,
    meter_password_lines,
    mosquitto_config,
    mosquitto_program,
    write_password_file,
)
from energy_grid.signing.readings import DEADLINE_MARGIN_S

DEFAULT_RUN_DIR = Path(".live")
DEFAULT_HOUSEHOLDS = 100
DEFAULT_SEED = 0
GATEWAY_USER = "gateway"
FLEET_USER = "fleet"  # the virtual meters, relaying every household's signed readings
MONITOR_USER = "monitor"  # reads every meter's readings and answers (a dashboard, the soak), publishes nothing
BROKER_PASSWORD_ENV = "ENERGY_GRID_BROKER_PASSWORD"
PASSWORD_BYTES = 24
LOG_MAX_BYTES = "10MB"
LOG_BACKUPS = 3
# How often `live up` asks supervisord whether everything runs, while it waits.
UP_POLL_S = 1.0
HEALTH_TIMEOUT_S = 2.0
PROGRAM_RUNNING = "RUNNING"
PROGRAM_FAILED = ("FATAL", "BACKOFF")


class LiveStackError(GridError):
    """The run folder cannot be written or the stack cannot start; the message says why."""


# ------------------------------------------------------------------------------------ the services


@dataclass(frozen=True)
class Service:
    """A long-running program of the community, started once the ready marker holds.

    `arguments` follow `energy-grid`'s global options; `{placeholders}` are filled from the run
    (see `LiveStack.values`). With `broker_user`, the service gets `--broker`, `--broker-user` and
    the password in ENERGY_GRID_BROKER_PASSWORD; with `metrics`, `--metrics-port`; with `poll`,
    `--poll-interval` (the chain's block time: nothing new comes faster)."""

    name: str
    arguments: tuple[str, ...]
    dev_account: int | None = None
    broker_user: str | None = None
    metrics: bool = True
    poll: bool = True


# A load report waits up to this long (chain seconds) after its interval's end for the meters' readings.
LOAD_READING_DELAY_S = 450

# The community's services, in the order they start. The keys are anvil's dev accounts, local only:
# the operator is dev 0 (every role), the gateway dev 1, the oracle reporter dev 2, the keeper dev 3;
# the load reporter, the forecaster and the demand-response planner sign as each feeder's operator
# (the first feeder's is dev 0).
SERVICES: tuple[Service, ...] = (
    Service(
        "gateway", ("gateway", "--store", "{gateway_store}", "--confirmations", "{confirmations}"), dev_account=1, broker_user=GATEWAY_USER
    ),
    # A meter's reading two intervals on settles its standing orders of a cleared market, for less gas
    # than the keeper's settlement: the keeper settles what is still open two intervals after clearing.
    # It reads its events from the first block after the set-up (a thousand meters' backdated history
    # is half a million readings that leave it nothing to do).
    Service("keeper", ("keeper", "--standing-grace", "1800", "--from-block", AFTER_SET_UP_BLOCK), dev_account=3),
    # Every feeder region's weather and grid state, signed by the oracles' reporter.
    Service("oracle-reporter", ("live", "oracle-reporter"), dev_account=2),
    # Every feeder's transformer load, each signed by the feeder's operator. A thousand meters'
    # readings of an interval take several blocks to land: a load report waits up to 7.5 minutes of
    # chain time for them, and goes out well before the next interval ends (at 60×, each block a
    # report takes to send is another minute).
    Service("load-reporter", ("live", "load-reporter", "--reading-delay", str(LOAD_READING_DELAY_S))),
    # Each feeder's next day, forecast at 12:00 and committed by the feeder's operator before the
    # market's gate; the demand-response planner plans from the committed P90.
    Service("forecaster", ("live", "forecaster")),
    # Every feeder region's demand-response events, each run by the feeder's operator.
    Service("dr-planner", ("live", "dr-planner")),
    Service("meters", ("meters", "emulate", "--deadline-margin", "{deadline_margin}"), broker_user=FLEET_USER),
    # The operator token goes to a private file: web.log is the program's output, readable by others.
    Service(
        "web",
        (
            "serve", "--port", "{web_port}", "--database-url", "sqlite:///{index_db}", "--token-file", "{operator_token}",
            "--forecaster-url", "{forecaster_url}",
        ),
        metrics=False,
        poll=False,
    ),
)
BROKER_PROGRAM = "broker"
CHAIN_PROGRAM = "chain"
SETUP_PROGRAM = "setup"
SETUP_DEV_ACCOUNT = 0  # the operator: it registers the households' meters


def energy_grid_command() -> tuple[str, ...]:
    """`energy-grid` as this very environment runs it, whatever the PATH of the process manager."""
    return (sys.executable, "-m", "energy_grid.cli")


def energy_grid_shell(arguments: str) -> str:
    """`energy-grid <arguments>` as a user types it in a shell from the folder they are in, whether
    or not this environment is active (`make live` puts it on make's PATH, not on the user's): the
    environment's own `energy-grid`, by a path relative to that folder when it lies below it."""
    script = Path(sys.executable).with_name("energy-grid")
    if not script.exists():
        return f"energy-grid {arguments}"
    try:
        shown = script.relative_to(Path.cwd())
    except ValueError:
        shown = script
    return f"{shown} {arguments}"


def status_command(folder: RunFolder, project_dir: Path) -> str:
    """What shows a run's status: `make live-status` for the project's own run folder, else the command."""
    command = f"`{energy_grid_shell(f'live status --run-dir {folder.root}')}`"
    return f"`make live-status` (or {command})" if folder.root == (project_dir / DEFAULT_RUN_DIR).resolve() else command


# ------------------------------------------------------------------------------------ the run folder


@dataclass(frozen=True)
class RunFolder:
    """Where each file of a run lives (see the module's docstring)."""

    root: Path

    @property
    def mosquitto_conf(self) -> Path:
        return self.root / "mosquitto.conf"

    @property
    def password_file(self) -> Path:
        return self.root / "mosquitto.passwd"

    @property
    def acl_file(self) -> Path:
        return self.root / "mosquitto.acl"

    @property
    def credentials(self) -> Path:
        return self.root / "broker-credentials.json"

    @property
    def broker_data(self) -> Path:
        return self.root / "mosquitto"

    @property
    def chain_dir(self) -> Path:
        return self.root / "chain"

    @property
    def state_file(self) -> Path:
        return self.chain_dir / "state.json"

    @property
    def manifest_dir(self) -> Path:
        return self.root / "deployments"

    def manifest_file(self, chain_id: int) -> Path:
        return manifest_path(chain_id, self.manifest_dir)

    @property
    def community(self) -> Path:
        return self.root / "community.json"

    @property
    def ready_marker(self) -> Path:
        return self.root / "ready.json"

    @property
    def gateway_store(self) -> Path:
        return self.root / "gateway.sqlite"

    @property
    def index_db(self) -> Path:
        return self.root / "index.sqlite"

    @property
    def operator_token(self) -> Path:
        return self.root / "operator-token"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def ports_file(self) -> Path:
        return self.root / "ports.json"

    @property
    def supervisord_conf(self) -> Path:
        return self.root / "supervisord.conf"

    @property
    def supervisord_pid(self) -> Path:
        return self.root / "supervisord.pid"

    @property
    def supervisor_socket(self) -> Path:
        return self.root / "supervisor.sock"

    def of_the_chain(self) -> list[Path]:
        """What belongs to one chain and goes with it when a new chain starts (`--fresh`)."""
        stores = [p for pattern in ("gateway.sqlite*", "index.sqlite*") for p in self.root.glob(pattern)]
        return [self.chain_dir, self.manifest_dir, self.community, self.ready_marker, self.broker_data, *stores]


# ------------------------------------------------------------------------------------ the configuration


@dataclass(frozen=True)
class Community:
    """What the chain is set up with; kept in the run folder, since a chain is set up once."""

    households: int
    seed: int


@dataclass(frozen=True)
class Ports:
    broker: int
    chain: int
    web: int
    metrics: dict[str, int]  # service name -> its metrics port

    def write(self, path: Path) -> None:
        path.write_text(json.dumps({"broker": self.broker, "chain": self.chain, "web": self.web, "metrics": self.metrics}) + "\n")


def read_ports(folder: RunFolder) -> Ports | None:
    """The ports of the run last written to `folder`; None when there is none (or not a whole file)."""
    try:
        kept = json.loads(folder.ports_file.read_text())
        return Ports(int(kept["broker"]), int(kept["chain"]), int(kept["web"]), {k: int(v) for k, v in kept["metrics"].items()})
    except (FileNotFoundError, ValueError, KeyError, TypeError, AttributeError):
        return None


@dataclass(frozen=True)
class LiveStack:
    """A written run folder: everything `run_stack` and the summary need."""

    folder: RunFolder
    project_dir: Path
    community: Community
    pace: Pace
    gas_limit: int
    chain_id: int
    state_interval_s: int
    ports: Ports
    passwords: dict[str, str] = field(repr=False)
    # How deep a reading's block is before the gateway answers `accepted`: 1 (mined) on a local chain
    # that never reorganises by itself; the soak's hostile run, which reorganises it, asks for more.
    confirmations: int = 1
    # How long the virtual meters' signed readings stay valid, in chain seconds: SmartMeter's default
    # maximum reading age, or, in the soak's hostile run, short enough for a pause to outlast it.
    deadline_margin_s: int = DEADLINE_MARGIN_S

    @property
    def rpc_url(self) -> str:
        return f"http://{LOCAL_HOST}:{self.ports.chain}"

    @property
    def web_url(self) -> str:
        return f"http://{LOCAL_HOST}:{self.ports.web}"

    def metrics_url(self, service: str) -> str:
        return f"http://{LOCAL_HOST}:{self.ports.metrics[service]}"

    def health_urls(self) -> list[str]:
        """Where each service says whether it is healthy: its /health, and the web app's API."""
        return [f"{self.metrics_url(s.name)}/health" for s in SERVICES if s.metrics] + [f"{self.web_url}/api/v1/health"]

    def values(self) -> dict[str, str]:
        """What a service's `{placeholders}` stand for."""
        return {
            "households": str(self.community.households),
            "seed": str(self.community.seed),
            "gateway_store": str(self.folder.gateway_store),
            "index_db": str(self.folder.index_db),
            "operator_token": str(self.folder.operator_token),
            "web_port": str(self.ports.web),
            "forecaster_url": self.metrics_url("forecaster"),
            "broker": f"{LOCAL_HOST}:{self.ports.broker}",
            "rpc_url": self.rpc_url,
            "after_set_up_block": AFTER_SET_UP_BLOCK,  # filled in by `live wait-ready`
            "confirmations": str(self.confirmations),
            "deadline_margin": str(self.deadline_margin_s),
        }

    def summary(self) -> list[str]:
        """The lines `live up` prints once everything runs."""
        lines = [
            f"The live community runs ({self.community.households} households, seed {self.community.seed}, "
            f"the chain's clock at {self.pace.speed}× the wall's).",
            f"  web app         {self.web_url}  (API docs at {self.web_url}/docs; its operator token is in {self.folder.operator_token})",
            f"  chain           {self.rpc_url}  (chain id {self.chain_id})",
            f"  MQTT broker     {LOCAL_HOST}:{self.ports.broker}  (users and passwords in {self.folder.credentials})",
        ]
        for service in SERVICES:
            if service.metrics:
                url = self.metrics_url(service.name)
                lines.append(f"  {service.name:<15} {url}/metrics  {url}/health")
        lines.append(
            f"Logs in {self.folder.logs}; {status_command(self.folder, self.project_dir)} shows each program, its last problem "
            "and the latest intervals' progress; Ctrl-C stops them all."
        )
        return lines


def write_run_folder(
    root: Path,
    *,
    project_dir: Path,
    households: int | None = None,
    seed: int | None = None,
    pace: Pace | None = None,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    fresh: bool = False,
    chain_id: int = DEFAULT_CHAIN_ID,
    state_interval_s: int = DEFAULT_STATE_INTERVAL_S,
    confirmations: int = 1,
    deadline_margin_s: int = DEADLINE_MARGIN_S,
) -> LiveStack:
    """Writes the run folder `root` for a run of the community and returns what it holds. Without
    `fresh` the chain there (if any) resumes, and `households` and `seed` must be those it was set up
    with (None takes them); with `fresh` everything of the previous chain is removed first. Raises
    LiveStackError when a stack already runs from `root` or the settings contradict the chain's,
    BrokerConfigError when mosquitto is not installed."""
    folder = RunFolder(root.resolve())
    mosquitto = mosquitto_program("mosquitto")
    running = supervisord_pid(folder)
    if running is not None:
        raise LiveStackError(
            f"a live community already runs from {root} (supervisord, pid {running}): stop it first (Ctrl-C where it runs)"
        )
    if fresh:
        for path in folder.of_the_chain():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    folder.root.mkdir(parents=True, exist_ok=True)
    folder.logs.mkdir(exist_ok=True)
    folder.broker_data.mkdir(exist_ok=True)
    community = _community(folder, households, seed)
    stack = LiveStack(
        folder=folder,
        project_dir=project_dir.resolve(),
        community=community,
        pace=pace or Pace(),
        gas_limit=gas_limit,
        chain_id=chain_id,
        state_interval_s=state_interval_s,
        ports=_free_ports([s.name for s in SERVICES if s.metrics], read_ports(folder)),
        passwords={user: secrets.token_hex(PASSWORD_BYTES) for user in (GATEWAY_USER, FLEET_USER, MONITOR_USER)},
        confirmations=confirmations,
        deadline_margin_s=deadline_margin_s,
    )
    write_private_file(folder.credentials, json.dumps(stack.passwords, indent=2) + "\n")
    stack.ports.write(folder.ports_file)
    # The virtual meters publish through the fleet user. A meter provisioned into this folder
    # (`energy-grid meters provision --live-folder`) keeps its broker user and ACL block while the
    # chain it is registered on goes on; a fresh chain drops it with its registration.
    provisioned = [] if fresh else meter_password_lines(folder.password_file)
    write_password_file(folder.password_file, stack.passwords)
    append_password_lines(folder.password_file, provisioned)
    meters = [line.split(":", 1)[0] for line in provisioned]
    folder.acl_file.write_text(acl_text(chain_id, meters, GATEWAY_USER, fleet_user=FLEET_USER, monitor_user=MONITOR_USER))
    folder.mosquitto_conf.write_text(
        mosquitto_config(
            LOCAL_HOST,
            stack.ports.broker,
            password_file=folder.password_file,
            acl_file=folder.acl_file,
            persistence_dir=folder.broker_data,
            run_as_user=getpass.getuser(),
        )
    )
    write_private_file(folder.supervisord_conf, supervisord_config(stack, program_commands(stack, mosquitto)))
    return stack


def _community(folder: RunFolder, households: int | None, seed: int | None) -> Community:
    """The chain's community: the one it was set up with, which the options must not contradict."""
    try:
        stored = json.loads(folder.community.read_text())
        kept: Community | None = Community(int(stored["households"]), int(stored["seed"]))
    except FileNotFoundError:
        kept = None
    except (ValueError, KeyError, TypeError) as err:
        raise LiveStackError(f"{folder.community} is not a community's settings ({err}): start a new chain with --fresh") from None
    if kept is not None:
        if (households is not None and households != kept.households) or (seed is not None and seed != kept.seed):
            raise LiveStackError(
                f"the chain in {folder.root} was set up with {kept.households} households and seed {kept.seed}: "
                "pass those, or --fresh to start a new chain"
            )
        return kept
    community = Community(DEFAULT_HOUSEHOLDS if households is None else households, DEFAULT_SEED if seed is None else seed)
    folder.community.write_text(json.dumps({"households": community.households, "seed": community.seed}) + "\n")
    return community


def _free_ports(metrics_services: Iterable[str], previous: Ports | None = None) -> Ports:
    """Distinct free ports of 127.0.0.1: the broker, the chain, the web app and each service's
    metrics. Each keeps its port of the previous run where that port is free, so that what points
    at the community from outside (a meter agent's broker address, a wallet's RPC URL, a bookmark of
    the web app) still reaches it after a restart."""
    names = ["broker", "chain", "web", *metrics_services]
    before = {} if previous is None else {"broker": previous.broker, "chain": previous.chain, "web": previous.web, **previous.metrics}
    chosen: dict[str, int] = {}
    for name in names:
        port = before.get(name)
        while port is None or port in chosen.values() or not port_is_free(port):
            port = free_port()
        chosen[name] = port
    return Ports(chosen["broker"], chosen["chain"], chosen["web"], {name: chosen[name] for name in names[3:]})


# ------------------------------------------------------------------------------------ supervisord


Programs = dict[str, tuple[list[str], dict[str, str]]]  # name -> (command line, extra environment)


def program_commands(stack: LiveStack, mosquitto: str) -> Programs:
    """Each program's command line and extra environment, in the order they start."""
    folder = stack.folder
    energy_grid = list(energy_grid_command())
    on_chain = [*energy_grid, "--rpc-url", stack.rpc_url, "--manifest", str(folder.manifest_file(stack.chain_id))]
    programs: Programs = {
        BROKER_PROGRAM: ([mosquitto, "-c", str(folder.mosquitto_conf)], {}),
        CHAIN_PROGRAM: (
            [
                *energy_grid, "live", "chain",
                "--port", str(stack.ports.chain),
                "--state-file", str(folder.state_file),
                "--ready-marker", str(folder.ready_marker),
                "--chain-id", str(stack.chain_id),
                "--gas-limit", str(stack.gas_limit),
                "--block-time", str(stack.pace.block_time_s),
                "--speed", str(stack.pace.speed),
                "--state-interval", str(stack.state_interval_s),
            ],
            {},
        ),
        SETUP_PROGRAM: (
            [
                *on_chain, "--dev-account", str(SETUP_DEV_ACCOUNT), "live", "prepare",
                "--households", str(stack.community.households),
                "--seed", str(stack.community.seed),
                "--state-file", str(folder.state_file),
                "--ready-marker", str(folder.ready_marker),
                "--state-interval", str(stack.state_interval_s),
                "--project-dir", str(stack.project_dir),
            ],
            {},
        ),
    }
    values = stack.values()
    for service in SERVICES:
        command = [*on_chain, "live", "wait-ready", "--ready-marker", str(folder.ready_marker), "--", *on_chain]
        if service.dev_account is not None:
            command += ["--dev-account", str(service.dev_account)]
        command += [argument.format_map(values) for argument in service.arguments]
        environment: dict[str, str] = {}
        if service.broker_user is not None:
            command += ["--broker", values["broker"], "--broker-user", service.broker_user]
            environment[BROKER_PASSWORD_ENV] = stack.passwords[service.broker_user]
        if service.metrics:
            command += ["--metrics-port", str(stack.ports.metrics[service.name])]
        if service.poll:
            command += ["--poll-interval", str(stack.pace.block_time_s)]
        programs[service.name] = (command, environment)
    return programs


def supervisord_config(stack: LiveStack, programs: Programs) -> str:
    """supervisord's configuration: itself in the foreground, a control socket in the run folder,
    and one program per entry of `programs` (`program_commands`), started in that order and
    stopped in the reverse one."""
    folder = stack.folder
    sections = [
        _section(
            "supervisord",
            {
                "nodaemon": "true",
                "logfile": folder.logs / "supervisord.log",
                "pidfile": folder.supervisord_pid,
                "childlogdir": folder.logs,
                "identifier": "energy-grid-live",
            },
        ),
        _section("unix_http_server", {"file": folder.supervisor_socket, "chmod": "0700"}),
        _section("rpcinterface:supervisor", {"supervisor.rpcinterface_factory": "supervisor.rpcinterface:make_main_rpcinterface"}),
        _section("supervisorctl", {"serverurl": f"unix://{folder.supervisor_socket}"}),
    ]
    base_environment = {"PYTHONUNBUFFERED": "1"}
    for priority, (name, (command, environment)) in enumerate(programs.items(), start=1):
        options: dict[str, object] = {
            "command": " ".join(_quote(part) for part in command),
            "directory": stack.project_dir,
            "priority": priority * 10,
            "autostart": "true",
            "autorestart": "true",
            "startsecs": 1,
            "startretries": 10,
            "stopsignal": "TERM",
            "stopwaitsecs": 30,
            "redirect_stderr": "true",
            "stdout_logfile": folder.logs / f"{name}.log",
            "stdout_logfile_maxbytes": LOG_MAX_BYTES,
            "stdout_logfile_backups": LOG_BACKUPS,
            "environment": ",".join(f'{key}="{value}"' for key, value in {**base_environment, **environment}.items()),
        }
        if name == CHAIN_PROGRAM:
            # anvil dumps its whole state on the way out: give it time, and should supervisord
            # still have to kill, kill anvil too.
            options |= {"stopwaitsecs": 120, "killasgroup": "true"}
        if name == SETUP_PROGRAM:
            # One shot: done once it exits 0; anything else (a failure, a kill) runs it again.
            options |= {"autorestart": "unexpected", "exitcodes": 0, "startsecs": 0}
        sections.append(_section(f"program:{name}", options))
    return "\n".join(sections)


def _section(name: str, options: Mapping[str, object]) -> str:
    # supervisord expands %(name)s in its values: a literal percent sign is written twice.
    return f"[{name}]\n" + "".join(f"{key}={str(value).replace('%', '%%')}\n" for key, value in options.items())


def _quote(part: str) -> str:
    """A command-line word as supervisord splits them (shlex); a configuration value is one line."""
    if "\n" in part:
        raise LiveStackError(f"a program's command cannot hold a line break: {part!r}")
    return shlex.quote(part)


# ------------------------------------------------------------------------------------ running


def supervisord_pid(folder: RunFolder) -> int | None:
    """The pid of a supervisord running from `folder`; None when none does."""
    try:
        pid = int(folder.supervisord_pid.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid  # another user's process holds it
    return pid


def program_status(folder: RunFolder) -> dict[str, tuple[str, str]] | None:
    """Each program's state as supervisord reports it (RUNNING, STARTING, EXITED, FATAL, ...) and
    its description ("pid 123, uptime 0:01:02", "Exited too quickly"); None while supervisord does
    not answer."""
    done = subprocess.run(
        [_supervisor_program("supervisorctl"), "-c", str(folder.supervisord_conf), "status"],
        capture_output=True, text=True, check=False,
    )
    states = {}
    for line in done.stdout.splitlines():
        name, state, detail = [*line.split(maxsplit=2), "", ""][:3]
        if state.isupper():
            states[name] = (state, detail.strip())
    return states or None


def program_states(folder: RunFolder) -> dict[str, str] | None:
    """Each program's state as supervisord reports it; None while supervisord does not answer."""
    status = program_status(folder)
    return None if status is None else {name: state for name, (state, _) in status.items()}


def program_pid(folder: RunFolder, program: str) -> int | None:
    """The pid of the program's process as supervisord reports it; None when it runs none."""
    done = subprocess.run(
        [_supervisor_program("supervisorctl"), "-c", str(folder.supervisord_conf), "pid", program],
        capture_output=True, text=True, check=False,
    )
    word = done.stdout.strip()
    return int(word) if word.isdigit() and int(word) > 0 else None


def supervisorctl(folder: RunFolder, *arguments: str) -> int:
    """Runs supervisorctl with the run folder's configuration; its output goes to ours."""
    if not folder.supervisord_conf.exists():
        raise LiveStackError(f"no live community was written to {folder.root}: start one with `make live`")
    return subprocess.run([_supervisor_program("supervisorctl"), "-c", str(folder.supervisord_conf), *arguments], check=False).returncode


def _supervisor_program(name: str) -> str:
    """supervisord's programs from this environment (supervisor is one of its pinned packages)."""
    sibling = Path(sys.executable).with_name(name)
    found = str(sibling) if sibling.exists() else shutil.which(name)
    if found is None:
        raise LiveStackError(f"{name} is not installed in this environment: run `make setup`")
    return found


def start_supervisord(stack: LiveStack, output: IO[bytes] | None = None) -> subprocess.Popen[bytes]:
    """supervisord in the foreground (a child of this process) on the stack's configuration; its own
    messages go to `output`, ours when None."""
    command = [_supervisor_program("supervisord"), "-n", "-c", str(stack.folder.supervisord_conf)]
    return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT if output is not None else None)


def run_stack(stack: LiveStack, echo: Callable[[str], None] = print) -> int:
    """Runs supervisord in the foreground on the stack's configuration, prints the summary once
    everything runs, and returns supervisord's exit status once it has stopped every program.
    SIGINT and SIGTERM are passed on to supervisord, which stops the programs in reverse order."""
    process = start_supervisord(stack)

    def pass_on(signum: int, frame: FrameType | None) -> None:
        if process.poll() is None:
            process.send_signal(signum)

    previous = {sig: signal.signal(sig, pass_on) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _announce_when_up(stack, process, echo)
        status = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status if status >= 0 else 128 - status


def _announce_when_up(stack: LiveStack, process: subprocess.Popen[bytes], echo: Callable[[str], None]) -> None:
    """Waits until the set-up is done and every service runs and answers on its health URL, then
    prints the summary; says so once when a program keeps failing. Returns early when supervisord
    ends."""
    waiting_said = False
    failures_said: set[str] = set()
    while process.poll() is None:
        states = program_states(stack.folder) or {}
        if stack_is_up(stack, states):
            for line in stack.summary():
                echo(line)
            return
        for name, state in states.items():
            if state in PROGRAM_FAILED and name not in failures_said:
                failures_said.add(name)
                echo(f"{name} keeps failing ({state}): see {stack.folder.logs / (name + '.log')}")
        if not waiting_said and states:
            waiting_said = True
            setup_log = stack.folder.logs / f"{SETUP_PROGRAM}.log"
            echo(f"Setting the community up on the chain (see {setup_log}); the URLs follow once every service runs.")
        time.sleep(UP_POLL_S)


def stack_is_up(stack: LiveStack, states: Mapping[str, str]) -> bool:
    """Whether the community is set up and every service runs and answers on its health URL, given
    the programs' `states` (program_states)."""
    ready = read_ready_marker(stack.folder.ready_marker) is not None
    running = all(states.get(service.name) == PROGRAM_RUNNING for service in SERVICES)
    return ready and states.get(SETUP_PROGRAM) == "EXITED" and running and all(_answers(url) for url in stack.health_urls())


def _answers(url: str) -> bool:
    """Whether a service answers at `url` (healthy or not: it runs)."""
    try:
        requests.get(url, timeout=HEALTH_TIMEOUT_S)
    except requests.RequestException:
        return False
    return True


__all__ = [
    "BROKER_PASSWORD_ENV",
    "DEFAULT_RUN_DIR",
    "FLEET_USER",
    "GATEWAY_USER",
    "MONITOR_USER",
    "SERVICES",
    "Community",
    "LiveStack",
    "LiveStackError",
    "Ports",
    "RunFolder",
    "Service",
    "energy_grid_shell",
    "program_commands",
    "program_pid",
    "program_states",
    "program_status",
    "read_ports",
    "run_stack",
    "stack_is_up",
    "start_supervisord",
    "supervisorctl",
    "supervisord_config",
    "write_run_folder",
]
