"""Shared by the reporting services' tests: a node of the module's own with the system deployed as
a local chain has it (the deployer is region 1's operator), the oracle reporter as the oracles'
only reporter (as the community set-up makes it), meters in the region, readings at chosen
interval ends, and the chain's clock moved by anvil's RPCs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from energy_grid.chain.accounts import anvil_account
from energy_grid.chain.manifest import build_manifest, write_manifest
from energy_grid.contracts.client import GridClient, MeterReading
from energy_grid.deploy.system import LOCAL_OPERATOR_REGION, deploy_system, setup_local_roles
from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, INTERVAL_SECONDS, VOLTAGE_NOMINAL_PER_MILLE

from support.anvil_node import AnvilNode

REGION = LOCAL_OPERATOR_REGION
OPERATOR_INDEX, ORACLE_INDEX, STRANGER_INDEX = 0, 2, 9


def operator() -> LocalAccount:
    return anvil_account(OPERATOR_INDEX)


def oracle_reporter_account() -> LocalAccount:
    return anvil_account(ORACLE_INDEX)


def stranger() -> LocalAccount:
    """A dev account with gas and no role anywhere."""
    return anvil_account(STRANGER_INDEX)


def deploy_local(node: AnvilNode, project: Any, networks: Any, deployer: Any) -> Path:
    """Deploys and wires the system on `node` as `make deploy` does on a local chain; returns the manifest."""
    with networks.parse_network_choice(node.url) as provider:
        system = deploy_system(project, deployer)
        setup_local_roles(system, deployer)
        return write_manifest(build_manifest(provider.chain_id, system.contracts()), node.work_dir)


def rpc(client: GridClient, method: str, params: list[Any] | None = None) -> Any:
    answer = client.w3.provider.make_request(method, params or [])  # type: ignore[arg-type]
    return answer["result"]


def now_s(client: GridClient) -> int:
    return int(client.w3.eth.get_block("latest")["timestamp"])


def move_to(client: GridClient, timestamp_s: int) -> None:
    """Mines an empty block at `timestamp_s`; later blocks follow it a second apart."""
    rpc(client, "evm_mine", [timestamp_s])


def make_sole_reporter(client: GridClient, reporter: str) -> None:
    """The oracle reporter becomes WeatherOracle's and GridOracle's only reporter."""
    for name in ("WeatherOracle", "GridOracle"):
        functions = client[name].functions
        client.transact(operator(), functions.addReporter(reporter))
        for other in functions.getReporters().call():
            if other != reporter:
                client.transact(operator(), functions.removeReporter(other))


def register_meters(client: GridClient, tag: str, count: int, region_id: int = REGION) -> tuple[list[str], list[LocalAccount]]:
    """`count` meters with registers at zero (their first reading counts), each owned by a fresh account."""
    owners = [Account.from_key(keccak(text=f"{tag}-owner-{i}")) for i in range(count)]
    meters = [Account.from_key(keccak(text=f"{tag}-meter-{i}")).address for i in range(count)]
    for meter, owner in zip(meters, owners, strict=True):
        rpc(client, "anvil_setBalance", [owner.address, hex(10**20)])
        client.smart_meter.register_meter(operator(), meter, owner.address, region_id, 0, 0)
    # A meter's first reading must come SmartMeter's minimum reading interval after its registration:
    # with the clock that far on, a reading at the end of the interval the clock is in always does
    # (registered in an interval's last minute, it would otherwise be refused as too frequent).
    move_to(client, now_s(client) + int(client["SmartMeter"].functions.minReadingInterval().call()))
    return meters, owners


class Registers:
    """The meters' cumulative registers, for readings that add energy interval by interval."""

    def __init__(self, meters: Sequence[str]) -> None:
        self.meters = list(meters)
        self.import_wh = dict.fromkeys(meters, 0)
        self.export_wh = dict.fromkeys(meters, 0)

    def readings(
        self,
        interval: int,
        consumed_wh: Sequence[int],
        produced_wh: Sequence[int] | None = None,
        frequency_millihz: Sequence[int] | None = None,
        voltage_per_mille: Sequence[int] | None = None,
    ) -> list[tuple[str, MeterReading]]:
        """Each meter's reading at the interval's last second, its registers raised by the energy given."""
        count = len(self.meters)
        produced = produced_wh or [0] * count
        frequency = frequency_millihz or [FREQUENCY_NOMINAL_MILLIHZ] * count
        voltage = voltage_per_mille or [VOLTAGE_NOMINAL_PER_MILLE] * count
        at = (interval + 1) * INTERVAL_SECONDS - 1
        out = []
        for i, meter in enumerate(self.meters):
            self.import_wh[meter] += consumed_wh[i]
            self.export_wh[meter] += produced[i]
            out.append((meter, MeterReading(at, self.import_wh[meter], self.export_wh[meter], frequency[i], voltage[i])))
        return out


def submit(client: GridClient, entries: Sequence[tuple[str, MeterReading]], batch: int = 100) -> None:
    """The operator (a gateway on a local chain) submits the readings in batches."""
    for start in range(0, len(entries), batch):
        chunk = entries[start : start + batch]
        client.smart_meter.submit_readings(operator(), [m for m, _ in chunk], [r for _, r in chunk])


def nonce(client: GridClient, account: LocalAccount) -> int:
    return int(client.w3.eth.get_transaction_count(account.address))


def sample(metrics: Any, metric: str, **labels: str) -> float:
    """One figure of a service's registry (0 when it has none yet)."""
    value = metrics.registry.get_sample_value(f"energy_grid_{metrics.service}_{metric}", labels or None)
    return float(value or 0.0)
