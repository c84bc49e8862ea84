// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BatchTooLarge, EmptyBatch, OperatorNotAuthorized, ZeroAddress} from "../utils/GridErrors.sol";

/// @title IForecastLedger
/// @notice Each grid region's (feeder's) quantile forecast of its net load, committed by the region's
/// operator before the market's gate closes for the forecast's first interval, then scored by anyone
/// against what the region's meters metered. An operator sets the capacity it holds back on its links,
/// and calls demand-response events, from its P90: an inflated P90 withholds capacity from the market,
/// and the score makes that visible to everyone.
///
/// Units: a forecast is the region's NET IMPORT per 900-second interval in Wh, consumption minus
/// production summed over the region's meters (negative while the feeder exports), for the window of
/// `intervalCount` consecutive intervals from `firstInterval` (interval = unix seconds / 900).
///
/// The cycle:
/// 1. commitForecast: the region's verified, authorized GridManagement operator commits P10, P50 and
///    P90 (P10 ≤ P50 ≤ P90 in every interval), once per (region, firstInterval), before the gate of
///    `firstInterval` closes. The vectors travel in calldata and in ForecastCommitted; the ledger keeps
///    their hash, the window's length, the commitment's time and block, and the region's meter count.
/// 2. tallyMeters: after the window's last interval has ended, anyone adds the region's meters in
///    batches of up to MAX_TALLY_BATCH. Each meter's net import per interval is read from the meter
///    registry's load profile and added to the window's per-interval sums, kept on chain; each meter
///    counts once.
/// 3. scoreForecast: once every meter is tallied, anyone scores the forecast with the committed
///    vectors: intervals covered by [P10, P90], intervals above P90, and the pinball loss of each
///    quantile. The score is stored and emitted once.
///
/// Completeness: the region's meters are those the meter registry had registered in the region when
/// the forecast was committed (regionMeterCount then, which the ledger keeps). The registry never moves
/// or removes a meter, so they are the meters whose regionMeterIndex is below that count. Scoring needs
/// every one of them tallied (deactivated meters too, with what their profile holds), so no scorer can
/// score a subset and call it the region's load. A meter registered after the commitment is refused:
/// the forecast could not know it, and an operator must not be able to add meters to fill an inflated P90.
///
/// Finality: a meter's readings may arrive late (up to the registry's maxReadingAge after their time)
/// and land in the window's intervals. A meter is tallied only once its profile over the window is
/// final: it has read in the window's last second or later (a later reading must be later still), or
/// maxReadingAge has passed since the window's end. The registry keeps 35 days of profile: a window
/// must be tallied within them.
interface IForecastLedger {
    /// @notice A committed forecast, as the ledger keeps it.
    struct Forecast {
        bytes32 forecastHash; // keccak256(abi.encode(p10Wh, p50Wh, p90Wh))
        address operator; // the region's operator that committed it
        uint256 committedAt; // unix s
        uint256 committedAtBlock; // the block whose ForecastCommitted event carries the vectors
        uint256 intervalCount; // 1..MAX_INTERVALS
        uint256 meterCount; // the region's meters when committed: all must be tallied
        uint256 metersTallied; // meters tallied so far
        bool scored;
    }

    /// @notice A forecast's score over its window. Pinball loss of quantile level τ in an interval with
    /// metered net import y and forecast q: τ·(y − q) when y ≥ q, (1 − τ)·(q − y) otherwise, with τ
    /// exactly 0.1, 0.5 and 0.9. Each figure is the window's exact sum (a multiple of 0.1 Wh, computed in
    /// tenths of a Wh) rounded down once, to whole Wh.
    struct ForecastScore {
        uint256 intervalCount; // the window's intervals
        uint256 coveredIntervals; // intervals with P10 ≤ y ≤ P90
        uint256 exceededP90Intervals; // intervals with y > P90
        uint256 pinballP10Wh; // summed over the window, Wh
        uint256 pinballP50Wh;
        uint256 pinballP90Wh;
        uint256 metersTallied; // the meters the score is over: all of the region's at commitment
        uint256 scoredAt; // unix s; 0 in a preview
    }

    // ----------------------------------------------------------------------------- events

