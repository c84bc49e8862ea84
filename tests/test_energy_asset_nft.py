"""EnergyAssetNFT: production assets minted by a region's grid operator after inspection, linked to
their SmartMeter meter; production history from that meter, maintenance records, per-asset
maintainers that lapse when the controller changes, on-chain metadata, the link to EnergyAssetShares.

SmartMeter, GridManagement (with its operators) and EnergyAssetShares are deployed for real
(conftest). Every custom error is asserted with all of its arguments and every event with all of
its fields (helpers.reverts / helpers.log / helpers.assert_logs).
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from support.asset_helpers import (
    CAPACITY_W,
    DAY,
    MAX_CAPACITY_W,
    OTHER_REGION,
    REGION,
    TYPE_NAMES,
    EnergyType,
    Kind,
    decode_token_uri,
    mint,
    new_meter,
)
from support.helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, assert_logs, deploy_reverts, log, reverts, unexercised_abi_items

MAX_HISTORY_DAYS = 7
MAX_DESCRIPTION_BYTES = 256
MAX_RECORDS_PAGE = 50
EIP170_MAX_RUNTIME_BYTES = 24_576


@pytest.fixture(scope="module", autouse=True)
def _accounts_before_isolation(admin, owner, other, stranger, grid_operator, other_region_operator, accounts):
    """Resolves the session-scoped account fixtures before ape's per-test isolation (no rebasing)."""


@pytest.fixture
def nft(asset_nft, asset_shares):
    """The NFT, linked to its shares contract as deployed."""
    return asset_nft


@pytest.fixture
def op(grid_operator):
    return grid_operator


@pytest.fixture
def meter(smart_meter, admin, owner):
    return new_meter(smart_meter, admin, owner)


@pytest.fixture
def asset(nft, op, owner, meter, chain):
    """Asset 1: owner's 5 kW solar array in REGION, commissioned 30 days ago; returns (tokenId, commissionedAt)."""
    token_id, commissioned_at, _ = mint(nft, op, owner, meter, chain)
    return token_id, commissioned_at


def fields(struct: Any) -> dict:
    return dict(struct.items())


RECORD_FIELDS = ("kind", "performedAt", "recordedAt", "recordedBy", "description")


def records_page(nft: Any, token_id: int, cursor: int, limit: int) -> tuple[list[dict], int]:
    """A getMaintenanceRecords page as ([{field: value}], nextCursor)."""
    records, next_cursor = nft.getMaintenanceRecords(token_id, cursor, limit)
    return [dict(zip(RECORD_FIELDS, r, strict=True)) for r in records], next_cursor


def record(kind: int, performed_at: int, recorded_at: int, recorded_by: Any, description: str) -> dict:
    return {
        "kind": kind,
        "performedAt": performed_at,
        "recordedAt": recorded_at,
        "recordedBy": recorded_by.address,
        "description": description,
    }


# ----------------------------------------------------------------------------- wiring, surface, completeness


def test_constants_and_wiring(nft, asset_shares, smart_meter, grid_management, admin):
    assert nft.MAX_CAPACITY_W() == MAX_CAPACITY_W
    assert nft.MAX_HISTORY_DAYS() == MAX_HISTORY_DAYS
    assert nft.MAX_DESCRIPTION_BYTES() == MAX_DESCRIPTION_BYTES
    assert nft.MAX_RECORDS_PAGE() == MAX_RECORDS_PAGE
    assert nft.smartMeter() == smart_meter.address
    assert nft.gridManagement() == grid_management.address
    assert nft.sharesContract() == asset_shares.address
    assert nft.name() == "Energy Asset"
    assert nft.symbol() == "EASSET"
    assert nft.assetCount() == 0
    assert nft.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert nft.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    for interface_id in ("0x80ac58cd", "0x5b5e139f", "0x7965db0b", "0x01ffc9a7"):  # ERC-721, metadata, AccessControl, ERC-165
        assert nft.supportsInterface(interface_id)
    assert not nft.supportsInterface("0xd9b67a26")  # ERC-1155 is the shares contract's


