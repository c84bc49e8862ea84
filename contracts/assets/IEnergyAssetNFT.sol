// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {IGridManagement} from "../grid/IGridManagement.sol";
import {InvalidPageSize, ZeroAddress} from "../utils/GridErrors.sol";

/// @title IEnergyAssetNFT
/// @notice One ERC-721 per energy production asset (a PV array, a wind
/// turbine...), minted by a verified grid operator of the asset's region after inspection and linked
/// to the SmartMeter meter that measures its export. It tracks production history (read from that
/// meter), stores maintenance records and manages per-asset maintenance permissions; fractional
/// ownership lives in EnergyAssetShares, which holds the NFT while the asset is split.
/// Units: power in W, energy in Wh, time in unix seconds, days as unix seconds / 86,400.
///
/// The asset's controller is its ERC-721 owner, except while EnergyAssetShares holds it (the asset
/// is split): then the manager EnergyAssetShares records (the account that split it, or whom that
/// manager or a holder of every share named). The controller adds maintenance records and names
/// maintainers for its asset. Maintainer authorizations belong to the controller that gave them and
/// to the current ownership era: an NFT transfer that changes the controller starts a new era, so no
/// authorization survives a sale. Splitting by the owner (who stays controller) keeps them.
///
/// Enum-like inputs arrive as uint8 and are checked with a custom error (an out-of-range enum argument
/// would revert in the ABI decoder without one).
interface IEnergyAssetNFT is IERC721Metadata {
    /// @notice What a maintenance record reports.
    enum MaintenanceKind {
        INSPECTION,
        PREVENTIVE,
        CORRECTIVE,
        COMPONENT_REPLACEMENT,
        UPGRADE
    }

    /// @notice A production asset.
    struct AssetInfo {
        IGridManagement.EnergyType assetType;
        uint256 capacityW; // nameplate power
        uint32 regionId; // grid region it is connected in (its meter's)
        uint256 commissionedAt; // unix s it entered service
        address meter; // SmartMeter meter measuring its export
        address inspectedBy; // grid operator who minted it after inspection
        uint256 mintedAt; // unix s of minting
    }

    /// @notice One maintenance record.
    struct MaintenanceRecord {
        MaintenanceKind kind;
        uint256 performedAt; // unix s the work was done
        uint256 recordedAt; // unix s the record was written
        address recordedBy; // the controller or a maintainer
        string description; // 1..MAX_DESCRIPTION_BYTES bytes
    }

    /// @notice `inspector`, a grid operator of `regionId`, minted asset `tokenId` to `owner`.
    /// @param tokenId The new asset's id, from 1.
    /// @param owner Who received the NFT: the owner of `meter`.
    /// @param meter The SmartMeter meter that measures the asset's export.
    /// @param assetType The asset's energy type.
    /// @param capacityW Its nameplate power, W.
    /// @param regionId The grid region it is connected in (its meter's).
    /// @param commissionedAt When it entered service, unix seconds.
    /// @param inspector The authorized GridManagement operator who inspected and minted it.
    event AssetMinted(
        uint256 indexed tokenId,
        address indexed owner,
        address indexed meter,
        IGridManagement.EnergyType assetType,
        uint256 capacityW,
        uint32 regionId,
        uint256 commissionedAt,
        address inspector
    );
    /// @notice `controller` authorized (`authorized`) or revoked `account` as a maintainer of `tokenId`.
    /// @param tokenId The asset.
    /// @param controller The asset's controller, who set it; the authorization is its own, in the current era.
    /// @param account The maintainer.
    /// @param authorized True when authorized, false when revoked.
    event MaintainerSet(uint256 indexed tokenId, address indexed controller, address indexed account, bool authorized);
    /// @notice A transfer changed the asset's controller: every maintainer authorization of the previous
    /// era lapsed; `era` is the new one.
    /// @param tokenId The asset.
    /// @param newController The controller from now on: the new owner, or the manager EnergyAssetShares
    /// records while it holds the asset.
    /// @param era The new authorization era, from 1.
    event MaintainersReset(uint256 indexed tokenId, address indexed newController, uint256 era);
    /// @notice `recordedBy` appended maintenance record `recordIndex` (from 0) to `tokenId`.
    /// @param tokenId The asset.
    /// @param recordIndex The record's index in the asset's records, from 0.
    /// @param recordedBy The controller or a maintainer it authorized.
    /// @param kind What the record reports.
    /// @param performedAt When the work was done, unix seconds.
    /// @param description The record's text, 1..MAX_DESCRIPTION_BYTES bytes.
    event MaintenanceRecorded(
        uint256 indexed tokenId,
        uint256 indexed recordIndex,
        address indexed recordedBy,
        MaintenanceKind kind,
        uint256 performedAt,
        string description
    );
    /// @notice The admin linked the fractional-shares contract (once).
    /// @param sharesContract The EnergyAssetShares contract linked.
    event SharesContractSet(address indexed sharesContract);

