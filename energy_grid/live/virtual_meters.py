"""Virtual meters: the live community's households as meter devices that sign their readings and
publish them over MQTT, one interval at a time, on the chain's clock.

    energy-grid meters emulate --broker 127.0.0.1:1883 --broker-user fleet

The run file of the live set-up (energy_grid.live.community) names the community: its households,
seed and day D. The service builds the same model the simulation steps (CommunityModel), steps it
through the baseline days on a copper plate as the simulation does (so the registers continue from
the baseline the set-up uploaded), and then one simulated interval at a time: once the chain's clock
(the latest block's time) passes the end of interval i, D + 900 (i + 1), it publishes each
household's reading of that interval end on `energy-grid/<chainId>/meters/<meter>/readings`, in the
gateway's JSON (energy_grid.services.gateway.messages), signed by the meter's own key (EIP-712) with
nonce i and a deadline `deadline_margin_s` after the reading (DEADLINE_MARGIN_S by default). Each
household's reading is the same bytes every time it is published: a restarted service publishes
again what the gateway may hold but has not yet sent, and the gateway ignores a duplicate.

Restart: it resumes from the first interval the chain lacks for each meter (SmartMeter's
`nonces(meter)`: nonces start at 0 at D, since the baseline went in unsigned), and when the chain's
clock is several intervals ahead it publishes the missed ones in order. The model steps every
interval from the start again (cheaply, without a power flow, through those already on chain).

Demand response: the households registered for it cut their consumption (the simulation's
`dr_consumption_factor`) in the intervals an event started on chain covers: an EventStarted of
DemandResponse in the households' region, whose window (whole intervals, as the contract rounds
it) holds the interval, and which was not cancelled before it began. So the households answer
what the operator's planner does. An event is final for an interval once the chain has passed its
end (a window never starts before the block that started it), so a restart sees the same cuts.

The answers: the service subscribes to the meters' `accepted` and `rejected` topics, counts them,
and logs each rejection with its reason. Like a real meter, it keeps each reading until the gateway
answers it, and publishes a reading still unanswered REPUBLISH_AFTER_INTERVALS intervals later
again (the same bytes): a broker that lost a message it had acknowledged (killed before saving it)
or a gateway that never saw it loses nothing, and the gateway answers a duplicate without sending
it twice. A reading refused `expired` (its deadline passed before it reached the chain: the chain
paused, the gateway down) is signed again under the same nonce with a deadline `deadline_margin_s`
after the next block's earliest time, and published; each answer names the digest of the signed reading it is
about, so a late answer about the first signature does not touch the second. A reading refused
`nonce-ahead` (published before the gateway had its earlier one) stays unanswered, and so is
published again. After the last
interval it goes on until every reading is answered. Each interval's model figures (the
simulation's IntervalFigures) are appended to the series file next to the run file
(energy_grid.live.series), for the live audit.

Keys: the meters' keys are derived from the seed and D (energy_grid.simulation.agents): test keys
for a local chain, known to anyone with the run file. The service refuses a chain other than
anvil's 31337 unless told the keys are test keys (`test_keys`).

Speed: a thousand readings an interval are signed over their EIP-712 digest with eth-keys (about
0.1 ms each) and published at once, their PUBACKs awaited together (energy_grid.services.mqtt).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from eth_keys.datatypes import PrivateKey

from energy_grid.chain.accounts import DEV_CHAIN_ID
from energy_grid.chain.events import EventDecoder, uint_topic
from energy_grid.community.model import CommunityModel, IntervalResult
from energy_grid.contracts.client import GridClient, GridError
from energy_grid.contracts.sender import TransactionSender, prepare
from energy_grid.live.community import LiveCommunity
from energy_grid.live.series import append_figures, read_series
from energy_grid.services.gateway.messages import TOPIC_ROOT, MessageCode, reading_message, readings_topic
from energy_grid.services.mqtt import BrokerSettings, MqttLink
from energy_grid.services.runtime import ChainClock, ChainHead, MetricsServer, ServiceMetrics, stop_on_signals
from energy_grid.signing.readings import DEADLINE_MARGIN_S, Reading, domain_separator, reading_digest, sign_reading_digest
from energy_grid.simulation.demand_events import DemandEvent, DemandResponse, feeders_by_region
from energy_grid.simulation.driver import community_config, interval_figures, run_state
from energy_grid.simulation.gateway import MeterGateway
from energy_grid.simulation.ledger import IntervalFigures
from energy_grid.simulation.run_state import RunState

PUBACK_TIMEOUT_S = 10.0
REPUBLISH_AFTER_INTERVALS = 2  # an unanswered reading is published again this many intervals later
EVENT_CANCELLED = 2  # IDemandResponse.EventStatus.Cancelled
SERVICE = "meters"

log = logging.getLogger("energy_grid.meters")


class VirtualMetersError(GridError):
    """The virtual meters cannot run against this chain; the message says why."""


def answers_subscriptions(chain_id: int) -> list[str]:
    """Every meter's answers from the gateway on this chain."""
    return [f"{TOPIC_ROOT}/{chain_id}/meters/+/{leaf}" for leaf in ("accepted", "rejected")]


