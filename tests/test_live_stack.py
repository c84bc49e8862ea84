"""The live community's process stack (energy_grid/live/): the run folder `live up` writes (programs
in order, distinct free ports, the broker's password and ACL files, services gated on the ready
marker), the chain on a real anvil (automining until the ready marker holds, then blocks by
themselves stamped speed × block time apart; a kill -9 and a restart resume from the state file with
the pace applied again), and supervisord on the written configuration, really starting, restarting
and stopping programs.
"""

from __future__ import annotations

import configparser
import itertools
import json
import os
import secrets
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import pytest
from eth_typing import ChecksumAddress
from paho.mqtt.enums import MQTTProtocolVersion
from web3 import Web3
from web3.types import RPCEndpoint, Wei

from energy_grid.chain.anvil import LOCAL_HOST, anvil_node, free_port, port_is_free, state_dump_begun_after
from energy_grid.live.chain import Pace
from energy_grid.live.prepare import SetUpPlan, deployment_on_chain, prepare
from energy_grid.live.ready import AFTER_SET_UP_BLOCK, ReadyMarker, chain_is_ready, read_ready_marker
from energy_grid.live.stack import (
    BROKER_PASSWORD_ENV,
    FLEET_USER,
    GATEWAY_USER,
    MONITOR_USER,
    SERVICES,
    LiveStackError,
    RunFolder,
    program_commands,
    supervisord_config,
    write_run_folder,
)
from energy_grid.services.broker import add_broker_user, add_meter_to_acl, meter_acl_block, meter_topic, mosquitto_program

from support.anvil_node import wait_until
from support.mosquitto import ANSWER_TIMEOUT_SECONDS, Broker, connected

ROOT = Path(__file__).resolve().parent.parent
ENERGY_GRID = (sys.executable, "-m", "energy_grid.cli")
SPEED = 60
BLOCK_TIME_S = 1
GAS_LIMIT = 25_000_000  # not anvil's default, so the option is seen to work
CHAIN_START_TIMEOUT_S = 30.0
BLOCKS_TIMEOUT_S = 60.0
METER = "0x" + "ab" * 20
PROGRAM_ORDER = ["broker", "chain", "setup", *(service.name for service in SERVICES)]


def rpc(w3: Web3, method: str, *params: object) -> object:
    return w3.provider.make_request(RPCEndpoint(method), list(params))["result"]


# ------------------------------------------------------------------------------------ the run folder


def supervisord_sections(folder: RunFolder) -> configparser.RawConfigParser:
    config = configparser.RawConfigParser()
    config.read(folder.supervisord_conf)
    return config


def test_the_run_folder_starts_the_programs_in_order_on_distinct_free_ports(tmp_path):
    stack = write_run_folder(tmp_path / "run", project_dir=ROOT, households=7, seed=3, pace=Pace(BLOCK_TIME_S, SPEED))
    folder = stack.folder
    config = supervisord_sections(folder)
    programs = sorted((s for s in config.sections() if s.startswith("program:")), key=lambda s: int(config[s]["priority"]))
    assert [name.removeprefix("program:") for name in programs] == PROGRAM_ORDER
    for name in programs:
        expected = "unexpected" if name == "program:setup" else "true"
        assert config[name]["autorestart"] == expected
        assert config[name]["stdout_logfile"] == str(folder.logs / f"{name.removeprefix('program:')}.log")

    ports = [stack.ports.broker, stack.ports.chain, stack.ports.web, *stack.ports.metrics.values()]
    assert len(ports) == len(set(ports)) == 3 + sum(service.metrics for service in SERVICES)
    assert all(port_is_free(port) for port in ports)
    assert f"listener {stack.ports.broker} {LOCAL_HOST}" in folder.mosquitto_conf.read_text()
    assert "persistence true" in folder.mosquitto_conf.read_text()

    chain = config["program:chain"]["command"].split()
    assert chain[chain.index("--port") + 1] == str(stack.ports.chain)
    assert chain[chain.index("--speed") + 1] == str(SPEED)
    assert chain[chain.index("--state-file") + 1] == str(folder.state_file)
    setup = config["program:setup"]["command"].split()
    assert setup[setup.index("--households") + 1] == "7" and setup[setup.index("--seed") + 1] == "3"

    commands = program_commands(stack, mosquitto_program("mosquitto"))
    for service in SERVICES:
        command, environment = commands[service.name]
        # Every service waits for the ready marker, then runs in the waiter's place.
        waiter = command.index("wait-ready")
        assert command[waiter + 1 : waiter + 4] == ["--ready-marker", str(folder.ready_marker), "--"]
        if service.metrics:
            assert command[command.index("--metrics-port") + 1] == str(stack.ports.metrics[service.name])
        if service.broker_user is not None:
            assert command[command.index("--broker-user") + 1] == service.broker_user
            assert environment[BROKER_PASSWORD_ENV] == stack.passwords[service.broker_user]
    gateway = commands["gateway"][0]
    assert gateway[gateway.index("--store") + 1] == str(folder.gateway_store)
    assert gateway[gateway.index("--dev-account") + 1] == "1"
    # The keeper reads events from the first block after the set-up, which the waiter fills in.
    keeper = commands["keeper"][0]
    assert keeper[keeper.index("--from-block") + 1] == AFTER_SET_UP_BLOCK


