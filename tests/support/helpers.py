"""Exhaustive assertions shared by the test modules.

ape 0.8's `ape.reverts(Error, **inputs)` skips inputs that are not named, does not decode the
custom errors of calls (views), and `contract.Event(**fields)` compares only the fields given; the
helpers here close those gaps so a test cannot pass by asserting less than it seems to.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ape
from ape.exceptions import CustomError
from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from hexbytes import HexBytes

from energy_grid.deploy.system import interface_type
from energy_grid.domain.units import ZERO_ADDRESS  # noqa: F401 - the test modules take it from here

DEFAULT_ADMIN_ROLE = b"\x00" * 32


def role(name: str) -> bytes:
    """`keccak256("NAME")`, as the contracts define their roles."""
    return keccak(text=name)


@contextmanager
def reverts(error: Any, **inputs: Any) -> Iterator[Any]:
    """`ape.reverts(error, **inputs)`, made exhaustive: the revert must decode to exactly `error`
    and every one of its inputs must be given."""
    with ape.reverts(error, **inputs) as info:
        yield info
    raised = _decoded(info.value, error)
    assert isinstance(raised, CustomError), f"expected {error.__name__}, got {raised!r}"
    assert type(raised).__name__ == error.__name__, f"expected {error.__name__}, got {type(raised).__name__}"
    assert set(raised.inputs) == set(inputs), f"{error.__name__}: asserted {sorted(inputs)} of {sorted(raised.inputs)}"
    assert dict(raised.inputs) == inputs, f"{error.__name__}: expected {inputs}, got {dict(raised.inputs)}"


def _decoded(raised: Any, error: Any) -> Any:
    """ape decodes the custom errors of transactions but not those of calls (views), which arrive
    as anvil's message `custom error 0x<selector>: <data as hex, or as text when it is UTF-8>`, or
    as the data itself when all of it is ASCII."""
    if isinstance(raised, CustomError):
        return raised
    message = raised.revert_message or ""
    # ape strips the message, and with it trailing data bytes that read as whitespace (0x09-0x0d,
    # 0x1c-0x20: an argument ending in 0x1f): the provider's own error keeps them.
    provider_message = str(getattr(raised, "base_err", None) or "").removeprefix("execution reverted: ")
    if provider_message != message and provider_message.strip() == message.strip():
        message = provider_message
    # An error without arguments arrives as the selector alone, with no colon.
    match = re.fullmatch(r"custom error (0x[0-9a-f]{8})(?:: ?(.*))?", message, re.DOTALL)
    if match:
        selector, body = match.group(1), match.group(2) or ""
        data = HexBytes(selector) + (bytes.fromhex(body) if re.fullmatch(r"(?:[0-9a-f]{2})*", body) else body.encode())
    else:
        # Revert data that is all ASCII, selector included, arrives as that text.
        assert message.isascii() and len(message) >= 4, f"expected {error.__name__}, got {raised!r}"
        data = HexBytes(message.encode())
    ecosystem = ape.chain.provider.network.ecosystem
    decoded = ecosystem.decode_custom_error(data, error.contract.address)
    assert decoded is not None, f"expected {error.__name__}, got undecodable {raised!r}"
    return decoded


def error_data(error: Any, *args: Any) -> HexBytes:
    """The revert data of `error(args)`: selector and ABI-encoded arguments."""
    types = [ipt.canonical_type for ipt in error.abi.inputs]
    return HexBytes(keccak(text=error.abi.selector)[:4] + encode(types, list(args)))


@contextmanager
def deploy_reverts(error: Any, *args: Any) -> Iterator[Any]:
    """A constructor revert, whose custom error ape does not decode: compares the raw revert data."""
    with ape.reverts() as info:
        yield info
    assert HexBytes(info.value.revert_message) == error_data(error, *args)


# EnergyVault's record of every market's balance moves. A market's own event names the same amounts,
# so a test of a market's logs leaves these out unless it names one of them; the vault's tests and
# the balance rebuild from the vault's events after a simulated day (test_simulation_run.py) check them all.
VAULT_MOVE_EVENTS = frozenset({"MarketMoved", "MarketBatchSettled"})


def assert_logs(tx: Any, *expected: Any) -> None:
    """The transaction emitted exactly `expected` (mock logs naming every field), in any order; the
    vault's market-move events count only when `expected` names one of them."""
    actual = list(tx.events)
    if not any(getattr(mock, "event_name", None) in VAULT_MOVE_EVENTS for mock in expected):
        actual = [real for real in actual if real.event_name not in VAULT_MOVE_EVENTS]
    assert len(actual) == len(expected), f"expected {list(expected)}, got {actual}"
    for mock in expected:
        index = next((i for i, real in enumerate(actual) if mock == real), None)
        assert index is not None, f"{mock} not among {actual}"
        actual.pop(index)


