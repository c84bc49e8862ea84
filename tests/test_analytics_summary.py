"""A household's and the community's day from the event index (energy_grid.index.analytics), the
`/analytics/...summary` routes and `energy-grid report`, on an index the test writes row by row:
three households' readings, standing orders, book trades, auction claims, zones, load reports and
a demand-response event, each figure checked against the test's own sums over what it wrote. The
routes and the command read the tariff, the emission factor and the currency from the module's
deployed system. A second index adds two regions' committed forecasts, more readings and readings of
the day before: the report's "Forecast against actual" shows what energy_grid.forecast.metrics makes
of the test's own rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from html import unescape
from itertools import count
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import pytest
from fastapi.testclient import TestClient
from web3 import Web3

from energy_grid.api import create_app
from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.manifest import read_manifest
from energy_grid.cli.report_html import NO_FORECAST
from energy_grid.contracts.client import GridClient
from energy_grid.domain.enums import LoadStatus, ZoneRole
from energy_grid.domain.units import INTERVAL_SECONDS, format_cents, format_kwh, interval_power_w
from energy_grid.forecast.metrics import coverage, exceeded, skill
from energy_grid.index import EventIndex, analytics
from energy_grid.index import models as m
from energy_grid.index.forecasts import ForecastFigures, period_forecasts

from support.cli_helpers import cli_runner
from support.index_helpers import band_around

ALICE, BOB, CAROL = (anvil_account(i).address for i in (1, 2, 3))
METER_A, METER_B, METER_C = (Web3.to_checksum_address(f"0x{i:040x}") for i in (0xA1, 0xB1, 0xC1))
METERS = {METER_A: (ALICE, 1), METER_B: (BOB, 1), METER_C: (CAROL, 2)}  # owner, region
ZONES = {1: 1, 2: 2}  # region -> zone
DAY = date(2025, 6, 2)
HOUR = 3_600
TARIFF = 300_000  # base units per kWh
GRAMS_PER_KWH = 400

# Intervals as their index in the day (-1: the day before, 96: the day after).
READINGS = [  # meter, interval, import Wh, export Wh
    (METER_A, 40, 0, 3_000), (METER_B, 40, 1_000, 0), (METER_C, 40, 500, 0),
    (METER_A, 41, 0, 2_000), (METER_B, 41, 3_000, 0), (METER_C, 41, 1_000, 0),
    (METER_A, 42, 400, 0), (METER_C, 42, 0, 1_000),
    (METER_A, -1, 999, 999),
]  # fmt: skip
STANDING = [  # meter, interval, ask, sold, proceeds, bid, bought, paid
    (METER_A, 40, 3_000, 1_200, 228_000, 0, 0, 0),
    (METER_A, 41, 2_000, 2_000, 380_000, 0, 0, 0),
    (METER_B, 40, 0, 0, 0, 1_000, 1_000, 200_000),
    (METER_B, 41, 0, 0, 0, 3_000, 2_200, 440_000),
    (METER_C, 42, 1_000, 0, 0, 0, 0, 0),
    (METER_A, 96, 500, 500, 99_999, 0, 0, 0),
]
ZONE_ROLES = [(40, 1, ZoneRole.EXPORT_BOUND), (41, 1, ZoneRole.COUPLED), (42, 2, ZoneRole.COUPLED)]  # interval, zone, role
BookTrade = tuple[str, str, int, int, tuple[int, int] | Literal["VOIDED"] | None, int]
BOOK: list[BookTrade] = [  # seller, buyer, Wh, price per kWh, settlement: (payment, fee), None (pending) or "VOIDED"; hour of the day
    (ALICE, CAROL, 500, 150_000, (75_000, 750), 12),
    (ALICE, CAROL, 100, 200_000, None, 13),
    (ALICE, BOB, 300, 150_000, "VOIDED", 14),
]
AUCTION = [  # trader, is bid, interval, amount Wh, filled Wh, payment, fee
    (CAROL, False, 42, 600, 400, 60_000, 600),
    (BOB, True, 41, 500, 500, 100_000, 0),
]
DR_EVENT = (1, 10 * HOUR, 11 * HOUR)  # region, start and end in the day
DR_VERIFIED = [(BOB, 15_000, 5_000)]  # consumer, reduction W, reward
LOADS = [(1, 10 * HOUR + 1_800, 80, 100), (1, 18 * HOUR, 90, 100), (2, 12 * HOUR, 40, 50), (1, -HOUR, 99, 100)]  # region, time, kW, kW
HEAD_S = 20 * HOUR  # the indexed head: interval 80 has just begun

# The forecast index's: each region's forecast (its first interval and P50s; P10 300 Wh below, P90
# 200 Wh above), and readings besides READINGS (the day before at -96 + k; interval 80's at its start).
FORECASTS = {1: (36, [-500, -800, -1_000, -1_500, -2_500, 900, 300, 200, 100, 0, 50, 80]), 2: (78, [400, 300, 250, 200])}
MORE_READINGS = [  # meter, interval, import Wh, export Wh
    (METER_A, 36, 0, 700), (METER_B, 36, 100, 0), (METER_A, 37, 0, 1_200), (METER_B, 37, 300, 0), (METER_A, 38, 0, 2_000),
    (METER_B, 39, 500, 0), (METER_A, 43, 200, 0), (METER_B, 44, 400, 0), (METER_C, 78, 600, 0), (METER_C, 79, 0, 100),
    (METER_C, 80, 50, 0),
    (METER_A, 36 - 96, 0, 500), (METER_B, 37 - 96, 200, 0), (METER_A, 40 - 96, 0, 1_000), (METER_B, 41 - 96, 800, 0),
    (METER_A, 42 - 96, 100, 0), (METER_A, 44 - 96, 0, 100),
]  # fmt: skip


@dataclass(frozen=True)
class Written:
    url: str
    window: analytics.Window
    utc_offset_minutes: int


def write_index(url: str, window: analytics.Window, chain_id: int, with_forecasts: bool = False) -> None:
    """The rows above, as the follower would have stored them, and a head late in the day; with
    FORECASTS and MORE_READINGS when `with_forecasts`."""
    index = EventIndex(url)
    index.upgrade()
    blocks = count(1)
    day_start, first = window.from_s, window.from_s // INTERVAL_SECONDS

    def at(cls: Any, timestamp_s: int, **values: Any) -> Any:
        return cls(block_number=next(blocks), log_index=0, tx_hash="0x" + "ab" * 32, timestamp_s=timestamp_s, **values)

    rows = [at(m.MeterRegistered, day_start - HOUR, meter=meter, owner=owner, region_id=region, consumption_register_wh=0,
               production_register_wh=0) for meter, (owner, region) in METERS.items()]  # fmt: skip
    rows += [at(m.ZoneAdded, day_start - HOUR, region_id=region, zone=zone, rating_kw=100) for region, zone in ZONES.items()]
    for meter, k, import_wh, export_wh in READINGS + (MORE_READINGS if with_forecasts else []):
        # Read in the interval's last second, but an interval the head is in: at its start.
        read_at = (first + k) * INTERVAL_SECONDS + (0 if k == HEAD_S // INTERVAL_SECONDS else 899)
        rows.append(at(m.ReadingAccepted, read_at + 5, meter=meter, reading_timestamp_s=read_at, consumption_wh=import_wh,
                       production_wh=export_wh))  # fmt: skip
    for meter, k, ask, sold, proceeds, bid, bought, paid in STANDING:
        rows.append(at(m.MeteredOrdersSettled, (first + k + 2) * INTERVAL_SECONDS, meter=meter, period=first + k, ask_wh=ask,
                       sold_wh=sold, proceeds=proceeds, bid_wh=bid, bought_wh=bought, paid=paid))  # fmt: skip
    for k, zone, role in ZONE_ROLES:
        rows.append(at(m.ZoneCleared, (first + k + 1) * INTERVAL_SECONDS, period=first + k, zone=zone, clearing_tick=1,
                       clearing_price_per_kwh=100_000, net_export_wh=0, role=int(role)))  # fmt: skip
    for transaction_id, (seller, buyer, amount_wh, price, settled, hour) in enumerate(BOOK, start=1):
        traded_at = day_start + hour * HOUR
        rows.append(at(m.Fill, traded_at, transaction_id=transaction_id, buyer=buyer, seller=seller, amount_wh=amount_wh,
                       price_per_kwh=price))  # fmt: skip
        if settled == "VOIDED":
            rows.append(at(m.SettlementRow, traded_at + 60, transaction_id=transaction_id, status="VOIDED", buyer=buyer, seller=seller,
                           amount_wh=amount_wh, returned_payment=amount_wh * price // 1_000))  # fmt: skip
        elif settled is not None:
            rows.append(at(m.SettlementRow, traded_at + 60, transaction_id=transaction_id, status="SETTLED", buyer=buyer, seller=seller,
                           amount_wh=amount_wh, payment=settled[0], fee=settled[1], buyer_refund=0))  # fmt: skip
    for order_id, (trader, is_bid, k, amount_wh, filled_wh, payment, fee) in enumerate(AUCTION, start=1):
        rows.append(at(m.AuctionOrderSubmitted, day_start, order_id=order_id, period=first + k, trader=trader, is_bid=is_bid,
                       amount_wh=amount_wh, limit_price_per_kwh=150_000, escrow=0))  # fmt: skip
        rows.append(at(m.AuctionOrderClaimed, (first + k + 2) * INTERVAL_SECONDS, order_id=order_id, trader=trader, is_bid=is_bid,
                       filled_wh=filled_wh, payment=payment, fee=fee, refund=0))  # fmt: skip
    region, start, end = DR_EVENT
    rows.append(at(m.DemandEventStarted, day_start + start - HOUR, event_id=7, operator=ALICE, region_id=region, target_reduction_kw=20,
                   reward_per_kw=1, start_time_s=day_start + start, end_time_s=day_start + end, budget=10**9))  # fmt: skip
    for consumer, reduction_w, reward in DR_VERIFIED:
        rows.append(at(m.DemandReductionVerified, day_start + end + 600, event_id=7, consumer=consumer, reduction_w=reduction_w,
                       reward_amount=reward))  # fmt: skip
    for region, time_s, demand_kw, capacity_kw in LOADS:
        rows.append(at(m.LoadReported, day_start + time_s, region_id=region, operator=ALICE, sequence=1, capacity_kw=capacity_kw,
                       demand_kw=demand_kw, load_percentage=100 * demand_kw // capacity_kw, status=int(LoadStatus.NORMAL)))  # fmt: skip
    for region, (k, p50_wh) in FORECASTS.items() if with_forecasts else ():
        f = band_around(region, first + k, p50_wh)
        rows.append(at(m.ForecastCommitted, day_start - HOUR, region_id=region, first_interval=f.first_interval, operator=ALICE,
                       forecast_hash=f.forecast_hash, p10_wh=f.p10_wh, p50_wh=f.p50_wh, p90_wh=f.p90_wh))  # fmt: skip
    head = next(blocks)
    with index.sessions.begin() as session:
        session.add_all(rows)
        session.add(m.Block(number=head, hash="0x" + "cd" * 32, timestamp_s=day_start + HEAD_S))
        session.add(m.Cursor(id=1, chain_id=chain_id, block_number=head))


@pytest.fixture(scope="module")
def summary_chain(api_manifest: Any, networks: Any) -> GridClient:
    return GridClient(Web3(Web3.HTTPProvider(networks.provider.uri)), read_manifest(api_manifest))


@pytest.fixture(scope="module")
def written(summary_chain: GridClient, tmp_path_factory: pytest.TempPathFactory) -> Written:
    offset = summary_chain.price_discovery.utc_offset_minutes()
    window = analytics.period_window("day", DAY, offset)
    url = f"sqlite:///{tmp_path_factory.mktemp('summary') / 'index.sqlite'}"
    write_index(url, window, summary_chain.chain_id)
    return Written(url, window, offset)


@pytest.fixture(scope="module")
def forecast_written(written: Written, summary_chain: GridClient, tmp_path_factory: pytest.TempPathFactory) -> Written:
    url = f"sqlite:///{tmp_path_factory.mktemp('forecasts') / 'index.sqlite'}"
    write_index(url, written.window, summary_chain.chain_id, with_forecasts=True)
    return Written(url, written.window, written.utc_offset_minutes)


# ---------------------------------------------------------------- the test's own sums over what it wrote


@dataclass(frozen=True)
class Expected:
    import_wh: int
    export_wh: int
    met_wh: int
    used_wh: int
    bought_wh: int
    paid: int
    sold_wh: int
    earned: int
    rewards: int
    pending_wh: int
    link_full_wh: int
    no_buyer_wh: int

    def saved(self, tariff: int) -> int:
        bill = self.import_wh * tariff // 1_000
        net = self.paid - self.earned - self.rewards + max(self.import_wh - self.bought_wh, 0) * tariff // 1_000
        return bill - net


def expected(owner: str | None) -> Expected:
    """`owner`'s (None: everyone's) figures of the day, summed from the lists above."""

    def mine(account: str | None) -> bool:
        return account is not None and (owner is None or account == owner)

    in_day = [r for r in READINGS if 0 <= r[1] < 96]
    community = {k: (sum(r[2] for r in in_day if r[1] == k), sum(r[3] for r in in_day if r[1] == k)) for k in {r[1] for r in in_day}}
    met = used = 0
    for meter, k, import_wh, export_wh in in_day:
        if mine(METERS[meter][0]):
            total_import, total_export = community[k]
            local = min(total_import, total_export)
            met += import_wh * local // total_import if total_import else 0
            used += export_wh * local // total_export if total_export else 0
    owned = [r for r in in_day if mine(METERS[r[0]][0])]
    return Expected(sum(r[2] for r in owned), sum(r[3] for r in owned), met, used, **expected_trading(mine))


def expected_trading(mine: Callable[[str | None], bool]) -> dict[str, int]:
    """What the accounts `mine` accepts bought, paid, sold and earned, and why their export went unsold."""
    figures = dict.fromkeys(("bought_wh", "paid", "sold_wh", "earned", "rewards", "pending_wh", "link_full_wh", "no_buyer_wh"), 0)

    def bought(amount_wh: int, paid: int) -> None:
        figures["bought_wh"] += amount_wh
        figures["paid"] += paid

    def sold(amount_wh: int, earned: int) -> None:
        figures["sold_wh"] += amount_wh
        figures["earned"] += earned

    bound = {(k, zone) for k, zone, role in ZONE_ROLES if role == ZoneRole.EXPORT_BOUND}
    for meter, k, ask, sold_wh, proceeds, _bid, bought_wh, paid in STANDING:
        if 0 <= k < 96 and mine(METERS[meter][0]):
            sold(sold_wh, proceeds)
            bought(bought_wh, paid)
            full = (k, ZONES[METERS[meter][1]]) in bound
            figures["link_full_wh" if full else "no_buyer_wh"] += ask - sold_wh
    for seller, buyer, amount_wh, price, settled, _hour in BOOK:
        if settled == "VOIDED":
            continue
        payment, fee = settled if settled is not None else (amount_wh * price // 1_000, 0)
        figures["pending_wh"] += amount_wh * (mine(buyer) + mine(seller)) if settled is None else 0
        if mine(buyer):
            bought(amount_wh, payment)
        if mine(seller):
            sold(amount_wh, payment - fee)
    for trader, is_bid, _k, amount_wh, filled_wh, payment, fee in AUCTION:
        if mine(trader) and is_bid:
            bought(filled_wh, payment)
        elif mine(trader):
            sold(filled_wh, payment - fee)
            figures["no_buyer_wh"] += amount_wh - filled_wh
    figures["rewards"] = sum(reward for consumer, _, reward in DR_VERIFIED if mine(consumer))
    return figures


def test_each_figure_of_a_household_and_the_community_is_what_its_events_say(written):
    terms = analytics.Terms(TARIFF, analytics.GIVEN, GRAMS_PER_KWH)
    index = EventIndex(written.url)
    with index.session() as session:
        results = {owner: analytics.summary(session, written.window, terms, owner) for owner in (ALICE, BOB, CAROL, None)}
    for owner, result in results.items():
        want = expected(owner)
        savings, supply, export = result.savings, result.supply, result.export
        assert (savings.import_wh, savings.bought_wh, savings.paid) == (want.import_wh, want.bought_wh, want.paid), owner
        assert (savings.sold_wh, savings.earned, savings.demand_response_rewards, savings.pending_wh) == (
            want.sold_wh, want.earned, want.rewards, want.pending_wh), owner  # fmt: skip
        assert savings.bill_at_tariff == want.import_wh * TARIFF // 1_000
        assert savings.saved == want.saved(TARIFF) and savings.net_cost == savings.bill_at_tariff - savings.saved, owner
        assert (supply.consumption_wh, supply.production_wh) == (want.import_wh, want.export_wh), owner
        assert (supply.consumption_met_locally_wh, supply.production_used_locally_wh) == (want.met_wh, want.used_wh), owner
        assert supply.self_sufficiency == (want.met_wh / want.import_wh if want.import_wh else None)
        assert supply.self_consumption == (want.used_wh / want.export_wh if want.export_wh else None)
        assert (export.exported_wh, export.sold_p2p_wh) == (want.export_wh, want.sold_wh), owner
        assert (export.link_full_wh, export.no_buyer_wh) == (want.link_full_wh, want.no_buyer_wh), owner
        assert export.not_offered_wh == max(want.export_wh - want.sold_wh - want.link_full_wh - want.no_buyer_wh, 0), owner
        assert export.beyond_community_draw_wh == want.export_wh - want.used_wh, owner
        assert result.co2.avoided_grams == want.export_wh * GRAMS_PER_KWH // 1_000
        assert sum(b.import_wh for b in result.series) == want.import_wh and sum(b.export_wh for b in result.series) == want.export_wh
        assert sum(b.import_met_locally_wh for b in result.series) == want.met_wh and len(result.series) == 24

    alice, community = results[ALICE], results[None]
    assert alice.meters == [METER_A] and alice.export.link_full_wh == 1_800  # the hour its zone's link was full
    assert results[CAROL].export.no_buyer_wh == 1_000 + 200  # a standing ask no bid met, and an auction ask part-filled
    # Transformer peaks: the highest report of the day per region; region 1's without demand response
    # adds the 15 kW verified back to the report inside the event's window (80 + 15 > 90).
    day_loads = [load for load in LOADS if load[1] >= 0]
    for peak in community.peaks:
        region_loads = [load for load in day_loads if load[0] == peak.region_id]
        assert peak.peak_demand_kw == max(load[2] for load in region_loads)
    region_1 = next(p for p in community.peaks if p.region_id == 1)
    in_event = [load[2] + DR_VERIFIED[0][1] // 1_000 for load in day_loads if load[0] == 1 and DR_EVENT[1] <= load[1] < DR_EVENT[2]]
    assert region_1.peak_without_demand_response_kw == max([*in_event, 90]) == 95 and region_1.reduction_known
    assert [p.region_id for p in alice.peaks] == [1] and [p.region_id for p in community.peaks] == [1, 2]
    assert not next(p for p in community.peaks if p.region_id == 2).reduction_known
    # The community's households: each one's saving as its own summary says it.
    assert {row.owner: row.saved for row in community.households} == {o: results[o].savings.saved for o in (ALICE, BOB, CAROL)}
    assert [row.saved for row in community.households] == sorted((row.saved for row in community.households), reverse=True)


def test_a_period_is_the_day_week_or_month_in_the_deployments_zone():
    day = analytics.period_window("day", date(2025, 6, 4), -300)  # a Wednesday at UTC−05:00
    assert (day.from_s, day.to_s) == (1_749_013_200, 1_749_013_200 + 86_399) and day.bucket_s == 3_600
    week = analytics.period_window("week", date(2025, 6, 4), -300)
    assert week.first_day == date(2025, 6, 2) and week.to_s - week.from_s + 1 == 7 * 86_400 and week.bucket_s == 86_400
    month = analytics.period_window("month", date(2024, 2, 10), 0)
    assert month.first_day == date(2024, 2, 1) and month.to_s - month.from_s + 1 == 29 * 86_400
    assert analytics.period_window("month", date(2024, 12, 31), 0).label() == "December 2024"


def test_the_summary_routes_answer_with_the_chains_tariff_and_factor(written, api_settings, summary_chain):
    base_price = summary_chain.grid_management.base_price_per_kwh()
    factor = summary_chain.carbon_credits.avoided_emission_grams_per_kwh()
    app = create_app(api_settings(database_url=written.url, follow=False))
    with TestClient(app) as http:
        alice = http.get(f"/api/v1/analytics/households/{ALICE.lower()}/summary", params={"period": "day", "date": DAY.isoformat()}).json()
        assert (alice["owner"], alice["from"], alice["to"]) == (ALICE, written.window.from_s, written.window.to_s)
        assert (alice["tariffPerKWh"], alice["tariffSource"], alice["co2"]["gramsCo2ePerKWh"]) == (base_price, "BASE_PRICE", factor)
        want = expected(ALICE)
        assert alice["savings"]["saved"] == want.saved(base_price) and alice["export"]["linkFullWh"] == want.link_full_wh
        assert alice["supply"]["selfSufficiency"] == want.met_wh / want.import_wh and alice["households"] == []
        assert any("estimate" in note and "base price" in note for note in alice["notes"])
        day_at_tariff = {"period": "day", "date": DAY.isoformat(), "tariffPerKWh": TARIFF}
        given = http.get(f"/api/v1/analytics/households/{ALICE}/summary", params=day_at_tariff)
        assert given.json()["savings"]["saved"] == want.saved(TARIFF) and given.json()["tariffSource"] == "GIVEN"

        # No date: the period holding the index's head (late on DAY); a month of it holds the day's figures and more.
        community = http.get("/api/v1/analytics/summary", params={"period": "day"}).json()
        assert community["firstDay"] == DAY.isoformat() and community["owner"] is None
        assert {row["owner"] for row in community["households"]} == {ALICE, BOB, CAROL}
        assert community["savings"]["saved"] == expected(None).saved(base_price)
        month = http.get("/api/v1/analytics/summary", params={"date": DAY.isoformat()}).json()
        assert month["period"] == "month" and month["bucketSeconds"] == 86_400 and len(month["series"]) == 30
        assert month["supply"]["productionWh"] == expected(None).export_wh + 999  # the reading of the day before
        assert month["export"]["soldP2pWh"] == expected(None).sold_wh + 500  # the standing order of the day after

        for params in ({"period": "year"}, {"date": "2025-13-01"}, {"tariffPerKWh": 0}):
            assert http.get("/api/v1/analytics/summary", params=params).status_code == 422, params
        assert http.get("/api/v1/analytics/households/0x1234/summary").json()["error"] == "InvalidAddress"


def test_report_writes_one_html_file_with_the_figures(written, api_manifest, networks, summary_chain, tmp_path):
    run = cli_runner(networks.provider.uri, api_manifest)
    decimals, symbol = summary_chain.payment_token.decimals(), summary_chain.payment_token.symbol()
    factor = summary_chain.carbon_credits.avoided_emission_grams_per_kwh()
    out = tmp_path / "june" / "alice.html"
    done = run("report", "--database-url", written.url, "--owner", ALICE, "--period", "day", "--date", DAY.isoformat(),
               "--tariff", "0.3", "--out", str(out), json_output=False)  # fmt: skip
    want = expected(ALICE)
    saved = format_cents(want.saved(3 * 10**decimals // 10), decimals, symbol)  # --tariff 0.3
    assert done.stdout.strip() == f"Wrote {out}: Household {ALICE}, {DAY.isoformat()}, saved {saved} against the tariff."
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "<style>" in page
    assert "<script" not in page and 'src="http' not in page and "<link" not in page  # one file, nothing fetched
    for shown in (saved, format_kwh(want.export_wh), format_kwh(want.link_full_wh), f"{100 * want.met_wh // want.import_wh} %",
                  f"{want.export_wh * factor // 1_000 / 1_000:,.3f} kg", "95 kW"):
        assert shown in page, shown  # fmt: skip

    community = tmp_path / "community.html"
    as_json = run("report", "--database-url", written.url, "--period", "week", "--date", DAY.isoformat(), "--out", str(community)).json()
    assert as_json["file"] == str(community) and as_json["period"] == "week" and len(as_json["series"]) == 7
    assert all(owner in community.read_text() for owner in (ALICE, BOB, CAROL))
    assert NO_FORECAST in page and NO_FORECAST in community.read_text()  # this index holds no forecast


def expected_forecast(region: int) -> ForecastFigures:
    """How `region`'s forecast of DAY did, by the metrics, on the test's own rows: per interval of the
    day its band and the net import of its meters (of intervals ended by the head), and the same
    interval's the day before."""
    intervals = range(96)
    net: dict[int, float] = {}
    for meter, k, import_wh, export_wh in READINGS + MORE_READINGS:
        if METERS[meter][1] == region and (k + 1) * INTERVAL_SECONDS <= HEAD_S:
            net[k] = net.get(k, 0) + import_wh - export_wh
    truth, day_before = (np.array([net.get(k + shift, np.nan) for k in intervals]) for shift in (0, -96))
    first, p50_wh = FORECASTS[region]
    p50 = cast("npt.NDArray[np.float64]", np.array([p50_wh[k - first] if 0 <= k - first < len(p50_wh) else np.nan for k in intervals]))
    p10, p90 = p50 - 300, p50 + 200  # band_around's
    judged = ~np.isnan(truth) & ~np.isnan(p50)
    try:
        p50_skill: float | None = skill(truth, p50, day_before)
    except ValueError:  # no interval of the forecast was metered the day before
        p50_skill = None
    return ForecastFigures(
        banded_intervals=len(p50_wh), judged_intervals=int(judged.sum()), coverage=coverage(truth, p10, p90),
        exceeded_p90=exceeded(truth, p90), skill=p50_skill, p50_wh=int(p50[judged].sum()), net_import_wh=int(truth[judged].sum()),
        highest_p90_wh=max(p50_wh) + 200, highest_net_import_wh=int(truth[judged].max()),
    )  # fmt: skip


