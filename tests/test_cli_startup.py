"""The `energy-grid` command line starts without loading the chain, simulation or web stacks.

`energy-grid --help` (and a usage error) must answer at once: the top level imports click only,
and each command's module loads when that command runs. These tests check what is loaded, not
how long it takes, so they hold on a slow machine too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click

from energy_grid.cli import LAZY_COMMANDS, cli

REPO = Path(__file__).resolve().parent.parent
HEAVY_PACKAGES = (
    "ape",
    "eth_account",
    "fastapi",
    "matplotlib",
    "numpy",
    "pandapower",
    "pandas",
    "pvlib",
    "requests",
    "rich",
    "scipy",
    "sqlalchemy",
    "uvicorn",
    "web3",
)

RUN_HELP = """
import json, sys
from energy_grid.cli import main
sys.argv = ["energy-grid", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exit:
    code = exit.code
print("\\nMODULES " + json.dumps(sorted(sys.modules)))
sys.exit(code)
"""


def run_cli_in_fresh_python(*args: str) -> tuple[int, str, set[str]]:
    """Runs the command line in a new interpreter; its exit code, output and loaded modules."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-c", RUN_HELP, json.dumps(list(args))],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    output, _, modules = done.stdout.rpartition("\nMODULES ")
    return done.returncode, output, set(json.loads(modules))


def heavy(modules: set[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in HEAVY_PACKAGES)


def test_help_lists_every_command_without_loading_heavy_modules():
    code, output, modules = run_cli_in_fresh_python("--help")
    assert code == 0
    for name in LAZY_COMMANDS:
        assert f"\n  {name} " in output
    assert heavy(modules) == []
    # Of the package's modules only its constants load (they import nothing), for the global options' defaults.
    cli_modules = {name for name in modules if name.startswith("energy_grid.cli.")}
    assert cli_modules <= {"energy_grid.cli.constants"}, "no command module loads for --help"


def test_a_usage_error_does_not_load_heavy_modules():
    code, _, modules = run_cli_in_fresh_python("no-such-command")
    assert code == 2
    assert heavy(modules) == []


def test_a_command_loads_only_when_asked_for():
    code, _, modules = run_cli_in_fresh_python("grid", "--help")
    assert code == 0
    assert "energy_grid.cli.grid_commands" in modules
    assert "energy_grid.cli.simulate_commands" not in modules
    assert "pandapower" not in modules and "fastapi" not in modules


def test_the_listed_help_is_each_command_s_own():
    """The one-line help the top level shows without importing matches what each command says."""
    context = click.Context(cli)
    for name, lazy in LAZY_COMMANDS.items():
        command = lazy.load()
        assert command.name == name
        assert click.utils.make_default_short_help(lazy.short_help, 500) == command.get_short_help_str(500)
        assert cli.get_command(context, name) is command
    assert cli.list_commands(context) == sorted(LAZY_COMMANDS)
