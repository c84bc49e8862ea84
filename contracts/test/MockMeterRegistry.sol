// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISmartMeterRegistry} from "../metering/ISmartMeterRegistry.sol";
import {MeterUnknown} from "../utils/GridErrors.sol";

/// @title MockMeterRegistry
/// @notice A stand-in for tests of the two SmartMeter views that CarbonCredits reads. It can report
/// counted production that a real SmartMeter reaches only after years of readings, up to 2^56 Wh, or
/// never, above its MAX_REGISTER_WH. Tests use it to reach CarbonCredits' largest values and its
/// overflow guard.
contract MockMeterRegistry {
    mapping(address meter => ISmartMeterRegistry.MeterInfo) private _meters;
    mapping(address meter => uint256) private _productionWh;

    /// @notice Registers or changes `meter`.
    function setMeter(address meter, address owner, uint32 regionId, bool active) external {
        _meters[meter] = ISmartMeterRegistry.MeterInfo(owner, regionId, active, false, block.timestamp, false);
    }

    /// @notice Sets the production counted for `meter`.
    function setProductionWh(address meter, uint256 productionWh) external {
        _productionWh[meter] = productionWh;
    }

    function getMeter(address meter) external view returns (ISmartMeterRegistry.MeterInfo memory info) {
        info = _meters[meter];
        if (info.owner == address(0)) revert MeterUnknown(meter);
    }

    function getMeteredEnergy(address meter)
        external
        view
        returns (uint256 consumptionWh, uint256 productionWh, uint256 redeemedConsumptionWh)
    {
        return (0, _productionWh[meter], 0);
    }
}
