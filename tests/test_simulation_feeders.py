"""The simulation on two feeders, each a grid region with its own operator and a zone of the
interval market (energy_grid.simulation.feeders), and the same seed with the market blind to the
feeders: meters trade in their feeder's zone, each link carries the limits its operator set
day-ahead from the transformer's forecast headroom, each feeder reports its own load and runs its
own demand-response event, and what crossed between the feeders is the same whether read from the
zones' clearing or from the households' fills.

8 households, 4 a feeder, a whole day, the demand-response trigger lowered to 10 % (as in
test_simulation_run.py), flexible load on (the default). Four households leave their transformer
most of its headroom, so no link binds: the coupled market then trades the volume of the single zone
at its prices, which the second run checks (flexible load sees the same prices in both, so it does
the same). Against the same model without flexible load, the zoned run moves its load toward the
intervals its forecast says are cheap."""

from __future__ import annotations

import dataclasses

import pytest

from energy_grid.community.flex import FlexSettings, expected_tariff_per_kwh
from energy_grid.community.model import CommunityModel
from energy_grid.domain.link_limits import LIMIT_STEP_KW
from energy_grid.simulation.driver import SimulationConfig, community_config, run_actors, run_simulation
from energy_grid.simulation.feeders import link_limits_kw
from energy_grid.simulation.report import blind_comparison, blind_comparison_rows
from energy_grid.simulation.run_state import BASELINE_DAYS, REGION_ID, RunRecord

from support.simulation_helpers import client_of, deploy_to_state_file, node_from

ZONED = SimulationConfig(households=8, days=1, seed=3, dr_trigger_per_mille=100, households_per_feeder=4)
BLIND = dataclasses.replace(ZONED, zonal_limits=False)
FEEDERS = 2
RATING_KW = 100  # the benchmark network's 0.1 MVA transformer


@pytest.fixture(scope="module")
def deployment(project, accounts, chain, tmp_path_factory):
    return deploy_to_state_file(project, accounts, chain, tmp_path_factory.mktemp("sim_feeders"))


def _run(deployment, directory, config):
    """The run's result and what the chain holds after it, read while its node still runs."""
    state, manifest = deployment
    node = node_from(state, directory, "node")
    try:
        client = client_of(node, manifest)
        first_block = client.w3.eth.block_number + 1
        result = run_simulation(client, config, run_file=directory / "run.json")
        return result, _chain_view(client, result) | {"gas_used": _gas_used(client, first_block)}
    finally:
        node.stop()


def _gas_used(client, first_block):
    """The gas of every transaction the chain took from `first_block` on."""
    w3 = client.w3
    hashes = [h for number in range(first_block, w3.eth.block_number + 1) for h in w3.eth.get_block(number)["transactions"]]
    return sum(int(w3.eth.get_transaction_receipt(h)["gasUsed"]) for h in hashes)


def _chain_view(client, result):
    registry, zones, operations = (client[name].functions for name in ("SmartMeter", "MarketZones", "GridOperations"))
    config = SimulationConfig(**result.config)
    record = RunRecord(result.config, result.day_start_s, 0, "", "", 0)
    actors = run_actors(config, record, 0, FEEDERS - 1 if config.zonal_limits else 0)
    first_period = result.day_start_s // 900
    regions = [REGION_ID + f for f in range(FEEDERS)]
    zoned = all(int(zones.zoneOf(r).call()) for r in regions)
    return {
        "base_price_per_kwh": int(client["GridManagement"].functions.basePrice().call()),
        "meter_zones": [int(registry.meterZone(m).call()) for m in actors.meters],
        "zone_of_region": [int(zones.zoneOf(r).call()) for r in regions],
        "limits": [[tuple(zones.linkLimitsKW(r, first_period + i).call()) for i in range(96)] for r in regions] if zoned else None,
        "load_reports": [int(operations.loadReportCount(r).call()) for r in regions],
        "operators": [actors.operator.address, *(o.address for o in actors.feeder_operators)],
    }


@pytest.fixture(scope="module")
def zoned(deployment, tmp_path_factory):
    return _run(deployment, tmp_path_factory.mktemp("zoned"), ZONED)


@pytest.fixture(scope="module")
def blind(deployment, tmp_path_factory):
    return _run(deployment, tmp_path_factory.mktemp("blind"), BLIND)


def _baseline_limits(base_price_per_kwh):
    """The limits the operators set from the flexible run's baseline days (their load answers the
    tariff forecast from the second day on, as the run's model does)."""
    model = CommunityModel(community_config(ZONED, FlexSettings(base_price_per_kwh, zoned=True)))
    baseline = [model.step(power_flow=False) for _ in range(BASELINE_DAYS * 96)]
    return link_limits_kw(baseline, FEEDERS, ZONED.interval_count)


def test_each_feeder_is_a_zone_and_each_meter_trades_in_its_feeder_s(zoned):
    result, chain = zoned
    assert result.balanced, [c for c in result.checks if not c.ok]
    zones = chain["zone_of_region"]
    assert all(zones) and len(set(zones)) == FEEDERS
    # The feeders fill in order, 4 households each.
    assert chain["meter_zones"] == [zones[0]] * 4 + [zones[1]] * 4
    assert (result.figures["feeders"], result.figures["market_zones"]) == (FEEDERS, FEEDERS)


