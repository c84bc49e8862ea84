"""The VaultAccount word through VaultAccountHarness, against a model of its layout in Python: the
energy balance in the low 112 bits, the payment balance in the next 112, one approval bit per market
place in the next 24, and a market's registration (place + 1, and the closed flag) in the top 8.
Every field reads back what was written, at its bounds too, and writing one field leaves the others
as they were. A word credited in place, or loaded with its slot and written back there, is the word
Solidity's own mapping access reads."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MAX_BALANCE = 2**112 - 1
PLACES = 24
CLOSED = 0x80
MAPPING_SLOT = 0  # the harness's mapping of words, its only state variable


@dataclass(frozen=True)
class Account:
    """The fields of a word as the vault means them."""

    energy_wh: int = 0
    payment: int = 0
    approvals: int = 0  # bit i: the market at place i is approved
    place: int | None = None  # None: not a market
    closed: bool = False

    def word(self) -> int:
        registration = 0 if self.place is None else (self.place + 1) | (CLOSED if self.closed else 0)
        return self.energy_wh | self.payment << 112 | self.approvals << 224 | registration << 248

    @classmethod
    def of(cls, word: int) -> Account:
        registration = word >> 248
        return cls(
            energy_wh=word & MAX_BALANCE,
            payment=word >> 112 & MAX_BALANCE,
            approvals=word >> 224 & (2**PLACES - 1),
            place=None if registration == 0 else (registration & ~CLOSED) - 1,
            closed=registration & CLOSED != 0,
        )


balances = st.integers(0, MAX_BALANCE)
places = st.integers(0, PLACES - 1)
plain_accounts = st.builds(Account, energy_wh=balances, payment=balances, approvals=st.integers(0, 2**PLACES - 1))
market_accounts = st.builds(
    Account, energy_wh=balances, payment=balances, approvals=st.integers(0, 2**PLACES - 1), place=places, closed=st.booleans()
)
accounts = st.one_of(plain_accounts, market_accounts)

HYPOTHESIS = settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.VaultAccountHarness)


def read(harness: Any, word: int) -> Account:
    """The fields as the library reads them, checked against the model's reading of the same word."""
    energy_wh, payment, is_market, is_closed, place, approval_bit, open_approval_bit = harness.fields(word)
    model = Account.of(word)
    assert (energy_wh, payment, is_market, is_closed) == (model.energy_wh, model.payment, model.place is not None, model.closed)
    if is_market:
        assert place == model.place
    # A word that is no market's has no approval bit, so no account can approve it.
    assert approval_bit == (0 if model.place is None else 1 << model.place)
    assert open_approval_bit == (0 if model.place is None or model.closed else 1 << model.place)
    return replace(model, place=model.place if is_market else None)


def test_the_bounds_match_the_vault(harness):
    assert harness.maxBalance() == MAX_BALANCE
    assert harness.maxPlaces() == PLACES


def test_an_empty_word_is_an_account_with_nothing(harness):
    assert read(harness, 0) == Account()
    assert not harness.approves(0, 1)


def test_every_field_at_its_bounds_reads_back(harness):
    full = Account(energy_wh=MAX_BALANCE, payment=MAX_BALANCE, approvals=2**PLACES - 1, place=PLACES - 1, closed=True)
    assert full.word() == (PLACES | CLOSED) << 248 | 2**248 - 1  # every bit below the registration set
    assert read(harness, full.word()) == full
    first = Account(energy_wh=1, payment=1, approvals=1, place=0)
    assert read(harness, first.word()) == first
    # A balance at its top does not touch its neighbour, nor does the top place touch the closed flag.
    word = harness.withBalances(0, MAX_BALANCE, 0)
    assert read(harness, word) == Account(energy_wh=MAX_BALANCE)
    word = harness.withBalances(0, 0, MAX_BALANCE)
    assert read(harness, word) == Account(payment=MAX_BALANCE)
    word = harness.withPlace(0, PLACES - 1)
    assert read(harness, word) == Account(place=PLACES - 1)
    assert read(harness, harness.withClosed(word)) == Account(place=PLACES - 1, closed=True)


@HYPOTHESIS
@given(account=accounts)
def test_a_word_reads_back_every_field(harness, account):
    assert read(harness, account.word()) == account


@HYPOTHESIS
@given(account=accounts, energy_wh=balances, payment=balances)
def test_replacing_the_balances_keeps_approvals_and_registration(harness, account, energy_wh, payment):
    word = harness.withBalances(account.word(), energy_wh, payment)
    assert read(harness, word) == replace(account, energy_wh=energy_wh, payment=payment)