@dataclass(frozen=True)
class OwnReading:
    """A reading a meter published and no answer has settled yet: what it was signed over, so that
    it can be published again, or signed again once its deadline has passed."""

    topic: str
    payload: bytes
    household: int
    nonce: int
    reading: Reading
    deadline: int
    digest: str  # the EIP-712 digest signed, which the gateway's answers name
    published_at: int  # the simulated interval the chain's clock was in when it was last published

    @property
    def key(self) -> tuple[str, int]:
        """(meter in lowercase, nonce), as the answers' topics and payloads name it."""
        return self.topic.split("/")[3], self.nonce


@dataclass(frozen=True)
class IntervalReadings:
    """One interval's readings as published, one per meter the chain lacks it for."""

    interval: int
    readings: list[OwnReading]
    dr_households: int  # households cutting consumption for demand response in this interval

    @property
    def messages(self) -> list[tuple[str, bytes]]:
        return [(own.topic, own.payload) for own in self.readings]


class OnChainEvents:
    """The demand-response events the households see: started on chain in their region, read from
    DemandResponse's EventStarted logs as blocks come, each one final (not cancelled) once its
    window has begun. They fill the simulation's DemandResponse, whose `consumption_factors`
    gives each interval's cuts exactly as the simulation applies them."""

    def __init__(self, state: RunState, demand_response: DemandResponse) -> None:
        self.state = state
        self.demand_response = demand_response
        self.decoder = EventDecoder(state.dr, "EventStarted")
        # Each feeder with registered households is watched in its own region (every feeder in the
        # first's unless the community is zoned): an event cuts only the households of its region.
        self.feeders_of_region = feeders_by_region(demand_response.members_by_feeder, state.feeder_region)
        self.region_topics = [uint_topic(region) for region in sorted(self.feeders_of_region)]
        self.next_block = state.record.anchor_block
        # (event id, its region's feeders, start s, end s) not yet begun when read
        self.pending: list[tuple[int, frozenset[int], int, int]] = []

    def read_to(self, block: int) -> None:
        """Reads the events started up to `block`."""
        if block < self.next_block:
            return
        query = {
            "address": self.decoder.address,
            "topics": [self.decoder.topic, None, None, self.region_topics],
            "fromBlock": hex(self.next_block),
            "toBlock": hex(block),
        }
        for log_entry in self.state.sender.rpc("eth_getLogs", [query]):
            event = self.decoder.decode(log_entry)
            feeders = self.feeders_of_region[int(event["regionId"])]
            self.pending.append((int(event["eventId"]), feeders, int(event["startTime"]), int(event["endTime"])))
        self.next_block = block + 1

    def factors(self, interval: int) -> dict[int, float]:
        """Each member's consumption factor in simulated `interval` (empty: nobody cuts). Called once
        the chain has passed the interval's end, so every event that may cover it is known."""
        calendar, dr = self.state.calendar, self.state.dr.functions
        begun = [e for e in self.pending if e[2] <= calendar.interval_start_s(interval)]
        for event in begun:
            self.pending.remove(event)
            event_id, feeders, start_s, end_s = event
            if int(dr.getEvent(event_id).call().status) == EVENT_CANCELLED:
                continue
            first, last = calendar.interval_of(start_s), calendar.interval_of(end_s) - 1
            self.demand_response.events.append(DemandEvent(first - 1, first, last, dict.fromkeys(feeders, event_id), feeders))
            members = sum(len(self.demand_response.members_by_feeder[feeder]) for feeder in feeders)
            log.info(
                "demand-response event %d covers intervals %d..%d: %d households of feeders %s cut consumption",
                event_id, first, last, members, sorted(feeders),
            )  # fmt: skip
        return self.demand_response.consumption_factors(interval)


