// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyAuction} from "./IEnergyAuction.sol";

/// @title IEnergyAuctionExtension
/// @notice The auction's rarely called functions: its settings and its views. The auction serves them at
/// its own address, through its extension (EnergyAuctionExtension), which it calls by delegatecall for any
/// function it does not hold itself, as Balancer's vault serves its extension: callers see one contract,
/// whose whole interface is IEnergyAuction and this one (the deployment manifest lists both ABIs as one).
/// Their errors and events are IEnergyAuction's.
interface IEnergyAuctionExtension {
    /// @notice The extension was called directly rather than through its auction: it holds no market.
    error NotThroughAuction();

    /// @notice Sets the market's zones and their links, once. Until then every order trades on the bus.
    /// DEFAULT_ADMIN_ROLE only.
    function setMarketZones(address zones) external;

    /// @notice Sets the price grid for markets that have no order yet. DEFAULT_ADMIN_ROLE only.
    function setPriceGrid(uint256 minPricePerKWh, uint256 tickSizePerKWh, uint256 maxPricePerKWh) external;

    /// @notice Stops new bids and asks, firm and standing (readings skip placement with PAUSED and the
    /// energy stays in the owner's balance); clearing, claims, the settlement of standing orders placed
    /// before and the fee withdrawal stay open, so no escrow waits for the pause to end. PAUSER_ROLE only.
    function pause() external;

    /// @notice Resumes bids and asks. DEFAULT_ADMIN_ROLE only.
    function unpause() external;

    /// @notice Seconds per delivery period.
    function periodLength() external view returns (uint256);

    /// @notice Seconds before a period's start at which its gate closes.
    function gateClosure() external view returns (uint256);

    /// @notice The current grid's lowest price, PaymentToken base units per kWh.
    function minPrice() external view returns (uint256);

    /// @notice The current grid's step between prices, PaymentToken base units per kWh.
    function tickSize() external view returns (uint256);

    /// @notice The current grid's highest price, PaymentToken base units per kWh.
    function maxPrice() external view returns (uint256);

    /// @notice The number of ticks of the current grid.
    function tickCount() external view returns (uint256);

    /// @notice The period under way: block.timestamp / periodLength().
    function currentPeriod() external view returns (uint256);

    /// @notice When the period's gate closes: period * periodLength() - gateClosure() (0 if that is
    /// before time 0; saturated at the top for absurd periods).
    function gateClosureTime(uint256 period) external view returns (uint256);

    /// @notice A market's grid, orders and result.
    function getMarket(uint256 period) external view returns (IEnergyAuction.MarketInfo memory);

    /// @notice Bid and ask volume, Wh, at every tick of the market's grid (the current grid for a
    /// market without orders), in the bus's book: the orders that name no zone. A zone's book is
    /// MarketZones.getZoneTickVolumes.
    function getTickVolumes(uint256 period)
        external
        view
        returns (uint256[] memory bidVolumesWh, uint256[] memory askVolumesWh);

    /// @notice Where the markets, their books and their zones' results are stored.
    function bookSlots() external view returns (IEnergyAuction.BookSlots memory slots);

    /// @notice The nonce `trader`'s next signed order must carry; each signed order submitted raises it by one.
    function nonces(address trader) external view returns (uint256);

    /// @notice An order as submitted.
    function getOrder(uint256 orderId) external view returns (IEnergyAuction.OrderInfo memory);

    /// @notice What the order gets (or got) from its market's clearing.
    function getOrderOutcome(uint256 orderId) external view returns (IEnergyAuction.OrderOutcome memory);

    /// @notice The EnergyToken (Wh) that asks escrow and bids buy, in the vault.
    function energyToken() external view returns (address);

    /// @notice The PaymentToken that bids escrow and sellers are paid in, in the vault.
    function paymentToken() external view returns (address);

    /// @notice The extension's own address and the settings it was deployed with, which the auction checks
    /// against its own at its deployment: its vault, meter registry, period length and gate closure. Asked
    /// through the auction, it names the extension the auction serves its functions from.
    function extensionSettings()
        external
        view
        returns (address extension, address vault, address meterRegistry, uint256 periodLengthSeconds, uint256 gateClosureSeconds);
}
