"""JSON-RPC posts over one kept-alive connection of the standard library's HTTP client.

requests (a session, its adapters, urllib3's pool, cookies and redirects) spends about a
millisecond and a half of Python on each request; a local node answers a small one in a tenth of
that, and the bulk sender (sender.py) posts thousands. For plain-HTTP nodes that no proxy from the
environment fronts (requests would honour one; this client does not) it posts here instead;
failures surface as requests' exceptions (ConnectionError, Timeout, HTTPError), which the client
and the CLI already tell a node that is down by.

    connection = KeptAliveConnection("http://127.0.0.1:8545", timeout=30.0)
    reply = json.loads(connection.post(json.dumps(payload).encode()))

It also holds the one rule for an answer that only timing caused (`overtaken_by_a_block`): a node
that keeps no past states (anvil's `--prune-history`, as the live chain runs) names the head, a
block is mined, and the read of the named head's state fails with BlockOutOfRangeError. The same
read a moment later succeeds, so both ways of reading the node (`call_batch` here and web3's
`NodeProvider`) ask again, a few times, before they report an error.
"""

from __future__ import annotations

import http.client
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from web3 import HTTPProvider
from web3.types import RPCEndpoint, RPCResponse

JSON_HEADERS = {"Content-Type": "application/json"}
ATTEMPTS = 2  # the second on a fresh connection, when the node had closed the kept one
FIRST_HTTP_ERROR_STATUS = 400
# anvil's answer to a read whose block a newly mined one overtook, and how often such a read is
# asked again: a block a second at most passes a read in a row, so a few tries always land.
OVERTAKEN_BY_A_BLOCK = "BlockOutOfRangeError"
OVERTAKEN_ATTEMPTS = 5


def overtaken_by_a_block(error: Any) -> bool:
    """Whether a JSON-RPC error is the node's read overtaken by a new block (module docstring)."""
    message = error.get("message", "") if isinstance(error, dict) else error
    return isinstance(message, str) and OVERTAKEN_BY_A_BLOCK in message


class NodeProvider(HTTPProvider):
    """web3's HTTP provider that asks again when a read was overtaken by a new block."""

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        response = super().make_request(method, params)
        for _ in range(OVERTAKEN_ATTEMPTS - 1):
            if not overtaken_by_a_block(response.get("error")):
                break
            response = super().make_request(method, params)
        return response


class KeptAliveConnection:
    """One HTTP connection to a node, reopened when the node closed it; not for sharing between threads."""

    def __init__(self, uri: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(uri)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"a kept-alive connection needs an http:// URL, got {uri!r}")
        self.uri = uri
        self._path = parts.path or "/"
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def post(self, body: bytes, headers: Mapping[str, str] | None = None) -> bytes:
        """The reply's body; raises requests.exceptions.ConnectionError, Timeout or HTTPError."""
        all_headers = {**JSON_HEADERS, **(headers or {})}
        for attempt in range(1, ATTEMPTS + 1):
            try:
                self._connection.request("POST", self._path, body, all_headers)
                reply = self._connection.getresponse()
                content = reply.read()
                break
            except TimeoutError as err:
                self._connection.close()
                raise requests.exceptions.Timeout(f"{self.uri}: {err}") from err
            except (http.client.HTTPException, ConnectionError) as err:
                # A connection the node closed while idle fails before the request reaches the
                # node: once more on a new one. A refused connection is a node that is down.
                self._connection.close()
                if attempt == ATTEMPTS or isinstance(err, ConnectionRefusedError):
                    raise requests.exceptions.ConnectionError(f"{self.uri}: {err}") from err
        if reply.status >= FIRST_HTTP_ERROR_STATUS:
            raise requests.exceptions.HTTPError(f"{reply.status} {reply.reason} for url: {self.uri}")
        return content

    def close(self) -> None:
        self._connection.close()


class JsonRpcError(RuntimeError):
    """A request of a batch the node answered with a JSON-RPC error."""

    def __init__(self, method: str, error: Any) -> None:
        super().__init__(f"{method} failed: {RequestFailed(method, error).message}")


@dataclass(frozen=True)
class RequestFailed:
    """A request of a batch the node answered with an error: its message and data (a revert's)."""

    method: str
    error: Any

    @property
    def message(self) -> str:
        return str(self.error.get("message", self.error) if isinstance(self.error, dict) else self.error)

    @property
    def data(self) -> str:
        data = self.error.get("data") if isinstance(self.error, dict) else None
        return data if isinstance(data, str) else ""


def call_batch(
    post: Callable[[list[dict[str, Any]]], Any],
    ids: Iterator[int],
    requests_: Sequence[tuple[str, list[Any]]],
    chunk: int,
    *,
    raise_errors: bool = True,
) -> list[Any]:
    """The results of `requests_` (method, params) in order, `chunk` to a round trip through `post`
    (which sends one JSON-RPC batch and returns the node's decoded replies, in any order); raises
    JsonRpcError on the first error, or with `raise_errors` off puts a RequestFailed in its place."""
    results: list[Any] = []
    for start in range(0, len(requests_), chunk):
        sent = [(next(ids), method, params) for method, params in requests_[start : start + chunk]]
        payload = [{"jsonrpc": "2.0", "id": id_, "method": method, "params": params} for id_, method, params in sent]
        by_id = {reply["id"]: reply for reply in post(payload)}
        for _ in range(OVERTAKEN_ATTEMPTS - 1):
            again = [request for request in payload if overtaken_by_a_block(by_id[request["id"]].get("error"))]
            if not again:
                break
            by_id.update((reply["id"], reply) for reply in post(again))
        for id_, method, _ in sent:
            reply = by_id[id_]
            if "error" not in reply:
                results.append(reply["result"])
            elif raise_errors:
                raise JsonRpcError(method, reply["error"])
            else:
                results.append(RequestFailed(method, reply["error"]))
    return results


__all__ = ["JsonRpcError", "KeptAliveConnection", "NodeProvider", "RequestFailed", "call_batch", "overtaken_by_a_block"]