def test_a_restarted_run_keeps_each_port_that_is_still_free(tmp_path):
    """A meter agent's broker address and a wallet's RPC URL still reach the community after a
    restart; a port another process took meanwhile is given up for a free one."""
    first = write_run_folder(tmp_path / "run", project_dir=ROOT)
    again = write_run_folder(tmp_path / "run", project_dir=ROOT)
    assert again.ports == first.ports
    with socket.socket() as taken:
        taken.bind((LOCAL_HOST, first.ports.broker))
        taken.listen()
        third = write_run_folder(tmp_path / "run", project_dir=ROOT)
    assert third.ports.broker != first.ports.broker and port_is_free(third.ports.broker)
    assert (third.ports.chain, third.ports.web, third.ports.metrics) == (first.ports.chain, first.ports.web, first.ports.metrics)


def test_the_broker_files_hold_the_gateway_the_fleet_and_a_monitor_and_stay_private(tmp_path):
    stack = write_run_folder(tmp_path / "run", project_dir=ROOT, pace=Pace(BLOCK_TIME_S, SPEED))
    folder = stack.folder
    for private in (folder.credentials, folder.password_file, folder.supervisord_conf):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600, private
    assert json.loads(folder.credentials.read_text()) == stack.passwords
    assert set(stack.passwords) == {GATEWAY_USER, FLEET_USER, MONITOR_USER}
    assert len(set(stack.passwords.values())) == 3
    users = {line.split(":")[0] for line in folder.password_file.read_text().splitlines()}
    assert users == {GATEWAY_USER, FLEET_USER, MONITOR_USER}
    assert all(password not in folder.password_file.read_text() for password in stack.passwords.values())
    acl = folder.acl_file.read_text()
    chain = stack.chain_id
    assert f"user {GATEWAY_USER}\ntopic read energy-grid/{chain}/meters/+/readings" in acl
    assert f"user {FLEET_USER}\ntopic write energy-grid/{chain}/meters/+/readings" in acl
    assert f"user {MONITOR_USER}\ntopic read energy-grid/{chain}/meters/+/#" in acl


