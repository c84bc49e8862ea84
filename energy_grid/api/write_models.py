"""The request bodies of the write and operator routes, field for field as the API's JSON names them
(the contracts' units in every name: Wh, per kWh, kW, mHz, per mille, unix seconds).

Addresses are checked (422 `InvalidAddress`; any case, but a mixed-case one must carry a valid
EIP-55 checksum) and checksummed; signatures are 65 bytes of 0x-hex (422 `InvalidSignature`);
integers fit the ABI type they are sent as, so nothing a client sends can fail to encode.
"""

from __future__ import annotations

from typing import Annotated, Literal

from eth_utils import is_address, is_checksum_address, to_checksum_address
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from energy_grid.domain.units import ZERO_ADDRESS
from energy_grid.signing.orders import Signature

SIGNATURE_BYTES = 65
V_OFFSET = 27  # wallets give v as 27/28, some as 0/1 (the recovery id)

Uint256 = Annotated[int, Field(ge=0, le=2**256 - 1)]
Uint128 = Annotated[int, Field(ge=0, le=2**128 - 1)]
Uint64 = Annotated[int, Field(ge=0, le=2**64 - 1)]
Uint32 = Annotated[int, Field(ge=0, le=2**32 - 1)]


def checksum_address(value: str) -> str:
    """`value` checksummed; PydanticCustomError("InvalidAddress") when it is not an address."""
    lowered = value.lower()
    if not is_address(lowered) or (value != lowered and value[2:] != value[2:].upper() and not is_checksum_address(value)):
        message = "{value} is not an address (0x and 40 hex digits, EIP-55 if mixed case)"
        raise PydanticCustomError("InvalidAddress", message, {"value": value})
    return to_checksum_address(lowered)


def parse_signature(value: str) -> str:
    """A 65-byte signature r ‖ s ‖ v as 0x-hex, checked; PydanticCustomError("InvalidSignature") otherwise."""
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raw = b""
    if not value.startswith("0x") or len(raw) != SIGNATURE_BYTES:
        raise PydanticCustomError("InvalidSignature", "a signature is 0x and 65 bytes of hex (r, s, v)")
    return value


Address = Annotated[str, AfterValidator(checksum_address)]
SignatureHex = Annotated[str, AfterValidator(parse_signature)]


def split_signature(value: str) -> Signature:
    """r, s, v of a checked 65-byte signature; v as ecrecover takes it (27/28)."""
    raw = bytes.fromhex(value.removeprefix("0x"))
    v = raw[64]
    return Signature(v + V_OFFSET if v < V_OFFSET else v, raw[:32], raw[32:64])


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderDraft(Request):
    """What a trader wants to sign: the service fills in the nonce and a deadline."""

    trader: Address
    side: Literal["BUY", "SELL"]
    amountWh: Uint256
    pricePerKWh: Uint256  # PaymentToken base units per kWh
    expiry: Uint256  # unix s: the order trades while block time < expiry
    counterparty: Address | None = None  # a directed order's only counterparty; null = anyone
    deadline: Uint256 | None = None  # unix s: the signature's; default the chain's time + an hour


class OrderMessage(Request):
    """The EIP-712 `Order` message, as signed."""

    trader: Address
    amountWh: Uint256
    pricePerKWh: Uint256
    expiry: Uint256
    orderType: Literal[0, 1]  # 0 BUY, 1 SELL
    counterparty: Address = ZERO_ADDRESS
    nonce: Uint256
    deadline: Uint256


class PermitIn(Request):
    """The trader's ERC-2612 permit of the escrow token to the EnergyVault, as /orders/typed-data offered it."""

    value: Uint256
    deadline: Uint256
    signature: SignatureHex


class MarketApprovalIn(Request):
    """The trader's signed approval of the order book in the EnergyVault (IEnergyVault.approveMarketBySig),
    as /orders/typed-data offered it: relayed before the trader's first order."""

    deadline: Uint256
    signature: SignatureHex


class RelayOrder(Request):
    order: OrderMessage
    signature: SignatureHex
    permit: PermitIn | None = None
    marketApproval: MarketApprovalIn | None = None


class CancelDraft(Request):
    deadline: Uint256 | None = None


class RelayCancel(Request):
    nonce: Uint256
    deadline: Uint256
    signature: SignatureHex


class ReadingIn(Request):
    """ISmartMeter.MeterReading: cumulative registers, as the meter reads them."""

    timestamp: Uint256
    consumptionRegisterWh: Uint256
    productionRegisterWh: Uint256
    gridFrequencyMilliHz: Uint256
    voltagePerMille: Uint256


class RelayReading(Request):
    meter: Address
    nonce: Uint256
    deadline: Uint256
    reading: ReadingIn
    signature: SignatureHex


