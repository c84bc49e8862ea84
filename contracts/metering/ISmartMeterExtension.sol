// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyVault} from "../vault/IEnergyVault.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";

/// @title ISmartMeterExtension
/// @notice The meter registry's rarely called functions: registering, deactivating and reactivating
/// meters, the two bounds every reading is checked against, the regions' views, and the settings of
/// vault delivery and standing orders that the admin and the owners change now and then. The SmartMeter serves
/// them at its own address through its extension (SmartMeterExtension), which it calls by delegatecall
/// for any function it does not hold itself, so callers see one contract whose whole interface is
/// ISmartMeterRegistry and this one. Their errors and events are ISmartMeterRegistry's.
interface ISmartMeterExtension {
    /// @notice The extension was called directly rather than through its SmartMeter: it holds no meters.
    error NotThroughSmartMeter();

    /// @notice Registers `meter`; its first reading sets the baseline. OPERATOR_ROLE only.
    /// @param meter The meter's address (its device key's address, which signs its readings).
    /// @param owner Receives the meter's minted Wh.
    /// @param regionId Grid region the meter is connected in.
    function registerMeter(address meter, address owner, uint32 regionId) external;

    /// @notice Registers `meter` with its registers read at installation as the baseline. OPERATOR_ROLE only.
    /// @param meter The meter's address (its device key's address, which signs its readings).
    /// @param owner Receives the meter's minted Wh.
    /// @param regionId Grid region the meter is connected in.
    /// @param consumptionRegisterWh Import register at installation, Wh.
    /// @param productionRegisterWh Export register at installation, Wh.
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

    /// @notice Sets the minimum seconds between two readings of one meter. DEFAULT_ADMIN_ROLE only.
    function setMinReadingInterval(uint256 secondsBetweenReadings) external;

    /// @notice Sets how old a reading may be when it arrives (block time minus reading time), within
    /// MAX_READING_AGE_FLOOR_SECONDS..MAX_READING_AGE_CEILING_SECONDS. DEFAULT_ADMIN_ROLE only.
    /// @dev The bound keeps a meter from back-dating readings at will (choosing after the fact which
    /// intervals and days its energy lands in, as a demand-response baseline reads them) while a
    /// gateway can still deliver what it buffered through an outage. Readings of an outage longer
    /// than the limit are dropped down to the ones still young enough: registers are cumulative, so
    /// the energy still counts, only booked in a later interval.
    /// @param maxAgeSeconds The new limit, seconds.
    function setMaxReadingAge(uint256 maxAgeSeconds) external;

    /// @notice How many meters were ever registered in `regionId`. The registry never moves or removes a
    /// meter (a deactivated one stays registered), so the count only grows, and the region's meters at
    /// any moment are exactly those whose regionMeterIndex is below the count taken then.
    /// @param regionId The grid region.
    function regionMeterCount(uint32 regionId) external view returns (uint256);

    /// @notice `meter`'s place among the meters of its region, in registration order, from 0.
    /// MeterUnknown for a meter that is not registered.
    /// @param meter The meter.
    function regionMeterIndex(address meter) external view returns (uint256);

    /// @notice The fewest seconds between two readings of one meter.
    function minReadingInterval() external view returns (uint256);

    /// @notice The oldest a reading may be when it arrives, seconds (DEFAULT_MAX_READING_AGE_SECONDS at deploy).
    function maxReadingAge() external view returns (uint256);

    // ----------------------------------------------------------------------------- vault delivery and standing orders

    /// @notice Sets the vault that vault-delivered energy is minted into and the market whose standing
    /// orders readings place (zero: none, and readings place nothing). DEFAULT_ADMIN_ROLE only. The
    /// market must move this vault's balances, as a market the vault registered, and take this
    /// registry's readings (ReadingMarketMismatch);
    /// each market named joins readingMarkets(), at most MAX_READING_MARKETS of them, so that orders
    /// left in a market named before still settle (settleStandingOrdersIn). A meter's zone counts only in the
    /// market it was synced with (syncMeterZone): after a change of market the meters trade on the bus until
    /// they are synced again.
    /// @param vault_ An EnergyVault of this registry's EnergyToken.
    /// @param readingMarket_ The market to tell of vault-delivered readings, or zero.
    function setVault(IEnergyVault vault_, address readingMarket_) external;

    /// @notice Chooses where `meter`'s export goes (its owner only): into the owner's vault balance, where
    /// it is tradable at once and the meter's standing orders trade it, or, as by default, to the wallet.
    /// @param meter The caller's meter.
    /// @param enabled True for the vault.
    function setVaultDelivery(address meter, bool enabled) external;