    /// @notice `operator` committed `regionId`'s forecast for the intervals from `firstInterval`.
    /// @param regionId The operator's region.
    /// @param firstInterval The window's first interval (unix s / 900).
    /// @param operator The committing operator.
    /// @param forecastHash keccak256(abi.encode(p10Wh, p50Wh, p90Wh)).
    /// @param p10Wh The 10 % quantile of the region's net import in each interval, Wh.
    /// @param p50Wh The median, Wh.
    /// @param p90Wh The 90 % quantile, Wh.
    event ForecastCommitted(
        uint32 indexed regionId,
        uint256 indexed firstInterval,
        address indexed operator,
        bytes32 forecastHash,
        int32[] p10Wh,
        int32[] p50Wh,
        int32[] p90Wh
    );
    /// @notice `tallier` added `meters` meters to the window's sums; `metersTallied` of `meterCount` are in.
    /// @param regionId The forecast's region.
    /// @param firstInterval The forecast's first interval.
    /// @param tallier The caller.
    /// @param meters Meters added by this batch.
    /// @param metersTallied Meters tallied so far.
    /// @param meterCount The region's meters when the forecast was committed.
    event MetersTallied(
        uint32 indexed regionId,
        uint256 indexed firstInterval,
        address indexed tallier,
        uint256 meters,
        uint256 metersTallied,
        uint256 meterCount
    );
    /// @notice `scorer` scored `regionId`'s forecast from `firstInterval` against its meters.
    /// @param regionId The forecast's region.
    /// @param firstInterval The forecast's first interval.
    /// @param scorer The caller.
    /// @param intervalCount The window's intervals.
    /// @param coveredIntervals Intervals whose metered net import lay within [P10, P90].
    /// @param exceededP90Intervals Intervals whose metered net import exceeded P90.
    /// @param pinballP10Wh The P10's pinball loss, summed over the window, Wh (rounded down).
    /// @param pinballP50Wh The P50's pinball loss, Wh.
    /// @param pinballP90Wh The P90's pinball loss, Wh.
    /// @param metersTallied The meters scored over: every meter of the region at commitment.
    event ForecastScored(
        uint32 indexed regionId,
        uint256 indexed firstInterval,
        address indexed scorer,
        uint256 intervalCount,
        uint256 coveredIntervals,
        uint256 exceededP90Intervals,
        uint256 pinballP10Wh,
        uint256 pinballP50Wh,
        uint256 pinballP90Wh,
        uint256 metersTallied
    );

    // ----------------------------------------------------------------------------- errors

