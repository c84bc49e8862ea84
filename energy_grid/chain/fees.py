"""EIP-1559 fees for a service's transactions, and how much to raise them when one is stuck.

A transaction offers a tip (`maxPriorityFeePerGas`, what the block producer earns) and a cap
(`maxFeePerGas`, the most it pays per gas, base fee included). The cap starts at twice the latest
base fee plus the tip: the base fee rises by at most 12.5 % a block (EIP-1559), so the transaction
stays includable through about six full blocks in a row. A transaction still not mined some blocks
later is replaced at the same nonce with both fees raised by `bump_percent`; nodes take a
replacement only when both fees rise by at least 10 % (geth's and anvil's rule), so the step is at
least that. A ceiling, when set, bounds what the service will ever pay: past it, the transaction
waits rather than overpays, and the service reports it stuck.
"""

from __future__ import annotations

from dataclasses import dataclass

GWEI = 10**9
MIN_BUMP_PERCENT = 10  # nodes refuse a replacement whose fees rise by less
BASE_FEE_MULTIPLIER = 2


@dataclass(frozen=True)
class Fees:
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


@dataclass(frozen=True)
class FeePolicy:
    bump_percent: int = 25
    max_fee_ceiling_per_gas: int | None = None  # None: no ceiling
    min_priority_fee_per_gas: int = 1  # a zero tip is valid, but some nodes never mine it

    def __post_init__(self) -> None:
        if self.bump_percent < MIN_BUMP_PERCENT:
            raise ValueError(f"a fee bump below {MIN_BUMP_PERCENT} % is refused by nodes; got {self.bump_percent} %")

    def initial(self, base_fee_per_gas: int, suggested_tip_per_gas: int) -> Fees:
        """Fees for a new transaction at the latest block's base fee and the node's suggested tip."""
        tip = max(suggested_tip_per_gas, self.min_priority_fee_per_gas)
        max_fee = BASE_FEE_MULTIPLIER * base_fee_per_gas + tip
        if self.max_fee_ceiling_per_gas is not None:
            max_fee = min(max_fee, self.max_fee_ceiling_per_gas)
            tip = min(tip, max_fee)
        return Fees(max_fee, tip)

    def bumped(self, previous: Fees, base_fee_per_gas: int, suggested_tip_per_gas: int) -> Fees | None:
        """Fees for a replacement of a stuck transaction: each raised by `bump_percent` (rounded up),
        and at least what a new transaction would offer now; None when that passes the ceiling."""
        tip = max(_raised(previous.max_priority_fee_per_gas, self.bump_percent), suggested_tip_per_gas, self.min_priority_fee_per_gas)
        max_fee = max(_raised(previous.max_fee_per_gas, self.bump_percent), BASE_FEE_MULTIPLIER * base_fee_per_gas + tip)
        if self.max_fee_ceiling_per_gas is not None and max_fee > self.max_fee_ceiling_per_gas:
            return None
        return Fees(max_fee, tip)


def _raised(value: int, percent: int) -> int:
    # Rounded up, and by at least 1 wei, so a tiny fee still rises.
    return max(value + 1, -(-value * (100 + percent) // 100))


__all__ = ["GWEI", "FeePolicy", "Fees"]
