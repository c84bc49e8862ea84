"""The API service on a free port, in a thread of the test process, for tests that talk HTTP to it
(the load test, the browser tests), what the API tests read its answers with, and a clock they step."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from eth_account import Account
from eth_account.messages import encode_typed_data
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from energy_grid.chain.anvil import free_port

STARTUP_TIMEOUT_S = 60


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """Runs `app` under uvicorn on 127.0.0.1 and yields its base URL; stops it on exit."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="api-service", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_S)


def sign_typed(account: Any, typed: dict) -> str:
    """`account`'s signature of EIP-712 typed data, as a wallet gives it (0x hex)."""
    return "0x" + bytes(Account.sign_message(encode_typed_data(full_message=typed), account.private_key).signature).hex()


def ok(answer: Any, status: int = 200) -> dict:
    """The JSON body of an answer that must have `status`."""
    assert answer.status_code == status, answer.json()
    return answer.json()


def problem(answer: Any, status: int, error: str) -> dict:
    """The body of a refusal in the documented problem shape, with `status` and `error`."""
    assert answer.status_code == status, answer.json()
    body = answer.json()
    assert body["error"] == error, body
    assert set(body) == {"error", "message", "details"} and body["message"]
    return body


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics answer by its name and labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


class SteppedClock:
    """Monotonic seconds that move only when a test says so (`now_s += …`): what a test hands a
    quota instead of the wall's clock, so that it never waits."""

    def __init__(self, now_s: float = 10_000.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s
