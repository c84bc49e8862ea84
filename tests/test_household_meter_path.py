"""A household's solar inverter connected as docs/deployment.md says, end to end: the operator
provisions the meter for the household's owner on a running live community ("Provisioning a meter",
`--live-folder`), the household fills the printed configuration's `[source]` table for its SunSpec
inverter as "Connect your meter" shows and runs `energy-grid meter-agent` with the two passwords in
its environment; the readings land on chain, and on a phone the household's page shows its meter
and the energy it exported, as the chain counts it.

The community is `make live`'s own stack, less what this path does not touch: the run folder `live
up` writes, under a real supervisord, with the stack's own command lines for the broker, the
self-mining chain, the gateway and the web app (the API, its index following the chain). The whole
stack was measured at 132 s to come up on this 2-core machine under load, over the ~60 s this test
may spend on it: its set-up step deploys from a Python process of its own and sets a community up,
while seven services start at once. So the set-up step is replaced by what it leaves behind (the
session's deployment as the chain's state file and the manifest in the run folder, then the ready
marker), and of the services only the gateway and the web app run.

The chain stamps each block 300 s after the one before, a block a second: a market interval every
three seconds. The inverter is pymodbus's Modbus TCP server with a SunSpec register map.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from web3 import Web3

from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.anvil import LOCAL_HOST
from energy_grid.cli.constants import RPC_URL_ENV
from energy_grid.contracts.client import GridClient
from energy_grid.domain.units import format_kwh
from energy_grid.live.chain import Pace
from energy_grid.live.ready import ReadyMarker
from energy_grid.live.stack import (
    BROKER_PROGRAM,
    CHAIN_PROGRAM,
    LiveStack,
    energy_grid_command,
    program_commands,
    start_supervisord,
    supervisord_config,
    write_run_folder,
)
from energy_grid.services.broker import mosquitto_program
from energy_grid.services.meter_agent.config import SOURCE_TEMPLATE

from support.anvil_node import wait_until
from support.cli_helpers import cli_runner
from support.meter_sources import Inverter, sunspec_inverter, sunspec_registers
from support.mosquitto import Broker
from support.simulation_helpers import deploy_to_state_file
from support.web_helpers import PHONE_VIEWPORT, SCREENSHOTS, UI_TIMEOUT_MS, chromium, open_section, wallet_session

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "deployment.md"
PACE = Pace(block_time_s=1, speed=300)
PROGRAMS = (BROKER_PROGRAM, CHAIN_PROGRAM, "gateway", "web")
OWNER_INDEX = 6  # the household's wallet: a dev account without a role
REGION = 1
KEY_PASSWORD = "the household's meter key"
NEW_PASSWORD_LINE = re.compile(r"Its password, shown this once: (\S+)")
# Bounds for a loaded machine; every wait returns as soon as its condition holds.
START_TIMEOUT_S = 120.0
ON_CHAIN_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0

# The inverter's lifetime energy register (WH, acc32) counts tens of Wh (WH_SF = 1); its voltage
# (PhVphA) tenths of a volt and its frequency (Hz) hundredths of a hertz.
WH_SF, V_SF, HZ_SF = 1, -1, -2
VOLTAGE_RAW, HZ_RAW = 2_346, 4_998  # 234.6 V (1,020 per mille of 230 V), 49.98 Hz
INSTALLED_RAW = 123_400  # what the operator read off the inverter's display at installation: 1,234,000 Wh
FIRST_RAW = 123_456  # by the first reading
LATER_RAW = 123_789  # an hour of sun later


def inverter_registers(lifetime_raw: int) -> list[int]:
    return sunspec_registers(lifetime_raw, WH_SF, VOLTAGE_RAW, V_SF, HZ_RAW, HZ_SF)


def lifetime_wh(lifetime_raw: int) -> int:
    return lifetime_raw * 10**WH_SF


@dataclass
class Community:
    stack: LiveStack
    client: GridClient
    manifest: Path
    browser: Browser

    @property
    def broker(self) -> Broker:
        return Broker(LOCAL_HOST, self.stack.ports.broker, self.stack.folder.logs / "broker.log")


@pytest.fixture(scope="module")
def household_community(project: Any, accounts: Any, chain: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Community]:
    """The live stack's broker, chain, gateway and web app under supervisord, on the deployment the
    set-up step would have made; stopped as Ctrl-C stops `make live`."""
    directory = tmp_path_factory.mktemp("household-meter")
    state, manifest = deploy_to_state_file(project, accounts, chain, directory)
    stack = write_run_folder(directory / "live", project_dir=ROOT, pace=PACE)
    folder = stack.folder
    folder.chain_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(state, folder.state_file)
    folder.manifest_dir.mkdir(exist_ok=True)
    live_manifest = Path(shutil.copy(manifest, folder.manifest_file(stack.chain_id)))
    commands = program_commands(stack, mosquitto_program("mosquitto"))
    folder.supervisord_conf.write_text(supervisord_config(stack, {name: commands[name] for name in PROGRAMS}))
    supervisord = start_supervisord(stack, (directory / "supervisord.out").open("wb"))
    try:
        node = Web3(Web3.HTTPProvider(stack.rpc_url))
        wait_until(lambda: supervisord.poll() is None and node.is_connected(), START_TIMEOUT_S, "the live chain", poll_s=0.1)
        client = GridClient.from_manifest(live_manifest, stack.rpc_url)
        # What the set-up step does last: the ready marker, which paces the chain and starts the services.
        ReadyMarker.at_head(client.w3).write(folder.ready_marker)
        gateway_log = folder.logs / "gateway.log"
        wait_until(lambda: gateway_log.exists() and "subscribed to" in gateway_log.read_text(), START_TIMEOUT_S, "the gateway")
        wait_until(lambda: web_is_up(stack.web_url), START_TIMEOUT_S, "the web app", poll_s=0.2)
        with chromium() as browser:
            expect.set_options(timeout=UI_TIMEOUT_MS)
            yield Community(stack, client, live_manifest, browser)
    finally:
        expect.set_options(timeout=5_000)
        supervisord.send_signal(signal.SIGINT)
        stopped = supervisord.wait(timeout=STOP_TIMEOUT_S * 2)
    assert stopped == 0, f"supervisord exited with {stopped}: see {folder.logs}"


def web_is_up(web_url: str) -> bool:
    try:
        return httpx.get(f"{web_url}/api/v1/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def documented_sunspec_source() -> dict[str, object]:
    """The `[source]` table "Connect your meter" shows for a SunSpec inverter."""
    section = DOCS.read_text().split("A **SunSpec inverter**", 1)[1]
    block = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert block is not None, "Connect your meter shows no SunSpec configuration"
    return tomllib.loads(block.group(1))["source"]


def source_table(source: dict[str, object]) -> str:
    lines = [f"{key} = {json.dumps(value)}" for key, value in source.items()]
    return "[source]\n" + "\n".join(lines) + "\n"


def start_agent(config: Path, broker_password: str, log: Path) -> subprocess.Popen[bytes]:
    """`energy-grid meter-agent --config meter-agent.toml` as "Running it" shows, from the household's folder:
    a household's device names no node (`make test` exports RPC_URL, which the agent would read its
    first nonce from)."""
    env = {key: value for key, value in os.environ.items() if key != RPC_URL_ENV}
    env |= {"ENERGY_GRID_KEYSTORE_PASSWORD": KEY_PASSWORD, "ENERGY_GRID_BROKER_PASSWORD": broker_password}
    return subprocess.Popen(
        [*energy_grid_command(), "meter-agent", "--config", config.name],
        cwd=config.parent, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def exported_on_chain(client: GridClient, meter: str, lifetime_raw: int, log: Path) -> None:
    """Waits until the meter's latest reading on chain carries the inverter's lifetime energy."""

    def taken() -> bool:
        return client.smart_meter.latest_reading(meter).production_wh == lifetime_wh(lifetime_raw)

    try:
        wait_until(taken, ON_CHAIN_TIMEOUT_S, f"the reading of {lifetime_wh(lifetime_raw)} Wh on chain", poll_s=0.2)
    except AssertionError as err:
        raise AssertionError(f"{err}\n{log.read_text()}") from None


def test_a_households_inverter_is_provisioned_read_put_on_chain_and_shown_on_its_phone(household_community, tmp_path):
    community = household_community
    client, folder, broker = community.client, community.stack.folder, community.broker
    owner = anvil_account(OWNER_INDEX).address
    household = tmp_path / "household-42"
    household.mkdir()
    out = household / "meter-agent.toml"

    with sunspec_inverter(inverter_registers(INSTALLED_RAW)) as inverter:
        # The operator: the meter for the owner, with the registers read at installation (an inverter
        # imports nothing), its broker user and ACL block on the live broker, which is reloaded.
        reloads = broker.reloads()
        cli = cli_runner(community.stack.rpc_url, community.manifest)
        provisioned = cli(
            "meters", "provision", "--owner", owner, "--region", str(REGION),
            "--consumption-register-wh", "0", "--production-register-wh", str(lifetime_wh(INSTALLED_RAW)),
            "--live-folder", str(folder.root), "--out", str(out),
            account=0, json_output=False, env={"ENERGY_GRID_KEYSTORE_PASSWORD": KEY_PASSWORD, "ENERGY_GRID_BROKER_PASSWORD": None},
        )  # fmt: skip
        broker.wait_for_reload(reloads)
        config = tomllib.loads(provisioned.stdout)
        meter = config["meter"]
        assert config["source"] == {} and SOURCE_TEMPLATE in out.read_text()
        assert config["broker"] == {"address": f"{LOCAL_HOST}:{community.stack.ports.broker}", "user": meter}
        info = client.smart_meter.get_meter(meter)
        assert (info.owner, info.region_id, info.active, info.awaiting_baseline) == (owner, REGION, True, False)
        match = NEW_PASSWORD_LINE.search(provisioned.stderr)
        assert match is not None, provisioned.stderr
        broker_password = match.group(1)

        # The household: the documented SunSpec table with its inverter's address, then the agent.
        source = documented_sunspec_source() | {"host": LOCAL_HOST, "port": inverter.port}
        assert source["kind"] == "sunspec" and source["unit"] == 1
        out.write_text(out.read_text().replace(SOURCE_TEMPLATE, source_table(source)))
        produce(inverter, FIRST_RAW)
        agent_log = tmp_path / "agent.log"
        agent = start_agent(out, broker_password, agent_log)
        try:
            exported_on_chain(client, meter, FIRST_RAW, agent_log)
            reading = client.smart_meter.latest_reading(meter)
            assert (reading.consumption_wh, reading.voltage_per_mille, reading.frequency_millihz) == (0, 1_020, 49_980)
            assert reading.timestamp % 900 == 899  # the last second of an interval of the chain's clock
            counted = client.smart_meter.metered_energy(meter).production_wh
            assert counted == lifetime_wh(FIRST_RAW) - lifetime_wh(INSTALLED_RAW)

            # The household's phone: its page for the owner's address shows the meter and its export.
            session = wallet_session(community.browser, community.stack.web_url, None, client.chain_id, SCREENSHOTS / "household-meter",
                                     PHONE_VIEWPORT)  # fmt: skip
            try:
                page = session.open(f"/prosumer?account={owner}")
                produced = page.get_by_test_id("produced-today")
                expect(produced).to_have_text(format_kwh(counted))
                open_section(page, "meters")
                row = page.get_by_test_id("meter-row")
                expect(row).to_have_count(1)
                expect(row.get_by_test_id("short-id")).to_have_attribute("data-full", meter)
                expect(row.locator("td").nth(3)).to_have_text(format_kwh(counted))
                session.screenshot(page, "first-reading")

                # An hour of sun later: the next reading on chain, and the page (refreshing itself) follows.
                produce(inverter, LATER_RAW)
                exported_on_chain(client, meter, LATER_RAW, agent_log)
                counted = client.smart_meter.metered_energy(meter).production_wh
                assert counted == lifetime_wh(LATER_RAW) - lifetime_wh(INSTALLED_RAW)
                expect(produced).to_have_text(format_kwh(counted))
                expect(row.locator("td").nth(3)).to_have_text(format_kwh(counted))
                # The section's line says when the latest reading came, in the page's zone.
                last_at = client.smart_meter.get_meter(meter).last_reading_at
                clock = page.evaluate("async (t) => (await import('/static/js/common.js')).formatClock(t)", last_at)
                expect(page.get_by_test_id("meters-figure")).to_have_text(f"1 meter, last reading {clock}")
                assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
                session.screenshot(page, "later-reading")
                assert session.console_errors == []
            finally:
                session.context.close()
        finally:
            agent.send_signal(signal.SIGTERM)
            assert agent.wait(timeout=STOP_TIMEOUT_S) == 0, agent_log.read_text()
    # The first reading signed is on chain: the agent's first reading is at an interval end it saw
    # pass, after the registration, so the chain refused none.
    log = agent_log.read_text()
    assert "reading nonce 0 is on chain" in log, log
    assert " refused " not in log, log


def produce(inverter: Inverter, lifetime_raw: int) -> None:
    """The inverter's registers once its lifetime energy has reached `lifetime_raw`."""
    inverter.show(inverter_registers(lifetime_raw))
