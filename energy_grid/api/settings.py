"""What the service needs to run: the node, the deployment, the index database, its two keys and
what the relayer pays for."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount


@dataclass(frozen=True)
class RelayLimits:
    """What the relayer pays gas for on others' behalf, at most (docs/api.md says why these figures)."""

    # Transactions relayed per account (the signer or trader a relay acts for) and per client (the
    # request's IP address) in any window of window_s.
    per_account: int = 30
    per_client: int = 120
    window_s: int = 3_600
    # A relayed auction order costs the same gas for 1 Wh as for 1 MWh: smaller ones are not relayed.
    min_auction_order_wh: int = 1_000


@dataclass(frozen=True)
class ServiceSettings:
    rpc_url: str
    manifest_file: Path
    # SQLAlchemy URL: sqlite:///path (the default, one file) or postgresql+psycopg://…
    database_url: str
    # Pays the gas of relayed orders, cancellations and readings; holds no role.
    relayer: LocalAccount
    # Signs the operator routes (grid balancing, load reports, demand response); None disables them.
    operator: LocalAccount | None = None
    # The bearer token the operator routes require; None disables them.
    operator_token: str | None = None
    relay_limits: RelayLimits = RelayLimits()
    poll_interval_s: float = 1.0
    # Whether the follower runs in the background (tests that drive it step by step turn it off).
    follow: bool = True
    # The forecaster's metrics URL, whose /forecasts the hour-ahead and PV forecasts are read from; None: not asked.
    forecaster_url: str | None = None