def log(event: Any, **fields: Any) -> Any:
    """A mock log of `event` that names every field (ape's mock compares only those given)."""
    names = {ipt.name for ipt in event.abi.inputs}
    assert set(fields) == names, f"{event.name}: given {sorted(fields)}, has {sorted(names)}"
    return event(**fields)


def vault_funding_logs(vault: Any, token: Any, payer: Any, market: Any, amount: int) -> tuple[Any, Any]:
    """The logs of `amount` sent from `payer`'s wallet to `vault` and credited there to `market`'s own
    balance (a market funding its own: one transfer and one creditArrived)."""
    return (
        log(token.Transfer, **{"from": address(payer), "to": vault.address, "value": amount}),
        log(vault.ArrivedCredited, token=token.address, creditor=address(market), accounts=[address(market)], amounts=[amount]),
    )


def address(account: Any) -> str:
    return account if isinstance(account, str) else account.address


def unexercised_abi_items(
    contract_name: str,
    modules: Iterable[str],
    kinds: tuple[str, ...] = ("function", "event", "error"),
    exempt: Collection[str] = (),
) -> list[str]:
    """ABI items of `kinds` of the project's `contract_name` that no file of `modules` names as
    `.<name>`: a contract's completeness guard across all of its test modules.

    `modules` are paths or glob patterns relative to the tests folder (`"test_smart_meter_*.py"`,
    `"support/meter_helpers.py"`); each must match a file, so a renamed module cannot empty the
    guard."""
    tests = Path(__file__).resolve().parent.parent
    files: set[Path] = set()
    for pattern in modules:
        matched = set(tests.glob(pattern))
        assert matched, f"no test module matches {pattern!r}"
        files |= matched
    source = "\n".join(path.read_text() for path in sorted(files))
    abi = interface_type(ape.project, contract_name).abi  # a contract's own ABI, with its extension's
    items = [item for item in abi if item.type in kinds and item.name not in exempt]
    return [f"{item.type} {item.name}" for item in items if not re.search(rf"\.{item.name}\b", source)]


def sign_permit(
    token: Any, holder: Any, spender: Any, value: int, nonce: int, deadline: int, chain_id: int, signer: Any = None
) -> tuple[int, HexBytes, HexBytes, dict[str, Any]]:
    """EIP-2612 permit over `token`'s domain, signed by `signer` (default: `holder`).

    Returns (v, r, s, typed message)."""
    message = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {"name": token.name(), "version": "1", "chainId": chain_id, "verifyingContract": token.address},
        "message": {
            "owner": holder.address,
            "spender": spender.address,
            "value": value,
            "nonce": nonce,
            "deadline": deadline,
        },
    }
    signed = Account.sign_message(encode_typed_data(full_message=message), (signer or holder).private_key)
    return signed.v, HexBytes(signed.r.to_bytes(32, "big")), HexBytes(signed.s.to_bytes(32, "big")), message


# EnergyVault's constructor argument for a payment token without a freeze list.
NO_FREEZE_QUERY = bytes(4)