class MarketApprovalDraft(Request):
    """What an account wants to sign: its approval of a market in the vault (by default the reading
    market, where its meters' standing orders trade)."""

    account: Address
    market: Address | None = None
    deadline: Uint256 | None = None  # unix s; default the chain's time + an hour


class RelayMarketApproval(Request):
    account: Address
    market: Address
    deadline: Uint256
    signature: SignatureHex


VAULT_TOKEN_NAMES = ("energy", "payment")


def parse_vault_token(value: str) -> str:
    """One of the vault's tokens by name (VAULT_TOKEN_NAMES; the route resolves it) or an address, checksummed."""
    return value if value in VAULT_TOKEN_NAMES else checksum_address(value)


VaultToken = Annotated[str, AfterValidator(parse_vault_token)]


class VaultDepositDraft(Request):
    """A deposit from the account's wallet into its vault balance, to be signed as the token's permit."""

    account: Address
    token: VaultToken
    amount: Uint256  # the token's base units (Wh for energy)
    deadline: Uint256 | None = None  # unix s; default the chain's time + an hour


class RelayVaultDeposit(Request):
    account: Address
    token: VaultToken
    amount: Uint256
    deadline: Uint256
    signature: SignatureHex  # the account's ERC-2612 permit of the vault, as /vault/deposit/typed-data offered it


class VaultWithdrawalDraft(Request):
    account: Address
    token: VaultToken
    amount: Uint256
    to: Address | None = None  # default the account itself
    deadline: Uint256 | None = None  # unix s; default the chain's time + an hour


class RelayVaultWithdrawal(Request):
    account: Address
    token: VaultToken
    amount: Uint256
    to: Address
    deadline: Uint256
    signature: SignatureHex


class StandingLimitsIn(Request):
    """A meter's standing limits (SmartMeter's fields: prices in 96 bits, caps in 32). A price of 0
    leaves that side out, a cap of 0 trades all of it; both prices 0 clear the limits."""

    sellPricePerKWh: Annotated[int, Field(ge=0, le=2**96 - 1)] = 0  # PaymentToken base units per kWh
    sellCapWh: Uint32 = 0
    buyPricePerKWh: Annotated[int, Field(ge=0, le=2**96 - 1)] = 0
    buyCapWh: Uint32 = 0


class StandingOrderDraft(StandingLimitsIn):
    deadline: Uint256 | None = None  # unix s; default the chain's time + an hour


class RelayStandingOrder(StandingLimitsIn):
    deadline: Uint256
    signature: SignatureHex


ActionName = Literal["GENERATION_UP", "GENERATION_DOWN", "LOAD_SHEDDING", "STORAGE_DISPATCH"]
PriorityName = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW"]
# The contract ranks 1 (most urgent) .. 10; the names are points on that scale.
PRIORITY_LEVELS: dict[str, int] = {"CRITICAL": 1, "HIGH": 3, "MEDIUM": 5, "LOW": 8}


class BalancingRequest(Request):
    regionId: Uint32
    actionType: ActionName
    targetKW: Uint256
    priority: PriorityName | Annotated[int, Field(ge=0, le=255)] = "MEDIUM"  # a name, or 1 .. 10 as the contract takes it

    def priority_level(self) -> int:
        return PRIORITY_LEVELS[self.priority] if isinstance(self.priority, str) else self.priority


class LoadRequest(Request):
    regionId: Uint32
    capacityKW: Uint256
    demandKW: Uint256


class EmergencyRequest(Request):
    regionId: Uint32  # the operator's own region; the admin may only end another region's
    active: bool


class DemandResponseRequest(Request):
    # The grid region whose meters take part; by default the operator's own GridManagement region,
    # the only one whose events it may start.
    regionId: Uint32 | None = None
    targetReductionKW: Uint64
    rewardPerKW: Uint128  # PaymentToken base units per kW reduced
    durationSeconds: Uint256


__all__ = [
    "PRIORITY_LEVELS",
    "Address",
    "BalancingRequest",
    "CancelDraft",
    "DemandResponseRequest",
    "EmergencyRequest",
    "LoadRequest",
    "MarketApprovalDraft",
    "OrderDraft",
    "OrderMessage",
    "PermitIn",
    "ReadingIn",
    "RelayCancel",
    "RelayMarketApproval",
    "RelayOrder",
    "RelayReading",
    "RelayStandingOrder",
    "RelayVaultDeposit",
    "RelayVaultWithdrawal",
    "SignatureHex",
    "StandingLimitsIn",
    "StandingOrderDraft",
    "VaultDepositDraft",
    "VaultWithdrawalDraft",
    "checksum_address",
    "parse_signature",
    "split_signature",
]