def test_every_function_error_and_event_is_exercised(nft):
    """Guards this file's completeness: each ABI item of EnergyAssetNFT is used here as `.<name>`."""
    items = [item for item in nft.contract_type.abi if item.type in ("function", "error", "event")]
    assert len(items) > 60
    # Unreachable here: RoleAdminChanged (nothing calls _setRoleAdmin), ERC721InvalidSender (only a
    # mint over an existing id), ERC721InvalidApprover (only OpenZeppelin's internal _approve with a
    # zero owner), StringsInsufficientHexLength (addresses always fit their 20 bytes).
    exempt = {"RoleAdminChanged", "ERC721InvalidSender", "ERC721InvalidApprover", "StringsInsufficientHexLength"}
    assert unexercised_abi_items("EnergyAssetNFT", ["test_energy_asset_nft.py"], ("function", "error", "event"), exempt) == []


def test_code_sizes_fit_eip170(nft, asset_shares, chain):
    for contract in (nft, asset_shares):
        size = len(chain.provider.get_code(contract.address))
        assert 0 < size < EIP170_MAX_RUNTIME_BYTES, (contract, size)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_constructor_rejects_zero_addresses(project, admin, smart_meter, grid_management, which):
    args = [admin, smart_meter, grid_management]
    args[which] = ZERO_ADDRESS
    with deploy_reverts(project.EnergyAssetNFT.ZeroAddress):
        project.EnergyAssetNFT.deploy(*args, sender=admin)


# ----------------------------------------------------------------------------- minting


def test_operator_mints_an_asset_after_inspection(nft, op, owner, meter, chain):
    now = chain.pending_timestamp
    commissioned_at = now - 30 * DAY
    tx = nft.mintAsset(owner, EnergyType.WIND, 2_000_000, REGION, commissioned_at, meter, sender=op)
    assert tx.return_value == 1
    assert_logs(
        tx,
        log(nft.Transfer, **{"from": ZERO_ADDRESS, "to": owner.address, "tokenId": 1}),
        log(
            nft.AssetMinted,
            tokenId=1,
            owner=owner.address,
            meter=meter,
            assetType=EnergyType.WIND,
            capacityW=2_000_000,
            regionId=REGION,
            commissionedAt=commissioned_at,
            inspector=op.address,
        ),
    )
    assert fields(nft.getAsset(1)) == {
        "assetType": EnergyType.WIND,
        "capacityW": 2_000_000,
        "regionId": REGION,
        "commissionedAt": commissioned_at,
        "meter": meter,
        "inspectedBy": op.address,
        "mintedAt": tx.timestamp,
    }
    assert nft.ownerOf(1) == owner.address
    assert nft.balanceOf(owner) == 1
    assert nft.assetOfMeter(meter) == 1
    assert nft.assetCount() == 1
    assert nft.controllerOf(1) == owner.address
    assert nft.maintainerEra(1) == 0
    assert nft.maintenanceRecordCount(1) == 0


def test_token_ids_count_up_and_capacity_bounds_are_inclusive(nft, op, owner, smart_meter, admin, chain):
    first = nft.mintAsset(owner, 0, 1, REGION, chain.pending_timestamp, new_meter(smart_meter, admin, owner), sender=op)
    second = nft.mintAsset(owner, 6, MAX_CAPACITY_W, REGION, 1, new_meter(smart_meter, admin, owner), sender=op)
    assert (first.return_value, second.return_value) == (1, 2)
    assert nft.getAsset(1).capacityW == 1
    assert nft.getAsset(2).capacityW == MAX_CAPACITY_W
    assert nft.getAsset(2).assetType == EnergyType.NATURAL_GAS
    assert nft.getAsset(2).commissionedAt == 1
    assert nft.assetCount() == 2


