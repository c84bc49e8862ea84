"""Faults for the soak: SIGKILL of a program of the live community at a moment chosen at random.

Each fault kills one program with SIGKILL, which it cannot catch or clean up after, and lets
supervisord restart it, as it would on a machine that runs the community:

- the gateway, the keeper: the service's own process (supervisorctl's pid);
- the broker: mosquitto, which loses what it had not saved yet (its QoS 1 queues are saved on exit
  and on its autosave interval);
- the chain: anvil itself, not the program that runs it, so its last periodic state dump is all it
  comes back with: the blocks after it are gone, and every service must notice the chain went back.

Beside the kills, three things a real chain does to the services (the hostile run's):

- `pause`: the guardian pauses SmartMeter for a few blocks, then the admin unpauses it (readings
  sent meanwhile are refused by the chain, not by the meter's fault, and must land after);
- `reorg`: the chain replaces its last 1 to 3 blocks with empty ones (anvil_reorg): the
  transactions of the dropped blocks are gone, and the services must notice and send again;
- `outage`: the node is stopped cleanly, stays down a while and starts again on its saved state.

The moments are drawn with a seeded generator over the part of the run that has readings to come,
at least `min_gap_s` apart, and a kill waits until the program killed before runs again.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

from energy_grid.chain.accounts import anvil_account
from energy_grid.contracts.client import GridClient
from energy_grid.live.stack import CHAIN_PROGRAM, PROGRAM_RUNNING, RunFolder, program_pid, program_states, supervisorctl

log = logging.getLogger("energy_grid.live.soak")

RESTART_WAIT_S = 120.0
POLL_S = 0.5
PAUSE = "pause"
REORG = "reorg"
OUTAGE = "outage"
CHAIN_EVENTS = (PAUSE, REORG, OUTAGE)
PAUSE_BLOCKS = (2, 5)  # the pause lasts this many blocks, at random
REORG_DEPTHS = (1, 3)
OUTAGE_S = (5.0, 20.0)  # wall seconds the node is down (at 60×: 5 to 20 minutes of chain time)
OPERATOR_DEV_ACCOUNT = 0  # local only: anvil's dev 0 is the guardian and the admin


@dataclass(frozen=True)
class Fault:
    program: str
    at_s: float  # seconds after the faults start


@dataclass
class FaultRecord:
    program: str
    at_s: float
    pid: int | None
    chain_head_before: int | None = None
    back_running_after_s: float | None = None
    detail: str = ""  # what a chain event did: the blocks paused, the depth reorganised, the seconds down


@dataclass
class FaultPlan:
    faults: list[Fault]
    done: list[FaultRecord] = field(default_factory=list)

    @staticmethod
    def draw(programs: list[str], rounds: int, window_s: float, min_gap_s: float, seed: int) -> FaultPlan:
        """Each program killed `rounds` times, in a random order, at moments spread over `window_s`:
        the window is cut into as many equal slots as faults, each fault at a random point of its slot
        at least `min_gap_s` after the slot's start."""
        order = [program for program in programs for _ in range(rounds)]
        generator = random.Random(seed)
        generator.shuffle(order)
        slot_s = window_s / max(len(order), 1)
        faults = [
            Fault(program, slot * slot_s + min(min_gap_s, slot_s) + generator.random() * max(slot_s - min_gap_s, 0.0))
            for slot, program in enumerate(order)
        ]
        return FaultPlan(faults)


