"""A service's connection to the meters' MQTT broker (mosquitto), the same in every service: MQTT v5
over paho-mqtt 2.2 (callback API 2), QoS 1, a user and its password when the broker asks for them.

    link = MqttLink(BrokerSettings.parse("127.0.0.1:1883", "fleet", password), "virtual-meters")
    link.connect()                                   # ServiceError, one sentence, when refused
    outcome = link.publish_all([(topic, payload), ...], timeout_s=10)

The broker's address is `HOST:PORT`; the password comes from the environment (BROKER_PASSWORD_ENV),
never from the command line, where other users of the machine could read it. After a lost
connection paho reconnects by itself and the link subscribes again.

`publish_all` hands every message to paho at once and then waits for the PUBACKs together: at most
`max_inflight` travel unacknowledged, and a thousand readings take a fraction of a second on one
machine instead of a round trip each. In MQTT v5 the broker answers a publish it refuses (the ACL)
with a failure reason code in the PUBACK, which the outcome lists.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessage, MQTTMessageInfo
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from energy_grid.services.runtime import ServiceError

DEFAULT_BROKER = "127.0.0.1:1883"
BROKER_PASSWORD_ENV = "ENERGY_GRID_BROKER_PASSWORD"
QOS_AT_LEAST_ONCE = 1
KEEPALIVE_S = 30
CONNECT_TIMEOUT_S = 10.0
RECONNECT_DELAY_S = (1, 30)  # paho's back-off after a lost connection: from 1 s up to 30 s
MAX_INFLIGHT = 1_000  # unacknowledged publishes in flight; the broker's own receive maximum also bounds them
MAX_PORT = 65_535

log = logging.getLogger("energy_grid.mqtt")


@dataclass(frozen=True)
class BrokerSettings:
    host: str
    port: int
    user: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, address: str, user: str | None = None, password: str | None = None) -> BrokerSettings:
        """`HOST:PORT` and the credentials; ValueError with a sentence when the address is not one."""
        host, colon, port = address.strip().rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) <= MAX_PORT:
            raise ValueError(f"{address!r} is not a broker address: give HOST:PORT, for example {DEFAULT_BROKER}")
        return cls(host, int(port), user or None, password or None)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class PublishOutcome:
    """What became of a burst of publishes."""

    acknowledged: int = 0  # the broker took them (PUBACK, success)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (topic, reason) the broker refused
    unconfirmed: int = 0  # no PUBACK within the time allowed

    @property
    def complete(self) -> bool:
        return not self.refused and not self.unconfirmed


class MqttLink:
    """One client connection; its network loop runs in paho's thread."""

    def __init__(
        self,
        settings: BrokerSettings,
        client_id: str,
        subscriptions: Sequence[str] = (),
        on_message: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self.settings = settings
        self.subscriptions = list(subscriptions)
        self._on_message = on_message
        self._connected = threading.Event()
        self._refusal: str | None = None
        self._lock = threading.Lock()
        self._pubacks: dict[int, ReasonCode] = {}
        client = Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5)
        if settings.user is not None:
            client.username_pw_set(settings.user, settings.password)
        client.max_inflight_messages_set(MAX_INFLIGHT)
        client.reconnect_delay_set(*RECONNECT_DELAY_S)
        client.on_connect = self._connect_answered
        client.on_disconnect = self._disconnected
        client.on_publish = self._published
        client.on_message = self._message
        self.client = client

    # ------------------------------------------------------------------ connection

    def connect(self, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        """Connects and waits for the broker's answer; ServiceError when it refuses or is not there."""
        where = self.settings.address
        try:
            self.client.connect(self.settings.host, self.settings.port, keepalive=KEEPALIVE_S)
        except OSError as err:
            raise ServiceError(f"no MQTT broker answers at {where} ({err.strerror or err}); start it or pass --broker HOST:PORT") from None
        self.client.loop_start()
        deadline = time.monotonic() + timeout_s
        while not self._connected.wait(0.05):
            if self._refusal is not None or time.monotonic() > deadline:
                self.close()
                reason = self._refusal or f"no answer within {timeout_s:g} s"
                raise ServiceError(
                    f"the MQTT broker at {where} refused the connection ({reason}): check --broker-user and {BROKER_PASSWORD_ENV}"
                )

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self._connected.clear()

    def _connect_answered(
        self, client: Client, userdata: object, flags: ConnectFlags, reason: ReasonCode, properties: Properties | None
    ) -> None:
        if reason.is_failure:
            self._refusal = str(reason)
            log.warning("the broker at %s refused the connection: %s", self.settings.address, reason)
            return
        for topic in self.subscriptions:
            client.subscribe(topic, qos=QOS_AT_LEAST_ONCE)
        log.info("connected to the broker at %s as %s", self.settings.address, self.settings.user or "an anonymous client")
        self._connected.set()

    def _disconnected(
        self, client: Client, userdata: object, flags: DisconnectFlags, reason: ReasonCode, properties: Properties | None
    ) -> None:
        if self._connected.is_set():
            log.warning("lost the broker at %s (%s); reconnecting", self.settings.address, reason)
        self._connected.clear()

    def _message(self, client: Client, userdata: object, message: MQTTMessage) -> None:
        if self._on_message is not None:
            self._on_message(message.topic, bytes(message.payload))

    # ------------------------------------------------------------------ publishing

    def _published(self, client: Client, userdata: object, mid: int, reason: ReasonCode, properties: Properties | None) -> None:
        with self._lock:
            self._pubacks[mid] = reason

    def publish_all(self, messages: Sequence[tuple[str, bytes]], timeout_s: float) -> PublishOutcome:
        """Publishes every (topic, payload) at QoS 1, then waits up to `timeout_s` for the PUBACKs."""
        sent: list[tuple[str, MQTTMessageInfo]] = []
        outcome = PublishOutcome()
        for topic, payload in messages:
            info = self.client.publish(topic, payload, qos=QOS_AT_LEAST_ONCE)
            if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                sent.append((topic, info))
            else:  # not connected, or paho's queue is full: the caller publishes it again later
                outcome.unconfirmed += 1
        deadline = time.monotonic() + timeout_s
        for topic, info in sent:
            if not self._wait_for_puback(info, deadline - time.monotonic()):
                outcome.unconfirmed += 1
                continue
            with self._lock:
                reason = self._pubacks.pop(info.mid, None)
            if reason is not None and reason.is_failure:
                outcome.refused.append((topic, str(reason)))
            else:
                outcome.acknowledged += 1
        return outcome


    @staticmethod
    def _wait_for_puback(info: MQTTMessageInfo, timeout_s: float) -> bool:
        try:
            if not info.is_published() and timeout_s > 0:
                info.wait_for_publish(timeout_s)
            return info.is_published()
        except (RuntimeError, ValueError):  # paho dropped it with a lost connection
            return False


__all__ = ["BROKER_PASSWORD_ENV", "DEFAULT_BROKER", "BrokerSettings", "MqttLink", "PublishOutcome"]
