"""The gateway service: meters' signed readings from MQTT to SmartMeter, nothing lost, nothing twice.

    energy-grid --keystore gateway.json gateway --broker broker.example:1883 --broker-user gateway \\
        --store /var/lib/energy-grid/gateway.sqlite

One loop, on one thread:
1. Messages (paho-mqtt's network thread only queues them): each is parsed, its signature checked,
   and its reading checked against the meter's view (energy_grid.services.gateway.messages);
   a refused one is answered on the meter's `rejected` topic with its reason code; the accepted
   ones of a burst are written to the store in one commit, and only then is every message of the
   burst acknowledged (QoS 1, manual acknowledgement): a gateway killed before the commit gets the
   messages again from the broker, one killed after it has them on disk.
2. At each new block: the block's number and time are published, retained, on the chain's clock
   topic (`energy-grid/<chainId>/clock`, messages.clock_message), which meter agents stamp their
   readings by; the chain is checked for having gone back (a node restarted from an older
   state: readings recorded as mined that the chain no longer has wait again); transactions in
   flight are followed (mined batches answered on each meter's `accepted` topic, stuck ones
   replaced with higher fees); readings whose deadline passes before the next block are refused
   `expired`; waiting readings are sent in batches (energy_grid.services.gateway.submitter), a
   meter's readings behind one the chain refused held until it is signed again.

The MQTT session is persistent (a fixed client id, MQTT 3.1.1's clean session off): readings
published while the gateway is down wait at the broker, also across a broker restart with
persistence on (Debian's mosquitto 2.0 was seen to keep a 3.1.1 session's queue through a restart
and to lose an MQTT 5 one's).

A partial batch waits for the burst of an interval's readings to end (no message for a block) or
for its oldest reading to have waited `max_wait_blocks` blocks; a full batch goes at once.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from eth_account.signers.local import LocalAccount
from prometheus_client import Counter, Gauge, Histogram

from energy_grid.chain.fees import FeePolicy
from energy_grid.contracts.base import CONNECTION_ERRORS
from energy_grid.contracts.client import GridClient
from energy_grid.services.gateway.chain_view import ChainView
from energy_grid.services.gateway.messages import (
    MessageCode,
    Rejected,
    accepted_answer,
    answer_topic,
    check_deadline,
    check_reading,
    clock_message,
    clock_topic,
    meter_of_topic,
    parse_reading,
    readings_subscription,
    verify_signature,
)
from energy_grid.services.gateway.store import ReadingState, ReadingStore
from energy_grid.services.gateway.submitter import TOO_MUCH_GAS, BatchSubmitter, Mined, Refused
from energy_grid.services.mqtt import BrokerSettings
from energy_grid.services.reading_rules import RefusalCode
from energy_grid.services.runtime import ChainClock, ChainHead, ServiceError, ServiceMetrics
from energy_grid.signing.readings import SignedReading, domain_separator, reading_digest

log = logging.getLogger("energy_grid.gateway")

MAX_BURST = 2_000  # messages taken from the queue before the store's commit and the acknowledgements
CONNECT_TIMEOUT_S = 30.0
HEALTHY_STEP_S = 30.0  # a loop that has not stepped for this long is stuck


@dataclass(frozen=True)
class GatewaySettings:
    store_path: Path
    broker: BrokerSettings
    max_wait_blocks: int = 2
    max_in_flight: int = 16  # a thousand meters' interval is ten full batches: they all go out at once
    stuck_after_blocks: int = 3
    # Blocks a batch's block must be deep before its readings are answered `accepted` (1: mined in the
    # latest block). Locally 1; on a real network as deep as its reorganisations go (a few blocks on a
    # proof-of-stake chain before finality, more on a rollup's unsafe head).
    confirmations: int = 1
    future_tolerance_s: int = 900  # a reading up to this far after the chain's clock is held, not refused
    fee_policy: FeePolicy = field(default_factory=FeePolicy)
    client_id: str | None = None  # default: one per account and chain


class GatewayMetrics(ServiceMetrics):
    def __init__(self) -> None:
        super().__init__("gateway")
        self.received: Counter = self.counter("readings_received", "Reading messages received.")
        self.rejected: Counter = self.counter("readings_rejected", "Readings refused, by reason.", ["reason"])
        self.accepted: Counter = self.counter("readings_accepted", "Readings checked and stored.")
        self.duplicates: Counter = self.counter("readings_duplicate", "Messages of a reading already stored (redeliveries).")
        self.submitted: Counter = self.counter("readings_submitted", "Readings sent in a transaction.")
        self.on_chain: Counter = self.counter("readings_on_chain", "Readings in a mined block.")
        self.late: Counter = self.counter("readings_late", "Readings mined after their market's clearing time.")
        self.waiting: Gauge = self.gauge("readings_waiting", "Readings stored and not yet sent.")
        self.in_flight: Gauge = self.gauge("readings_in_flight", "Readings in transactions not yet mined.")
        self.deadline_margin: Histogram = Histogram(
            self.name("seconds_before_deadline"),
            "Chain seconds between a reading's block and its market's clearing time (negative: late).",
            buckets=(-900, -60, 0, 60, 120, 300, 600, 900, 1_200, 1_800, 3_600),
            registry=self.registry,
        )
        self.batch_size: Histogram = Histogram(
            self.name("batch_readings"), "Readings per mined batch.", buckets=(1, 5, 10, 25, 50, 75, 100), registry=self.registry
        )
        self.connected: Gauge = self.gauge("broker_connected", "1 while the MQTT session is up.")
        self.deferred: Counter = self.counter(
            "batches_deferred", "Batches held back for a reason naming no reading (paused, no revert data), by reason.", ["reason"]
        )


class Gateway:
    """One gateway: its store, its MQTT session and its transactions."""

    def __init__(self, client: GridClient, account: LocalAccount, settings: GatewaySettings, metrics: GatewayMetrics | None = None) -> None:
        self.client = client
        self.settings = settings
        self.metrics = metrics or GatewayMetrics()
        self.chain_id = int(client.w3.eth.chain_id)
        self.smart_meter = client["SmartMeter"].address
        self._separator = domain_separator(self.chain_id, self.smart_meter)
        self.store = ReadingStore(settings.store_path)
        self.view = ChainView(client, self.store)
        self.clock = ChainClock(client.w3)
        self.submitter = BatchSubmitter(
            client,
            account,
            self.store,
            fee_policy=settings.fee_policy,
            stuck_after_blocks=settings.stuck_after_blocks,
            confirmations=settings.confirmations,
        )
        self._messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._connected = threading.Event()
        self._head: ChainHead | None = None
        self._arrived_at_block: dict[tuple[str, int], int] = {}
        self._last_message_block = -1
        self._last_step = time.monotonic()
        self._last_error: str | None = None  # the last step's failure, shown in /health
        self._unfinished: list[mqtt.MQTTMessage] = []  # a burst the node failed in the middle of
        client_id = settings.client_id or f"energy-grid-gateway-{self.chain_id}-{account.address.lower()}"
        self.mqtt = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, clean_session=False, manual_ack=True
        )
        if settings.broker.user is not None:
            self.mqtt.username_pw_set(settings.broker.user, settings.broker.password)
        self.mqtt.on_connect = self._on_connect
        self.mqtt.on_disconnect = self._on_disconnect
        self.mqtt.on_message = lambda _client, _userdata, message: self._messages.put(message)
        self.mqtt.reconnect_delay_set(min_delay=1, max_delay=10)

    # ------------------------------------------------------------------ MQTT

    def connect(self) -> None:
        broker = self.settings.broker
        try:
            self.mqtt.connect(broker.host, broker.port, keepalive=30)
        except OSError as err:
            raise ServiceError(
                f"no MQTT broker answers at {broker.host}:{broker.port} ({err}); start one (make broker installs mosquitto)"
            ) from None
        self.mqtt.loop_start()
        if not self._connected.wait(CONNECT_TIMEOUT_S):
            self.mqtt.loop_stop()
            raise ServiceError(f"the broker at {broker.host}:{broker.port} did not accept the gateway's session (user and password?)")

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any) -> None:
        if reason_code.is_failure:
            log.error("the broker refused the session: %s", reason_code)
            return
        client.subscribe(readings_subscription(self.chain_id), qos=1)
        if self._head is not None:
            self._publish_clock(self._head)
        self.metrics.connected.set(1)
        self._connected.set()
        log.info("connected to the broker, subscribed to %s", readings_subscription(self.chain_id))

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any) -> None:
        self.metrics.connected.set(0)
        self._connected.clear()
        log.warning("disconnected from the broker (%s): reconnecting", reason_code)

    def close(self) -> None:
        self.mqtt.disconnect()
        self.mqtt.loop_stop()
        self.store.close()

    def _answer(self, meter: str, accepted: bool, payload: bytes) -> None:
        self.mqtt.publish(answer_topic(self.chain_id, meter, accepted), payload, qos=1)

    def _publish_clock(self, head: ChainHead) -> None:
        """The chain's clock, retained: a meter agent that connects later reads the latest at once and
        stamps its readings by it (a local chain's clock is not the wall's)."""
        self.mqtt.publish(clock_topic(self.chain_id), clock_message(head.number, head.timestamp_s), qos=1, retain=True)

    # ------------------------------------------------------------------ the loop

    def start(self) -> None:
        """Connects, and settles what a previous run left in flight."""
        self._head = self.clock.head()
        mined, requeued = self.submitter.reconcile()
        self._record(mined, requeued)
        self.connect()

    def run(self, stop: threading.Event, poll_s: float = 0.2) -> None:
        self.start()
        try:
            while not stop.is_set():
                self.step(poll_s)
        finally:
            self.close()

    def step(self, wait_s: float) -> None:
        """Takes the messages that arrive within `wait_s`, then acts on the chain if a block came."""
        self._last_step = time.monotonic()
        try:
            self._take_messages(wait_s)
            head = self.clock.head()
            if self._head is None or head.block_hash != self._head.block_hash:
                self._on_block(head)
            self._last_error = None
        except TRANSIENT_ERRORS as err:
            # The node is down or restarting: nothing is lost, the next step tries again.
            self.metrics.errors.inc()
            self._last_error = f"{type(err).__name__}: {err}"
            log.warning("the node did not answer (%s): trying again", err)
            time.sleep(min(wait_s * 5, 2.0))
        except Exception as err:  # the chain answered something the gateway did not expect: it says so and goes on
            self.metrics.errors.inc()
            error = f"{type(err).__name__}: {err}"
            if error != self._last_error:
                log.exception("a step failed: trying again")
            self._last_error = error
            time.sleep(min(wait_s * 5, 2.0))

    def _take_messages(self, wait_s: float) -> None:
        burst, self._unfinished = self._unfinished, []
        again = len(burst)
        if not burst:
            try:
                burst = [self._messages.get(timeout=wait_s)]
            except queue.Empty:
                return
        while len(burst) < MAX_BURST:
            try:
                burst.append(self._messages.get_nowait())
            except queue.Empty:
                break
        self.metrics.received.inc(len(burst) - again)
        # The burst's readings by meter and nonce: a second copy of one (a redelivery) is not a new reading.
        accepted: dict[tuple[str, int], SignedReading] = {}
        try:
            head = self._head or self.clock.head()
            self.view.prefetch(self._meters_of(burst))
            for message in burst:
                signed = self._check(message, head, accepted)
                if signed is not None:
                    accepted[(signed.meter, signed.nonce)] = signed
        except TRANSIENT_ERRORS:
            # The node failed mid-burst: nothing of it is stored or acknowledged, so the whole burst is
            # checked again at the next step, against the meters' records read anew.
            for meter, _ in accepted:
                self.view.forget(meter)
            self._unfinished = burst
            raise
        if accepted:
            self.store.accept_many(accepted.values(), head.timestamp_s)
            for key in accepted:
                self._arrived_at_block[key] = head.number
        for message in burst:
            self.mqtt.ack(message.mid, message.qos)
        self._last_message_block = head.number

    def _meters_of(self, burst: list[mqtt.MQTTMessage]) -> list[str]:
        """The meters the burst's topics name (a topic that names none is refused in `_check`)."""
        meters = []
        for message in burst:
            try:
                meters.append(meter_of_topic(_topic(message), self.chain_id))
            except Rejected:
                continue
        return meters

    def _check(self, message: mqtt.MQTTMessage, head: ChainHead, burst: dict[tuple[str, int], SignedReading]) -> SignedReading | None:
        """The message's reading if it is new and passes every check; else None (answered if refused).
        Whatever a message holds, it is refused on its own: an error that reading it raises refuses it
        as malformed, and only the node or the store failing stops the burst (to be taken again)."""
        meter = ""
        try:
            meter = meter_of_topic(_topic(message), self.chain_id)
            return self._checked(message, head, burst)
        except Rejected as rejected:
            self._reject(meter, _topic(message), rejected)
        except TRANSIENT_ERRORS:
            raise
        except Exception as err:  # a message must never stop the gateway, whatever it makes the checks raise
            self._reject(meter, _topic(message), Rejected(MessageCode.MALFORMED, f"the message could not be read ({type(err).__name__})"))
            log.warning("a message on %s raised %s while it was checked: refused as malformed", _topic(message), type(err).__name__)
        return None

    def _reject(self, meter: str, topic: str, rejected: Rejected) -> None:
        self.metrics.rejected.labels(reason=rejected.code).inc()
        log.info("rejected a reading of %s (nonce %s): %s: %s", meter or topic, rejected.nonce, rejected.code, rejected.message)
        if meter:
            self._answer(meter, False, rejected.answer())

    def _checked(self, message: mqtt.MQTTMessage, head: ChainHead, burst: dict[tuple[str, int], SignedReading]) -> SignedReading | None:
        """The checks of one message, which raise Rejected with the reason. A reading the gateway holds
        already (stored, or earlier in this burst) is a duplicate, not a new reading; a nonce the chain
        refused a reading under is free for the meter's next one."""
        signed = parse_reading(_topic(message), bytes(message.payload), self.chain_id)
        try:
            return self._checked_reading(signed, head, burst)
        except Rejected as rejected:
            rejected.digest = self._digest(signed)
            raise

    def _checked_reading(self, signed: SignedReading, head: ChainHead, burst: dict[tuple[str, int], SignedReading]) -> SignedReading | None:
        verify_signature(signed, self.chain_id, self.smart_meter)
        if burst.get((signed.meter, signed.nonce)) == signed:
            self.metrics.duplicates.inc()
            return None
        stored = self.store.get(signed.meter, signed.nonce)
        if stored is not None and stored.state != ReadingState.REFUSED:
            if stored.signed == signed:
                self._on_duplicate(stored.state, stored.tx_hash, stored.block_number, signed)
                return None
            taken = f"nonce {signed.nonce} is taken by another reading of meter {signed.meter}"
            raise Rejected(MessageCode.NONCE_USED, taken, signed.nonce)
        limits = self.view.limits_at(head.timestamp_s + self.settings.future_tolerance_s)
        # A reading under a nonce the chain refused here is checked against the reading before it.
        meter = self.view.meter(signed.meter) if stored is None else self.view.before(signed.meter, signed.nonce)
        if signed.nonce < meter.next_nonce and (found := self.view.reading_on_chain(signed)) is not None:
            # The chain holds this very reading under a nonce the gateway has no record of taking
            # (sent by another gateway, or before this store): it is accepted, and the meter told where.
            self.metrics.duplicates.inc()
            self.store.found_on_chain(signed.meter, signed.nonce, found.tx_hash, found.block_number)
            self._answer(signed.meter, True, self._accepted(signed, found.tx_hash, found.block_number))
            return None
        check_reading(signed, meter, limits, next_block_s=self.clock.next_block_s(head))
        self.view.advance(signed)
        self.metrics.accepted.inc()
        return signed

    def _on_duplicate(self, state: ReadingState, tx_hash: str | None, block_number: int | None, signed: SignedReading) -> None:
        """A reading stored already: a redelivery, or a device publishing again after a restart.
        One on chain is answered again, so the device learns where it went."""
        self.metrics.duplicates.inc()
        if state == ReadingState.ON_CHAIN and tx_hash is not None and block_number is not None:
            self._answer(signed.meter, True, self._accepted(signed, tx_hash, block_number))

    def _accepted(self, signed: SignedReading, tx_hash: str, block_number: int) -> bytes:
        head_number = block_number if self._head is None else self._head.number
        return accepted_answer(signed.nonce, tx_hash, block_number, max(1, head_number - block_number + 1), self._digest(signed))

    def _digest(self, signed: SignedReading) -> str:
        """The EIP-712 digest the meter signed: each answer names the signed reading it is about."""
        return "0x" + reading_digest(self._separator, signed.meter, signed.nonce, signed.deadline, signed.reading).hex()

    def _on_block(self, head: ChainHead) -> None:
        previous, self._head = self._head, head
        self.metrics.observe_head(head)
        self._publish_clock(head)
        if previous is not None and self._went_back(previous, head):
            self._after_rollback(head)
        next_block_s = self.clock.next_block_s(head)
        followed = self.submitter.follow(head, next_block_s)
        self._record(followed.mined, followed.requeued)
        self.metrics.transactions.labels(outcome="replaced").inc(followed.replaced)
        self.metrics.stuck.set(followed.stuck)
        self._unexpired(self.store.held(), next_block_s)
        waiting = self._unexpired(self.store.waiting(), next_block_s)
        oldest = min((self._arrived_at_block.get((s.meter, s.nonce), -1) for s in waiting), default=head.number)
        quiet = self._last_message_block < head.number
        send_partial = quiet or head.number - oldest >= self.settings.max_wait_blocks
        sent = self.submitter.send_waiting(
            head,
            waiting,
            send_partial=send_partial,
            max_in_flight=self.settings.max_in_flight,
            on_refused=self._refused,
            on_deferred=lambda deferred: self.metrics.deferred.labels(reason=deferred.reason).inc(),
        )
        self.metrics.submitted.inc(sent)
        counts = self.store.counts()
        self.metrics.waiting.set(counts[ReadingState.ACCEPTED])
        self.metrics.in_flight.set(counts[ReadingState.SUBMITTED])
        self.metrics.processed(head.number, head.number)

    def _unexpired(self, waiting: list[SignedReading], next_block_s: int) -> list[SignedReading]:
        """The waiting (or held) readings that can still be in the next block; each whose deadline
        passes before it is refused `expired`, so that no batch reverts for it once mined, and its
        meter's later readings are held behind it."""
        kept: list[SignedReading] = []
        refused: set[str] = set()
        for signed in waiting:
            if signed.meter in refused:
                continue
            try:
                check_deadline(signed, next_block_s)
            except Rejected as rejected:
                self._refused(Refused(signed, "ReadingSignatureExpired", rejected.message))
                refused.add(signed.meter)
                continue
            kept.append(signed)
        return kept

    def _went_back(self, previous: ChainHead, head: ChainHead) -> bool:
        if head.number < previous.number:
            return True
        block = self.client.w3.eth.get_block(previous.number)
        return bytes(block["hash"]).hex() != previous.block_hash

    def _after_rollback(self, head: ChainHead) -> None:
        """The chain went back: every meter's record is read again, and the transactions are settled
        against it (those of dropped blocks sent again, once, from their signed bytes)."""
        self.view.forget_all()
        mined, back = self.submitter.reconcile()
        self._record(mined, back)
        log.warning("the chain went back to block %d: %d readings wait to be sent again", head.number, len(back))

    def _record(self, mined: list[Mined], requeued: list[SignedReading]) -> None:
        for batch in mined:
            for signed in batch.left_out:
                self.view.forget(signed.meter)
            if batch.reverted:
                self.metrics.transactions.labels(outcome="reverted").inc()
                count = len(batch.readings)
                log.warning("batch %s reverted in block %d: its %d readings are checked again", batch.tx_hash, batch.block_number, count)
                for signed in batch.readings:
                    self.view.forget(signed.meter)
                continue
            self.metrics.transactions.labels(outcome="mined").inc()
            self.metrics.gas_used.inc(batch.gas_used)
            self.metrics.batch_size.observe(len(batch.readings))
            for signed in batch.readings:
                self.metrics.on_chain.inc()
                clearing_s = self.view.clearing_time_s(signed.reading[0])
                if clearing_s is not None:
                    margin_s = clearing_s - batch.block_timestamp_s
                    self.metrics.deadline_margin.observe(margin_s)
                    if margin_s < 0:
                        self.metrics.late.inc()
                self._arrived_at_block.pop((signed.meter, signed.nonce), None)
                self._answer(signed.meter, True, self._accepted(signed, batch.tx_hash, batch.block_number))
            log.info(
                "%d readings on chain in block %d (%s, %d gas)", len(batch.readings), batch.block_number, batch.tx_hash, batch.gas_used
            )
        for signed in requeued:
            self.view.forget(signed.meter)

    def _refused(self, refused: Refused) -> None:
        """Answers a reading the chain refuses. A nonce below the meter's next one may be taken by this
        very reading, put on chain another way (another gateway, the meter's own transaction) while it
        waited here: the meter is then told `accepted`, with the transaction that holds it. A refusal of
        the meter itself (unknown, inactive) refuses the readings held behind this one with it."""
        signed = refused.signed
        self._arrived_at_block.pop((signed.meter, signed.nonce), None)
        self.view.forget(signed.meter)
        code = CHAIN_REFUSALS.get(refused.error_name, REFUSED_ON_CHAIN)
        if refused.error_name == "InvalidReadingNonce":
            if signed.nonce > int(refused.arguments.get("expectedNonce", signed.nonce)):
                code = MessageCode.NONCE_AHEAD
            elif (found := self.view.reading_on_chain(signed)) is not None:
                self.metrics.duplicates.inc()
                self.store.found_on_chain(signed.meter, signed.nonce, found.tx_hash, found.block_number)
                self._answer(signed.meter, True, self._accepted(signed, found.tx_hash, found.block_number))
                return
        behind = [held for held in self.store.held() if held.meter == signed.meter] if refused.error_name in METER_REFUSALS else []
        for answered in [signed, *behind]:
            self.store.refuse(answered.meter, answered.nonce, refused.message)
            self.metrics.rejected.labels(reason=code).inc()
            log.warning("reading nonce %d of %s refused: %s", answered.nonce, answered.meter, refused.message)
            self._answer(answered.meter, False, Rejected(code, refused.message, answered.nonce, self._digest(answered)).answer())

    def health(self) -> dict[str, Any]:
        """Healthy while the broker session is up and the loop steps; the figures a dashboard shows."""
        since_step_s = time.monotonic() - self._last_step
        return {
            "healthy": self._connected.is_set() and since_step_s < HEALTHY_STEP_S,
            "broker_connected": self._connected.is_set(),
            "chain_head": None if self._head is None else self._head.number,
            "seconds_since_step": round(since_step_s, 1),
            "last_error": self._last_error,
        }


