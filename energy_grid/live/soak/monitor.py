"""The soak's view of the meters' topics: a monitor user that reads every reading and answer.

For each (meter, nonce) it keeps the wall time it first saw the reading and the time of its first
`accepted` answer: the difference is a reading's wall time from the meter's publish to its answer
(the broker hands a message to every subscriber at once, so the monitor sees a reading when the
gateway does). Every `rejected` answer is kept with its reason. Answers to one reading that come
again (a republished reading the gateway answers once more) are counted, not timed again.

The monitor reads with a clean session: what passes while the broker is down is not seen, so the
latency figures cover the readings it saw both ways, and every count that decides a goal comes
from the chain (chain_facts.py), not from here.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from energy_grid.services.mqtt import BrokerSettings, MqttLink

ReadingKey = tuple[str, int]  # (meter in lowercase, nonce)
TOPIC_PARTS = 5  # energy-grid/<chainId>/meters/<meter>/<leaf>


@dataclass(frozen=True)
class Rejection:
    meter: str
    nonce: int | None
    reason: str
    digest: str | None = None  # the signed reading it is about, when the message read as one


@dataclass
class Observed:
    """What the monitor saw; read once the run is over."""

    published_s: dict[ReadingKey, float] = field(default_factory=dict)
    accepted_s: dict[ReadingKey, float] = field(default_factory=dict)
    accepted_again: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    accepted_tx: dict[ReadingKey, str] = field(default_factory=dict)  # the transaction each first accepted answer named
    accepted_digest: dict[ReadingKey, str] = field(default_factory=dict)  # and the signed reading it was about
    payloads: dict[ReadingKey, bytes] = field(default_factory=dict)  # each meter's own reading, as published

    def latencies_s(self, keys: set[ReadingKey] | None = None) -> list[float]:
        """Publish-to-accepted wall times of the readings seen both ways (of `keys` only, if given)."""
        return [
            self.accepted_s[key] - published
            for key, published in self.published_s.items()
            if key in self.accepted_s and (keys is None or key in keys)
        ]

    def rejections_split(self, bad_digests: set[str]) -> tuple[Counter[str], Counter[str]]:
        """By reason: the rejections of the hostile device's messages (those that do not read as a
        signed reading, and its signed ones, by digest), and those of the meters' own readings."""
        bad: Counter[str] = Counter()
        own: Counter[str] = Counter()
        for rejection in self.rejections:
            mine = rejection.digest is not None and rejection.digest not in bad_digests
            (own if mine else bad)[rejection.reason] += 1
        return bad, own


def percentile(values: list[float], fraction: float) -> float | None:
    """The value below which `fraction` of `values` lie (nearest rank); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(values: list[float]) -> dict[str, Any]:
    """Count, median and 99th percentile of wall times, in seconds to the millisecond."""
    if not values:
        return {"readings": 0, "medianS": None, "p99S": None, "maxS": None}
    p99 = percentile(values, 0.99)
    return {
        "readings": len(values),
        "medianS": round(statistics.median(values), 3),
        "p99S": round(p99, 3) if p99 is not None else None,
        "maxS": round(max(values), 3),
    }


class Monitor:
    """Subscribes to every meter topic of the chain as the broker's monitor user."""

    def __init__(
        self,
        broker: BrokerSettings,
        chain_id: int,
        on_accepted: Callable[[ReadingKey], None] | None = None,
        foreign: Callable[[bytes], bool] | None = None,
    ) -> None:
        """`on_accepted` is called with each reading's first accepted answer; a reading whose payload
        is `foreign` (the soak's own bad messages) is not taken for the meter's publish."""
        self.observed = Observed()
        self._lock = threading.Lock()
        self._on_accepted = on_accepted
        self._foreign = foreign
        self._payloads: dict[ReadingKey, bytes] = {}  # each meter's own reading, by nonce
        self.link = MqttLink(broker, "energy-grid-soak-monitor", [f"energy-grid/{chain_id}/meters/#"], self._message)

    def start(self) -> None:
        self.link.connect()

    def stop(self) -> None:
        self.link.close()

    def snapshot(self) -> Observed:
        with self._lock:
            return Observed(
                dict(self.observed.published_s),
                dict(self.observed.accepted_s),
                self.observed.accepted_again,
                list(self.observed.rejections),
                dict(self.observed.accepted_tx),
                dict(self.observed.accepted_digest),
                dict(self._payloads),
            )

    def payload(self, key: ReadingKey) -> bytes | None:
        """The reading the meter itself published with that nonce, as published."""
        with self._lock:
            return self._payloads.get(key)

    def readings_seen(self, nonce: int) -> set[str]:
        """The meters whose reading with `nonce` the monitor has seen."""
        with self._lock:
            return {meter for meter, seen in self.observed.published_s if seen == nonce}

    def _message(self, topic: str, payload: bytes) -> None:
        now = time.monotonic()
        parts = topic.split("/")
        if len(parts) != TOPIC_PARTS:
            return
        meter, leaf = parts[3], parts[4]
        try:
            body: Any = json.loads(payload)
            nonce = body.get("nonce")
            nonce = int(nonce) if isinstance(nonce, (int, str)) and str(nonce).isdigit() else None
        except (ValueError, AttributeError, RecursionError):  # a hostile device's poison among the readings
            body, nonce = None, None
        accepted_now: ReadingKey | None = None
        with self._lock:
            seen = self.observed
            if leaf == "readings" and nonce is not None:
                if self._foreign is None or not self._foreign(payload):
                    seen.published_s.setdefault((meter, nonce), now)
                    self._payloads.setdefault((meter, nonce), payload)
            elif leaf == "accepted" and nonce is not None:
                if (meter, nonce) in seen.accepted_s:
                    seen.accepted_again += 1
                else:
                    seen.accepted_s[(meter, nonce)] = now
                    seen.accepted_tx[(meter, nonce)] = str(body.get("txHash", ""))
                    seen.accepted_digest[(meter, nonce)] = str(body.get("digest", ""))
                    accepted_now = (meter, nonce)
            elif leaf == "rejected":
                reason = str(body.get("reason")) if isinstance(body, dict) else "unreadable"
                digest = body.get("digest") if isinstance(body, dict) else None
                seen.rejections.append(Rejection(meter, nonce, reason, digest if isinstance(digest, str) else None))
        if accepted_now is not None and self._on_accepted is not None:
            self._on_accepted(accepted_now)


__all__ = ["Monitor", "Observed", "ReadingKey", "Rejection", "latency_summary", "percentile"]
