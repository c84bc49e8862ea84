"""EnergyAssetShares: fractional ownership of EnergyAssetNFT assets as ERC-1155 shares, and revenue
claimable pro rata by whoever held the shares when it was deposited: deposits move from the payer's
EnergyVault balance into the shares contract's (a registered vault market), claims from there into
the claimants' vault balances.

The accounting identity checked throughout, exact in magnified units (MAGNITUDE = 2^64):
    deposited × MAGNITUDE == Σ_accounts (claimed + claimable) × MAGNITUDE + Σ fractions + carried remainder
and the contract's vault balance == deposited − claimed, every claim paid in the vault. Every custom error is asserted with all
of its arguments and every event with all of its fields (helpers.reverts / helpers.log).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

import ape
import pytest
from eth_abi import encode
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.asset_helpers import MAGNITUDE, MAX_REVENUE, MAX_SHARES, mint, new_meter
from support.helpers import (
    DEFAULT_ADMIN_ROLE,
    NO_FREEZE_QUERY,
    ZERO_ADDRESS,
    assert_logs,
    deploy_reverts,
    log,
    reverts,
    role,
    unexercised_abi_items,
)

PAUSER_ROLE = role("PAUSER_ROLE")
CASH = 1_000_000  # whole stablecoin units topped up per account (× 10^6 base units)


@pytest.fixture(scope="module", autouse=True)
def _accounts_before_isolation(admin, owner, other, stranger, keeper, grid_operator, other_region_operator, accounts):
    """Resolves the session-scoped account fixtures before ape's per-test isolation (no rebasing)."""


@pytest.fixture(scope="module")
def third_holder(accounts):
    return accounts[6]


@pytest.fixture
def shares(asset_shares):
    return asset_shares


@pytest.fixture
def nft(asset_nft, asset_shares):
    return asset_nft


@pytest.fixture(scope="module")
def payer(keeper, stablecoin, vault, asset_shares, admin):
    """Pays revenue (a utility paying for the asset's exported energy) from its vault balance, where
    all its cash is, having approved the shares contract as a vault market."""
    stablecoin.addConsumerBalance(keeper, CASH, sender=admin)
    cash = stablecoin.balanceOf(keeper)
    stablecoin.approve(vault, cash, sender=keeper)
    vault.deposit(stablecoin, cash, sender=keeper)
    vault.setMarketApproval(asset_shares, True, sender=keeper)
    return keeper


@pytest.fixture
def asset(nft, grid_operator, owner, smart_meter, admin, chain):
    """Asset 1, owned by `owner`, not split."""
    token_id, _, _ = mint(nft, grid_operator, owner, new_meter(smart_meter, admin, owner), chain)
    return token_id


def split(nft, shares, holder, token_id, count):
    nft.approve(shares, token_id, sender=holder)
    return shares.split(token_id, count, sender=holder)


@pytest.fixture
def split_asset(nft, shares, asset, owner):
    """Asset 1 split into 100 shares, all held by `owner`, its manager."""
    split(nft, shares, owner, asset, 100)
    return asset


def ledger(shares: Any, token_id: int, accounts: Iterable[Any]) -> dict[str, Any]:
    """Exact accounting of `token_id` over `accounts` (every account that ever held or claimed)."""
    revenue = shares.getRevenue(token_id)
    rows = [shares.getRevenueAccount(token_id, a) for a in accounts]
    return {
        "deposited": revenue.totalDeposited,
        "claimed": revenue.totalClaimed,
        "accounts_claimed": sum(r.claimed for r in rows),
        "claimable": sum(r.claimable for r in rows),
        "fractions": sum(r.fractionMagnified for r in rows),
        "remainder": revenue.carriedRemainder,
    }


def assert_no_dust_lost(shares: Any, token_id: int, accounts: Iterable[Any]) -> dict[str, Any]:
    book = ledger(shares, token_id, accounts)
    assert book["accounts_claimed"] == book["claimed"]
    assert book["deposited"] * MAGNITUDE == (book["claimed"] + book["claimable"]) * MAGNITUDE + book["fractions"] + book["remainder"]
    return book


# ----------------------------------------------------------------------------- wiring, surface, completeness


def test_constants_and_wiring(shares, nft, vault, stablecoin, admin):
    assert shares.MAGNITUDE() == MAGNITUDE
    assert shares.MAX_SHARES() == MAX_SHARES
    assert shares.MAX_REVENUE_PER_ASSET() == MAX_REVENUE
    assert shares.assetNft() == nft.address
    assert shares.vault() == vault.address
    assert shares.paymentToken() == stablecoin.address == vault.paymentToken()
    assert nft.sharesContract() == shares.address
    assert shares.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert shares.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert shares.PAUSER_ROLE() == PAUSER_ROLE
    assert not shares.hasRole(PAUSER_ROLE, admin)
    assert not shares.paused()
    for interface_id in ("0xd9b67a26", "0x0e89341c", "0x7965db0b", "0x01ffc9a7"):  # ERC-1155, its metadata URI, AccessControl, ERC-165
        assert shares.supportsInterface(interface_id)
    assert not shares.supportsInterface("0x80ac58cd")


