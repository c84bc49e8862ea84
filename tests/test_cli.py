"""The `energy-grid` command line against a deployed system, as a user or a script drives it.

The system is deployed once per module on the test session's own anvil (ape-foundry's, on a free
port) and described by a manifest in a temporary folder; the command line reaches it only through
`--rpc-url` and `--manifest`, with plain web3.py. Commands run in-process (click's CliRunner) with
`--json`, and what they print is checked against the chain; a few run as the installed console
script, as a user's shell runs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from eth_account import Account
from web3 import Web3
from web3.types import RPCEndpoint

from energy_grid.chain.accounts import (
    AccountError,
    AccountSource,
    DevAccountRefused,
    anvil_account,
    load_account,
)
from energy_grid.chain.anvil import anvil_node, free_port
from energy_grid.chain.manifest import build_manifest, read_manifest, write_manifest
from energy_grid.cli import chain_commands, cli
from energy_grid.cli.output import kwh_fmt, labelled, per_kw_fmt, price_fmt, split_unit, time_fmt
from energy_grid.contracts.client import BUY, GridClient, MeterReading
from energy_grid.contracts.structs import StandingOrder
from energy_grid.deploy.system import LOCAL_FAUCET_WHOLE_UNITS, System, deploy_system, fund_local_accounts, setup_local_roles
from energy_grid.domain.demand_response import interval_readings
from energy_grid.domain.units import DAY_SECONDS, INTERVAL_SECONDS, format_money

from support.cli_helpers import ACCOUNT_ENV, CliRun, cli_runner
from support.index_helpers import advance, export_energy

ENERGY_GRID = Path(sys.executable).with_name("energy-grid")  # the console script `pip install -e .` made
REPO = Path(__file__).resolve().parent.parent
REGION = 1  # the deployer operates region 1 on a local chain (setup_local_roles)
FOREIGN_CHAIN_ID = 4242
PASSWORD = "correct horse battery staple"


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def cli_system(project: Any, admin: Any, accounts: Any) -> System:
    """A fresh system, wired as `make deploy` wires a local chain."""
    system = deploy_system(project, admin)
    setup_local_roles(system, admin)
    fund_local_accounts(system, admin, list(accounts)[1:10])
    return system


@pytest.fixture(scope="module")
def cli_manifest(cli_system: System, chain: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_manifest(build_manifest(chain.chain_id, cli_system.contracts()), tmp_path_factory.mktemp("cli"))


@pytest.fixture
def cli_rpc_url(networks: Any) -> str:
    return networks.provider.uri


@pytest.fixture
def cli_client(cli_manifest: Path, cli_rpc_url: str) -> GridClient:
    """The test's own view of the chain, to set up state and check what the command line did."""
    return GridClient(Web3(Web3.HTTPProvider(cli_rpc_url)), read_manifest(cli_manifest))


@pytest.fixture
def grid_cli(cli_manifest: Path, cli_rpc_url: str) -> Callable[..., CliRun]:
    """Runs `energy-grid --rpc-url … --manifest … [--json] [--dev-account N] ARGS` in-process and
    checks its exit code."""
    return cli_runner(cli_rpc_url, cli_manifest)


@pytest.fixture
def deployer_key():
    """The deployer (dev account 0): SmartMeter operator and gateway, grid operator of REGION."""
    return anvil_account(0)


@pytest.fixture
def foreign_chain_rpc_url() -> Iterator[str]:
    """A second anvil, with a chain id that is not anvil's default, on a free port."""
    with anvil_node(chain_id=FOREIGN_CHAIN_ID) as node:
        yield node.url


def table_rows(text: str, title: str) -> list[list[str]]:
    """The cells of the table under `title` in a command's table output, its header row first
    (a record table's rows are [field, value])."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == title) + 1
    rows: list[list[str]] = []
    for line in lines[start:]:
        if not line.startswith(("┃", "│", "┏", "┌", "┡", "├")):
            break
        if line.startswith(("┃", "│")):
            rows.append([cell.strip() for cell in line.replace("┃", "│").strip("│").split("│")])
    return rows


def record_fields(text: str, title: str) -> dict[str, str]:
    return {field: value for field, value in table_rows(text, title)}


# Units a table's header names; a value that repeats one would be a second place to state it.
UNIT_WORDS = ("kWh", "Wh", "MOCKUSD", "UTC", "ETH", "CO2e", "kW", "W")


def assert_values_are_bare(rows: Sequence[Sequence[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not any(cell.endswith(f" {unit}") or f" {unit}/" in cell for unit in UNIT_WORDS), row


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _command_paths(command, (*prefix, name))


# ------------------------------------------------------------------ help and usage


def test_every_command_has_help():
    paths = {" ".join(path) for path in _command_paths(cli)}
    assert {
        "deploy", "status", "orders place", "orders cancel", "orders list", "orders book", "match", "settle",
        "meters register", "meters submit", "meters ingest", "meters history", "grid status", "grid load",
        "grid emergency", "dr start", "dr verify", "dr claim", "carbon issue", "carbon retire", "assets mint",
        "assets split", "assets deposit", "assets claim", "vault deposit", "vault withdraw", "vault balance",
        "standing set", "standing show", "standing clear",
    } <= paths  # fmt: skip
    runner = CliRunner(mix_stderr=False)
    for path in [(), *(tuple(p.split()) for p in sorted(paths))]:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert result.stdout.startswith(f"Usage: energy-grid {' '.join(path)}".rstrip()), path


def test_usage_errors_exit_2_before_touching_the_node(grid_cli):
    # An amount with more precision than a Wh, a bad address, no account for a signing command.
    too_precise = grid_cli("orders", "place", "--side", "sell", "--amount-kwh", "1.2345", "--price", "0.2", account=1, expect=2)
    assert "1.2345 kWh has more decimals than the contract's unit carries" in too_precise.stderr
    bad_address = grid_cli("meters", "history", "0x1234", expect=2)
    assert "'0x1234' is not an address" in bad_address.stderr
    unsigned = grid_cli("orders", "cancel", "1", expect=2)
    assert "This command signs a transaction: pass --keystore FILE, set ENERGY_GRID_PRIVATE_KEY" in unsigned.stderr
    both = grid_cli("--keystore", "nowhere.json", "orders", "cancel", "1", account=1, expect=2)
    assert "--keystore or --dev-account, not both" in both.stderr


def _bad_checksum(address: str) -> str:
    """`address` with the case of its first letter digit flipped: still hex, no longer its checksum."""
    i = next(i for i, c in enumerate(address) if i > 1 and c.isalpha())
    return address[:i] + address[i].swapcase() + address[i + 1 :]


BAD_CHECKSUM = _bad_checksum(anvil_account(4).address)


@pytest.mark.parametrize(
    ("args", "option", "message"),
    [
        (("orders", "place", "--side", "sell", "--amount-kwh", "0", "--price", "0.2"), "--amount-kwh", "must be more than 0"),
        (("orders", "place", "--side", "sell", "--amount-kwh", "-1", "--price", "0.2"), "--amount-kwh", "must be more than 0"),
        (("orders", "place", "--side", "sell", "--amount-wh", "0", "--price", "0.2"), "--amount-wh", "not in the range x>=1"),
        (("orders", "place", "--side", "buy", "--amount-kwh", "1", "--price", "0"), "--price", "must be more than 0"),
        (("orders", "place", "--side", "buy", "--amount-kwh", "1", "--price", "0.0000001"), "--price", "more decimals"),
        (("orders", "place", "--side", "buy", "--amount-kwh", "1"), "--price", "Missing option"),
        (("orders", "place", "--side", "buy", "--amount-kwh", "1", "--price", "0.2", "--counterparty", "0xabc"),
         "--counterparty", "is not an address"),
        (("vault", "deposit", "--payment", "0"), "--payment", "must be more than 0"),
        (("vault", "withdraw", "--amount-kwh", "0.0001"), "--amount-kwh", "more decimals"),
        (("standing", "set", "0x" + "11" * 20, "--sell-price", "0"), "--sell-price", "must be more than 0"),
        (("assets", "deposit", "1", "--amount", "-2"), "--amount", "must be more than 0"),
        (("grid", "load", "--region", "1", "--capacity-mw", "0.1001", "--demand-mw", "0.09"), "--capacity-mw",
         "'0.1001' MW has more than three decimals: the grid carries whole kW"),
        (("grid", "load", "--region", "1", "--capacity-mw", "0.100", "--demand-mw", "-0.090"), "--demand-mw",
         "power in MW cannot be negative"),
        (("grid", "load", "--region", "1", "--capacity-mw", "0.0004", "--demand-mw", "0"), "--capacity-mw", "more than three decimals"),
        (("grid", "load", "--region", "1", "--capacity-mw", "0", "--demand-mw", "0"), "--capacity-mw", "must be at least 0.001 MW"),
        (("grid", "load", "--region", "1", "--capacity-mw", "0,100", "--demand-mw", "0.090"), "--capacity-mw",
         "is not a number of MW"),
        # Mixed case must be the EIP-55 checksum (the API's rule): one letter's case changed is refused.
        (("orders", "place", "--side", "buy", "--amount-kwh", "1", "--price", "0.2", "--counterparty", BAD_CHECKSUM),
         "--counterparty", "fails its EIP-55 checksum"),
        (("simulate", "--household-owner", BAD_CHECKSUM), "--household-owner", "fails its EIP-55 checksum"),
        (("simulate", "--household-owner", "0x1234"), "--household-owner", "is not an address"),
    ],
)
def test_every_usage_error_exits_2_naming_its_option(grid_cli, cli_client, args, option, message):
    """A value out of range, a bad address or a missing option is the user's to fix (exit 2, the
    option named), and sends nothing; only the chain's refusal exits 1."""
    block = cli_client.w3.eth.block_number
    refused = grid_cli(*args, account=1, expect=2)
    assert f"'{option}'" in refused.stderr and message in refused.stderr, refused.stderr
    assert refused.stdout == ""
    assert cli_client.w3.eth.block_number == block


