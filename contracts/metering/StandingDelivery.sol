// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {IMeteredMarket} from "./IMeteredMarket.sol";
import {IMarketZones} from "../market/IMarketZones.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";
import {MeteredEntries} from "./MeteredEntries.sol";
import {MeterProfile} from "./MeterProfile.sol";
import {MemoryArrays} from "../utils/MemoryArrays.sol";
import {StandingLimits, StandingLimitsLibrary} from "../types/StandingLimits.sol";
import {ZeroAddress} from "../utils/GridErrors.sol";

/// @title StandingDelivery
/// @notice This contract decides where a meter's export goes when its owner chooses the vault, and it
/// keeps the standing orders that trade the energy there. With vault delivery on, the export of an
/// accepted reading is minted into the vault and credited to the owner's balance there instead of being
/// sent to the owner's wallet. When the owner has also set standing limits, the reading goes on to the
/// reading market. That market places the interval's export as an ask and its import as a bid at those
/// limits, and it settles the meter's orders from two intervals before.
/// @dev A batch of readings gathers its vault credits and its market entries in one VaultBatch, so that
/// the whole batch makes one mint, one vault call and one market call. Consumption redemption lives here
/// as well. Import that a reading market's standing bids bought, or still bid for, is taken out of what
/// an owner may redeem, so that the same consumption is never covered twice.
abstract contract StandingDelivery is MeterProfile, EIP712 {
    // ----------------------------------------------------------------------------- constants

    /// @notice The EIP-712 type of an owner's signed standing limits, used by setStandingOrderBySig. When
    /// both prices are zero, the signed limits remove the standing order.
    bytes32 public constant STANDING_ORDER_TYPEHASH = keccak256(
        "StandingOrder(address meter,uint256 sellPricePerKWh,uint256 sellCapWh,uint256 buyPricePerKWh,uint256 buyCapWh,uint256 nonce,uint256 deadline)"
    );
    /// @notice The highest nonce invalidateStandingOrderNonces may set. It allows far more signed standing
    /// limits than an owner signs in its life, and it stays far below the nonce's own bound.
    uint256 public constant MAX_STANDING_ORDER_NONCE = type(uint32).max;
    /// @notice The largest number of reading markets the registry may name in its life. The standing
    /// orders in each of them stay settleable through settleStandingOrdersIn, and the import each of them
    /// retired counts at every redemption, so the list has to stay short.
    uint256 public constant MAX_READING_MARKETS = 8;

    // ----------------------------------------------------------------------------- storage

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

    IEnergyVault private _vault;
    IMeteredMarket private _readingMarket;
    /// @dev The reading market's place in `_readingMarkets` plus one (zero for none): the tag a meter's zone
    /// must carry to be used (MeterFlags). It shares the market's slot, which every batch with entries reads.
    uint8 private _readingMarketTag;
    mapping(address meter => StandingLimits) private _standing;
    mapping(address owner => uint256) private _standingOrderNonces;
    /// @dev Every reading market ever named, in the order named. It holds at most MAX_READING_MARKETS.
    address[] private _readingMarkets;

    // ----------------------------------------------------------------------------- vault and reading market

    /// @inheritdoc ISmartMeterRegistry
    function setVault(IEnergyVault vault_, address readingMarket_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(vault_) == address(0)) revert ZeroAddress();
        if (vault_.energyToken() != address(_energyToken)) revert VaultTokenMismatch(address(vault_));
        if (readingMarket_ != address(0)) {
            // A market that belongs to another vault or registry would fail every batch that holds a meter with limits.
            if (!_answers(readingMarket_, IMeteredMarket.vault.selector, address(vault_))) {
                revert ReadingMarketMismatch(readingMarket_);
            }
            if (!_answers(readingMarket_, IMeteredMarket.meterRegistry.selector, address(this))) {
                revert ReadingMarketMismatch(readingMarket_);
            }
            // So would a market that the vault does not let settle, because only the vault's registered
            // markets move balances.
            // slither-disable-next-line unused-return: only whether the vault registered the market matters here
            (bool registered,,) = vault_.marketInfo(readingMarket_);
            if (!registered) revert ReadingMarketMismatch(readingMarket_);
        }
        _vault = vault_;
        _readingMarket = IMeteredMarket(readingMarket_);
        // The meters' zones were taken from the market they were synced with; a zone synced with another
        // market names nothing here, so until its meter is synced again its readings trade on the bus.
        _readingMarketTag = readingMarket_ == address(0) ? 0 : uint8(_rememberReadingMarket(readingMarket_) + 1);
        emit VaultSet(address(vault_), readingMarket_);
    }

    /// @inheritdoc ISmartMeterRegistry
    function setVaultDelivery(address meter, bool enabled) external {
        Meter storage m = _ownMeter(meter);
        if (enabled && address(_vault) == address(0)) revert VaultNotSet();
        m.flags = m.flags.withVaultDelivery(enabled);
        emit VaultDeliverySet(meter, msg.sender, enabled);
    }

    // ----------------------------------------------------------------------------- standing limits

    /// @inheritdoc ISmartMeterRegistry
    function setStandingOrder(
        address meter,
        uint256 sellPricePerKWh,
        uint256 sellCapWh,
        uint256 buyPricePerKWh,
        uint256 buyCapWh
    ) external {
        Meter storage m = _ownMeter(meter);
        // A change the owner makes directly supersedes every signature the owner gave before.
        ++_standingOrderNonces[msg.sender];
        _applyStanding(meter, m, msg.sender, sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh);
    }

    /// @inheritdoc ISmartMeterRegistry
    function setStandingOrderBySig(
        address meter,
        uint256 sellPricePerKWh,
        uint256 sellCapWh,
        uint256 buyPricePerKWh,
        uint256 buyCapWh,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert StandingOrderSignatureExpired(meter, deadline);
        Meter storage m = _knownMeter(meter);
        address owner = _owners[m.ownerIndex];
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    STANDING_ORDER_TYPEHASH,
                    meter,
                    sellPricePerKWh,
                    sellCapWh,
                    buyPricePerKWh,
                    buyCapWh,
                    _standingOrderNonces[owner]++,
                    deadline
                )
            )
        );
        if (!SignatureChecker.isValidSignatureNow(owner, digest, signature)) {
            revert InvalidStandingOrderSignature(meter, owner);
        }
        _applyStanding(meter, m, owner, sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh);
    }

    /// @inheritdoc ISmartMeterRegistry
    function removeStandingOrder(address meter) external {
        _ownMeter(meter);
        ++_standingOrderNonces[msg.sender];
        _removeStanding(meter, msg.sender);
    }

    /// @inheritdoc ISmartMeterRegistry
    function invalidateStandingOrderNonces(uint256 newNonce) external {
        uint256 currentNonce = _standingOrderNonces[msg.sender];
        if (newNonce <= currentNonce || newNonce > MAX_STANDING_ORDER_NONCE) {
            revert StandingOrderNonceNotRaised(msg.sender, newNonce, currentNonce);
        }
        _standingOrderNonces[msg.sender] = newNonce;
        emit StandingOrderNoncesInvalidated(msg.sender, currentNonce, newNonce);
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
    function standingOrderNonces(address owner) external view returns (uint256) {
        return _standingOrderNonces[owner];
    }

    /// @inheritdoc ISmartMeterRegistry
    function vault() external view returns (IEnergyVault) {
        return _vault;
    }

    /// @inheritdoc ISmartMeterRegistry
    function readingMarket() external view returns (address) {
        return address(_readingMarket);
    }

    /// @inheritdoc ISmartMeterRegistry
    function readingMarkets() external view returns (address[] memory) {
        return _readingMarkets;
    }

    /// @inheritdoc ISmartMeterRegistry
    function syncMeterZone(address meter) external {
        Meter storage m = _knownMeter(meter);
        uint32 regionId = _accounts[meter].regionId;
        uint256 zone = 0;
        IMeteredMarket market = _readingMarket;
        if (address(market) != address(0)) {
            address zones = market.marketZones();
            if (zones != address(0)) zone = IMarketZones(zones).zoneOf(regionId);
        }
        m.zone = uint8(zone);
        m.flags = m.flags.withZoneTag(_readingMarketTag);
        emit MeterZoneSynced(meter, regionId, zone);
    }

    /// @inheritdoc ISmartMeterRegistry
    function meterZone(address meter) external view returns (uint256) {
        Meter storage m = _meters[meter];
        return _zoneFor(m, _readingMarketTag);
    }

    /// @inheritdoc ISmartMeterRegistry
    function getStandingOrder(address meter) external view returns (StandingOrder memory) {
        StandingLimits limits = _standing[meter];
        return StandingOrder(limits.sellPricePerKWh(), limits.sellCapWh(), limits.buyPricePerKWh(), limits.buyCapWh());
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
        // The owner's address is read once, through the index in the meter's record.
        address owner = _owners[m.ownerIndex];
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
        StandingLimits limits = _standing[meter];
        if (!limits.trades()) return;
        if (delivery.entries.length == 0) {
            delivery.entries = MeteredEntries.allocate(delivery.capacity);
            delivery.zoneTag = _readingMarketTag;
        }
        uint256 count = delivery.entryCount;
        uint256 zone = _zoneFor(m, delivery.zoneTag);
        MeteredEntries.setReading(delivery.entries, count, meter, owner, timestamp, exportWh, importWh, zone, limits);
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

    /// @dev Applies the rule that the direct and the signed form share. The limits must be in range. Then,
    /// if both prices are 0, the standing order is removed, because caps without a price trade nothing;
    /// any other limits are set.
    function _applyStanding(
        address meter,
        Meter storage m,
        address owner,
        uint256 sellPricePerKWh,
        uint256 sellCapWh,
        uint256 buyPricePerKWh,
        uint256 buyCapWh
    ) private {
        _checkLimit(sellPricePerKWh, type(uint96).max);
        _checkLimit(buyPricePerKWh, type(uint96).max);
        _checkLimit(sellCapWh, type(uint32).max);
        _checkLimit(buyCapWh, type(uint32).max);
        if (sellPricePerKWh == 0 && buyPricePerKWh == 0) _removeStanding(meter, owner);
        else _setStanding(meter, m, owner, sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh);
    }

    function _setStanding(
        address meter,
        Meter storage m,
        address owner,
        uint256 sellPricePerKWh,
        uint256 sellCapWh,
        uint256 buyPricePerKWh,
        uint256 buyCapWh
    ) private {
        if (address(_readingMarket) == address(0)) revert NoReadingMarket();
        _standing[meter] = StandingLimitsLibrary.pack(sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh);
        // Standing orders trade the energy held in the vault, so the meter delivers there from now on.
        if (!m.flags.vaultDelivery()) {
            m.flags = m.flags.withVaultDelivery(true);
            emit VaultDeliverySet(meter, owner, true);
        }
        emit StandingOrderSet(meter, owner, sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh);
    }

    function _removeStanding(address meter, address owner) private {
        _standing[meter] = StandingLimits.wrap(0);
        emit StandingOrderRemoved(meter, owner);
    }

    function _checkLimit(uint256 value, uint256 maxValue) private pure {
        if (value > maxValue) revert StandingOrderOutOfRange(value, maxValue);
    }

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

    /// @dev The meter's zone in the reading market whose tag is `tag`: the zone it was synced with there, or
    /// the bus if it was synced with another market (or never).
    function _zoneFor(Meter memory m, uint256 tag) private pure returns (uint256) {
        return m.flags.zoneTag() == tag ? m.zone : 0;
    }

    /// @dev Adds `market` to the list of reading markets named, unless it is already there; returns its place.
    function _rememberReadingMarket(address market) private returns (uint256 index) {
        uint256 count = _readingMarkets.length;
        for (; index < count; ++index) {
            if (_readingMarkets[index] == market) return index;
        }
        if (count == MAX_READING_MARKETS) revert TooManyReadingMarkets(MAX_READING_MARKETS);
        _readingMarkets.push(market);
    }

    function _isReadingMarket(address market) private view returns (bool) {
        uint256 count = _readingMarkets.length;
        for (uint256 i; i < count; ++i) {
            if (_readingMarkets[i] == market) return true;
        }
        return false;
    }

    /// @dev Returns whether `target` answers the argument-less view `selector` with `expected`. It returns
    /// false for an account without code, for a call that reverts and for an answer that is not one word.
    function _answers(address target, bytes4 selector, address expected) private view returns (bool) {
        // slither-disable-next-line low-level-calls: a market that does not implement the view must count as a mismatch instead of reverting without a reason
        (bool ok, bytes memory answer) = target.staticcall(abi.encodeWithSelector(selector));
        return ok && answer.length == 32 && abi.decode(answer, (uint256)) == uint256(uint160(expected));
    }
}