def test_only_an_authorized_operator_mints(nft, op, owner, meter, stranger, grid_management, admin, chain):
    args = (owner, 0, CAPACITY_W, REGION, chain.pending_timestamp - DAY, meter)
    with reverts(nft.NotGridOperator, caller=stranger.address):
        nft.mintAsset(*args, sender=stranger)
    grid_management.setOperatorAuthorization(op, False, sender=admin)  # suspended
    with reverts(nft.NotGridOperator, caller=op.address):
        nft.mintAsset(*args, sender=op)
    assert nft.assetCount() == 0
    assert nft.balanceOf(owner) == 0


def test_operator_mints_only_in_its_own_region(nft, other_region_operator, owner, meter, chain):
    with reverts(nft.OperatorRegionMismatch, caller=other_region_operator.address, operatorRegionId=OTHER_REGION, regionId=REGION):
        nft.mintAsset(owner, 0, CAPACITY_W, REGION, chain.pending_timestamp - DAY, meter, sender=other_region_operator)
    assert nft.assetCount() == 0


def test_mint_rejects_bad_asset_data(nft, op, owner, meter, chain):
    now = chain.pending_timestamp
    good = dict(to=owner, assetType=0, capacityW=CAPACITY_W, regionId=REGION, commissionedAt=now - DAY, meter=meter)

    def attempt(**changes):
        a = good | changes
        return nft.mintAsset(a["to"], a["assetType"], a["capacityW"], a["regionId"], a["commissionedAt"], a["meter"], sender=op)

    with reverts(nft.ZeroAddress):
        attempt(to=ZERO_ADDRESS)
    with reverts(nft.InvalidAssetType, assetType=7):
        attempt(assetType=7)
    with reverts(nft.InvalidAssetType, assetType=255):
        attempt(assetType=255)
    with reverts(nft.CapacityOutOfRange, capacityW=0, maxCapacityW=MAX_CAPACITY_W):
        attempt(capacityW=0)
    with reverts(nft.CapacityOutOfRange, capacityW=MAX_CAPACITY_W + 1, maxCapacityW=MAX_CAPACITY_W):
        attempt(capacityW=MAX_CAPACITY_W + 1)
    chain.pending_timestamp = now + 5
    with reverts(nft.CommissioningDateOutOfRange, commissionedAt=0, latest=now + 5):
        attempt(commissionedAt=0)
    chain.pending_timestamp = now + 10
    with reverts(nft.CommissioningDateOutOfRange, commissionedAt=now + 11, latest=now + 10):
        attempt(commissionedAt=now + 11)
    assert nft.assetCount() == 0


def test_mint_checks_the_meter_in_smart_meter(nft, op, owner, other, smart_meter, admin, chain):
    commissioned = chain.pending_timestamp - DAY

    def attempt(meter, to=owner):
        return nft.mintAsset(to, 0, CAPACITY_W, REGION, commissioned, meter, sender=op)

    unknown = Account.create().address
    with reverts(nft.MeterNotRegistered, meter=unknown):
        attempt(unknown)
    other_region = new_meter(smart_meter, admin, owner, OTHER_REGION)
    with reverts(nft.MeterRegionMismatch, meter=other_region, meterRegionId=OTHER_REGION, regionId=REGION):
        attempt(other_region)
    others = new_meter(smart_meter, admin, other)
    with reverts(nft.MeterOwnerMismatch, meter=others, meterOwner=other.address, to=owner.address):
        attempt(others)
    suspended = new_meter(smart_meter, admin, owner)
    smart_meter.deactivateMeter(suspended, sender=admin)
    with reverts(nft.MeterNotActive, meter=suspended):
        attempt(suspended)
    assert nft.assetCount() == 0

    linked = new_meter(smart_meter, admin, owner)
    attempt(linked)
    with reverts(nft.MeterAlreadyLinked, meter=linked, tokenId=1):
        attempt(linked)
    assert nft.assetCount() == 1


