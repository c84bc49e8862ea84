"""Energy assets: EnergyAssetNFT (an ERC-721 per production asset) and EnergyAssetShares
(fractional ownership as ERC-1155 shares with pro-rata revenue)."""

from __future__ import annotations

from typing import NamedTuple

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from energy_grid.contracts.base import (
    ContractClient,
    decode_struct,
    decode_structs,
    require_amount,
    require_enum,
)
from energy_grid.contracts.structs import AssetInfo, MaintenanceRecord, RevenueInfo
from energy_grid.domain.enums import EnergyType, MaintenanceKind


class MaintenancePage(NamedTuple):
    records: list[MaintenanceRecord]
    next_cursor: int  # 0 = no more


class RevenueAccount(NamedTuple):
    claimed: int
    claimable: int
    fraction_magnified: int


class EnergyAssetNFT(ContractClient):
    def mint_asset(
        self,
        operator: LocalAccount,
        to: str,
        asset_type: int,
        capacity_w: int,
        region_id: int,
        commissioned_at: int,
        meter: str,
    ) -> int:
        """The region's operator mints an inspected asset linked to its meter; returns the token id."""
        kind = int(require_enum(EnergyType, asset_type))
        require_amount("capacity_w", capacity_w)
        receipt = self._send(operator, "mintAsset", to, kind, capacity_w, region_id, commissioned_at, meter)
        return self._id(receipt, "AssetMinted", "tokenId")

    def add_maintenance_record(self, maintainer: LocalAccount, token_id: int, kind: int, performed_at: int, description: str) -> int:
        """Returns the record's index."""
        what = int(require_enum(MaintenanceKind, kind))
        receipt = self._send(maintainer, "addMaintenanceRecord", token_id, what, performed_at, description)
        return self._id(receipt, "MaintenanceRecorded", "recordIndex")

    def set_maintainer(self, controller: LocalAccount, token_id: int, account: str, authorized: bool) -> TxReceipt:
        return self._send(controller, "setMaintainer", token_id, account, authorized)

    def approve(self, owner: LocalAccount, to: str, token_id: int) -> TxReceipt:
        return self._send(owner, "approve", to, token_id)

    def transfer_from(self, owner: LocalAccount, sender: str, to: str, token_id: int) -> TxReceipt:
        return self._send(owner, "transferFrom", sender, to, token_id)

    def get_approved(self, token_id: int) -> str:
        """The one account approved to move the asset NFT (the zero address: none)."""
        return str(self._call("getApproved", token_id))

    def is_approved_for_all(self, owner: str, operator: str) -> bool:
        """Whether `operator` may move every asset NFT of `owner`."""
        return bool(self._call("isApprovedForAll", owner, operator))

    def get_asset(self, token_id: int) -> AssetInfo:
        return decode_struct(AssetInfo, self._call("getAsset", token_id))

    def owner_of(self, token_id: int) -> str:
        return str(self._call("ownerOf", token_id))

    def controller_of(self, token_id: int) -> str:
        """The owner, or the shares contract's manager while the asset is split."""
        return str(self._call("controllerOf", token_id))

    def asset_of_meter(self, meter: str) -> int:
        return self._int("assetOfMeter", meter)

    def production_history_wh(self, token_id: int, from_day: int, day_count: int) -> list[int]:
        """Daily production of the linked meter, Wh per UTC day."""
        return [int(v) for v in self._call("getProductionHistory", token_id, from_day, day_count)]

    def maintenance_records(self, token_id: int, cursor: int = 0, limit: int = 50) -> MaintenancePage:
        records, next_cursor = self._call("getMaintenanceRecords", token_id, cursor, limit)
        return MaintenancePage(decode_structs(MaintenanceRecord, records), int(next_cursor))

    def asset_count(self) -> int:
        return self._int("assetCount")


class EnergyAssetShares(ContractClient):
    def split(self, owner: LocalAccount, token_id: int, share_count: int) -> TxReceipt:
        """Locks the asset NFT here and mints `share_count` shares to its owner."""
        require_amount("share_count", share_count)
        return self._send(owner, "split", token_id, share_count)

    def recombine(self, holder: LocalAccount, token_id: int) -> TxReceipt:
        """Whoever holds every share gets the NFT back."""
        return self._send(holder, "recombine", token_id)

    def deposit_revenue(self, depositor: LocalAccount, token_id: int, amount: int) -> TxReceipt:
        """Pays revenue in from the depositor's EnergyVault balance (the shares contract approved as
        its vault market first; a shortfall is pulled from its wallet if it allowed the vault the
        PaymentToken), claimable pro rata by today's holders."""
        require_amount("amount", amount)
        return self._send(depositor, "depositRevenue", token_id, amount)

    def claim_revenue(self, holder: LocalAccount, token_id: int) -> int:
        """Pays the holder's accrued revenue into its EnergyVault balance; returns the amount,
        PaymentToken base units."""
        receipt = self._send(holder, "claimRevenue", token_id)
        return sum(int(e["amount"]) for e in self.events(receipt, "RevenueClaimed"))

    def transfer_shares(self, holder: LocalAccount, to: str, token_id: int, amount: int) -> TxReceipt:
        require_amount("amount", amount)
        return self._send(holder, "safeTransferFrom", holder.address, to, token_id, amount, b"")

    def set_manager(self, manager: LocalAccount, token_id: int, new_manager: str) -> TxReceipt:
        return self._send(manager, "setManager", token_id, new_manager)

    def balance_of(self, account: str, token_id: int) -> int:
        return self._int("balanceOf", account, token_id)

    def total_shares(self, token_id: int) -> int:
        return self._int("totalShares", token_id)

    def claimable_revenue(self, token_id: int, account: str) -> int:
        return self._int("claimableRevenue", token_id, account)

    def revenue(self, token_id: int) -> RevenueInfo:
        return decode_struct(RevenueInfo, self._call("getRevenue", token_id))

    def revenue_account(self, token_id: int, account: str) -> RevenueAccount:
        return RevenueAccount(*(int(v) for v in self._call("getRevenueAccount", token_id, account)))

    def manager_of(self, token_id: int) -> str:
        return str(self._call("managerOf", token_id))
