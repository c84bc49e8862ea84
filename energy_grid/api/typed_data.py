"""The EIP-712 JSON a wallet signs with `eth_signTypedData_v4`: exactly what
`energy_grid.signed_orders` signs in Python and the market hashes on chain."""

from __future__ import annotations

from typing import Any

from energy_grid.signed_orders import (
    CANCEL_ORDER_TYPE,
    EIP712_DOMAIN,
    ORDER_TYPE,
    PERMIT_TYPE,
    market_domain,
)

PERMIT_DOMAIN_VERSION = "1"  # OpenZeppelin ERC20Permit's


def typed_data(domain: dict[str, Any], primary: str, fields: list[dict[str, str]], message: dict[str, Any]) -> dict[str, Any]:
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN, primary: fields},
        "primaryType": primary,
        "domain": domain,
        "message": message,
    }


def order_typed_data(message: dict[str, Any], market: str, chain_id: int) -> dict[str, Any]:
    return typed_data(market_domain(market, chain_id), "Order", ORDER_TYPE, message)


def cancel_typed_data(order_id: int, nonce: int, deadline: int, market: str, chain_id: int) -> dict[str, Any]:
    message = {"orderId": order_id, "nonce": nonce, "deadline": deadline}
    return typed_data(market_domain(market, chain_id), "CancelOrder", CANCEL_ORDER_TYPE, message)


def permit_typed_data(
    token_name: str, token: str, chain_id: int, owner: str, spender: str, value: int, nonce: int, deadline: int
) -> dict[str, Any]:
    domain = {"name": token_name, "version": PERMIT_DOMAIN_VERSION, "chainId": chain_id, "verifyingContract": token}
    message = {"owner": owner, "spender": spender, "value": value, "nonce": nonce, "deadline": deadline}
    return typed_data(domain, "Permit", PERMIT_TYPE, message)


__all__ = ["cancel_typed_data", "order_typed_data", "permit_typed_data", "typed_data"]
