// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IGridManagement} from "../grid/IGridManagement.sol";
import {InvalidEnergyType, InvalidPageLimit, MeterInactive, MeterUnknown, OperatorNotAuthorized, ZeroAddress} from "../utils/GridErrors.sol";

/// @title ICarbonCredits
/// @notice Carbon offsets for clean energy: avoided-emission credits issued only for clean
/// energy that SmartMeter counted as exported, retired (burned) with a recorded beneficiary as proof
/// of offset.
/// Units: one token unit is one gram of CO2e (6 decimals, so 1.000000 is one tonne, as carbon
/// registries count); energy in Wh; the avoided-emission factor in grams CO2e per kWh, so
/// Wh × factor is milligrams and grams = floor(Wh × factor / 1000) with the sub-gram rest carried
/// per meter.
///
/// Clean energy types (IGridManagement.EnergyType): SOLAR, WIND, HYDRO, GEOTHERMAL — generation
/// that burns no fuel. NATURAL_GAS is fossil. NUCLEAR is low-carbon but not credited: carbon offset
/// programmes (the Kyoto CDM, the Gold Standard) exclude it. BIOMASS is not credited: it burns fuel
/// whose net emissions depend on how the feedstock was grown, which a meter cannot see, and one
/// grid-wide factor would credit it as if it emitted nothing.
interface ICarbonCredits is IERC20 {
    /// @notice A meter's clean-producer record (getCleanEnergyProducer).
    struct CleanProducerInfo {
        bool registered; // isCleanEnergyProducer
        IGridManagement.EnergyType energyType; // as registered (the latest registration)
        uint256 registeredAt; // unix s of the latest registration, 0 = never registered
        uint256 registeredFromWh; // SmartMeter's counted production at the latest registration: not credited
        uint256 issuedThroughWh; // counted production credited up to (registeredFromWh at registration)
        uint256 remainderMilligrams; // sub-gram rest of the credited Wh × factor, carried into the next issue (< 1000)
        uint256 totalIssuedGrams; // issued for this meter across all its registrations
    }

    /// @notice A retirement: credits burned as proof of offset for `beneficiary`.
    struct Retirement {
        uint256 retirementId; // from 1
        address retiree; // whose credits were burned
        address beneficiary; // on whose behalf the emissions are offset
        uint256 amountGrams; // grams CO2e retired
        uint256 retiredAt; // unix s
        string reason; // the retiree's statement, 1..MAX_REASON_BYTES bytes
    }

    /// @notice An operator of its region registered `meter` as a clean producer; production the
    /// meter counted up to `registeredFromWh` is never credited.
    /// @param meter The SmartMeter meter registered.
    /// @param operator The authorized GridManagement operator of the meter's region who registered it.
    /// @param energyType Its energy type: SOLAR, WIND, HYDRO or GEOTHERMAL.
    /// @param registeredFromWh SmartMeter's counted production of `meter` at registration, Wh: credits start above it.
    event CleanEnergyProducerRegistered(
        address indexed meter,
        address indexed operator,
        IGridManagement.EnergyType energyType,
        uint256 registeredFromWh
    );
    /// @notice An operator deregistered `meter`; its `unissuedWh` counted but not issued are forfeited,
    /// with its sub-gram rest.
    /// @param meter The meter no longer credited.
    /// @param operator The authorized GridManagement operator of the meter's region who deregistered it.
    /// @param unissuedWh Production SmartMeter counted since the last issue, forfeited, Wh.
    event CleanEnergyProducerDeregistered(address indexed meter, address indexed operator, uint256 unissuedWh);
    /// @notice `grams` were minted to `owner` for `amountWh` of clean export of `meter` at `gramsCo2ePerKWh`
    /// (plus the carried sub-gram rest; `grams` may be 0 while the rest is below one gram).
    /// @param meter The clean producer credited.
    /// @param owner The meter's SmartMeter owner, who received the credits.
    /// @param amountWh Counted production credited by this issue (since the last one), Wh.
    /// @param grams Credits minted, grams CO2e (1 unit = 1 g).
    /// @param gramsCo2ePerKWh The avoided-emission factor applied, grams CO2e per kWh.
    event CarbonCreditsIssued(
        address indexed meter, address indexed owner, uint256 amountWh, uint256 grams, uint256 gramsCo2ePerKWh
    );
    /// @notice The admin changed the avoided-emission factor; every later issue uses it, including for
    /// production counted before and not yet issued.
    /// @param previousGramsCo2ePerKWh The factor before, grams CO2e per kWh.
    /// @param newGramsCo2ePerKWh The factor from now on, grams CO2e per kWh.
    event AvoidedEmissionFactorUpdated(uint256 previousGramsCo2ePerKWh, uint256 newGramsCo2ePerKWh);
    /// @notice `retiree` burned `amountGrams` as an offset for `beneficiary`.
    /// @param retirementId The retirement's id, from 1.
    /// @param retiree The caller, whose credits were burned.
    /// @param beneficiary On whose behalf the emissions are offset.
    /// @param amountGrams Grams of CO2e retired (1 unit = 1 g).
    /// @param reason The retiree's statement of what is offset, 1..MAX_REASON_BYTES bytes.
    event CarbonCreditsRetired(
        uint256 indexed retirementId,
        address indexed retiree,
        address indexed beneficiary,
        uint256 amountGrams,
        string reason
    );

