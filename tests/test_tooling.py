"""The tooling: units, the demo community's meters, the gas report, the node `make bench` and `make fuzz` start."""

from __future__ import annotations

import http.server
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from energy_grid.bench.core import GasReport
from energy_grid.chain.anvil import LOCAL_HOST, PortInUseError, port_is_free, start_anvil
from energy_grid.contracts.client import GridError
from energy_grid.domain.units import day_of, format_cents, format_kwh, format_money, interval_of, kwh
from energy_grid.tour.community import Prosumer, demo_community, household_power_w, pv_power_w


def test_grid_clock():
    assert interval_of(899) == 0
    assert interval_of(900) == 1
    assert day_of(86_399) == 0
    assert day_of(86_400) == 1


def test_formats_are_exact():
    assert kwh(1) == kwh(1000) / 1000
    assert format_kwh(29_458) == "29.458 kWh"
    assert format_money(3_880_500, 6, "MOCKUSD") == "3.880500 MOCKUSD"


def test_money_to_the_cent_rounds_half_a_cent_up_and_never_shows_a_zero_it_is_not():
    assert format_cents(20_000_065_000, 6, "MOCKUSD") == "20,000.07 MOCKUSD"  # half a cent up
    assert format_cents(20_000_064_999, 6, "MOCKUSD") == "20,000.06 MOCKUSD"
    assert format_cents(-1_235_000, 6, "MOCKUSD") == "-1.24 MOCKUSD"  # a loss rounds the same way
    assert format_cents(4_999, 6, "MOCKUSD") == "< 0.01 MOCKUSD"  # not 0, though under half a cent
    assert format_cents(-4_999, 6, "MOCKUSD") == "< 0.01 MOCKUSD"
    assert format_cents(0, 6, "MOCKUSD") == "0.00 MOCKUSD"
    assert format_cents(5_000, 6, "MOCKUSD") == "0.01 MOCKUSD"
    assert format_cents(1_234, 2, "EUR") == format_money(1_234, 2, "EUR") == "12.34 EUR"  # cents already


def test_pv_produces_only_in_daylight():
    assert pv_power_w(6_000, 5.9) == 0
    assert pv_power_w(6_000, 18.1) == 0
    assert pv_power_w(6_000, 12.0) == 6_000  # peak at solar noon
    assert 0 < pv_power_w(6_000, 9.0) < 6_000


def test_household_load_peaks_in_the_evening():
    assert household_power_w(400, 19.0) > household_power_w(400, 7.5) > household_power_w(400, 3.0) >= 400


def test_registers_only_grow_and_split_net_flows():
    p = Prosumer("test", pv_peak_w=6_000, base_load_w=400)
    history = []
    for step in range(96):
        p.advance(hour=step / 4)
        history.append((p.consumption_register_wh, p.production_register_wh))
    assert all(a <= b for a, b in itertools.pairwise(history))  # cumulative, like a meter's registers
    night_import = history[20][0]  # 05:00, before sunrise: all import, no export
    assert night_import > 0 and history[20][1] == 0
    assert p.production_register_wh > p.consumption_register_wh  # a sunny day nets export


def test_demo_community_has_producers_and_consumers():
    community = demo_community()
    assert any(p.pv_peak_w > 0 for p in community)
    assert any(p.pv_peak_w == 0 for p in community)
    assert len({p.name for p in community}) == len(community)


def test_gas_report_flags_figures_over_budget(tmp_path):
    report = GasReport()
    report.add("cheap", 90, budget=100)
    assert bool(report.all_within_budget)  # bool() keeps mypy from narrowing the property to True for the rest of the test.
    report.add("costly", 101, budget=100, note="over")
    report.add("unbudgeted", 10**9)
    assert not report.all_within_budget
    path = tmp_path / "gas.json"
    report.write(path)
    rows = json.loads(path.read_text())["measurements"]
    assert [(r["operation"], r["withinBudget"]) for r in rows] == [
        ("cheap", True),
        ("costly", False),
        ("unbudgeted", True),
    ]


# ----------------------------------------------------------------------------- a node of one's own
# `make bench` and `make fuzz` run on an anvil they start themselves (python -m energy_grid.cli.own_anvil):
# on a port someone else holds they refuse, rather than run against that process's chain.

REPOSITORY = Path(__file__).resolve().parent.parent
# The ports the bench and the fuzz run once used by default.
FORMER_DEFAULT_PORTS = (8547, 8548)


