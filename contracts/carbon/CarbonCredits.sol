// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ICarbonCredits} from "./ICarbonCredits.sol";
import {IGridManagement} from "../grid/IGridManagement.sol";
import {ISmartMeterRegistry} from "../metering/ISmartMeterRegistry.sol";
import {
    BatchTooLarge,
    EmptyBatch,
    InvalidEnergyType,
    InvalidPageLimit,
    MeterInactive,
    OperatorNotAuthorized,
    ZeroAddress
} from "../utils/GridErrors.sol";

/// @title CarbonCredits
/// @notice Avoided-emission credits (one unit = one gram CO2e, 6 decimals = tonnes) minted only for
/// the export SmartMeter counted on a meter a regional grid operator registered as a clean producer.
/// Nobody supplies a number: the energy comes from SmartMeter, the factor from the admin (bounded),
/// and issuing is open to anyone because the result does not depend on who calls.
/// @dev Per meter, `issuedThroughWh` is a high-water mark on SmartMeter's counted production
/// (getMeteredEnergy), which never decreases, so each Wh is credited at most once. Wh × g/kWh is
/// milligrams; the sub-gram rest is kept in milligrams, a real mass, so it stays valid when the
/// factor changes.
contract CarbonCredits is ERC20, ERC20Permit, AccessControl, ICarbonCredits {
    /// @notice Largest avoided-emission factor: twice a coal plant's ~1,000 g/kWh.
    uint256 public constant MAX_GRAMS_CO2E_PER_KWH = 2000;
    /// @notice Largest reason of a retirement, bytes.
    uint256 public constant MAX_REASON_BYTES = 256;
    /// @notice Largest single retirement: 2^64 - 1 g, about 18,000 Gt, centuries of world emissions.
    uint256 public constant MAX_RETIREMENT_GRAMS = type(uint64).max;
    /// @notice Most retirements in one getRetirements page.
    uint256 public constant MAX_PAGE_LIMIT = 100;
    /// @notice The most meters one issueCarbonCreditsBatch call may carry.
    uint256 public constant MAX_ISSUE_BATCH = 100;

    string private constant NAME = "Energy Grid Avoided-Emission Credit";

    /// @dev A meter's record. The first slot is all an issue reads and writes.
    struct Producer {
        bool registered;
        IGridManagement.EnergyType energyType;
        uint40 registeredAt; // unix s; 0 = never registered
        uint64 issuedThroughWh; // SmartMeter counted production credited up to
        uint16 remainderMilligrams; // < 1000
        uint72 totalIssuedGrams; // ≤ 2 × 2^64 Wh across registrations at ≤ 2,000 g/kWh
        // --- second slot, written only at registration
        uint64 registeredFromWh; // counted production at registration
    }

    /// @dev A retirement: two slots and the reason.
    struct StoredRetirement {
        address retiree; // 0 = no such retirement
        uint64 amountGrams; // ≤ MAX_RETIREMENT_GRAMS
        // --- second slot
        address beneficiary;
        uint40 retiredAt; // unix s
        string reason;
    }

    /// @dev A count and a sum in one slot: 2^64 retirements of at most 2^64 g each fit in 192 bits.
    struct RetirementTotals {
        uint64 count;
        uint192 grams;
    }

    ISmartMeterRegistry private immutable _smartMeter;
    IGridManagement private immutable _gridManagement;
    uint256 private _gramsCo2ePerKWh;
    RetirementTotals private _totals;
    mapping(address meter => Producer) private _producers;
    mapping(uint256 retirementId => StoredRetirement) private _retirements;
    mapping(address beneficiary => RetirementTotals) private _beneficiaryTotals;
    mapping(address beneficiary => mapping(uint256 index => uint256 retirementId)) private _retirementIdsOf;

    constructor(
        address admin,
        ISmartMeterRegistry smartMeter_,
        IGridManagement gridManagement_,
        uint256 avoidedEmissionGramsPerKWh
    ) ERC20(NAME, "tCO2e") ERC20Permit(NAME) {
        if (admin == address(0) || address(smartMeter_) == address(0) || address(gridManagement_) == address(0)) {
            revert ZeroAddress();
        }
        _checkFactor(avoidedEmissionGramsPerKWh);
        _smartMeter = smartMeter_;
        _gridManagement = gridManagement_;
        _gramsCo2ePerKWh = avoidedEmissionGramsPerKWh;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice 6 decimals: one unit is one gram, so a wallet shows tonnes.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    // ----------------------------------------------------------------------------- producers

    /// @inheritdoc ICarbonCredits
    function registerCleanEnergyProducer(address meter, uint8 energyType) external {
        ISmartMeterRegistry.MeterInfo memory info = _checkOperatorOf(meter);
        if (energyType > uint8(type(IGridManagement.EnergyType).max)) revert InvalidEnergyType(energyType);
        if (!isCleanEnergyType(energyType)) revert EnergyTypeNotClean(energyType);
        if (!info.active) revert MeterInactive(meter);
        Producer storage p = _producers[meter];
        if (p.registered) revert AlreadyCleanEnergyProducer(meter);
        uint64 countedWh = _countedProductionWh(meter);
        p.registered = true;
        p.energyType = IGridManagement.EnergyType(energyType);
        p.registeredAt = uint40(block.timestamp);
        p.issuedThroughWh = countedWh;
        p.remainderMilligrams = 0;
        p.registeredFromWh = countedWh;
        emit CleanEnergyProducerRegistered(meter, msg.sender, IGridManagement.EnergyType(energyType), countedWh);
    }

    /// @inheritdoc ICarbonCredits
    function deregisterCleanEnergyProducer(address meter) external {
        _checkOperatorOf(meter);
        Producer storage p = _producers[meter];
        if (!p.registered) revert NotCleanEnergyProducer(meter);
        uint256 unissuedWh = _countedProductionWh(meter) - p.issuedThroughWh;
        p.registered = false;
        p.remainderMilligrams = 0;
        emit CleanEnergyProducerDeregistered(meter, msg.sender, unissuedWh);
    }

    // ----------------------------------------------------------------------------- issuing

    /// @inheritdoc ICarbonCredits
    function issueCarbonCredits(address meter) external returns (uint256 grams) {
        return _issue(meter);
    }

    /// @inheritdoc ICarbonCredits
    function issueCarbonCreditsBatch(address[] calldata meters) external returns (uint256[] memory grams) {
        uint256 count = meters.length;
        if (count == 0) revert EmptyBatch();
        if (count > MAX_ISSUE_BATCH) revert BatchTooLarge(count, MAX_ISSUE_BATCH);
        grams = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            grams[i] = _issue(meters[i]);
        }
    }

    /// @inheritdoc ICarbonCredits
    function setAvoidedEmissionFactor(uint256 gramsCo2ePerKWh) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkFactor(gramsCo2ePerKWh);
        emit AvoidedEmissionFactorUpdated(_gramsCo2ePerKWh, gramsCo2ePerKWh);
        _gramsCo2ePerKWh = gramsCo2ePerKWh;
    }

    // ----------------------------------------------------------------------------- credits

    /// @inheritdoc ICarbonCredits
    function transferCarbonCredits(address to, uint256 amountGrams) external returns (bool) {
        _transfer(msg.sender, to, amountGrams);
        return true;
    }

    /// @inheritdoc ICarbonCredits
    function retire(uint256 amountGrams, address beneficiary, string calldata reason)
        external
        returns (uint256 retirementId)
    {
        if (amountGrams == 0) revert ZeroRetirement();
        if (amountGrams > MAX_RETIREMENT_GRAMS) revert RetirementTooLarge(amountGrams, MAX_RETIREMENT_GRAMS);
        if (beneficiary == address(0)) revert ZeroBeneficiary();
        uint256 reasonBytes = bytes(reason).length;
        if (reasonBytes == 0 || reasonBytes > MAX_REASON_BYTES) {
            revert InvalidRetirementReason(reasonBytes, MAX_REASON_BYTES);
        }
        _burn(msg.sender, amountGrams);
        // Neither sum can overflow: each term is ≤ 2^64 and there are fewer than 2^64 of them.
        RetirementTotals memory totals = _totals;
        retirementId = ++totals.count;
        totals.grams += uint192(amountGrams);
        _totals = totals;
        RetirementTotals memory mine = _beneficiaryTotals[beneficiary];
        _retirementIdsOf[beneficiary][mine.count] = retirementId;
        ++mine.count;
        mine.grams += uint192(amountGrams);
        _beneficiaryTotals[beneficiary] = mine;
        _retirements[retirementId] =
            StoredRetirement(msg.sender, uint64(amountGrams), beneficiary, uint40(block.timestamp), reason);
        emit CarbonCreditsRetired(retirementId, msg.sender, beneficiary, amountGrams, reason);
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc ICarbonCredits
    function getCarbonCreditsBalance(address account) external view returns (uint256 grams) {
        return balanceOf(account);
    }

    /// @inheritdoc ICarbonCredits
    function isCleanEnergyProducer(address meter) external view returns (bool) {
        return _producers[meter].registered;
    }

    /// @inheritdoc ICarbonCredits
    function isCleanEnergyType(uint8 energyType) public pure returns (bool) {
        return energyType == uint8(IGridManagement.EnergyType.SOLAR)
            || energyType == uint8(IGridManagement.EnergyType.WIND) || energyType == uint8(IGridManagement.EnergyType.HYDRO)
            || energyType == uint8(IGridManagement.EnergyType.GEOTHERMAL);
    }

    /// @inheritdoc ICarbonCredits
    function getCleanEnergyProducer(address meter) external view returns (CleanProducerInfo memory) {
        Producer memory p = _producers[meter];
        return CleanProducerInfo(
            p.registered,
            p.energyType,
            p.registeredAt,
            p.registeredFromWh,
            p.issuedThroughWh,
            p.remainderMilligrams,
            p.totalIssuedGrams
        );
    }

    /// @inheritdoc ICarbonCredits
    function pendingWh(address meter) external view returns (uint256) {
        Producer memory p = _producers[meter];
        if (!p.registered) return 0;
        return _countedProductionWh(meter) - p.issuedThroughWh;
    }

    /// @inheritdoc ICarbonCredits
    function avoidedEmissionFactor() external view returns (uint256 gramsCo2ePerKWh) {
        return _gramsCo2ePerKWh;
    }

    /// @inheritdoc ICarbonCredits
    function getRetirement(uint256 retirementId) public view returns (Retirement memory) {
        StoredRetirement storage r = _retirements[retirementId];
        if (r.retiree == address(0)) revert RetirementNotFound(retirementId);
        return Retirement(retirementId, r.retiree, r.beneficiary, r.amountGrams, r.retiredAt, r.reason);
    }

    /// @inheritdoc ICarbonCredits
    function getRetirements(address beneficiary, uint256 cursor, uint256 limit)
        external
        view
        returns (Retirement[] memory page, uint256 nextCursor)
    {
        if (limit == 0 || limit > MAX_PAGE_LIMIT) revert InvalidPageLimit(limit, MAX_PAGE_LIMIT);
        uint256 count = _beneficiaryTotals[beneficiary].count;
        uint256 size = cursor >= count ? 0 : count - cursor;
        if (size > limit) size = limit;
        page = new Retirement[](size);
        mapping(uint256 => uint256) storage ids = _retirementIdsOf[beneficiary];
        for (uint256 i; i < size; ++i) {
            page[i] = getRetirement(ids[cursor + i]);
        }
        nextCursor = cursor + size;
    }

    /// @inheritdoc ICarbonCredits
    function retirementCount() external view returns (uint256) {
        return _totals.count;
    }

    /// @inheritdoc ICarbonCredits
    function retirementCountOf(address beneficiary) external view returns (uint256) {
        return _beneficiaryTotals[beneficiary].count;
    }

    /// @inheritdoc ICarbonCredits
    function totalRetired() external view returns (uint256 grams) {
        return _totals.grams;
    }

    /// @inheritdoc ICarbonCredits
    function totalRetiredFor(address beneficiary) external view returns (uint256 grams) {
        return _beneficiaryTotals[beneficiary].grams;
    }

    /// @inheritdoc ICarbonCredits
    function smartMeter() external view returns (address) {
        return address(_smartMeter);
    }

    /// @inheritdoc ICarbonCredits
    function gridManagement() external view returns (address) {
        return address(_gridManagement);
    }

    // ----------------------------------------------------------------------------- internal

    /// @dev The caller must be an authorized GridManagement operator of `meter`'s region; returns
    /// SmartMeter's record of the meter (SmartMeter reverts MeterUnknown for an unknown one).
    function _checkOperatorOf(address meter) private view returns (ISmartMeterRegistry.MeterInfo memory info) {
        (bool authorized, uint32 operatorRegionId) = _gridManagement.operatorStatus(msg.sender);
        if (!authorized) revert OperatorNotAuthorized(msg.sender);
        info = _smartMeter.getMeter(meter);
        if (info.regionId != operatorRegionId) revert OperatorNotInRegion(msg.sender, operatorRegionId, info.regionId);
    }

    /// @dev SmartMeter's counted export of `meter`: never decreases, and stays ≤ its MAX_REGISTER_WH
    /// (2^48 − 1); the cast guards the bookkeeping should that ever change.
    /// @dev Mints `meter`'s credits for its production counted since its last issue, whoever calls.
    function _issue(address meter) private returns (uint256 grams) {
        // Through a storage pointer: only the first slot is read, not registeredFromWh's.
        Producer storage p = _producers[meter];
        if (!p.registered) revert NotCleanEnergyProducer(meter);
        // slither-disable-next-line calls-loop: a view of the SmartMeter fixed at deployment, for at most MAX_ISSUE_BATCH meters
        ISmartMeterRegistry.MeterInfo memory info = _smartMeter.getMeter(meter);
        // A suspended meter's counted energy waits until the operator restores it (or deregisters it).
        if (!info.active) revert MeterInactive(meter);
        uint64 countedWh = _countedProductionWh(meter);
        uint256 amountWh = countedWh - p.issuedThroughWh;
        if (amountWh == 0) revert NothingToIssue(meter);
        uint256 factor = _gramsCo2ePerKWh;
        // amountWh < 2^64 and factor ≤ 2,000: no overflow.
        uint256 milligrams = p.remainderMilligrams + amountWh * factor;
        grams = milligrams / 1000;
        p.issuedThroughWh = countedWh;
        p.remainderMilligrams = uint16(milligrams % 1000);
        // Credited ranges of counted Wh never overlap, so the sum stays ≤ 2 × 2^64 + 1 < 2^72.
        p.totalIssuedGrams += uint72(grams);
        if (grams != 0) _mint(info.owner, grams);
        emit CarbonCreditsIssued(meter, info.owner, amountWh, grams, factor);
    }

    function _countedProductionWh(address meter) private view returns (uint64) {
        // slither-disable-next-line unused-return,calls-loop: only the counted export earns credits; a view of the SmartMeter fixed at deployment, for at most MAX_ISSUE_BATCH meters
        (, uint256 productionWh,) = _smartMeter.getMeteredEnergy(meter);
        return SafeCast.toUint64(productionWh);
    }

    function _checkFactor(uint256 gramsCo2ePerKWh) private pure {
        if (gramsCo2ePerKWh == 0 || gramsCo2ePerKWh > MAX_GRAMS_CO2E_PER_KWH) {
            revert EmissionFactorOutOfRange(gramsCo2ePerKWh, MAX_GRAMS_CO2E_PER_KWH);
        }
    }
}