def test_a_provisioned_meter_keeps_its_broker_user_while_the_chain_goes_on(tmp_path):
    """A meter added to the run folder's broker files (as `meters provision --live-folder` adds one)
    is still there when the run starts again on the same chain, and gone with a fresh chain."""
    meter = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
    first = write_run_folder(tmp_path / "run", project_dir=ROOT)
    add_broker_user(first.folder.password_file, meter, "the meter's password")
    add_meter_to_acl(first.folder.acl_file, first.chain_id, meter)
    hashed = next(line for line in first.folder.password_file.read_text().splitlines() if line.startswith(meter))

    resumed = write_run_folder(tmp_path / "run", project_dir=ROOT)
    lines = resumed.folder.password_file.read_text().splitlines()
    assert hashed in lines and {line.split(":")[0] for line in lines} == {GATEWAY_USER, FLEET_USER, MONITOR_USER, meter}
    assert "\n".join(meter_acl_block(resumed.chain_id, meter)) in resumed.folder.acl_file.read_text()
    assert stat.S_IMODE(resumed.folder.password_file.stat().st_mode) == 0o600

    fresh = write_run_folder(tmp_path / "run", project_dir=ROOT, fresh=True)
    assert meter not in fresh.folder.password_file.read_text() and meter not in fresh.folder.acl_file.read_text()


def test_a_resumed_run_keeps_its_community_and_fresh_starts_a_new_chain(tmp_path):
    root = tmp_path / "run"
    first = write_run_folder(root, project_dir=ROOT, households=5, seed=9)
    first.folder.state_file.parent.mkdir(parents=True, exist_ok=True)
    first.folder.state_file.write_text("{}")
    first.folder.ready_marker.write_text("{}")

    resumed = write_run_folder(root, project_dir=ROOT)
    assert (resumed.community.households, resumed.community.seed) == (5, 9)
    assert resumed.folder.state_file.exists()
    with pytest.raises(LiveStackError, match="set up with 5 households and seed 9"):
        write_run_folder(root, project_dir=ROOT, households=6)

    fresh = write_run_folder(root, project_dir=ROOT, households=6, fresh=True)
    assert fresh.community.households == 6
    assert not fresh.folder.state_file.exists()
    assert not fresh.folder.ready_marker.exists()


def test_a_service_waits_for_a_ready_marker_its_chain_holds(tmp_path):
    marker = tmp_path / "ready.json"
    started = tmp_path / "started"
    with anvil_node(cache_dir=tmp_path / "cache") as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        rpc(w3, "evm_mine")
        # A marker of a block this chain does not hold (another chain's, or a state saved earlier).
        ReadyMarker(int(w3.eth.chain_id), 1, "0x" + "00" * 32).write(marker)
        waiter = subprocess.Popen(
            [*ENERGY_GRID, "--rpc-url", node.url, "live", "wait-ready", "--ready-marker", str(marker), "--",
             sys.executable, "-c", f"import sys; open({str(started)!r}, 'w').write(sys.argv[1])", AFTER_SET_UP_BLOCK],
            stderr=subprocess.PIPE, text=True,
        )
        try:
            assert waiter.stderr is not None
            # The waiter has looked at the marker, and does not believe it.
            assert "names block 1, which this chain does not hold" in waiter.stderr.readline()
            assert not chain_is_ready(marker, w3)
            assert waiter.poll() is None and not started.exists()
            held = ReadyMarker.at_head(w3)
            held.write(marker)
            assert waiter.wait(timeout=CHAIN_START_TIMEOUT_S) == 0
        finally:
            if waiter.poll() is None:
                waiter.kill()
                waiter.wait()
    # The command's {after_set_up_block} became the first block after the set-up.
    assert started.read_text() == str(held.block_number + 1)


def write_manifest_for(path: Path, chain_id: int, address: str, start: dict[str, object] | None = None) -> Path:
    path.write_text(json.dumps({"chainId": chain_id, **(start or {}), "contracts": {"SmartMeter": {"address": address, "abi": []}}}))
    return path