class VirtualMeters:
    """Steps the community's model on the chain's clock and publishes its meters' signed readings."""

    def __init__(
        self,
        client: GridClient,
        community: LiveCommunity,
        metrics: ServiceMetrics | None = None,
        *,
        test_keys: bool = False,
        deadline_margin_s: int = DEADLINE_MARGIN_S,
    ) -> None:
        if client.chain_id != DEV_CHAIN_ID and not test_keys:
            raise VirtualMetersError(
                f"the virtual meters derive their keys from the seed, so they run on anvil's chain {DEV_CHAIN_ID} only; "
                f"this node is chain {client.chain_id} (say the keys are test keys to run here anyway)"
            )
        self.client = client
        self.community = community
        self.config = community.config
        self.chain_id = client.chain_id
        self.clock = ChainClock(client.w3)
        self.model = CommunityModel(community_config(self.config))
        sender = TransactionSender(client, manual_mining=False)
        self.state = run_state(client, self.config, community.record, sender, self.model)
        self.gateway = MeterGateway(self.state)
        self.demand_response = DemandResponse(self.state)
        self.events = OnChainEvents(self.state, self.demand_response)
        self.base_price_per_kwh = int(client["GridManagement"].functions.basePrice().call())
        self.keys = [PrivateKey(bytes(account.key)) for account in community.meter_keys()]
        self.separator = domain_separator(self.chain_id, client["SmartMeter"].address)
        self.metrics = metrics or ServiceMetrics(SERVICE)
        self.published = self.metrics.counter("readings_published", "Signed readings the broker acknowledged.")
        self.accepted = self.metrics.counter("readings_accepted", "Readings the gateway answered as on chain.")
        self.rejected = self.metrics.counter("readings_rejected", "Readings the gateway refused, by reason.", ["reason"])
        self.interval_gauge = self.metrics.gauge("interval_published", "The latest simulated interval whose readings are published.")
        self.republished = self.metrics.counter("readings_republished", "Readings published again for want of an answer.")
        self.resigned = self.metrics.counter("readings_resigned", "Readings signed again with a later deadline after the first expired.")
        self.deadline_margin_s = deadline_margin_s
        # (meter in lowercase, nonce) -> the reading as last signed and published
        self._unanswered: dict[tuple[str, int], OwnReading] = {}
        self._expired: set[tuple[str, int]] = set()  # of those, the ones refused `expired`, to sign again
        self._unanswered_lock = threading.Lock()
        self.clock_interval = 0  # the simulated interval the chain's clock is in
        self.last_published = -1
        self.interval_gauge.set(self.last_published)
        # Had no event been called: the same model without the cuts, built at the first event.
        self.without_dr: CommunityModel | None = None
        self.without_dr_result: IntervalResult | None = None

    # ------------------------------------------------------------------ the gateway's answers

    def handle_answer(self, topic: str, payload: bytes) -> None:
        """Counts an answer of the gateway and settles the reading it names: accepted, or rejected for
        good, or refused `expired` and so to be signed again (by the service's loop: this runs on the
        MQTT client's thread, which must not wait for a publish). A rejection naming a digest other
        than the reading's latest signature is about an earlier one, and settles nothing."""
        parts = topic.split("/")
        leaf, meter = parts[-1], parts[-2] if len(parts) > 1 else "?"
        try:
            answer: Any = json.loads(payload)
            nonce, digest = answer.get("nonce"), answer.get("digest")
        except (ValueError, AttributeError):
            answer, nonce, digest = None, None, None
        reason, message = "", ""
        if leaf != "accepted":
            try:
                reason, message = str(answer["reason"]), str(answer.get("message", ""))
            except (KeyError, TypeError):
                reason, message = "unreadable", payload[:200].decode(errors="replace")
        if isinstance(nonce, int) and reason != MessageCode.NONCE_AHEAD:
            # Ahead: an earlier reading had not reached the gateway yet; this one is published again.
            self._settle((meter, nonce), digest, accepted=leaf == "accepted", expired=reason == MessageCode.EXPIRED)
        if leaf == "accepted":
            self.accepted.inc()
            return
        self.rejected.labels(reason=reason).inc()
        log.warning("meter %s: the gateway rejected reading %s (%s): %s", meter, nonce, reason, message)

    def _settle(self, key: tuple[str, int], digest: Any, *, accepted: bool, expired: bool) -> None:
        with self._unanswered_lock:
            own = self._unanswered.get(key)
            if own is None:
                return
            if not accepted and digest is not None and digest != own.digest:
                return  # about a signature this meter has since replaced
            if expired and not accepted:
                self._expired.add(key)
                return
            del self._unanswered[key]
            self._expired.discard(key)

    # ------------------------------------------------------------------ the model

    def next_nonces(self) -> list[int]:
        """Each meter's next nonce on chain: the first simulated interval the chain lacks for it."""
        meter_registry = self.state.meter_registry
        return [int(n) for n in self.state.sender.read([prepare(meter_registry, "nonces", m) for m in self.state.actors.meters])]

    def step_baseline(self) -> None:
        """The baseline days, on a copper plate as the set-up uploaded them."""
        for _ in range(self.state.calendar.baseline_intervals):
            self.model.step(power_flow=False)

    def step(self, interval: int, *, power_flow: bool) -> tuple[IntervalResult, dict[int, float]]:
        """Steps the model (and the one without demand response, once there is an event) through
        simulated `interval` with the cuts the chain's events ask for."""
        factors = self.events.factors(interval)
        if factors and self.without_dr is None:
            self.without_dr = CommunityModel(self.model.config)
            for _ in range(self.state.calendar.baseline_intervals + interval):
                self.without_dr.step(power_flow=False)
        if self.without_dr is not None:
            self.without_dr_result = self.without_dr.step(power_flow=power_flow)
        return self.model.step(factors, power_flow=power_flow), factors

    def readings(self, interval: int, result: IntervalResult, next_nonces: list[int], dr_households: int) -> IntervalReadings:
        """The interval's signed messages for every meter whose nonce on chain is `interval` or less."""
        reading_time_s = self.state.calendar.reading_time_s(interval)
        deadline = reading_time_s + self.deadline_margin_s
        readings = []
        for household in result.households:
            h = household.household_id
            if next_nonces[h] > interval:
                continue
            _, (timestamp, consumption, production, frequency, voltage) = self.gateway.reading(reading_time_s, household)
            reading = (timestamp, consumption, production, frequency, voltage)
            readings.append(self._signed(h, interval, deadline, reading))
        return IntervalReadings(interval, readings, dr_households)

    def _signed(self, household: int, nonce: int, deadline: int, reading: Reading) -> OwnReading:
        signed = sign_reading_digest(self.keys[household], self.separator, nonce, deadline, reading)
        digest = reading_digest(self.separator, signed.meter, nonce, deadline, reading)
        topic = readings_topic(self.chain_id, signed.meter)
        return OwnReading(topic, reading_message(signed), household, nonce, reading, deadline, "0x" + digest.hex(), self.clock_interval)

    def figures_of(self, interval: int, result: IntervalResult, factors: dict[int, float]) -> IntervalFigures:
        without_dr = None if self.without_dr_result is None else self.without_dr_result.grid.transformer_loading_per_mille
        return interval_figures(
            interval, result, self.base_price_per_kwh, without_dr, bool(factors), feeder_of=self.state.feeder_of
        )

    # ------------------------------------------------------------------ the service

    def run(
        self,
        link: MqttLink,
        stop: threading.Event,
        poll_interval_s: float = 0.5,
        on_interval: Callable[[int], None] | None = None,
    ) -> int:
        """Publishes every simulated interval of the run as the chain passes its end, until the last
        or until `stop` is set; returns how many intervals it published."""
        total = self.config.interval_count
        calendar = self.state.calendar
        next_nonces = self.next_nonces()
        in_series = set(read_series(self.community.series_file))
        resume_from = min(next_nonces)
        log.info(
            "community of %d households, D = %d: the chain has every meter's readings up to interval %d; "
            "publishing intervals %d..%d as the chain's clock passes their ends",
            self.config.households, calendar.day_start_s, resume_from - 1, resume_from, total - 1,
        )  # fmt: skip
        self.step_baseline()
        published = 0
        for i in range(total):
            head = self.wait_for_end_of(i, stop, poll_interval_s, lambda now: self.keep_up(link, now))
            if head is None:
                break
            done_before = i < resume_from and i in in_series
            result, factors = self.step(i, power_flow=not done_before)
            if done_before:
                continue
            self.keep_up(link, head)
            batch = self.readings(i, result, next_nonces, len(factors))
            if not self.publish(batch, link, stop, poll_interval_s):
                break
            if i not in in_series:
                append_figures(self.community.series_file, self.figures_of(i, result, factors))
            self.last_published = i
            self.interval_gauge.set(i)
            self.metrics.processed(head.number, head.number)
            published += 1
            if on_interval is not None:
                on_interval(i)
        else:
            log.info("published every interval of the %d simulated day(s): stopping once each is answered", self.config.days)
            self.settle(link, stop, poll_interval_s)
        return published

    def keep_up(self, link: MqttLink, head: ChainHead) -> None:
        """At each look at the chain: the readings unanswered for too long published again, and the
        ones refused `expired` signed again."""
        # Chain time, not the loop's interval: readings published while catching up share a clock.
        self.clock_interval = self.state.calendar.interval_of(head.timestamp_s)
        self.republish_unanswered(link)
        self.sign_expired_again(link, head)

    def settle(self, link: MqttLink, stop: threading.Event, poll_interval_s: float) -> None:
        """After the last interval: goes on until every reading is answered, as a meter would."""
        while not stop.is_set():
            with self._unanswered_lock:
                if not self._unanswered:
                    return
            head = self._head()
            if head is not None:
                self.keep_up(link, head)
            stop.wait(poll_interval_s)

    def _head(self) -> ChainHead | None:
        """The chain's head; None while the node does not answer (restarting: counted and logged)."""
        try:
            head = self.clock.head()
        except Exception as err:  # the node restarting: the wall only paces the polling
            self.metrics.errors.inc()
            log.warning("cannot read the chain's head (%s); trying again", err)
            return None
        self.metrics.observe_head(head)
        return head

    def wait_for_end_of(
        self, interval: int, stop: threading.Event, poll_interval_s: float, on_poll: Callable[[ChainHead], None] | None = None
    ) -> ChainHead | None:
        """The chain's head once its clock has passed the interval's end (None if stopped first);
        the events up to that head are read. `on_poll` is given each head read meanwhile."""
        end_s = self.state.calendar.step_time_s(interval)
        while not stop.is_set():
            head = self._head()
            if head is None:
                stop.wait(poll_interval_s)
                continue
            if head.timestamp_s >= end_s:
                self.events.read_to(head.number)
                return head
            self.metrics.processed(head.number, head.number)
            if on_poll is not None:
                on_poll(head)
            stop.wait(poll_interval_s)
        return None

    def publish(self, batch: IntervalReadings, link: MqttLink, stop: threading.Event, poll_interval_s: float) -> bool:
        """Publishes the interval's readings until the broker has acknowledged them all (again after a
        lost connection: a duplicate is harmless); False if stopped first."""
        calendar = self.state.calendar
        # Each reading waits for its answer from before it is published: the gateway may answer before
        # the broker's acknowledgement comes back, and an answer that found nothing waiting would leave
        # the reading to be published again.
        with self._unanswered_lock:
            for own in batch.readings:
                self._unanswered[own.key] = own
        while not stop.is_set():
            if not link.connected:
                stop.wait(poll_interval_s)
                continue
            outcome = link.publish_all(batch.messages, PUBACK_TIMEOUT_S)
            if outcome.complete:
                self.published.inc(outcome.acknowledged)
                log.info(
                    "interval %d (ends at chain time %d): published %d signed readings with nonce %d%s",
                    batch.interval, calendar.step_time_s(batch.interval), len(batch.messages), batch.interval,
                    f"; {batch.dr_households} households cut consumption for demand response" if batch.dr_households else "",
                )  # fmt: skip
                return True
            self.metrics.errors.inc()
            refused = "; ".join(f"{topic}: {reason}" for topic, reason in outcome.refused[:3])
            log.warning(
                "interval %d: %d of %d readings not acknowledged by the broker%s; publishing them again",
                batch.interval, len(outcome.refused) + outcome.unconfirmed, len(batch.messages), f" ({refused})" if refused else "",
            )  # fmt: skip
            stop.wait(poll_interval_s)
        return False

    def republish_unanswered(self, link: MqttLink) -> None:
        """Publishes again the readings no answer came for while the chain's clock passed
        REPUBLISH_AFTER_INTERVALS interval ends."""
        now = self.clock_interval
        with self._unanswered_lock:
            stale = [own for own in self._unanswered.values() if now - own.published_at >= REPUBLISH_AFTER_INTERVALS]
            for own in stale:
                self._unanswered[own.key] = replace(own, published_at=now)
        if not stale:
            return
        outcome = link.publish_all([(own.topic, own.payload) for own in stale], PUBACK_TIMEOUT_S)
        self.republished.inc(outcome.acknowledged)
        log.warning("no answer came for %d readings in %d intervals: published them again", len(stale), REPUBLISH_AFTER_INTERVALS)

    def sign_expired_again(self, link: MqttLink, head: ChainHead) -> None:
        """Signs the readings refused `expired` again under their nonces, with a deadline
        `deadline_margin_s` after the next block's earliest time (so that even a margin shorter than a
        block leaves the reading a block to land in, and it is not refused again at once), and
        publishes them."""
        with self._unanswered_lock:
            expired, self._expired = self._expired, set()
            again = {}
            deadline = self.clock.next_block_s(head) + self.deadline_margin_s
            for key in expired:
                own = self._unanswered.get(key)
                if own is not None:
                    again[key] = self._signed(own.household, own.nonce, deadline, own.reading)
            self._unanswered.update(again)
        if not again:
            return
        outcome = link.publish_all([(own.topic, own.payload) for own in again.values()], PUBACK_TIMEOUT_S)
        self.resigned.inc(outcome.acknowledged)
        log.warning("%d readings expired before they reached the chain: signed again with deadline %d", len(again), deadline)

    def health(self, link: MqttLink) -> dict[str, Any]:
        return {
            "healthy": link.connected,
            "broker": "connected" if link.connected else "disconnected",
            "interval_published": self.last_published,
        }


