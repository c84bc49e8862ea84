"""EIP-712 typed data, as the grid's contracts hash it: the domain, the typed-data dict a wallet
signs (`eth_signTypedData_v4`), a signature over it and the address it recovers to.

The messages themselves live with what signs them: the market's orders, cancellations and token
permits in `energy_grid.signing.orders`, the meters' readings in `energy_grid.signing.readings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

Fields = list[dict[str, str]]  # a struct's members in declaration order: {"name": …, "type": …}

EIP712_DOMAIN: Fields = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def type_string(name: str, fields: Fields) -> str:
    """The EIP-712 type string, as the contract hashes it: `Name(type field,...)`."""
    members = ",".join(f"{field['type']} {field['name']}" for field in fields)
    return f"{name}({members})"


def signing_domain(name: str, version: str, chain_id: int, verifying_contract: str) -> dict[str, Any]:
    return {"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying_contract}


def typed_data(
    domain: dict[str, Any],
    primary: str,
    fields: Fields,
    message: dict[str, Any],
    nested: Mapping[str, Fields] | None = None,
) -> dict[str, Any]:
    """The typed-data dict of `message`, a `primary` struct with `fields`; `nested` names the
    struct types its fields use."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN, primary: fields, **(nested or {})},
        "primaryType": primary,
        "domain": domain,
        "message": message,
    }


@dataclass(frozen=True)
class Signature:
    v: int
    r: bytes
    s: bytes

    def args(self) -> tuple[int, bytes, bytes]:
        return self.v, self.r, self.s

    def malleated(self) -> Signature:
        """The same signature's high-s twin (s' = n - s, v flipped): valid for ecrecover, refused by the contracts."""
        s = SECP256K1_N - int.from_bytes(self.s, "big")
        return Signature(55 - self.v, self.r, s.to_bytes(32, "big"))


def sign_typed_data(typed: dict[str, Any], key: Any) -> Signature:
    """`key` (a private key or local account) signs the typed-data dict `typed`."""
    signed = Account.sign_message(encode_typed_data(full_message=typed), key)
    return Signature(signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big"))


def recover_typed_data_signer(typed: dict[str, Any], signature: Signature) -> str:
    """The address `signature` over the typed-data dict `typed` recovers to."""
    return str(Account.recover_message(encode_typed_data(full_message=typed), vrs=signature.args()))


__all__ = [
    "EIP712_DOMAIN",
    "Signature",
    "recover_typed_data_signer",
    "sign_typed_data",
    "signing_domain",
    "type_string",
    "typed_data",
]
