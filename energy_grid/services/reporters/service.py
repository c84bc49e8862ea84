"""What the reporting services share: the loop on the chain's clock, their metrics, and sending a
report only when the chain would take it.

Each service is an object with `run_round(head)`, which reads the chain, decides what is due and
sends it; `run_service` runs rounds (one with `once`) until SIGINT or SIGTERM, pacing them by the
wall clock only, and serves the metrics. A round that fails for a passing reason (the node went
away, a transaction was not mined in time) is logged, counted in `errors_total` and tried again at
the next poll, and it is safe to try again: every round starts from what the chain shows. A refusal
that waiting cannot cure (the account lacks the role) stops the service with a one-sentence message.

Metrics, beside ServiceMetrics' own: `energy_grid_<service>_reports_total{kind}`, the reports sent
by kind, and `energy_grid_<service>_skipped_total{reason}`, the intervals (or rows) not reported:
`missed` (the service was down through the report window), `no_readings` (no meter read in the
interval), `no_reduction` (a demand-response consumer who reduced less than the minimum), `refused`
(a dry run said the contract would refuse it), `malformed` (a source row that does not parse).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from eth_account.signers.local import LocalAccount
from prometheus_client import Counter
from web3.types import TxReceipt

from energy_grid.contracts.client import GridClient, GridError
from energy_grid.services.runtime import ChainClock, ChainHead, MetricsServer, ServiceMetrics, stop_on_signals
from energy_grid.services.sending import send_checked

# Custom errors that say the signing account lacks a role or a registration: waiting does not help.
NOT_ALLOWED = frozenset(
    {
        "UnknownReporter",
        "AccessControlUnauthorizedAccount",
        "OperatorNotAuthorized",
        "OperatorNotInRegion",
        "OperatorNotAuthorizedForRegion",
        "GridOperatorNotRegistered",
        "NotEventOperator",
        "NotRegionOperator",
    }
)
# A service with no finished round for this long (or ten polls, if longer) reports itself unhealthy.
HEALTHY_ROUND_AGE_S = 60.0
SKIP_REASONS = ("missed", "no_readings", "no_reduction", "refused", "malformed")


class ServiceConfigError(GridError):
    """The service cannot work as configured (a role missing, a source unreadable): it stops."""


class NotAllowedError(ServiceConfigError):
    """The signing account may not make the service's call."""


class ReportingService:
    """A service's account, metrics and log, and its checked sending. A service given `shared` (one
    region's service among several in one process, RegionalServices) counts into that one's metrics."""

    metrics: ServiceMetrics
    reports: Counter
    skipped: Counter

    def __init__(
        self, name: str, client: GridClient, account: LocalAccount, report_kinds: tuple[str, ...], shared: ReportingService | None = None
    ) -> None:
        self.client = client
        self.account = account
        self.log = logging.getLogger(f"energy_grid.{name}")
        if shared is not None:
            self.metrics, self.reports, self.skipped = shared.metrics, shared.reports, shared.skipped
            return
        self.metrics = ServiceMetrics(name)
        self.reports = self.metrics.counter("reports", "Reports sent, by kind.", ["kind"])
        self.skipped = self.metrics.counter("skipped", "Intervals or rows not reported, by reason.", ["reason"])
        for kind in report_kinds:
            self.reports.labels(kind=kind)
        for reason in SKIP_REASONS:
            self.skipped.labels(reason=reason)

    def run_round(self, head: ChainHead) -> None:
        raise NotImplementedError

    def send(self, what: str, kind: str, call: Any, account: LocalAccount | None = None) -> TxReceipt | None:
        """Sends `call` after a dry run, signed by `account` (the service's own by default): the
        receipt, or None when the contract would refuse it (logged and counted as skipped). Refused
        for want of a role: NotAllowedError."""
        signer = self.account if account is None else account
        outcome = send_checked(self.client, signer, call)
        if outcome.receipt is not None:
            receipt = outcome.receipt
            self.metrics.transactions.labels(outcome="mined").inc()
            self.metrics.gas_used.inc(int(receipt["gasUsed"]))
            self.reports.labels(kind=kind).inc()
            self.log.info("sent %s: block %d, %d gas", what, receipt["blockNumber"], receipt["gasUsed"])
            return receipt
        if outcome.error_name in NOT_ALLOWED:
            raise NotAllowedError(f"{signer.address} may not send {what}: {_reason(outcome.error)}")
        self.metrics.transactions.labels(outcome="reverted" if outcome.unexplained else "skipped").inc()
        self.skip("refused", f"{what} not sent: {_reason(outcome.error)}")
        return None

    def skip(self, reason: str, message: str, count: int = 1) -> None:
        self.skipped.labels(reason=reason).inc(count)
        self.log.info("skipped %s", message)

    def documents(self) -> dict[str, Callable[[], Any]]:
        """The service's own JSON documents, by path, served beside /metrics (none by default)."""
        return {}

    def health(self, poll_interval_s: float) -> dict[str, Any]:
        since_s = self.metrics.seconds_since_step()
        return {
            "healthy": since_s < max(HEALTHY_ROUND_AGE_S, 10 * poll_interval_s),
            "seconds_since_round": round(since_s, 1),
            "last_error": self.metrics.last_error,
        }


