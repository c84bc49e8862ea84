// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// Errors that several contracts raise are declared once here, as OpenZeppelin declares its token
// errors in IERC6093. They are declared at file level so that each contract's ABI lists only the ones
// it uses.

/// @notice The zero address where a contract, a token, the admin or an account is needed.
error ZeroAddress();

/// @notice An amount of zero.
error ZeroAmount();

/// @notice No order has id `orderId`.
/// @param orderId The id asked for.
error OrderUnknown(uint256 orderId);

/// @notice The zero address cannot receive fees.
/// @param feeRecipient The fee recipient given or set.
error InvalidFeeRecipient(address feeRecipient);

/// @notice A fee of `feeBps` basis points, above `maxFeeBps`.
/// @param feeBps The fee asked for, in basis points.
/// @param maxFeeBps The highest fee allowed, in basis points.
error FeeTooHigh(uint256 feeBps, uint256 maxFeeBps);

/// @notice Only `feeRecipient` may withdraw the accrued fees; `caller` is not it.
/// @param caller The account that called.
/// @param feeRecipient The fee recipient given or set.
error NotFeeRecipient(address caller, address feeRecipient);

/// @notice There are no accrued fees to withdraw.
error NoFeesAccrued();

/// @notice A batch with no entries.
error EmptyBatch();

/// @notice A batch of `size` entries, more than `maxSize`.
/// @param size Entries in the batch.
/// @param maxSize The most entries a batch may hold.
error BatchTooLarge(uint256 size, uint256 maxSize);

/// @notice A page of `limit` entries: zero or more than `maxLimit`.
/// @param limit The page size asked for.
/// @param maxLimit The largest page allowed.
error InvalidPageSize(uint256 limit, uint256 maxLimit);

/// @notice A page limit of `limit`: zero or more than `maxLimit`.
/// @param limit The page size asked for.
/// @param maxLimit The largest page allowed.
error InvalidPageLimit(uint256 limit, uint256 maxLimit);

/// @notice A history page of `count` entries: zero or more than `maxCount`.
/// @param count Entries asked for.
/// @param maxCount The most entries a page may hold.
error InvalidHistoryPage(uint256 count, uint256 maxCount);

/// @notice Not one of IGridManagement's energy types (0 solar .. 6 natural gas).
/// @param energyType The value given.
error InvalidEnergyType(uint256 energyType);

/// @notice A severity other than 1 ALERT, 2 EMERGENCY or 3 CRITICAL.
/// @param severity The value given.
error InvalidSeverity(uint256 severity);

/// @notice A grid frequency outside 45-65 Hz: no grid in operation reports it.
/// @param frequencyMilliHz The frequency reported, in mHz.
error FrequencyOutOfBounds(uint256 frequencyMilliHz);

/// @notice A voltage outside 50-150 % of nominal.
/// @param voltagePerMille The voltage reported, in per mille of nominal.
error VoltageOutOfBounds(uint256 voltagePerMille);

/// @notice `account` is not a verified, authorized (not suspended) GridManagement operator.
/// @param account The account checked.
error OperatorNotAuthorized(address account);

/// @notice No meter is registered at `meter`.
/// @param meter The meter address.
error MeterUnknown(address meter);

/// @notice `meter` is deactivated.
/// @param meter The meter address.
error MeterInactive(address meter);

/// @notice A constructor got the zero address for `dependency`: the contract would exist uninitialized.
/// @param dependency The name of the constructor argument.
error NotInitialized(string dependency);

/// @notice `account` is not a registered demand-response grid operator.
/// @param account The account checked.
error GridOperatorNotRegistered(address account);

/// @notice `consumer` is not a registered demand-response consumer.
/// @param consumer The account checked.
error ConsumerNotRegistered(address consumer);

/// @notice The payment token refused to move a reward budget without an error of its own: it
/// returned false, or reverted with no data. Nothing was booked. (A token's own error, such as an
/// allowance or a balance too small, comes through as it is.)
/// @param token The payment token.
/// @param payer The account the budget was to come from: the operator starting the event or program.
/// @param amount The budget, in the token's base units.
error RewardDistributionFailed(address token, address payer, uint256 amount);

/// @notice A duration outside 1..`maxSeconds`.
/// @param durationSeconds The duration given, in seconds.
/// @param maxSeconds The longest duration allowed, in seconds.
error DurationOutOfRange(uint256 durationSeconds, uint256 maxSeconds);

/// @title GridErrors
/// @notice This library is empty, since the errors above are the file's content. It exists to give the
/// file a build artifact. Without one, Ape takes the file for uncompiled and rebuilds it every time the
/// project loads, and in doing so it drops the interfaces that import the file from its record of
/// compiled sources.
library GridErrors {}

/// @notice A period beyond the last one a market can have, so that its keys would alias another's.
/// @param period The period given.
/// @param maxPeriod The last period a market can have.
error PeriodOutOfRange(uint256 period, uint256 maxPeriod);
