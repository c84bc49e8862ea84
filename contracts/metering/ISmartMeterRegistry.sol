// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISmartMeter} from "./ISmartMeter.sol";
import {IEnergyToken} from "../tokens/IEnergyToken.sol";
import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {BatchTooLarge, EmptyBatch, InvalidHistoryPage, MeterInactive, MeterUnknown} from "../utils/GridErrors.sol";

/// @title ISmartMeterRegistry
/// @notice ISmartMeter plus the registry, gateway batches, meter-signed readings relayed by anyone,
/// load profile and consumption redemption. The SmartMeter's address also serves ISmartMeterExtension
/// (registration, the reading bounds and the regions' views), from its extension: callers see one
/// contract, whose whole interface is both (the deployment manifest lists both ABIs as one). The
/// extension's errors and events are declared here.
interface ISmartMeterRegistry is ISmartMeter {
    /// @notice A registered meter.
    struct MeterInfo {
        address owner; // receives minted Wh, may redeem consumption
        uint32 regionId; // grid region the meter is connected in
        bool active; // false while the operator has it deactivated
        bool awaitingBaseline; // its next reading sets the baseline and counts no energy
        uint256 lastReadingAt; // unix s of the latest accepted reading or registration baseline, 0 = none
        bool vaultDelivery; // its export is credited to the owner's vault balance and its readings place standing orders
    }

    /// @notice A meter's standing limits in the reading market (0 price: that side is off; 0 cap: no cap).
    struct StandingOrder {
        uint256 sellPricePerKWh; // lowest price its metered export sells at, PaymentToken base units per kWh
        uint256 sellCapWh; // most export sold per interval
        uint256 buyPricePerKWh; // highest price its metered import is bought at
        uint256 buyCapWh; // most import bought per interval
    }

    /// @notice One 900-second load-profile interval of a meter.
    struct IntervalRecord {
        uint256 interval; // timestamp / 900
        uint256 consumptionWh; // imported in this interval
        uint256 productionWh; // exported in this interval
        // The frequency and voltage of the interval's latest reading; 0 on an interval without a reading.
        uint256 gridFrequencyMilliHz;
        uint256 voltagePerMille;
    }

    /// @notice A reading signed by its meter's key (EIP-712), for any relayer to submit. The signed
    /// message is `SignedReading(address meter,uint256 nonce,uint256 deadline,MeterReading reading)`
    /// over the domain `SmartMeter`, version `1`, this chain and this contract; v, r, s are the signature.
    struct SignedReading {
        address meter; // the meter, which is also the address of the device key that signs
        uint256 nonce; // nonces(meter) when accepted: a meter's signed readings use 0, 1, 2, ... in turn
        uint256 deadline; // unix s; the signature is void after it
        MeterReading reading; // what the meter measured
        uint8 v; // signature recovery id, 27 or 28
        bytes32 r; // signature r
        bytes32 s; // signature s, in the lower half of the curve order (EIP-2)
    }

