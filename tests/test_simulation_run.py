"""The community simulation on the chain (energy_grid.simulation.driver), a small community on
anvils of its own: energy and money balance to the unit from chain data, the report is written,
the figures are plausible, demand response pays, carbon credits are issued, and the same seed
gives the same figures.

8 households for a whole day, demand-response trigger lowered to 10 % loading (a community of 8
on a 100 kVA transformer never reaches the real 80 %): the operator plans the day's event on the
peak its forecast from the baseline days shows, the evening's."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.manifest import read_manifest
from energy_grid.community.grid import LowVoltageGrid
from energy_grid.contracts.client import GridClient
from energy_grid.domain.units import INTERVAL_SECONDS, format_kwh
from energy_grid.index.vault_balances import rebuild_vault_balances
from energy_grid.simulation.driver import SITE_UTC_OFFSET_MINUTES, SimulationConfig, run_simulation
from energy_grid.simulation.ledger import SimulationResult
from energy_grid.simulation.report import PLOTS, summary_rows, write_report, zone_hours, zone_label
from energy_grid.simulation.run_state import REGION_ID

from support.simulation_helpers import client_of, deploy_to_state_file, node_from

# Without flexible load: the demand-response checks need the day's load where the baseline days
# forecast it, and flexible load moves it (test_simulation_feeders.py runs it, with the audit).
SIM_CONFIG = SimulationConfig(households=8, days=1, seed=3, dr_trigger_per_mille=100, flexible_load=False)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
AVOIDED_GRAMS_PER_KWH = 400  # deployment default
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def sim_deployment(project, accounts, chain, tmp_path_factory):
    return deploy_to_state_file(project, accounts, chain, tmp_path_factory.mktemp("sim_run"))


def simulate(deployment: tuple[Path, Path], directory: Path, name: str) -> tuple[SimulationResult, list[Any], VaultBooks]:
    """The run's result, the region's load reports in GridOperations after it, and the vault's books."""
    state, manifest = deployment
    node = node_from(state, directory, name)
    try:
        client = client_of(node, manifest)
        result = run_simulation(client, SIM_CONFIG, run_file=directory / f"{name}.run.json")
        return result, load_reports(client), vault_books(client)
    finally:
        node.stop()


@dataclasses.dataclass(frozen=True)
class VaultBooks:
    """Every balance the vault's events name, rebuilt from them and as the vault answers, and its reserves."""

    rebuilt: dict[str, tuple[int, int]]
    answered: dict[str, tuple[int, int]]
    reserves: tuple[int, int]


def vault_books(client: GridClient) -> VaultBooks:
    vault = client["EnergyVault"]
    rebuilt = {account: (b.energy_wh, b.payment) for account, b in rebuild_vault_balances(client.w3, vault).items()}
    answered = {account: tuple(vault.functions.balancesOf(account).call()) for account in rebuilt}
    return VaultBooks(rebuilt, answered, tuple(vault.functions.reserves().call()))


def load_reports(client: GridClient) -> list[Any]:
    operations = client["GridOperations"].functions
    count = int(operations.loadReportCount(REGION_ID).call())
    return list(operations.getLoadHistory(REGION_ID, 0, count).call()) if count else []


@pytest.fixture(scope="module")
def sim_run(sim_deployment, tmp_path_factory):
    return simulate(sim_deployment, tmp_path_factory.mktemp("sim_first"), "first")


@pytest.fixture(scope="module")
def sim_result(sim_run):
    return sim_run[0]


def test_every_vault_balance_rebuilds_from_the_vault_s_events_alone(sim_run):
    """An index that reads only the vault's events (no market's) finds every balance the vault holds
    after a simulated day: households, markets, the fee recipient, the reward pools."""
    books = sim_run[2]
    assert len(books.rebuilt) > SIM_CONFIG.households
    assert books.rebuilt == books.answered
    totals = tuple(sum(balance[i] for balance in books.answered.values()) for i in (0, 1))
    assert totals == books.reserves
    assert books.reserves[1] > 0 and all(min(balance) >= 0 for balance in books.rebuilt.values())