    /// @notice `caller` is not an authorized grid operator.
    /// @param caller The account that tried to mint.
    error NotGridOperator(address caller);
    /// @notice `caller` operates `operatorRegionId`, not the asset's `regionId`.
    /// @param caller The authorized operator that tried to mint.
    /// @param operatorRegionId The region it operates.
    /// @param regionId The region given for the asset.
    error OperatorRegionMismatch(address caller, uint32 operatorRegionId, uint32 regionId);
    /// @notice Not one of GridManagement's energy types (0 solar .. 6 natural gas).
    /// @param assetType The type given.
    error InvalidAssetType(uint256 assetType);
    /// @notice A capacity of zero or above MAX_CAPACITY_W.
    /// @param capacityW The nameplate power given, W.
    /// @param maxCapacityW MAX_CAPACITY_W, W.
    error CapacityOutOfRange(uint256 capacityW, uint256 maxCapacityW);
    /// @notice A commissioning date of zero or after `latest` (now).
    /// @param commissionedAt The date given, unix seconds.
    /// @param latest The block's timestamp, unix seconds.
    error CommissioningDateOutOfRange(uint256 commissionedAt, uint256 latest);
    /// @notice `meter` is not registered in SmartMeter.
    /// @param meter The meter given.
    error MeterNotRegistered(address meter);
    /// @notice `meter` is deactivated in SmartMeter.
    /// @param meter The meter given.
    error MeterNotActive(address meter);
    /// @notice `meter` is connected in `meterRegionId`, not the asset's `regionId`.
    /// @param meter The meter given.
    /// @param meterRegionId The region SmartMeter records for it.
    /// @param regionId The region given for the asset.
    error MeterRegionMismatch(address meter, uint32 meterRegionId, uint32 regionId);
    /// @notice `meter` belongs to `meterOwner`, not to the asset's future owner `to`.
    /// @param meter The meter given.
    /// @param meterOwner Its owner in SmartMeter.
    /// @param to The account the asset was to be minted to.
    error MeterOwnerMismatch(address meter, address meterOwner, address to);
    /// @notice `meter` measures asset `tokenId` already: one asset per meter.
    /// @param meter The meter given.
    /// @param tokenId The asset it is linked to.
    error MeterAlreadyLinked(address meter, uint256 tokenId);
    /// @notice `caller` is not the controller of `tokenId`.
    /// @param tokenId The asset.
    /// @param caller The account that tried to set a maintainer.
    error NotAssetController(uint256 tokenId, address caller);
    /// @notice `caller` is neither the controller of `tokenId` nor a maintainer it authorized.
    /// @param tokenId The asset.
    /// @param caller The account that tried to add a record.
    error NotAuthorizedMaintainer(uint256 tokenId, address caller);
    /// @notice Not one of the maintenance kinds (0 inspection .. 4 upgrade).
    /// @param kind The kind given.
    error InvalidMaintenanceKind(uint256 kind);
    /// @notice A maintenance date before the asset's commissioning (`earliest`) or after now (`latest`).
    /// @param performedAt The date given, unix seconds.
    /// @param earliest The asset's commissioning date, unix seconds.
    /// @param latest The block's timestamp, unix seconds.
    error MaintenanceDateOutOfRange(uint256 performedAt, uint256 earliest, uint256 latest);
    /// @notice A description that is empty or longer than `maxLengthBytes`.
    /// @param lengthBytes The description's length, bytes.
    /// @param maxLengthBytes MAX_DESCRIPTION_BYTES.
    error InvalidDescriptionLength(uint256 lengthBytes, uint256 maxLengthBytes);
    /// @notice A getMaintenanceRecords cursor above `recordCount` (a cursor equal to it gives an empty page).
    /// @param cursor The cursor given.
    /// @param recordCount The asset's number of records.
    error CursorOutOfRange(uint256 cursor, uint256 recordCount);
    /// @notice The shares contract is linked already.
    /// @param sharesContract The contract linked.
    error SharesContractAlreadySet(address sharesContract);
    /// @notice `sharesContract` was deployed for `assetNft`, not for this contract.
    /// @param sharesContract The contract given.
    /// @param assetNft The asset NFT it names (its assetNft()).
    error SharesContractMismatch(address sharesContract, address assetNft);
    /// @notice Asset `tokenId` may enter the shares contract only through its `split`.
    /// @param tokenId The asset transferred.
    error UnsolicitedTransferToShares(uint256 tokenId);