    /// @notice A meter entered the registry.
    /// @param meter The meter's address.
    /// @param owner Receives the meter's minted Wh.
    /// @param regionId Grid region the meter is connected in.
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
    /// @param meter The meter's address.
    event MeterDeactivated(address indexed meter);
    /// @notice The vault that vault-delivered energy is credited in, and the market its readings place standing orders in, were set.
    /// @param vault The EnergyVault.
    /// @param readingMarket The market told of every vault-delivered reading (zero: none).
    event VaultSet(address indexed vault, address readingMarket);
    /// @notice `owner` chose where `meter`'s export goes: its vault balance (`enabled`) or its wallet.
    /// @param meter The meter.
    /// @param owner Its owner.
    /// @param enabled True: into the vault, and readings place the meter's standing orders.
    event VaultDeliverySet(address indexed meter, address indexed owner, bool enabled);
    /// @notice `owner` set `meter`'s standing limits in the reading market, as stored (rounded in the owner's
    /// favour to a price's seven and a cap's four significant digits); its readings place orders at them.
    /// @param meter The meter.
    /// @param owner Its owner, whose vault balance trades.
    /// @param sellPricePerKWh Lowest price to sell export at (0: no selling).
    /// @param sellCapWh Most export to sell per interval, Wh (0: all of it).
    /// @param buyPricePerKWh Highest price to buy import at (0: no buying).
    /// @param buyCapWh Most import to buy per interval, Wh (0: all of it).
    event StandingOrderSet(
        address indexed meter,
        address indexed owner,
        uint256 sellPricePerKWh,
        uint256 sellCapWh,
        uint256 buyPricePerKWh,
        uint256 buyCapWh
    );
    /// @notice `owner` removed `meter`'s standing limits: its readings place nothing from now on.
    /// @param meter The meter.
    /// @param owner Its owner.
    event StandingOrderRemoved(address indexed meter, address indexed owner);
    /// @notice The operator restored a meter: its next reading sets a new baseline.
    /// @param meter The meter's address.
    event MeterReactivated(address indexed meter);
    /// @notice A reading set the meter's baseline; energy up to these registers is not counted.
    /// @param meter The meter's address.
    /// @param timestamp The reading's time, unix s.
    /// @param consumptionRegisterWh Import register at the baseline.
    /// @param productionRegisterWh Export register at the baseline.
    event MeterBaselineSet(
        address indexed meter, uint256 timestamp, uint256 consumptionRegisterWh, uint256 productionRegisterWh
    );
    /// @notice A reading was accepted; the export it counted was minted to the meter's owner (with vault
    /// delivery: to the vault, credited to the owner there). Frequency and voltage are kept in the load
    /// profile (getIntervalHistory), not repeated here.
    /// @dev The figures are packed into one word of log data instead of three (512 gas a reading), from the
    /// low bits up: the reading's time, unix s (bits 0-39) | consumptionWh, the import register's increase
    /// since the previous reading (40-79) | productionWh, the export register's (80-119). An increase is at
    /// most MAX_INTERVAL_ENERGY_WH, so each fits its 40 bits.
    /// @param meter The meter's address.
    /// @param reading The reading's time and the two increases, packed as above.
    event ReadingAccepted(address indexed meter, uint256 reading);
    /// @notice The owner burned `amountWh` EnergyToken against the meter's metered consumption.
    /// @param meter The meter whose consumption was redeemed.
    /// @param owner The meter's owner, whose tokens were burned.
    /// @param amountWh Wh burned.
    event ConsumptionRedeemed(address indexed meter, address indexed owner, uint256 amountWh);
    /// @notice The admin changed the rate limit between two readings of one meter.
    /// @param previousSeconds The former limit, seconds.
    /// @param newSeconds The new limit, seconds.
    event MinReadingIntervalUpdated(uint256 previousSeconds, uint256 newSeconds);
    /// @notice The admin changed how old a reading may be when it arrives.
    /// @param previousSeconds The former limit, seconds.
    /// @param newSeconds The new limit, seconds.
    event MaxReadingAgeUpdated(uint256 previousSeconds, uint256 newSeconds);
    /// @notice `meter` raised its signed-reading nonce: readings it signed with a lower nonce and
    /// nobody submitted yet can no longer be submitted.
    /// @param meter The meter (its device key), which called.
    /// @param previousNonce The nonce before.
    /// @param newNonce The nonce now: the meter's next signed reading must carry it.
    event ReadingNoncesInvalidated(address indexed meter, uint256 previousNonce, uint256 newNonce);
    /// @notice `meter`'s standing orders trade in market zone `zone` from its next reading on.
    /// @param meter The meter.
    /// @param regionId Its grid region.
    /// @param zone The reading market's zone of that region: 0, the bus, if the region is not one.
    event MeterZoneSynced(address indexed meter, uint32 regionId, uint256 zone);
    /// @notice `owner` raised its standing-order nonce: standing limits it signed with a lower nonce and
    /// nobody relayed yet can no longer be relayed.
    /// @param owner The meter owner (or any account), which called.
    /// @param previousNonce The nonce before.
    /// @param newNonce The nonce now: the owner's next signed standing limits must carry it.
    event StandingOrderNoncesInvalidated(address indexed owner, uint256 previousNonce, uint256 newNonce);