def test_energy_and_money_balance_on_chain(sim_result):
    names = {check.name for check in sim_result.checks}
    assert {
        "export registers on chain = EnergyToken minted (Wh)",
        "standing orders placed and not settled",
        "bought = sold (Wh)",
        "energy retired = bought (Wh)",
        "paid by buyers - proceeds = fees and rounding accrued in the run",
        "vault payment reserve = PaymentToken it holds",
        "households whose balances do not add up",
    } <= names
    assert all(check.ok for check in sim_result.checks), [c for c in sim_result.checks if not c.ok]
    f = sim_result.figures
    assert f["traded_p2p_wh"] > 0 and f["retired_wh"] == f["traded_p2p_wh"]
    assert f["paid_by_buyers"] == f["proceeds_to_sellers"] + f["fees_and_rounding"] and f["fees_and_rounding"] > 0
    # Standing orders trade without a transaction of the households' on the simulated day.
    assert sim_result.day_transactions_by_actor["households"] == 0
    # A bought Wh retires an imported Wh: nobody buys more than it imported.
    assert f["traded_p2p_wh"] <= f["imported_wh"] and f["traded_p2p_wh"] <= f["exported_wh"]
    assert f["intervals"] == 96 and f["markets_cleared"] == 96


def test_other_meters_trading_on_the_same_chain_leave_the_run_s_books_balanced(sim_deployment, tmp_path):
    """The run's audit counts only its own households and meters: examples/standing_order_web3.py
    trades (its two meters sell and buy 1,500 Wh, the seller's export minted into the vault, the
    buyer's energy retired, the fee accrued) on the same chain, once before the run and once between
    its last interval and its audit, and the run still balances to the unit."""
    state, manifest = sim_deployment
    node = node_from(state, tmp_path, "outside")
    try:
        client = client_of(node, manifest)
        spec = importlib.util.spec_from_file_location("standing_order_example", EXAMPLES / "standing_order_web3.py")
        assert spec is not None and spec.loader is not None
        example = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(example)
        manifest_json = read_manifest(manifest)
        fills = [example.run(client.w3, manifest_json)]  # the run's anchor block is this trade's last

        def trade_before_the_audit(done: int, total: int, note: str) -> None:
            if note == "audit":
                fills.append(example.run(client.w3, manifest_json))

        config = SimulationConfig(households=4, days=1, seed=11, intervals=8)
        result = run_simulation(client, config, run_file=tmp_path / "outside.run.json", progress=trade_before_the_audit)
    finally:
        node.stop()
    assert [fill.volume_wh for fill in fills] == [1_500, 1_500]
    assert all(check.ok for check in result.checks), [c for c in result.checks if not c.ok]
    assert result.figures["retired_wh"] == result.figures["traded_p2p_wh"]


def auction_cash_beyond_fees(client: GridClient) -> int:
    """The auction's PaymentToken in the vault beyond its accrued fees: what its unclaimed orders hold."""
    auction = client["EnergyAuction"]
    return int(client["EnergyVault"].functions.balancesOf(auction.address).call()[1]) - int(auction.functions.accruedFees().call())


def test_an_example_s_auction_left_unclaimed_before_the_run_leaves_its_audit_balanced(sim_deployment, tmp_path):
    """examples/zones_web3.py clears a market coupled across two feeders on the same chain before the
    run and leaves its orders unclaimed: the auction holds their escrow in the vault beside the fee
    and congestion rent it accrued. The run's audit counts the auction's balance and fees from the
    run's start, so it balances; the example's escrow is still there after it."""
    state, manifest = sim_deployment
    node = node_from(state, tmp_path, "unclaimed")
    try:
        client = client_of(node, manifest)
        spec = importlib.util.spec_from_file_location("zones_example", EXAMPLES / "zones_web3.py")
        assert spec is not None and spec.loader is not None
        example = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(example)
        coupled = example.run(client.w3, read_manifest(manifest))
        held_beyond_fees = auction_cash_beyond_fees(client)
        config = SimulationConfig(households=4, days=1, seed=11, intervals=8)
        result = run_simulation(client, config, run_file=tmp_path / "unclaimed.run.json")
        after = auction_cash_beyond_fees(client)
    finally:
        node.stop()
    assert coupled.congestion_rent > 0 and held_beyond_fees > 0 and after == held_beyond_fees
    assert all(check.ok for check in result.checks), [c for c in result.checks if not c.ok]
    assert "the auction's vault balance grew by its fees accrued in the run" in {check.name for check in result.checks}