def test_a_label_names_the_unit_its_values_are_shown_in():
    """The unit a key names (the JSON's integers) labels a raw value; a formatter that shows another
    unit (Wh as kWh, unix seconds as UTC) relabels it."""
    assert split_unit("amount_wh") == ("amount", "Wh")
    assert split_unit("grams_co2e_per_kwh") == ("grams_co2e_per_kwh", None)
    assert split_unit("base_price_per_kwh") == ("base_price", "base units/kWh")
    assert labelled("amount", "amount_wh", kwh_fmt) == "amount (kWh)"
    assert labelled("amount", "amount_wh", str) == "amount (Wh)"
    assert labelled("expiry", "expiry_s", time_fmt) == "expiry (UTC)"
    assert labelled("window", "settlement_window_s", str) == "window (s)"
    assert labelled("status", "status", str) == "status"
    assert labelled("reward", "reward_per_kw", per_kw_fmt(6, "MOCKUSD")) == "reward (MOCKUSD/kW)"
    assert (kwh_fmt(1_500), price_fmt(6, "MOCKUSD")(220_000), time_fmt(0), replace(kwh_fmt, zero="all")(0)) == (
        "1.500", "0.220000", "-", "all",
    )  # fmt: skip


# ------------------------------------------------------------------ status


def test_status_shows_the_chain_contracts_grid_and_balances(grid_cli, cli_system, cli_manifest, accounts):
    status = grid_cli("status", account=1).json()

    assert status["chain"]["chain_id"] == 31337
    assert status["chain"]["manifest"] == str(cli_manifest)
    contracts = {row["name"]: row for row in status["contracts"]}
    assert contracts.keys() == cli_system.contracts().keys()
    assert contracts["SmartMeter"]["address"] == cli_system.smart_meter.address
    assert contracts["EnergyTrading"]["paused"] is False
    assert contracts["EnergyToken"]["paused"] is None  # not pausable
    grid = cli_system.grid_management.getGridStatus()
    assert status["grid"]["total_capacity_w"] == grid.totalCapacityW
    assert status["grid"]["base_price_per_kwh"] == grid.basePricePerKWh
    assert status["grid"]["emergency_mode"] is False
    balances = status["balances"]
    assert balances["address"] == accounts[1].address
    assert balances["payment"] == cli_system.payment_token.balanceOf(accounts[1]) == LOCAL_FAUCET_WHOLE_UNITS * 10**6
    assert balances["energy_wh"] == cli_system.energy_token.balanceOf(accounts[1])

    table = grid_cli("status", account=1, json_output=False).stdout
    chain_fields, grid_fields = record_fields(table, "Chain"), record_fields(table, "Grid (registered producers)")
    assert chain_fields["block timestamp (UTC)"] == datetime.fromtimestamp(status["chain"]["block_timestamp_s"], UTC).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    assert grid_fields["base price (MOCKUSD/kWh)"] == f"{grid.basePricePerKWh / 10**6:,.6f}"
    assert grid_fields["total capacity (kW)"] == f"{Decimal(grid.totalCapacityW) / 1_000:,.3f}"
    assert grid_fields["current load (kW)"] == f"{Decimal(grid.currentLoadW) / 1_000:,.3f}"
    shown = record_fields(table, "Balances")
    assert shown["energy (kWh)"] == f"{balances['energy_wh'] / 1_000:,.3f}"
    assert shown["payment (MOCKUSD)"] == f"{balances['payment'] / 10**6:,.6f}"
    assert shown["carbon credits (g CO2e)"] == f"{balances['carbon_credits_grams']:,}"
    assert shown["native (ETH)"] == f"{balances['native_wei'] / 10**18:,.6f}"
    assert_values_are_bare([*chain_fields.items(), *grid_fields.items(), *shown.items()])
    # GridManagement counts only its registered producers: with none, the table says so in words.
    assert grid.activeProducers == 0 and "No producer is registered with GridManagement" in " ".join(table.split())
    cli_system.grid_management.registerProducer(5_000, 0, sender=accounts[3])
    cli_system.grid_management.verifyProducer(accounts[3], sender=accounts[0])
    with_producer = grid_cli("status", json_output=False).stdout
    assert "No producer is registered" not in " ".join(with_producer.split())
    assert record_fields(with_producer, "Grid (registered producers)")["total capacity (kW)"] == "5.000"

    # Reading needs no account; --address picks whose balances.
    assert grid_cli("status").json()["balances"] is None
    other = grid_cli("status", "--address", accounts[2].address.lower()).json()["balances"]
    assert other["address"] == accounts[2].address


# ------------------------------------------------------------------ meters


