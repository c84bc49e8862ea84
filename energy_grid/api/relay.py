"""The relay: sends what wallets and meters signed, from the service's own accounts, one at a time.

    relay = Relay(client)
    receipt = relay.send(relayer, client.trading.contract.functions.createOrderBySig(...))

Every transaction is first run with eth_call as its sender against the latest block: a revert
raises the contract's custom error (a `GridError`) and nothing is sent. Then it is signed, sent and
waited for, all under one lock, so two requests never take the same nonce and a request is answered
only once its receipt is in. `problem_for` turns any of these failures into the API's 4xx/5xx.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

import anyio
import anyio.to_thread
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address
from fastapi import Request
from hexbytes import HexBytes
from pydantic_core import PydanticCustomError
from requests.exceptions import RequestException
from web3.contract.contract import ContractFunction
from web3.exceptions import TimeExhausted, Web3RPCError
from web3.types import TxReceipt

from energy_grid.api.problems import ApiProblem
from energy_grid.api.settings import ServiceSettings
from energy_grid.api.write_models import checksum_address
from energy_grid.client import GridClient
from energy_grid.contracts.base import CONNECTION_ERRORS
from energy_grid.dry_run import dry_run
from energy_grid.errors import (
    ContractRevertError,
    GridError,
    InvalidInputError,
    NodeUnreachableError,
    TransactionRevertedError,
)

HTTP_BAD_REQUEST = 400
HTTP_UNPROCESSABLE = 422
HTTP_FORBIDDEN = 403
HTTP_NOT_FOUND = 404
HTTP_CONFLICT = 409
HTTP_BAD_GATEWAY = 502
HTTP_UNAVAILABLE = 503
RECEIPT_TIMEOUT_S = 120
RECEIPT_POLL_S = 0.005

# The contracts' refusals that are not "your input is wrong" (400): whose it is not (403), what
# does not exist (404), what the state no longer allows (409).
FORBIDDEN_ERRORS = frozenset(
    {
        "InvalidSigner",
        "InvalidReadingSignature",
        "InvalidStandingOrderSignature",
        "InvalidApprovalSignature",
        "InvalidWithdrawalSignature",
        "PermitNotApplied",
        "PermitAlreadyUsed",
        "AccountFrozen",
        "NotOrderTrader",
        "NotMeterOwner",
        "NotCounterparty",
        "AccessControlUnauthorizedAccount",
        "OperatorNotAuthorized",
        "OperatorNotAuthorizedForRegion",
        "OperatorNotInRegion",
        "GridOperatorNotRegistered",
        "Unauthorized",
    }
)
CONFLICT_ERRORS = frozenset({"OrderNotActive", "MeterInactive", "EnforcedPause", "ReadingNotAfterPrevious"})
# Nonce errors: a nonce below the current one was used already (a replay, 409); above it is not
# reached yet (400). The argument that holds the current nonce, by error.
NONCE_ERRORS = {"InvalidNonce": "currentNonce", "InvalidReadingNonce": "expectedNonce"}
SIGNER_ARGUMENT = "signer"


class Relay:
    """Runs, sends and waits for transactions of the service's accounts (the relayer, the operator),
    strictly one at a time."""

    def __init__(self, client: GridClient) -> None:
        self.client = client
        # Reentrant: a route that reads state and then writes on it holds it across both (exclusive()).
        self._lock = threading.RLock()
        # Async routes queue here, not in worker threads: a queue of relays blocked on the lock
        # would take every thread of the pool and hold up the reads.
        self._limiter: anyio.CapacityLimiter | None = None

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """No other write of this service runs meanwhile (for a read-then-write, such as a toggle)."""
        with self._lock:
            yield

    def send(self, sender: LocalAccount, call: ContractFunction) -> TxReceipt:
        """`call` as `sender`: checked with eth_call, then sent and mined; raises the GridError
        naming the contract's custom error when it would revert (then nothing was sent)."""
        with self._lock:
            try:
                rejection = dry_run(self.client, sender, call)
            except CONNECTION_ERRORS as err:
                raise NodeUnreachableError(self.client.transactor.rpc_url, str(err)) from None
            if rejection is not None:
                raise rejection
            # The nonce is read from the chain each time: the lock holds until the receipt is in,
            # so it is never one that an earlier request of this service still holds.
            tx_hash = self.client.transactor.send(sender, call)
            return self._receipt(tx_hash, call.fn_name)

    async def send_async(self, sender: LocalAccount, call: ContractFunction) -> TxReceipt:
        """`send` from an async route: one worker thread at a time, the others wait without a thread."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(1)
        return await anyio.to_thread.run_sync(self.send, sender, call, limiter=self._limiter)

    def check(self, sender: str, call: ContractFunction) -> GridError | None:
        """What `call` from `sender` would revert with now (None: it would go through); nothing is sent."""
        try:
            return dry_run(self.client, sender, call)
        except CONNECTION_ERRORS as err:
            return NodeUnreachableError(self.client.transactor.rpc_url, str(err))

    def _receipt(self, tx_hash: HexBytes, function: str) -> TxReceipt:
        """The mined receipt, polled often: every other write waits for it."""
        try:
            receipt = self.client.w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=RECEIPT_TIMEOUT_S, poll_latency=RECEIPT_POLL_S
            )
        except CONNECTION_ERRORS as err:
            raise NodeUnreachableError(self.client.transactor.rpc_url, str(err)) from None
        if receipt["status"] != 1:
            raise TransactionRevertedError(function, "the state changed since its check", "0x" + bytes(tx_hash).hex())
        return receipt




def client_of(request: Request) -> GridClient:
    return cast(GridClient, request.app.state.client)


def settings_of(request: Request) -> ServiceSettings:
    return cast(ServiceSettings, request.app.state.settings)


def relay_of(request: Request) -> Relay:
    """The app's one Relay (made by create_app): its lock is what keeps the service's nonces apart."""
    return cast(Relay, request.app.state.relay)


@contextmanager
def answering() -> Iterator[None]:
    """Turns what the chain or the node raised inside a route into the API's problem response."""
    try:
        yield
    except ApiProblem:
        raise
    except Exception as err:  # problem_for re-raises what it does not know
        raise problem_for(err) from None