def test_a_household_owner_owns_a_household_of_the_run(sim_deployment, tmp_path):
    """`--household-owner`: an address whose key the run does not hold (a browser wallet's, here one
    that already holds stablecoin) owns one PV household from the start: its meter, with the
    baseline's and the day's readings, its vault balances (the deposit, the morning's export) and
    stablecoin in its wallet; and the run's books still balance to the unit."""
    owner = Account.create().address
    state, manifest = sim_deployment
    node = node_from(state, tmp_path, "owner")
    try:
        client = client_of(node, manifest)
        payment = client["PaymentToken"]
        client.transact(anvil_account(0), payment.functions.addConsumerBalance(owner, 7))  # already in the wallet
        held_before = int(payment.functions.balanceOf(owner).call())
        config = SimulationConfig(households=4, days=1, seed=11, intervals=52, household_owner=owner)
        result = run_simulation(client, config, run_file=tmp_path / "owner.run.json")
        owned = result.owned_household
        assert owned is not None and owned["owner"] == owner
        meter = client["SmartMeter"].functions
        assert meter.getMeter(owned["meter"]).call().owner == owner
        assert meter.getLatestReading(owned["meter"]).call()[0] >= result.day_start_s + 51 * INTERVAL_SECONDS
        energy_wh, vault_payment = client["EnergyVault"].functions.balancesOf(owner).call()
        funding = config.funding_whole_units * 10 ** int(payment.functions.decimals().call())
        assert energy_wh > 0 and vault_payment > 0
        assert int(payment.functions.balanceOf(owner).call()) == held_before + funding  # half of its 2 x funding
        assert client["EnergyToken"].functions.balanceOf(owner).call() > 0  # the baseline days' export
    finally:
        node.stop()
    assert all(check.ok for check in result.checks), [c for c in result.checks if not c.ok]


def test_figures_are_plausible(sim_result):
    series = sim_result.series
    pv_peak = max(series, key=lambda s: s.pv_wh)
    consumption_peak = max(series, key=lambda s: s.consumption_wh)
    assert 11 <= int(pv_peak.local_time[11:13]) <= 14, pv_peak.local_time  # solar noon ≈ 13:20 local standard time
    assert 17 <= int(consumption_peak.local_time[11:13]) <= 22, consumption_peak.local_time
    night = [s for s in series if int(s.local_time[11:13]) < 4]
    assert all(s.pv_wh == 0 and s.traded_wh == 0 for s in night)  # no sun, nothing to sell
    prices = [s.clearing_price_per_kwh for s in series if s.clearing_price_per_kwh]
    assert prices and all(50_000 <= p <= 305_000 for p in prices)  # on the auction's grid
    assert sim_result.figures["peak_price_per_kwh"] == max(prices)
    assert 0 < sim_result.figures["self_sufficiency"] < 1


def test_demand_response_pays_and_carbon_credits_issue(sim_result):
    f = sim_result.figures
    assert f["dr_events"] >= 1
    assert f["dr_participants_verified"] >= 1 and f["dr_reduction_w"] > 0 and f["dr_rewards_paid"] > 0
    during = [s for s in sim_result.series if s.demand_response]
    assert len(during) == f["dr_events"] * 8  # 2 h windows
    # Planned ahead from the forecast, the window covers the peak the day would have had without it,
    # and lowers it.
    window = [s.interval for s in during]
    peak_without = max(sim_result.series, key=lambda s: s.transformer_loading_without_dr_per_mille)
    assert window == list(range(window[0], window[0] + 8)) and window[0] <= peak_without.interval <= window[-1]
    assert f["peak_transformer_loading_per_mille"] < f["peak_transformer_loading_without_dr_per_mille"]
    assert f["peak_transformer_loading_without_dr_per_mille"] == peak_without.transformer_loading_without_dr_per_mille
    outside = [s for s in sim_result.series if s.interval < window[0]]
    assert all(s.transformer_loading_per_mille == s.transformer_loading_without_dr_per_mille for s in outside)
    # Every PV meter is a clean producer from the simulated day on, and only PV households export.
    assert f["carbon_credited_wh"] == f["exported_wh"] > 0
    assert 0 < f["exported_wh"] * AVOIDED_GRAMS_PER_KWH // 1000 - f["carbon_credits_grams"] < SIM_CONFIG.households


def test_the_operator_reports_each_interval_s_transformer_load(sim_run):
    result, reports, _ = sim_run
    # The deployment had none: one report a simulated interval, in order, at the interval's end.
    assert [int(r.sequence) for r in reports] == list(range(96)) and result.figures["load_reports"] == 96
    capacity_kva = LowVoltageGrid().transformer_rating_va // 1_000  # 8 households: one 100 kVA feeder
    operator = anvil_account(0).address
    for report, interval in zip(reports, result.series, strict=True):
        capacity_kw, demand_kw = int(report[1]), int(report[2])  # by position: the names carry the unit
        assert (capacity_kw, demand_kw) == (capacity_kva, interval.transformer_apparent_kva), interval
        assert int(report.reportedAt) == result.day_start_s + (interval.interval + 1) * INTERVAL_SECONDS
        assert report.reportedBy == operator
        # One transformer: the region's load percentage is its loading, to the rounding.
        assert abs(int(report.loadPercentage) * 10 - interval.transformer_loading_per_mille) <= 5, interval
    demands = [int(r[2]) for r in reports]
    assert min(demands) < max(demands)  # the day's load, not a constant
    high = [r for r in reports if int(r.loadPercentage) >= 80]
    assert result.figures["load_reports_high"] == len(high)
    audited = {"load reports = simulated intervals", "load reports = the model's transformers (kVA)"}
    assert audited <= {c.name for c in result.checks if c.ok}