def test_meters_register_submit_and_history(grid_cli, cli_client, accounts):
    owner = accounts[5].address
    meter = Account.create().address  # submitted for by the gateway
    registered = grid_cli("meters", "register", meter, "--owner", owner, "--region", str(REGION), account=0).json()
    assert (registered["owner"], registered["region_id"], registered["active"]) == (owner, REGION, True)
    assert registered["awaiting_baseline"] is True

    def submit(consumption_wh: int, production_wh: int, timestamp: int, *, account: int, meter_option: str | None) -> Any:
        args = ["meters", "submit", "--consumption-register-wh", str(consumption_wh), "--production-register-wh", str(production_wh)]
        args += ["--timestamp", str(timestamp)] + (["--meter", meter_option] if meter_option else [])
        return grid_cli(*args, account=account).json()

    baseline = submit(1_000, 2_000, advance(cli_client, 1), account=0, meter_option=meter)
    assert baseline["baseline"] is True and baseline["production_wh"] == 0
    energy_before = cli_client.energy_token.balance_of(owner)
    later = advance(cli_client, INTERVAL_SECONDS)
    counted = submit(1_400, 2_750, later, account=0, meter_option=meter)
    assert (counted["consumption_wh"], counted["production_wh"], counted["baseline"]) == (400, 750, False)
    assert cli_client.energy_token.balance_of(owner) == energy_before + 750
    assert cli_client.smart_meter.latest_reading(meter) == MeterReading(later, 1_400, 2_750)

    history = grid_cli("meters", "history", meter).json()
    assert history["count"] == 96
    assert history["intervals"][-1] == {
        "start_s": later // INTERVAL_SECONDS * INTERVAL_SECONDS,
        "interval": later // INTERVAL_SECONDS,
        "consumption_wh": 400,
        "production_wh": 750,
        "grid_frequency_millihz": 50_000,
        "voltage_per_mille": 1_000,
    }

    stranger = Account.create().address  # a read that reverts is explained like a rejected transaction
    unknown = grid_cli("meters", "history", stranger, "--from-interval", "0", expect=1)
    assert f"getIntervalHistory rejected: MeterUnknown(meter={stranger})" in unknown.stderr

    # A meter device submitting its own reading: dev account 7 is the meter.
    device = accounts[7].address
    grid_cli("meters", "register", device, "--owner", owner, "--region", str(REGION), account=0)
    own = submit(0, 0, advance(cli_client, 1), account=7, meter_option=None)
    assert own["meter"] == device and own["baseline"] is True
    assert cli_client.smart_meter.latest_reading(device).timestamp == own["timestamp_s"]


def test_meters_ingest_reports_bad_rows_and_resumes(grid_cli, cli_client, accounts, tmp_path):
    """`meters ingest` hands the file to energy_grid.services.ingest (tested on its own in test_ingest.py):
    the command prints its report, and a second run finds everything on chain already."""
    pytest.importorskip("energy_grid.services.ingest")
    owner = accounts[5].address
    meters = [Account.create().address for _ in range(2)]
    for meter in meters:
        grid_cli("meters", "register", meter, "--owner", owner, "--region", str(REGION), account=0)
    start = advance(cli_client, 1)
    advance(cli_client, 3 * INTERVAL_SECONDS)
    unknown = Account.create().address
    csv_file = tmp_path / "readings.csv"
    csv_file.write_text(
        "meter,timestamp,consumption_wh,production_wh\n"
        f"{meters[0]},{start},0,0\n"
        f"{meters[1]},{start},0,0\n"
        f"{meters[0]},{start + 900},100,500\n"
        f"{meters[1]},{start + 900},0,1000\n"
        f"{meters[0]},{start + 1800},50,600\n"  # line 6: the import register went backwards
        f"{unknown},{start + 900},1,1\n"  # line 7: no such meter
    )
    energy_before = cli_client.energy_token.balance_of(owner)

    report = grid_cli("meters", "ingest", str(csv_file), "--no-progress", account=0).json()
    assert (report["rows_read"], report["submitted"], report["skipped_on_chain"]) == (6, 4, 0)
    assert [row["line"] for row in report["rejected"]] == [6, 7]
    assert cli_client.smart_meter.latest_reading(meters[0]) == MeterReading(start + 900, 100, 500)
    assert cli_client.energy_token.balance_of(owner) == energy_before + 1_500

    again = grid_cli("meters", "ingest", str(csv_file), "--no-progress", "--strict", account=0, expect=1)
    assert json.loads(again.stdout)["submitted"] == 0 and json.loads(again.stdout)["skipped_on_chain"] == 4
    assert f"2 row(s) of {csv_file} were rejected" in again.stderr
    assert cli_client.energy_token.balance_of(owner) == energy_before + 1_500
    table = grid_cli("meters", "ingest", str(csv_file), "--no-progress", account=0, json_output=False).stdout
    assert "Rejected rows" in table and unknown in table


# ------------------------------------------------------------------ orders, match, settle


def test_orders_trade_match_settle_and_cancel(grid_cli, cli_client, cli_system, deployer_key, accounts):
    seller, buyer = accounts[1].address, accounts[2].address
    export_energy(cli_client, deployer_key, Account.create().address, seller, 10_000)
    energy_token, trading = cli_system.energy_token, cli_system.energy_trading
    seller_energy = energy_token.balanceOf(seller)

    sell = grid_cli("orders", "place", "--side", "sell", "--amount-kwh", "2", "--price", "0.22", account=1).json()
    assert (sell["side"], sell["amount_wh"], sell["price_per_kwh"], sell["transaction_ids"]) == ("SELL", 2_000, 220_000, [])
    assert sell["approved"] is True  # the book approved in the vault, the vault allowed the energy token
    assert energy_token.balanceOf(seller) == seller_energy - 2_000  # no vault deposit: pulled from the wallet
    crossing = grid_cli("orders", "place", "--side", "buy", "--amount-kwh", "1.5", "--price", "0.25", account=2).json()
    assert len(crossing["transaction_ids"]) == 1  # traded at once against the resting sell

    book = grid_cli("orders", "book").json()
    assert book == {"bids": [], "asks": [{"price_per_kwh": 220_000, "amount_wh": 500, "orders": 1}]}
    table = grid_cli("orders", "book", json_output=False).stdout
    asks = table_rows(table, "Asks (sell)")
    assert asks == [["price (MOCKUSD/kWh)", "volume (kWh)", "orders"], ["0.220000", "0.500", "1"]]

    # A directed offer never crosses on arrival; a keeper matches it with the buyer's bid.
    offer = grid_cli("orders", "place", "--side", "sell", "--amount-wh", "300", "--price", "0.2", "--counterparty", buyer, account=1).json()
    bid = grid_cli("orders", "place", "--side", "buy", "--amount-wh", "300", "--price", "0.2", account=2).json()
    assert offer["counterparty"] == buyer and bid["transaction_ids"] == []
    matched = grid_cli("match", str(bid["order_id"]), str(offer["order_id"]), account=8).json()
    assert (matched["buyer"], matched["seller"], matched["amount_wh"], matched["status"]) == (buyer, seller, 300, "PENDING")

    listed = grid_cli("orders", "list", "--trader", buyer).json()
    assert [o["order_id"] for o in listed["orders"]] == [bid["order_id"], crossing["order_id"]]
    assert {o["status"] for o in listed["orders"]} == {"FILLED"}

    advance(cli_client, int(trading.settlementWindow()) + 1)
    buyer_energy = cli_client.vault.balances(buyer).energy_wh
    transaction_ids = [*crossing["transaction_ids"], matched["transaction_id"]]
    settled = grid_cli("settle", *map(str, transaction_ids), account=8).json()
    assert [t["status"] for t in settled["transactions"]] == ["SETTLED", "SETTLED"]
    assert cli_client.vault.balances(buyer).energy_wh == buyer_energy + 1_800  # credited in the vault
    assert [trading.getTransaction(i).status for i in transaction_ids] == [1, 1]

    cancelled = grid_cli("orders", "cancel", str(sell["order_id"]), account=1).json()
    assert (cancelled["status"], cancelled["filled_wh"], cancelled["escrow"]) == ("CANCELLED", 1_500, 0)
    assert energy_token.balanceOf(seller) == seller_energy - 2_000 - 300
    assert cli_client.vault.balances(seller).energy_wh == 500  # the unsold rest, refunded into the vault
    assert grid_cli("orders", "list", "--open", account=1).json()["orders"] == []


