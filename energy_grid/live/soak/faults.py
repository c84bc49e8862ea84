"""Faults for the soak: SIGKILL of a program of the live community at a moment chosen at random.

Each fault kills one program with SIGKILL, which it cannot catch or clean up after, and lets
supervisord restart it, as it would on a machine that runs the community:

- the gateway, the keeper: the service's own process (supervisorctl's pid);
- the broker: mosquitto, which loses what it had not saved yet (its QoS 1 queues are saved on exit
  and on its autosave interval);
- the chain: anvil itself, not the program that runs it, so its last periodic state dump is all it
  comes back with: the blocks after it are gone, and every service must notice the chain went back.

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

from energy_grid.live.stack import CHAIN_PROGRAM, PROGRAM_RUNNING, RunFolder, program_pid, program_states

log = logging.getLogger("energy_grid.live.soak")

RESTART_WAIT_S = 120.0
POLL_S = 0.5


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

    def __init__(self, folder: RunFolder, plan: FaultPlan, chain_head: Callable[[], int]) -> None:
        self.folder = folder
        self.plan = plan
        self.chain_head = chain_head
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
            self.plan.done.append(self._kill(fault))

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


__all__ = ["Fault", "FaultInjector", "FaultPlan", "FaultRecord"]
