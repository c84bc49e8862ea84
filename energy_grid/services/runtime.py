"""What every long-running service shares: the chain's clock, a clean stop on SIGINT or SIGTERM,
logs that say what happened, and health and Prometheus metrics over HTTP.

Services are scheduled by the chain's clock (the latest block's timestamp), never by the wall's:
the same service runs on a local chain whose clock runs 60 times faster than the wall and on a
public test network at 1×. The wall clock only paces polling.

    stop = stop_on_signals()
    metrics = ServiceMetrics("gateway")
    server = MetricsServer(metrics.registry, health=lambda: {"store": "ok"}, port=0).start()
    clock = ChainClock(w3)
    while not stop.is_set():
        head = clock.head()
        metrics.observe_head(head)
        ...
        stop.wait(poll_s)

Each service has a registry of its own (not prometheus-client's global one), so a test can run
several services in one process and read each one's figures apart.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, make_wsgi_app
from web3 import Web3

METRICS_PREFIX = "energy_grid"
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
LOG_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# A line of LOG_FORMAT that tells of a problem (WARNING or worse): what `live status` looks for.
PROBLEM_LINE = re.compile(r"^(?P<time>\d{4}-\d\d-\d\dT\S+) (?P<logger>\S+) (?P<level>WARNING|ERROR|CRITICAL) (?P<message>.*)$")


class ServiceError(RuntimeError):
    """A service cannot start or go on: the message says why and what to do."""


def configure_logging(level: str = "INFO") -> None:
    """One line per event on stderr, with the time and the logger (the service) that wrote it; a
    process manager (supervisord, systemd) keeps and rotates the stream."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT, datefmt=LOG_TIME_FORMAT, force=True)


def stop_on_signals(signals: Iterable[signal.Signals] = (signal.SIGINT, signal.SIGTERM)) -> threading.Event:
    """An event set by SIGINT or SIGTERM: a service finishes the step it is in and returns. Only
    the main thread may install handlers; elsewhere (a test running a service in a thread) the
    event is returned without them and the caller sets it."""
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():

        def handle(signum: int, frame: FrameType | None) -> None:
            logging.getLogger("energy_grid").info("%s: stopping after the current step", signal.Signals(signum).name)
            stop.set()

        for sig in signals:
            signal.signal(sig, handle)
    return stop


# ------------------------------------------------------------------------------------ the chain's clock


@dataclass(frozen=True)
class ChainHead:
    """The latest block as a service last saw it."""

    number: int
    timestamp_s: int
    block_hash: str
    gas_limit: int
    base_fee_per_gas: int


# How many of the latest blocks' steps next_block_s looks at: the shortest is the chain's pace, and
# one block stamped far ahead (a clock set forward on a local chain) does not count as it.
BLOCK_STEPS_SEEN = 3


class ChainClock:
    """The chain's time: what every service schedules by."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self._stamps: dict[int, int] = {}

    def next_block_s(self, head: ChainHead) -> int:
        """The earliest time the block after `head` will carry: the head's time plus the shortest step
        between the latest blocks, at least a second (a block is stamped after its parent). On a chain
        that stamps a block every 12 s, or a paced local chain every 60, a deadline before this time
        has passed for anything sent now."""
        first = max(1, head.number - BLOCK_STEPS_SEEN)
        if first >= head.number:
            return head.timestamp_s + 1
        self._stamps = {n: t for n, t in self._stamps.items() if n >= first}
        self._stamps[head.number] = head.timestamp_s
        for number in range(first, head.number):
            if number not in self._stamps:
                self._stamps[number] = int(self.w3.eth.get_block(number)["timestamp"])
        steps = [self._stamps[n + 1] - self._stamps[n] for n in range(first, head.number)]
        return head.timestamp_s + max(1, min(steps))

    def head(self) -> ChainHead:
        block = self.w3.eth.get_block("latest")
        return ChainHead(
            number=int(block["number"]),
            timestamp_s=int(block["timestamp"]),
            block_hash=bytes(block["hash"]).hex() if block.get("hash") is not None else "",
            gas_limit=int(block["gasLimit"]),
            base_fee_per_gas=int(block.get("baseFeePerGas", 0) or 0),
        )


# ------------------------------------------------------------------------------------ metrics and health


class Metrics:
    """A service's own registry of figures, each named `energy_grid_<service>_<metric>`."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()

    def name(self, metric: str) -> str:
        return f"{METRICS_PREFIX}_{self.service}_{metric}"

    def gauge(self, metric: str, documentation: str, labels: Iterable[str] = ()) -> Gauge:
        return Gauge(self.name(metric), documentation, list(labels), registry=self.registry)

    def counter(self, metric: str, documentation: str, labels: Iterable[str] = ()) -> Counter:
        return Counter(self.name(metric), documentation, list(labels), registry=self.registry)


