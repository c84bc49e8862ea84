"""Carbon credits and energy assets: `carbon issue|retire`, `assets mint|split|deposit|claim`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

from energy_grid.cli.output import Column, emit, grams_fmt, kwh_fmt, money_fmt, record_table, rows_table, time_fmt
from energy_grid.cli.params import ADDRESS, DECIMAL, scaled_integer, to_base_units
from energy_grid.cli.records import record
from energy_grid.cli.session import Session, pass_session

# IGridManagement.EnergyType, in its order.
ENERGY_TYPES = ("solar", "wind", "hydro", "nuclear", "geothermal", "biomass", "natural-gas")
GRAMS_PER_TONNE = 1_000_000  # CarbonCredits: 1 unit = 1 g CO2e, 6 decimals = tonnes


@click.group()
def carbon() -> None:
    """Carbon credits for clean export: issue them for meters, retire them as offsets."""


@carbon.command("issue")
@click.argument("meters", nargs=-1, required=True, type=ADDRESS)
@pass_session
def carbon_issue(session: Session, meters: tuple[str, ...]) -> None:
    """Mint the credits registered clean producers earned since the last issue (anyone may)."""
    credits = session.client.carbon_credits
    rows = [credits.issue_credits(session.signer, meter)._asdict() for meter in meters]
    columns = [
        Column("meter", "meter", justify="left"),
        Column("owner", "owner", justify="left"),
        Column("amount_wh", "clean export", kwh_fmt),
        Column("grams", "credits", grams_fmt),
    ]
    emit(session.json_output, {"issued": rows}, rows_table(rows, columns, title="Carbon credits issued"))


@carbon.command("retire")
@click.option("--amount-grams", type=click.IntRange(min=1), default=None, help="Credits to retire, g CO2e.")
@click.option("--amount-tonnes", type=DECIMAL, default=None, help="Credits to retire, t CO2e (exact to the gram).")
@click.option("--beneficiary", type=ADDRESS, default=None, help="On whose behalf; default the signing account.")
@click.option("--reason", required=True, help='What is offset, e.g. "2025 office electricity".')
@pass_session
def carbon_retire(
    session: Session, amount_grams: int | None, amount_tonnes: Decimal | None, beneficiary: str | None, reason: str
) -> None:
    """Burn your credits as an offset, recorded with a beneficiary and a reason."""
    if (amount_grams is None) == (amount_tonnes is None):
        raise click.UsageError("Give the amount once: --amount-grams or --amount-tonnes.")
    tonnes = amount_tonnes or Decimal(0)
    grams = amount_grams if amount_grams is not None else scaled_integer(tonnes, GRAMS_PER_TONNE, "t", "--amount-tonnes")
    signer = session.signer
    credits = session.client.carbon_credits
    # Sent as the bound call rather than through `credits.retire`, so that the contract, not the
    # library's own check, judges the reason's length and explains a refusal in its own words.
    receipt = session.transact(credits.calls.retire(signer, grams, beneficiary or signer.address, reason))
    retired = credits.event(receipt, "CarbonCreditsRetired")
    result = {
        "retirement_id": int(retired["retirementId"]),
        "retiree": retired["retiree"],
        "beneficiary": retired["beneficiary"],
        "amount_grams": int(retired["amountGrams"]),
        "reason": retired["reason"],
        "balance_grams": credits.balance_of(signer.address),
    }
    formats = {"amount_grams": grams_fmt, "balance_grams": grams_fmt}
    emit(session.json_output, result, record_table(result, formats, title=f"Retirement {result['retirement_id']}"))


@click.group()
def assets() -> None:
    """Energy-asset NFTs and their fractional shares: mint, split, deposit revenue, claim it."""


@assets.command("mint")
@click.option("--to", "owner", type=ADDRESS, required=True, help="The owner (must own the meter).")
@click.option("--meter", type=ADDRESS, required=True, help="The SmartMeter meter measuring the asset's export.")
@click.option("--type", "asset_type", type=click.Choice(ENERGY_TYPES), required=True, help="Energy type.")
@click.option("--capacity-kw", type=DECIMAL, required=True, help="Nameplate power, kW (exact to the W).")
@click.option("--region", "region_id", type=click.IntRange(0, 2**32 - 1), required=True, help="The meter's grid region.")
@click.option("--commissioned-at", type=click.IntRange(min=1), default=None,
              help="When it entered service, unix s; default the latest block's time.")
@pass_session
def assets_mint(
    session: Session,
    owner: str,
    meter: str,
    asset_type: str,
    capacity_kw: Decimal,
    region_id: int,
    commissioned_at: int | None,
) -> None:
    """Mint an asset NFT after inspection (an authorized grid operator of the region)."""
    capacity_w = scaled_integer(capacity_kw, 1_000, "kW", "--capacity-kw")
    commissioned = commissioned_at if commissioned_at is not None else session.latest_timestamp()
    token_id = session.client.asset_nft.mint_asset(
        session.signer, owner, ENERGY_TYPES.index(asset_type), capacity_w, region_id, commissioned, meter
    )
    result = {
        "token_id": token_id,
        "owner": owner,
        "meter": meter,
        "asset_type": asset_type,
        "capacity_w": capacity_w,
        "region_id": region_id,
        "commissioned_at": commissioned,
    }
    emit(session.json_output, result, record_table(result, {"commissioned_at": time_fmt}, title=f"Asset {token_id} minted"))


@assets.command("split")
@click.argument("token_id", type=click.IntRange(min=1))
@click.option("--shares", "share_count", type=click.IntRange(min=1), required=True, help="Shares to mint to you.")
@pass_session
def assets_split(session: Session, token_id: int, share_count: int) -> None:
    """Lock your asset NFT in EnergyAssetShares and receive its shares; you become its manager."""
    client = session.client
    signer = session.signer
    nft, shares = client.asset_nft, client.asset_shares
    if nft.get_approved(token_id) != shares.address and not nft.is_approved_for_all(signer.address, shares.address):
        nft.approve(signer, shares.address, token_id)
    shares.split(signer, token_id, share_count)
    result = _shareholding(session, token_id, signer.address)
    emit(session.json_output, result, record_table(result, _share_formats(session), title=f"Asset {token_id} split"))


@assets.command("deposit")
@click.argument("token_id", type=click.IntRange(min=1))
@click.option("--amount", type=DECIMAL, required=True, help="Revenue to pay in, PaymentToken (e.g. 12.5).")
@pass_session
def assets_deposit(session: Session, token_id: int, amount: Decimal) -> None:
    """Pay revenue in for a split asset's shareholders, pro rata (anyone may), from your EnergyVault
    balance; what it falls short of is pulled from your wallet."""
    client, signer = session.client, session.signer
    shares = client.asset_shares
    amount_base = to_base_units(amount, session.payment_decimals(), session.payment_symbol(), "--amount")
    # The shares contract is a vault market: it takes the revenue from the vault balance it was approved for.
    if not client.vault.is_market_approved(signer.address, shares.address):
        client.vault.approve_market(signer, shares.address)
    shortfall = amount_base - client.vault.balances(signer.address).payment
    if shortfall > 0:
        session.ensure_allowance("PaymentToken", client.vault.address, shortfall)
    shares.deposit_revenue(signer, token_id, amount_base)
    result = {"token_id": token_id, "deposited": amount_base, **record(shares.revenue(token_id))}
    decimals, symbol = session.token_info("PaymentToken")
    money = money_fmt(decimals, symbol)
    emit(session.json_output, result, record_table(result, {"deposited": money}, title=f"Revenue deposited for asset {token_id}"))


@assets.command("claim")
@click.argument("token_id", type=click.IntRange(min=1))
@pass_session
def assets_claim(session: Session, token_id: int) -> None:
    """Claim the revenue your shares of an asset accrued, into your EnergyVault balance (where the
    markets spend it; `vault withdraw` takes it to your wallet)."""
    client, holder = session.client, session.signer
    # The contract credits the revenue to the account that claims it.
    amount = client.asset_shares.claim_revenue(holder, token_id)
    result = {
        "token_id": token_id,
        "account": holder.address,
        "amount": amount,
        "vault_balance": client.vault.balances(holder.address).payment,
    }
    money = money_fmt(*session.token_info("PaymentToken"))
    table = record_table(result, {"amount": money, "vault_balance": money}, title=f"Revenue of asset {token_id} claimed into the vault")
    emit(session.json_output, result, table)


def _shareholding(session: Session, token_id: int, account: str) -> dict[str, Any]:
    shares = session.client.asset_shares
    return {
        "token_id": token_id,
        "account": account,
        "shares": shares.balance_of(account, token_id),
        "total_shares": shares.total_shares(token_id),
        "manager": shares.manager_of(token_id),
        "claimable": shares.claimable_revenue(token_id, account),
    }


def _share_formats(session: Session) -> dict[str, Any]:
    decimals, symbol = session.token_info("PaymentToken")
    return {"claimable": money_fmt(decimals, symbol)}