def test_views_of_an_unknown_asset_revert(nft, owner):
    for call in (
        lambda: nft.getAsset(1),
        lambda: nft.tokenURI(1),
        lambda: nft.controllerOf(1),
        lambda: nft.isMaintainer(1, owner),
        lambda: nft.maintainerEra(1),
        lambda: nft.maintenanceRecordCount(1),
        lambda: nft.getMaintenanceRecords(1, 0, 1),
        lambda: nft.getProductionHistory(1, 0, 1),
    ):
        with reverts(nft.ERC721NonexistentToken, tokenId=1):
            call()
    assert nft.assetOfMeter(owner) == 0


# ----------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("asset_type", list(EnergyType))
def test_token_uri_is_on_chain_json_a_wallet_shows(nft, op, owner, meter, chain, asset_type):
    token_id, commissioned_at, _ = mint(nft, op, owner, meter, chain, asset_type=asset_type, capacity_w=12_345)
    metadata = decode_token_uri(nft.tokenURI(token_id))
    name = TYPE_NAMES[asset_type]
    assert metadata == {
        "name": "Energy Asset #1",
        "description": f"{name} production asset of 12345 W in grid region {REGION}, metered by SmartMeter; "
        "production history and maintenance records on chain.",
        "attributes": [
            {"trait_type": "Type", "value": name},
            {"trait_type": "Capacity (W)", "display_type": "number", "value": 12_345},
            {"trait_type": "Region", "value": str(REGION)},
            {"trait_type": "Commissioned", "display_type": "date", "value": commissioned_at},
            {"trait_type": "Meter", "value": to_checksum_address(meter)},
        ],
    }


# ----------------------------------------------------------------------------- production history


def test_production_history_reads_the_meters_daily_export(nft, asset, meter, smart_meter, admin, chain):
    token_id, _ = asset
    day = chain.pending_timestamp // DAY + 1
    registers = 0

    def export(at: int, production_wh: int) -> None:
        nonlocal registers
        registers += production_wh
        chain.pending_timestamp = at
        smart_meter.submitReadings([meter], [(at, 0, registers, 50_000, 1_000)], sender=admin)

    export(day * DAY + 3_600, 1_000)
    export(day * DAY + 7_200, 500)
    export((day + 1) * DAY + 100, 2_500)
    export((day + 3) * DAY + 100, 100)
    history = nft.getProductionHistory(token_id, day - 1, MAX_HISTORY_DAYS)
    assert list(history) == [0, 1_500, 2_500, 0, 100, 0, 0]
    assert list(history) == [smart_meter.getDailyProduction(meter, day - 1 + i) for i in range(MAX_HISTORY_DAYS)]
    assert list(nft.getProductionHistory(token_id, day + 1, 1)) == [2_500]

    with reverts(nft.InvalidHistoryPage, count=0, maxCount=MAX_HISTORY_DAYS):
        nft.getProductionHistory(token_id, day, 0)
    with reverts(nft.InvalidHistoryPage, count=MAX_HISTORY_DAYS + 1, maxCount=MAX_HISTORY_DAYS):
        nft.getProductionHistory(token_id, day, MAX_HISTORY_DAYS + 1)

    # SmartMeter keeps 35 days: once the meter reads 40 days later, the old days have left its profile.
    export((day + 40) * DAY, 10)
    with reverts(smart_meter.IntervalNotRetained, meter=meter, interval=day * 96):
        nft.getProductionHistory(token_id, day, 1)
    far = 2**32 // 96 + 1
    with reverts(smart_meter.DayOutOfRange, day=far):
        nft.getProductionHistory(token_id, far, 1)


# ----------------------------------------------------------------------------- maintainers and records


