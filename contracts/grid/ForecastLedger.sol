// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IForecastLedger} from "./IForecastLedger.sol";
import {IGridManagement} from "./IGridManagement.sol";
import {ISmartMeterExtension} from "../metering/ISmartMeterExtension.sol";
import {ISmartMeterRegistry} from "../metering/ISmartMeterRegistry.sol";
import {IEnergyAuctionExtension} from "../market/IEnergyAuctionExtension.sol";
import {EnergyTime} from "../utils/EnergyTime.sol";
import {BatchTooLarge, EmptyBatch, OperatorNotAuthorized, ZeroAddress} from "../utils/GridErrors.sol";

/// @title ForecastLedger
/// @notice This contract keeps each grid region's quantile forecasts of its net load, committed before
/// the market's gate, and scores them against the region's meters (IForecastLedger describes the cycle).
/// It has no roles and no settings: GridManagement says who operates a region, the meter registry what
/// the region's meters metered, and the market when a gate closes.
/// @dev The gate closure is taken from the interval auction at deployment (its gateClosure(), with its
/// period checked to be the 900-second interval), not read from the auction at each commitment: the
/// auction holds its gate closure as an immutable, so the two never differ, and a commitment saves a
/// call into the auction's extension.
/// Storage per forecast: one slot for the hash, one for the operator, its time and block, the window's
/// length and whether it is scored, one for the meter counts; the window's per-interval sums as int80 three to a slot; the tallied
/// meters as a bitmap over their regionMeterIndex; and two slots for the score.
contract ForecastLedger is IForecastLedger {
    using EnergyTime for uint256;

    /// @notice The longest window: one day of 900-second intervals (also the registry's history page).
    uint256 public constant MAX_INTERVALS = EnergyTime.INTERVALS_PER_DAY;
    /// @notice The most meters one tallyMeters call adds. A meter's day-long window costs about 470,000
    /// gas (the registry reads 96 profile slots cold and returns them as interval records), so a full
    /// batch of a day-long window stays near 8.5 million, well under the 16,777,216 a transaction may use.
    uint256 public constant MAX_TALLY_BATCH = 16;
    /// @notice How far ahead of its window a forecast may be committed: two days, room for a day-ahead
    /// forecast issued the morning before, while the region's meter count kept with it stays current.
    uint256 public constant MAX_LEAD_SECONDS = 2 * EnergyTime.DAY_SECONDS;

    // The window's sums are int80, three to a slot. A meter's figure in an interval is below 2^27 Wh (the
    // load profile's field) and a region has fewer than 2^32 meters (the registry's index), so a sum's
    // magnitude stays below 2^59: it cannot overflow.
    uint256 private constant SUMS_PER_WORD = 3;
    uint256 private constant SUM_BITS = 80;
    uint256 private constant SUM_MASK = type(uint80).max;
    uint256 private constant TENTHS = 10; // pinball losses are summed in tenths of a Wh
    uint256 private constant P10_TENTHS = 1;
    uint256 private constant P50_TENTHS = 5;
    uint256 private constant P90_TENTHS = 9;

    /// @dev A commitment's fixed fields: three slots.
    struct Commitment {
        bytes32 forecastHash; // zero: no forecast
        address operator;
        uint40 committedAt; // unix s
        uint40 committedAtBlock;
        uint8 intervalCount; // 1..MAX_INTERVALS
        bool scored;
        uint32 meterCount; // the region's meters at commitment (registry indices fit 32 bits)
        uint32 metersTallied;
    }

    /// @dev What a tally batch checks each meter against.
    struct TallyWindow {
        uint256 firstInterval;
        uint256 intervalCount;
        uint256 endTime; // unix s: the window's end
        uint256 finalAt; // unix s: the window's end plus the registry's maxReadingAge
        uint256 meterCount; // the region's meters at commitment
    }

    /// @dev A stored score: two slots.
    struct StoredScore {
        uint128 pinballP10Wh;
        uint128 pinballP50Wh;
        uint128 pinballP90Wh;
        uint8 coveredIntervals;
        uint8 exceededP90Intervals;
        uint40 scoredAt;
    }

    IGridManagement private immutable _gridManagement;
    ISmartMeterRegistry private immutable _meterRegistry;
    IEnergyAuctionExtension private immutable _auction;

    mapping(uint32 regionId => mapping(uint256 firstInterval => Commitment)) private _commitments;
    mapping(uint32 regionId => mapping(uint256 firstInterval => mapping(uint256 word => uint256))) private _sums;
    mapping(uint32 regionId => mapping(uint256 firstInterval => mapping(uint256 word => uint256))) private _tallied;
    mapping(uint32 regionId => mapping(uint256 firstInterval => StoredScore)) private _scores;

    /// @param gridManagement_ Whose operators commit their regions' forecasts.
    /// @param meterRegistry_ The meters scored against (SmartMeter).
    /// @param auction The 900-second interval auction whose gate a forecast must precede.
    constructor(IGridManagement gridManagement_, ISmartMeterRegistry meterRegistry_, IEnergyAuctionExtension auction) {
        if (address(gridManagement_) == address(0) || address(meterRegistry_) == address(0) || address(auction) == address(0)) {
            revert ZeroAddress();
        }
        uint256 periodLengthSeconds = auction.periodLength();
        if (periodLengthSeconds != EnergyTime.INTERVAL_SECONDS) revert AuctionPeriodNotInterval(periodLengthSeconds);
        _gridManagement = gridManagement_;
        _meterRegistry = meterRegistry_;
        _auction = auction;
    }

    // ----------------------------------------------------------------------------- committing

    /// @inheritdoc IForecastLedger
    function commitForecast(
        uint32 regionId,
        uint256 firstInterval,
        int32[] calldata p10Wh,
        int32[] calldata p50Wh,
        int32[] calldata p90Wh
    ) external {
        _checkOperator(regionId);
        uint256 count = _checkQuantiles(p10Wh, p50Wh, p90Wh);
        _checkGate(firstInterval);
        bytes32 forecastHash = _hash(p10Wh, p50Wh, p90Wh);
        _record(regionId, firstInterval, count, forecastHash);
        emit ForecastCommitted(regionId, firstInterval, msg.sender, forecastHash, p10Wh, p50Wh, p90Wh);
    }

    // ----------------------------------------------------------------------------- tallying

    /// @inheritdoc IForecastLedger
    function tallyMeters(uint32 regionId, uint256 firstInterval, address[] calldata meters) external {
        Commitment storage c = _commitment(regionId, firstInterval);
        uint256 endTime = (firstInterval + c.intervalCount) * EnergyTime.INTERVAL_SECONDS;
        if (block.timestamp < endTime) revert WindowNotEnded(regionId, firstInterval, endTime);
        if (meters.length == 0) revert EmptyBatch();
        if (meters.length > MAX_TALLY_BATCH) revert BatchTooLarge(meters.length, MAX_TALLY_BATCH);
        TallyWindow memory w = TallyWindow({
            firstInterval: firstInterval,
            intervalCount: c.intervalCount,
            endTime: endTime,
            finalAt: endTime + _meterExtension().maxReadingAge(),
            meterCount: c.meterCount
        });

        int256[] memory sums = _loadSums(regionId, firstInterval, w.intervalCount);
        for (uint256 m; m < meters.length; ++m) {
            _addMeter(regionId, w, meters[m], sums);
        }
        _storeSums(regionId, firstInterval, sums);
        uint256 metersTallied = c.metersTallied + meters.length;
        c.metersTallied = uint32(metersTallied);
        emit MetersTallied(regionId, firstInterval, msg.sender, meters.length, metersTallied, w.meterCount);
    }

    // ----------------------------------------------------------------------------- scoring

    /// @inheritdoc IForecastLedger
    function scoreForecast(
        uint32 regionId,
        uint256 firstInterval,
        int32[] calldata p10Wh,
        int32[] calldata p50Wh,
        int32[] calldata p90Wh
    ) external returns (ForecastScore memory score) {
        Commitment storage c = _commitment(regionId, firstInterval);
        if (c.scored) revert ForecastAlreadyScored(regionId, firstInterval);
        score = _score(regionId, firstInterval, c, p10Wh, p50Wh, p90Wh);
        score.scoredAt = block.timestamp;
        c.scored = true;
        // Each loss is below 96 × 2^73 Wh (a sum below 2^72 against an int32 quantile): within uint128.
        _scores[regionId][firstInterval] = StoredScore({
            pinballP10Wh: uint128(score.pinballP10Wh),
            pinballP50Wh: uint128(score.pinballP50Wh),
            pinballP90Wh: uint128(score.pinballP90Wh),
            coveredIntervals: uint8(score.coveredIntervals),
            exceededP90Intervals: uint8(score.exceededP90Intervals),
            scoredAt: uint40(block.timestamp)
        });
        emit ForecastScored(
            regionId,
            firstInterval,
            msg.sender,
            score.intervalCount,
            score.coveredIntervals,
            score.exceededP90Intervals,
            score.pinballP10Wh,
            score.pinballP50Wh,
            score.pinballP90Wh,
            score.metersTallied
        );
    }

    /// @inheritdoc IForecastLedger
    function previewScore(
        uint32 regionId,
        uint256 firstInterval,
        int32[] calldata p10Wh,
        int32[] calldata p50Wh,
        int32[] calldata p90Wh
    ) external view returns (ForecastScore memory) {
        return _score(regionId, firstInterval, _commitment(regionId, firstInterval), p10Wh, p50Wh, p90Wh);
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc IForecastLedger
    function getForecast(uint32 regionId, uint256 firstInterval) external view returns (Forecast memory) {
        Commitment storage c = _commitment(regionId, firstInterval);
        return Forecast(
            c.forecastHash,
            c.operator,
            c.committedAt,
            c.committedAtBlock,
            c.intervalCount,
            c.meterCount,
            c.metersTallied,
            c.scored
        );
    }

    /// @inheritdoc IForecastLedger
    function getScore(uint32 regionId, uint256 firstInterval) external view returns (ForecastScore memory) {
        Commitment storage c = _commitment(regionId, firstInterval);
        if (!c.scored) revert ForecastNotScored(regionId, firstInterval);
        StoredScore memory s = _scores[regionId][firstInterval];
        return ForecastScore(
            c.intervalCount,
            s.coveredIntervals,
            s.exceededP90Intervals,
            s.pinballP10Wh,
            s.pinballP50Wh,
            s.pinballP90Wh,
            c.metersTallied,
            s.scoredAt
        );
    }

    /// @inheritdoc IForecastLedger
    function getNetImport(uint32 regionId, uint256 firstInterval) external view returns (int256[] memory) {
        return _loadSums(regionId, firstInterval, _commitment(regionId, firstInterval).intervalCount);
    }

    /// @inheritdoc IForecastLedger
    function isMeterTallied(uint32 regionId, uint256 firstInterval, address meter) external view returns (bool) {
        Commitment storage c = _commitment(regionId, firstInterval);
        if (_meterRegistry.getMeter(meter).regionId != regionId) return false;
        uint256 index = _meterExtension().regionMeterIndex(meter);
        if (index >= c.meterCount) return false;
        return _tallied[regionId][firstInterval][index >> 8] & (uint256(1) << (index & 0xff)) != 0;
    }

    /// @inheritdoc IForecastLedger
    function gateClosureTime(uint256 interval) public view returns (uint256) {
        // The auction's own rule (its periods are the intervals, checked at deployment), as MarketZones reads it.
        return _auction.gateClosureTime(interval);
    }

    /// @notice Seconds before an interval's start at which its gate closes: the auction's.
    function gateClosure() external view returns (uint256) {
        return _auction.gateClosure();
    }

    /// @notice The GridManagement whose operators commit forecasts.
    function gridManagement() external view returns (IGridManagement) {
        return _gridManagement;
    }

    /// @notice The meter registry the forecasts are scored against.
    function meterRegistry() external view returns (ISmartMeterRegistry) {
        return _meterRegistry;
    }

    // ----------------------------------------------------------------------------- internals

    /// @dev The meter registry's rarely called functions, which it serves at its own address.
    function _meterExtension() private view returns (ISmartMeterExtension) {
        return ISmartMeterExtension(address(_meterRegistry));
    }

    /// @dev The caller is a verified, authorized operator of `regionId`.
    function _checkOperator(uint32 regionId) private view {
        (bool authorized, uint32 operatorRegionId) = _gridManagement.operatorStatus(msg.sender);
        if (!authorized) revert OperatorNotAuthorized(msg.sender);
        if (operatorRegionId != regionId) revert OperatorNotInRegion(msg.sender, operatorRegionId, regionId);
    }

    /// @dev The window's length, once the three vectors have one length within 1..MAX_INTERVALS and
    /// every interval's quantiles are in order.
    function _checkQuantiles(int32[] calldata p10Wh, int32[] calldata p50Wh, int32[] calldata p90Wh)
        private
        pure
        returns (uint256 count)
    {
        count = p10Wh.length;
        if (count == 0 || count > MAX_INTERVALS) revert IntervalCountOutOfRange(count, MAX_INTERVALS);
        if (p50Wh.length != count || p90Wh.length != count) {
            revert QuantileLengthMismatch(count, p50Wh.length, p90Wh.length);
        }
        for (uint256 i; i < count; ++i) {
            if (p10Wh[i] > p50Wh[i] || p50Wh[i] > p90Wh[i]) revert QuantilesCrossed(i, p10Wh[i], p50Wh[i], p90Wh[i]);
        }
    }

    /// @dev The window starts within MAX_LEAD_SECONDS and its first interval's gate is still open.
    function _checkGate(uint256 firstInterval) private view {
        // The lead bound comes first: it keeps firstInterval small enough for the gate's arithmetic.
        uint256 latestFirstInterval = (block.timestamp + MAX_LEAD_SECONDS).intervalOf();
        if (firstInterval > latestFirstInterval) revert ForecastTooFarAhead(firstInterval, latestFirstInterval);
        uint256 closesAt = gateClosureTime(firstInterval);
        if (block.timestamp >= closesAt) revert GateClosed(firstInterval, closesAt);
    }

    /// @dev Stores the commitment with the region's meter count now.
    function _record(uint32 regionId, uint256 firstInterval, uint256 count, bytes32 forecastHash) private {
        Commitment storage c = _commitments[regionId][firstInterval];
        if (c.forecastHash != bytes32(0)) revert ForecastAlreadyCommitted(regionId, firstInterval);
        uint256 meterCount = _meterExtension().regionMeterCount(regionId);
        if (meterCount == 0) revert RegionHasNoMeters(regionId);
        c.forecastHash = forecastHash;
        c.operator = msg.sender;
        c.committedAt = uint40(block.timestamp);
        c.committedAtBlock = uint40(block.number);
        c.intervalCount = uint8(count);
        c.meterCount = uint32(meterCount);
    }

        function _commitment(uint32 regionId, uint256 firstInterval) private view returns (Commitment storage c) {
        c = _commitments[regionId][firstInterval];
        if (c.forecastHash == bytes32(0)) revert ForecastNotCommitted(regionId, firstInterval);
    }

    /// @dev Marks `meter` tallied and adds its net import over the window to `sums`, once it is known to
    /// be one of the region's meters at commitment, not tallied yet, with its profile over the window final.
    function _addMeter(uint32 regionId, TallyWindow memory w, address meter, int256[] memory sums) private {
        // slither-disable-next-line calls-loop: a view of the immutable meter registry, once per meter of a batch of at most MAX_TALLY_BATCH
        ISmartMeterRegistry.MeterInfo memory info = _meterRegistry.getMeter(meter);
        if (info.regionId != regionId) revert MeterNotInRegion(meter, info.regionId, regionId);
        // slither-disable-next-line calls-loop: a view of the immutable meter registry, once per meter of a batch of at most MAX_TALLY_BATCH
        uint256 index = _meterExtension().regionMeterIndex(meter);
        if (index >= w.meterCount) revert MeterRegisteredAfterCommit(meter, index, w.meterCount);
        // A reading is always later than the meter's previous one, so once a meter has read in the
        // window's last second (where meters stamp an interval's reading) or later, nothing more lands in
        // the window.
        if (info.lastReadingAt + 1 < w.endTime && block.timestamp < w.finalAt) {
            revert MeterReadingsPending(meter, info.lastReadingAt, w.finalAt);
        }
        mapping(uint256 word => uint256) storage tallied = _tallied[regionId][w.firstInterval];
        uint256 bit = uint256(1) << (index & 0xff);
        uint256 word = tallied[index >> 8];
        if (word & bit != 0) revert MeterAlreadyTallied(meter);
        tallied[index >> 8] = word | bit;
        // slither-disable-next-line calls-loop: a view of the immutable meter registry, once per meter of a batch of at most MAX_TALLY_BATCH
        ISmartMeterRegistry.IntervalRecord[] memory records =
            _meterRegistry.getIntervalHistory(meter, w.firstInterval, w.intervalCount);
        for (uint256 i; i < records.length; ++i) {
            // Each figure is below 2^27 Wh (the load profile's field), so the difference is exact.
            sums[i] += int256(records[i].consumptionWh) - int256(records[i].productionWh);
        }
    }

    function _score(
        uint32 regionId,
        uint256 firstInterval,
        Commitment storage c,
        int32[] calldata p10Wh,
        int32[] calldata p50Wh,
        int32[] calldata p90Wh
    ) private view returns (ForecastScore memory score) {
        uint256 metersTallied = c.metersTallied;
        if (metersTallied < c.meterCount) revert TallyIncomplete(regionId, firstInterval, metersTallied, c.meterCount);
        bytes32 givenHash = _hash(p10Wh, p50Wh, p90Wh);
        if (givenHash != c.forecastHash) revert ForecastMismatch(regionId, firstInterval, givenHash, c.forecastHash);
        score = _figures(_loadSums(regionId, firstInterval, c.intervalCount), p10Wh, p50Wh, p90Wh);
        score.metersTallied = metersTallied;
    }

    /// @dev Coverage, P90 exceedances and pinball losses of the metered `sums` against the quantiles. The
    /// losses are summed exactly in tenths of a Wh and rounded down once, at the end.
    function _figures(int256[] memory sums, int32[] calldata p10Wh, int32[] calldata p50Wh, int32[] calldata p90Wh)
        private
        pure
        returns (ForecastScore memory score)
    {
        for (uint256 i; i < sums.length; ++i) {
            int256 metered = sums[i];
            if (metered > p90Wh[i]) ++score.exceededP90Intervals;
            else if (metered >= p10Wh[i]) ++score.coveredIntervals;
            score.pinballP10Wh += _pinballTenths(metered, p10Wh[i], P10_TENTHS);
            score.pinballP50Wh += _pinballTenths(metered, p50Wh[i], P50_TENTHS);
            score.pinballP90Wh += _pinballTenths(metered, p90Wh[i], P90_TENTHS);
        }
        score.intervalCount = sums.length;
        score.pinballP10Wh /= TENTHS;
        score.pinballP50Wh /= TENTHS;
        score.pinballP90Wh /= TENTHS;
    }

    /// @dev Ten times the pinball loss of quantile level levelTenths / 10 at metered `y`, forecast `q`.
    function _pinballTenths(int256 y, int256 q, uint256 levelTenths) private pure returns (uint256) {
        if (y >= q) return levelTenths * uint256(y - q);
        return (TENTHS - levelTenths) * uint256(q - y);
    }

    function _hash(int32[] calldata p10Wh, int32[] calldata p50Wh, int32[] calldata p90Wh)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(p10Wh, p50Wh, p90Wh));
    }

    /// @dev The window's `count` sums, unpacked from their int80 lanes.
    function _loadSums(uint32 regionId, uint256 firstInterval, uint256 count) private view returns (int256[] memory sums) {
        mapping(uint256 word => uint256) storage words = _sums[regionId][firstInterval];
        sums = new int256[](count);
        uint256 word = 0;
        for (uint256 i; i < count; ++i) {
            if (i % SUMS_PER_WORD == 0) word = words[i / SUMS_PER_WORD];
            sums[i] = int80(uint80((word >> ((i % SUMS_PER_WORD) * SUM_BITS)) & SUM_MASK));
        }
    }

    /// @dev Packs the sums three to a slot and writes each slot once.
    function _storeSums(uint32 regionId, uint256 firstInterval, int256[] memory sums) private {
        mapping(uint256 word => uint256) storage words = _sums[regionId][firstInterval];
        uint256 word = 0;
        for (uint256 i; i < sums.length; ++i) {
            word |= (uint256(uint80(int80(sums[i]))) << ((i % SUMS_PER_WORD) * SUM_BITS));
            if (i % SUMS_PER_WORD == SUMS_PER_WORD - 1 || i == sums.length - 1) {
                words[i / SUMS_PER_WORD] = word;
                word = 0;
            }
        }
    }
}
