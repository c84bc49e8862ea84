"""The services' shared runtime: metrics and health over HTTP, and the chain's clock."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from energy_grid.services.runtime import ChainHead, MetricsServer, ServiceError, ServiceMetrics


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_metrics_health_and_a_services_documents_are_served_on_a_free_port() -> None:
    metrics = ServiceMetrics("example")
    metrics.observe_head(ChainHead(number=12, timestamp_s=1_000, block_hash="", gas_limit=30_000_000, base_fee_per_gas=1))
    metrics.processed(9, head_number=12)
    metrics.transactions.labels(outcome="mined").inc(3)
    healthy = {"healthy": True, "store": "ok"}
    served = {"next": 1}
    server = MetricsServer(metrics.registry, health=lambda: healthy, documents={"/forecasts": lambda: served}).start()
    try:
        assert server.port != 0
        status, body = _get(f"{server.url}/metrics")
        text = body.decode()
        assert status == 200
        assert "energy_grid_example_chain_head_block 12.0" in text
        assert "energy_grid_example_lag_blocks 3.0" in text
        assert 'energy_grid_example_transactions_total{outcome="mined"} 3.0' in text
        status, body = _get(f"{server.url}/health")
        assert (status, json.loads(body)) == (200, healthy)
        healthy["healthy"] = False
        status, _ = _get(f"{server.url}/health")
        assert status == 503
        # A service's own document is read afresh at each request.
        served["next"] = 2
        status, body = _get(f"{server.url}/forecasts")
        assert (status, json.loads(body)) == (200, {"next": 2})
    finally:
        server.stop()


def test_a_taken_port_is_refused_with_a_message() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServiceError, match=f"127.0.0.1:{port}.*choose another port"):
            MetricsServer(ServiceMetrics("example").registry, health=dict, port=port).start()


def test_each_service_has_its_own_registry() -> None:
    first, second = ServiceMetrics("example"), ServiceMetrics("example")
    first.errors.inc()
    assert second.registry.get_sample_value("energy_grid_example_errors_total") == 0.0
    assert first.registry.get_sample_value("energy_grid_example_errors_total") == 1.0