    /// @notice An avoided-emission factor (at deployment or in setAvoidedEmissionFactor) of zero or
    /// above `maxGramsCo2ePerKWh`.
    /// @param gramsCo2ePerKWh The factor given, grams CO2e per kWh.
    /// @param maxGramsCo2ePerKWh MAX_GRAMS_CO2E_PER_KWH, grams CO2e per kWh.
    error EmissionFactorOutOfRange(uint256 gramsCo2ePerKWh, uint256 maxGramsCo2ePerKWh);
    /// @notice `operator` runs `operatorRegionId`, but the meter is connected in `meterRegionId`.
    /// @param operator The caller, an authorized operator of another region.
    /// @param operatorRegionId The region the caller operates.
    /// @param meterRegionId The region SmartMeter records for the meter.
    error OperatorNotInRegion(address operator, uint32 operatorRegionId, uint32 meterRegionId);
    /// @notice An energy type this contract does not credit (NUCLEAR, BIOMASS, NATURAL_GAS).
    /// @param energyType The type given: 3 NUCLEAR, 5 BIOMASS or 6 NATURAL_GAS.
    error EnergyTypeNotClean(uint256 energyType);
    /// @notice `meter` is a registered clean producer already.
    /// @param meter The meter given.
    error AlreadyCleanEnergyProducer(address meter);
    /// @notice `meter` is not a registered clean producer (deregistration or issue).
    /// @param meter The meter given.
    error NotCleanEnergyProducer(address meter);
    /// @notice `meter` counted no production since its last issue (or its registration).
    /// @param meter The meter given.
    error NothingToIssue(address meter);
    /// @notice A retirement of zero grams.
    error ZeroRetirement();
    /// @notice A retirement above MAX_RETIREMENT_GRAMS.
    /// @param amountGrams The grams CO2e asked to retire.
    /// @param maxGrams MAX_RETIREMENT_GRAMS, grams CO2e.
    error RetirementTooLarge(uint256 amountGrams, uint256 maxGrams);
    /// @notice A retirement for the zero address.
    error ZeroBeneficiary();
    /// @notice A retirement reason that is empty or longer than `maxLengthBytes`.
    /// @param lengthBytes The reason's length, bytes.
    /// @param maxLengthBytes MAX_REASON_BYTES.
    error InvalidRetirementReason(uint256 lengthBytes, uint256 maxLengthBytes);
    /// @notice No retirement has id `retirementId`.
    /// @param retirementId The id asked for.
    error RetirementNotFound(uint256 retirementId);

    /// @notice Registers `meter` as a clean producer of `energyType` (SOLAR 0, WIND 1, HYDRO 2,
    /// GEOTHERMAL 4). Production SmartMeter counted before this call is not credited. Only a
    /// verified, authorized GridManagement operator of the meter's region; the meter must be
    /// registered and active in SmartMeter.
    function registerCleanEnergyProducer(address meter, uint8 energyType) external;

