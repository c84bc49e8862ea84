"""A local anvil node a program or test owns: started on a free port, always stopped. Local only.

ape-foundry's own embedded anvil runs with `--steps-tracing` (every step of every transaction kept
in memory: gigabytes over a simulated day of tens of thousands of transactions), so the demo and
the tests that need a node of their own (another chain id, a node to kill) start anvil themselves
and point ape and web3 at it.

A node is never shared with a process that did not start it: a port someone else listens on is
refused (PortInUseError), and the node counts as started only once the anvil process started here
holds the listening socket and answers, so a stranger's node on the same port is never mistaken for
it. `python -m energy_grid.chain.anvil -- COMMAND` runs COMMAND against a node of its own (`make bench`,
`make fuzz`).
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from energy_grid.chain.errors import GridError

START_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.05
LOCAL_HOST = "127.0.0.1"
# Anvil's default 30M-gas blocks; the simulation mines several per step when needed.
DEFAULT_CHAIN_ID = 31337
# By default anvil keeps past block states for reads at older blocks and writes the older ones to
# ~/.foundry/anvil/tmp, where they stay (about a gigabyte per 100-household day). The nodes started
# here and the test suite's keep this many, in memory only: enough for a reader pinned to a block
# that others have since mined past (the keeper), none on disk.
IN_MEMORY_STATES = 64
# A node that mines by itself for hours keeps none (anvil's bare `--prune-history`): anvil 1.7.1,
# given a number, keeps a copy of the whole state for every block mined, past that number too
# (measured: 4.4 MB a block for a 100-household community, 68 MB for 1,000; a thousand households'
# chain mining a block a second filled 22 GB in minutes). Every read is then at the latest block.
NO_PAST_STATES = 0
# A port picked free can be taken by another process before anvil binds it: so many picks are tried.
FREE_PORT_ATTEMPTS = 3
# Linux's prctl option that has the kernel signal a child when the process that started it dies.
PR_SET_PDEATHSIG = 1
STATE_DUMP_POLL_SECONDS = 0.05
# Linux lists listening TCP sockets here (state 0A), each with its inode.
PROC_TCP_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
TCP_LISTEN_STATE = "0A"


class PortInUseError(GridError):
    """Another process listens on the port asked for: no node was started there."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOCAL_HOST, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a listener could bind LOCAL_HOST:`port` now (a socket in TIME_WAIT does not hold it,
    as it holds no anvil off either)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LOCAL_HOST, port))
        except OSError:
            return False
    return True


def _listens_on(pid: int, port: int) -> bool | None:
    """Whether process `pid` holds a socket listening on `port`, from Linux's /proc; None where
    there is no /proc to tell."""
    if not PROC_TCP_TABLES[0].exists():
        return None
    inodes = set()
    for table in PROC_TCP_TABLES:
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == TCP_LISTEN_STATE and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False  # the process is gone
    for descriptor in descriptors:
        try:
            if os.readlink(descriptor) in inodes:
                return True
        except OSError:
            continue  # closed meanwhile
    return False


def anvil_binary() -> str:
    """anvil from PATH, else from the project's node_modules (`make setup` installs it there)."""
    found = shutil.which("anvil")
    if found:
        return found
    local = Path(__file__).resolve().parents[2] / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
    if local.exists():
        return str(local)
    raise GridError("anvil not found: run `make setup` (it installs anvil from npm) or put anvil on PATH")