    /// @notice `meter` is registered already.
    /// @param meter The meter's address.
    error MeterAlreadyRegistered(address meter);
    /// @notice `vault` keeps the balances of another EnergyToken than this registry mints.
    /// @param vault The vault given.
    error VaultTokenMismatch(address vault);
    /// @notice No vault is set, so no meter's energy can be delivered into one.
    error VaultNotSet();
    /// @notice No reading market is set: standing orders have nowhere to trade.
    error NoReadingMarket();
    /// @notice The reading market does not answer to this registry and the vault named with it: its
    /// vault() or meterRegistry() differs (or it has no such views, or no code), or the vault has not
    /// registered it as a market.
    /// @param readingMarket The market given.
    error ReadingMarketMismatch(address readingMarket);
    /// @notice The registry has named MAX_READING_MARKETS reading markets already; it can name one of
    /// them again, or none, but no new one.
    /// @param maxReadingMarkets MAX_READING_MARKETS.
    error TooManyReadingMarkets(uint256 maxReadingMarkets);
    /// @notice The registry never named this reading market: it holds no standing orders of its meters.
    /// @param readingMarket The market given.
    error UnknownReadingMarket(address readingMarket);
    /// @notice A standing limit above what its field holds.
    /// @param value The price (PaymentToken base units per kWh) or cap (Wh) given.
    /// @param maxValue The largest allowed.
    error StandingOrderOutOfRange(uint256 value, uint256 maxValue);
    /// @notice The signed standing limits' deadline has passed.
    /// @param meter The meter named in the signed limits.
    /// @param deadline The signature's deadline, unix s.
    error StandingOrderSignatureExpired(address meter, uint256 deadline);
    /// @notice The signature is not the meter owner's of these limits at the owner's current
    /// standing-order nonce: another key signed, other limits, another chain or contract, or a
    /// signature used already (its nonce is spent).
    /// @param meter The meter named in the signed limits.
    /// @param owner The meter's owner, who must sign.
    error InvalidStandingOrderSignature(address meter, address owner);
    /// @notice `meter` is active already.
    /// @param meter The meter's address.
    error MeterAlreadyActive(address meter);
    /// @notice The zero address cannot be a meter.
    error InvalidMeterAddress();
    /// @notice The zero address cannot own a meter.
    error InvalidOwnerAddress();
    /// @notice `caller` does not own `meter`.
    /// @param meter The meter's address.
    /// @param caller The account that called.
    error NotMeterOwner(address meter, address caller);
    /// @notice The reading's timestamp is not after the previous one's.
    /// @param meter The meter's address.
    /// @param timestamp The reading's time, unix s.
    /// @param previousTimestamp The meter's latest accepted reading or registration time, unix s.
    error ReadingNotAfterPrevious(address meter, uint256 timestamp, uint256 previousTimestamp);
    /// @notice The reading's timestamp is later than the block's.
    /// @param meter The meter's address.
    /// @param timestamp The reading's time, unix s.
    /// @param blockTimestamp The block's time, unix s.
    error ReadingInFuture(address meter, uint256 timestamp, uint256 blockTimestamp);
    /// @notice The reading came sooner than the minimum interval after the previous one.
    /// @param meter The meter's address.
    /// @param timestamp The reading's time, unix s.
    /// @param earliestTimestamp The earliest time the meter's next reading may carry, unix s.
    error ReadingTooFrequent(address meter, uint256 timestamp, uint256 earliestTimestamp);
    /// @notice The reading is older than maxReadingAge() at arrival (a back-dated reading).
    /// @param meter The meter's address.
    /// @param timestamp The reading's time, unix s.
    /// @param oldestTimestamp The oldest time a reading in this block may carry, unix s.
    error ReadingTooOld(address meter, uint256 timestamp, uint256 oldestTimestamp);
    /// @notice The import register is below the previous reading's: registers never go backwards.
    /// @param meter The meter's address.
    /// @param registerWh The reading's import register, Wh.
    /// @param previousRegisterWh The previous import register, Wh.
    error ConsumptionRegisterDecreased(address meter, uint256 registerWh, uint256 previousRegisterWh);
    /// @notice The export register is below the previous reading's: registers never go backwards.
    /// @param meter The meter's address.
    /// @param registerWh The reading's export register, Wh.
    /// @param previousRegisterWh The previous export register, Wh.
    error ProductionRegisterDecreased(address meter, uint256 registerWh, uint256 previousRegisterWh);
    /// @notice A register value above MAX_REGISTER_WH.
    /// @param meter The meter's address.
    /// @param registerWh The register value given, Wh.
    error RegisterOutOfRange(address meter, uint256 registerWh);
    /// @notice More energy in one 900-second interval than the load profile holds (2^27 - 1 Wh, about 134 MWh).
    /// @param meter The meter's address.
    /// @param interval The interval (timestamp / 900).
    error IntervalEnergyOutOfRange(address meter, uint256 interval);
    /// @notice Grid frequency outside MIN_FREQUENCY_MILLIHZ..MAX_FREQUENCY_MILLIHZ.
    /// @param meter The meter's address.
    /// @param gridFrequencyMilliHz The frequency reported, mHz.
    error FrequencyOutOfBounds(address meter, uint256 gridFrequencyMilliHz);
    /// @notice Voltage outside MIN_VOLTAGE_PER_MILLE..MAX_VOLTAGE_PER_MILLE of nominal.
    /// @param meter The meter's address.
    /// @param voltagePerMille The voltage reported, per mille of nominal.
    error VoltageOutOfBounds(address meter, uint256 voltagePerMille);
    /// @notice The batch's meter and reading lists differ in length.
    /// @param meters Entries in the meter list.
    /// @param readings Entries in the reading list.
    error BatchLengthMismatch(uint256 meters, uint256 readings);
    /// @notice An interval beyond MAX_INTERVAL (the load profile's 65,536 laps of 35 days end in the year 8,250).
    /// @param interval The interval asked for.
    error IntervalOutOfRange(uint256 interval);
    /// @notice A day whose intervals lie beyond MAX_INTERVAL.
    /// @param day The day asked for (timestamp / 86,400).
    error DayOutOfRange(uint256 day);
    /// @notice The interval has left the load profile: it lies PROFILE_CAPACITY or more intervals (35 days)
    /// before the current one.
    /// @param meter The meter's address.
    /// @param interval The interval asked for.
    error IntervalNotRetained(address meter, uint256 interval);
    /// @notice A rate limit longer than one 900-second interval.
    /// @param secondsRequested The limit asked for, seconds.
    /// @param maxSeconds The longest limit allowed, seconds.
    error MinReadingIntervalTooLong(uint256 secondsRequested, uint256 maxSeconds);
    /// @notice A reading age limit outside MAX_READING_AGE_FLOOR_SECONDS..MAX_READING_AGE_CEILING_SECONDS.
    /// @param secondsRequested The limit asked for, seconds.
    /// @param minSeconds The shortest limit allowed, seconds.
    /// @param maxSeconds The longest limit allowed, seconds.
    error MaxReadingAgeOutOfRange(uint256 secondsRequested, uint256 minSeconds, uint256 maxSeconds);
    /// @notice A redemption of zero Wh.
    error ZeroRedemption();
    /// @notice More Wh than the meter has metered and not yet redeemed.
    /// @param meter The meter's address.
    /// @param amountWh Wh asked to redeem.
    /// @param redeemableWh Wh the meter has metered and not yet redeemed.
    error RedemptionExceedsConsumption(address meter, uint256 amountWh, uint256 redeemableWh);
    /// @notice The signed reading's deadline has passed.
    /// @param meter The meter named in the signed reading.
    /// @param nonce The signed reading's nonce.
    /// @param deadline The signed reading's deadline, unix s.
    error ReadingSignatureExpired(address meter, uint256 nonce, uint256 deadline);
    /// @notice The signature does not recover to the meter: another key signed, or it was made for
    /// another chain id, another SmartMeter or other contents (all recover to an unrelated address),
    /// or it is no valid signature at all (signer 0).
    /// @param meter The meter named in the signed reading.
    /// @param nonce The signed reading's nonce.
    /// @param signer The address the signature recovers to, 0 when it recovers to none.
    error InvalidReadingSignature(address meter, uint256 nonce, address signer);
    /// @notice The signature's s lies in the upper half of the curve order: the malleable twin of a
    /// valid signature, which EIP-2 rules out.
    /// @param meter The meter named in the signed reading.
    /// @param nonce The signed reading's nonce.
    /// @param s The signature's s.
    error MalleableReadingSignature(address meter, uint256 nonce, bytes32 s);
    /// @notice The nonce is not the meter's next: below it, the signed reading was accepted already
    /// (a replay); above it, an earlier signed reading of the meter has not been accepted yet.
    /// @param meter The meter named in the signed reading.
    /// @param nonce The signed reading's nonce.
    /// @param expectedNonce nonces(meter), the nonce the meter's next signed reading must carry.
    error InvalidReadingNonce(address meter, uint256 nonce, uint256 expectedNonce);
    /// @notice invalidateNonces was given a nonce that does not raise the meter's (lowering it would
    /// revive signed readings already used or voided), or one above MAX_READING_NONCE.
    /// @param meter The meter, which called.
    /// @param newNonce The nonce asked for.
    /// @param currentNonce nonces(meter).
    error ReadingNonceNotRaised(address meter, uint256 newNonce, uint256 currentNonce);
    /// @notice invalidateStandingOrderNonces was given a nonce that does not raise the caller's (lowering
    /// it would revive signed limits already used or voided), or one above MAX_STANDING_ORDER_NONCE.
    /// @param owner The account, which called.
    /// @param newNonce The nonce asked for.
    /// @param currentNonce standingOrderNonces(owner).
    error StandingOrderNonceNotRaised(address owner, uint256 newNonce, uint256 currentNonce);
    /// @notice A packed batch's length is not a whole number of entries.
    /// @param lengthBytes The batch's length.
    /// @param entryBytes The length of one entry: PACKED_READING_BYTES or PACKED_SIGNED_READING_BYTES.
    error PackedBatchMalformed(uint256 lengthBytes, uint256 entryBytes);

