// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IEnergyToken} from "../tokens/IEnergyToken.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";
import {MeterReadings} from "./MeterReadings.sol";
import {MeterRegistry} from "./MeterRegistry.sol";

/// @title SmartMeter
/// @notice Meter registry and readings. Registers are cumulative like a real meter's import and
/// export registers, so energy is the difference between readings and a lost message loses none.
/// Each accepted export increase is minted to the meter's owner as EnergyToken.
/// @dev The deployed meter registry, composed of one module per concern: MeterRegistry (which meters
/// exist, their roles and reading bounds), MeterProfile (the load profile read back), StandingDelivery
/// (vault delivery, standing orders in the reading market and consumption redemption) and MeterReadings
/// (readings accepted one by one, in gateway batches or signed by the meter). Here the modules meet the
/// signing domain that both signed forms, readings and standing limits, are checked against.
contract SmartMeter is MeterReadings {
    constructor(address admin, IEnergyToken energyToken_)
        MeterRegistry(admin, energyToken_)
        EIP712("SmartMeter", "1")
    {}

    /// @inheritdoc ISmartMeterRegistry
    // slither-disable-next-line naming-convention: the name EIP-2612 made the convention
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }
}