def serve_virtual_meters(
    client: GridClient,
    community: LiveCommunity,
    broker: BrokerSettings,
    metrics_port: int = 0,
    poll_interval_s: float = 0.5,
    *,
    test_keys: bool = False,
    deadline_margin_s: int = DEADLINE_MARGIN_S,
    stop: threading.Event | None = None,
) -> int:
    """The service: connects to the broker, serves /metrics and /health on `metrics_port` (0: a free
    port, logged) and publishes until the last interval or until `stop` is set (by default by SIGINT
    or SIGTERM); returns how many intervals it published. ServiceError when the broker refuses it or
    the port is taken."""
    stop = stop or stop_on_signals()
    metrics = ServiceMetrics(SERVICE)
    meters = VirtualMeters(client, community, metrics, test_keys=test_keys, deadline_margin_s=deadline_margin_s)
    client_id = f"virtual-meters-{client.chain_id}-{secrets.token_hex(4)}"
    link = MqttLink(broker, client_id, answers_subscriptions(client.chain_id), meters.handle_answer)
    link.connect()
    try:
        server = MetricsServer(metrics.registry, health=lambda: meters.health(link), port=metrics_port).start()
        log.info("metrics at %s/metrics, health at %s/health", server.url, server.url)
        try:
            return meters.run(link, stop, poll_interval_s)
        finally:
            server.stop()
    finally:
        link.close()


__all__ = [
    "DEADLINE_MARGIN_S",
    "IntervalReadings",
    "OnChainEvents",
    "OwnReading",
    "VirtualMeters",
    "VirtualMetersError",
    "answers_subscriptions",
    "serve_virtual_meters",
]