class FaultInjector:
    """Runs a FaultPlan against the programs of a run folder, in a thread of its own."""

    def __init__(
        self, folder: RunFolder, plan: FaultPlan, chain_head: Callable[[], int], client: GridClient | None = None, seed: int = 0
    ) -> None:
        """`client` is needed for the chain events (pause, reorg)."""
        self.folder = folder
        self.plan = plan
        self.chain_head = chain_head
        self.client = client
        self.random = random.Random(seed)
        self.stop_event = threading.Event()
        self._thread = threading.Thread(target=self._run, name="faults", daemon=True)

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self._thread.join()

    def _run(self) -> None:
        for fault in self.plan.faults:
            wait_s = fault.at_s - (time.monotonic() - self._started)
            if self.stop_event.wait(max(wait_s, 0.0)):
                return
            try:
                record = self._chain_event(fault) if fault.program in CHAIN_EVENTS else self._kill(fault)
            except Exception as err:  # a fault that could not be made is recorded, not fatal to the run
                log.warning("fault: %s failed: %s: %s", fault.program, type(err).__name__, err)
                record = FaultRecord(fault.program, round(time.monotonic() - self._started, 1), None, detail=f"failed: {err}")
            self.plan.done.append(record)

    def _chain_event(self, fault: Fault) -> FaultRecord:
        record = FaultRecord(fault.program, round(time.monotonic() - self._started, 1), None)
        record.chain_head_before = self.chain_head()
        started = time.monotonic()
        if fault.program == OUTAGE:
            down_s = round(self.random.uniform(*OUTAGE_S), 1)
            log.info("fault: the node goes down for %.1f s", down_s)
            supervisorctl(self.folder, "stop", CHAIN_PROGRAM)
            self.stop_event.wait(down_s)
            supervisorctl(self.folder, "start", CHAIN_PROGRAM)
            record.detail = f"down {down_s:g} s"
            record.back_running_after_s = self._wait_head(started)
            return record
        assert self.client is not None, "chain events need the run's client"
        w3 = self.client.w3
        if fault.program == REORG:
            depth = self.random.randint(*REORG_DEPTHS)
            log.info("fault: the chain reorganises its last %d block(s)", depth)
            w3.provider.make_request("anvil_reorg", [depth, []])  # type: ignore[arg-type]
            record.detail = f"depth {depth}"
        else:
            blocks = self.random.randint(*PAUSE_BLOCKS)
            registry = self.client["SmartMeter"].functions
            operator = anvil_account(OPERATOR_DEV_ACCOUNT)
            log.info("fault: SmartMeter paused for %d blocks", blocks)
            self.client.transact(operator, registry.pause())
            paused_at = self.chain_head()
            while self.chain_head() < paused_at + blocks and not self.stop_event.wait(POLL_S):
                pass
            self.client.transact(operator, registry.unpause())
            record.detail = f"{blocks} blocks"
        record.back_running_after_s = round(time.monotonic() - started, 1)
        return record

    def _wait_head(self, started: float) -> float | None:
        """Seconds from `started` until the node answers again; None if it did not in time."""
        while time.monotonic() - started < RESTART_WAIT_S and not self.stop_event.is_set():
            try:
                self.chain_head()
                return round(time.monotonic() - started, 1)
            except Exception:  # still starting
                time.sleep(POLL_S)
        return None

    def _kill(self, fault: Fault) -> FaultRecord:
        record = FaultRecord(fault.program, round(time.monotonic() - self._started, 1), None)
        try:
            record.chain_head_before = self.chain_head()
        except Exception:  # the chain may be the one down
            record.chain_head_before = None
        program_before = program_pid(self.folder, fault.program)
        pid = program_before
        if pid is not None and fault.program == CHAIN_PROGRAM:
            # The node itself: the program is its parent, which anvil's death ends.
            children = psutil.Process(pid).children()
            pid = children[0].pid if children else pid
        record.pid = pid
        if pid is None or program_before is None:
            log.warning("fault: %s has no process to kill", fault.program)
            return record
        log.info("fault: SIGKILL to %s (pid %d)", fault.program, pid)
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        record.back_running_after_s = self._wait_running(fault.program, program_before, killed)
        return record

    def _wait_running(self, program: str, old_pid: int, killed: float) -> float | None:
        """Seconds until supervisord runs the program again in a process other than `old_pid`; None
        if it did not in time."""
        while time.monotonic() - killed < RESTART_WAIT_S and not self.stop_event.is_set():
            states = program_states(self.folder) or {}
            pid = program_pid(self.folder, program)
            if states.get(program) == PROGRAM_RUNNING and pid not in (None, old_pid):
                return round(time.monotonic() - killed, 1)
            time.sleep(POLL_S)
        return None


__all__ = ["CHAIN_EVENTS", "Fault", "FaultInjector", "FaultPlan", "FaultRecord"]