class RegionalServices(ReportingService):
    """One service per grid region in one process: each region's round runs every round, whatever
    another region's did. The regions count into the first one's metrics. A region whose round fails
    for a passing reason leaves the others' work done, and the round is reported failed (and tried
    again) after every region had its turn; a region whose account lacks a role stops the service."""

    def __init__(self, regions: list[ReportingService]) -> None:
        if not regions:
            raise ServiceConfigError("no region to serve")
        first = regions[0]
        super().__init__(first.log.name.removeprefix("energy_grid."), first.client, first.account, (), shared=first)
        self.regions = regions

    @classmethod
    def of(cls, regions: Iterable[int], make: Callable[[int, ReportingService | None], ReportingService]) -> RegionalServices:
        """A service per region from `make(region, shared)`, each after the first sharing the first's metrics."""
        members: list[ReportingService] = []
        for region in regions:
            members.append(make(region, members[0] if members else None))
        return cls(members)

    def run_round(self, head: ChainHead) -> None:
        failed: Exception | None = None
        for region in self.regions:
            try:
                region.run_round(head)
            except ServiceConfigError:
                raise
            except Exception as err:
                failed = failed or err
        if failed is not None:
            raise failed

    def documents(self) -> dict[str, Callable[[], Any]]:
        return {path: document for region in self.regions for path, document in region.documents().items()}


def _reason(error: GridError | None) -> str:
    reason = getattr(error, "reason", None)
    return str(reason if reason is not None else error)


def run_service(
    service: ReportingService,
    *,
    once: bool = False,
    poll_interval_s: float = 1.0,
    metrics_port: int | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Runs `service`'s rounds: one with `once` (its failure raised), else until `stop` is set or
    SIGINT or SIGTERM arrives (the round in progress completes first). With `metrics_port` (0: a
    free one) /metrics and /health are served meanwhile."""
    if stop is None:
        stop = threading.Event() if once else stop_on_signals()
    server = None
    if metrics_port is not None:
        server = MetricsServer(
            service.metrics.registry, health=lambda: service.health(poll_interval_s), port=metrics_port, documents=service.documents()
        ).start()
        service.log.info("metrics on %s/metrics, health on %s/health", server.url, server.url)
    clock = ChainClock(service.client.w3)
    try:
        while not stop.is_set():
            try:
                head = clock.head()
                service.metrics.observe_head(head)
                service.run_round(head)
                service.metrics.processed(head.number, head.number)
            except ServiceConfigError:
                raise
            except Exception as err:
                if once:
                    raise
                service.metrics.failed(err)
                service.log.warning("round failed, trying again in %g s: %s: %s", poll_interval_s, type(err).__name__, err)
            if once:
                break
            stop.wait(poll_interval_s)
    finally:
        if server is not None:
            server.stop()
    service.log.info("stopped")


__all__ = [
    "NOT_ALLOWED",
    "NotAllowedError",
    "RegionalServices",
    "ReportingService",
    "ServiceConfigError",
    "run_service",
]
