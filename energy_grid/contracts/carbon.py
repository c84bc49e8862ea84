"""CarbonCredits: an ERC-20 of avoided emissions (1 unit = 1 g CO2e) minted for clean export."""

from __future__ import annotations

from typing import NamedTuple

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from energy_grid.contracts.base import (
    decode_event,
    decode_struct,
    decode_structs,
    require,
    require_amount,
    require_enum,
)
from energy_grid.contracts.structs import CleanProducerInfo, Retirement
from energy_grid.contracts.tokens import ERC20
from energy_grid.domain.enums import EnergyType


# The most meters one issueCarbonCreditsBatch call may carry (CarbonCredits.MAX_ISSUE_BATCH).
MAX_ISSUE_BATCH = 100


class RetirementPage(NamedTuple):
    retirements: list[Retirement]
    next_cursor: int  # 0 = no more


class IssuedCredits(NamedTuple):
    """One issue of credits (the CarbonCreditsIssued event): the meter's clean export counted since
    the last issue, and the grams CO2e minted for it to the meter's owner at the factor then in force."""

    meter: str
    owner: str
    amount_wh: int
    grams: int
    grams_co2e_per_kwh: int


class CarbonCredits(ERC20):
    def register_clean_producer(self, operator: LocalAccount, meter: str, energy_type: int) -> TxReceipt:
        """Counts the meter's export from now on (a grid operator of its region)."""
        return self._send(operator, "registerCleanEnergyProducer", meter, int(require_enum(EnergyType, energy_type)))

    def deregister_clean_producer(self, operator: LocalAccount, meter: str) -> TxReceipt:
        return self._send(operator, "deregisterCleanEnergyProducer", meter)

    def issue(self, sender: LocalAccount, meter: str) -> int:
        """Mints the credits the meter's clean export earned since the last issue, to its owner;
        anyone may. Returns grams CO2e (0 while the carried rest stays below one gram)."""
        return self.issue_credits(sender, meter).grams

    def issue_credits(self, sender: LocalAccount, meter: str) -> IssuedCredits:
        """`issue`, returning the whole issue: the export it counted, the owner and the factor too."""
        receipt = self._send(sender, "issueCarbonCredits", meter)
        return decode_event(IssuedCredits, self.event(receipt, "CarbonCreditsIssued"))

    def issue_batch(self, sender: LocalAccount, meters: list[str]) -> list[IssuedCredits]:
        """`issue_credits` for each of 1..MAX_ISSUE_BATCH meters in one transaction, as a keeper issues a
        day's clean meters; a meter that `issue` would refuse refuses the whole batch."""
        require(0 < len(meters) <= MAX_ISSUE_BATCH, f"issue_batch: give 1 to {MAX_ISSUE_BATCH} meters")
        receipt = self._send(sender, "issueCarbonCreditsBatch", list(meters))
        return [decode_event(IssuedCredits, event) for event in self.events(receipt, "CarbonCreditsIssued")]

    def retire(self, holder: LocalAccount, amount_grams: int, beneficiary: str, reason: str) -> int:
        """Burns credits as proof of offset for `beneficiary`; returns the retirement id."""
        require_amount("amount_grams", amount_grams)
        require(len(reason.encode()) <= 256, "retire: the reason is at most 256 bytes")
        receipt = self._send(holder, "retire", amount_grams, beneficiary, reason)
        return self._id(receipt, "CarbonCreditsRetired", "retirementId")

    def balance_grams(self, account: str) -> int:
        return self._int("getCarbonCreditsBalance", account)

    def pending_wh(self, meter: str) -> int:
        """Clean export counted but not issued yet."""
        return self._int("pendingWh", meter)

    def clean_producer(self, meter: str) -> CleanProducerInfo:
        return decode_struct(CleanProducerInfo, self._call("getCleanEnergyProducer", meter))

    def get_retirement(self, retirement_id: int) -> Retirement:
        return decode_struct(Retirement, self._call("getRetirement", retirement_id))

    def retirements(self, beneficiary: str, cursor: int = 0, limit: int = 50) -> RetirementPage:
        page, next_cursor = self._call("getRetirements", beneficiary, cursor, limit)
        return RetirementPage(decode_structs(Retirement, page), int(next_cursor))

    def total_retired_grams(self) -> int:
        return self._int("totalRetired")

    def avoided_emission_grams_per_kwh(self) -> int:
        return self._int("avoidedEmissionFactor")
