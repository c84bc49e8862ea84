// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IMarketZones} from "../market/IMarketZones.sol";
import {IMeteredMarket} from "./IMeteredMarket.sol";
import {ISmartMeterExtension} from "./ISmartMeterExtension.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";
import {MeterStorage} from "./MeterStorage.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {EnergyTime} from "../utils/EnergyTime.sol";
import {MeterFlagsLibrary} from "../types/MeterFlags.sol";
import {OwnerAndLimits, OwnerAndLimitsLibrary} from "../types/OwnerAndLimits.sol";
import {StandingLimits} from "../types/StandingLimits.sol";
import {MeterInactive, ZeroAddress} from "../utils/GridErrors.sol";

/// @title SmartMeterExtension
/// @notice The meter registry's rarely called functions, kept out of the SmartMeter's own code so that it
/// stays well under the code-size limit, as Balancer's vault keeps its extension: the operator registers,
/// deactivates and reactivates meters, the admin sets the two bounds that every reading is checked
/// against and the vault and reading market, the owners choose vault delivery and set their standing
/// limits, and the regions' views. The SmartMeter calls this contract by delegatecall for every function
/// it does not hold, so each of these runs on the SmartMeter's storage (MeterStorage, which both inherit)
/// at the SmartMeter's address, and its roles are the SmartMeter's.
/// @dev Called directly, at its own address, the extension has no meters and refuses every call
/// (NotThroughSmartMeter).
contract SmartMeterExtension is MeterStorage, ISmartMeterExtension {
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

    /// @dev This contract's own address, which a delegatecall never runs at.
    address private immutable _self;

    constructor() {
        _self = address(this);
    }

    modifier throughSmartMeter() {
        if (address(this) == _self) revert NotThroughSmartMeter();
        _;
    }

    // ----------------------------------------------------------------------------- registration

    /// @inheritdoc ISmartMeterExtension
    function registerMeter(address meter, address owner, uint32 regionId)
        external
        throughSmartMeter
        onlyRole(OPERATOR_ROLE)
    {
        _register(meter, owner, regionId, true);
        emit ISmartMeterRegistry.MeterRegistered(meter, owner, regionId, 0, 0);
    }

    /// @inheritdoc ISmartMeterExtension
    function registerMeter(
        address meter,
        address owner,
        uint32 regionId,
        uint256 consumptionRegisterWh,
        uint256 productionRegisterWh
    ) external throughSmartMeter onlyRole(OPERATOR_ROLE) {
        _checkRegister(meter, consumptionRegisterWh);
        _checkRegister(meter, productionRegisterWh);
        Meter storage m = _register(meter, owner, regionId, false);
        // The registers at installation are the meter's baseline: its first reading counts from them.
        m.lastReadingAt = uint40(block.timestamp);
        m.consumptionRegisterWh = uint48(consumptionRegisterWh);
        m.productionRegisterWh = uint48(productionRegisterWh);
        Account storage account = _accounts[meter];
        account.uncountedConsumptionWh = uint64(consumptionRegisterWh);
        account.uncountedProductionWh = uint64(productionRegisterWh);
        emit ISmartMeterRegistry.MeterRegistered(meter, owner, regionId, consumptionRegisterWh, productionRegisterWh);
    }

    /// @inheritdoc ISmartMeterExtension
    function deactivateMeter(address meter) external throughSmartMeter onlyRole(OPERATOR_ROLE) {
        Meter storage m = _knownMeter(meter);
        if (!m.flags.isActive()) revert MeterInactive(meter);
        m.flags = m.flags.deactivated();
        emit ISmartMeterRegistry.MeterDeactivated(meter);
    }

    /// @inheritdoc ISmartMeterExtension
    function reactivateMeter(address meter) external throughSmartMeter onlyRole(OPERATOR_ROLE) {
        Meter storage m = _knownMeter(meter);
        if (m.flags.isActive()) revert ISmartMeterRegistry.MeterAlreadyActive(meter);
        m.flags = m.flags.reactivated();
        emit ISmartMeterRegistry.MeterReactivated(meter);
    }

    // ----------------------------------------------------------------------------- reading bounds

    /// @inheritdoc ISmartMeterExtension
    function setMinReadingInterval(uint256 secondsBetweenReadings)
        external
        throughSmartMeter
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (secondsBetweenReadings > EnergyTime.INTERVAL_SECONDS) {
            revert ISmartMeterRegistry.MinReadingIntervalTooLong(secondsBetweenReadings, EnergyTime.INTERVAL_SECONDS);
        }
        uint256 previousSeconds = _readingLimits.minIntervalSeconds;
        // The value fits 32 bits, because it is at most INTERVAL_SECONDS.
        _readingLimits.minIntervalSeconds = uint32(secondsBetweenReadings);
        emit ISmartMeterRegistry.MinReadingIntervalUpdated(previousSeconds, secondsBetweenReadings);
    }

    /// @inheritdoc ISmartMeterExtension
    function setMaxReadingAge(uint256 maxAgeSeconds) external throughSmartMeter onlyRole(DEFAULT_ADMIN_ROLE) {
        if (maxAgeSeconds < MAX_READING_AGE_FLOOR_SECONDS || maxAgeSeconds > MAX_READING_AGE_CEILING_SECONDS) {
            revert ISmartMeterRegistry.MaxReadingAgeOutOfRange(
                maxAgeSeconds, MAX_READING_AGE_FLOOR_SECONDS, MAX_READING_AGE_CEILING_SECONDS
            );
        }
        uint256 previousSeconds = _readingLimits.maxAgeSeconds;
        // The value fits 32 bits, because it is at most 35 days.
        _readingLimits.maxAgeSeconds = uint32(maxAgeSeconds);
        emit ISmartMeterRegistry.MaxReadingAgeUpdated(previousSeconds, maxAgeSeconds);
    }

    // ----------------------------------------------------------------------------- vault and reading market

    /// @inheritdoc ISmartMeterExtension
    function setVault(IEnergyVault vault_, address readingMarket_)
        external
        throughSmartMeter
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (address(vault_) == address(0)) revert ZeroAddress();
        // The token is the SmartMeter's, asked at its own address, which this code runs at.
        if (vault_.energyToken() != address(ISmartMeterRegistry(address(this)).energyToken())) {
            revert ISmartMeterRegistry.VaultTokenMismatch(address(vault_));
        }
        if (readingMarket_ != address(0)) {
            // A market that belongs to another vault or registry would fail every batch that holds a meter with limits.
            if (!_answers(readingMarket_, IMeteredMarket.vault.selector, address(vault_))) {
                revert ISmartMeterRegistry.ReadingMarketMismatch(readingMarket_);
            }
            if (!_answers(readingMarket_, IMeteredMarket.meterRegistry.selector, address(this))) {
                revert ISmartMeterRegistry.ReadingMarketMismatch(readingMarket_);
            }
            // So would a market that the vault does not let settle, because only the vault's registered
            // markets move balances.
            // slither-disable-next-line unused-return: only whether the vault registered the market matters here
            (bool registered,,) = vault_.marketInfo(readingMarket_);
            if (!registered) revert ISmartMeterRegistry.ReadingMarketMismatch(readingMarket_);
        }
        _vault = vault_;
        _readingMarket = IMeteredMarket(readingMarket_);
        // The meters' zones were taken from the market they were synced with; a zone synced with another
        // market names nothing here, so until its meter is synced again its readings trade on the bus.
        _readingMarketTag = readingMarket_ == address(0) ? 0 : uint8(_rememberReadingMarket(readingMarket_) + 1);
        emit ISmartMeterRegistry.VaultSet(address(vault_), readingMarket_);
    }

    /// @inheritdoc ISmartMeterExtension
    function setVaultDelivery(address meter, bool enabled) external throughSmartMeter {
        Meter storage m = _ownMeter(meter);
        if (enabled && address(_vault) == address(0)) revert ISmartMeterRegistry.VaultNotSet();
        m.flags = m.flags.withVaultDelivery(enabled);
        emit ISmartMeterRegistry.VaultDeliverySet(meter, msg.sender, enabled);
    }

    /// @inheritdoc ISmartMeterExtension
    function syncMeterZone(address meter) external throughSmartMeter {
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
        emit ISmartMeterRegistry.MeterZoneSynced(meter, regionId, zone);
    }

    // ----------------------------------------------------------------------------- standing limits

    /// @inheritdoc ISmartMeterExtension
    function setStandingOrder(
        address meter,
        uint256 sellPricePerKWh,
        uint256 sellCapWh,
        uint256 buyPricePerKWh,
        uint256 buyCapWh
    ) external throughSmartMeter {
        Meter storage m = _ownMeter(meter);
        // A change the owner makes directly supersedes every signature the owner gave before.
        ++_standingOrderNonces[msg.sender];
        _applyStanding(meter, m, msg.sender, sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh);
    }

    /// @inheritdoc ISmartMeterExtension
    function setStandingOrderBySig(
        address meter,
        uint256 sellPricePerKWh,
        uint256 sellCapWh,
        uint256 buyPricePerKWh,
        uint256 buyCapWh,
        uint256 deadline,
        bytes calldata signature
    ) external throughSmartMeter {
        if (block.timestamp > deadline) revert ISmartMeterRegistry.StandingOrderSignatureExpired(meter, deadline);
        Meter storage m = _knownMeter(meter);
        address owner = _owners[m.ownerIndex];
        bytes32 structHash = keccak256(
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
        );
        // The signing domain is the SmartMeter's, the one its signed readings are checked against too.
        bytes32 digest =
            MessageHashUtils.toTypedDataHash(ISmartMeterRegistry(address(this)).DOMAIN_SEPARATOR(), structHash);
        if (!SignatureChecker.isValidSignatureNow(owner, digest, signature)) {
            revert ISmartMeterRegistry.InvalidStandingOrderSignature(meter, owner);
        }
        _applyStanding(meter, m, owner, sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh);
    }

    /// @inheritdoc ISmartMeterExtension
    function removeStandingOrder(address meter) external throughSmartMeter {
        _ownMeter(meter);
        ++_standingOrderNonces[msg.sender];
        _removeStanding(meter, msg.sender);
    }

    /// @inheritdoc ISmartMeterExtension
    function invalidateStandingOrderNonces(uint256 newNonce) external throughSmartMeter {
        uint256 currentNonce = _standingOrderNonces[msg.sender];
        if (newNonce <= currentNonce || newNonce > MAX_STANDING_ORDER_NONCE) {
            revert ISmartMeterRegistry.StandingOrderNonceNotRaised(msg.sender, newNonce, currentNonce);
        }
        _standingOrderNonces[msg.sender] = newNonce;
        emit ISmartMeterRegistry.StandingOrderNoncesInvalidated(msg.sender, currentNonce, newNonce);
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc ISmartMeterExtension
    function regionMeterCount(uint32 regionId) external view throughSmartMeter returns (uint256) {
        return _regionMeterCounts[regionId];
    }

    /// @inheritdoc ISmartMeterExtension
    function regionMeterIndex(address meter) external view throughSmartMeter returns (uint256) {
        _knownMeter(meter);
        return _accounts[meter].regionIndex;
    }

    /// @inheritdoc ISmartMeterExtension
    function minReadingInterval() external view throughSmartMeter returns (uint256) {
        return _readingLimits.minIntervalSeconds;
    }

    /// @inheritdoc ISmartMeterExtension
    function maxReadingAge() external view throughSmartMeter returns (uint256) {
        return _readingLimits.maxAgeSeconds;
    }

    /// @inheritdoc ISmartMeterExtension
    function standingOrderNonces(address owner) external view throughSmartMeter returns (uint256) {
        return _standingOrderNonces[owner];
    }

    /// @inheritdoc ISmartMeterExtension
    function getStandingOrder(address meter)
        external
        view
        throughSmartMeter
        returns (ISmartMeterRegistry.StandingOrder memory)
    {
        StandingLimits limits = _standing[meter].limits();
        return ISmartMeterRegistry.StandingOrder(
            limits.sellPricePerKWh(), limits.sellCapWh(), limits.buyPricePerKWh(), limits.buyCapWh()
        );
    }

    /// @inheritdoc ISmartMeterExtension
    function meterZone(address meter) external view throughSmartMeter returns (uint256) {
        return _zoneFor(_meters[meter], _readingMarketTag);
    }

    /// @inheritdoc ISmartMeterExtension
    function readingMarkets() external view throughSmartMeter returns (address[] memory) {
        return _readingMarkets;
    }

    // ----------------------------------------------------------------------------- internals

    /// @dev Records a new meter: its owner (by index, a new owner taking the next one), its flags, its
    /// cell in the load profile (the next in registration order) and its place in its region.
    function _register(address meter, address owner, uint32 regionId, bool awaitingBaseline)
        private
        returns (Meter storage m)
    {
        if (meter == address(0)) revert ISmartMeterRegistry.InvalidMeterAddress();
        if (owner == address(0)) revert ISmartMeterRegistry.InvalidOwnerAddress();
        m = _meters[meter];
        if (m.ownerIndex != 0) revert ISmartMeterRegistry.MeterAlreadyRegistered(meter);
        uint256 ownerIndex = _ownerIndices[owner];
        if (ownerIndex == 0) {
            ownerIndex = ++_ownerCount;
            _ownerIndices[owner] = ownerIndex;
            _owners[ownerIndex] = owner;
        }
        // Each registration costs tens of thousands of gas, so neither count reaches 2^32 on any chain.
        m.ownerIndex = uint32(ownerIndex);
        m.cell = uint32(_meterCount++);
        m.flags = MeterFlagsLibrary.registered(awaitingBaseline);
        Account storage account = _accounts[meter];
        account.regionId = regionId;
        account.regionIndex = uint32(_regionMeterCounts[regionId]++);
    }

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
        if (address(_readingMarket) == address(0)) revert ISmartMeterRegistry.NoReadingMarket();
        OwnerAndLimits standing = OwnerAndLimitsLibrary.store(owner, sellPricePerKWh, sellCapWh, buyPricePerKWh, buyCapWh);
        _standing[meter] = standing;
        // Standing orders trade the energy held in the vault, so the meter delivers there from now on.
        if (!m.flags.vaultDelivery()) {
            m.flags = m.flags.withVaultDelivery(true);
            emit ISmartMeterRegistry.VaultDeliverySet(meter, owner, true);
        }
        // The limits as stored, which may be rounded (OwnerAndLimits).
        StandingLimits limits = standing.limits();
        emit ISmartMeterRegistry.StandingOrderSet(
            meter, owner, limits.sellPricePerKWh(), limits.sellCapWh(), limits.buyPricePerKWh(), limits.buyCapWh()
        );
    }

    function _removeStanding(address meter, address owner) private {
        _standing[meter] = OwnerAndLimits.wrap(0);
        emit ISmartMeterRegistry.StandingOrderRemoved(meter, owner);
    }

    function _checkLimit(uint256 value, uint256 maxValue) private pure {
        if (value > maxValue) revert ISmartMeterRegistry.StandingOrderOutOfRange(value, maxValue);
    }

    /// @dev Adds `market` to the list of reading markets named, unless it is already there; returns its place.
    function _rememberReadingMarket(address market) private returns (uint256 index) {
        uint256 count = _readingMarkets.length;
        for (; index < count; ++index) {
            if (_readingMarkets[index] == market) return index;
        }
        if (count == MAX_READING_MARKETS) revert ISmartMeterRegistry.TooManyReadingMarkets(MAX_READING_MARKETS);
        _readingMarkets.push(market);
    }

    /// @dev Returns whether `target` answers the argument-less view `selector` with `expected`. It returns
    /// false for an account without code, for a call that reverts and for an answer that is not one word.
    function _answers(address target, bytes4 selector, address expected) private view returns (bool) {
        // slither-disable-next-line low-level-calls: a market that does not implement the view must count as a mismatch instead of reverting without a reason
        (bool ok, bytes memory answer) = target.staticcall(abi.encodeWithSelector(selector));
        return ok && answer.length == 32 && abi.decode(answer, (uint256)) == uint256(uint160(expected));
    }
}