    /// @notice Mints an asset NFT to `to` (who owns `meter`). Only an authorized GridManagement operator of
    /// `regionId`, after inspecting the asset; `meter` must be registered and active in SmartMeter in
    /// `regionId`, owned by `to` and linked to no other asset; 0 < capacityW ≤ MAX_CAPACITY_W;
    /// 0 < commissionedAt ≤ now. Token ids count from 1.
    function mintAsset(
        address to,
        uint8 assetType,
        uint256 capacityW,
        uint32 regionId,
        uint256 commissionedAt,
        address meter
    ) external returns (uint256 tokenId);

    /// @notice Authorizes or revokes `account` as a maintainer of `tokenId`. The asset's controller only;
    /// the authorization lapses when a transfer changes the controller.
    function setMaintainer(uint256 tokenId, address account, bool authorized) external;

    /// @notice Appends a maintenance record to `tokenId` and returns its index (from 0). The controller or
    /// a maintainer it authorized; commissionedAt ≤ performedAt ≤ now; 1..MAX_DESCRIPTION_BYTES bytes.
    function addMaintenanceRecord(uint256 tokenId, uint8 kind, uint256 performedAt, string calldata description)
        external
        returns (uint256 recordIndex);

    /// @notice Links the fractional-shares contract; it must name this contract as its asset NFT.
    /// DEFAULT_ADMIN_ROLE only, once.
    function setSharesContract(address sharesContract_) external;

    function getAsset(uint256 tokenId) external view returns (AssetInfo memory);

    /// @notice Daily export of the asset's meter for `dayCount` (1..MAX_HISTORY_DAYS) UTC days from
    /// `fromDay`, read from SmartMeter's load profile; SmartMeter's errors (e.g. a day that left the
    /// profile) propagate.
    function getProductionHistory(uint256 tokenId, uint256 fromDay, uint256 dayCount)
        external
        view
        returns (uint256[] memory productionWh);

    /// @notice Up to `limit` (1..MAX_RECORDS_PAGE) records from index `cursor`, and the cursor of the next
    /// page (= recordCount when there is none).
    function getMaintenanceRecords(uint256 tokenId, uint256 cursor, uint256 limit)
        external
        view
        returns (MaintenanceRecord[] memory records, uint256 nextCursor);

    function maintenanceRecordCount(uint256 tokenId) external view returns (uint256);

    /// @notice The account that may maintain `tokenId` and name its maintainers (see the title notes).
    function controllerOf(uint256 tokenId) external view returns (address);

    /// @notice True when the current controller of `tokenId` authorized `account` in the current era.
    function isMaintainer(uint256 tokenId, address account) external view returns (bool);

    /// @notice The current authorization era of `tokenId` (starts at 0; +1 per controller change by transfer).
    function maintainerEra(uint256 tokenId) external view returns (uint256);

    /// @notice The asset measured by `meter`, or 0.
    function assetOfMeter(address meter) external view returns (uint256 tokenId);

    /// @notice Assets minted so far (the highest token id).
    function assetCount() external view returns (uint256);

    function sharesContract() external view returns (address);
}