def test_the_set_up_step_deploys_only_where_the_manifests_contracts_are_missing_and_runs_once(tmp_path):
    contract = "0x" + "c0" * 20
    with anvil_node(cache_dir=tmp_path / "cache") as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        chain_id = int(w3.eth.chain_id)
        manifest = write_manifest_for(tmp_path / "31337.json", chain_id, contract)
        assert not deployment_on_chain(tmp_path / "missing.json", w3)
        assert not deployment_on_chain(manifest, w3)  # a manifest of an earlier chain: no code there
        rpc(w3, "anvil_setCode", contract, "0x6000")
        assert deployment_on_chain(manifest, w3)
        assert not deployment_on_chain(write_manifest_for(tmp_path / "other.json", chain_id + 1, contract), w3)
        # Code at the same address, but the deployment's start block is another chain's: a fresh
        # node where a new deployment landed at the addresses of the manifest's.
        this_start = {"startBlock": 0, "startBlockHash": Web3.to_hex(w3.eth.get_block(0)["hash"])}
        assert deployment_on_chain(write_manifest_for(tmp_path / "marked.json", chain_id, contract, this_start), w3)
        other_start = {"startBlock": 0, "startBlockHash": "0x" + "ab" * 32}
        assert not deployment_on_chain(write_manifest_for(tmp_path / "another.json", chain_id, contract, other_start), w3)

        # Where the chain holds the ready marker, the step is done at once: it would fail if it
        # tried to deploy (there is no project in tmp_path) or to set anything up.
        rpc(w3, "evm_mine")
        marker = ReadyMarker.at_head(w3)
        marker.write(tmp_path / "ready.json")
        plan = SetUpPlan(
            rpc_url=node.url, manifest_file=tmp_path / "none.json", ready_marker=tmp_path / "ready.json",
            state_file=tmp_path / "state.json", households=1, seed=0, project_dir=tmp_path,
        )
        assert prepare(plan, threading.Event()) == 0
        assert read_ready_marker(tmp_path / "ready.json") == marker


# ------------------------------------------------------------------------------------ the chain