    /// @notice Submits one reading each for many meters. GATEWAY_ROLE only; the whole batch reverts on a bad item.
    function submitReadings(address[] calldata meters, MeterReading[] calldata readings) external;

    /// @notice Submits readings signed by their meters (EIP-712); anyone may relay them, so a gateway
    /// or web service forwards readings without holding a device key or a role. Up to MAX_BATCH_SIZE
    /// entries, several of one meter allowed (in nonce and time order).
    /// @dev All or nothing: a bad entry reverts the whole batch with a custom error naming the entry's
    /// meter (and, for the signature checks, its nonce), so a relayer sees which entry to drop, as
    /// with submitReadings. Per entry, in order: ReadingSignatureExpired (deadline before the block),
    /// MalleableReadingSignature (high s), InvalidReadingSignature (not signed by the meter for this
    /// chain and contract), InvalidReadingNonce (replayed or out of order), then the reading's own
    /// checks as for submitReading. A relayer that may race another one drops the entries whose nonce
    /// is below nonces(meter) before it sends.
    /// @param signedReadings The readings with their meters' signatures.
    function submitSignedReadings(SignedReading[] calldata signedReadings) external;

    /// @notice submitReadings with the batch in packed calldata, which costs about a quarter of the ABI
    /// encoding's calldata. GATEWAY_ROLE only. Each entry is PACKED_READING_BYTES (41) bytes, big-endian
    /// and without padding: the meter (20 bytes), the reading's timestamp (5), consumption (6),
    /// production (6), gridFrequency (2) and voltage (2). Every value that fits a reading's checks fits
    /// its field.
    /// @dev The entries are checked and recorded exactly as submitReadings does, with the same errors;
    /// EmptyBatch, BatchTooLarge or PackedBatchMalformed for a batch that is not 1 to MAX_BATCH_SIZE
    /// whole entries.
    /// @param packed The entries, one after another.
    function submitPackedReadings(bytes calldata packed) external;

