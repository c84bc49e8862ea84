"""energy_grid.chain.jsonrpc: posts over one kept-alive connection, reopened when the server closed it;
a node that is down, slow or failing surfaces as requests' exceptions."""

from __future__ import annotations

import http.server
import itertools
import json
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from energy_grid.chain.anvil import free_port
from energy_grid.chain.jsonrpc import JsonRpcError, KeptAliveConnection, RequestFailed, call_batch


class _Handler(http.server.BaseHTTPRequestHandler):
    """Echoes the posted body; `/close` answers and closes the connection (as a node that drops
    idle ones), `/fail` answers 500, `/slow` answers after half a second."""

    protocol_version = "HTTP/1.1"
    connections: list[int] = []  # noqa: RUF012 - one list for the test server

    def setup(self) -> None:
        super().setup()
        self.connections.append(id(self.connection))

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/slow":
            time.sleep(0.5)
        status = 500 if self.path == "/fail" else 200
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_posts_reuse_one_connection(server):
    _Handler.connections.clear()
    connection = KeptAliveConnection(server + "/", timeout=5.0)
    replies = [json.loads(connection.post(json.dumps({"id": i}).encode())) for i in range(5)]
    assert replies == [{"id": i} for i in range(5)]
    assert len(_Handler.connections) == 1


def test_a_connection_the_server_closed_is_reopened(server):
    _Handler.connections.clear()
    connection = KeptAliveConnection(server + "/close", timeout=5.0)
    assert [connection.post(b"[%d]" % i) for i in range(3)] == [b"[0]", b"[1]", b"[2]"]
    assert len(_Handler.connections) == 3


def test_the_node_s_answer_from_a_real_node(chain):
    connection = KeptAliveConnection(chain.provider.uri, timeout=5.0)
    reply = json.loads(connection.post(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()))
    assert int(reply["result"], 16) == chain.chain_id


def test_failures_are_requests_exceptions(server):
    with pytest.raises(requests.exceptions.HTTPError, match="500"):
        KeptAliveConnection(server + "/fail", timeout=5.0).post(b"{}")
    with pytest.raises(requests.exceptions.Timeout):
        KeptAliveConnection(server + "/slow", timeout=0.1).post(b"{}")
    with pytest.raises(requests.exceptions.ConnectionError):
        KeptAliveConnection(f"http://127.0.0.1:{free_port()}", timeout=5.0).post(b"{}")
    with pytest.raises(ValueError, match="http://"):
        KeptAliveConnection("https://example.org", timeout=5.0)


def test_a_batch_answers_in_request_order_in_chunks_and_stops_at_the_first_error():
    """call_batch sends `chunk` requests a round trip, pairs replies by id whatever their order, and
    raises naming the method the node refused."""
    posted: list[list[dict]] = []

    def post(payload: list[dict]) -> list[dict]:
        posted.append(payload)
        replies = [
            {"id": r["id"], "error": {"message": "nope"}} if r["method"] == "bad" else {"id": r["id"], "result": r["params"][0] * 2}
            for r in payload
        ]
        return replies[::-1]  # a node may answer a batch in any order

    ids = itertools.count(7)
    assert call_batch(post, ids, [("double", [n]) for n in range(5)], 2) == [0, 2, 4, 6, 8]
    assert [len(p) for p in posted] == [2, 2, 1]
    assert [r["id"] for p in posted for r in p] == list(range(7, 12))
    with pytest.raises(JsonRpcError, match="bad failed: nope"):
        call_batch(post, ids, [("double", [1]), ("bad", [2]), ("double", [3])], 5)
    # Asked not to raise, it answers every request: a refused one by its error, in its place.
    outcomes = call_batch(post, ids, [("double", [1]), ("bad", [2]), ("double", [3])], 5, raise_errors=False)
    assert outcomes == [2, RequestFailed("bad", {"message": "nope"}), 6]
    assert (outcomes[1].message, outcomes[1].data) == ("nope", "")
    assert RequestFailed("eth_estimateGas", {"message": "execution reverted", "data": "0xd93c0665"}).data == "0xd93c0665"