def test_each_link_carries_the_limits_its_operator_set_from_the_forecast_headroom(zoned):
    _, chain = zoned
    expected = _baseline_limits(chain["base_price_per_kwh"])
    for feeder in range(FEEDERS):
        assert [imp for imp, _ in chain["limits"][feeder]] == expected[feeder]
        assert [exp for _, exp in chain["limits"][feeder]] == expected[feeder]
    every = [kw for limits in expected for kw in limits]
    assert all(kw % LIMIT_STEP_KW == 0 and 0 <= kw <= RATING_KW for kw in every)
    assert min(every) < RATING_KW  # the evening peak leaves less than the rating


def test_each_feeder_reports_its_own_load_and_runs_its_own_event(zoned):
    result, chain = zoned
    assert chain["load_reports"] == [96, 96]
    names = {check.name for check in result.checks}
    assert "load reports = each feeder's transformer in the model (kVA)" in names
    f = result.figures
    assert f["dr_events"] == 1 and f["dr_participants_verified"] > 0 and f["dr_rewards_paid"] > 0
    assert len(set(chain["operators"])) == FEEDERS


def test_the_gas_by_actor_counts_every_transaction_the_run_sent(zoned):
    """The second feeder's operator reports its own transformer, and its gas is the operator's: the
    gas per household-interval the bench reports leaves no transaction out."""
    result, chain = zoned
    assert chain["gas_used"] > 0
    assert sum(result.gas_by_actor.values()) == chain["gas_used"]


def test_what_crossed_between_feeders_is_the_same_from_the_zones_and_from_the_fills(zoned):
    result, _ = zoned
    check = next(c for c in result.checks if c.name.startswith("energy across feeders"))
    assert check.ok and check.left > 0
    assert result.figures["traded_across_feeders_wh"] == check.left
    f = result.figures
    assert 0 < f["peak_loading_least_loaded_feeder_per_mille"] <= f["peak_loading_most_loaded_feeder_per_mille"]
    assert f["peak_loading_most_loaded_feeder_per_mille"] == f["peak_transformer_loading_per_mille"]


def test_flexible_load_moves_toward_the_intervals_forecast_cheap_and_the_books_balance(zoned):
    flexible, chain = zoned
    assert flexible.balanced, [c for c in flexible.checks if not c.ok]
    # Each feeder's expected tariff, from the limits its operator published (flex.py).
    tariffs = [expected_tariff_per_kwh([imp for imp, _ in limits], RATING_KW, chain["base_price_per_kwh"]) for limits in chain["limits"]]
    # The same households without flexible load: the model alone (a copper plate is enough for the
    # import through the meters, which the power flow does not change).
    rigid = CommunityModel(community_config(ZONED))
    for _ in range(BASELINE_DAYS * 96):
        rigid.step(power_flow=False)
    rigid_import = [rigid.step(power_flow=False).import_wh for _ in range(96)]
    flexible_import = [s.import_wh for s in flexible.series]

    def mean_price(import_wh):
        """Import weighted by the feeders' mean expected tariff in its interval."""
        price = [sum(t[i] for t in tariffs) / FEEDERS for i in range(96)]
        return sum(wh * p for wh, p in zip(import_wh, price, strict=True)) / sum(import_wh)

    assert mean_price(flexible_import) < mean_price(rigid_import)
    assert flexible.figures["battery_grid_charge_wh"] > 0  # batteries took the zones' cheap surplus too


def test_with_no_link_binding_the_coupled_market_trades_as_the_single_zone(zoned, blind):
    coupled, _ = zoned
    single, chain = blind
    assert single.balanced
    assert chain["meter_zones"] == [0] * 8 and chain["load_reports"][1] == 0
    assert (single.figures["feeders"], single.figures["market_zones"]) == (FEEDERS, 1)
    assert coupled.figures["markets_with_zone_prices_apart"] == 0 and coupled.figures["congestion_rent"] == 0
    # The same volume at the same prices; who in a zone is rationed at its marginal tick may differ
    # (pro rata within the zone's side rather than the whole market's), and so may what crosses.
    for key in ("traded_p2p_wh", "average_price_per_kwh", "peak_price_per_kwh", "peak_loading_most_loaded_feeder_per_mille"):
        assert coupled.figures[key] == single.figures[key], key
    assert single.figures["traded_across_feeders_wh"] > 0
    # `ape run demo --compare-blind`'s comparison: each feeder's peak, the same in both runs here.
    comparison = blind_comparison(coupled, single)
    peaks = comparison["feeder_peak_loading_per_mille"]
    assert peaks["zonal_limits"] == peaks["blind"] and len(peaks["blind"]) == FEEDERS
    assert max(peaks["blind"]) == single.figures["peak_loading_most_loaded_feeder_per_mille"]
    rows = dict(blind_comparison_rows(comparison))
    assert rows["feeder 2: peak transformer loading"] == f"{peaks['blind'][1] / 10:.1f} % / {peaks['blind'][1] / 10:.1f} %"