def test_the_series_is_dated_as_the_chain_dates_it(sim_result, tmp_path):
    """summary.json's intervals carry the chain's dates (the day the run placed on the chain, at the
    site's clock), not the weather year's the model draws from."""
    site = timezone(timedelta(minutes=SITE_UTC_OFFSET_MINUTES))
    for s in sim_result.series[::24]:  # every six hours
        start = datetime.fromtimestamp(sim_result.day_start_s + s.interval * INTERVAL_SECONDS, site)
        assert s.local_time == start.strftime("%Y-%m-%d %H:%M")
    write_report(sim_result, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    chain_day = datetime.fromtimestamp(sim_result.day_start_s, site).strftime("%Y-%m-%d")
    assert summary["series"][0]["local_time"] == f"{chain_day} 00:00"


def test_report_is_written(sim_result, tmp_path):
    paths = write_report(sim_result, tmp_path / "report")
    assert sorted(p.name for p in paths) == sorted(["summary.json", *PLOTS])
    for name in PLOTS:
        assert (tmp_path / "report" / name).read_bytes().startswith(PNG_MAGIC)
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["figures"] == sim_result.figures
    assert len(summary["series"]) == 96 and all(c["ok"] for c in summary["checks"])
    assert set(summary["gasByActor"]) == {"households", "gateway", "operator", "oracles", "keeper"}
    assert all(gas > 0 for gas in summary["gasByActor"].values())
    assert summary["payment"] == {"symbol": "MOCKUSD", "decimals": 6}  # the deployment's stablecoin
    assert summary["utcOffsetMinutes"] == SITE_UTC_OFFSET_MINUTES  # the deployment's zone, the plots' clock
    rows = dict(summary_rows(sim_result))
    assert rows["balances (energy and money)"] == "checked: all balance"
    f = sim_result.figures
    with_dr, without_dr = f["peak_transformer_loading_per_mille"] / 10, f["peak_transformer_loading_without_dr_per_mille"] / 10
    assert rows["peak transformer loading (without DR)"] == f"{with_dr:.1f} % ({without_dr:.1f} %)"
    # Every money figure names its currency.
    assert rows["average clearing price"].endswith(" MOCKUSD/kWh") and rows["peak clearing price"].endswith(" MOCKUSD/kWh")
    assert rows["paid by buyers / grid fees and rounding"].count(" MOCKUSD") == 2
    assert rows["DR rewards paid"].endswith(" MOCKUSD")
    assert rows["load reports to GridOperations (HIGH or above)"] == f"{f['load_reports']} ({f['load_reports_high']})"
    # The export not sold, read back from the chain, and how much of it went beyond the households' import.
    assert f["exported_not_traded_wh"] == f["exported_wh"] - f["traded_p2p_wh"] > 0
    assert 0 < f["exported_beyond_neighbours_import_wh"] <= f["exported_not_traded_wh"]
    assert rows["export sold peer to peer"].startswith(f"{format_kwh(int(f['traded_p2p_wh']))} of {format_kwh(int(f['exported_wh']))} (")


def test_same_seed_gives_the_same_figures(sim_result, sim_deployment, tmp_path):
    again, _, _ = simulate(sim_deployment, tmp_path, "again")
    assert again.day_start_s != 0
    assert again.totals() == sim_result.totals()


def test_the_plots_read_the_day_on_the_deployment_s_clock(sim_result):
    """The simulated day starts at the site's local midnight; on a deployment in the same zone its
    intervals read 00:00, 00:15, ...; in another zone the same instants shift by the difference."""
    assert zone_label(sim_result.utc_offset_minutes) == "UTC−05:00"
    assert [zone_hours(sim_result, i) for i in (0, 1, 95)] == [0.0, 0.25, 23.75]
    in_utc = dataclasses.replace(sim_result, utc_offset_minutes=0)
    assert zone_label(0) == "UTC" and zone_hours(in_utc, 0) == 5.0
    assert zone_label(330) == "UTC+05:30"
