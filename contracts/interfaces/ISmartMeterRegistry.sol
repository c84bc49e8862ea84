// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISmartMeter} from "./ISmartMeter.sol";
import {BatchTooLarge, EmptyBatch, InvalidHistoryPage, MeterInactive, MeterUnknown} from "./GridErrors.sol";

/// @title ISmartMeterRegistry
/// @notice ISmartMeter plus the registry, gateway batches, load profile and consumption redemption.
interface ISmartMeterRegistry is ISmartMeter {
    /// @notice A registered meter.
    struct MeterInfo {
        address owner; // receives minted Wh, may redeem consumption
        uint32 regionId; // grid region the meter is connected in
        bool active; // false while the operator has it deactivated
        bool awaitingBaseline; // its next reading sets the baseline and counts no energy
        uint256 lastReadingAt; // unix s of the latest accepted reading or registration baseline, 0 = none
    }

    /// @notice One 900-second load-profile interval of a meter.
    struct IntervalRecord {
        uint256 interval; // timestamp / 900
        uint256 consumptionWh; // imported in this interval
        uint256 productionWh; // exported in this interval
        uint256 consumptionRegisterWh; // import register at the interval's last reading
        uint256 productionRegisterWh; // export register at the interval's last reading
        uint256 gridFrequencyMilliHz; // at the interval's last reading
        uint256 voltagePerMille; // at the interval's last reading
    }

    /// @notice A meter entered the registry.
    /// @param consumptionRegisterWh Initial import register, or 0 when the first reading sets the baseline.
    /// @param productionRegisterWh Initial export register, or 0 when the first reading sets the baseline.
    event MeterRegistered(
        address indexed meter,
        address indexed owner,
        uint32 indexed regionId,
        uint256 consumptionRegisterWh,
        uint256 productionRegisterWh
    );
    /// @notice The operator suspended a meter: its readings are rejected.
    event MeterDeactivated(address indexed meter);
    /// @notice The operator restored a meter: its next reading sets a new baseline.
    event MeterReactivated(address indexed meter);
    /// @notice A reading set the meter's baseline; energy up to these registers is not counted.
    event MeterBaselineSet(
        address indexed meter, uint256 timestamp, uint256 consumptionRegisterWh, uint256 productionRegisterWh
    );
    /// @notice A reading was accepted; `productionWh` was minted to the meter's owner. Frequency and
    /// voltage are kept in the load profile (getIntervalHistory), not repeated here.
    /// @param consumptionWh Import register increase since the previous reading.
    /// @param productionWh Export register increase since the previous reading.
    event ReadingAccepted(address indexed meter, uint256 timestamp, uint256 consumptionWh, uint256 productionWh);
    /// @notice The owner burned `amountWh` EnergyToken against the meter's metered consumption.
    event ConsumptionRedeemed(address indexed meter, address indexed owner, uint256 amountWh);
    /// @notice The admin changed the rate limit between two readings of one meter.
    event MinReadingIntervalUpdated(uint256 previousSeconds, uint256 newSeconds);