class _AnswersEverything(http.server.BaseHTTPRequestHandler):
    """A stranger's JSON-RPC node: every request gets a chain id."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": "0x7a69"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def strangers_node() -> Iterator[int]:
    """A process-like JSON-RPC server on a free port that answers as an anvil would; yields its port."""
    server = http.server.ThreadingHTTPServer((LOCAL_HOST, 0), _AnswersEverything)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def listening_on(ports: tuple[int, ...]) -> Iterator[set[int]]:
    """Listens on each of `ports` that is free (the others someone holds already); yields them all."""
    sockets = []
    for port in ports:
        s = socket.socket()
        try:
            s.bind((LOCAL_HOST, port))
            s.listen()
            sockets.append(s)
        except OSError:
            s.close()
    try:
        yield set(ports)
    finally:
        for s in sockets:
            s.close()


def own_node(*args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "energy_grid.cli.own_anvil", *args],
        check=False,
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
    )


def test_a_node_is_never_started_on_a_port_another_process_holds():
    """anvil cannot bind a port a stranger's node holds, and the stranger answers there: the node
    would have been the stranger's."""
    with strangers_node() as port, pytest.raises(PortInUseError, match=f"port {port} .*in use"):
        node = start_anvil(port=port)
        node.stop()


def test_a_node_that_exits_before_it_listens_is_reported():
    with pytest.raises(GridError, match=r"anvil exited with status [1-9]"):
        node = start_anvil(extra_args=("--no-such-option",))
        node.stop()


def test_own_node_refuses_a_port_in_use_with_one_sentence(tmp_path):
    ran = tmp_path / "ran"
    with strangers_node() as port:
        result = own_node(
            "--port", str(port), "--port-name", "BENCH_PORT", "--", sys.executable, "-c", f"open({str(ran)!r}, 'w')"
        )
    assert result.returncode != 0
    message = result.stderr.strip()
    assert message.count("\n") == 0 and message.count(". ") == 0, message
    assert f"BENCH_PORT={port}" in message and "in use" in message
    assert not ran.exists()  # the command never ran


def test_own_node_picks_a_free_port_when_none_is_given():
    """With no port (or the empty one an unset make variable gives) the node runs on a free port, even
    with the former fixed ports taken, the command finds it through APE_FOUNDRY_HOST, and it is
    stopped once the command ends."""
    probe = (
        "import os, requests; url = os.environ['APE_FOUNDRY_HOST']; "
        "print(url, requests.post(url, json={'jsonrpc': '2.0', 'id': 1, 'method': 'eth_chainId', 'params': []}).json()['result'])"
    )
    with listening_on(FORMER_DEFAULT_PORTS) as taken:
        for port_args in ((), ("--port", "")):
            result = own_node(*port_args, "--prune-history", "256", "--", sys.executable, "-c", probe)
            assert result.returncode == 0, result.stderr
            url, chain_id = result.stdout.split()
            host, port = url.removeprefix("http://").split(":")
            assert host == LOCAL_HOST and int(port) not in taken
            assert int(chain_id, 16) == 31337
            assert port_is_free(int(port))  # anvil stopped with the command


def test_own_node_exits_with_the_commands_status():
    assert own_node("--", sys.executable, "-c", "raise SystemExit(3)").returncode == 3


@pytest.mark.parametrize(("target", "variable"), [("bench", "BENCH_PORT"), ("fuzz", "FUZZ_PORT")])
def test_make_bench_and_fuzz_refuse_a_port_in_use(target, variable):
    """The targets themselves, their compile step skipped: on a port a stranger's node holds they
    stop before any transaction, with a sentence that names the setting."""
    with strangers_node() as port:
        result = subprocess.run(
            ["make", "--silent", "--no-print-directory", "-o", "compile", target, f"{variable}={port}"],
            check=False,
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode != 0
    assert f"{variable}={port}" in result.stderr and "in use" in result.stderr
    assert result.stdout == ""  # neither the bench nor the fuzz run started


def test_anvil_is_found_in_the_projects_node_modules_without_path(monkeypatch):
    """`make setup` installs anvil from npm; a program finds it there when PATH has none."""
    from energy_grid.chain import anvil  # noqa: PLC0415

    monkeypatch.setattr(anvil.shutil, "which", lambda _name: None)
    found = Path(anvil.anvil_binary())
    assert found.is_file()
    assert found.parts[-5:] == ("node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil")