@contextmanager
def live_chain(work_dir: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`energy-grid live chain` in a process group of its own (so a test can kill -9 it and its
    anvil together, as a power cut would); killed on the way out whatever happens."""
    log = (work_dir / "chain.log").open("ab")
    process = subprocess.Popen(
        [*ENERGY_GRID, "live", "chain", "--port", str(port), "--state-file", str(work_dir / "state.json"),
         "--ready-marker", str(work_dir / "ready.json"), "--gas-limit", str(GAS_LIMIT),
         "--block-time", str(BLOCK_TIME_S), "--speed", str(SPEED), "--state-interval", "1"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def live_node(url: str) -> Web3:
    w3 = Web3(Web3.HTTPProvider(url))
    wait_until(w3.is_connected, CHAIN_START_TIMEOUT_S, f"the live chain at {url}", poll_s=0.1)
    return w3


def stamps(w3: Web3, first: int, last: int) -> list[int]:
    return [int(w3.eth.get_block(number)["timestamp"]) for number in range(first, last + 1)]


def test_the_chain_mines_by_itself_once_ready_and_resumes_after_kill_9_with_its_pace(tmp_path):
    port = free_port()
    url = f"http://{LOCAL_HOST}:{port}"
    with live_chain(tmp_path, port) as first:
        w3 = live_node(url)
        latest = w3.eth.get_block("latest")
        assert int(w3.eth.chain_id) == 31337 and int(latest["gasLimit"]) == GAS_LIMIT
        assert rpc(w3, "anvil_getAutomine") is True  # the set-up's transactions are mined at once

        # A second chain on the same state is refused, whatever its port.
        second = subprocess.run(
            [*ENERGY_GRID, "live", "chain", "--port", str(free_port()), "--state-file", str(tmp_path / "state.json"),
             "--ready-marker", str(tmp_path / "ready.json")],
            capture_output=True, text=True, check=False,
        )
        assert second.returncode == 1
        assert second.stderr.strip().splitlines()[-1].startswith("Error: another live chain runs on")

        rpc(w3, "evm_mine")
        marker = ReadyMarker.at_head(w3)
        marker.write(tmp_path / "ready.json")
        wait_until(lambda: w3.eth.block_number >= marker.block_number + 3, BLOCKS_TIMEOUT_S, "blocks mined by themselves")
        assert rpc(w3, "anvil_getAutomine") is False
        paced = stamps(w3, marker.block_number, w3.eth.block_number)
        assert {b - a for a, b in itertools.pairwise(paced)} == {SPEED * BLOCK_TIME_S}
        # A transaction sent to the paced chain goes in its next block.
        sender = cast("tuple[ChecksumAddress, ...]", w3.eth.accounts)[9]  # Web3 types the accounts as a tuple of one.
        sent = w3.eth.send_transaction({"from": sender, "to": sender, "value": Wei(1)})
        receipt = wait_until(lambda: rpc(w3, "eth_getTransactionReceipt", sent.to_0x_hex()), BLOCKS_TIMEOUT_S, "the transaction mined")
        assert receipt["status"] == "0x1"

        saved_head = w3.eth.block_number
        state_dump_begun_after(tmp_path / "state.json", timeout_s=BLOCKS_TIMEOUT_S)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        wait_until(lambda: port_is_free(port), CHAIN_START_TIMEOUT_S, "the killed anvil's port")

    with live_chain(tmp_path, port) as again:
        w3 = live_node(url)
        restart_head = w3.eth.block_number
        assert restart_head >= saved_head
        assert marker.held_by(w3)
        wait_until(lambda: w3.eth.block_number >= restart_head + 3, BLOCKS_TIMEOUT_S, "blocks after the restart")
        resumed = stamps(w3, restart_head, w3.eth.block_number)
        assert {b - a for a, b in itertools.pairwise(resumed)} == {SPEED * BLOCK_TIME_S}

        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=CHAIN_START_TIMEOUT_S) == 0
        assert port_is_free(port)  # anvil stopped with it
    assert "anvil stopped with status 0 after dumping its state" in (tmp_path / "chain.log").read_text()


def test_a_chain_killed_while_dumping_its_state_starts_again_from_the_last_whole_dump(tmp_path):
    port = free_port()
    url = f"http://{LOCAL_HOST}:{port}"
    state, kept = tmp_path / "state.json", tmp_path / "state.json.kept"
    with live_chain(tmp_path, port) as first:
        w3 = live_node(url)
        rpc(w3, "evm_mine")
        marker = ReadyMarker.at_head(w3)
        marker.write(tmp_path / "ready.json")
        wait_until(lambda: w3.eth.block_number >= marker.block_number + 3, BLOCKS_TIMEOUT_S, "blocks mined by themselves")
        wait_until(kept.exists, BLOCKS_TIMEOUT_S, "a kept copy of a whole dump")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        wait_until(lambda: port_is_free(port), CHAIN_START_TIMEOUT_S, "the killed anvil's port")
    # Killed in the middle of writing its dump: the file stops mid-value, and anvil cannot load it.
    whole = state.read_bytes()
    state.write_bytes(whole[: len(whole) // 2])

    with live_chain(tmp_path, port) as again:
        w3 = live_node(url)
        assert marker.held_by(w3)
        head = w3.eth.block_number
        wait_until(lambda: w3.eth.block_number >= head + 2, BLOCKS_TIMEOUT_S, "blocks after the restart")
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=CHAIN_START_TIMEOUT_S) == 0
    assert (tmp_path / "state.json.torn").read_bytes() == whole[: len(whole) // 2]
    assert "starting from the last whole dump" in (tmp_path / "chain.log").read_text()


def test_the_chain_refuses_a_port_another_process_listens_on(tmp_path):
    with socket.socket() as taken:
        taken.bind((LOCAL_HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*ENERGY_GRID, "live", "chain", "--port", str(port), "--state-file", str(tmp_path / "state.json"),
             "--ready-marker", str(tmp_path / "ready.json")],
            capture_output=True, text=True, check=False,
        )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"Error: Port {port} on {LOCAL_HOST} is in use by another process, so no chain was started: choose another --port."
    )
    assert not (tmp_path / "state.json").exists()


# ------------------------------------------------------------------------------------ supervisord


MQTT_3_1_1 = MQTTProtocolVersion.MQTTv311
BEACON = "import os, sys, time; open(sys.argv[1], 'a').write(f'{os.getpid()}\\n'); time.sleep(3600)"


def beacon_pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child supervisord has not reaped yet is a zombie: dead all the same.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z" if Path(f"/proc/{pid}").exists() else True


def test_supervisord_starts_restarts_and_stops_the_programs(tmp_path):
    """The written configuration under a real supervisord, with the real broker and chain and a
    trivial program in place of the services: a killed program is started again, a queued QoS 1
    message outlives a broker restart, and SIGINT stops everything."""
    stack = write_run_folder(tmp_path / "run", project_dir=ROOT, pace=Pace(BLOCK_TIME_S, SPEED))
    folder = stack.folder
    commands = program_commands(stack, mosquitto_program("mosquitto"))
    beacon_file = tmp_path / "beacon.pids"
    programs = {
        "broker": commands["broker"],
        "chain": commands["chain"],
        "beacon": ([sys.executable, "-c", BEACON, str(beacon_file)], {}),
    }
    folder.supervisord_conf.unlink()
    folder.supervisord_conf.write_text(supervisord_config(stack, programs))
    supervisord = subprocess.Popen(
        [str(Path(sys.executable).with_name("supervisord")), "-n", "-c", str(folder.supervisord_conf)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        (first,) = wait_until(lambda: supervisord.poll() is None and beacon_pids(beacon_file), CHAIN_START_TIMEOUT_S, "the beacon's start")
        w3 = live_node(stack.rpc_url)
        assert int(w3.eth.get_block("latest")["gasLimit"]) == stack.gas_limit

        os.kill(first, signal.SIGKILL)
        pids = wait_until(lambda: beacon_pids(beacon_file)[1:], CHAIN_START_TIMEOUT_S, "the beacon's restart")
        assert pids[0] != first

        # The gateway's session outlives a broker restart, and so does a reading queued for it. (MQTT
        # 3.1.1: Debian's mosquitto 2.0.11 was seen to drop an MQTT v5 session on a restart.)
        broker = Broker(LOCAL_HOST, stack.ports.broker, folder.logs / "broker.log")
        passwords = json.loads(folder.credentials.read_text())
        topic = meter_topic(stack.chain_id, METER, "readings")
        gateway_id = f"gateway-{secrets.token_hex(4)}"
        with connected(broker, GATEWAY_USER, passwords[GATEWAY_USER], gateway_id, persistent=True, protocol=MQTT_3_1_1) as gateway:
            assert gateway.connack.get(timeout=ANSWER_TIMEOUT_SECONDS) == "Success"
            assert gateway.subscribe(f"energy-grid/{stack.chain_id}/meters/+/readings") == "Granted QoS 1"
        with connected(broker, FLEET_USER, passwords[FLEET_USER]) as fleet:
            assert fleet.connack.get(timeout=ANSWER_TIMEOUT_SECONDS) == "Success"
            assert fleet.publish(topic, b"a signed reading") == "Success"
        supervisorctl = str(Path(sys.executable).with_name("supervisorctl"))
        subprocess.run([supervisorctl, "-c", str(folder.supervisord_conf), "restart", "broker"], check=True, capture_output=True)
        wait_until(lambda: not port_is_free(stack.ports.broker), ANSWER_TIMEOUT_SECONDS, "the restarted broker")
        with connected(broker, GATEWAY_USER, passwords[GATEWAY_USER], gateway_id, persistent=True, protocol=MQTT_3_1_1) as gateway:
            assert gateway.connack.get(timeout=ANSWER_TIMEOUT_SECONDS) == "Success"
            queued = gateway.next_message()
            assert (queued.topic, queued.payload) == (topic, b"a signed reading")

        os.kill(supervisord.pid, signal.SIGINT)
        assert supervisord.wait(timeout=CHAIN_START_TIMEOUT_S * 2) == 0
    finally:
        if supervisord.poll() is None:  # a failed assertion: stop the programs all the same
            supervisord.terminate()
            supervisord.wait(timeout=CHAIN_START_TIMEOUT_S * 2)
    assert not any(alive(pid) for pid in beacon_pids(beacon_file))
    assert port_is_free(stack.ports.chain) and port_is_free(stack.ports.broker)
    assert "anvil stopped with status 0" in (folder.logs / "chain.log").read_text()