    /// @notice `meter` is registered already.
    error MeterAlreadyRegistered(address meter);
    /// @notice `meter` is active already.
    error MeterAlreadyActive(address meter);
    /// @notice The zero address cannot be a meter.
    error InvalidMeterAddress();
    /// @notice The zero address cannot own a meter.
    error InvalidOwnerAddress();
    /// @notice `caller` does not own `meter`.
    error NotMeterOwner(address meter, address caller);
    /// @notice The reading's timestamp is not after the previous one's.
    error ReadingNotAfterPrevious(address meter, uint256 timestamp, uint256 previousTimestamp);
    /// @notice The reading's timestamp is later than the block's.
    error ReadingInFuture(address meter, uint256 timestamp, uint256 blockTimestamp);
    /// @notice The reading came sooner than the minimum interval after the previous one.
    error ReadingTooFrequent(address meter, uint256 timestamp, uint256 earliestTimestamp);
    /// @notice The import register is below the previous reading's: registers never go backwards.
    error ConsumptionRegisterDecreased(address meter, uint256 registerWh, uint256 previousRegisterWh);
    /// @notice The export register is below the previous reading's: registers never go backwards.
    error ProductionRegisterDecreased(address meter, uint256 registerWh, uint256 previousRegisterWh);
    /// @notice A register value above MAX_REGISTER_WH.
    error RegisterOutOfRange(address meter, uint256 registerWh);
    /// @notice More energy in one 900-second interval than the load profile holds (about 1.1 TWh).
    error IntervalEnergyOutOfRange(address meter, uint256 interval);
    /// @notice Grid frequency outside MIN_FREQUENCY_MILLIHZ..MAX_FREQUENCY_MILLIHZ.
    error FrequencyOutOfBounds(address meter, uint256 gridFrequencyMilliHz);
    /// @notice Voltage outside MIN_VOLTAGE_PER_MILLE..MAX_VOLTAGE_PER_MILLE of nominal.
    error VoltageOutOfBounds(address meter, uint256 voltagePerMille);
    /// @notice The batch's meter and reading lists differ in length.
    error BatchLengthMismatch(uint256 meters, uint256 readings);
    /// @notice An interval beyond MAX_INTERVAL (the 32-bit interval counter runs out in the year 124,000).
    error IntervalOutOfRange(uint256 interval);
    /// @notice A day whose intervals lie beyond MAX_INTERVAL.
    error DayOutOfRange(uint256 day);
    /// @notice The interval has left the meter's load profile (older than PROFILE_CAPACITY intervals).
    error IntervalNotRetained(address meter, uint256 interval);
    /// @notice A rate limit longer than one 900-second interval.
    error MinReadingIntervalTooLong(uint256 secondsRequested, uint256 maxSeconds);
    /// @notice A redemption of zero Wh.
    error ZeroRedemption();
    /// @notice More Wh than the meter has metered and not yet redeemed.
    error RedemptionExceedsConsumption(address meter, uint256 amountWh, uint256 redeemableWh);

    /// @notice Registers `meter`; its first reading sets the baseline. OPERATOR_ROLE only.
    function registerMeter(address meter, address owner, uint32 regionId) external;

    /// @notice Registers `meter` with its registers read at installation as the baseline. OPERATOR_ROLE only.
    function registerMeter(
        address meter,
        address owner,
        uint32 regionId,
        uint256 consumptionRegisterWh,
        uint256 productionRegisterWh
    ) external;

    /// @notice Suspends `meter`. OPERATOR_ROLE only.
    function deactivateMeter(address meter) external;

    /// @notice Restores `meter`; energy metered while it was suspended is not counted. OPERATOR_ROLE only.
    function reactivateMeter(address meter) external;

    /// @notice Submits one reading each for many meters. GATEWAY_ROLE only; the whole batch reverts on a bad item.
    function submitReadings(address[] calldata meters, MeterReading[] calldata readings) external;

    /// @notice Burns `amountWh` of the caller's EnergyToken against `meter`'s metered, unredeemed consumption.
    function redeemConsumption(address meter, uint256 amountWh) external;

    /// @notice Stops readings and so minting (emergency shutdown). Registers are cumulative, so the
    /// first reading after the pause counts everything metered during it. PAUSER_ROLE only.
    function pause() external;

    /// @notice Resumes readings. DEFAULT_ADMIN_ROLE only: a guardian can stop metering, not restart it.
    function unpause() external;

    /// @notice Sets the minimum seconds between two readings of one meter. DEFAULT_ADMIN_ROLE only.
    function setMinReadingInterval(uint256 secondsBetweenReadings) external;

    function getMeter(address meter) external view returns (MeterInfo memory);
    function getLatestReading(address meter) external view returns (MeterReading memory);
    function getDailyProduction(address meter, uint256 day) external view returns (uint256);
    function getDailyConsumption(address meter, uint256 day) external view returns (uint256);
    function getIntervalEnergy(address meter, uint256 interval)
        external
        view
        returns (uint256 consumptionWh, uint256 productionWh);
    function getIntervalHistory(address meter, uint256 fromInterval, uint256 count)
        external
        view
        returns (IntervalRecord[] memory);
    /// @notice Sums of the load-profile intervals [fromInterval, fromInterval + count); an interval
    /// without a reading counts 0. `count` is 1..MAX_HISTORY_PAGE; reverts like getIntervalHistory
    /// for an unknown meter or an interval that is out of range or no longer retained.
    function getEnergyInRange(address meter, uint256 fromInterval, uint256 count)
        external
        view
        returns (uint256 consumptionWh, uint256 productionWh);
    /// @notice Energy counted since the baseline(s), and consumption already redeemed.
    function getMeteredEnergy(address meter)
        external
        view
        returns (uint256 consumptionWh, uint256 productionWh, uint256 redeemedConsumptionWh);
    function minReadingInterval() external view returns (uint256);
}
