"""A read that a newly mined block overtook (anvil without past states answers BlockOutOfRangeError:
the head it named lost its state before the read) is asked again, both through web3's provider and
through the batch reader, and reported only when it keeps failing."""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from web3 import Web3
from web3.exceptions import Web3RPCError
from web3.types import Wei

from energy_grid.chain.jsonrpc import OVERTAKEN_ATTEMPTS, JsonRpcError, NodeProvider, call_batch, overtaken_by_a_block

OVERTAKEN = {"code": -32602, "message": "BlockOutOfRangeError: block height is 9 but requested was 8"}
GAS = 21_000


class FlakyNode:
    """A node on a free port of 127.0.0.1 whose eth_estimateGas is overtaken `failures` times first."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[str] = []
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                node.requests.append(request["method"])
                body = json.dumps(node.answer(request)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request["id"]}
        if request["method"] == "eth_chainId":
            return reply | {"result": "0x7a69"}
        if self.failures > 0:
            self.failures -= 1
            return reply | {"error": OVERTAKEN}
        return reply | {"result": hex(GAS)}


@pytest.fixture
def flaky_node():
    nodes: list[FlakyNode] = []

    def start(failures: int) -> FlakyNode:
        nodes.append(FlakyNode(failures))
        return nodes[-1]

    yield start
    for node in nodes:
        node.server.shutdown()


def estimate(url: str) -> int:
    w3 = Web3(NodeProvider(url))
    return int(w3.eth.estimate_gas({"from": "0x" + "11" * 20, "to": "0x" + "22" * 20, "value": Wei(1)}))


def test_a_read_overtaken_by_a_block_is_asked_again_through_web3(flaky_node):
    node = flaky_node(OVERTAKEN_ATTEMPTS - 1)

    assert estimate(node.url) == GAS
    assert node.requests.count("eth_estimateGas") == OVERTAKEN_ATTEMPTS


def test_a_read_overtaken_every_time_is_reported_with_the_node_s_message(flaky_node):
    node = flaky_node(OVERTAKEN_ATTEMPTS)

    with pytest.raises(Web3RPCError, match="BlockOutOfRangeError"):
        estimate(node.url)
    assert node.requests.count("eth_estimateGas") == OVERTAKEN_ATTEMPTS


def test_only_the_overtaken_requests_of_a_batch_are_asked_again():
    posted: list[list[str]] = []
    overtaken_once = {"eth_estimateGas"}

    def post(payload: list[dict[str, Any]]) -> list[dict[str, Any]]:
        posted.append([request["method"] for request in payload])
        replies = []
        for request in payload:
            if request["method"] in overtaken_once:
                overtaken_once.discard(request["method"])
                replies.append({"id": request["id"], "error": OVERTAKEN})
            else:
                replies.append({"id": request["id"], "result": request["method"]})
        return list(reversed(replies))  # a node may answer a batch in any order

    results = call_batch(post, itertools.count(), [("eth_call", []), ("eth_estimateGas", []), ("eth_getBalance", [])], chunk=10)

    assert results == ["eth_call", "eth_estimateGas", "eth_getBalance"]
    assert posted == [["eth_call", "eth_estimateGas", "eth_getBalance"], ["eth_estimateGas"]]


def test_a_batch_request_overtaken_every_time_fails_as_any_error():
    def post(payload: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"id": request["id"], "error": OVERTAKEN} for request in payload]

    with pytest.raises(JsonRpcError, match="BlockOutOfRangeError"):
        call_batch(post, itertools.count(), [("eth_estimateGas", [])], chunk=10)
    failed = call_batch(post, itertools.count(), [("eth_estimateGas", [])], chunk=10, raise_errors=False)
    assert overtaken_by_a_block(failed[0].error)


def test_other_errors_are_not_asked_again():
    assert not overtaken_by_a_block({"code": 3, "message": "execution reverted"})
    assert not overtaken_by_a_block(None)
