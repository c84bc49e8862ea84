"""`energy-grid auction bid|ask|claim` against a deployed system, as a household drives it: firm orders
from the CLI's account into the quarter-hourly auction, escrowed from its vault balance, and claims
that pay the order's trader whoever sends them. Every slip is one sentence on stderr, exit 2.

The command line reaches the chain only through `--rpc-url` and `--manifest` (click's CliRunner,
in-process, with `--json` unless the sentence itself is checked).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import meter_energy_to

from energy_grid.chain.manifest import build_manifest, write_manifest
from energy_grid.deploy.system import deploy_system, fund_local_accounts, setup_local_roles

from support.cli_helpers import CliRun, cli_runner

BUYER, SELLER, THIRD = 3, 4, 5  # dev accounts: a buying household, a selling one, a neighbour who claims
SELLER_ENERGY_WH = 10_000


@pytest.fixture(scope="module")
def auction_system(project, admin, accounts, chain):
    """A fresh system wired as a local chain is; the seller holds metered energy in its wallet."""
    system = deploy_system(project, admin)
    setup_local_roles(system, admin)
    fund_local_accounts(system, admin, list(accounts)[1:10])
    meter_energy_to([accounts[SELLER]], SELLER_ENERGY_WH, system.smart_meter, admin, accounts, chain)
    return system


@pytest.fixture(scope="module")
def auction_manifest(auction_system: Any, chain: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_manifest(build_manifest(chain.chain_id, auction_system.contracts()), tmp_path_factory.mktemp("cli-auction"))


@pytest.fixture
def grid_cli(auction_manifest: Path, networks: Any) -> Callable[..., CliRun]:
    return cli_runner(networks.provider.uri, auction_manifest)


@pytest.fixture
def deployed_auction(auction_system):
    return auction_system.energy_auction


def price_text(auction_system: Any, tick: int) -> tuple[str, int]:
    """A limit price on the auction's grid: as the CLI takes it (whole PaymentToken per kWh) and in base units."""
    a = auction_system.energy_auction
    base = int(a.minPrice()) + tick * int(a.tickSize())
    return str(Decimal(base) / 10 ** int(auction_system.payment_token.decimals())), base


def deposit(grid_cli: Callable[..., CliRun], account: int, *amount: str) -> None:
    grid_cli("vault", "deposit", *amount, account=account)


def one_line_usage_error(run: CliRun, *phrases: str) -> None:
    """Exit 2 with one sentence naming the problem, no traceback."""
    assert run.exit_code == 2
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout
    assert all(phrase in run.stderr for phrase in phrases), run.stderr