    /// @notice Sets `meter`'s standing limits in the reading market (its owner only), from its next reading
    /// on: each reading then offers the interval's export at `sellPricePerKWh` or more and bids for its import
    /// at `buyPricePerKWh` or less. Turns vault delivery on, where the orders trade. Both prices 0 remove
    /// the limits (whatever the caps), as removeStandingOrder does, with its one event. Spends the owner's
    /// standing-order nonce: limits the owner signed before and nobody relayed yet are void, so a
    /// relayer cannot bring superseded limits back. The limits are stored beside the owner's address, a
    /// price to seven significant digits (every price up to 16,777,215 exactly) and a cap to four (every
    /// cap up to 32,767 Wh exactly), rounded in the owner's favour: a sell price up, a buy price and a cap
    /// down. StandingOrderSet and getStandingOrder give them as stored.
    /// @param meter The caller's meter.
    /// @param sellPricePerKWh Lowest price to sell export at, PaymentToken base units per kWh (0: no selling).
    /// @param sellCapWh Most export to sell per interval, Wh (0: all of it).
    /// @param buyPricePerKWh Highest price to buy import at, PaymentToken base units per kWh (0: no buying).
    /// @param buyCapWh Most import to buy per interval, Wh (0: all of it).
    function setStandingOrder(
        address meter,
        uint256 sellPricePerKWh,
        uint256 sellCapWh,
        uint256 buyPricePerKWh,
        uint256 buyCapWh
    ) external;

    /// @notice Sets `meter`'s standing limits as setStandingOrder does, signed by the meter's owner
    /// (EIP-712 `StandingOrder(address meter,uint256 sellPricePerKWh,uint256 sellCapWh,uint256
    /// buyPricePerKWh,uint256 buyCapWh,uint256 nonce,uint256 deadline)` over the domain `SmartMeter`,
    /// version `1`), and relayed by anyone, so a household sets its limits without paying gas. Both
    /// prices 0 remove the limits as removeStandingOrder does. Each signature is used once: it carries
    /// standingOrderNonces(owner), which every call raises, as do the owner's own setStandingOrder,
    /// removeStandingOrder and invalidateStandingOrderNonces. The owner may be a contract wallet (ERC-1271).
    /// @param meter The meter.
    /// @param sellPricePerKWh Lowest price to sell export at (0: no selling).
    /// @param sellCapWh Most export to sell per interval, Wh (0: all of it).
    /// @param buyPricePerKWh Highest price to buy import at (0: no buying).
    /// @param buyCapWh Most import to buy per interval, Wh (0: all of it).
    /// @param deadline Unix s after which the signature is void.
    /// @param signature The owner's signature.
    function setStandingOrderBySig(
        address meter,
        uint256 sellPricePerKWh,
        uint256 sellCapWh,
        uint256 buyPricePerKWh,
        uint256 buyCapWh,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice The nonce `owner`'s next signed standing limits (setStandingOrderBySig) must carry.
    /// @param owner A meter owner.
    function standingOrderNonces(address owner) external view returns (uint256);

    /// @notice Removes `meter`'s standing limits (its owner only); orders already placed stay in their
    /// markets. Spends the owner's standing-order nonce, as setStandingOrder does.
    /// @param meter The caller's meter.
    function removeStandingOrder(address meter) external;

    /// @notice Raises the caller's standing-order nonce to `newNonce`, so that standing limits it signed
    /// with a lower nonce and handed to a relayer can no longer be relayed (every one of its meters').
    /// StandingOrderNonceNotRaised for a nonce not above standingOrderNonces(caller) or above
    /// MAX_STANDING_ORDER_NONCE.
    /// @param newNonce The nonce the caller's next signed standing limits must carry.
    function invalidateStandingOrderNonces(uint256 newNonce) external;

    /// @notice `meter`'s standing limits, as stored (see setStandingOrder).
    /// @param meter The meter.
    function getStandingOrder(address meter) external view returns (ISmartMeterRegistry.StandingOrder memory);

    /// @notice Takes `meter`'s market zone from the reading market's zones: the zone of the meter's region,
    /// or 0 (the bus) if the region is not a zone or the market has none. Anyone may call it, after a zone
    /// is added or the reading market changes; each interval's standing orders trade in the zone the meter
    /// had when it read. The zone holds for that reading market only.
    /// @param meter The meter.
    function syncMeterZone(address meter) external;

    /// @notice The market zone `meter`'s standing orders trade in now (0: the bus, also for a zone synced with
    /// another reading market than the current one).
    /// @param meter The meter.
    function meterZone(address meter) external view returns (uint256);

    /// @notice Every reading market the registry has named, the current one included, in the order named.
    function readingMarkets() external view returns (address[] memory);
}
