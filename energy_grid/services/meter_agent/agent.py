"""The meter agent: a household's meter read through its source, one signed reading at the end of
each interval of the chain's clock, published to the community's broker for the gateway.

    agent = MeterAgent(config, key, source, outbox)
    agent.run(stop)          # until `stop` is set (SIGINT, SIGTERM)

One loop, on one thread (paho's thread only hands it messages):
1. The gateway's answers on the meter's `accepted` and `rejected` topics settle its readings in the
   outbox: `accepted` drops one; `expired` signs it again under the same nonce with a later deadline;
   `nonce-ahead` leaves it to be published again (an earlier reading had not reached the gateway);
   `nonce-used` drops it (its nonce is taken on chain); any other reason drops it and gives its
   nonce to the readings behind it (Outbox.drop). An answer naming another digest than the
   reading's latest signature is about an earlier one, and settles nothing.
2. The chain's clock (ChainClockView, the gateway's retained message): once it passes the end of an
   interval (a multiple of `interval_s`) the agent has no reading for, it reads the source and signs
   a reading stamped with the interval's last second, its deadline DEADLINE_MARGIN_S after, under
   the outbox's next nonce. A meter that does not answer, answers garbage or whose registers went
   back gives one log line and no reading for that interval; the agent goes on.
3. Every reading of the outbox not yet published in this run, or published `republish_after_s` of
   the chain's time ago without an answer, is published (QoS 1, the same bytes): across restarts and
   power cuts nothing is lost, and the gateway takes a duplicate once.
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from eth_keys.datatypes import PrivateKey

from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE
from energy_grid.services.gateway.messages import MessageCode, answer_topic, clock_topic, reading_message, readings_topic
from energy_grid.services.meter_agent.clock import ChainClockView, ChainTime
from energy_grid.services.meter_agent.config import AgentConfig
from energy_grid.services.meter_agent.outbox import Outbox, OutboxEntry
from energy_grid.services.meter_agent.sources.base import MeterSource, Registers, SourceError
from energy_grid.services.mqtt import MqttLink
from energy_grid.signing.readings import DEADLINE_MARGIN_S, Reading, domain_separator, reading_digest, sign_reading_digest

log = logging.getLogger("energy_grid.meter_agent")

PUBACK_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 25.0  # a DSMR 4 meter sends a telegram every 10 s; an inverter answers in one
ERROR_PAUSE_S = 1.0  # after a step failed, before the next


@dataclass(frozen=True)
class Answer:
    accepted: bool
    nonce: int
    digest: str | None
    reason: str
    message: str
    detail: str  # where an accepted reading is: its transaction and block


class MeterAgent:
    def __init__(
        self,
        config: AgentConfig,
        key: PrivateKey,
        source: MeterSource,
        outbox: Outbox,
        *,
        read_timeout_s: float = READ_TIMEOUT_S,
        republish_after_s: int | None = None,
    ) -> None:
        self.config = config
        self.key = key
        self.meter = key.public_key.to_checksum_address()
        self.source = source
        self.outbox = outbox
        self.read_timeout_s = read_timeout_s
        # Unanswered for two intervals of the chain's clock: the broker or the gateway lost it.
        self.republish_after_s = 2 * config.interval_s if republish_after_s is None else republish_after_s
        self.separator = domain_separator(config.chain_id, config.smart_meter)
        self.readings_topic = readings_topic(config.chain_id, self.meter)
        self.clock_topic = clock_topic(config.chain_id)
        self.clock = ChainClockView()
        self.answers: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.published_at_s: dict[int, int] = {}  # nonce -> the chain's time it was last published in this run
        self.last_interval_end_s: int | None = None  # the latest interval end a reading was tried for
        self._waiting_logged = False
        self._last_error: str | None = None
        answers = [answer_topic(config.chain_id, self.meter, accepted) for accepted in (True, False)]
        subscriptions = [self.clock_topic, *answers]
        self.link = MqttLink(config.broker, f"energy-grid-meter-{self.meter.lower()}-{secrets.token_hex(3)}", subscriptions, self._message)

    # ------------------------------------------------------------------ the loop

    def run(self, stop: threading.Event, poll_s: float = 0.2) -> None:
        """Connects (ServiceError when the broker or the source refuses) and steps until `stop`."""
        log.info("meter %s: reading the %s; next nonce %d; readings waiting for an answer: %d",
                 self.meter, self.source.describe(), self.outbox.next_nonce, len(self.outbox.entries()))  # fmt: skip
        self.source.start()
        try:
            self.link.connect()
            try:
                while not stop.is_set():
                    self._step_or_say_why(poll_s, stop)
            finally:
                self.link.close()
        finally:
            self.source.close()

    def _step_or_say_why(self, poll_s: float, stop: threading.Event) -> None:
        """A step; one that fails (the disk full, a library's surprise) is logged once per kind of
        failure and tried again, and the agent goes on."""
        try:
            self.step(poll_s)
            self._last_error = None
        except Exception as err:
            error = f"{type(err).__name__}: {err}"
            if error != self._last_error:
                log.exception("a step failed: trying again")
            self._last_error = error
            stop.wait(ERROR_PAUSE_S)

    def step(self, wait_s: float) -> None:
        """Settles the answers that come within `wait_s`, reads the meter if an interval has ended, and
        publishes what is due."""
        self.settle_answers(wait_s)
        now = self.clock.now()
        if now is None:
            if not self._waiting_logged:
                log.info("waiting for the chain's clock on %s (the gateway publishes it at each block)", self.clock_topic)
                self._waiting_logged = True
            return
        if self.last_interval_end_s is None:
            # The registers read now are not the registers at the end of the interval that ended
            # before the agent started: the first reading waits for an interval end it sees pass (a
            # meter registered earlier in this interval has its installation registers stamped later
            # than that end, and the chain would refuse a reading before them).
            self.last_interval_end_s = self.interval_end_s(now)
            log.info("first reading at the end of the interval ending at chain time %d", self.last_interval_end_s + self.config.interval_s)
        self.take_reading(now)
        self.publish_due(now)

    def _message(self, topic: str, payload: bytes) -> None:
        """A message on the MQTT client's thread: the clock is kept, an answer queued for the loop."""
        if topic == self.clock_topic:
            self.clock.take(payload)
        else:
            self.answers.put((topic, payload))

    # ------------------------------------------------------------------ readings

    def take_reading(self, now: ChainTime) -> OutboxEntry | None:
        """The reading of the latest interval that ended by `now`, if the agent has none for it yet:
        signed and written to the outbox (not yet published)."""
        end_s = self.interval_end_s(now)
        reading_time_s = end_s - 1  # the interval's last second: its energy lands in it
        last = self.outbox.last_reading()
        if end_s == self.last_interval_end_s or (last is not None and last[0] >= reading_time_s):
            return None
        self.last_interval_end_s = end_s
        try:
            registers = self.source.read(self.read_timeout_s)
            reading = self.reading_of(registers, reading_time_s, last)
        except SourceError as err:
            log.warning("interval ending at chain time %d: no reading: %s", end_s, err)
            return None
        except Exception as err:  # a source's library failing in a way it does not document: still only this interval
            log.warning("interval ending at chain time %d: no reading: the source failed (%s: %s)", end_s, type(err).__name__, err)
            return None
        entry = self.sign(self.outbox.next_nonce, reading, reading_time_s + DEADLINE_MARGIN_S)
        self.outbox.add(entry)
        log.info("interval ending at chain time %d: reading nonce %d signed: import %d Wh, export %d Wh, %d mHz, %d per mille",
                 end_s, entry.nonce, reading[1], reading[2], reading[3], reading[4])  # fmt: skip
        return entry

    def interval_end_s(self, now: ChainTime) -> int:
        """The end of the latest interval that ended by `now`."""
        return now.timestamp_s // self.config.interval_s * self.config.interval_s

    @staticmethod
    def reading_of(registers: Registers, timestamp_s: int, last: Reading | None) -> Reading:
        """The reading of `registers` at `timestamp_s`; SourceError when a register went back from
        the last reading signed (a meter swapped or reset, or a misread)."""
        if last is not None:
            for name, before, now in (("import", last[1], registers.import_wh), ("export", last[2], registers.export_wh)):
                if now < before:
                    raise SourceError(f"the {name} register went back from {before:,} Wh to {now:,} Wh")
        frequency = FREQUENCY_NOMINAL_MILLIHZ if registers.frequency_millihz is None else registers.frequency_millihz
        voltage = VOLTAGE_NOMINAL_PER_MILLE if registers.voltage_per_mille is None else registers.voltage_per_mille
        return (timestamp_s, registers.import_wh, registers.export_wh, frequency, voltage)

    def sign(self, nonce: int, reading: Reading, deadline: int) -> OutboxEntry:
        signed = sign_reading_digest(self.key, self.separator, nonce, deadline, reading)
        digest = "0x" + reading_digest(self.separator, self.meter, nonce, deadline, reading).hex()
        return OutboxEntry(nonce, reading, deadline, digest, reading_message(signed))

    def publish_due(self, now: ChainTime) -> None:
        """Publishes every reading not yet published in this run, or unanswered for republish_after_s."""
        due = [
            entry for entry in self.outbox.entries()
            if entry.nonce not in self.published_at_s or now.timestamp_s - self.published_at_s[entry.nonce] >= self.republish_after_s
        ]  # fmt: skip
        if not due or not self.link.connected:
            return
        outcome = self.link.publish_all([(self.readings_topic, entry.payload) for entry in due], PUBACK_TIMEOUT_S)
        if not outcome.complete:
            refused = "; ".join(reason for _, reason in outcome.refused)
            log.warning("the broker did not take %d of %d readings%s: publishing them again",
                        len(outcome.refused) + outcome.unconfirmed, len(due), f" ({refused})" if refused else "")  # fmt: skip
            return
        again = [entry.nonce for entry in due if entry.nonce in self.published_at_s]
        if again:
            log.warning("no answer came for readings %s in %d s of the chain's time: published them again", again, self.republish_after_s)
        for entry in due:
            self.published_at_s[entry.nonce] = now.timestamp_s
        log.debug("published readings %s", [entry.nonce for entry in due])

    # ------------------------------------------------------------------ answers

    def settle_answers(self, wait_s: float) -> None:
        try:
            topic, payload = self.answers.get(timeout=wait_s)
        except queue.Empty:
            return
        while True:
            answer = parse_answer(topic, payload)
            if answer is None:
                log.warning("ignored an answer on %s that does not read as one: %r", topic, payload[:120])
            else:
                self.settle(answer)
            try:
                topic, payload = self.answers.get_nowait()
            except queue.Empty:
                return

    def settle(self, answer: Answer) -> None:
        entry = self.outbox.get(answer.nonce)
        if entry is None:
            return  # settled already (a second answer to a reading published twice)
        if answer.accepted:
            self.outbox.remove(entry.nonce)
            self.published_at_s.pop(entry.nonce, None)
            log.info("reading nonce %d is on chain (%s)", entry.nonce, answer.detail)
            return
        if answer.digest is not None and answer.digest != entry.digest:
            return  # about a signature this reading has since been replaced by
        refused = f"reading nonce {entry.nonce} refused {answer.reason}: {answer.message}"
        if answer.reason == MessageCode.EXPIRED:
            now = self.clock.now()
            deadline = max(entry.reading[0], 0 if now is None else now.timestamp_s) + DEADLINE_MARGIN_S
            self.outbox.replace(self.sign(entry.nonce, entry.reading, deadline))
            self.published_at_s.pop(entry.nonce, None)
            log.warning("%s; signed again with deadline %d", refused, deadline)
        elif answer.reason == MessageCode.NONCE_AHEAD:
            log.warning("%s; an earlier reading had not reached the gateway: published again later", refused)
        elif answer.reason == MessageCode.NONCE_USED:
            self.outbox.remove(entry.nonce)
            self.published_at_s.pop(entry.nonce, None)
            log.error("%s; dropped: the chain holds another reading under this nonce", refused)
        else:
            moved = self.outbox.drop(entry.nonce, lambda nonce, reading: self.sign(nonce, reading, reading[0] + DEADLINE_MARGIN_S))
            for nonce in [nonce for nonce in self.published_at_s if nonce >= entry.nonce]:
                del self.published_at_s[nonce]  # the readings that moved are new messages
            log.error("%s; dropped, and %d later readings signed again one nonce lower", refused, len(moved))


def parse_answer(topic: str, payload: bytes) -> Answer | None:
    """The gateway's answer (messages.accepted_answer or Rejected.answer); None if it is not one."""
    try:
        answer: Any = json.loads(payload)
        nonce = answer["nonce"]
        digest = answer.get("digest")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    if not isinstance(nonce, int) or isinstance(nonce, bool) or not (digest is None or isinstance(digest, str)):
        return None
    if topic.endswith("/accepted"):
        return Answer(True, nonce, digest, "", "", f"transaction {answer.get('txHash')} in block {answer.get('blockNumber')}")
    return Answer(False, nonce, digest, str(answer.get("reason", "")), str(answer.get("message", "")), "")


__all__ = ["Answer", "MeterAgent", "parse_answer"]