def test_every_function_error_and_event_is_exercised(shares):
    """Guards this file's completeness: each ABI item of EnergyAssetShares is used here as `.<name>`."""
    items = [item for item in shares.contract_type.abi if item.type in ("function", "error", "event")]
    assert len(items) > 60
    # Unreachable: RoleAdminChanged (nothing calls _setRoleAdmin); URI (no setURI: the metadata is the
    # NFT's); SafeCastOverflowedUintToInt (the bounds keep accumulator × balance < 2^237); ERC1155InvalidArrayLength and
    # ERC1155InvalidApprover (only internal paths this contract does not take); ERC1155InvalidSender
    # (minting happens only in split, from address(0) by construction).
    exempt = {
        "RoleAdminChanged",
        "URI",
        "SafeCastOverflowedUintToInt",
        "ERC1155InvalidArrayLength",
        "ERC1155InvalidApprover",
        "ERC1155InvalidSender",
    }
    assert unexercised_abi_items("EnergyAssetShares", ["test_energy_asset_shares.py"], ("function", "error", "event"), exempt) == []


@pytest.mark.parametrize("which", [0, 1, 2])
def test_constructor_rejects_zero_addresses(project, admin, nft, vault, which):
    args = [admin, nft, vault]
    args[which] = ZERO_ADDRESS
    with deploy_reverts(project.EnergyAssetShares.ZeroAddress):
        project.EnergyAssetShares.deploy(*args, sender=admin)


def test_share_metadata_is_the_assets(shares, nft, asset):
    assert shares.uri(asset) == nft.tokenURI(asset)
    with reverts(nft.ERC721NonexistentToken, tokenId=99):
        shares.uri(99)


# ----------------------------------------------------------------------------- split and recombine


def test_owner_splits_an_asset_into_shares(shares, nft, asset, owner):
    nft.approve(shares, asset, sender=owner)
    tx = shares.split(asset, 100, sender=owner)
    assert_logs(
        tx,
        log(nft.Transfer, **{"from": owner.address, "to": shares.address, "tokenId": asset}),
        log(shares.TransferSingle, operator=owner.address, **{"from": ZERO_ADDRESS}, to=owner.address, id=asset, value=100),
        log(shares.AssetSplit, tokenId=asset, owner=owner.address, shareCount=100),
    )
    assert nft.ownerOf(asset) == shares.address
    assert shares.balanceOf(owner, asset) == 100
    assert shares.totalShares(asset) == 100
    assert shares.managerOf(asset) == owner.address
    assert nft.controllerOf(asset) == owner.address
    assert nft.getApproved(asset) == ZERO_ADDRESS


def test_split_bounds_and_permissions(shares, nft, asset, owner, stranger):
    with reverts(shares.NotAssetOwner, tokenId=asset, caller=stranger.address):
        shares.split(asset, 100, sender=stranger)
    with reverts(nft.ERC721NonexistentToken, tokenId=99):
        shares.split(99, 100, sender=owner)
    with reverts(shares.SplitNotApproved, tokenId=asset, owner=owner.address):
        shares.split(asset, 100, sender=owner)
    nft.setApprovalForAll(shares, True, sender=owner)  # operator approval is enough too
    with reverts(shares.InvalidShareCount, shareCount=0, maxShares=MAX_SHARES):
        shares.split(asset, 0, sender=owner)
    with reverts(shares.InvalidShareCount, shareCount=MAX_SHARES + 1, maxShares=MAX_SHARES):
        shares.split(asset, MAX_SHARES + 1, sender=owner)
    assert nft.ownerOf(asset) == owner.address
    assert shares.totalShares(asset) == 0
    shares.split(asset, MAX_SHARES, sender=owner)
    assert shares.balanceOf(owner, asset) == MAX_SHARES
    # Split already: the NFT is no longer the caller's.
    with reverts(shares.NotAssetOwner, tokenId=asset, caller=owner.address):
        shares.split(asset, 1, sender=owner)


def test_split_needs_the_nft_to_link_this_contract(project, admin, smart_meter, grid_management, vault, grid_operator, owner, chain):
    fresh_nft = project.EnergyAssetNFT.deploy(admin, smart_meter, grid_management, sender=admin)
    fresh_shares = project.EnergyAssetShares.deploy(admin, fresh_nft, vault, sender=admin)
    token_id, _, _ = mint(fresh_nft, grid_operator, owner, new_meter(smart_meter, admin, owner), chain)
    fresh_nft.approve(fresh_shares, token_id, sender=owner)
    with reverts(fresh_shares.SharesContractNotLinked, linkedSharesContract=ZERO_ADDRESS):
        fresh_shares.split(token_id, 10, sender=owner)
    assert fresh_nft.ownerOf(token_id) == owner.address