def test_controller_authorizes_and_revokes_a_maintainer(nft, asset, owner, other, stranger, chain):
    token_id, _commissioned_at = asset
    tx = nft.setMaintainer(token_id, other, True, sender=owner)
    assert_logs(tx, log(nft.MaintainerSet, tokenId=token_id, controller=owner.address, account=other.address, authorized=True))
    assert nft.isMaintainer(token_id, other)
    assert not nft.isMaintainer(token_id, stranger)

    now = chain.pending_timestamp
    tx = nft.addMaintenanceRecord(token_id, Kind.INSPECTION, now - DAY, "Annual inspection: inverter OK", sender=other)
    assert tx.return_value == 0

    tx = nft.setMaintainer(token_id, other, False, sender=owner)
    assert_logs(tx, log(nft.MaintainerSet, tokenId=token_id, controller=owner.address, account=other.address, authorized=False))
    assert not nft.isMaintainer(token_id, other)
    with reverts(nft.NotAuthorizedMaintainer, tokenId=token_id, caller=other.address):
        nft.addMaintenanceRecord(token_id, Kind.CORRECTIVE, now - DAY, "x", sender=other)
    assert nft.maintenanceRecordCount(token_id) == 1


def test_only_the_controller_sets_maintainers(nft, asset, owner, other, stranger):
    token_id, _ = asset
    with reverts(nft.NotAssetController, tokenId=token_id, caller=stranger.address):
        nft.setMaintainer(token_id, stranger, True, sender=stranger)
    nft.setMaintainer(token_id, other, True, sender=owner)
    with reverts(nft.NotAssetController, tokenId=token_id, caller=other.address):
        nft.setMaintainer(token_id, stranger, True, sender=other)  # a maintainer cannot name maintainers
    with reverts(nft.ZeroAddress):
        nft.setMaintainer(token_id, ZERO_ADDRESS, True, sender=owner)
    assert not nft.isMaintainer(token_id, stranger)
    with reverts(nft.ERC721NonexistentToken, tokenId=99):
        nft.setMaintainer(99, other, True, sender=owner)


def test_maintenance_records_are_appended_and_listed(nft, asset, owner, other):
    token_id, commissioned_at = asset
    nft.setMaintainer(token_id, other, True, sender=owner)
    written = []
    for i, (who, kind, text) in enumerate(
        [
            (owner, Kind.INSPECTION, "Commissioning inspection"),
            (other, Kind.PREVENTIVE, "Panels cleaned, 48 modules"),
            (other, Kind.COMPONENT_REPLACEMENT, "String inverter replaced (SN 4711)"),
        ]
    ):
        performed_at = commissioned_at + i * DAY
        tx = nft.addMaintenanceRecord(token_id, kind, performed_at, text, sender=who)
        recorded_at = tx.timestamp
        assert tx.return_value == i
        assert_logs(
            tx,
            log(
                nft.MaintenanceRecorded,
                tokenId=token_id,
                recordIndex=i,
                recordedBy=who.address,
                kind=kind,
                performedAt=performed_at,
                description=text,
            ),
        )
        written.append(record(kind, performed_at, recorded_at, who, text))
    assert nft.maintenanceRecordCount(token_id) == 3

    def page(cursor, limit):
        return records_page(nft, token_id, cursor, limit)

    assert page(0, 2) == (written[:2], 2)
    assert page(2, 2) == (written[2:], 3)
    assert page(0, MAX_RECORDS_PAGE) == (written, 3)
    assert page(3, 1) == ([], 3)
    with reverts(nft.CursorOutOfRange, cursor=4, recordCount=3):
        nft.getMaintenanceRecords(token_id, 4, 1)
    with reverts(nft.InvalidPageSize, limit=0, maxLimit=MAX_RECORDS_PAGE):
        nft.getMaintenanceRecords(token_id, 0, 0)
    with reverts(nft.InvalidPageSize, limit=MAX_RECORDS_PAGE + 1, maxLimit=MAX_RECORDS_PAGE):
        nft.getMaintenanceRecords(token_id, 0, MAX_RECORDS_PAGE + 1)


def test_stranger_maintenance_is_rejected_and_writes_nothing(nft, asset, owner, stranger, chain):
    token_id, _ = asset
    with reverts(nft.NotAuthorizedMaintainer, tokenId=token_id, caller=stranger.address):
        nft.addMaintenanceRecord(token_id, Kind.CORRECTIVE, chain.pending_timestamp - DAY, "fake repair", sender=stranger)
    assert nft.maintenanceRecordCount(token_id) == 0
    assert records_page(nft, token_id, 0, 1) == ([], 0)


