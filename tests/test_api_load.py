"""The service over real HTTP under load: 1,000 reads and 200 relayed orders sent at once.

The service is `energy-grid serve` in a process of its own, as a user runs it, so the test's HTTP
client does not share its interpreter.

Two hundred fresh traders each sign one BUY order with their approval of the book in the
EnergyVault and an ERC-2612 permit of the vault (a wallet's first order: no approval transaction,
no gas of their own); the relayer sends them one at a time while the reads
run alongside. Every request must answer 2xx and every order must be on chain exactly once, under
its signer. The p50 / p99 latency of each kind is printed (run with -s) and written to
reports/api-load.json; nothing is asserted about speed (`make bench` measures speed).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.anvil import free_port
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.sender import TransactionSender, prepare
from energy_grid.domain.enums import OrderType
from energy_grid.signing.orders import SignedOrder, sign_market_approval, sign_order, sign_permit

from support.anvil_node import wait_until

TRADERS = 200
SEEDED = 5  # of them, relayed before the load
READS = 1_000
AMOUNT_WH = 2_000
PRICE = 200_000
COST = AMOUNT_WH * PRICE // 1000
CONNECTIONS = 64
FUNDING_GAS = 200_000
FUNDING_WHOLE_UNITS = 1  # 1,000,000 base units: enough for one order's escrow (COST)
REPORT = Path(__file__).resolve().parent.parent / "reports" / "api-load.json"
INDEX_WAIT_S = 120
HOUR_S = 3600
SERVICE_START_S = 60
KEEPALIVE_S = 2.0
RELAYED_TRANSACTIONS = 2 * TRADERS  # each trader's first order: its approval of the book, then the order


@pytest.fixture(scope="module")
def load_service(api_manifest, networks, tmp_path_factory):
    """`energy-grid serve` on a free port: on the local chain its relayer is dev account 9."""
    folder = tmp_path_factory.mktemp("load-service")
    port = free_port()
    command = [
        sys.executable, "-m", "energy_grid.cli", "--rpc-url", networks.provider.uri, "--manifest", str(api_manifest),
        "serve", "--port", str(port), "--database-url", f"sqlite:///{folder / 'index.sqlite'}",
        # Every wallet of the load is this one client: its quota holds each order with its approval.
        "--relays-per-client", str(RELAYED_TRANSACTIONS),
    ]
    env = {name: value for name, value in os.environ.items() if not name.startswith("ENERGY_GRID_") and name != "DATABASE_URL"}
    log = (folder / "serve.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:

        def answering() -> bool:
            assert process.poll() is None, (folder / "serve.log").read_text()
            try:
                return httpx.get(f"{base_url}/api/v1/config").status_code == 200
            except httpx.TransportError:
                return False  # not listening yet

        wait_until(answering, SERVICE_START_S, "energy-grid serve to answer", poll_s=0.2)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=SERVICE_START_S)
        log.close()


@pytest.fixture(scope="module")
def load_traders(api_system, api_manifest, networks):
    """Fresh keys, each holding stablecoin for one order's escrow (one JSON-RPC batch) and no ETH."""
    traders = [Account.create() for _ in range(TRADERS)]
    client = GridClient.from_manifest(api_manifest, networks.provider.uri)
    sender = TransactionSender(client, manual_mining=False)
    faucet = client["PaymentToken"]
    for trader in traders:
        call = prepare(faucet, "addConsumerBalance", trader.address, FUNDING_WHOLE_UNITS)
        sender.send(anvil_account(0), call, gas=FUNDING_GAS, actor="set-up")
    sender.flush()
    return traders


def order_body(trader: LocalAccount, market: str, vault: str, payment: Any, chain_id: int, expiry: int, deadline: int) -> dict[str, Any]:
    """What a wallet sends for its first BUY: the order, its approval of the book in the vault and a
    permit of its escrow for the vault, all signed."""
    order = SignedOrder(trader.address, AMOUNT_WH, PRICE, expiry, OrderType.BUY, 0, deadline)
    signature = sign_order(order, trader.key, market, chain_id)
    permit = sign_permit(payment.name(), payment.address, trader.address, vault, COST, 0, deadline, trader.key, chain_id)
    value, permit_deadline, v, r, s = permit
    approval = sign_market_approval(trader.address, market, 0, deadline, trader.key, vault, chain_id)
    return {
        "order": order.message(),
        "signature": "0x" + (signature.r + signature.s + bytes([signature.v])).hex(),
        "permit": {"value": value, "deadline": permit_deadline, "signature": "0x" + (r + s + bytes([v])).hex()},
        "marketApproval": {"deadline": deadline, "signature": "0x" + approval.hex()},
    }


def percentile_ms(latencies_s: list[float], fraction: float) -> float:
    """Nearest rank."""
    ordered = sorted(latencies_s)
    return round(ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] * 1000, 2)


async def timed(client: httpx.AsyncClient, kind: str, method: str, url: str, body: dict | None = None) -> tuple[str, str, int, float, dict]:
    started = time.perf_counter()
    answer = await client.request(method, url, json=body)
    return kind, url, answer.status_code, time.perf_counter() - started, answer.json()


