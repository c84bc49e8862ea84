// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Base64} from "@openzeppelin/contracts/utils/Base64.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {IEnergyAssetNFT} from "./IEnergyAssetNFT.sol";
import {IEnergyAssetShares} from "./IEnergyAssetShares.sol";
import {IGridManagement} from "../grid/IGridManagement.sol";
import {ISmartMeterRegistry} from "../metering/ISmartMeterRegistry.sol";
import {InvalidHistoryPage, InvalidPageSize, ZeroAddress} from "../utils/GridErrors.sol";

/// @title EnergyAssetNFT
/// @notice One ERC-721 per energy production asset, minted by a grid operator of its region after
/// inspection and linked to the meter that measures it; production history from that meter,
/// maintenance records, per-asset maintainers, on-chain metadata. See IEnergyAssetNFT.
contract EnergyAssetNFT is ERC721, AccessControl, IEnergyAssetNFT {
    using Strings for uint256;

    /// @notice Largest nameplate capacity: 25 GW, above the largest power station (GridManagement's MAX_POWER_W).
    uint256 public constant MAX_CAPACITY_W = 25e9;
    /// @notice Most days in one getProductionHistory page. Each day sums SmartMeter's 96 profile slots,
    /// so a week is about 700 cold storage reads (≈ 1.6 M gas): within any RPC node's eth_call cap and
    /// still affordable for another contract reading it in a transaction.
    uint256 public constant MAX_HISTORY_DAYS = 7;
    /// @notice Longest maintenance description, bytes (each 32 bytes is one more storage slot).
    uint256 public constant MAX_DESCRIPTION_BYTES = 256;
    /// @notice Most records in one getMaintenanceRecords page.
    uint256 public constant MAX_RECORDS_PAGE = 50;

    struct Asset {
        address meter; // 0 = no such asset
        uint40 commissionedAt;
        uint32 regionId;
        IGridManagement.EnergyType assetType;
        address inspectedBy;
        uint40 mintedAt;
        uint40 capacityW; // ≤ MAX_CAPACITY_W < 2^40
    }

    struct StoredRecord {
        MaintenanceKind kind;
        uint40 performedAt;
        uint40 recordedAt;
        address recordedBy;
        string description;
    }

    ISmartMeterRegistry private immutable _smartMeter;
    IGridManagement private immutable _gridManagement;
    IEnergyAssetShares private _shares;
    uint256 private _assetCount;
    mapping(uint256 tokenId => Asset) private _assets;
    mapping(address meter => uint256 tokenId) private _assetOfMeter;
    mapping(uint256 tokenId => StoredRecord[]) private _records;
    mapping(uint256 tokenId => uint256) private _eras;
    /// @dev Keyed by era and by the controller that gave the authorization, so neither a sale (new era)
    /// nor a change of manager while split (other controller) carries authorizations over.
    mapping(uint256 tokenId => mapping(uint256 era => mapping(address controller => mapping(address => bool))))
        private _maintainers;

    constructor(address admin, ISmartMeterRegistry smartMeter_, IGridManagement gridManagement_)
        ERC721("Energy Asset", "EASSET")
    {
        if (admin == address(0) || address(smartMeter_) == address(0) || address(gridManagement_) == address(0)) {
            revert ZeroAddress();
        }
        _smartMeter = smartMeter_;
        _gridManagement = gridManagement_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ----------------------------------------------------------------------------- minting

    /// @inheritdoc IEnergyAssetNFT
    function mintAsset(
        address to,
        uint8 assetType,
        uint256 capacityW,
        uint32 regionId,
        uint256 commissionedAt,
        address meter
    ) external returns (uint256 tokenId) {
        (bool authorized, uint32 operatorRegionId) = _gridManagement.operatorStatus(msg.sender);
        if (!authorized) revert NotGridOperator(msg.sender);
        if (operatorRegionId != regionId) revert OperatorRegionMismatch(msg.sender, operatorRegionId, regionId);
        if (to == address(0)) revert ZeroAddress();
        if (assetType > uint8(type(IGridManagement.EnergyType).max)) revert InvalidAssetType(assetType);
        if (capacityW == 0 || capacityW > MAX_CAPACITY_W) revert CapacityOutOfRange(capacityW, MAX_CAPACITY_W);
        if (commissionedAt == 0 || commissionedAt > block.timestamp) {
            revert CommissioningDateOutOfRange(commissionedAt, block.timestamp);
        }
        _checkMeter(meter, to, regionId);

        tokenId = ++_assetCount;
        _assets[tokenId] = Asset({
            meter: meter,
            commissionedAt: uint40(commissionedAt),
            regionId: regionId,
            assetType: IGridManagement.EnergyType(assetType),
            inspectedBy: msg.sender,
            mintedAt: uint40(block.timestamp),
            capacityW: uint40(capacityW)
        });
        _assetOfMeter[meter] = tokenId;
        // Not _safeMint: the operator mints to the meter's owner, who need not be able to call back.
        _mint(to, tokenId);
        emit AssetMinted(
            tokenId, to, meter, IGridManagement.EnergyType(assetType), capacityW, regionId, commissionedAt, msg.sender
        );
    }

    /// @dev SmartMeter's own errors are replaced by this contract's, so a caller decodes them from one ABI.
    function _checkMeter(address meter, address to, uint32 regionId) private view {
        uint256 linked = _assetOfMeter[meter];
        if (linked != 0) revert MeterAlreadyLinked(meter, linked);
        // A revert in the success block is not caught: only getMeter's own failure maps to MeterNotRegistered.
        try _smartMeter.getMeter(meter) returns (ISmartMeterRegistry.MeterInfo memory info) {
            if (!info.active) revert MeterNotActive(meter);
            if (info.regionId != regionId) revert MeterRegionMismatch(meter, info.regionId, regionId);
            if (info.owner != to) revert MeterOwnerMismatch(meter, info.owner, to);
        } catch {
            revert MeterNotRegistered(meter);
        }
    }

    // ----------------------------------------------------------------------------- maintenance

    /// @inheritdoc IEnergyAssetNFT
    function setMaintainer(uint256 tokenId, address account, bool authorized) external {
        address controller = controllerOf(tokenId);
        if (msg.sender != controller) revert NotAssetController(tokenId, msg.sender);
        if (account == address(0)) revert ZeroAddress();
        _maintainers[tokenId][_eras[tokenId]][controller][account] = authorized;
        emit MaintainerSet(tokenId, controller, account, authorized);
    }

    /// @inheritdoc IEnergyAssetNFT
    function addMaintenanceRecord(uint256 tokenId, uint8 kind, uint256 performedAt, string calldata description)
        external
        returns (uint256 recordIndex)
    {
        address controller = controllerOf(tokenId);
        if (msg.sender != controller && !_maintainers[tokenId][_eras[tokenId]][controller][msg.sender]) {
            revert NotAuthorizedMaintainer(tokenId, msg.sender);
        }
        if (kind > uint8(type(MaintenanceKind).max)) revert InvalidMaintenanceKind(kind);
        uint256 commissionedAt = _assets[tokenId].commissionedAt;
        if (performedAt < commissionedAt || performedAt > block.timestamp) {
            revert MaintenanceDateOutOfRange(performedAt, commissionedAt, block.timestamp);
        }
        uint256 length = bytes(description).length;
        if (length == 0 || length > MAX_DESCRIPTION_BYTES) {
            revert InvalidDescriptionLength(length, MAX_DESCRIPTION_BYTES);
        }
        recordIndex = _records[tokenId].length;
        _records[tokenId].push(
            StoredRecord(MaintenanceKind(kind), uint40(performedAt), uint40(block.timestamp), msg.sender, description)
        );
        emit MaintenanceRecorded(tokenId, recordIndex, msg.sender, MaintenanceKind(kind), performedAt, description);
    }

    // ----------------------------------------------------------------------------- wiring

    /// @inheritdoc IEnergyAssetNFT
    function setSharesContract(address sharesContract_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(_shares) != address(0)) revert SharesContractAlreadySet(address(_shares));
        if (sharesContract_ == address(0)) revert ZeroAddress();
        address linkedNft = IEnergyAssetShares(sharesContract_).assetNft();
        if (linkedNft != address(this)) revert SharesContractMismatch(sharesContract_, linkedNft);
        _shares = IEnergyAssetShares(sharesContract_);
        emit SharesContractSet(sharesContract_);
    }

    /// @dev Starts a new authorization era when a transfer changes the controller, and lets the asset
    /// into the shares contract only through its split (which records the manager first), so an asset
    /// can never sit there without a controller.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = _ownerOf(tokenId);
        address shares = address(_shares);
        if (to == shares && shares != address(0) && _shares.managerOf(tokenId) == address(0)) {
            revert UnsolicitedTransferToShares(tokenId);
        }
        address previousController = from == address(0) ? address(0) : _controllerFor(from, tokenId, shares);
        super._update(to, tokenId, auth);
        if (from == address(0)) return from;
        address newController = _controllerFor(to, tokenId, shares);
        if (newController != previousController) {
            uint256 era = ++_eras[tokenId];
            emit MaintainersReset(tokenId, newController, era);
        }
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc IEnergyAssetNFT
    function controllerOf(uint256 tokenId) public view returns (address) {
        return _controllerFor(_requireOwned(tokenId), tokenId, address(_shares));
    }

    function _controllerFor(address owner, uint256 tokenId, address shares) private view returns (address) {
        return owner == shares ? _shares.managerOf(tokenId) : owner;
    }

    /// @inheritdoc IEnergyAssetNFT
    function isMaintainer(uint256 tokenId, address account) external view returns (bool) {
        return _maintainers[tokenId][_eras[tokenId]][controllerOf(tokenId)][account];
    }

    /// @inheritdoc IEnergyAssetNFT
    function maintainerEra(uint256 tokenId) external view returns (uint256) {
        _requireOwned(tokenId);
        return _eras[tokenId];
    }

    /// @inheritdoc IEnergyAssetNFT
    function getAsset(uint256 tokenId) external view returns (AssetInfo memory) {
        _requireOwned(tokenId);
        Asset storage a = _assets[tokenId];
        return AssetInfo(a.assetType, a.capacityW, a.regionId, a.commissionedAt, a.meter, a.inspectedBy, a.mintedAt);
    }

    /// @inheritdoc IEnergyAssetNFT
    function getProductionHistory(uint256 tokenId, uint256 fromDay, uint256 dayCount)
        external
        view
        returns (uint256[] memory productionWh)
    {
        _requireOwned(tokenId);
        if (dayCount == 0 || dayCount > MAX_HISTORY_DAYS) revert InvalidHistoryPage(dayCount, MAX_HISTORY_DAYS);
        address meter = _assets[tokenId].meter;
        productionWh = new uint256[](dayCount);
        for (uint256 i; i < dayCount; ++i) {
            // slither-disable-next-line calls-loop: a view page of at most MAX_HISTORY_DAYS reads from the immutable SmartMeter
            productionWh[i] = _smartMeter.getDailyProduction(meter, fromDay + i);
        }
    }

    /// @inheritdoc IEnergyAssetNFT
    function getMaintenanceRecords(uint256 tokenId, uint256 cursor, uint256 limit)
        external
        view
        returns (MaintenanceRecord[] memory records, uint256 nextCursor)
    {
        _requireOwned(tokenId);
        if (limit == 0 || limit > MAX_RECORDS_PAGE) revert InvalidPageSize(limit, MAX_RECORDS_PAGE);
        StoredRecord[] storage stored = _records[tokenId];
        uint256 count = stored.length;
        if (cursor > count) revert CursorOutOfRange(cursor, count);
        uint256 size = count - cursor < limit ? count - cursor : limit;
        records = new MaintenanceRecord[](size);
        for (uint256 i; i < size; ++i) {
            StoredRecord storage r = stored[cursor + i];
            records[i] = MaintenanceRecord(r.kind, r.performedAt, r.recordedAt, r.recordedBy, r.description);
        }
        nextCursor = cursor + size;
    }

    /// @inheritdoc IEnergyAssetNFT
    function maintenanceRecordCount(uint256 tokenId) external view returns (uint256) {
        _requireOwned(tokenId);
        return _records[tokenId].length;
    }

    /// @inheritdoc IEnergyAssetNFT
    function assetOfMeter(address meter) external view returns (uint256 tokenId) {
        return _assetOfMeter[meter];
    }

    /// @inheritdoc IEnergyAssetNFT
    function assetCount() external view returns (uint256) {
        return _assetCount;
    }

    /// @inheritdoc IEnergyAssetNFT
    function sharesContract() external view returns (address) {
        return address(_shares);
    }

    /// @notice The SmartMeter registry the assets' meters are read from.
    function smartMeter() external view returns (ISmartMeterRegistry) {
        return _smartMeter;
    }

    /// @notice The GridManagement whose operators mint assets.
    function gridManagement() external view returns (IGridManagement) {
        return _gridManagement;
    }

    // ----------------------------------------------------------------------------- metadata

    /// @notice ERC-721 metadata as an on-chain JSON data URI: name, description and wallet attributes
    /// (type, capacity in W, region, commissioning date as a date, linked meter). Only fields fixed at
    /// minting appear, so the metadata never changes.
    function tokenURI(uint256 tokenId) public view override(ERC721, IERC721Metadata) returns (string memory) {
        _requireOwned(tokenId);
        Asset storage a = _assets[tokenId];
        string memory typeName = _typeName(a.assetType);
        string memory capacity = uint256(a.capacityW).toString();
        string memory region = uint256(a.regionId).toString();
        string memory json = string.concat(
            '{"name":"Energy Asset #',
            tokenId.toString(),
            '","description":"',
            string.concat(typeName, " production asset of ", capacity, " W in grid region ", region),
            ', metered by SmartMeter; production history and maintenance records on chain.","attributes":[',
            string.concat('{"trait_type":"Type","value":"', typeName, '"},'),
            string.concat('{"trait_type":"Capacity (W)","display_type":"number","value":', capacity, "},"),
            string.concat('{"trait_type":"Region","value":"', region, '"},'),
            string.concat(
                '{"trait_type":"Commissioned","display_type":"date","value":',
                uint256(a.commissionedAt).toString(),
                "},"
            ),
            string.concat('{"trait_type":"Meter","value":"', Strings.toChecksumHexString(a.meter), '"}]}')
        );
        return string.concat("data:application/json;base64,", Base64.encode(bytes(json)));
    }

    function _typeName(IGridManagement.EnergyType assetType) private pure returns (string memory) {
        if (assetType == IGridManagement.EnergyType.SOLAR) return "Solar";
        if (assetType == IGridManagement.EnergyType.WIND) return "Wind";
        if (assetType == IGridManagement.EnergyType.HYDRO) return "Hydro";
        if (assetType == IGridManagement.EnergyType.NUCLEAR) return "Nuclear";
        if (assetType == IGridManagement.EnergyType.GEOTHERMAL) return "Geothermal";
        if (assetType == IGridManagement.EnergyType.BIOMASS) return "Biomass";
        return "Natural gas";
    }

    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC721, AccessControl, IERC165)
        returns (bool)
    {
        return super.supportsInterface(interfaceId);
    }
}