def test_holder_of_all_shares_recombines(shares, nft, split_asset, owner, other):
    token_id = split_asset
    with reverts(shares.AssetNotSplit, tokenId=7):
        shares.recombine(7, sender=owner)
    shares.safeTransferFrom(owner, other, token_id, 1, b"", sender=owner)
    with reverts(shares.NotAllShares, tokenId=token_id, caller=owner.address, balance=99, totalShares=100):
        shares.recombine(token_id, sender=owner)
    with reverts(shares.NotAllShares, tokenId=token_id, caller=other.address, balance=1, totalShares=100):
        shares.recombine(token_id, sender=other)
    assert nft.ownerOf(token_id) == shares.address
    shares.safeTransferFrom(other, owner, token_id, 1, b"", sender=other)
    tx = shares.recombine(token_id, sender=owner)
    assert_logs(
        tx,
        log(shares.TransferSingle, operator=owner.address, **{"from": owner.address}, to=ZERO_ADDRESS, id=token_id, value=100),
        log(nft.Transfer, **{"from": shares.address, "to": owner.address, "tokenId": token_id}),
        log(shares.AssetRecombined, tokenId=token_id, holder=owner.address, shareCount=100),
    )
    assert nft.ownerOf(token_id) == owner.address
    assert shares.balanceOf(owner, token_id) == 0
    assert shares.totalShares(token_id) == 0
    assert shares.managerOf(token_id) == ZERO_ADDRESS
    # It can be split again, into another number of shares.
    split(nft, shares, owner, token_id, 7)
    assert shares.totalShares(token_id) == 7


def test_manager_hands_over_and_a_full_holder_takes_over(shares, nft, split_asset, owner, other, stranger, third_holder):
    token_id = split_asset
    with reverts(shares.AssetNotSplit, tokenId=7):
        shares.setManager(7, other, sender=owner)
    with reverts(shares.NotManager, tokenId=token_id, caller=stranger.address):
        shares.setManager(token_id, stranger, sender=stranger)
    with reverts(shares.ZeroAddress):
        shares.setManager(token_id, ZERO_ADDRESS, sender=owner)
    tx = shares.setManager(token_id, other, sender=owner)
    assert_logs(tx, log(shares.ManagerChanged, tokenId=token_id, previousManager=owner.address, newManager=other.address))
    assert shares.managerOf(token_id) == other.address
    assert nft.controllerOf(token_id) == other.address
    # `owner` still holds every share: it may take the management back (it could recombine anyway).
    shares.setManager(token_id, third_holder, sender=owner)
    assert shares.managerOf(token_id) == third_holder.address
    shares.safeTransferFrom(owner, stranger, token_id, 50, b"", sender=owner)
    with reverts(shares.NotManager, tokenId=token_id, caller=owner.address):
        shares.setManager(token_id, owner, sender=owner)


# ----------------------------------------------------------------------------- revenue


def test_deposit_rules(shares, vault, stablecoin, asset, split_asset, payer, other):
    token_id = split_asset
    with reverts(shares.ZeroRevenue):
        shares.depositRevenue(token_id, 0, sender=payer)
    with reverts(shares.AssetNotSplit, tokenId=99):
        shares.depositRevenue(99, 1, sender=payer)
    with reverts(vault.MarketNotApproved, account=other.address, market=shares.address):
        shares.depositRevenue(token_id, 5, sender=other)
    with reverts(shares.RevenueLimitExceeded, tokenId=token_id, amount=MAX_REVENUE + 1, remaining=MAX_REVENUE):
        shares.depositRevenue(token_id, MAX_REVENUE + 1, sender=payer)
    assert vault.balanceOf(stablecoin, shares) == 0
    assert shares.getRevenue(token_id).totalDeposited == 0
    before, reserve = vault.balanceOf(stablecoin, payer), vault.reserves()[1]
    tx = shares.depositRevenue(token_id, 1_000_000, sender=payer)
    per_share = 1_000_000 * MAGNITUDE // 100
    # From the payer's vault balance into the shares contract's: no token moves.
    assert_logs(
        tx,
        log(shares.RevenueDeposited, tokenId=token_id, depositor=payer.address, amount=1_000_000, magnifiedRevenuePerShare=per_share),
    )
    assert vault.balanceOf(stablecoin, payer) == before - 1_000_000
    assert vault.balanceOf(stablecoin, shares) == 1_000_000
    assert vault.reserves()[1] == reserve
    assert dict(shares.getRevenue(token_id).items()) == {
        "totalDeposited": 1_000_000,
        "totalClaimed": 0,
        "magnifiedRevenuePerShare": per_share,
        "carriedRemainder": 0,
    }


