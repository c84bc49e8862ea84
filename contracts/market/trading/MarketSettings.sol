// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEnergyMarket} from "../IEnergyMarket.sol";
import {IReferencePrice} from "../../oracles/IPriceDiscovery.sol";
import {OrderStore} from "./OrderStore.sol";

/// @title MarketSettings
/// @notice This contract holds the admin's bounds on new orders: the smallest order, the highest
/// price, and an optional price band around a reference price, which is off by default.
/// @dev The smallest order and the highest price live in the market's global slot, which every new
/// order reads anyway, while the band's reference source is read only while the band is on. The band
/// rejects new orders priced outside the reference price plus or minus a share of it; trades still
/// execute at the orders' own prices.
abstract contract MarketSettings is OrderStore {
    /// @notice The widest price band allowed, which is ±100 % of the reference price.
    uint256 public constant MAX_PRICE_BAND_BPS = 10_000;

    IReferencePrice private _referencePrice;
    uint32 private _priceBandRegionId;

    // ---- Admin ----

    /// @inheritdoc IEnergyMarket
    function setMinOrderAmount(uint256 amountWh) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkMinOrderAmount(amountWh);
        uint256 previousWh = _state.minOrderAmountWh;
        _state.minOrderAmountWh = uint48(amountWh);
        emit MinOrderAmountUpdated(previousWh, amountWh);
    }

    /// @inheritdoc IEnergyMarket
    function setMaxPrice(uint256 pricePerKWh) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (pricePerKWh == 0 || pricePerKWh > PRICE_CAP_PER_KWH) {
            revert MaxPriceOutOfRange(pricePerKWh, PRICE_CAP_PER_KWH);
        }
        uint256 previousPricePerKWh = _state.maxPricePerKWh;
        _state.maxPricePerKWh = uint64(pricePerKWh);
        emit MaxPriceUpdated(previousPricePerKWh, pricePerKWh);
    }

    /// @inheritdoc IEnergyMarket
    function setPriceBand(address referencePrice, uint32 regionId, uint256 bandBps)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (bandBps > MAX_PRICE_BAND_BPS) revert PriceBandOutOfRange(bandBps, MAX_PRICE_BAND_BPS);
        if (bandBps != 0 && referencePrice == address(0)) revert InvalidReferencePrice(referencePrice);
        _state.priceBandBps = uint16(bandBps);
        _referencePrice = IReferencePrice(referencePrice);
        _priceBandRegionId = regionId;
        emit PriceBandUpdated(referencePrice, regionId, bandBps);
    }

    // ---- Views ----

    /// @inheritdoc IEnergyMarket
    function minOrderAmount() external view returns (uint256 amountWh) {
        return _state.minOrderAmountWh;
    }

    /// @inheritdoc IEnergyMarket
    function maxPrice() external view returns (uint256 pricePerKWh) {
        return _state.maxPricePerKWh;
    }

    /// @inheritdoc IEnergyMarket
    function priceBand() external view returns (address referencePrice, uint32 regionId, uint256 bandBps) {
        return (address(_referencePrice), _priceBandRegionId, _state.priceBandBps);
    }

    // ---- Internals ----

    /// @dev Rejects a price outside reference × (1 ± band). The lower bound is rounded up and the upper
    /// bound down, and both are inclusive. When its data is missing or stale, the reference source
    /// reverts with its own error, and order creation reverts with it.
    function _checkPriceBand(uint256 pricePerKWh, uint256 bandBps) internal view {
        uint256 referencePricePerKWh = _referencePrice.getReferencePrice(_priceBandRegionId);
        uint256 minPricePerKWh = (referencePricePerKWh * (10_000 - bandBps) + 9_999) / 10_000;
        uint256 maxPricePerKWh = referencePricePerKWh * (10_000 + bandBps) / 10_000;
        if (pricePerKWh < minPricePerKWh || pricePerKWh > maxPricePerKWh) {
            revert PriceOutsideBand(pricePerKWh, minPricePerKWh, maxPricePerKWh);
        }
    }
}