@dataclass
class AnvilNode:
    """A running anvil process."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://{LOCAL_HOST}:{self.port}"

    def stop(self, kill: bool = False) -> None:
        """Stops anvil: gracefully (it writes its --state file) or, with `kill`, SIGKILL."""
        if self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        self.process.wait(timeout=START_TIMEOUT_SECONDS)


def start_anvil(
    port: int | None = None,
    state_file: Path | None = None,
    state_interval_seconds: int | None = None,
    chain_id: int | None = DEFAULT_CHAIN_ID,
    extra_args: tuple[str, ...] = (),
    log_file: Path | None = None,
    cache_dir: Path | None = None,
    in_memory_states: int = IN_MEMORY_STATES,
    stop_with_parent: bool = False,
) -> AnvilNode:
    """Starts anvil on `port` (a free one when None) and waits until it answers. With `state_file`
    it loads the state there (if any) and dumps to it on exit and every `state_interval_seconds`.
    `in_memory_states` past block states stay in memory for reads at older blocks (NO_PAST_STATES:
    none). `cache_dir` replaces anvil's cache folder under ~/.foundry, where a killed anvil leaves its
    on-disk states behind. `chain_id` None leaves anvil's default (31337). With `stop_with_parent`
    (Linux), anvil gets SIGTERM, and so dumps its state and exits, when the process that started it
    dies, even by SIGKILL: no orphan keeps the port. Raises PortInUseError when another process
    listens on `port`, GridError when anvil exits or does not answer."""
    attempts_left = FREE_PORT_ATTEMPTS
    while True:
        chosen = port if port is not None else free_port()
        try:
            return _start_anvil(
                chosen, state_file, state_interval_seconds, chain_id, extra_args, log_file, cache_dir, in_memory_states, stop_with_parent
            )
        except PortInUseError:
            attempts_left -= 1
            if port is not None or attempts_left == 0:
                raise


def _start_anvil(
    port: int,
    state_file: Path | None,
    state_interval_seconds: int | None,
    chain_id: int | None,
    extra_args: tuple[str, ...],
    log_file: Path | None,
    cache_dir: Path | None,
    in_memory_states: int,
    stop_with_parent: bool,
) -> AnvilNode:
    if not port_is_free(port):
        raise PortInUseError(f"port {port} on {LOCAL_HOST} is in use by another process: no anvil was started there")
    command = [anvil_binary(), "--host", LOCAL_HOST, "--port", str(port)]
    if chain_id is not None:
        command += ["--chain-id", str(chain_id)]
    command += ["--silent", "--prune-history"]
    if in_memory_states != NO_PAST_STATES:
        command.append(str(in_memory_states))
    if cache_dir is not None:
        command += ["--cache-path", str(cache_dir)]
    if state_file is not None:
        command += ["--state", str(state_file)]
        if state_interval_seconds is not None:
            command += ["--state-interval", str(state_interval_seconds)]
    if log_file is not None:
        command.remove("--silent")
        output = log_file.open("ab")
    else:
        output = subprocess.DEVNULL  # type: ignore[assignment]
    preexec = _terminate_when_parent_dies() if stop_with_parent and sys.platform == "linux" else None
    # The function run between fork and exec only calls prctl, resolved before the fork: it takes no
    # lock another thread could hold.
    process = subprocess.Popen([*command, *extra_args], stdout=output, stderr=subprocess.STDOUT, preexec_fn=preexec)  # noqa: PLW1509
    node = AnvilNode(process, port)
    try:
        _wait_until_answering(node)
    except BaseException:
        node.stop(kill=True)
        raise
    return node


def _terminate_when_parent_dies() -> Callable[[], None]:
    """A function for the child to run between fork and exec: from then on the kernel sends it
    SIGTERM when its parent dies. Linux's prctl is looked up here, in the parent."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def arrange() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))

    return arrange


def _wait_until_answering(node: AnvilNode) -> None:
    """Returns once `node`'s own process listens on its port and answers there. Where /proc cannot
    tell who listens, an answer while the process runs counts: the port was free just before."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        status = node.process.poll()
        if status is not None:
            if not port_is_free(node.port):
                raise PortInUseError(f"port {node.port} on {LOCAL_HOST} was taken by another process before anvil could listen there")
            raise GridError(f"anvil exited with status {status} before it answered on port {node.port}")
        if time.monotonic() > deadline:
            raise GridError(f"anvil did not answer on port {node.port} within {START_TIMEOUT_SECONDS:g} s")
        if _listens_on(node.process.pid, node.port) is not False:
            try:
                requests.post(node.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
                if node.process.poll() is None:
                    return
            except requests.ConnectionError:
                pass
        time.sleep(POLL_SECONDS)


def state_dump_begun_after(state_file: Path, timeout_s: float = 60.0) -> bytes:
    """The content of the first whole periodic state dump (`--state-interval`) that anvil began
    after this call: what a node restarted from the file at least has.

    anvil writes its dump in place, and a dump being written when the call comes may hold the
    chain of a moment before, with its accounts and its blocks read at different moments while
    blocks were being mined (restarted from it, a node had balances its logs did not explain).
    So: the dump in progress (or the next) is let finish, and the one after it is taken, whole.
    Raises GridError when none comes within `timeout_s`."""
    first = _next_whole_dump(state_file, time.time_ns(), timeout_s)
    return _next_whole_dump(state_file, first[0], timeout_s)[1]


def _next_whole_dump(state_file: Path, after_ns: int, timeout_s: float) -> tuple[int, bytes]:
    """(mtime, content) of a whole dump written after `after_ns` (a torn one does not parse)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            written_ns = state_file.stat().st_mtime_ns
            if written_ns > after_ns:
                content = state_file.read_bytes()
                # Unchanged while it was read, then whole: parsing a large state can outlast anvil's
                # next dump, so the check comes before it.
                if state_file.stat().st_mtime_ns == written_ns:
                    json.loads(content)
                    return written_ns, content
        except (FileNotFoundError, ValueError):
            pass  # not written yet, or being written
        time.sleep(STATE_DUMP_POLL_SECONDS)
    raise GridError(f"anvil wrote no whole state dump to {state_file} within {timeout_s:g} s")


@contextmanager
def anvil_node(**kwargs: object) -> Iterator[AnvilNode]:
    """`start_anvil(**kwargs)`, stopped on exit whatever happens."""
    node = start_anvil(**kwargs)  # type: ignore[arg-type]
    try:
        yield node
    finally:
        node.stop()


__all__ = [
    "AnvilNode",
    "PortInUseError",
    "anvil_binary",
    "anvil_node",
    "free_port",
    "port_is_free",
    "start_anvil",
    "state_dump_begun_after",
]

