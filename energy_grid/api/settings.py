"""What the service needs to run: the node, the deployment, the index database and its two keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount


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
    poll_interval_s: float = 1.0
    # Whether the follower runs in the background (tests that drive it step by step turn it off).
    follow: bool = True