    /// @notice submitSignedReadings with the batch in packed calldata and 64-byte signatures (EIP-2098);
    /// anyone may relay. Each entry is PACKED_SIGNED_READING_BYTES (115) bytes: a packed reading as in
    /// submitPackedReadings, then the nonce (5 bytes) and the deadline (5), then the signature's r (32) and
    /// vs (32: s with v - 27 in its top bit). The meter signs the same SignedReading as for
    /// submitSignedReadings, so a relayer may send a signature either way.
    /// @dev The entries are checked as submitSignedReadings checks them, in the same order and with the
    /// same errors; EmptyBatch, BatchTooLarge or PackedBatchMalformed for a batch that is not 1 to
    /// MAX_BATCH_SIZE whole entries.
    /// @param packed The entries, one after another.
    function submitPackedSignedReadings(bytes calldata packed) external;

    /// @notice Raises the calling meter's signed-reading nonce to `newNonce`, so that readings its key
    /// signed with a lower nonce and handed to a relayer can no longer be submitted (a reading the
    /// device found wrong after signing it). Only the meter's own key may: the owner could otherwise
    /// void readings to move metered energy between intervals (registers are cumulative, so the
    /// next reading would book it later). MeterUnknown for a caller that is no registered meter,
    /// ReadingNonceNotRaised for a nonce not above nonces(meter) or above MAX_READING_NONCE.
    /// Open during a pause.
    /// @param newNonce The nonce the meter's next signed reading must carry.
    function invalidateNonces(uint256 newNonce) external;

