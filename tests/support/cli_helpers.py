"""Running the command line in-process in tests (click's CliRunner), as a user would type it against
a node and a manifest: `energy-grid --rpc-url … --manifest … [--json] [--dev-account N] ARGS`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from energy_grid.cli import cli

# The environment that could pick an account: cleared, so each run names its account itself.
ACCOUNT_ENV = ("ENERGY_GRID_PRIVATE_KEY", "ENERGY_GRID_KEYSTORE_PASSWORD", "RPC_URL")


@dataclass(frozen=True)
class CliRun:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def cli_runner(rpc_url: str, manifest: Path) -> Callable[..., CliRun]:
    """A function that runs the command line on the node at `rpc_url` with `manifest` and checks its
    exit code (`expect`); failures must end in click's exit, never in an exception of ours escaping."""
    runner = CliRunner(mix_stderr=False)

    def run(*args: str, account: int | None = None, expect: int = 0, json_output: bool = True, **invoke: Any) -> CliRun:
        argv = ["--rpc-url", rpc_url, "--manifest", str(manifest)]
        argv += ["--json"] if json_output else []
        argv += ["--dev-account", str(account)] if account is not None else []
        env = dict.fromkeys(ACCOUNT_ENV) | invoke.pop("env", {})
        result = runner.invoke(cli, [*argv, *args], env=env, **invoke)
        outcome = CliRun(result.exit_code, result.stdout, result.stderr)
        assert result.exit_code == expect, (outcome, result.exc_info)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
        return outcome

    return run