def test_an_order_past_its_expiry_lists_as_expired(grid_cli, cli_client, cli_system, accounts):
    """The order stays ACTIVE on chain until released or cancelled; by the chain's clock it no longer
    trades, and `orders list` says so (as the API's `expired` flag does)."""
    buyer = accounts[9].address
    placed = grid_cli("orders", "place", "--side", "buy", "--amount-wh", "250", "--price", "0.05",
                      "--expires-in", "600", account=9).json()  # fmt: skip

    def listed() -> dict[str, Any]:
        (row,) = [o for o in grid_cli("orders", "list", "--trader", buyer).json()["orders"] if o["order_id"] == placed["order_id"]]
        return row

    assert listed()["status"] == "ACTIVE"
    advance(cli_client, 600)  # the latest block's time reaches the expiry
    assert cli_system.energy_trading.getOrderInfo(placed["order_id"]).status == 0  # still ACTIVE on chain
    assert listed()["status"] == "EXPIRED"
    assert placed["order_id"] not in [o["order_id"] for o in grid_cli("orders", "list", "--open", account=9).json()["orders"]]
    table = grid_cli("orders", "list", "--trader", buyer, json_output=False).stdout
    header, *rows = table_rows(table, f"Orders of {buyer}")
    assert header == ["order", "side", "amount (kWh)", "filled (kWh)", "price (MOCKUSD/kWh)", "expiry (UTC)", "status"]
    (row,) = [row for row in rows if row[0] == str(placed["order_id"])]
    assert row[1:5] + row[6:] == ["BUY", "0.250", "0.000", "0.050000", "EXPIRED"]
    assert row[5] == datetime.fromtimestamp(placed["expiry_s"], UTC).strftime("%Y-%m-%d %H:%M:%S")


def test_keeper_once_matches_then_settles(grid_cli, cli_client, cli_system, deployer_key, accounts):
    seller, buyer = accounts[3].address, accounts[4].address
    export_energy(cli_client, deployer_key, Account.create().address, seller, 5_000)
    trading = cli_system.energy_trading
    # A directed offer never crosses on arrival: matching it is the keeper's job.
    offer = grid_cli("orders", "place", "--side", "sell", "--amount-wh", "400", "--price", "0.2", "--counterparty", buyer, account=3).json()
    bid = grid_cli("orders", "place", "--side", "buy", "--amount-wh", "400", "--price", "0.2", account=4).json()

    buyer_energy = cli_client.vault.balances(buyer).energy_wh
    first = grid_cli("keeper", "--once", account=8).json()
    assert (first["rounds"], first["matched"], first["failures"]) == (1, 1, [])
    assert trading.getOrderInfo(offer["order_id"]).filledAmount == 400
    assert trading.getOrderInfo(bid["order_id"]).filledAmount == 400

    # It settles once the settlement window has passed: in the same round when the window is 0.
    window_s = int(trading.settlementWindow())
    if window_s:
        advance(cli_client, window_s + 1)
    second = grid_cli("keeper", "--once", account=8).json()
    assert second["matched"] == 0 and second["failures"] == []
    assert first["settled"] + second["settled"] == 1
    assert cli_client.vault.balances(buyer).energy_wh == buyer_energy + 400  # credited in the vault
    table = grid_cli("keeper", "--once", account=8, json_output=False).stdout
    assert "settled" in table


def test_a_rejection_is_one_line_exit_1_and_moves_nothing(cli_client, cli_system, cli_manifest, cli_rpc_url, accounts):
    """Run as a user's shell runs it: the installed console script, no traceback."""
    buyer = accounts[3].address
    cash_before = cli_system.payment_token.balanceOf(buyer)
    orders_before = cli_system.energy_trading.orderCount()
    expired = int(cli_client.w3.eth.get_block("latest")["timestamp"])
    env = {k: v for k, v in os.environ.items() if k not in ACCOUNT_ENV}
    result = subprocess.run(
        [str(ENERGY_GRID), "--rpc-url", cli_rpc_url, "--manifest", str(cli_manifest), "--dev-account", "3",
         "orders", "place", "--side", "buy", "--amount-kwh", "1", "--price", "0.22", "--expiry", str(expired)],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip

    assert result.returncode == 1, result
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: createOrder rejected: ExpiryNotInFuture(expiry={expired}"), line
    assert cli_system.payment_token.balanceOf(buyer) == cash_before
    assert cli_system.energy_trading.orderCount() == orders_before


def stale_manifest(cli_manifest: Path, folder: Path) -> Path:
    """The manifest as a throwaway chain with the same id left it (`make demo`, then `make node`):
    its addresses have no code on this chain."""
    manifest = read_manifest(cli_manifest)
    for number, entry in enumerate(manifest["contracts"].values(), start=1):
        entry["address"] = Web3.to_checksum_address(f"0x{'de' * 19}{number:02x}")
    return write_manifest(manifest, folder / "deployments")


STALE_ADVICE = "(no code at its contracts): run `make deploy` (or `make simulate`) against this node."


@pytest.mark.parametrize("command", [("status",), ("keeper", "--once")])
def test_a_manifest_of_a_chain_gone_is_one_sentence_exit_2(cli_manifest, cli_rpc_url, tmp_path, command):
    stale = stale_manifest(cli_manifest, tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ACCOUNT_ENV}
    result = subprocess.run(
        [str(ENERGY_GRID), "--rpc-url", cli_rpc_url, "--manifest", str(stale), "--dev-account", "1", *command],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result
    assert result.stderr.strip().splitlines() == [
        f"Error: The deployment in {stale} is not on the chain at {cli_rpc_url} {STALE_ADVICE}"
    ]


@pytest.mark.parametrize("example", sorted(p.name for p in (REPO / "examples").glob("*.py")))
def test_every_example_on_a_manifest_of_a_chain_gone_says_what_to_do(cli_manifest, cli_rpc_url, chain, tmp_path, example):
    """Each example loads deployments/<chainId>.json of the folder it runs in, as in a checkout."""
    assert chain.chain_id == 31337  # the examples read deployments/31337.json
    stale = stale_manifest(cli_manifest, tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ACCOUNT_ENV} | {"RPC_URL": cli_rpc_url}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / example)], cwd=tmp_path, capture_output=True, text=True, env=env,
        check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result
    assert result.stderr.strip().splitlines() == [
        f"The deployment in {stale.relative_to(tmp_path)} is not on the chain at {cli_rpc_url} {STALE_ADVICE}"
    ]


def run_example(name: str, cli_manifest: Path, cli_rpc_url: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """examples/<name> as a user runs it in a checkout whose deployments/31337.json is this chain's."""
    write_manifest(read_manifest(cli_manifest), folder / "deployments")
    env = {k: v for k, v in os.environ.items() if k not in ACCOUNT_ENV} | {"RPC_URL": cli_rpc_url}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(REPO / "examples" / name)], cwd=folder, capture_output=True, text=True, env=env,
        check=False, timeout=300,
    )  # fmt: skip