def table_rows(page: str, test_id: str) -> list[list[str]]:
    """The cells of each body row of the page's table `test_id`."""
    body = re.search(f'<table data-testid="{test_id}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body is not None, test_id
    return [[unescape(cell) for cell in re.findall("<td>(.*?)</td>", row)] for row in re.findall("<tr>(.*?)</tr>", body[1])]


def test_report_sets_each_region_s_forecast_against_its_metered_load(forecast_written, api_manifest, networks, tmp_path):
    window = forecast_written.window
    with EventIndex(forecast_written.url).session() as session:
        shown = {owner: period_forecasts(session, window.from_s, window.to_s, owner) for owner in (None, ALICE, CAROL)}
        before = period_forecasts(session, window.from_s - 86_400, window.to_s - 86_400)
    # A household sees its own region's forecast; the community every region's; the day before none.
    assert [[f.region_id for f in forecasts] for forecasts in shown.values()] == [[1, 2], [1], [2]] and before == []
    want = {region: expected_forecast(region) for region in FORECASTS}
    assert {f.region_id: f.figures() for f in shown[None]} == want
    # Region 2: interval 80, still being read at the head, is not judged, and nothing was metered the day before.
    assert (want[2].judged_intervals, want[2].skill) == (2, None) and want[1].skill is not None

    run = cli_runner(networks.provider.uri, api_manifest)
    out = tmp_path / "community.html"
    run("report", "--database-url", forecast_written.url, "--period", "day", "--date", DAY.isoformat(), "--out", str(out))
    page = out.read_text()
    assert NO_FORECAST not in page and page.count("<svg") == 2  # the energy plot and the forecasts'

    def kw(wh: int | None) -> str:
        return f"{interval_power_w(wh) / 1_000:,.1f} kW" if wh is not None else "-"

    assert table_rows(page, "forecast") == [
        [f"region {region}", f"{f.judged_intervals} of {f.banded_intervals}", analytics.share_text(f.coverage),
         analytics.share_text(f.exceeded_p90), "-" if f.skill is None else f"{f.skill:.2f}", format_kwh(f.p50_wh),
         format_kwh(f.net_import_wh), kw(f.highest_p90_wh), kw(f.highest_net_import_wh)]
        for region, f in want.items()
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--period", "year"), "'year' is not one of 'day', 'week', 'month'"),
        (("--date", "2025-13-01"), "'2025-13-01' does not match the format '%Y-%m-%d'"),
        (("--owner", "0x1234"), "'0x1234' is not an address"),
        (("--tariff", "0"), "must be more than 0"),
        (("--owner", anvil_account(7).address), f"{anvil_account(7).address} owns no meter the event index knows"),
        (("--database-url", "sqlite:///nowhere/index.sqlite"), "No event index at nowhere/index.sqlite"),
    ],
)
def test_report_refuses_bad_arguments_in_one_sentence_exit_2(written, api_manifest, networks, tmp_path, args, message):
    run = cli_runner(networks.provider.uri, api_manifest)
    out = tmp_path / "report.html"
    refused = run("report", "--database-url", written.url, "--out", str(out), *args, json_output=False, expect=2)
    errors = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], refused.stderr
    assert "Traceback" not in refused.stderr and not out.exists()
