// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IEnergyToken} from "../tokens/IEnergyToken.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";
import {MeterReadings} from "./MeterReadings.sol";
import {MeterRegistry} from "./MeterRegistry.sol";

/// @title SmartMeter
/// @notice This contract is the meter registry and accepts the meters' readings. Its registers are
/// cumulative, like a real meter's import and export registers, so energy is the difference between two
/// readings and a lost message loses no energy. Each accepted export increase is minted to the meter's
/// owner as EnergyToken.
/// @dev This is the deployed meter registry. It is composed of one module per concern: MeterRegistry
/// knows which meters exist, their roles and their reading bounds; MeterProfile reads the load profile
/// back; StandingDelivery handles vault delivery, standing orders in the reading market and consumption
/// redemption; and MeterReadings accepts readings one by one, in gateway batches or signed by the meter.
/// This contract joins the modules to the signing domain that both signed forms, readings and standing
/// limits, are checked against.
contract SmartMeter is MeterReadings {
    constructor(address admin, IEnergyToken energyToken_)
        MeterRegistry(admin, energyToken_)
        EIP712("SmartMeter", "1")
    {}

    /// @inheritdoc ISmartMeterRegistry
    // slither-disable-next-line naming-convention: EIP-2612 made this name the convention
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }
}