    /// @notice Settles the meters' placed standing orders whose markets may clear (anyone; up to
    /// MAX_BATCH_SIZE meters): a keeper's batch after the last readings, or an owner who wants a fill
    /// before the meter's next-but-one reading settles it.
    /// @param meters The meters.
    function settleStandingOrders(address[] calldata meters) external;

    /// @notice Settles the meters' standing orders in `readingMarket_`, one of readingMarkets(): the
    /// orders a market held when another was named in its place are settled there (anyone; up to
    /// MAX_BATCH_SIZE meters), as settleStandingOrders settles them in the current one.
    /// @param readingMarket_ A reading market the registry has named, now or before.
    /// @param meters The meters.
    function settleStandingOrdersIn(address readingMarket_, address[] calldata meters) external;

    /// @notice The EnergyToken this meter registry mints.
    function energyToken() external view returns (IEnergyToken);

    /// @notice The vault that vault-delivered energy is minted into.
    function vault() external view returns (IEnergyVault);

    /// @notice The market that vault-delivered readings place standing orders in (zero: none).
    function readingMarket() external view returns (address);

    /// @notice Burns `amountWh` of the caller's EnergyToken against `meter`'s metered, unredeemed
    /// consumption (its owner only). Import that the meter's standing bids bought (retired at their
    /// settlement) or still bid for, in any market of readingMarkets(), is covered already and not
    /// redeemable: RedemptionExceedsConsumption names what is.
    function redeemConsumption(address meter, uint256 amountWh) external;

    /// @notice Stops readings and so minting (emergency shutdown). Registers are cumulative, so the
    /// first reading after the pause counts everything metered during it. PAUSER_ROLE only.
    function pause() external;

    /// @notice Resumes readings. DEFAULT_ADMIN_ROLE only: a guardian can stop metering, not restart it.
    function unpause() external;

    function getMeter(address meter) external view returns (MeterInfo memory);
    /// @notice The meter's latest reading: its time and registers from the meter's record, its frequency and
    /// voltage from the load profile (zeros for a registration baseline, and once the profile has let the
    /// reading's interval go).
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
    /// @notice The nonce `meter`'s next signed reading must carry: how many it has had accepted,
    /// plus what it skipped with invalidateNonces.
    function nonces(address meter) external view returns (uint256);
    /// @notice The EIP-712 domain separator signed readings are hashed with (this chain, this contract).
    // slither-disable-next-line naming-convention: the name EIP-2612 made the convention
    function DOMAIN_SEPARATOR() external view returns (bytes32);
}
