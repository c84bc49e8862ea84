// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {IMeteredMarket} from "./IMeteredMarket.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";
import {MeteredEntries} from "./MeteredEntries.sol";
import {MeterProfile} from "./MeterProfile.sol";
import {MemoryArrays} from "../utils/MemoryArrays.sol";
import {OwnerAndLimits} from "../types/OwnerAndLimits.sol";

/// @title StandingDelivery
/// @notice This contract decides where a meter's export goes when its owner chooses the vault, and it
/// keeps the standing orders that trade the energy there. With vault delivery on, the export of an
/// accepted reading is minted into the vault and credited to the owner's balance there instead of being
/// sent to the owner's wallet. When the owner has also set standing limits, the reading goes on to the
/// reading market. That market places the interval's export as an ask and its import as a bid at those
/// limits, and it settles the meter's orders from two intervals before.
/// @dev A batch of readings gathers its vault credits and its market entries in one VaultBatch, so that
/// the whole batch makes one mint, one vault call and one market call. The settings that the admin and
/// the owners change now and then (the vault and the reading market, vault delivery, the standing
/// limits and the meters' zones) are served from the SmartMeter's extension, on the same storage
/// (MeterStorage). Consumption redemption lives here as well. Import that a reading market's standing bids bought, or still bid for, is taken out of what
/// an owner may redeem, so that the same consumption is never covered twice.
abstract contract StandingDelivery is MeterProfile, EIP712 {
    // ----------------------------------------------------------------------------- a batch's delivery

    /// @dev The accepted readings of a batch whose energy goes into the vault. They are credited in one
    /// call and handed on to the reading market in one more.
    struct VaultBatch {
        address[] owners; // The owners credited in the vault.
        uint256[] exportWh;
        uint256 creditCount;
        uint256 totalExportWh;
        uint256[] entries; // The MeteredEntries of meters with standing limits, for the reading market.
        uint256 entryCount;
        uint256 capacity; // The batch's size. The arrays are allocated at the batch's first vault delivery.
        uint256 zoneTag; // The reading market's zone tag (MeterFlags), read with the batch's first entry.
    }

    // ----------------------------------------------------------------------------- settlement of meters that stopped reading

    /// @inheritdoc ISmartMeterRegistry
    function settleStandingOrders(address[] calldata meters) external {
        _checkBatchSize(meters.length);
        IMeteredMarket market = _readingMarket;
        if (address(market) == address(0)) revert NoReadingMarket();
        _settleIn(market, meters);
    }

    /// @inheritdoc ISmartMeterRegistry
    function settleStandingOrdersIn(address readingMarket_, address[] calldata meters) external {
        _checkBatchSize(meters.length);
        if (!_isReadingMarket(readingMarket_)) revert UnknownReadingMarket(readingMarket_);
        _settleIn(IMeteredMarket(readingMarket_), meters);
    }

    // ----------------------------------------------------------------------------- consumption redemption

    /// @inheritdoc ISmartMeterRegistry
    function redeemConsumption(address meter, uint256 amountWh) external {
        _ownMeter(meter);
        if (amountWh == 0) revert ZeroRedemption();
        (uint256 consumedWh,,) = getMeteredEnergy(meter);
        Account storage account = _accounts[meter];
        uint256 redeemableWh = _unredeemedWh(meter, consumedWh - account.redeemedConsumptionWh);
        if (amountWh > redeemableWh) revert RedemptionExceedsConsumption(meter, amountWh, redeemableWh);
        // This cannot overflow, because amountWh <= consumed <= MAX_REGISTER_WH < 2^64.
        account.redeemedConsumptionWh += uint64(amountWh);
        emit ConsumptionRedeemed(meter, msg.sender, amountWh);
        _energyToken.retire(msg.sender, amountWh);
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc ISmartMeterRegistry
    function vault() external view returns (IEnergyVault) {
        return _vault;
    }

    /// @inheritdoc ISmartMeterRegistry
    function readingMarket() external view returns (address) {
        return address(_readingMarket);
    }

    // ----------------------------------------------------------------------------- delivery of a batch of readings

    /// @dev Returns an empty batch whose arrays are allocated only when a reading needs them, so that a
    /// batch of meters that deliver to wallets allocates nothing.
    function _newVaultBatch(uint256 size) internal pure returns (VaultBatch memory delivery) {
        delivery.capacity = size;
    }

    /// @dev Adds a reading delivered to the vault. Its export is credited, and if the meter has standing
    /// limits the reading also goes on to the reading market. It goes on even without energy, because
    /// it then settles what is due.
    function _addDelivery(
        VaultBatch memory delivery,
        address meter,
        Meter memory m,
        uint256 timestamp,
        uint256 exportWh,
        uint256 importWh
    ) internal view {
        // A meter with standing limits keeps its owner's address beside them; any other meter's owner is read
        // through the index in its record.
        OwnerAndLimits standing = _standing[meter];
        bool trades = standing.trades();
        address owner = trades ? standing.owner() : _owners[m.ownerIndex];
        if (exportWh != 0) {
            if (delivery.owners.length == 0) {
                delivery.owners = new address[](delivery.capacity);
                delivery.exportWh = new uint256[](delivery.capacity);
            }
            uint256 credits = delivery.creditCount;
            delivery.owners[credits] = owner;
            delivery.exportWh[credits] = exportWh;
            delivery.creditCount = credits + 1;
            delivery.totalExportWh += exportWh;
        }
        // Even a reading with no energy goes on, because it settles the meter's orders from two intervals before.
        if (!trades) return;
        if (delivery.entries.length == 0) {
            delivery.entries = MeteredEntries.allocate(delivery.capacity);
            delivery.zoneTag = _readingMarketTag;
        }
        uint256 count = delivery.entryCount;
        uint256 zone = _zoneFor(m, delivery.zoneTag);
        MeteredEntries.setReading(
            delivery.entries, count, meter, owner, timestamp, exportWh, importWh, zone, standing.limits()
        );
        // This cannot overflow, because the count is at most the batch's size.
        unchecked {
            delivery.entryCount = count + 1;
        }
    }

    /// @dev Mints the batch's export into the vault, credits it to the owners there, and hands the
    /// readings of meters with standing limits to the reading market, which places their orders.
    function _deliver(VaultBatch memory delivery) internal {
        uint256 credits = delivery.creditCount;
        if (credits != 0) {
            address[] memory owners = delivery.owners;
            uint256[] memory amountsWh = delivery.exportWh;
            MemoryArrays.shorten(owners, credits);
            MemoryArrays.shorten(amountsWh, credits);
            IEnergyVault vault_ = _vault;
            _energyToken.mint(address(vault_), delivery.totalExportWh);
            vault_.creditArrived(address(_energyToken), owners, amountsWh);
        }
        uint256 count = delivery.entryCount;
        if (count == 0) return;
        IMeteredMarket market = _readingMarket;
        // Without a reading market the limits have nowhere to trade. The readings stay credited and place
        // nothing, so that no meter's limits can stop the batch.
        if (address(market) == address(0)) return;
        MeteredEntries.record(market, delivery.entries, count);
    }

    /// @dev Hands `market` one settlement entry per meter. The caller has already checked the batch's size.
    function _settleIn(IMeteredMarket market, address[] calldata meters) private {
        uint256 size = meters.length;
        uint256[] memory entries = MeteredEntries.allocate(size);
        for (uint256 i; i < size; ++i) {
            address meter = meters[i];
            MeteredEntries.setSettlement(entries, i, meter, _owners[_knownMeter(meter).ownerIndex]);
        }
        MeteredEntries.record(market, entries, size);
    }

    // ----------------------------------------------------------------------------- internals

    /// @dev Returns what is left of `leftWh`, the metered import not yet redeemed, once the import that
    /// standing bids in any reading market ever named bought (and retired) or still bid for is taken
    /// out. This way the same consumption is never covered twice.
    function _unredeemedWh(address meter, uint256 leftWh) private view returns (uint256) {
        uint256 count = _readingMarkets.length;
        for (uint256 i; i < count; ++i) {
            // slither-disable-next-line calls-loop: there are at most MAX_READING_MARKETS markets, each named by the admin and checked when named
            uint256 coveredWh = IMeteredMarket(_readingMarkets[i]).coveredConsumptionWh(meter);
            if (coveredWh >= leftWh) return 0;
            leftWh -= coveredWh;
        }
        return leftWh;
    }

    function _isReadingMarket(address market) private view returns (bool) {
        uint256 count = _readingMarkets.length;
        for (uint256 i; i < count; ++i) {
            if (_readingMarkets[i] == market) return true;
        }
        return false;
    }
}