def test_a_deposit_pulls_a_shortfall_from_the_wallet(shares, vault, stablecoin, split_asset, admin, other):
    """A depositor without enough in the vault pays the rest from its wallet, if it allowed the vault."""
    token_id = split_asset
    stablecoin.addConsumerBalance(other, 1, sender=admin)
    stablecoin.approve(vault, 400, sender=other)
    vault.deposit(stablecoin, 400, sender=other)
    vault.setMarketApproval(shares, True, sender=other)
    with reverts(stablecoin.ERC20InsufficientAllowance, spender=vault.address, allowance=0, needed=600):
        shares.depositRevenue(token_id, 1_000, sender=other)
    stablecoin.approve(vault, 600, sender=other)
    wallet = stablecoin.balanceOf(other)
    tx = shares.depositRevenue(token_id, 1_000, sender=other)
    assert_logs(
        tx,
        log(shares.RevenueDeposited, tokenId=token_id, depositor=other.address, amount=1_000, magnifiedRevenuePerShare=10 * MAGNITUDE),
        log(vault.Deposited, account=other.address, token=stablecoin.address, amount=600),
        log(stablecoin.Transfer, **{"from": other.address, "to": vault.address, "value": 600}),
    )
    assert (stablecoin.balanceOf(other), vault.balanceOf(stablecoin, other)) == (wallet - 600, 0)
    assert vault.balanceOf(stablecoin, shares) == 1_000


def test_a_closed_shares_market_takes_no_deposit_and_still_pays_claims(shares, vault, stablecoin, split_asset, payer, owner, admin):
    """Closing the shares contract's vault market stops deposits; revenue already in is still claimed."""
    token_id = split_asset
    shares.depositRevenue(token_id, 1_000, sender=payer)
    vault.closeMarket(shares, sender=admin)
    with reverts(vault.MarketClosed, market=shares.address):
        shares.depositRevenue(token_id, 1, sender=payer)
    assert shares.claimRevenue(token_id, sender=owner).return_value == 1_000
    assert vault.balanceOf(stablecoin, shares) == 0