    /// @notice `operator` operates `operatorRegionId`, not `regionId`.
    /// @param operator The caller, an authorized operator.
    /// @param operatorRegionId The region GridManagement lists it in.
    /// @param regionId The region named.
    error OperatorNotInRegion(address operator, uint32 operatorRegionId, uint32 regionId);
    /// @notice The auction's delivery period is not the 900-second interval forecasts are made in.
    /// @param periodLengthSeconds The auction's period, seconds.
    error AuctionPeriodNotInterval(uint256 periodLengthSeconds);
    /// @notice A forecast of no intervals or of more than `maxIntervals`.
    /// @param intervalCount The P10 vector's length.
    /// @param maxIntervals MAX_INTERVALS.
    error IntervalCountOutOfRange(uint256 intervalCount, uint256 maxIntervals);
    /// @notice The three quantile vectors differ in length.
    /// @param p10Length Entries of P10.
    /// @param p50Length Entries of P50.
    /// @param p90Length Entries of P90.
    error QuantileLengthMismatch(uint256 p10Length, uint256 p50Length, uint256 p90Length);
    /// @notice The quantiles of one interval are not in order P10 ≤ P50 ≤ P90.
    /// @param index The interval's place in the window, from 0.
    /// @param p10Wh Its P10, Wh.
    /// @param p50Wh Its P50, Wh.
    /// @param p90Wh Its P90, Wh.
    error QuantilesCrossed(uint256 index, int256 p10Wh, int256 p50Wh, int256 p90Wh);
    /// @notice The gate of the forecast's first interval has closed: a forecast must be committed before it.
    /// @param firstInterval The window's first interval.
    /// @param gateClosureTime When its gate closed, unix s.
    error GateClosed(uint256 firstInterval, uint256 gateClosureTime);
    /// @notice The window starts more than MAX_LEAD_SECONDS ahead: the meter count kept with the forecast
    /// would be stale by then.
    /// @param firstInterval The window's first interval.
    /// @param latestFirstInterval The latest first interval a forecast may have now.
    error ForecastTooFarAhead(uint256 firstInterval, uint256 latestFirstInterval);
    /// @notice The region has a forecast from this interval already.
    /// @param regionId The region.
    /// @param firstInterval The window's first interval.
    error ForecastAlreadyCommitted(uint32 regionId, uint256 firstInterval);
    /// @notice The meter registry has no meter in the region: there would be nothing to score against.
    /// @param regionId The region.
    error RegionHasNoMeters(uint32 regionId);
    /// @notice The region has no forecast from this interval.
    /// @param regionId The region.
    /// @param firstInterval The window's first interval.
    error ForecastNotCommitted(uint32 regionId, uint256 firstInterval);
    /// @notice The window's last interval has not ended: its meters have not metered it yet.
    /// @param regionId The region.
    /// @param firstInterval The window's first interval.
    /// @param windowEndTime When the window ends, unix s.
    error WindowNotEnded(uint32 regionId, uint256 firstInterval, uint256 windowEndTime);
    /// @notice `meter` is registered in `meterRegionId`, not in the forecast's region.
    /// @param meter The meter.
    /// @param meterRegionId Its region.
    /// @param regionId The forecast's region.
    error MeterNotInRegion(address meter, uint32 meterRegionId, uint32 regionId);
    /// @notice `meter` was registered in the region after the forecast was committed: it is not one of
    /// the meters the forecast is scored over.
    /// @param meter The meter.
    /// @param regionIndex Its place among the region's meters (regionMeterIndex).
    /// @param meterCount The region's meters when the forecast was committed.
    error MeterRegisteredAfterCommit(address meter, uint256 regionIndex, uint256 meterCount);
    /// @notice `meter` is tallied in this forecast already.
    /// @param meter The meter.
    error MeterAlreadyTallied(address meter);
    /// @notice `meter`'s profile over the window may still change: it has not read in the window's last
    /// second or since, and a late reading may still land in the window until `finalAt`.
    /// @param meter The meter.
    /// @param lastReadingAt Its latest reading, unix s (0: none yet).
    /// @param finalAt The window's end plus the registry's maxReadingAge, unix s.
    error MeterReadingsPending(address meter, uint256 lastReadingAt, uint256 finalAt);
    /// @notice Not every meter of the region at commitment is tallied yet.
    /// @param regionId The region.
    /// @param firstInterval The window's first interval.
    /// @param metersTallied Meters tallied so far.
    /// @param meterCount Meters to tally.
    error TallyIncomplete(uint32 regionId, uint256 firstInterval, uint256 metersTallied, uint256 meterCount);
    /// @notice The vectors given are not the ones committed.
    /// @param regionId The region.
    /// @param firstInterval The window's first interval.
    /// @param givenHash keccak256(abi.encode(p10Wh, p50Wh, p90Wh)) of the vectors given.
    /// @param committedHash The hash committed.
    error ForecastMismatch(uint32 regionId, uint256 firstInterval, bytes32 givenHash, bytes32 committedHash);
    /// @notice The forecast is scored already.
    /// @param regionId The region.
    /// @param firstInterval The window's first interval.
    error ForecastAlreadyScored(uint32 regionId, uint256 firstInterval);
    /// @notice The forecast is not scored yet.
    /// @param regionId The region.
    /// @param firstInterval The window's first interval.
    error ForecastNotScored(uint32 regionId, uint256 firstInterval);

    // ----------------------------------------------------------------------------- functions