@HYPOTHESIS
@given(account=accounts, data=st.data())
def test_credit_and_debit_move_only_the_balances(harness, account, data):
    amount_wh = data.draw(st.integers(0, MAX_BALANCE - account.energy_wh))
    amount = data.draw(st.integers(0, MAX_BALANCE - account.payment))
    credited = replace(account, energy_wh=account.energy_wh + amount_wh, payment=account.payment + amount)
    word = harness.credit(account.word(), amount_wh, amount)
    assert read(harness, word) == credited
    # A debit of what a credit added gives the word back; one of the whole balances empties both.
    assert harness.debit(word, amount_wh, amount) == account.word()
    assert read(harness, harness.debit(word, credited.energy_wh, credited.payment)) == replace(account, energy_wh=0, payment=0)


@HYPOTHESIS
@given(account=accounts, place=places)
def test_an_approval_changes_only_its_own_bit(harness, account, place):
    bit = 1 << place
    approved = harness.withApproval(account.word(), bit, True)
    assert read(harness, approved) == replace(account, approvals=account.approvals | bit)
    assert harness.approves(approved, bit)
    revoked = harness.withApproval(approved, bit, False)
    assert read(harness, revoked) == replace(account, approvals=account.approvals & ~bit)
    assert not harness.approves(revoked, bit)
    # Setting or clearing twice is the same as once.
    assert harness.withApproval(approved, bit, True) == approved
    assert harness.withApproval(revoked, bit, False) == revoked
    # The approval of another place is what the word said before.
    other = 1 << ((place + 1) % PLACES)
    assert harness.approves(approved, other) == bool(account.approvals & other)
    # A zero bit (a closed market, or no market) is never approved.
    assert not harness.approves(approved, 0)


@HYPOTHESIS
@given(account=plain_accounts, place=places)
def test_registering_and_closing_touch_only_the_registration(harness, account, place):
    registered = harness.withPlace(account.word(), place)
    assert read(harness, registered) == replace(account, place=place)
    closed = harness.withClosed(registered)
    assert read(harness, closed) == replace(account, place=place, closed=True)
    # The closed market keeps its place and approval bit, but no account approves it through it.
    _, _, is_market, is_closed, read_place, approval_bit, open_approval_bit = harness.fields(closed)
    assert (is_market, is_closed, read_place, approval_bit, open_approval_bit) == (True, True, place, 1 << place, 0)


@HYPOTHESIS
@given(account=accounts, neighbour=accounts, data=st.data())
def test_a_credit_in_place_writes_the_word_solidity_reads(harness, admin, account, neighbour, data):
    holder, other = "0x" + "ab" * 20, "0x" + "ab" * 19 + "ac"
    harness.store(holder, account.word(), sender=admin)
    harness.store(other, neighbour.word(), sender=admin)
    amount_wh = data.draw(st.integers(0, MAX_BALANCE - account.energy_wh))
    amount = data.draw(st.integers(0, MAX_BALANCE - account.payment))
    credited = replace(account, energy_wh=account.energy_wh + amount_wh, payment=account.payment + amount)
    harness.creditTokenIn(holder, True, amount_wh, sender=admin)
    assert harness.wordOf(holder) == replace(account, energy_wh=credited.energy_wh).word()
    harness.creditTokenIn(holder, False, amount, sender=admin)
    assert harness.wordOf(holder) == credited.word()
    # The key next to it keeps its word: the slot is the one Solidity gives the holder's key.
    assert harness.wordOf(other) == neighbour.word()


@HYPOTHESIS
@given(account=accounts, written=accounts, neighbour=accounts)
def test_a_word_loaded_with_its_slot_is_written_back_where_solidity_reads_it(harness, admin, account, written, neighbour):
    holder, other = "0x" + "cd" * 20, "0x" + "cd" * 19 + "ce"
    harness.store(holder, account.word(), sender=admin)
    harness.store(other, neighbour.word(), sender=admin)
    word, slot = harness.load(holder)
    assert word == account.word()
    # The slot is the one Solidity gives the holder's key in the mapping.
    assert slot == int.from_bytes(keccak(encode(["address", "uint256"], [holder, MAPPING_SLOT])), "big")
    harness.loadAndStore(holder, written.word(), sender=admin)
    assert harness.wordOf(holder) == written.word()
    assert harness.wordOf(other) == neighbour.word()

