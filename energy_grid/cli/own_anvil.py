"""`python -m energy_grid.cli.own_anvil -- COMMAND...`: runs a command against an anvil of its own.

`make bench` and `make fuzz` run through it, so that they never measure or change a chain they did
not start: the anvil starts on a free port (or the one given, refused when another process listens
there), COMMAND runs with APE_FOUNDRY_HOST pointing at it, and the anvil stops when COMMAND ends.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

from energy_grid.chain.anvil import IN_MEMORY_STATES, LOCAL_HOST, PortInUseError, start_anvil
from energy_grid.chain.errors import GridError


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m energy_grid.cli.own_anvil [--port N] [--port-name NAME] [--prune-history N] -- COMMAND...`:
    starts anvil on 127.0.0.1 (on port N, else a free one), runs COMMAND with APE_FOUNDRY_HOST set
    to it, stops anvil when COMMAND ends and exits with COMMAND's status. A port another process
    listens on is refused with one sentence (naming NAME, the setting the port came from)."""
    parser = argparse.ArgumentParser(prog="python -m energy_grid.cli.own_anvil", description=main.__doc__)
    parser.add_argument("--port", default="", help="the port; empty or absent: a free one")
    parser.add_argument("--port-name", default="--port", help="the setting the port came from, for messages (BENCH_PORT)")
    parser.add_argument("--prune-history", type=int, default=IN_MEMORY_STATES, help="past states anvil keeps, in memory")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given after --")
    port: int | None = None
    if args.port.strip():
        if not args.port.strip().isdigit() or not 0 < int(args.port) < 2**16:
            parser.error(f"{args.port_name}={args.port} is not a TCP port (1-65535)")
        port = int(args.port)
    # make and the shell stop children with SIGTERM: unwind so that anvil is stopped too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        node = start_anvil(port=port, chain_id=None, in_memory_states=args.prune_history)
    except PortInUseError as err:
        if port is None:
            print(f"{err}", file=sys.stderr)
            return 1
        print(
            f"{args.port_name}={port}: {LOCAL_HOST}:{port} is in use by another process, so no anvil was started there; "
            f"unset {args.port_name} to use a free port, or choose another",
            file=sys.stderr,
        )
        return 1
    except GridError as err:
        print(f"{err}", file=sys.stderr)
        return 1
    child = subprocess.Popen(command, env={**os.environ, "APE_FOUNDRY_HOST": node.url})
    try:
        try:
            status = child.wait()
        except KeyboardInterrupt:
            status = child.wait()  # the terminal interrupted the command too: it ends in its own way
    finally:
        if child.poll() is None:
            child.terminate()
            child.wait()
        node.stop()
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main())