def test_maintenance_record_inputs_are_bounded(nft, asset, owner, chain):
    token_id, commissioned_at = asset
    now = chain.pending_timestamp
    chain.pending_timestamp = now  # a refused call is mined too: pinned, the chain stays at `now`
    with reverts(nft.InvalidMaintenanceKind, kind=5):
        nft.addMaintenanceRecord(token_id, 5, now - DAY, "x", sender=owner)
    chain.pending_timestamp = now
    with reverts(nft.MaintenanceDateOutOfRange, performedAt=commissioned_at - 1, earliest=commissioned_at, latest=now):
        nft.addMaintenanceRecord(token_id, Kind.INSPECTION, commissioned_at - 1, "x", sender=owner)
    chain.pending_timestamp = now + 10
    with reverts(nft.MaintenanceDateOutOfRange, performedAt=now + 11, earliest=commissioned_at, latest=now + 10):
        nft.addMaintenanceRecord(token_id, Kind.INSPECTION, now + 11, "x", sender=owner)
    with reverts(nft.InvalidDescriptionLength, lengthBytes=0, maxLengthBytes=MAX_DESCRIPTION_BYTES):
        nft.addMaintenanceRecord(token_id, Kind.INSPECTION, commissioned_at, "", sender=owner)
    with reverts(nft.InvalidDescriptionLength, lengthBytes=257, maxLengthBytes=MAX_DESCRIPTION_BYTES):
        nft.addMaintenanceRecord(token_id, Kind.INSPECTION, commissioned_at, "a" * 257, sender=owner)
    assert nft.maintenanceRecordCount(token_id) == 0
    # Both ends of every bound are accepted; a multi-byte character counts its UTF-8 bytes.
    chain.pending_timestamp = now + 20
    nft.addMaintenanceRecord(token_id, Kind.UPGRADE, commissioned_at, "é" * 128, sender=owner)
    chain.pending_timestamp = now + 30
    nft.addMaintenanceRecord(token_id, Kind.UPGRADE, now + 30, "b", sender=owner)
    records, _ = records_page(nft, token_id, 0, 2)
    assert [r["description"] for r in records] == ["é" * 128, "b"]
    assert [r["performedAt"] for r in records] == [commissioned_at, now + 30]
    with reverts(nft.ERC721NonexistentToken, tokenId=99):
        nft.addMaintenanceRecord(99, Kind.UPGRADE, now, "b", sender=owner)


def test_authorizations_do_not_survive_a_sale(nft, asset, owner, other, stranger, chain):
    token_id, _ = asset
    nft.setMaintainer(token_id, stranger, True, sender=owner)
    tx = nft.transferFrom(owner, other, token_id, sender=owner)
    assert_logs(
        tx,
        log(nft.Transfer, **{"from": owner.address, "to": other.address, "tokenId": token_id}),
        log(nft.MaintainersReset, tokenId=token_id, newController=other.address, era=1),
    )
    assert nft.controllerOf(token_id) == other.address
    assert nft.maintainerEra(token_id) == 1
    assert not nft.isMaintainer(token_id, stranger)
    now = chain.pending_timestamp
    with reverts(nft.NotAuthorizedMaintainer, tokenId=token_id, caller=stranger.address):
        nft.addMaintenanceRecord(token_id, Kind.INSPECTION, now, "still here?", sender=stranger)
    with reverts(nft.NotAuthorizedMaintainer, tokenId=token_id, caller=owner.address):
        nft.addMaintenanceRecord(token_id, Kind.INSPECTION, now, "former owner", sender=owner)
    with reverts(nft.NotAssetController, tokenId=token_id, caller=owner.address):
        nft.setMaintainer(token_id, stranger, True, sender=owner)
    # Sold back: a new era again, so the first owner's old authorization does not come back.
    nft.transferFrom(other, owner, token_id, sender=other)
    assert nft.maintainerEra(token_id) == 2
    assert not nft.isMaintainer(token_id, stranger)
    # A transfer to oneself changes no controller and keeps the era.
    tx = nft.transferFrom(owner, owner, token_id, sender=owner)
    assert nft.maintainerEra(token_id) == 2
    assert len(tx.events.filter(nft.MaintainersReset)) == 0