class ServiceMetrics(Metrics):
    """The figures every long-running service exports; a service adds its own to `registry`.

    - `energy_grid_<service>_chain_head_block`: the latest block the service saw;
    - `energy_grid_<service>_processed_block`: the block its work is done up to;
    - `energy_grid_<service>_lag_blocks`: the difference, how far it is behind the chain;
    - `energy_grid_<service>_transactions_total{outcome}`: transactions sent, by outcome
      (mined, reverted, replaced, skipped);
    - `energy_grid_<service>_gas_used_total`: gas its mined transactions used;
    - `energy_grid_<service>_stuck_transactions`: transactions waiting longer than the service
      allows before it raises their fee;
    - `energy_grid_<service>_errors_total`: steps that failed and were retried.
    """

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self.head_block = self.gauge("chain_head_block", "The latest block the service saw.")
        self.processed_block = self.gauge("processed_block", "The block the service's work is done up to.")
        self.lag_blocks = self.gauge("lag_blocks", "Blocks between the chain's head and the service's work.")
        self.head_time = self.gauge("chain_time_seconds", "The latest block's timestamp (unix seconds).")
        self.transactions = self.counter("transactions", "Transactions the service sent, by outcome.", ["outcome"])
        self.gas_used = self.counter("gas_used", "Gas the service's mined transactions used.")
        self.stuck = self.gauge("stuck_transactions", "Transactions waiting longer than allowed before a fee raise.")
        self.errors = self.counter("errors", "Steps that failed and were retried.")
        self.last_error: str | None = None  # the latest step's failure until a step succeeds: /health shows it
        self._last_step = time.monotonic()

    def observe_head(self, head: ChainHead) -> None:
        self.head_block.set(head.number)
        self.head_time.set(head.timestamp_s)

    def processed(self, block_number: int, head_number: int) -> None:
        """The service's work is done up to `block_number`; also marks the service alive."""
        self.processed_block.set(block_number)
        self.lag_blocks.set(max(0, head_number - block_number))
        self.last_error = None
        self._last_step = time.monotonic()

    def failed(self, error: BaseException) -> None:
        """A step failed and will be tried again: counted, and named in /health until one succeeds."""
        self.errors.inc()
        self.last_error = f"{type(error).__name__}: {error}"

    def seconds_since_step(self) -> float:
        return time.monotonic() - self._last_step


class _QuietHandler(WSGIRequestHandler):
    """Scrapes every few seconds would drown the service's own log lines."""

    def log_message(self, format: str, *args: Any) -> None:
        return


class MetricsServer:
    """`/metrics` (Prometheus's text format) and `/health` (JSON, 200 when healthy, else 503) on
    one port, and a service's own JSON `documents` by path; port 0 takes a free one, and a taken port
    is refused with a message."""

    def __init__(
        self,
        registry: CollectorRegistry,
        health: Callable[[], dict[str, Any]],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        documents: Mapping[str, Callable[[], Any]] | None = None,
    ) -> None:
        self._metrics_app = make_wsgi_app(registry)
        self._health = health
        self._documents = dict(documents or {})
        self.host = host
        self.port = port
        self._server: WSGIServer | None = None

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/health":
            status = self._health()
            healthy = bool(status.get("healthy", True))
            body = json.dumps(status).encode()
            start_response("200 OK" if healthy else "503 Service Unavailable", [("Content-Type", "application/json")])
            return [body]
        document = self._documents.get(environ.get("PATH_INFO", ""))
        if document is not None:
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(document()).encode()]
        return self._metrics_app(environ, start_response)

    def start(self) -> MetricsServer:
        try:
            self._server = make_server(self.host, self.port, self._app, handler_class=_QuietHandler)
        except OSError as err:
            raise ServiceError(
                f"cannot serve metrics on {self.host}:{self.port} ({err.strerror}); choose another port, or 0 for a free one"
            ) from None
        self.port = int(self._server.server_port)
        threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


__all__ = [
    "PROBLEM_LINE",
    "ChainClock",
    "ChainHead",
    "Metrics",
    "MetricsServer",
    "ServiceError",
    "ServiceMetrics",
    "configure_logging",
    "stop_on_signals",
]