# Errors that say the node or the disk failed, not the message: the burst is taken again once they pass.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (*CONNECTION_ERRORS, OSError, TimeoutError, sqlite3.Error)


def _topic(message: mqtt.MQTTMessage) -> str:
    """The message's topic; one whose bytes are not UTF-8 (the broker should refuse it) reads as its repr."""
    try:
        return message.topic
    except UnicodeDecodeError:
        return repr(message._topic)


# What SmartMeter's refusals of a reading the gateway had accepted are answered with: the codes of
# the same rules where there is one.
CHAIN_REFUSALS: dict[str, str] = {
    "MeterUnknown": MessageCode.UNKNOWN_METER,
    "MeterInactive": MessageCode.INACTIVE_METER,
    "InvalidReadingNonce": MessageCode.NONCE_USED,
    "ReadingSignatureExpired": MessageCode.EXPIRED,
    "InvalidReadingSignature": MessageCode.BAD_SIGNATURE,
    "MalleableReadingSignature": MessageCode.BAD_SIGNATURE,
    "ReadingNotAfterPrevious": RefusalCode.NOT_AFTER_PREVIOUS,
    "ReadingTooFrequent": RefusalCode.TOO_FREQUENT,
    "ReadingTooOld": RefusalCode.TOO_OLD,
    "ReadingInFuture": RefusalCode.IN_FUTURE,
    "ConsumptionRegisterDecreased": RefusalCode.REGISTER_DECREASED,
    "ProductionRegisterDecreased": RefusalCode.REGISTER_DECREASED,
    "RegisterOutOfRange": RefusalCode.REGISTER_TOO_LARGE,
    "FrequencyOutOfBounds": RefusalCode.FREQUENCY_OUT_OF_BOUNDS,
    "VoltageOutOfBounds": RefusalCode.VOLTAGE_OUT_OF_BOUNDS,
    TOO_MUCH_GAS: MessageCode.TOO_MUCH_GAS,
}
# Refusals of the meter rather than of one reading: its later readings would be refused alike.
METER_REFUSALS = frozenset({"MeterUnknown", "MeterInactive"})
# A refusal no rule above names (a paused registry, a failing vault): answered with this code.
REFUSED_ON_CHAIN = "refused-on-chain"
