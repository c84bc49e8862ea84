"""`energy-grid meters provision` end to end: a deployed system on the session's anvil, the broker a
real mosquitto (the live community's under supervisord, or files of the test's own), and the command
line run in-process as an operator types it.

One run makes the meter's key, registers it for its owner, adds its broker user and ACL block beside
the others, reloads the broker and prints the meter agent's configuration; a second run changes
nothing. Every refusal is one sentence with its exit code: 2 for what the operator must set up or
give, 1 for what the chain refuses (a meter another owner holds, a signer without the operator's role).
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from energy_grid.chain.accounts import AccountError, anvil_account, create_keystore
from energy_grid.chain.anvil import DEFAULT_CHAIN_ID
from energy_grid.chain.manifest import build_manifest, read_manifest, write_manifest
from energy_grid.contracts.client import GridClient
from energy_grid.deploy.system import deploy_system, setup_local_roles
from energy_grid.domain.units import INTERVAL_SECONDS
from energy_grid.live.stack import GATEWAY_USER, RunFolder, program_commands, supervisord_config, write_run_folder
from energy_grid.services.broker import acl_text, meter_acl_block, meter_topic, mosquitto_program, write_password_file
from energy_grid.services.gateway.messages import clock_topic
from energy_grid.services.meter_agent.config import SOURCE_TEMPLATE, ProvisionedConfig, write_agent_config

from support.anvil_node import wait_until
from support.cli_helpers import CliRun, cli_runner
from support.mosquitto import ANSWER_TIMEOUT_SECONDS, Broker, connected, stand_in_systemctl

ROOT = Path(__file__).resolve().parent.parent
REGION = 1
CHAIN_ID = DEFAULT_CHAIN_ID  # the session's anvil, and the live folder's broker
KEY_PASSWORD = "a meter key's password"
BROKER_START_TIMEOUT_S = 30.0
NEW_PASSWORD_LINE = re.compile(r"Its password, shown this once: (\S+)")
NON_OPERATOR = 5  # a funded dev account without SmartMeter's OPERATOR_ROLE


@pytest.fixture(scope="module")
def provisioning_manifest(project: Any, admin: Any, chain: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh system, wired as `make deploy` wires a local chain (dev account 0 registers meters)."""
    system = deploy_system(project, admin)
    setup_local_roles(system, admin)
    return write_manifest(build_manifest(chain.chain_id, system.contracts()), tmp_path_factory.mktemp("provisioning"))


@pytest.fixture
def provisioning_cli(provisioning_manifest: Path, networks: Any) -> Callable[..., CliRun]:
    return cli_runner(networks.provider.uri, provisioning_manifest)


@pytest.fixture
def provisioning_client(provisioning_manifest: Path, networks: Any) -> GridClient:
    return GridClient(Web3(Web3.HTTPProvider(networks.provider.uri)), read_manifest(provisioning_manifest))


@pytest.fixture
def broker_files(tmp_path: Path) -> tuple[Path, Path]:
    """A password file and an ACL as an operator wrote them for the service users, before any meter."""
    password_file, acl_file = tmp_path / "energy-grid.passwd", tmp_path / "energy-grid.acl"
    write_password_file(password_file, {"gateway": "gateway password", "monitor": "monitor password"})
    acl_file.write_text(acl_text(CHAIN_ID, [], "gateway", monitor_user="monitor"))
    return password_file, acl_file