def test_split_keeps_the_controller_and_the_managers_authorizations(
    nft, asset_shares, asset, owner, other, stranger, chain
):
    token_id, _ = asset
    nft.setMaintainer(token_id, stranger, True, sender=owner)
    nft.approve(asset_shares, token_id, sender=owner)
    tx = asset_shares.split(token_id, 100, sender=owner)
    assert len(tx.events.filter(nft.MaintainersReset)) == 0
    assert nft.ownerOf(token_id) == asset_shares.address
    assert nft.controllerOf(token_id) == owner.address  # the manager: the owner who split it
    assert nft.isMaintainer(token_id, stranger)
    nft.addMaintenanceRecord(token_id, Kind.INSPECTION, chain.pending_timestamp, "after split", sender=stranger)

    # A new manager does not inherit the previous manager's maintainers, and names its own.
    asset_shares.setManager(token_id, other, sender=owner)
    assert nft.controllerOf(token_id) == other.address
    assert not nft.isMaintainer(token_id, stranger)
    with reverts(nft.NotAssetController, tokenId=token_id, caller=owner.address):
        nft.setMaintainer(token_id, stranger, True, sender=owner)
    nft.setMaintainer(token_id, stranger, True, sender=other)
    assert nft.isMaintainer(token_id, stranger)

    # The manager collects every share and recombines: it stays the controller, its maintainers stay.
    asset_shares.safeTransferFrom(owner, other, token_id, 100, b"", sender=owner)
    tx = asset_shares.recombine(token_id, sender=other)
    assert len(tx.events.filter(nft.MaintainersReset)) == 0
    assert nft.ownerOf(token_id) == other.address
    assert nft.maintainerEra(token_id) == 0
    assert nft.isMaintainer(token_id, stranger)


def test_recombination_by_another_holder_starts_a_new_era(nft, asset_shares, asset, owner, other, stranger):
    token_id, _ = asset
    nft.setMaintainer(token_id, stranger, True, sender=owner)
    nft.approve(asset_shares, token_id, sender=owner)
    asset_shares.split(token_id, 100, sender=owner)
    asset_shares.safeTransferFrom(owner, other, token_id, 100, b"", sender=owner)
    assert nft.controllerOf(token_id) == owner.address  # still the manager, holding no share
    tx = asset_shares.recombine(token_id, sender=other)
    assert_logs(
        tx,
        log(asset_shares.TransferSingle, operator=other.address, **{"from": other.address}, to=ZERO_ADDRESS, id=token_id, value=100),
        log(nft.Transfer, **{"from": asset_shares.address, "to": other.address, "tokenId": token_id}),
        log(nft.MaintainersReset, tokenId=token_id, newController=other.address, era=1),
        log(asset_shares.AssetRecombined, tokenId=token_id, holder=other.address, shareCount=100),
    )
    assert nft.controllerOf(token_id) == other.address
    assert not nft.isMaintainer(token_id, stranger)


def test_split_and_recombine_by_the_same_owner_keep_the_era(nft, asset_shares, asset, owner, stranger):
    token_id, _ = asset
    nft.setMaintainer(token_id, stranger, True, sender=owner)
    nft.setApprovalForAll(asset_shares, True, sender=owner)
    asset_shares.split(token_id, 10, sender=owner)
    tx = asset_shares.recombine(token_id, sender=owner)
    assert len(tx.events.filter(nft.MaintainersReset)) == 0
    assert nft.maintainerEra(token_id) == 0
    assert nft.isMaintainer(token_id, stranger)


