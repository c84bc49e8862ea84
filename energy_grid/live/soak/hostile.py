"""Bad input for the soak: messages a broken or hostile device sends among the meters' own.

Once a meter's reading of interval i is on chain (its accepted answer), the hostile device may
answer it with one bad message about that meter, of one of the kinds below, each of which the
gateway must refuse with the named reason without holding up anyone's good reading:

    malformed          the meter's own message cut short                          malformed
    wrong-topic        the meter's own message on another meter's topic           wrong-topic
    forged             the next nonce, signed by a key that is not the meter's     bad-signature
    replayed           nonce i again with other figures, signed by the meter      nonce-used
    out-of-order       nonce i + 2, signed by the meter                           nonce-ahead
    register-decreased nonce i + 1 with a lower import register, signed           register-decreased
    expired            nonce i + 1 with a deadline already past, signed           expired
    unknown-meter      a reading signed by a key no meter was registered with     unknown-meter
    deep-json          JSON arrays nested a thousand deep (a parser's recursion)  malformed
    huge-number        a nonce of 1,900 digits                                    malformed
    invalid-utf8       bytes that are not UTF-8                                   malformed
    random-bytes       64 to 512 random bytes                                     malformed
    fuzzed             the meter's own message with one to three random faults    malformed
                       (a field of another type or out of range, a field missing,
                       an unknown field, the object or its reading in an array)

The four before the last are the poison a broken device sends: each within the broker's and the
gateway's size limit, so that the gateway, not the broker, must refuse it. Fuzzed messages are half
of all, a stream of near-valid readings through every field of the message.

The messages go out through the fleet user (which may publish on every meter's readings topic). The
readings picked are chosen ahead from (meter, interval) pairs with a seeded generator, so a run
sends exactly `count` bad messages when every picked reading is answered.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from eth_keys.datatypes import PrivateKey

from energy_grid.domain.units import INTERVAL_SECONDS
from energy_grid.live.soak.monitor import Monitor, ReadingKey
from energy_grid.services.gateway.messages import parse_reading, reading_message, readings_topic
from energy_grid.services.mqtt import BrokerSettings, MqttLink
from energy_grid.signing.readings import DEADLINE_MARGIN_S, SignedReading, reading_digest, sign_reading_digest

log = logging.getLogger("energy_grid.live.soak")

# Each kind of bad message and the reason the gateway must answer it with.
EXPECTED_REASON = {
    "malformed": "malformed",
    "wrong-topic": "wrong-topic",
    "forged": "bad-signature",
    "replayed": "nonce-used",
    "out-of-order": "nonce-ahead",
    "register-decreased": "register-decreased",
    "expired": "expired",
    "unknown-meter": "unknown-meter",
    "deep-json": "malformed",
    "huge-number": "malformed",
    "invalid-utf8": "malformed",
    "random-bytes": "malformed",
    "fuzzed": "malformed",
}
POISON = ("deep-json", "huge-number", "invalid-utf8", "random-bytes")
DEEP_JSON_LEVELS = 1_000  # deeper than Python's default recursion limit leaves a parser
HUGE_NUMBER_DIGITS = 1_900  # and still within MAX_MESSAGE_BYTES
KINDS = tuple(EXPECTED_REASON)
FUZZED_SHARE = 0.5  # of the bad messages; the other kinds share the rest evenly
# Values no field of a reading's message takes: of another JSON type, negative, past uint256, not a
# decimal, not hex.
WRONG_VALUES: tuple[object, ...] = (None, True, 1.5, -1, 2**256, "twelve", "0x" + "zz" * 32, [], {})
FAULTS = ("retyped", "missing", "unknown", "in-array")
PUBLISH_TIMEOUT_S = 10.0
CUT_BYTES = 7  # what a malformed message lacks of its end


@dataclass(frozen=True)
class BadMessage:
    kind: str
    topic: str
    payload: bytes
    about: ReadingKey | None = None  # the (meter, nonce) the gateway's answer will name, when it can read one
    digest: str | None = None  # the digest of the signed reading it holds, which the answer names too


class HostileDevice:
    """Publishes a bad message after each picked reading's accepted answer (`on_accepted`)."""

    def __init__(
        self,
        broker: BrokerSettings,
        chain_id: int,
        separator: bytes,
        meter_keys: dict[str, PrivateKey],
        picked: set[ReadingKey],
        seed: int,
    ) -> None:
        self.chain_id = chain_id
        self.separator = separator
        self.keys = meter_keys  # meter in lowercase -> its device key
        self.meters = sorted(meter_keys)
        self.picked = set(picked)
        self.random = random.Random(seed)
        self.sent: Counter[str] = Counter()  # kind -> messages the broker acknowledged
        self.touched: set[ReadingKey] = set()  # the (meter, nonce) pairs of the bad messages sent
        self.digests: set[str] = set()  # the EIP-712 digests of the signed ones, which their answers name
        self._payloads: set[bytes] = set()
        self._lock = threading.Lock()
        self._queue: queue.Queue[ReadingKey | None] = queue.Queue()
        self.monitor: Monitor | None = None
        self.link = MqttLink(broker, "energy-grid-soak-hostile")
        self._worker = threading.Thread(target=self._run, name="hostile-device", daemon=True)

    @staticmethod
    def pick(meters: list[str], intervals: int, count: int, seed: int) -> set[ReadingKey]:
        """`count` (meter, interval) pairs of the first `intervals` − 1 intervals (the last one's
        reading has no next nonce to play with), or all of them if there are fewer."""
        pairs = [(meter, interval) for interval in range(max(intervals - 1, 0)) for meter in meters]
        return set(random.Random(seed).sample(pairs, min(count, len(pairs))))

    def start(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self.link.connect()
        self._worker.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._worker.join(timeout=PUBLISH_TIMEOUT_S)
        self.link.close()

    def is_ours(self, payload: bytes) -> bool:
        with self._lock:
            return payload in self._payloads

    def on_accepted(self, key: ReadingKey) -> None:
        """The monitor saw a reading's first accepted answer (called on the MQTT client's thread)."""
        if key in self.picked:
            self._queue.put(key)

    @property
    def expected_rejections(self) -> Counter[str]:
        """The rejections the bad messages sent must earn, by reason (several kinds share one)."""
        expected: Counter[str] = Counter()
        for kind, n in self.sent.items():
            expected[EXPECTED_REASON[kind]] += n
        return expected

    def _run(self) -> None:
        while (key := self._queue.get()) is not None:
            assert self.monitor is not None
            own = self.monitor.payload(key)
            if own is None:
                continue  # the monitor missed the meter's own message (the broker was down)
            kind = self.pick_kind()
            message = self.bad_message(kind, key[0], own)
            with self._lock:
                self._payloads.add(message.payload)
                if message.about is not None:
                    self.touched.add(message.about)  # before it is sent: its answer may come at once
                if message.digest is not None:
                    self.digests.add(message.digest)
            outcome = self.link.publish_all([(message.topic, message.payload)], timeout_s=PUBLISH_TIMEOUT_S)
            if outcome.complete:
                self.sent[kind] += 1
            else:
                log.warning("the broker did not take a bad message (%s): not counted", kind)

    def pick_kind(self) -> str:
        if self.random.random() < FUZZED_SHARE:
            return "fuzzed"
        others = [kind for kind in KINDS if kind != "fuzzed"]
        return others[self.random.randrange(len(others))]

    def bad_message(self, kind: str, meter: str, own_payload: bytes) -> BadMessage:
        """A bad message of `kind` about `meter`, made from the reading it published (`own_payload`)."""
        topic = readings_topic(self.chain_id, meter)
        own = parse_reading(topic, own_payload, self.chain_id)
        timestamp, consumption, production, frequency, voltage = own.reading
        later = (timestamp + INTERVAL_SECONDS, consumption, production, frequency, voltage)
        key, stranger = self.keys[meter], PrivateKey(self.random.randbytes(32))
        # A deadline that cannot pass before the gateway reads the message: the meter's own may have
        # (its margin can be a few blocks), and a deadline is checked before the register.
        deadline = later[0] + DEADLINE_MARGIN_S
        if kind == "malformed":
            return BadMessage(kind, topic, own_payload[:-CUT_BYTES])
        if kind in POISON:
            return BadMessage(kind, topic, self._poison(kind))
        if kind == "fuzzed":
            # The answer names the meter's nonce when the fault leaves it readable.
            return BadMessage(kind, topic, self._fuzzed(own_payload), (meter, own.nonce))
        if kind == "wrong-topic":
            other = self.meters[(self.meters.index(meter) + 1) % len(self.meters)]
            return BadMessage(kind, readings_topic(self.chain_id, other), own_payload, (other, own.nonce))
        signed = {
            "forged": lambda: replace(self._signed(stranger, own.nonce + 1, deadline, later), meter=own.meter),
            "replayed": lambda: self._signed(key, own.nonce, deadline, (timestamp, consumption + 1, *own.reading[2:])),
            "out-of-order": lambda: self._signed(key, own.nonce + 2, deadline, (timestamp + 2 * INTERVAL_SECONDS, *own.reading[1:])),
            "register-decreased": lambda: self._signed(key, own.nonce + 1, deadline, (later[0], consumption - 1, *own.reading[2:])),
            "expired": lambda: self._signed(key, own.nonce + 1, timestamp, later),
            "unknown-meter": lambda: self._signed(stranger, 0, deadline, own.reading),
        }[kind]()
        digest = "0x" + reading_digest(self.separator, signed.meter, signed.nonce, signed.deadline, signed.reading).hex()
        topic = readings_topic(self.chain_id, signed.meter)
        return BadMessage(kind, topic, reading_message(signed), (signed.meter.lower(), signed.nonce), digest)

    def _poison(self, kind: str) -> bytes:
        if kind == "deep-json":
            return b"[" * DEEP_JSON_LEVELS + b"]" * DEEP_JSON_LEVELS
        if kind == "huge-number":
            return b'{"nonce":' + b"9" * HUGE_NUMBER_DIGITS + b"}"
        if kind == "invalid-utf8":
            return b'{"nonce": 1, "r": "\xff\xfe\xc3\x28"}'
        return self.random.randbytes(self.random.randint(64, 512))

    def _fuzzed(self, own_payload: bytes) -> bytes:
        """The meter's own message with one to three faults, each of which alone makes it malformed and
        none of which undoes another: each touches one of the message's own fields that no fault has
        touched before."""
        message: Any = json.loads(own_payload)
        untouched = {"message": set(message), "reading": set(message["reading"])}
        for _ in range(self.random.randint(1, 3)):
            if not isinstance(message, dict):
                break  # in an array already
            # The reading's fields only while the message's "reading" is untouched.
            own_reading = "reading" in untouched["message"]
            roles = [role for role in ("message", "reading") if untouched[role] and (role == "message" or own_reading)]
            if not roles:
                break
            role = self.random.choice(roles)
            fields = message if role == "message" else message["reading"]
            name = self.random.choice(sorted(untouched[role]))
            untouched[role].discard(name)
            fault = self.random.choice(FAULTS)
            if fault == "retyped":
                fields[name] = json.loads(json.dumps(self.random.choice(WRONG_VALUES)))  # a copy of its own
            elif fault == "missing":
                del fields[name]
            elif fault == "unknown":
                fields[name + "Extra"] = self.random.randrange(10**6)
            elif fields is message:
                message = [message]
            else:
                message["reading"] = [fields]
                untouched["message"].discard("reading")
        return json.dumps(message).encode()

    def _signed(self, key: PrivateKey, nonce: int, deadline: int, reading: tuple[int, int, int, int, int]) -> SignedReading:
        return sign_reading_digest(key, self.separator, nonce, deadline, reading)


__all__ = ["EXPECTED_REASON", "KINDS", "BadMessage", "HostileDevice"]