    /// @notice Commits `regionId`'s forecast for the `p10Wh.length` intervals from `firstInterval`.
    /// Only the region's verified, authorized GridManagement operator (OperatorNotAuthorized,
    /// OperatorNotInRegion); 1..MAX_INTERVALS intervals (IntervalCountOutOfRange), three vectors of one
    /// length (QuantileLengthMismatch), P10 ≤ P50 ≤ P90 in every interval (QuantilesCrossed); the window
    /// starts at most MAX_LEAD_SECONDS ahead (ForecastTooFarAhead) and the gate of `firstInterval` is
    /// still open (GateClosed: from gateClosureTime(firstInterval) on); one forecast per region and first
    /// interval (ForecastAlreadyCommitted); the region has meters (RegionHasNoMeters).
    /// @param regionId The caller's region.
    /// @param firstInterval The window's first interval (unix s / 900).
    /// @param p10Wh The 10 % quantile of the region's net import per interval, Wh.
    /// @param p50Wh The median, Wh.
    /// @param p90Wh The 90 % quantile, Wh.
    function commitForecast(
        uint32 regionId,
        uint256 firstInterval,
        int32[] calldata p10Wh,
        int32[] calldata p50Wh,
        int32[] calldata p90Wh
    ) external;

    /// @notice Adds `meters` to the sums of the forecast's window (anyone; 1..MAX_TALLY_BATCH meters:
    /// EmptyBatch, BatchTooLarge). ForecastNotCommitted; WindowNotEnded before the window's end; per meter
    /// MeterUnknown (from the registry), MeterNotInRegion, MeterRegisteredAfterCommit,
    /// MeterAlreadyTallied, MeterReadingsPending. All or nothing.
    /// @param regionId The forecast's region.
    /// @param firstInterval The forecast's first interval.
    /// @param meters Meters of the region at commitment, not tallied yet.
    function tallyMeters(uint32 regionId, uint256 firstInterval, address[] calldata meters) external;

    /// @notice Scores the forecast with its committed vectors against the tallied sums, stores the score
    /// and emits ForecastScored (anyone, once: ForecastAlreadyScored). ForecastNotCommitted,
    /// TallyIncomplete until every meter of the region at commitment is tallied, ForecastMismatch for
    /// other vectors than the committed ones.
    /// @param regionId The forecast's region.
    /// @param firstInterval The forecast's first interval.
    /// @param p10Wh The committed P10, Wh.
    /// @param p50Wh The committed P50, Wh.
    /// @param p90Wh The committed P90, Wh.
    /// @return score The score, as stored.
    function scoreForecast(
        uint32 regionId,
        uint256 firstInterval,
        int32[] calldata p10Wh,
        int32[] calldata p50Wh,
        int32[] calldata p90Wh
    ) external returns (ForecastScore memory score);

    /// @notice The score scoreForecast would store now (scoredAt 0), with its checks, stored nothing.
    /// Scoring a forecast that is scored already gives the same figures.
    /// @param regionId The forecast's region.
    /// @param firstInterval The forecast's first interval.
    /// @param p10Wh The committed P10, Wh.
    /// @param p50Wh The committed P50, Wh.
    /// @param p90Wh The committed P90, Wh.
    function previewScore(
        uint32 regionId,
        uint256 firstInterval,
        int32[] calldata p10Wh,
        int32[] calldata p50Wh,
        int32[] calldata p90Wh
    ) external view returns (ForecastScore memory);

    /// @notice The forecast as kept (ForecastNotCommitted if none).
    /// @param regionId The region.
    /// @param firstInterval The window's first interval.
    function getForecast(uint32 regionId, uint256 firstInterval) external view returns (Forecast memory);

    /// @notice The stored score (ForecastNotScored until scoreForecast).
    /// @param regionId The region.
    /// @param firstInterval The window's first interval.
    function getScore(uint32 regionId, uint256 firstInterval) external view returns (ForecastScore memory);

    /// @notice The window's net import per interval summed over the meters tallied so far, Wh
    /// (ForecastNotCommitted if none).
    /// @param regionId The region.
    /// @param firstInterval The window's first interval.
    function getNetImport(uint32 regionId, uint256 firstInterval) external view returns (int256[] memory netImportWh);

    /// @notice Whether `meter` is tallied in the forecast (false for a meter of another region or
    /// registered after the commitment, which is never tallied).
    /// @param regionId The region.
    /// @param firstInterval The window's first interval.
    /// @param meter The meter.
    function isMeterTallied(uint32 regionId, uint256 firstInterval, address meter) external view returns (bool);

    /// @notice When the gate of `interval` closes: interval × 900 − gateClosure() (0 if that is before
    /// time 0; saturated at the top for absurd intervals), as the auction closes the gate of the period
    /// starting then.
    /// @param interval The interval.
    function gateClosureTime(uint256 interval) external view returns (uint256);
}
