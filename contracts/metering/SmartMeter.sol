// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IEnergyToken} from "../tokens/IEnergyToken.sol";
import {ISmartMeterExtension} from "./ISmartMeterExtension.sol";
import {ISmartMeterRegistry} from "./ISmartMeterRegistry.sol";
import {MeterReadings} from "./MeterReadings.sol";
import {MeterRegistry} from "./MeterRegistry.sol";
import {DelegateCalls} from "../utils/DelegateCalls.sol";
import {ZeroAddress} from "../utils/GridErrors.sol";

/// @title SmartMeter
/// @notice This contract is the meter registry and accepts the meters' readings. Its registers are
/// cumulative, like a real meter's import and export registers, so energy is the difference between two
/// readings and a lost message loses no energy. Each accepted export increase is minted to the meter's
/// owner as EnergyToken.
/// @dev This is the deployed meter registry. It is composed of one module per concern: MeterStorage holds
/// every state variable the registry and its extension share; MeterRegistry knows who a meter is;
/// MeterProfile reads the load profile back; StandingDelivery handles vault delivery, standing orders in
/// the reading market and consumption redemption; and MeterReadings accepts readings one by one, in
/// gateway batches or signed by the meter. This contract joins the modules to the signing domain that
/// both signed forms, readings and standing limits, are checked against, and serves its rarely called
/// functions (ISmartMeterExtension: registration, the reading bounds and the regions' views) from
/// SmartMeterExtension through its fallback.
contract SmartMeter is MeterReadings {
    /// @dev Where the functions this contract does not hold itself are served (SmartMeterExtension).
    address private immutable _extension;

    constructor(address admin, IEnergyToken energyToken_, ISmartMeterExtension extension_)
        MeterRegistry(admin, energyToken_)
        EIP712("SmartMeter", "1")
    {
        if (address(extension_) == address(0)) revert ZeroAddress();
        _extension = address(extension_);
    }

    /// @notice Serves every function this contract does not hold itself (ISmartMeterExtension) from its
    /// extension, run on this contract's storage by delegatecall.
    fallback() external {
        DelegateCalls.forward(_extension);
    }

    /// @notice Where this contract's rarely called functions (ISmartMeterExtension) are served from: the
    /// SmartMeterExtension it runs by delegatecall, fixed at deployment, whose code anyone may verify.
    function extension() external view returns (address) {
        return _extension;
    }

    /// @inheritdoc ISmartMeterRegistry
    // slither-disable-next-line naming-convention: EIP-2612 made this name the convention
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }
}