async def wait_for_index(client: httpx.AsyncClient) -> None:
    """Polls the index until it has caught up with the head (the read routes answer from it)."""
    deadline = time.monotonic() + INDEX_WAIT_S
    while time.monotonic() < deadline:
        status = (await client.get("/api/v1/index/status")).json()
        if status["indexedBlock"] == status["headBlock"]:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the index did not catch up: {status}")


def read_urls(traders: list[LocalAccount], order_ids: list[int]) -> list[str]:
    """READS reads, cycling through the live routes and the index's."""
    pool = ["/api/v1/config", *(f"/api/v1/accounts/{t.address}" for t in traders[:20])]
    pool += [*(f"/api/v1/orders/{i}" for i in order_ids), "/api/v1/trades?limit=50", f"/api/v1/trades?trader={traders[0].address}"]
    pool += ["/api/v1/orderbook", "/api/v1/grid/status", f"/api/v1/orders?trader={traders[1].address}"]
    return [pool[i % len(pool)] for i in range(READS)]


def test_1000_reads_and_200_relayed_orders_at_once(load_service, load_traders, api_system, api_manifest, networks, chain):
    market, payment = api_system.energy_trading, api_system.payment_token
    head = chain.blocks.head
    expiry, deadline = head.timestamp + 24 * HOUR_S, head.timestamp + HOUR_S
    vault = api_system.energy_vault.address
    bodies = [order_body(t, market.address, vault, payment, chain.chain_id, expiry, deadline) for t in load_traders]
    first_block = head.number + 1

    async def run() -> tuple[list[int], list[tuple[str, str, int, float, dict]]]:
        # Readers share a pool of connections; each trader is a wallet of its own (one connection
        # each), so a read never waits in line behind the relays on the client's side.
        # Idle connections are dropped before uvicorn's 5 s keep-alive closes them under the client's feet.
        read_limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS, keepalive_expiry=KEEPALIVE_S)
        order_limits = httpx.Limits(max_connections=TRADERS, max_keepalive_connections=TRADERS, keepalive_expiry=KEEPALIVE_S)
        async with (
            httpx.AsyncClient(base_url=load_service, limits=read_limits, timeout=300) as readers,
            httpx.AsyncClient(base_url=load_service, limits=order_limits, timeout=300) as wallets,
        ):
            # A few orders relayed (and indexed) before the load, for the reads of single orders.
            seeded = []
            for body in bodies[:SEEDED]:
                answer = await wallets.post("/api/v1/orders", json=body)
                assert answer.status_code == 201, answer.json()
                seeded.append(int(answer.json()["orderId"]))
            await wait_for_index(readers)
            requests = [timed(wallets, "order", "POST", "/api/v1/orders", body) for body in bodies[SEEDED:]]
            requests += [timed(readers, "read", "GET", url) for url in read_urls(load_traders, seeded)]
            random.Random(11).shuffle(requests)
            return seeded, list(await asyncio.gather(*requests))

    started = time.perf_counter()
    seeded, results = asyncio.run(run())
    elapsed_s = time.perf_counter() - started

    assert [(url, status, body) for _, url, status, _, body in results if not 200 <= status < 300] == []
    orders = [body for kind, *_, body in results if kind == "order"]
    reads = [latency for kind, _, _, latency, _ in results if kind == "read"]
    assert (len(seeded) + len(orders), len(reads)) == (TRADERS, READS)
    # Every order on chain exactly once, under its signer.
    client = GridClient.from_manifest(api_manifest, networks.provider.uri)
    logs = client.trading.contract.events.OrderCreated.get_logs(from_block=first_block)
    by_trader = Counter(str(log["args"]["trader"]) for log in logs)
    assert by_trader == Counter(t.address for t in load_traders)
    assert sorted(seeded + [int(o["orderId"]) for o in orders]) == sorted(int(log["args"]["orderId"]) for log in logs)
    assert {str(o["trader"]) for o in orders} == {t.address for t in load_traders[SEEDED:]}
    assert all(market.nonces(t.address) == 1 for t in load_traders[:: TRADERS // 10])
    assert payment.balanceOf(load_traders[-1].address) == FUNDING_WHOLE_UNITS * 10**6 - COST

    order_latencies = [latency for kind, _, _, latency, _ in results if kind == "order"]
    report = {
        "requests": {"reads": READS, "orders": TRADERS, "ordersBeforeTheLoad": SEEDED},
        "elapsedS": round(elapsed_s, 2),
        "latencyMs": {
            "read": {"p50": percentile_ms(reads, 0.5), "p99": percentile_ms(reads, 0.99)},
            "order": {"p50": percentile_ms(order_latencies, 0.5), "p99": percentile_ms(order_latencies, 0.99)},
        },
        "ordersOnChain": sum(by_trader.values()),
        "ordersRelayedTwice": sum(1 for n in by_trader.values() if n > 1),
    }
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nAPI load: {json.dumps(report)}")
