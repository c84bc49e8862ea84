"""Several regions' services in one process (RegionalServices): every region's round runs each round
whatever another region's did; a passing failure is reported after every region had its turn and
the service tries again, a missing role stops it; the regions count into one set of metrics."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from energy_grid.services.reporters.service import NotAllowedError, RegionalServices, ReportingService, ServiceConfigError, run_service
from energy_grid.services.runtime import ChainHead

HEAD = ChainHead(number=7, timestamp_s=1_800_000_000, block_hash="0x07", gas_limit=30_000_000, base_fee_per_gas=1)


class Region(ReportingService):
    """A region's service that reports once a round, or fails as told."""

    def __init__(self, name: str, rounds: list[str], shared: ReportingService | None = None, fails: Exception | None = None) -> None:
        super().__init__("regional_test", SimpleNamespace(w3=None), SimpleNamespace(address=name), ("report",), shared)  # type: ignore[arg-type]
        self.name, self.rounds, self.fails = name, rounds, fails

    def run_round(self, head: ChainHead) -> None:
        self.rounds.append(self.name)
        if self.fails is not None:
            raise self.fails
        self.reports.labels(kind="report").inc()

    def documents(self) -> dict[str, Any]:
        return {f"/{self.name}": lambda: self.name}


def regions(*fails: Exception | None) -> tuple[RegionalServices, list[str]]:
    rounds: list[str] = []
    members: list[ReportingService] = []
    for number, failure in enumerate(fails, start=1):
        members.append(Region(f"region{number}", rounds, members[0] if members else None, failure))
    return RegionalServices(members), rounds


def reports_counted(service: ReportingService) -> float:
    return service.metrics.registry.get_sample_value("energy_grid_regional_test_reports_total", {"kind": "report"}) or 0.0


def test_every_region_s_round_runs_and_counts_into_one_set_of_metrics():
    service, rounds = regions(None, None, None)
    service.run_round(HEAD)
    service.run_round(HEAD)
    assert rounds == ["region1", "region2", "region3"] * 2
    assert reports_counted(service) == 6
    assert all(region.metrics is service.metrics for region in service.regions)
    assert sorted(service.documents()) == ["/region1", "/region2", "/region3"]


def test_a_region_s_passing_failure_leaves_the_others_work_done_and_fails_the_round_after():
    service, rounds = regions(None, ConnectionError("node away"), None)
    with pytest.raises(ConnectionError, match="node away"):
        service.run_round(HEAD)
    assert rounds == ["region1", "region2", "region3"]
    assert reports_counted(service) == 2


def test_the_service_goes_on_through_a_region_s_failures_and_counts_them(monkeypatch):
    service, rounds = regions(ConnectionError("node away"), None)
    stop = threading.Event()
    heads = iter(range(3))

    def head(_clock: Any) -> ChainHead:
        if next(heads) == 2:
            stop.set()
        return HEAD

    monkeypatch.setattr("energy_grid.services.reporters.service.ChainClock.__init__", lambda self, w3: None)
    monkeypatch.setattr("energy_grid.services.reporters.service.ChainClock.head", head)
    run_service(service, poll_interval_s=0.01, stop=stop)
    assert rounds == ["region1", "region2"] * 3
    assert reports_counted(service) == 3
    assert service.metrics.registry.get_sample_value("energy_grid_regional_test_errors_total") == 3


def test_a_region_without_its_role_stops_the_service_at_once():
    service, rounds = regions(NotAllowedError("0xabc may not send startEvent"), None)
    with pytest.raises(NotAllowedError):
        service.run_round(HEAD)
    assert rounds == ["region1"]


def test_of_makes_one_service_per_region_in_order_the_later_ones_sharing_the_first_s_metrics():
    rounds: list[str] = []
    made: list[tuple[int, ReportingService | None]] = []

    def make(region: int, shared: ReportingService | None) -> ReportingService:
        made.append((region, shared))
        return Region(f"region{region}", rounds, shared)

    service = RegionalServices.of([3, 1, 2], make)
    service.run_round(HEAD)
    assert rounds == ["region3", "region1", "region2"]
    assert [region for region, _ in made] == [3, 1, 2]
    assert made[0][1] is None and made[1][1] is made[2][1] is service.regions[0]
    assert reports_counted(service) == 3


def test_no_region_is_refused():
    with pytest.raises(ServiceConfigError, match="no region"):
        RegionalServices([])