def test_a_bid_for_the_next_open_period_escrows_from_the_vault(grid_cli, auction_system, deployed_auction, accounts, chain):
    buyer = accounts[BUYER]
    vault = auction_system.energy_vault
    deposit(grid_cli, BUYER, "--payment", "5")
    text, limit = price_text(auction_system, 40)
    before = vault.balancesOf(buyer)
    placed = grid_cli("auction", "bid", "--amount-kwh", "1.5", "--price", text, account=BUYER).json()
    now = chain.blocks.head.timestamp
    escrow = -(-1_500 * limit // 1_000)
    period = placed["period"]
    assert placed | {"order_id": 0} == {
        "order_id": 0,
        "trader": buyer.address,
        "side": "BID",
        "period": period,
        "delivery_start_s": period * deployed_auction.periodLength(),
        "amount_wh": 1_500,
        "limit_price_per_kwh": limit,
        "escrow": escrow,
        "gate_closure_s": deployed_auction.gateClosureTime(period),
        "region": None,
    }
    # The next period whose gate was open when the order went in.
    assert deployed_auction.gateClosureTime(period - 1) <= now < deployed_auction.gateClosureTime(period)
    info = deployed_auction.getOrder(placed["order_id"])
    assert (info.trader, info.isBid, info.amountWh, info.limitPricePerKWh) == (buyer.address, True, 1_500, limit)
    assert vault.balancesOf(buyer) == (before[0], before[1] - escrow)
    assert vault.isMarketApproved(buyer, deployed_auction)  # --approve (the default) approved the auction in the vault


def test_an_ask_at_a_delivery_time_says_what_it_escrowed_and_a_neighbour_claims_for_the_trader(
    grid_cli, auction_system, deployed_auction, accounts, chain
):
    buyer, seller = accounts[BUYER], accounts[SELLER]
    vault = auction_system.energy_vault
    deposit(grid_cli, BUYER, "--payment", "5")
    deposit(grid_cli, SELLER, "--amount-wh", str(SELLER_ENERGY_WH))
    length = int(deployed_auction.periodLength())
    period = (chain.blocks.head.timestamp + int(deployed_auction.gateClosure())) // length + 2
    at = datetime.fromtimestamp(period * length + 120, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    ask_text, _ = price_text(auction_system, 10)
    said = grid_cli("auction", "ask", "--amount-wh", "2000", "--price", ask_text, "--at", at, account=SELLER, json_output=False).stdout
    order_line = re.search(r"Order (\d+) sells", said)
    assert order_line is not None
    ask_id = int(order_line.group(1))
    assert deployed_auction.getOrder(ask_id).trader == seller.address
    assert f"Order {ask_id} sells up to 2.000 kWh" in " ".join(said.split())
    assert "2.000 kWh is escrowed from your vault balance" in " ".join(said.split())
    assert deployed_auction.getOrder(ask_id).period == period
    bid_text, _ = price_text(auction_system, 30)
    bid = grid_cli("auction", "bid", "--amount-wh", "2000", "--price", bid_text, "--period", str(period), account=BUYER)
    bid_id = bid.json()["order_id"]
    # Too early: the market clears from its clearing time on.
    early = grid_cli("auction", "claim", str(bid_id), account=THIRD, expect=2)
    one_line_usage_error(early, f"Auction order {bid_id}'s market (period {period}) clears from")
    chain.mine(timestamp=deployed_auction.clearingTime(period))
    buyer_before, third_before = vault.balancesOf(buyer), vault.balancesOf(accounts[THIRD])
    (paid,) = grid_cli("auction", "claim", str(bid_id), account=THIRD).json()
    assert (paid["order_id"], paid["trader"], paid["is_bid"], paid["filled_wh"]) == (bid_id, buyer.address, True, 2_000)
    assert vault.balancesOf(buyer) == (buyer_before[0] + 2_000, buyer_before[1] + paid["refund"])
    assert vault.balancesOf(accounts[THIRD]) == third_before  # the neighbour paid gas only
    # The seller claims all of its claimable orders at once.
    seller_before = vault.balancesOf(seller)
    said = grid_cli("auction", "claim", "--all", account=SELLER, json_output=False).stdout
    sold = deployed_auction.getOrderOutcome(ask_id)
    assert f"Order {ask_id} paid" in " ".join(said.split()) and f"into {seller.address}'s vault balance" in " ".join(said.split())
    assert vault.balancesOf(seller) == (seller_before[0] + sold.refund, seller_before[1] + sold.payment - sold.fee)
    nothing_left = grid_cli("auction", "claim", "--all", account=SELLER, json_output=False).stdout
    assert "None of your auction orders can be claimed now." in nothing_left
    again = grid_cli("auction", "claim", str(bid_id), account=THIRD, expect=2)
    one_line_usage_error(again, f"Auction order {bid_id} was claimed already.")


def test_slips_are_one_sentence_and_exit_2(grid_cli, auction_system, deployed_auction, accounts):
    text, _ = price_text(auction_system, 10)
    current = str(int(deployed_auction.currentPeriod()))
    cases = [
        (("auction", "bid", "--amount-kwh", "1", "--price", text, "--period", current), "gate closed"),
        (("auction", "bid", "--amount-kwh", "1", "--price", text, "--period", current, "--at", "1"), "--period or --at"),
        (("auction", "bid", "--amount-kwh", "1", "--price", "0.0000001"), "more decimals"),
        (("auction", "bid", "--amount-kwh", "1", "--price", "999"), "is not on the auction's price grid"),
        (("auction", "ask", "--amount-kwh", "2000000000", "--price", text), "more than the auction takes in one order"),
        (("auction", "ask", "--amount-kwh", "1", "--price", text, "--at", "tomorrow"), "neither unix seconds nor an ISO 8601 time"),
        (("auction", "bid", "--price", text), "Missing the amount"),
        (("auction", "ask", "--amount-wh", "1", "--price", text), "deposit the rest first"),
        (("auction", "claim"), "Give one ORDER_ID or --all."),
        (("auction", "claim", "12345"), "No auction order 12345 to claim"),
    ]
    for args, phrase in cases:
        one_line_usage_error(grid_cli(*args, account=THIRD, expect=2), phrase)


def test_zones_an_operators_link_limit_and_an_order_in_a_zone(grid_cli, auction_system, deployed_auction, accounts, admin, chain):
    """`auction zones` lists the feeders and their links; the region's operator (the local deployer)
    limits its link with `auction limit-link`; `auction bid --region` places a bid in the zone; a region
    that is no zone is refused in one sentence."""
    zones = auction_system.market_zones
    assert grid_cli("auction", "zones", account=BUYER).json() == []  # none added yet: one price for all
    for region in (1, 2):
        if zones.zoneOf(region) == 0:
            zones.addZone(region, sender=admin)
    limited = grid_cli("auction", "limit-link", "--region", "1", "--import-kw", "3", "--export-kw", "5", "--periods", "2", account=0).json()
    first = limited["first_period"]
    assert (limited["import_kw"], limited["export_kw"]) == (3, 5) == tuple(zones.linkLimitsKW(1, first + 1))
    listed = grid_cli("auction", "zones", "--period", str(first), account=BUYER).json()
    assert [(row["zone"], row["region"], row["import_limit_kw"]) for row in listed] == [(1, 1, 3), (2, 2, 2**64 - 1)]
    deposit(grid_cli, BUYER, "--payment", "5")
    text, _ = price_text(auction_system, 40)
    placed = grid_cli("auction", "bid", "--amount-wh", "700", "--price", text, "--region", "2", account=BUYER).json()
    assert placed["region"] == 2 and deployed_auction.getOrder(placed["order_id"]).zone == 2
    refused = grid_cli("auction", "bid", "--amount-wh", "700", "--price", text, "--region", "9", account=BUYER, expect=2)
    one_line_usage_error(refused, "Region 9 is not a zone")