def path_address(value: str) -> str:
    """An address from the URL, checksummed; 422 InvalidAddress otherwise."""
    try:
        return checksum_address(value)
    except PydanticCustomError as err:
        raise ApiProblem(HTTP_UNPROCESSABLE, "InvalidAddress", str(err), {"address": value}) from None


def tx_hash_of(receipt: TxReceipt) -> str:
    return "0x" + bytes(receipt["transactionHash"]).hex()


def json_value(value: Any) -> Any:
    """A decoded ABI value as JSON: addresses checksummed, bytes as 0x-hex, tuples as lists."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and is_address(value):
        return to_checksum_address(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def json_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {name: json_value(value) for name, value in arguments.items()}


def revert_status(error: ContractRevertError) -> int:
    """The HTTP status of a contract's refusal (see FORBIDDEN_ERRORS, CONFLICT_ERRORS, NONCE_ERRORS)."""
    name = error.error_name
    if name in NONCE_ERRORS:
        current = int(error.arguments.get(NONCE_ERRORS[name], 0))
        return HTTP_CONFLICT if int(error.arguments.get("nonce", 0)) < current else HTTP_BAD_REQUEST
    if name in FORBIDDEN_ERRORS:
        # A signature that recovers to no address at all is malformed input, not someone else's.
        signer = error.arguments.get(SIGNER_ARGUMENT)
        if signer is not None and int(str(signer), 16) == 0:
            return HTTP_BAD_REQUEST
        return HTTP_FORBIDDEN
    if name.endswith(("Unknown", "NotFound", "NotRegistered")) and name != "GridOperatorNotRegistered":
        return HTTP_NOT_FOUND
    if name in CONFLICT_ERRORS:
        return HTTP_CONFLICT
    return HTTP_BAD_REQUEST


def problem_for(error: Exception) -> ApiProblem:
    """The API's answer to a failed write: the custom error as a 4xx, a silent node as 503;
    anything else is re-raised (a bug, answered 500)."""
    if isinstance(error, ApiProblem):
        return error
    if isinstance(error, ContractRevertError):
        details = json_arguments(error.arguments)
        return ApiProblem(revert_status(error), error.error_name, error.notice or error.reason, details)
    if isinstance(error, TransactionRevertedError):
        details = {"function": error.function, "txHash": error.transaction_hash}
        return ApiProblem(HTTP_BAD_REQUEST, "TransactionReverted", str(error), details)
    for kinds, status, name in _OTHER_FAILURES:
        if isinstance(error, kinds):
            message = NODE_UNREACHABLE_MESSAGE if status == HTTP_UNAVAILABLE else str(error)
            return ApiProblem(status, name, message)
    raise error


NODE_UNREACHABLE_MESSAGE = "The blockchain node does not answer; try again later."
# First match wins: GridError last, as the others' base.
_OTHER_FAILURES: tuple[tuple[tuple[type[Exception], ...], int, str], ...] = (
    ((NodeUnreachableError, TimeExhausted, RequestException, *CONNECTION_ERRORS), HTTP_UNAVAILABLE, "NodeUnreachable"),
    ((InvalidInputError,), HTTP_BAD_REQUEST, "InvalidInput"),
    ((Web3RPCError,), HTTP_BAD_GATEWAY, "NodeRefused"),
    ((GridError,), HTTP_BAD_GATEWAY, "ChainError"),
)


__all__ = [
    "Relay",
    "answering",
    "client_of",
    "json_arguments",
    "json_value",
    "path_address",
    "problem_for",
    "relay_of",
    "revert_status",
    "settings_of",
    "tx_hash_of",
]