def test_the_grid_example_leaves_region_1_as_it_found_it(cli_client, cli_manifest, cli_rpc_url, deployer_key, tmp_path):
    """Region 1 is the community's: after the walk-through through critical load and an emergency, its
    load, stability, emergency mode and the feed's price are what they were before."""
    operations, management = cli_client.grid_operations, cli_client.grid_management
    operations.report_load(deployer_key, REGION, 100_000, 42_000)
    operations.report_stability(deployer_key, REGION, 50_010, 1_001)
    cli_client.submit_price(deployer_key, 230_000)
    done = run_example("grid.py", cli_manifest, cli_rpc_url, tmp_path)
    assert done.returncode == 0, done
    assert "emergency mode True" in done.stdout  # it did drive the region into an emergency
    load = operations.current_load(REGION)
    assert (load.capacity_kw, load.demand_kw, load.status.name) == (100_000, 42_000, "NORMAL")
    stability = operations.stability_metrics(REGION)
    assert (stability.frequency_millihz, stability.voltage_per_mille) == (50_010, 1_001)
    assert not management.is_region_in_emergency(REGION)
    assert cli_client.price_oracle.latest_round().answer_per_kwh == 230_000


def test_the_demand_response_example_leaves_the_chain_and_its_clock_as_it_found_them(
    cli_client, cli_manifest, cli_rpc_url, tmp_path
):
    w3 = cli_client.w3
    before = w3.eth.get_block("latest")
    events_before = cli_client["DemandResponse"].functions.eventCount().call()
    done = run_example("demand_response.py", cli_manifest, cli_rpc_url, tmp_path)
    assert done.returncode == 0, done
    assert "was paid 3000000 into its vault balance" in done.stdout  # the walk-through ran to its end
    after = w3.eth.get_block("latest")
    assert (after["number"], after["timestamp"], after["hash"]) == (before["number"], before["timestamp"], before["hash"])
    assert cli_client["DemandResponse"].functions.eventCount().call() == events_before
    w3.provider.make_request("evm_mine", [])  # the next block follows the clock it found, not six days on
    assert w3.eth.get_block("latest")["timestamp"] - before["timestamp"] < DAY_SECONDS


# ------------------------------------------------------------------ vault and standing orders


def test_vault_deposit_withdraw_and_balance(grid_cli, cli_client, deployer_key, accounts):
    trader, payee = accounts[6].address, accounts[7].address
    vault = cli_client.vault
    export_energy(cli_client, deployer_key, Account.create().address, trader, 3_000)
    held, wallet = vault.balances(trader), cli_client.payment_token.balance_of(trader)
    wallet_wh = cli_client.energy_token.balance_of(trader)

    cash = grid_cli("vault", "deposit", "--payment", "2.5", account=6).json()
    assert (cash["token"], cash["amount"], cash["approved"]) == ("PaymentToken", 2_500_000, True)
    assert (cash["energy_wh"], cash["payment"]) == (held.energy_wh, held.payment + 2_500_000) == vault.balances(trader)
    assert cli_client.payment_token.balance_of(trader) == wallet - 2_500_000
    again = grid_cli("vault", "deposit", "--payment", "0.5", account=6).json()
    assert again["approved"] is False  # the allowance given first covers it
    energy = grid_cli("vault", "deposit", "--amount-kwh", "1.5", "--permit", account=6).json()
    assert (energy["token"], energy["amount"], energy["approved"]) == ("EnergyToken", 1_500, False)
    assert energy["energy_wh"] == held.energy_wh + 1_500
    assert cli_client.energy_token.allowance(trader, vault.address) == 0  # a permit, used up: no standing approval

    payee_wallet = cli_client.payment_token.balance_of(payee)
    out = grid_cli("vault", "withdraw", "--payment", "1", "--to", payee, account=6).json()
    assert (out["to"], out["amount"], out["payment"]) == (payee, 1_000_000, held.payment + 2_000_000)
    assert cli_client.payment_token.balance_of(payee) == payee_wallet + 1_000_000
    grid_cli("vault", "withdraw", "--amount-wh", "500", account=6)
    assert vault.balances(trader) == (held.energy_wh + 1_000, held.payment + 2_000_000)

    shown = grid_cli("vault", "balance", "--address", trader).json()  # a read: no account needed
    assert (shown["energy_wh"], shown["payment"]) == tuple(vault.balances(trader))
    assert shown["wallet_energy_wh"] == cli_client.energy_token.balance_of(trader) == wallet_wh - 1_500 + 500
    assert shown["approved_markets"] == []
    table = grid_cli("vault", "balance", account=6, json_output=False).stdout
    fields = record_fields(table, f"Vault balance of {trader}")
    assert fields["free energy (kWh)"] == f"{shown['energy_wh'] / 1_000:,.3f}"
    assert fields["free payment (MOCKUSD)"] == f"{shown['payment'] / 10**6:,.6f}"
    assert fields["wallet energy (kWh)"] == f"{shown['wallet_energy_wh'] / 1_000:,.3f}"
    assert_values_are_bare(list(fields.items()))
    # What was approved, in words: the vault's allowance sent now, none needed, a permit.
    assert cash["approval"] == "sent now: the EnergyVault may move your PaymentToken (no limit)"
    assert again["approval"] == "none needed: your PaymentToken allowance to the EnergyVault covered it"
    assert energy["approval"] == "a signed permit of the EnergyVault for exactly this EnergyToken"
    deposited = record_fields(grid_cli("vault", "deposit", "--payment", "0.1", account=6, json_output=False).stdout, "Deposited")
    assert deposited["approval"] == again["approval"] and "approved" not in deposited

    assert "Missing the amount" in grid_cli("vault", "deposit", account=6, expect=2).stderr
    both = grid_cli("vault", "withdraw", "--payment", "1", "--amount-kwh", "1", account=6, expect=2)
    assert "Give one amount" in both.stderr
    short = grid_cli("vault", "withdraw", "--payment", "1000", account=6, expect=2)
    assert short.stderr.strip() == (
        f"Error: Your vault balance holds {(held.payment + 2_100_000) / 10**6:,.6f} MOCKUSD of free PaymentToken, less than "
        "the 1,000.000000 MOCKUSD to withdraw: what orders lock comes back when they are cancelled, filled or claimed "
        "(`energy-grid vault balance`)."
    ) and short.stdout == ""


def fresh_trader(cli_client: GridClient, deployer_key: Any, whole_units: int) -> Any:
    """A new account with gas money and `whole_units` of the faucet's PaymentToken in its wallet."""
    trader = Account.create()
    cli_client.w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [trader.address, hex(10**20)])
    cli_client.transact(deployer_key, cli_client["PaymentToken"].functions.addConsumerBalance(trader.address, whole_units))
    return trader


def test_vault_balance_shows_what_book_and_auction_orders_lock(grid_cli, cli_client, deployer_key):
    trader = fresh_trader(cli_client, deployer_key, 10)
    cli_client.approve_market(trader)
    cli_client.approve_auction(trader)
    cli_client.vault.deposit(trader, cli_client.payment_token.address, 5_000_000)
    now = cli_client.w3.eth.get_block("latest")["timestamp"]
    book = cli_client.trading.create_order(trader, 1_000, 150_000, now + 3_600, BUY)  # escrows 0.15
    cli_client.auction.submit_bid(trader, cli_client.auction.next_open_period(now), 1_000, 100_000)  # escrows 0.10
    shown = grid_cli("vault", "balance", "--address", trader.address).json()
    assert shown["locked"] == {
        "book_orders": {"energy_wh": 0, "payment": 150_000},
        "auction_orders": {"energy_wh": 0, "payment": 100_000},
        "standing_orders": {"energy_wh": 0, "payment": 0},
    }
    assert (shown["locked_energy_wh"], shown["locked_payment"]) == (0, 250_000)
    assert (shown["energy_wh"], shown["payment"]) == (0, 5_000_000 - 250_000) == tuple(cli_client.vault.balances(trader.address))
    fields = record_fields(grid_cli("vault", "balance", "--address", trader.address, json_output=False).stdout,
                           f"Vault balance of {trader.address}")  # fmt: skip
    assert (fields["free payment (MOCKUSD)"], fields["locked in book orders payment (MOCKUSD)"]) == ("4.750000", "0.150000")
    assert fields["locked in auction orders payment (MOCKUSD)"] == "0.100000"
    cli_client.trading.cancel_order(trader, book)  # a cancelled order locks nothing
    assert grid_cli("vault", "balance", "--address", trader.address).json()["locked"]["book_orders"]["payment"] == 0


