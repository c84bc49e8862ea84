"""The live community's set-up on a node of the test's own: every household's meter registered with
its device key, its baseline days and its standing order; the chain at the community's first day and
mining by itself again; a second set-up sends nothing; a paced chain and other chains are refused."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from web3.types import RPCEndpoint

from energy_grid.chain.accounts import AccountSource
from energy_grid.cli.live_setup import setup
from energy_grid.cli.session import Session
from energy_grid.community.grid import LowVoltageGrid
from energy_grid.live.community import LiveSetUpError, check_local_chain, load_community, set_up_community
from energy_grid.simulation.agents import derived_account
from energy_grid.simulation.run_state import BASELINE_DAYS, REGION_ID, RunRecord

from support.live_helpers import LIVE_HOUSEHOLDS, LIVE_SEED, set_up_node
from support.simulation_helpers import client_of, deploy_to_state_file, node_from


@pytest.fixture(scope="module")
def live_deployment(project, accounts, chain, tmp_path_factory):
    return deploy_to_state_file(project, accounts, chain, tmp_path_factory.mktemp("live_deployment"))


@pytest.fixture(scope="module")
def live_set_up(live_deployment, tmp_path_factory):
    state, manifest = live_deployment
    set_up = set_up_node(state, manifest, tmp_path_factory.mktemp("live_setup"), "setup")
    yield set_up
    set_up.node.stop()


def test_every_meter_is_registered_with_its_baseline_and_standing_order(live_set_up):
    client = live_set_up.client()
    community = live_set_up.result.community
    d = community.day_start_s
    assert live_set_up.result.transactions > 0
    assert community.config.households == LIVE_HOUSEHOLDS and community.config.seed == LIVE_SEED
    meter_registry = client["SmartMeter"].functions
    for i in range(LIVE_HOUSEHOLDS):
        meter = derived_account(LIVE_SEED, d, "meter", i).address
        owner = derived_account(LIVE_SEED, d, "household", i).address
        info = meter_registry.getMeter(meter).call()
        assert info.owner == owner and info.regionId == REGION_ID and info.active
        latest = meter_registry.getLatestReading(meter).call()
        assert latest.timestamp == d - 1  # the baseline's last reading, the second before D
        assert latest.consumption > 0  # five days of a household's import
        assert meter_registry.nonces(meter).call() == 0  # the baseline went in unsigned: signed nonces start at 0
        history = meter_registry.getIntervalHistory(meter, (d - BASELINE_DAYS * 86_400) // 900, 96).call()
        assert all(entry.gridFrequencyMilliHz > 0 for entry in history)  # the first baseline day is there
        order = meter_registry.getStandingOrder(meter).call()
        assert order.sellPricePerKWh > 0 and order.buyPricePerKWh >= order.sellPricePerKWh
    assert client.w3.eth.get_block("latest")["timestamp"] == d
    # The transformers' rating, from the model's grid, as the operator's first load report.
    load = client["GridOperations"].functions.getCurrentLoad(REGION_ID).call()
    assert (load.capacityKW, load.demandKW, load.reportedAt) == (LowVoltageGrid().transformer_rating_kva, 0, d)


def test_the_node_mines_by_itself_again_and_the_run_file_names_the_community(live_set_up):
    client = live_set_up.client()
    assert client.w3.provider.make_request("anvil_getAutomine", [])["result"] is True
    assert client.w3.eth.get_block("latest")["gasLimit"] < 10**9  # the node's own limit, not the set-up's
    record = RunRecord.load(live_set_up.run_file)
    assert record is not None and record.day_start_s == live_set_up.result.community.day_start_s
    assert (record.config["households"], record.config["seed"], record.config["days"]) == (LIVE_HOUSEHOLDS, LIVE_SEED, 1)
    assert load_community(client, live_set_up.run_file) == live_set_up.result.community


def test_a_second_set_up_sends_nothing(live_set_up):
    client = live_set_up.client()
    before = client.w3.eth.get_block("latest")
    saved = live_set_up.run_file.read_bytes()
    again = set_up_community(client, LIVE_HOUSEHOLDS, LIVE_SEED, live_set_up.run_file)
    assert (again.transactions, again.blocks_mined) == (0, 0)
    assert again.community == live_set_up.result.community
    assert client.w3.eth.get_block("latest")["hash"] == before["hash"]
    assert live_set_up.run_file.read_bytes() == saved


def test_the_cli_answers_a_repeated_set_up_in_one_record(live_set_up):
    session = Session(live_set_up.node.url, live_set_up.manifest, True, AccountSource(None, None))
    args = ["--households", str(LIVE_HOUSEHOLDS), "--seed", str(LIVE_SEED), "--run-file", str(live_set_up.run_file)]
    outcome = CliRunner().invoke(setup, args, obj=session)
    assert outcome.exit_code == 0, outcome.output
    assert json.loads(outcome.stdout) | {"run_file": None} == {
        "households": LIVE_HOUSEHOLDS,
        "seed": LIVE_SEED,
        "days": 1,
        "day_start_s": live_set_up.result.community.day_start_s,
        "demand_response_members": 2,
        "transactions": 0,
        "run_file": None,
    }


def test_a_paced_chain_is_refused_before_its_set_up(live_deployment, tmp_path):
    state, manifest = live_deployment
    node = node_from(state, tmp_path, "paced")
    try:
        client = client_of(node, manifest)
        client.w3.provider.make_request(RPCEndpoint("evm_setIntervalMining"), [60])
        before = client.w3.eth.get_block("latest")
        with pytest.raises(LiveSetUpError, match="already mines a block every 60 s"):
            set_up_community(client, LIVE_HOUSEHOLDS, LIVE_SEED, tmp_path / "run.json")
        assert client.w3.eth.get_block("latest")["number"] == before["number"]
        assert not (tmp_path / "run.json").exists()
    finally:
        node.stop()


def test_another_chain_is_refused_in_one_sentence():
    with pytest.raises(LiveSetUpError, match=r"local anvil \(chain 31337\) only; this node is chain 11155111$"):
        check_local_chain(SimpleNamespace(chain_id=11_155_111))  # type: ignore[arg-type]


def test_bad_parameters_are_refused():
    with pytest.raises(LiveSetUpError, match="at least one household"):
        set_up_community(SimpleNamespace(chain_id=31337), 0, 1, None)  # type: ignore[arg-type]