def test_an_asset_enters_the_shares_contract_only_by_split(nft, asset_shares, asset, owner):
    token_id, _ = asset
    with reverts(nft.UnsolicitedTransferToShares, tokenId=token_id):
        nft.transferFrom(owner, asset_shares, token_id, sender=owner)
    assert nft.ownerOf(token_id) == owner.address


# ----------------------------------------------------------------------------- wiring the shares contract


def test_shares_contract_is_linked_once_by_the_admin(project, admin, smart_meter, grid_management, vault, asset_shares, stranger):
    fresh = project.EnergyAssetNFT.deploy(admin, smart_meter, grid_management, sender=admin)
    shares = project.EnergyAssetShares.deploy(admin, fresh, vault, sender=admin)
    with reverts(fresh.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
        fresh.setSharesContract(shares, sender=stranger)
    with reverts(fresh.ZeroAddress):
        fresh.setSharesContract(ZERO_ADDRESS, sender=admin)
    # asset_shares was deployed for the conftest NFT, not for this one.
    with reverts(fresh.SharesContractMismatch, sharesContract=asset_shares.address, assetNft=asset_shares.assetNft()):
        fresh.setSharesContract(asset_shares, sender=admin)
    assert fresh.sharesContract() == ZERO_ADDRESS
    tx = fresh.setSharesContract(shares, sender=admin)
    assert_logs(tx, log(fresh.SharesContractSet, sharesContract=shares.address))
    assert fresh.sharesContract() == shares.address
    with reverts(fresh.SharesContractAlreadySet, sharesContract=shares.address):
        fresh.setSharesContract(shares, sender=admin)


def test_admin_roles_are_openzeppelins(nft, admin, other, stranger):
    role = DEFAULT_ADMIN_ROLE
    assert nft.getRoleAdmin(role) == role
    tx = nft.grantRole(role, other, sender=admin)
    assert_logs(tx, log(nft.RoleGranted, role=role, account=other.address, sender=admin.address))
    tx = nft.revokeRole(role, other, sender=admin)
    assert_logs(tx, log(nft.RoleRevoked, role=role, account=other.address, sender=admin.address))
    nft.grantRole(role, other, sender=admin)
    with reverts(nft.AccessControlBadConfirmation):
        nft.renounceRole(role, other, sender=stranger)
    nft.renounceRole(role, other, sender=other)
    assert not nft.hasRole(role, other)
    with reverts(nft.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=role):
        nft.grantRole(role, stranger, sender=stranger)


def test_erc721_transfers_and_approvals_work_as_usual(nft, asset, owner, other, stranger, smart_meter):
    token_id, _ = asset
    tx = nft.approve(other, token_id, sender=owner)
    assert_logs(tx, log(nft.Approval, owner=owner.address, approved=other.address, tokenId=token_id))
    assert nft.getApproved(token_id) == other.address
    tx = nft.setApprovalForAll(stranger, True, sender=owner)
    assert_logs(tx, log(nft.ApprovalForAll, owner=owner.address, operator=stranger.address, approved=True))
    assert nft.isApprovedForAll(owner, stranger)
    with reverts(nft.ERC721InvalidOperator, operator=ZERO_ADDRESS):
        nft.setApprovalForAll(ZERO_ADDRESS, True, sender=owner)
    with reverts(nft.ERC721IncorrectOwner, sender=other.address, tokenId=token_id, owner=owner.address):
        nft.transferFrom(other, stranger, token_id, sender=other)
    with reverts(nft.ERC721InvalidReceiver, receiver=smart_meter.address):  # a contract that takes no NFTs
        nft.safeTransferFrom(owner, smart_meter, token_id, sender=other)
    with reverts(nft.ERC721InvalidOwner, owner=ZERO_ADDRESS):
        nft.balanceOf(ZERO_ADDRESS)
    nft.safeTransferFrom(owner, other, token_id, sender=other)
    assert nft.ownerOf(token_id) == other.address
    assert nft.controllerOf(token_id) == other.address
    with reverts(nft.ERC721InsufficientApproval, operator=stranger.address, tokenId=token_id):
        nft.transferFrom(other, stranger, token_id, sender=stranger)
