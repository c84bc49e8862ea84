"""Quotas over a sliding window: at most `units` per key in any `window_s` seconds.

    quotas = Quotas({"account": Limit(30, 3_600), "client": Limit(120, 3_600)})
    quotas.take({"account": trader, "client": "203.0.113.7"}, units=2)   # QuotaExceeded when either is used up

A take passes every quota it names or records nothing. Each key keeps the times of its units of the
last window (at most `units` of them), a refused take adds no key, and once per window the keys with
nothing left in theirs are dropped: the memory held is that of the keys used in the last two windows.
Thread-safe. The clock (monotonic seconds) is an argument, so a test steps it instead of waiting.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True)
class Limit:
    units: int
    window_s: float


class QuotaExceeded(Exception):
    """`quota` has no room for the take: room comes back after `retry_after_s` (whole seconds, at least 1)."""

    def __init__(self, quota: str, key: str, limit: Limit, retry_after_s: int) -> None:
        super().__init__(f"{quota} {key}: {limit.units} units in {limit.window_s} s used up; room in {retry_after_s} s")
        self.quota = quota
        self.key = key
        self.limit = limit
        self.retry_after_s = retry_after_s


class Quotas:
    """Named limits, each counted per key (see the module's docstring)."""

    def __init__(self, limits: Mapping[str, Limit], clock: Clock = time.monotonic) -> None:
        self._limits = dict(limits)
        self._clock = clock
        self._lock = threading.Lock()
        self._used: dict[tuple[str, str], deque[float]] = {}
        self._longest_window_s = max((limit.window_s for limit in self._limits.values()), default=0.0)
        self._sweep_at = clock() + self._longest_window_s

    def take(self, keys: Mapping[str, str], units: int = 1) -> None:
        """Records `units` against each `quota: key` of `keys`, or raises QuotaExceeded for the quota
        that frees up last (the caller can do nothing before then) and records nothing."""
        with self._lock:
            now = self._clock()
            self._sweep(now)
            refusals = []
            for quota, key in keys.items():
                limit = self._limits[quota]
                used = self._used.get((quota, key), deque())
                _expire(used, now - limit.window_s)
                over = len(used) + units - limit.units
                if over > 0:
                    # The `over` oldest units must leave the window first; more units than the limit never fit.
                    free_at = used[over - 1] + limit.window_s if units <= limit.units else now + limit.window_s
                    refusals.append(QuotaExceeded(quota, key, limit, max(1, math.ceil(free_at - now))))
            if refusals:
                raise max(refusals, key=lambda refusal: refusal.retry_after_s)
            for quota, key in keys.items():
                self._used.setdefault((quota, key), deque()).extend([now] * units)

    def tracked_keys(self) -> int:
        """How many keys hold units now (what the quotas keep in memory)."""
        with self._lock:
            return len(self._used)

    def _sweep(self, now: float) -> None:
        if now < self._sweep_at:
            return
        for (quota, key), used in list(self._used.items()):
            _expire(used, now - self._limits[quota].window_s)
            if not used:
                del self._used[(quota, key)]
        self._sweep_at = now + self._longest_window_s


def _expire(used: deque[float], before: float) -> None:
    """Drops the units taken at or before `before`: they have left the window."""
    while used and used[0] <= before:
        used.popleft()


__all__ = ["Clock", "Limit", "QuotaExceeded", "Quotas"]