    /// @notice Stops crediting `meter`. Its counted production not yet issued (and the sub-gram rest)
    /// is forfeited: deregistration is how an operator stops crediting a meter it no longer trusts as
    /// clean, so it must not mint; anyone may issue first. Only an authorized operator of its region.
    function deregisterCleanEnergyProducer(address meter) external;

    /// @notice Mints to `meter`'s SmartMeter owner the credits for the production SmartMeter counted
    /// since the last issue: (rest + Wh × factor) / 1000 grams, the rest carried. Anyone may call;
    /// each counted Wh is credited once. The meter must be active in SmartMeter.
    /// @return grams Credits minted (0 while the carried rest stays below one gram).
    function issueCarbonCredits(address meter) external returns (uint256 grams);

    /// @notice Issues the credits of each of `meters` in turn, as issueCarbonCredits would one call each:
    /// what a keeper sends for a day's clean meters, so they share one transaction. Anyone may call; the
    /// batch holds 1..MAX_ISSUE_BATCH meters (EmptyBatch, BatchTooLarge), and a meter issueCarbonCredits
    /// would refuse refuses the whole batch with the same error.
    /// @param meters Registered clean meters, each with counted production not issued yet (pendingWh).
    /// @return grams Credits minted for each meter, in the order given.
    function issueCarbonCreditsBatch(address[] calldata meters) external returns (uint256[] memory grams);

    /// @notice Sets the avoided-emission factor (1..MAX_GRAMS_CO2E_PER_KWH) for every later issue,
    /// including production counted before the change and not yet issued. DEFAULT_ADMIN_ROLE only.
    function setAvoidedEmissionFactor(uint256 gramsCo2ePerKWh) external;

    /// @notice Moves `amountGrams` of the caller's credits to `to` (ERC-20 transfer).
    function transferCarbonCredits(address to, uint256 amountGrams) external returns (bool);

    /// @notice Burns `amountGrams` of the caller's credits as an offset for `beneficiary` and records it.
    /// @param reason What is offset, 1..MAX_REASON_BYTES bytes (e.g. "2025 office electricity").
    /// @return retirementId The retirement's id, from 1.
    function retire(uint256 amountGrams, address beneficiary, string calldata reason)
        external
        returns (uint256 retirementId);

    /// @notice `account`'s credits in grams (ERC-20 balanceOf).
    function getCarbonCreditsBalance(address account) external view returns (uint256 grams);

    /// @notice Whether `meter` is registered and credited now.
    function isCleanEnergyProducer(address meter) external view returns (bool);

    /// @notice Whether this contract credits energy type `energyType`.
    function isCleanEnergyType(uint8 energyType) external pure returns (bool);

    /// @notice `meter`'s record; all zero for a meter never registered.
    function getCleanEnergyProducer(address meter) external view returns (CleanProducerInfo memory);

    /// @notice Production SmartMeter counted for `meter` that an issue would credit now (0 when not registered).
    function pendingWh(address meter) external view returns (uint256);

    /// @notice The avoided-emission factor in grams CO2e per kWh.
    function avoidedEmissionFactor() external view returns (uint256 gramsCo2ePerKWh);

    function getRetirement(uint256 retirementId) external view returns (Retirement memory);

    /// @notice `beneficiary`'s retirements from index `cursor` (0 = the first), at most `limit`
    /// (1..MAX_PAGE_LIMIT) in retirement order; `nextCursor` = cursor + page length, and the listing is
    /// complete when it equals retirementCountOf(beneficiary).
    function getRetirements(address beneficiary, uint256 cursor, uint256 limit)
        external
        view
        returns (Retirement[] memory page, uint256 nextCursor);

    /// @notice Number of retirements ever made; the latest id.
    function retirementCount() external view returns (uint256);

    /// @notice Number of retirements for `beneficiary`.
    function retirementCountOf(address beneficiary) external view returns (uint256);

    /// @notice Grams ever retired.
    function totalRetired() external view returns (uint256 grams);

    /// @notice Grams ever retired for `beneficiary`.
    function totalRetiredFor(address beneficiary) external view returns (uint256 grams);

    function smartMeter() external view returns (address);

    function gridManagement() external view returns (address);
}