def test_an_escrow_the_account_cannot_cover_is_one_sentence_in_units(grid_cli, cli_client, deployer_key):
    """The sell of the docs' example by an account without energy, a buy beyond vault and wallet, a
    deposit beyond the wallet: exit 2 before anything is sent, amounts in kWh or the token, the
    address checksummed, and the `energy-grid vault deposit` to run."""
    trader = fresh_trader(cli_client, deployer_key, 3)
    key = {"ENERGY_GRID_PRIVATE_KEY": trader.key.hex()}
    block = cli_client.w3.eth.block_number
    sell = grid_cli("orders", "place", "--side", "sell", "--amount-kwh", "1.5", "--price", "0.21", env=key, expect=2)
    assert sell.stderr.strip() == (
        f"Error: The sell order escrows 1.500 kWh but {trader.address} holds 0.000 kWh in its vault balance and 0.000 kWh in "
        "its wallet: deposit the energy to sell into your vault balance first (`energy-grid vault deposit --amount-kwh …`; "
        "a meter of yours mints it as it exports), or sell less."
    )
    buy = grid_cli("orders", "place", "--side", "buy", "--amount-kwh", "20", "--price", "0.2", env=key, expect=2)
    assert buy.stderr.strip() == (
        f"Error: The buy order escrows 4.000000 MOCKUSD but {trader.address} holds 0.000000 MOCKUSD in its vault balance and "
        "3.000000 MOCKUSD in its wallet: deposit more money into your vault balance first "
        "(`energy-grid vault deposit --payment …`), or buy less."
    )
    assert cli_client.w3.eth.block_number == block  # nothing sent
    deposit = grid_cli("vault", "deposit", "--payment", "5", env=key, expect=2)
    assert deposit.stderr.strip() == (
        f"Error: deposit rejected: the PaymentToken wallet balance of {trader.address} is 3.000000 MOCKUSD but "
        "5.000000 MOCKUSD is needed: get the money into your wallet first (`energy-grid status` shows your balances)."
    )
    assert "needed=" not in deposit.stderr and trader.address.lower() not in deposit.stderr


