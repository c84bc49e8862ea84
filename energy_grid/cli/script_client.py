"""The client a script a user runs builds (the examples): the deployment, or one sentence and exit 2.

    from energy_grid.cli.script_client import client_or_exit
    grid = client_or_exit("deployments/31337.json", RPC_URL)

The library raises (`energy_grid.chain.errors`); a script, like the command line, turns a missing
set-up step into the sentence that names it, without a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

from energy_grid.chain.errors import ChainMismatchError, ManifestError, NodeUnreachableError
from energy_grid.contracts.client import GridClient

SET_UP_EXIT_STATUS = 2  # as the command line's for a missing set-up step


def client_or_exit(path: str | Path, rpc_url: str) -> GridClient:
    """`GridClient.from_manifest(path, rpc_url)`; when there is no usable deployment there (no node,
    no manifest, a manifest of another chain, or one whose contracts have no code on this node) it
    prints the sentence that says what to do on stderr and exits with status 2."""
    try:
        return GridClient.from_manifest(path, rpc_url)
    except (ManifestError, NodeUnreachableError, ChainMismatchError) as err:
        print(err, file=sys.stderr)
        raise SystemExit(SET_UP_EXIT_STATUS) from None