def test_revenue_follows_the_holders_at_deposit_time(shares, vault, stablecoin, split_asset, payer, owner, other):
    """A holds 100 %, revenue r1; A sends half to B; revenue r2: A gets r1 + r2/2, B gets r2/2."""
    token_id, r1, r2 = split_asset, 1_000_000, 3_000_000
    shares.depositRevenue(token_id, r1, sender=payer)
    shares.safeTransferFrom(owner, other, token_id, 50, b"", sender=owner)
    assert shares.claimableRevenue(token_id, owner) == r1
    assert shares.claimableRevenue(token_id, other) == 0
    shares.depositRevenue(token_id, r2, sender=payer)
    assert shares.claimableRevenue(token_id, owner) == r1 + r2 // 2
    assert shares.claimableRevenue(token_id, other) == r2 // 2

    wallet, credited = stablecoin.balanceOf(owner), vault.balanceOf(stablecoin, owner)
    tx = shares.claimRevenue(token_id, sender=owner)
    assert tx.return_value == r1 + r2 // 2
    # One vault move from the shares contract's balance: no token moves.
    assert_logs(tx, log(shares.RevenueClaimed, tokenId=token_id, account=owner.address, amount=r1 + r2 // 2))
    assert vault.balanceOf(stablecoin, owner) == credited + r1 + r2 // 2
    assert vault.balanceOf(stablecoin, shares) == r2 // 2
    assert stablecoin.balanceOf(owner) == wallet  # credited in the vault, not paid to the wallet
    assert shares.claimRevenue(token_id, sender=other).return_value == r2 // 2
    assert vault.balanceOf(stablecoin, other) == r2 // 2
    assert vault.balanceOf(stablecoin, shares) == 0

    # A double claim pays nothing more.
    with reverts(shares.NothingToClaim, tokenId=token_id, account=owner.address):
        shares.claimRevenue(token_id, sender=owner)
    with reverts(shares.NothingToClaim, tokenId=token_id, account=other.address):
        shares.claimRevenue(token_id, sender=other)
    assert shares.getRevenueAccount(token_id, owner) == (r1 + r2 // 2, 0, 0)
    assert shares.getRevenue(token_id).totalClaimed == r1 + r2


def test_revenue_stays_with_former_holders_after_shares_and_asset_move_on(
    shares, nft, vault, stablecoin, split_asset, payer, owner, other, third_holder, stranger
):
    token_id = split_asset
    shares.depositRevenue(token_id, 900, sender=payer)
    shares.safeTransferFrom(owner, other, token_id, 100, b"", sender=owner)  # owner leaves, unclaimed
    shares.depositRevenue(token_id, 600, sender=payer)
    shares.safeTransferFrom(other, third_holder, token_id, 25, b"", sender=other)
    shares.depositRevenue(token_id, 400, sender=payer)
    shares.safeTransferFrom(third_holder, other, token_id, 25, b"", sender=third_holder)
    shares.recombine(token_id, sender=other)  # the asset is whole again; the ledger stays
    assert shares.claimableRevenue(token_id, owner) == 900
    assert shares.claimableRevenue(token_id, other) == 600 + 300
    assert shares.claimableRevenue(token_id, third_holder) == 100
    with reverts(shares.NothingToClaim, tokenId=token_id, account=stranger.address):
        shares.claimRevenue(token_id, sender=stranger)
    assert [shares.claimRevenue(token_id, sender=a).return_value for a in (owner, other, third_holder)] == [900, 900, 100]
    assert vault.balanceOf(stablecoin, shares) == 0
    with reverts(shares.AssetNotSplit, tokenId=token_id):
        shares.depositRevenue(token_id, 1, sender=payer)


def test_batch_transfers_move_entitlements_of_every_asset(
    shares, nft, grid_operator, smart_meter, admin, chain, split_asset, payer, owner, other
):
    first = split_asset
    second, _, _ = mint(nft, grid_operator, owner, new_meter(smart_meter, admin, owner), chain)
    split(nft, shares, owner, second, 10)
    shares.depositRevenue(first, 1_000, sender=payer)
    shares.depositRevenue(second, 2_000, sender=payer)
    tx = shares.safeBatchTransferFrom(owner, other, [first, second], [100, 5], b"", sender=owner)
    assert_logs(
        tx,
        log(
            shares.TransferBatch, operator=owner.address, **{"from": owner.address}, to=other.address, ids=[first, second], values=[100, 5]
        ),
    )
    assert list(shares.balanceOfBatch([other, other], [first, second])) == [100, 5]
    shares.depositRevenue(first, 1_000, sender=payer)
    shares.depositRevenue(second, 2_000, sender=payer)
    assert [shares.claimableRevenue(first, a) for a in (owner, other)] == [1_000, 1_000]
    assert [shares.claimableRevenue(second, a) for a in (owner, other)] == [3_000, 1_000]


def test_one_unit_of_revenue_leaves_no_dust_behind(shares, nft, split_asset, payer, owner, other, third_holder):
    """Three holders of one share each: a deposit of 1 gives each a third, kept as a fraction."""
    token_id = split_asset
    shares.recombine(token_id, sender=owner)
    split(nft, shares, owner, token_id, 3)
    shares.safeTransferFrom(owner, other, token_id, 1, b"", sender=owner)
    shares.safeTransferFrom(owner, third_holder, token_id, 1, b"", sender=owner)
    holders = (owner, other, third_holder)
    shares.depositRevenue(token_id, 1, sender=payer)
    assert [shares.claimableRevenue(token_id, h) for h in holders] == [0, 0, 0]
    assert shares.getRevenue(token_id).carriedRemainder == MAGNITUDE % 3
    book = assert_no_dust_lost(shares, token_id, holders)
    assert book["fractions"] == 3 * (MAGNITUDE // 3)
    for h in holders:
        with reverts(shares.NothingToClaim, tokenId=token_id, account=h.address):
            shares.claimRevenue(token_id, sender=h)
    # The fractions and the carried remainder add up: after 3 units each holder has exactly 1.
    shares.depositRevenue(token_id, 1, sender=payer)
    assert_no_dust_lost(shares, token_id, holders)
    shares.depositRevenue(token_id, 1, sender=payer)
    assert shares.getRevenue(token_id).carriedRemainder == 0
    assert [shares.claimRevenue(token_id, sender=h).return_value for h in holders] == [1, 1, 1]
    book = assert_no_dust_lost(shares, token_id, holders)
    assert book == {"deposited": 3, "claimed": 3, "accounts_claimed": 3, "claimable": 0, "fractions": 0, "remainder": 0}


def test_claim_pays_whole_units_and_keeps_the_fraction(shares, nft, split_asset, payer, owner, other):
    token_id = split_asset  # 100 shares
    shares.safeTransferFrom(owner, other, token_id, 1, b"", sender=owner)
    shares.depositRevenue(token_id, 150, sender=payer)  # other: 1.5
    assert shares.getRevenueAccount(token_id, other) == (0, 1, MAGNITUDE // 2)
    assert shares.claimRevenue(token_id, sender=other).return_value == 1
    assert shares.getRevenueAccount(token_id, other) == (1, 0, MAGNITUDE // 2)
    shares.depositRevenue(token_id, 50, sender=payer)  # other: + 0.5 → the kept half becomes a unit
    assert shares.getRevenueAccount(token_id, other) == (1, 1, 0)
    assert shares.claimRevenue(token_id, sender=other).return_value == 1
    assert_no_dust_lost(shares, token_id, (owner, other))


# ----------------------------------------------------------------------------- the largest values


@pytest.fixture
def token_pair(project, admin, smart_meter, grid_management, energy_token, grid_operator, owner, chain):
    """Builds a second NFT/shares pair whose vault pays in a test token anyone may mint (`kind`), the
    shares a registered market of that vault. Returns (nft, shares, token, tokenId, vault) with the
    asset owned by `owner` and `owner` holding `funds` tokens in its wallet, allowed to the vault, and
    the shares approved as its vault market: its deposits are pulled from the wallet."""

    def build(kind, funds):
        pair_nft = project.EnergyAssetNFT.deploy(admin, smart_meter, grid_management, sender=admin)
        token = kind.deploy(sender=admin)
        pair_vault = project.EnergyVault.deploy(admin, energy_token, token, NO_FREEZE_QUERY, sender=admin)
        pair_shares = project.EnergyAssetShares.deploy(admin, pair_nft, pair_vault, sender=admin)
        pair_nft.setSharesContract(pair_shares, sender=admin)
        pair_vault.registerMarket(pair_shares, sender=admin)
        token_id, _, _ = mint(pair_nft, grid_operator, owner, new_meter(smart_meter, admin, owner), chain)
        token.mint(owner, funds, sender=owner)
        token.approve(pair_vault, 2**256 - 1, sender=owner)
        pair_vault.setMarketApproval(pair_shares, True, sender=owner)
        pair_nft.setApprovalForAll(pair_shares, True, sender=owner)
        return pair_nft, pair_shares, token, token_id, pair_vault

    return build


@pytest.fixture
def big(project, token_pair):
    """A pair paying in ReentrantToken (unarmed), so deposits can reach MAX_REVENUE_PER_ASSET."""
    return token_pair(project.ReentrantToken, MAX_REVENUE + 10)


def test_frozen_holders_and_a_frozen_vault_cannot_stop_claims(project, token_pair, admin, owner, other):
    """A claim moves vault balances, no token: a holder the token refuses (a USDC-style frozen
    account), or the vault itself frozen, still claims. A frozen vault stops only deposits that pull
    from a wallet."""
    _, pair_shares, token, token_id, pair_vault = token_pair(project.BlacklistToken, 1_000)
    pair_shares.split(token_id, 10, sender=owner)
    pair_shares.safeTransferFrom(owner, other, token_id, 5, b"", sender=owner)
    pair_shares.depositRevenue(token_id, 1_000, sender=owner)
    token.freeze(other, sender=admin)
    token.freeze(pair_vault, sender=admin)
    tx = pair_shares.claimRevenue(token_id, sender=other)
    assert_logs(tx, log(pair_shares.RevenueClaimed, tokenId=token_id, account=other.address, amount=500))
    assert pair_shares.claimRevenue(token_id, sender=owner).return_value == 500
    assert [pair_vault.balanceOf(token, a) for a in (other, owner, pair_shares)] == [500, 500, 0]
    assert token.balanceOf(pair_vault) == 1_000
    token.mint(owner, 1, sender=owner)
    with reverts(token.FrozenAccount, account=pair_vault.address):
        pair_shares.depositRevenue(token_id, 501, sender=owner)  # 500 from its vault balance, 1 from its wallet
    pair_shares.depositRevenue(token_id, 500, sender=owner)  # its vault balance alone: no token moves
    assert pair_vault.balanceOf(token, pair_shares) == 500


def test_largest_deposit_over_the_largest_share_count(big, owner, other):
    """The largest revenue (what one vault balance holds) over the largest share count: every claim
    is paid, and the carried dust stays in the shares contract's vault balance."""
    _, big_shares, token, token_id, big_vault = big
    assert big_vault.MAX_RESERVE() == MAX_REVENUE
    big_shares.split(token_id, MAX_SHARES, sender=owner)
    big_shares.safeTransferFrom(owner, other, token_id, 1, b"", sender=owner)
    big_shares.depositRevenue(token_id, MAX_REVENUE - 1, sender=owner)
    with reverts(big_shares.RevenueLimitExceeded, tokenId=token_id, amount=2, remaining=1):
        big_shares.depositRevenue(token_id, 2, sender=owner)
    big_shares.depositRevenue(token_id, 1, sender=owner)
    with reverts(big_shares.RevenueLimitExceeded, tokenId=token_id, amount=1, remaining=0):
        big_shares.depositRevenue(token_id, 1, sender=owner)
    magnified = MAX_REVENUE * MAGNITUDE
    per_share = magnified // MAX_SHARES
    assert big_shares.getRevenue(token_id).magnifiedRevenuePerShare == per_share
    expected_owner = per_share * (MAX_SHARES - 1) // MAGNITUDE
    expected_other = per_share // MAGNITUDE
    assert big_shares.claimableRevenue(token_id, owner) == expected_owner
    assert big_shares.claimableRevenue(token_id, other) == expected_other
    book = assert_no_dust_lost(big_shares, token_id, (owner, other))
    assert book["deposited"] == MAX_REVENUE
    assert big_shares.claimRevenue(token_id, sender=other).return_value == expected_other
    assert big_shares.claimRevenue(token_id, sender=owner).return_value == expected_owner
    assert (big_vault.balanceOf(token, other), big_vault.balanceOf(token, owner)) == (expected_other, expected_owner)
    assert big_vault.balanceOf(token, big_shares) == MAX_REVENUE - expected_owner - expected_other
    assert_no_dust_lost(big_shares, token_id, (owner, other))


def test_accumulator_survives_the_worst_split_sequence(big, owner, other):
    """The largest accumulator (all revenue over one share) times the largest share count of a later
    split still fits the corrections."""
    _, big_shares, token, token_id, big_vault = big
    big_shares.split(token_id, 1, sender=owner)
    big_shares.depositRevenue(token_id, MAX_REVENUE, sender=owner)
    assert big_shares.getRevenue(token_id).magnifiedRevenuePerShare == MAX_REVENUE * MAGNITUDE
    big_shares.recombine(token_id, sender=owner)
    big_shares.split(token_id, MAX_SHARES, sender=owner)
    big_shares.safeTransferFrom(owner, other, token_id, MAX_SHARES // 2, b"", sender=owner)
    assert big_shares.claimableRevenue(token_id, owner) == MAX_REVENUE
    assert big_shares.claimableRevenue(token_id, other) == 0
    with reverts(big_shares.NothingToClaim, tokenId=token_id, account=other.address):
        big_shares.claimRevenue(token_id, sender=other)
    big_shares.safeTransferFrom(other, owner, token_id, MAX_SHARES // 2, b"", sender=other)
    big_shares.recombine(token_id, sender=owner)
    assert big_shares.claimRevenue(token_id, sender=owner).return_value == MAX_REVENUE
    assert (big_vault.balanceOf(token, owner), big_vault.balanceOf(token, big_shares)) == (MAX_REVENUE, 0)
    assert_no_dust_lost(big_shares, token_id, (owner, other))


def test_a_reentrant_payment_token_cannot_claim_mid_deposit(big, owner):
    """A deposit pulled from the wallet calls the token (through the vault): a token calling back
    into the shares from there is refused."""
    _, big_shares, token, token_id, big_vault = big
    big_shares.split(token_id, 10, sender=owner)
    big_shares.depositRevenue(token_id, 1_000, sender=owner)
    payload = keccak(text="claimRevenue(uint256)")[:4] + encode(["uint256"], [token_id])
    token.arm(big_shares, payload, sender=owner)
    with reverts(big_shares.ReentrancyGuardReentrantCall):
        big_shares.depositRevenue(token_id, 1_000, sender=owner)
    assert big_shares.getRevenue(token_id).totalDeposited == 1_000
    assert big_vault.balanceOf(token, big_shares) == token.balanceOf(big_vault) == 1_000


# ----------------------------------------------------------------------------- cost, pause, ERC-1155 surface


def test_claim_cost_does_not_depend_on_the_number_of_holders(
    shares, nft, vault, stablecoin, grid_operator, smart_meter, admin, chain, payer, owner, other, accounts
):
    # The claimer's vault balance exists in both runs.
    stablecoin.addConsumerBalance(other, 1, sender=admin)
    stablecoin.approve(vault, 1, sender=other)
    vault.deposit(stablecoin, 1, sender=other)

    def claim_gas(holder_count: int) -> int:
        token_id, _, _ = mint(nft, grid_operator, owner, new_meter(smart_meter, admin, owner), chain)
        split(nft, shares, owner, token_id, 1_000)
        shares.safeTransferFrom(owner, other, token_id, 10, b"", sender=owner)
        for _ in range(holder_count - 2):
            shares.safeTransferFrom(owner, accounts.generate_test_account().address, token_id, 1, b"", sender=owner)
        shares.depositRevenue(token_id, 1_000_000, sender=payer)
        return shares.claimRevenue(token_id, sender=other).gas_used

    few, many = claim_gas(3), claim_gas(40)
    assert abs(many - few) <= few * 0.05, (few, many)


def test_pause_stops_split_and_deposits_only(shares, nft, split_asset, asset, payer, admin, owner, other, stranger, third_holder):
    token_id = split_asset
    with reverts(shares.AccessControlUnauthorizedAccount, account=admin.address, neededRole=PAUSER_ROLE):
        shares.pause(sender=admin)
    tx = shares.grantRole(PAUSER_ROLE, third_holder, sender=admin)
    assert_logs(tx, log(shares.RoleGranted, role=PAUSER_ROLE, account=third_holder.address, sender=admin.address))
    shares.depositRevenue(token_id, 100, sender=payer)
    tx = shares.pause(sender=third_holder)
    assert_logs(tx, log(shares.Paused, account=third_holder.address))
    with reverts(shares.EnforcedPause):
        shares.depositRevenue(token_id, 100, sender=payer)
    with reverts(shares.EnforcedPause):
        shares.split(token_id, 1, sender=owner)
    # Holders keep their rights: transfer, claim, recombine.
    shares.safeTransferFrom(owner, other, token_id, 10, b"", sender=owner)
    assert shares.claimRevenue(token_id, sender=owner).return_value == 100
    shares.safeTransferFrom(other, owner, token_id, 10, b"", sender=other)
    shares.recombine(token_id, sender=owner)
    with reverts(shares.AccessControlUnauthorizedAccount, account=third_holder.address, neededRole=DEFAULT_ADMIN_ROLE):
        shares.unpause(sender=third_holder)
    tx = shares.unpause(sender=admin)
    assert_logs(tx, log(shares.Unpaused, account=admin.address))
    with reverts(shares.ExpectedPause):
        shares.unpause(sender=admin)
    tx = shares.revokeRole(PAUSER_ROLE, third_holder, sender=admin)
    assert_logs(tx, log(shares.RoleRevoked, role=PAUSER_ROLE, account=third_holder.address, sender=admin.address))
    with reverts(shares.AccessControlBadConfirmation):
        shares.renounceRole(DEFAULT_ADMIN_ROLE, admin, sender=stranger)
    assert shares.getRoleAdmin(PAUSER_ROLE) == DEFAULT_ADMIN_ROLE
    shares.grantRole(PAUSER_ROLE, stranger, sender=admin)
    shares.renounceRole(PAUSER_ROLE, stranger, sender=stranger)
    assert not shares.hasRole(PAUSER_ROLE, stranger)


def test_erc1155_transfer_rules_hold(shares, split_asset, owner, other, stranger, smart_meter):
    token_id = split_asset
    with reverts(shares.ERC1155MissingApprovalForAll, operator=stranger.address, owner=owner.address):
        shares.safeTransferFrom(owner, stranger, token_id, 1, b"", sender=stranger)
    tx = shares.setApprovalForAll(stranger, True, sender=owner)
    assert_logs(tx, log(shares.ApprovalForAll, account=owner.address, operator=stranger.address, approved=True))
    assert shares.isApprovedForAll(owner, stranger)
    shares.safeTransferFrom(owner, other, token_id, 1, b"", sender=stranger)
    with reverts(shares.ERC1155InsufficientBalance, sender=other.address, balance=1, needed=2, tokenId=token_id):
        shares.safeTransferFrom(other, owner, token_id, 2, b"", sender=other)
    with reverts(shares.ERC1155InvalidReceiver, receiver=ZERO_ADDRESS):
        shares.safeTransferFrom(owner, ZERO_ADDRESS, token_id, 1, b"", sender=owner)
    with reverts(shares.ERC1155InvalidReceiver, receiver=smart_meter.address):  # a contract that takes no tokens
        shares.safeTransferFrom(owner, smart_meter, token_id, 1, b"", sender=owner)
    with reverts(shares.ERC1155InvalidOperator, operator=ZERO_ADDRESS):
        shares.setApprovalForAll(ZERO_ADDRESS, True, sender=owner)
    assert shares.balanceOf(owner, token_id) == 99


# ----------------------------------------------------------------------------- property: random holders


HOLDERS = 4
ops = st.lists(
    st.one_of(
        st.tuples(st.just("transfer"), st.integers(0, HOLDERS - 1), st.integers(0, HOLDERS - 1), st.integers(1, 100)),
        st.tuples(st.just("deposit"), st.sampled_from([1, 2, 3, 7, 999, 10**6, 10**9 + 7]), st.just(0), st.just(0)),
        st.tuples(st.just("claim"), st.integers(0, HOLDERS - 1), st.just(0), st.just(0)),
    ),
    min_size=4,
    max_size=14,
)


@pytest.fixture
def property_setup(nft, shares, asset, owner, other, third_holder, accounts, payer):
    return nft, shares, asset, [owner, other, third_holder, accounts[5]]


@settings(
    max_examples=20,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(share_count=st.sampled_from([1, 3, 7, 100, 997]), steps=ops)
def test_random_transfers_lose_no_revenue(property_setup, payer, vault, stablecoin, share_count, steps):
    """Σ claims + Σ claimable (+ fractions and the carried remainder) == deposits, to the unit, and each
    account's revenue is within (deposits + 1) × shares magnified units of its exact pro-rata share."""
    nft, shares, token_id, holders = property_setup
    # Not `chain.isolate()`: it swallows exceptions, failed assertions included (ape 0.8.51).
    snapshot = ape.chain.snapshot()
    try:
        credited = [vault.balanceOf(stablecoin, h) for h in holders]
        split(nft, shares, holders[0], token_id, share_count)
        balances = [share_count, 0, 0, 0]
        exact = [Fraction(0)] * HOLDERS
        paid = [0] * HOLDERS
        deposits = 0
        for kind, a, b, size in steps:
            if kind == "transfer":
                value = balances[a] * size // 100
                if value == 0 or a == b:
                    continue
                shares.safeTransferFrom(holders[a], holders[b], token_id, value, b"", sender=holders[a])
                balances[a] -= value
                balances[b] += value
            elif kind == "deposit":
                shares.depositRevenue(token_id, a, sender=payer)
                deposits += 1
                for i in range(HOLDERS):
                    exact[i] += Fraction(a * balances[i], share_count)
            else:
                claimable = shares.claimableRevenue(token_id, holders[a])
                if claimable == 0:
                    with reverts(shares.NothingToClaim, tokenId=token_id, account=holders[a].address):
                        shares.claimRevenue(token_id, sender=holders[a])
                else:
                    assert shares.claimRevenue(token_id, sender=holders[a]).return_value == claimable
                    paid[a] += claimable
        book = assert_no_dust_lost(shares, token_id, holders)
        assert book["claimed"] == sum(paid)
        assert vault.balanceOf(stablecoin, shares) == book["deposited"] - book["claimed"]
        assert [vault.balanceOf(stablecoin, h) - c for h, c in zip(holders, credited, strict=True)] == paid
        for i, holder in enumerate(holders):
            claimed, claimable, fraction = shares.getRevenueAccount(token_id, holder)
            assert claimed == paid[i]
            accrued = (claimed + claimable) * MAGNITUDE + fraction
            assert abs(accrued - exact[i] * MAGNITUDE) <= (deposits + 1) * share_count
    finally:
        ape.chain.restore(snapshot)