@pytest.fixture
def live_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunFolder]:
    """The run folder `live up` writes, with its broker alone running under supervisord."""
    stack = write_run_folder(tmp_path_factory.mktemp("live"), project_dir=ROOT)
    folder = stack.folder
    folder.supervisord_conf.unlink()
    broker_program = program_commands(stack, mosquitto_program("mosquitto"))["broker"]
    folder.supervisord_conf.write_text(supervisord_config(stack, {"broker": broker_program}))
    supervisord = subprocess.Popen(
        [str(Path(sys.executable).with_name("supervisord")), "-n", "-c", str(folder.supervisord_conf)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        log = folder.logs / "broker.log"
        wait_until(lambda: log.exists() and " running" in log.read_text(), BROKER_START_TIMEOUT_S, "the live broker")
        yield folder
    finally:
        supervisord.terminate()
        supervisord.wait(timeout=BROKER_START_TIMEOUT_S)


def provision(
    cli: Callable[..., CliRun],
    *args: str,
    expect: int = 0,
    account: int | None = 0,
    env: dict[str, str | None] | None = None,
    **invoke: Any,
) -> CliRun:
    """`meters provision ARGS` as dev account `account` (the operator by default), with the meter key's
    password in the environment unless `env` says otherwise."""
    environment = {"ENERGY_GRID_KEYSTORE_PASSWORD": KEY_PASSWORD, "ENERGY_GRID_BROKER_PASSWORD": None} | (env or {})
    return cli("meters", "provision", *args, account=account, expect=expect, json_output=False, env=environment, **invoke)


def one_sentence(run: CliRun) -> str:
    """The refusal on stderr: one line, `Error: …`, no traceback."""
    lines = run.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("Error: ") and "Traceback" not in run.stderr, run.stderr
    return lines[-1]


def cheap_keystore(path: Path, password: str = KEY_PASSWORD) -> str:
    """A keystore of a new key, encrypted with a fast KDF (the test decrypts it in milliseconds); its address."""
    account = Account.create()
    path.write_text(json.dumps(Account.encrypt(account.key, password, kdf="pbkdf2", iterations=1_000)))
    return str(account.address)


def snapshot(*paths: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in paths}


# ------------------------------------------------------------------ end to end


def test_a_new_meter_is_connected_to_the_live_broker_and_a_second_run_changes_nothing(
    provisioning_cli, provisioning_client, live_folder, accounts, tmp_path
):
    owner = accounts[6].address
    out = tmp_path / "household" / "meter-agent.toml"
    out.parent.mkdir()
    config_text = live_folder.mosquitto_conf.read_text()
    listener = re.search(r"^listener (\d+) 127\.0\.0\.1$", config_text, re.MULTILINE)
    assert listener is not None
    port = int(listener.group(1))
    broker = Broker("127.0.0.1", port, live_folder.logs / "broker.log")
    passwords = json.loads(live_folder.credentials.read_text())
    users_before = live_folder.password_file.read_text().splitlines()
    acl_before = live_folder.acl_file.read_text()
    operator_nonce = provisioning_client.w3.eth.get_transaction_count(accounts[0].address)

    with connected(broker, GATEWAY_USER, passwords[GATEWAY_USER]) as gateway:
        assert gateway.connack.get(timeout=ANSWER_TIMEOUT_SECONDS) == "Success"
        assert gateway.subscribe(f"energy-grid/{CHAIN_ID}/meters/+/readings") == "Granted QoS 1"
        reloads = broker.reloads()
        first = provision(provisioning_cli, "--owner", owner, "--region", str(REGION), "--live-folder", str(live_folder.root),
                          "--out", str(out))
        broker.wait_for_reload(reloads)

        # The key: a new keystore beside the configuration, readable by its owner only, opened by the password.
        key_file = out.parent / "meter-key.json"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        meter = Account.from_key(Account.decrypt(json.loads(key_file.read_text()), KEY_PASSWORD)).address
        # Registered for its owner, as SmartMeter reads it back.
        info = provisioning_client.smart_meter.get_meter(meter)
        assert (info.owner, info.region_id, info.active, info.awaiting_baseline) == (owner, REGION, True, True)
        # The configuration: printed and written, in the agent's format.
        assert out.read_text() == first.stdout
        config = tomllib.loads(first.stdout)
        assert config == {
            "chain_id": provisioning_client.w3.eth.chain_id,
            "smart_meter": provisioning_client.smart_meter.address,
            "meter": meter,
            "keystore": "meter-key.json",
            "outbox": "meter-outbox.sqlite",
            "interval_s": INTERVAL_SECONDS,
            "broker": {"address": f"127.0.0.1:{port}", "user": meter},
            "source": {},
        }
        # The broker: every user before kept, in place; the meter's user and block added; reloaded.
        assert live_folder.password_file.read_text().splitlines()[:-1] == users_before
        assert live_folder.acl_file.read_text() == acl_before + "\n" + "\n".join(meter_acl_block(CHAIN_ID, meter)) + "\n"
        new_password = NEW_PASSWORD_LINE.search(first.stderr)
        assert new_password is not None
        password = new_password.group(1)
        with connected(broker, meter, password) as device:
            assert device.connack.get(timeout=ANSWER_TIMEOUT_SECONDS) == "Success"
            assert device.subscribe(clock_topic(CHAIN_ID)) == "Granted QoS 1"
            assert device.publish(meter_topic(CHAIN_ID, meter, "readings"), b"a signed reading") == "Success"
            # The gateway's session, subscribed before the reload, was never dropped.
            reading = gateway.next_message()
            assert (reading.topic, reading.payload) == (meter_topic(CHAIN_ID, meter, "readings"), b"a signed reading")

    # Again: nothing sent, no file touched, the same configuration, no reload needed.
    files = snapshot(key_file, out, live_folder.password_file, live_folder.acl_file)
    second = provision(provisioning_cli, "--owner", owner, "--region", str(REGION), "--live-folder", str(live_folder.root),
                       "--out", str(out))
    assert second.stdout == first.stdout
    assert snapshot(*files) == files
    assert provisioning_client.w3.eth.get_transaction_count(accounts[0].address) == operator_nonce + 1  # the one registration
    assert broker.reloads() == reloads + 1
    assert "already: nothing sent" in second.stderr and "its password is kept" in second.stderr
    assert "The broker's files are unchanged: no reload needed." in second.stderr
    assert NEW_PASSWORD_LINE.search(second.stderr) is None


def test_provisioning_with_installation_registers_reloads_debians_broker_and_reports_in_json(
    provisioning_cli, provisioning_client, broker_files, accounts, tmp_path, monkeypatch
):
    """With the registers read at installation the meter's baseline is set; the default reload is
    systemd's (a `systemctl` that records its call stands in: systemd does not run here)."""
    monkeypatch.chdir(tmp_path)
    password_file, acl_file = broker_files
    systemctl_dir = stand_in_systemctl(tmp_path / "bin")
    meter = Account.create().address
    owner = accounts[6].address
    run = provisioning_cli(
        "meters", "provision", "--owner", owner, "--region", str(REGION), "--meter", meter,
        "--consumption-register-wh", "1200", "--production-register-wh", "3400",
        "--password-file", str(password_file), "--acl-file", str(acl_file), "--broker", "broker.example.org:8883",
        account=0, env={"PATH": f"{systemctl_dir}{os.pathsep}{os.environ['PATH']}", "ENERGY_GRID_BROKER_PASSWORD": "a chosen password"},
    ).json()
    assert (systemctl_dir / "calls").read_text() == "reload mosquitto\n"
    info = provisioning_client.smart_meter.get_meter(meter)
    assert (info.owner, info.awaiting_baseline) == (owner, False)
    assert {k: run[k] for k in ("meter", "key", "registration", "broker_user", "acl", "reload", "config_file")} == {
        "meter": meter,
        "key": "on the device",
        "registration": "registered",
        "broker_user": "password set",
        "acl": "added",
        "reload": "systemctl reload mosquitto",
        "config_file": None,
    }
    config = tomllib.loads(run["config"])
    assert (config["meter"], config["keystore"]) == (meter, "meter-key.json")
    assert config["broker"] == {"address": "broker.example.org:8883", "user": meter}
    assert not (tmp_path / "meter-key.json").exists()  # the key stays on the device: none was made
    assert [line.split(":")[0] for line in password_file.read_text().splitlines()] == ["gateway", "monitor", meter]


def test_a_new_keys_password_may_be_typed_at_a_hidden_prompt(provisioning_cli, broker_files, accounts, tmp_path):
    password_file, acl_file = broker_files
    key_file = tmp_path / "keys" / "device.json"
    key_file.parent.mkdir()
    out = tmp_path / "agent" / "meter-agent.toml"
    out.parent.mkdir()
    run = provision(
        provisioning_cli, "--owner", accounts[6].address, "--region", str(REGION), "--key-file", str(key_file), "--out", str(out),
        "--password-file", str(password_file), "--acl-file", str(acl_file), "--reload", "none",
        env={"ENERGY_GRID_KEYSTORE_PASSWORD": None}, input="typed password\ntyped password\n",
    )
    meter = Account.from_key(Account.decrypt(json.loads(key_file.read_text()), "typed password")).address
    assert tomllib.loads(run.stdout)["keystore"] == "../keys/device.json"  # relative to the configuration's folder
    assert "typed password" not in run.stdout + run.stderr
    assert "Broker not reloaded (--reload none)" in run.stderr
    assert meter_acl_block(CHAIN_ID, meter)[1] in acl_file.read_text()


def test_the_households_source_table_is_kept_when_the_configuration_is_written_again(tmp_path):
    path = tmp_path / "meter-agent.toml"
    first = ProvisionedConfig(CHAIN_ID, "0x" + "11" * 20, "0x" + "22" * 20, "meter-key.json", "127.0.0.1:1883")
    assert write_agent_config(path, first) is True
    assert path.read_text() == first.text() and SOURCE_TEMPLATE in first.text()
    filled = path.read_text().replace(SOURCE_TEMPLATE, '[source]\nkind = "sunspec"\nhost = "192.168.1.20"\nport = 502\nunit = 1\n')
    path.write_text(filled)
    assert write_agent_config(path, first) is False
    moved = ProvisionedConfig(CHAIN_ID, "0x" + "11" * 20, "0x" + "22" * 20, "meter-key.json", "10.0.0.2:1883")
    assert write_agent_config(path, moved) is True
    config = tomllib.loads(path.read_text())
    assert config["broker"]["address"] == "10.0.0.2:1883"
    assert config["source"] == {"kind": "sunspec", "host": "192.168.1.20", "port": 502, "unit": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meter-agent.toml"]


def test_a_configurations_strings_are_quoted_for_toml(tmp_path):
    awkward = 'keys/"quoted" \\ and\ttabbed'
    config = ProvisionedConfig(5, "0x" + "11" * 20, "0x" + "22" * 20, awkward, "127.0.0.1:1883")
    assert tomllib.loads(config.text())["keystore"] == awkward


def test_a_deactivated_meter_of_its_owner_is_left_as_it_is_and_said_so(provisioning_cli, provisioning_client, broker_files, accounts):
    password_file, acl_file = broker_files
    meter, owner = Account.create().address, accounts[6].address
    provisioning_cli("meters", "register", meter, "--owner", owner, "--region", str(REGION), account=0)
    provisioning_client.smart_meter.deactivate_meter(anvil_account(0), meter)
    run = provision(provisioning_cli, "--owner", owner, "--region", str(REGION), "--meter", meter,
                    "--password-file", str(password_file), "--acl-file", str(acl_file), "--reload", "none")
    assert "already (deactivated: its readings count again once the operator reactivates it): nothing sent" in run.stderr
    assert provisioning_client.smart_meter.get_meter(meter).active is False


# ------------------------------------------------------------------ refusals


def test_a_new_key_is_never_written_over_a_file(tmp_path):
    path = tmp_path / "meter-key.json"
    path.write_text("the only copy of a key")
    with pytest.raises(AccountError, match=r"exists already: a new key is never written over a file"):
        create_keystore(path, KEY_PASSWORD)
    assert path.read_text() == "the only copy of a key"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meter-key.json"]


def test_a_meter_registered_to_another_owner_is_refused_and_nothing_changes(provisioning_cli, broker_files, accounts):
    password_file, acl_file = broker_files
    meter = Account.create().address
    provisioning_cli("meters", "register", meter, "--owner", accounts[7].address, "--region", str(REGION), account=0)
    before = snapshot(password_file, acl_file)
    refused = provision(provisioning_cli, "--owner", accounts[6].address, "--region", str(REGION), "--meter", meter,
                        "--password-file", str(password_file), "--acl-file", str(acl_file), "--reload", "none", expect=1)
    assert one_sentence(refused) == (
        f"Error: Meter {meter} is registered to {accounts[7].address} in region {REGION}, not to {accounts[6].address} in region "
        f"{REGION}: a meter is registered once, so nothing was changed (check the key file, or --owner and --region)."
    )
    other_region = provision(provisioning_cli, "--owner", accounts[7].address, "--region", str(REGION + 1), "--meter", meter,
                             "--password-file", str(password_file), "--acl-file", str(acl_file), "--reload", "none", expect=1)
    assert f"in region {REGION}, not to {accounts[7].address} in region {REGION + 1}" in one_sentence(other_region)
    assert snapshot(*before) == before


def test_a_signer_without_the_operators_role_is_refused_by_the_chain(provisioning_cli, broker_files, accounts):
    password_file, acl_file = broker_files
    refused = provision(provisioning_cli, "--owner", accounts[6].address, "--region", str(REGION), "--meter", Account.create().address,
                        "--password-file", str(password_file), "--acl-file", str(acl_file), "--reload", "none",
                        account=NON_OPERATOR, expect=1)
    assert "registerMeter rejected: AccessControlUnauthorizedAccount" in one_sentence(refused)


def test_a_registration_without_an_account_is_a_usage_error(provisioning_cli, broker_files, accounts):
    password_file, acl_file = broker_files
    refused = provision(provisioning_cli, "--owner", accounts[6].address, "--region", str(REGION), "--meter", Account.create().address,
                        "--password-file", str(password_file), "--acl-file", str(acl_file), "--reload", "none", account=None, expect=2)
    assert "This command signs a transaction" in refused.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--consumption-register-wh", "5"), "Give both installation registers"),
        (("--broker", "no-port"), "is not a broker address: give HOST:PORT"),
        (("--reload", "live"), "--reload live needs --live-folder"),
    ],
)
def test_usage_errors_exit_2_before_anything_is_made(provisioning_cli, broker_files, accounts, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    password_file, acl_file = broker_files
    before = snapshot(password_file, acl_file)
    refused = provision(provisioning_cli, "--owner", accounts[6].address, "--region", str(REGION),
                        "--password-file", str(password_file), "--acl-file", str(acl_file), *args, expect=2)
    assert message in refused.stderr
    assert not (tmp_path / "meter-key.json").exists() and snapshot(*before) == before


def test_the_broker_files_are_required_and_must_exist(provisioning_cli, accounts, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    owner = ("--owner", accounts[6].address, "--region", str(REGION))
    unnamed = provision(provisioning_cli, *owner, expect=2)
    assert "Give the broker's --password-file and --acl-file, or the --live-folder that holds them." in unnamed.stderr
    missing = provision(
        provisioning_cli, *owner, "--password-file", str(tmp_path / "none.passwd"), "--acl-file", str(tmp_path / "none.acl"), expect=2
    )
    assert one_sentence(missing).startswith(f"Error: There is no broker password file at {tmp_path / 'none.passwd'}: write the broker's")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no key made


def test_a_key_file_of_another_meter_or_that_does_not_open_is_refused(provisioning_cli, broker_files, accounts, tmp_path):
    password_file, acl_file = broker_files
    common = ("--owner", accounts[6].address, "--region", str(REGION), "--password-file", str(password_file), "--acl-file", str(acl_file),
              "--reload", "none")
    key_file = tmp_path / "device.json"
    address = cheap_keystore(key_file)
    stranger = Account.create().address
    other = provision(provisioning_cli, *common, "--key-file", str(key_file), "--meter", stranger, expect=2)
    assert f"{key_file} holds the key of {address}, not of --meter {stranger}." in other.stderr
    wrong = provision(provisioning_cli, *common, "--key-file", str(key_file), env={"ENERGY_GRID_KEYSTORE_PASSWORD": "not it"}, expect=2)
    assert one_sentence(wrong) == f"Error: Cannot decrypt the keystore {key_file}: wrong password, or not a keystore."
    nowhere = tmp_path / "no such folder" / "device.json"
    unwritable = provision(provisioning_cli, *common, "--key-file", str(nowhere), expect=2)
    assert one_sentence(unwritable) == f"Error: Cannot write the keystore {nowhere}: No such file or directory."
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json")
    assert f"{garbage} is not a keystore file" in one_sentence(provision(provisioning_cli, *common, "--key-file", str(garbage), expect=2))
    assert meter_acl_block(CHAIN_ID, address)[1] not in acl_file.read_text()


def test_an_acl_with_other_grants_for_the_meter_is_refused(provisioning_cli, broker_files, accounts):
    password_file, acl_file = broker_files
    meter = Account.create().address
    acl_file.write_text(acl_text(4242, [meter], "gateway"))  # the meter's block of another chain
    refused = provision(provisioning_cli, "--owner", accounts[6].address, "--region", str(REGION), "--meter", meter,
                        "--password-file", str(password_file), "--acl-file", str(acl_file), "--reload", "none", expect=2)
    assert f"already grants {meter} other topics than its block of chain {CHAIN_ID}" in one_sentence(refused)


def test_a_failed_systemctl_reload_is_named(provisioning_cli, broker_files, accounts, tmp_path):
    password_file, acl_file = broker_files
    systemctl_dir = stand_in_systemctl(tmp_path / "bin", 5, "Failed to reload mosquitto.service: Unit mosquitto.service not found.")
    refused = provision(provisioning_cli, "--owner", accounts[6].address, "--region", str(REGION), "--meter", Account.create().address,
                        "--password-file", str(password_file), "--acl-file", str(acl_file),
                        env={"PATH": f"{systemctl_dir}{os.pathsep}{os.environ['PATH']}"}, expect=2)
    assert one_sentence(refused) == (
        "Error: The broker's files: `systemctl reload mosquitto` failed (Failed to reload mosquitto.service: Unit "
        "mosquitto.service not found.): reload the broker by hand."
    )


def test_a_live_folder_without_a_running_broker_or_never_written_is_named(provisioning_cli, accounts, tmp_path):
    stack = write_run_folder(tmp_path / "live", project_dir=ROOT)
    owner = ("--owner", accounts[6].address, "--region", str(REGION), "--meter", Account.create().address)
    stopped = provision(provisioning_cli, *owner, "--live-folder", str(stack.folder.root), expect=2)
    assert one_sentence(stopped).startswith(f"Error: No broker runs in {stack.folder.root}: the files are written")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "mosquitto.passwd").touch()
    (empty / "mosquitto.acl").touch()
    unwritten = provision(provisioning_cli, *owner, "--live-folder", str(empty), expect=2)
    assert one_sentence(unwritten).startswith(f"Error: No live broker was written to {empty}")