def test_standing_set_show_settle_and_clear(grid_cli, cli_client, deployer_key, accounts):
    """A household's standing limits set from the command line trade its meter's next reading; the
    keeper settles them once the reading market may clear, and `standing show` tells the story."""
    owner = accounts[5].address
    meter = Account.create().address
    grid_cli("meters", "register", meter, "--owner", owner, "--region", str(REGION),
             "--consumption-register-wh", "0", "--production-register-wh", "0", account=0)  # fmt: skip
    assert "Give --sell-price, --buy-price or both" in grid_cli("standing", "set", meter, account=5, expect=2).stderr
    assert "--buy-cap-kwh needs --buy-price" in grid_cli("standing", "set", meter, "--sell-price", "0.08",
                                                          "--buy-cap-kwh", "1", account=5, expect=2).stderr  # fmt: skip
    # A sell price above the auction's grid would never sell: refused in the currency, as the API refuses it.
    grid = cli_client.auction.current_grid()
    top = grid.min_price_per_kwh + (grid.tick_count - 1) * grid.tick_size_per_kwh
    off = grid_cli("standing", "set", meter, "--sell-price", str(Decimal(30 * top) / 10**6), account=5, expect=2).stderr
    assert f"a sell price of {format_money(30 * top, 6, 'MOCKUSD')}/kWh is above the highest, so the export would never sell" in off

    limits = grid_cli("standing", "set", meter, "--sell-price", "0.08", "--sell-cap-kwh", "0.8",
                      "--buy-price", "0.1", "--buy-cap-kwh", "0.5", account=5).json()  # fmt: skip
    assert (limits["sell_price_per_kwh"], limits["sell_cap_wh"], limits["buy_price_per_kwh"], limits["buy_cap_wh"]) == (
        80_000, 800, 100_000, 500,
    )  # fmt: skip
    assert (limits["owner"], limits["vault_delivery"], limits["market_approved"], limits["approved"]) == (owner, True, True, True)
    assert limits["reading_market"] == cli_client.auction.address
    assert cli_client.vault.is_market_approved(owner, cli_client.auction.address)
    not_owner = grid_cli("standing", "set", meter, "--sell-price", "0.09", account=6, expect=1)
    assert "setStandingOrder rejected: NotMeterOwner(" in not_owner.stderr
    grid_cli("vault", "deposit", "--payment", "1", account=5)

    # The interval's last second: 1 kWh exported and 0.4 kWh imported.
    period = cli_client.auction.current_period() + 1
    read_at = (period + 1) * INTERVAL_SECONDS - 1
    cli_client.mine_block_at(read_at)
    grid_cli("meters", "submit", "--meter", meter, "--consumption-register-wh", "400", "--production-register-wh", "1000",
             "--timestamp", str(read_at), account=0)  # fmt: skip
    shown = grid_cli("standing", "show", meter).json()
    assert shown["placed"] == [{
        "period": period, "settled": False, "ask_wh": 800, "ask_price_per_kwh": 80_000, "bid_wh": 400, "bid_price_per_kwh": 100_000,
    }]  # fmt: skip
    table = grid_cli("standing", "show", meter, json_output=False).stdout
    assert table_rows(table, "Placed by its last readings") == [
        ["period", "settled", "offered (kWh)", "at (MOCKUSD/kWh)", "bid for (kWh)", "at (MOCKUSD/kWh)"],
        [str(period), "no", "0.800", "0.080000", "0.400", "0.100000"],
    ]
    # `vault balance` shows what the placed orders lock out of the owner's vault balance, as the API does.
    locked = grid_cli("vault", "balance", "--address", owner).json()["locked"]["standing_orders"]
    assert locked == {"energy_wh": 800, "payment": 400 * 100_000 // 1_000}

    cli_client.mine_block_at(cli_client.auction.clearing_time(period))
    keeper = grid_cli("keeper", "--once", account=8).json()
    assert (keeper["markets_cleared"], keeper["standing_settled"], keeper["failures"]) == (1, 1, [])
    assert grid_cli("standing", "show", meter).json()["placed"][0]["settled"] is True

    cleared = grid_cli("standing", "clear", meter, account=5).json()
    assert (cleared["sell_price_per_kwh"], cleared["buy_price_per_kwh"], cleared["vault_delivery"]) == (0, 0, True)
    assert cli_client.smart_meter.standing_order(meter) == StandingOrder(0, 0, 0, 0)


# ------------------------------------------------------------------ grid


def test_grid_load_emergency_and_status(grid_cli, cli_system):
    load = grid_cli("grid", "load", "--region", str(REGION), "--capacity-mw", "100", "--demand-mw", "85", account=0).json()
    assert (load["status"], load["load_percentage"], load["demand_kw"]) == ("HIGH", 85, 85_000)
    base = cli_system.grid_management.basePrice()

    on = grid_cli("grid", "emergency", "on", "--region", str(REGION), account=0).json()
    assert (on["region_emergency_mode"], on["emergency_mode"], on["changed"]) == (True, True, True)
    assert on["dynamic_price_per_kwh"] == 3 * base
    assert cli_system.grid_management.isRegionInEmergency(REGION) is True
    assert grid_cli("grid", "emergency", "on", "--region", str(REGION), account=0).json()["changed"] is False  # already on: nothing sent
    status = grid_cli("grid", "status", "--region", str(REGION)).json()
    assert status["grid"]["emergency_mode"] is True and status["load"]["status"] == "HIGH"
    off = grid_cli("grid", "emergency", "off", "--region", str(REGION), account=0).json()
    assert (off["region_emergency_mode"], off["emergency_mode"], off["changed"]) == (False, False, True)
    assert grid_cli("grid", "emergency", "on", account=0, expect=2).stderr.strip().endswith("emergency on|off needs --region.")

    refused = grid_cli("grid", "load", "--region", str(REGION), "--capacity-mw", "100", "--demand-mw", "1", account=4, expect=1)
    assert "reportLoad rejected: " in refused.stderr and refused.stdout == ""
    assert cli_system.grid_operations.getCurrentLoad(REGION).demandKW == 85_000


def test_grid_load_takes_mw_to_the_kw_a_feeder_needs(grid_cli, cli_system):
    """A 100 kVA community feeder at 90 kW: MW with three decimals reach the chain as whole kW, and
    the table shows kW, the unit once in each label."""
    load = grid_cli("grid", "load", "--region", str(REGION), "--capacity-mw", "0.100", "--demand-mw", "0.090", account=0).json()
    assert (load["capacity_kw"], load["demand_kw"], load["load_percentage"], load["status"]) == (100, 90, 90, "HIGH")
    on_chain = cli_system.grid_operations.getCurrentLoad(REGION)
    assert (on_chain.capacityKW, on_chain.demandKW, on_chain.loadPercentage) == (100, 90, 90)

    table = grid_cli("grid", "load", "--region", str(REGION), "--capacity-mw", "1.5", "--demand-mw", "0.001", account=0,
                     json_output=False).stdout
    fields = record_fields(table, f"Load of region {REGION}")
    assert (fields["capacity (kW)"], fields["demand (kW)"], fields["status"]) == ("1,500", "1", "LOW")
    assert_values_are_bare(table_rows(table, f"Load of region {REGION}"))


# ------------------------------------------------------------------ demand response


def test_demand_response_start_verify_claim(grid_cli, cli_client, cli_system, deployer_key, accounts):
    """Two households' meters with five usual evenings (2.0 kW and 1.8 kW); during the event one
    cuts to 0.5 kW, the other does not. The first is paid 2.0 per kW for 1.5 kW, the second refused."""
    households = [accounts[5].address, accounts[6].address]
    meters = [Account.create().address for _ in households]
    usual_wh, event_wh = (500, 450), (125, 475)  # per quarter hour
    now = int(cli_client.w3.eth.get_block("latest")["timestamp"])
    event_day = now // DAY_SECONDS + 6
    window_start = event_day * DAY_SECONDS + 18 * 3_600
    for household, meter in zip(households, meters, strict=True):
        cli_client.smart_meter.register_meter(deployer_key, meter, household, REGION)
        cli_client.demand_response.register_consumer(deployer_key, household, meter)
    registers: dict[str, int] = dict.fromkeys(meters, 0)

    def evenings(days: list[int], wh: tuple[int, int]) -> tuple[list[str], list[MeterReading]]:
        intervals = [(day * DAY_SECONDS + 18 * 3_600) // INTERVAL_SECONDS + q for day in days for q in range(4)]
        items = interval_readings(registers, meters, intervals, lambda meter, _interval: wh[meters.index(meter)])
        return [m for m, _ in items], [MeterReading(*reading) for _, reading in items]

    cli_client.mine_block_at(window_start - 120)
    first = MeterReading(now + 1, 0, 0)
    usual_meters, usual = evenings(list(range(event_day - 5, event_day)), usual_wh)
    cli_client.smart_meter.submit_readings(deployer_key, [*meters, *usual_meters], [first, first, *usual])
    faucet = cli_client["PaymentToken"].functions.addConsumerBalance(deployer_key.address, LOCAL_FAUCET_WHOLE_UNITS)
    cli_client.transact(deployer_key, faucet)
    operator_cash = cli_client.payment_token.balance_of(deployer_key.address)

    event = grid_cli("dr", "start", "--target-kw", "5", "--reward-per-kw", "2.0", "--duration-minutes", "60", account=0).json()
    assert (event["start_time"], event["end_time"], event["status"]) == (window_start, window_start + 3_600, "Active")
    assert event["budget"] == 5 * 2_000_000 == operator_cash - cli_client.payment_token.balance_of(deployer_key.address)
    event_id = str(event["event_id"])

    cli_client.mine_block_at(window_start + 3_600 + 300)
    cli_client.smart_meter.submit_readings(deployer_key, *evenings([event_day], event_wh))
    verified = grid_cli("dr", "verify", event_id, "--consumer", households[0], account=0).json()["verified"]
    assert verified == [
        {"consumer": households[0], "baseline_w": 2_000, "actual_w": 500, "reduction_w": 1_500, "reward": 3_000_000}
    ]
    refused = grid_cli("dr", "verify", event_id, "--consumer", households[1], account=0, expect=1)
    assert "verifyReduction rejected: InsufficientReduction(" in refused.stderr

    cash_before = cli_client.payment_token.balance_of(households[0])
    vault_before = cli_client.vault.balances(households[0]).payment
    claimed = grid_cli("dr", "claim", event_id, account=5).json()
    assert claimed["paid"] == [{"consumer": households[0], "amount": 3_000_000, "vault_balance": vault_before + 3_000_000}]
    assert cli_client.vault.balances(households[0]).payment == vault_before + 3_000_000
    assert cli_client.payment_token.balance_of(households[0]) == cash_before  # credited in the vault

    cli_client.mine_block_at(cli_client.event_budget(int(event_id)).verificationDeadline + 1)
    completed = grid_cli("dr", "claim", event_id, "--distribute", account=8).json()
    assert completed["event"]["status"] == "Completed"
    assert completed["event"]["budget_refunded"] == 10_000_000 - 3_000_000


# ------------------------------------------------------------------ carbon credits and assets


def test_carbon_credits_and_asset_shares(grid_cli, cli_client, cli_system, deployer_key, accounts):
    owner, investor = accounts[5].address, accounts[2].address
    meter = Account.create().address
    cli_client.smart_meter.register_meter(deployer_key, meter, owner, REGION)
    cli_client.transact(deployer_key, cli_client["CarbonCredits"].functions.registerCleanEnergyProducer(meter, 0))  # SOLAR
    cli_client.smart_meter.submit_readings(deployer_key, [meter], [MeterReading(advance(cli_client, 1), 0, 0)])
    cli_client.smart_meter.submit_readings(deployer_key, [meter], [MeterReading(advance(cli_client, INTERVAL_SECONDS), 0, 10_000)])

    issued = grid_cli("carbon", "issue", meter, account=8).json()["issued"]  # anyone may issue
    assert issued == [{"meter": meter, "owner": owner, "amount_wh": 10_000, "grams": 4_000, "grams_co2e_per_kwh": 400}]
    retired = grid_cli(
        "carbon", "retire", "--amount-grams", "1500", "--beneficiary", investor, "--reason", "2025 office electricity", account=5
    ).json()
    assert (retired["amount_grams"], retired["beneficiary"], retired["balance_grams"]) == (1_500, investor, 2_500)
    in_tonnes = grid_cli("carbon", "retire", "--amount-tonnes", "0.0005", "--reason", "a flight", account=5).json()
    assert (in_tonnes["amount_grams"], in_tonnes["beneficiary"], in_tonnes["balance_grams"]) == (500, owner, 2_000)
    assert cli_system.carbon_credits.totalRetiredFor(investor) == 1_500

    minted = grid_cli(
        "assets", "mint", "--to", owner, "--meter", meter, "--type", "solar", "--capacity-kw", "6.5", "--region", str(REGION), account=0
    ).json()
    token_id = str(minted["token_id"])
    assert cli_system.energy_asset_nft.ownerOf(minted["token_id"]) == owner
    assert cli_system.energy_asset_nft.getAsset(minted["token_id"]).capacityW == 6_500
    split = grid_cli("assets", "split", token_id, "--shares", "100", account=5).json()
    assert (split["shares"], split["total_shares"], split["manager"]) == (100, 100, owner)
    deposit = grid_cli("assets", "deposit", token_id, "--amount", "12.5", account=2).json()
    assert deposit["deposited"] == deposit["total_deposited"] == 12_500_000
    # Taken through the vault: the command approved the shares contract as the investor's vault market.
    assert cli_client.vault.is_market_approved(investor, cli_system.energy_asset_shares.address)
    assert cli_client.vault.balances(cli_system.energy_asset_shares.address).payment == 12_500_000
    cash_before = cli_client.payment_token.balance_of(owner)
    vault_before = cli_client.vault.balances(owner).payment
    claimed = grid_cli("assets", "claim", token_id, account=5).json()
    assert (claimed["account"], claimed["amount"], claimed["vault_balance"]) == (owner, 12_500_000, vault_before + 12_500_000)
    assert cli_client.vault.balances(owner).payment == vault_before + 12_500_000
    assert cli_client.payment_token.balance_of(owner) == cash_before  # credited in the vault
    nothing = grid_cli("assets", "claim", token_id, account=5, expect=1)
    assert f"claimRevenue rejected: NothingToClaim(tokenId={token_id}" in nothing.stderr


# ------------------------------------------------------------------ deploy


def test_deploy_runs_the_ape_script_with_the_flags_passed_through(grid_cli, cli_system, cli_rpc_url, monkeypatch):
    """Deploying itself is ape's (scripts/deploy.py, tested in test_deployment.py): the command runs
    it in a subprocess against --rpc-url and reports the manifest it wrote."""
    calls: list[tuple[list[str], Path, bool]] = []
    returncode = 0

    def fake_ape(argv: list[str], cwd: Path, capture: bool) -> subprocess.CompletedProcess[str]:
        calls.append((argv, cwd, capture))
        return subprocess.CompletedProcess(argv, returncode, stdout="Deployed to chain 31337\n", stderr="")

    monkeypatch.setattr(chain_commands, "run_ape", fake_ape)
    deployed = grid_cli("deploy", "--auction-period", "900", "--auction-period", "3600").json()
    (argv, cwd, capture), = calls
    assert Path(argv[0]).name == "ape"
    assert argv[1:] == ["run", "deploy", "--network", cli_rpc_url, "--auction-period", "900", "--auction-period", "3600"]
    assert cwd == Path(".") and capture is True  # --json: ape's report goes to stderr, stdout stays JSON
    assert deployed["chain_id"] == 31337
    assert deployed["contracts"]["SmartMeter"] == cli_system.smart_meter.address

    returncode = 3
    failed = grid_cli("deploy", expect=1)
    assert "`ape run deploy` failed (exit code 3)" in failed.stderr


# ------------------------------------------------------------------ accounts


def test_keystore_and_environment_accounts(grid_cli, tmp_path):
    signer = anvil_account(4)
    keystore = tmp_path / "account.json"
    # pbkdf2 with few iterations keeps the test fast; real keystores use scrypt, read the same way.
    keystore.write_text(json.dumps(Account.encrypt(signer.key, PASSWORD, kdf="pbkdf2", iterations=1_000)))

    def status_address(*args: str, **invoke: Any) -> str:
        return grid_cli(*args, "status", **invoke).json()["balances"]["address"]

    assert status_address("--keystore", str(keystore), env={"ENERGY_GRID_KEYSTORE_PASSWORD": PASSWORD}) == signer.address
    assert status_address("--keystore", str(keystore), input=f"{PASSWORD}\n") == signer.address  # prompted
    wrong = grid_cli("--keystore", str(keystore), "status", env={"ENERGY_GRID_KEYSTORE_PASSWORD": "nope"}, expect=1)
    assert f"Cannot decrypt the keystore {keystore}: wrong password" in wrong.stderr
    assert PASSWORD not in wrong.stderr

    from_env = anvil_account(6)
    assert status_address(env={"ENERGY_GRID_PRIVATE_KEY": from_env.key.hex()}) == from_env.address
    garbage = grid_cli("status", env={"ENERGY_GRID_PRIVATE_KEY": "0xnot-a-key"}, expect=1)
    assert "ENERGY_GRID_PRIVATE_KEY is not a 32-byte hex private key" in garbage.stderr


def test_dev_accounts_are_refused_off_anvils_chain_and_missing_things_are_explained(foreign_chain_rpc_url, tmp_path):
    runner = CliRunner(mix_stderr=False)
    env = {name: None for name in ACCOUNT_ENV}

    refused = runner.invoke(cli, ["--rpc-url", foreign_chain_rpc_url, "--dev-account", "1", "orders", "cancel", "1"], env=env)
    assert refused.exit_code == 2
    assert f"--dev-account is for a local anvil (chain 31337) only; this node is chain {FOREIGN_CHAIN_ID}" in refused.stderr

    # No manifest for the chain: the user is told how to get one (the default path is relative to the working folder).
    missing = runner.invoke(cli, ["--rpc-url", foreign_chain_rpc_url, "status"], env=env)
    assert missing.exit_code == 2
    assert f"No deployment manifest for chain {FOREIGN_CHAIN_ID} at deployments/{FOREIGN_CHAIN_ID}.json" in missing.stderr
    assert "run `make node` and `make deploy`" in missing.stderr

    nobody = f"http://127.0.0.1:{free_port()}"
    unreachable = runner.invoke(cli, ["--rpc-url", nobody, "status"], env=env)
    assert unreachable.exit_code == 2
    assert f"No node answers at {nobody}: start one with `make node`" in unreachable.stderr


def test_load_account_picks_one_source():
    key = anvil_account(2).key.hex()
    assert load_account(AccountSource(), 1, environ={}) is None
    from_environment = load_account(AccountSource(), 1, environ={"ENERGY_GRID_PRIVATE_KEY": key})
    assert from_environment is not None
    assert from_environment.address == anvil_account(2).address
    # A dev account wins over the environment on anvil's chain, and is refused elsewhere.
    dev_account = load_account(AccountSource(dev_account_index=3), 31337, environ={"ENERGY_GRID_PRIVATE_KEY": key})
    assert dev_account is not None
    assert dev_account.address == anvil_account(3).address
    with pytest.raises(DevAccountRefused):
        load_account(AccountSource(dev_account_index=3), 1, environ={})
    with pytest.raises(AccountError, match="needs a password: set ENERGY_GRID_KEYSTORE_PASSWORD"):
        load_account(AccountSource(keystore=Path("any.json")), 1, environ={})
    with pytest.raises(AccountError, match="No keystore file at"):
        load_account(AccountSource(keystore=Path("/nonexistent/k.json")), 1, environ={"ENERGY_GRID_KEYSTORE_PASSWORD": "x"})
