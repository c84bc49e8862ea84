"""The EIP-712 JSON a wallet signs with `eth_signTypedData_v4`: exactly what
`energy_grid.signed_orders` signs in Python and the market hashes on chain (the builders are
that module's, named here for the routes)."""

from __future__ import annotations

from energy_grid.eip712 import typed_data
from energy_grid.signed_orders import (
    PERMIT_DOMAIN_VERSION,
    cancel_typed_data,
    market_approval_typed_data,
    order_typed_data,
    permit_typed_data,
)

__all__ = [
    "PERMIT_DOMAIN_VERSION",
    "cancel_typed_data",
    "market_approval_typed_data",
    "order_typed_data",
    "permit_typed_data",
    "typed_data",
]
