"""A household's or the whole community's day, week or month, from the event index: what trading in
the community saved against buying every kWh at the grid's tariff, how much of the metered
consumption the community's own production met, where the export went and why what was not sold
was not, each transformer's peak, and the CO2 the export avoided.

What the index knows and what it does not, figure by figure:

- Energy is what the meters' readings count: SmartMeter's consumption and production registers are
  the import and export through the meter. PV a house uses itself never reaches its meter, so
  self-sufficiency and self-consumption are the community's: the share of the metered import that
  the community's metered export met in the same interval, and the share of the export that the
  community's import took up. A household gets its part of each interval pro rata (its import times
  the share of the community's import met that interval). Intervals are the contracts' (a reading
  at time T belongs to interval T // 900, the market its standing orders trade in).
- Money is what the market events say: order-book trades (settled: what moved; not yet settled:
  valued at their price, and counted in `pending_wh`), claimed auction orders, settled standing
  orders and verified demand-response rewards. The grid's tariff is not an event: the caller gives
  it (`Terms`), by default GridManagement's base price read from the chain now, the floor of a
  tariff that rises with load (up to 1.5 times) and triples in an emergency.
- Why export went unsold comes from the standing orders' settlements (offered and sold per meter
  and interval) and the zones' roles in each market (ZoneCleared): an ask unsold while its zone
  was EXPORT_BOUND met a full link; any other unsold ask (or claimed auction ask) found no buyer at
  its price; export no order offered flowed to the grid unsold (its EnergyToken stays with its owner).
- Transformer peaks are GridOperations' load reports (kW); the peak without demand response adds
  back the verified reductions of the events in the region whose window covers a report.
- CO2 avoided is an estimate: the metered export times CarbonCredits' avoided-emission factor (the
  credits issued are not indexed, and not every meter is a registered clean producer).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import computed_field
from sqlalchemy import Select, func, select, type_coerce
from sqlalchemy.orm import Session

from energy_grid.domain.auction_words import price_text
from energy_grid.domain.enums import ZoneRole
from energy_grid.domain.units import (
    DAY_SECONDS,
    INTERVAL_SECONDS,
    SECONDS_PER_HOUR,
    W_PER_KW,
    WH_PER_KWH,
    format_cents,
    format_kwh,
    format_share,
)
from energy_grid.index import models as m
from energy_grid.index.answers import Figures
from energy_grid.index.queries import head_of
from energy_grid.index.sql import bucket_start, in_window
from energy_grid.index.types import Uint256

PERIODS = ("day", "week", "month")
# Meters named by address, or by a query of their addresses (a region's); None: every meter.
Meters = list[str] | Select[str] | None
BASE_PRICE, GIVEN = "BASE_PRICE", "GIVEN"  # where the tariff came from
EPOCH = date(1970, 1, 1)


# ---------------------------------------------------------------- the time range


@dataclass(frozen=True)
class Window:
    """A day, an ISO week (Monday first) or a calendar month in the deployment's zone: unix seconds
    `from_s` to `to_s`, both included, and the buckets its series are drawn in (hours of a day, days
    of a week or month)."""

    period: str
    first_day: date
    from_s: int
    to_s: int
    bucket_s: int

    def label(self) -> str:
        if self.period == "day":
            return self.first_day.isoformat()
        if self.period == "week":
            year, week, _ = self.first_day.isocalendar()
            return f"week {week} of {year} (from {self.first_day.isoformat()})"
        return self.first_day.strftime("%B %Y")


def period_window(period: str, day: date, utc_offset_minutes: int) -> Window:
    """The `period` (day, week or month) that holds `day`, in the zone `utc_offset_minutes` east of UTC."""
    if period == "day":
        first, following = day, day + timedelta(days=1)
    elif period == "week":
        first = day - timedelta(days=day.weekday())
        following = first + timedelta(days=7)
    elif period == "month":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"a period is one of {', '.join(PERIODS)}, not {period!r}")
    offset_s = utc_offset_minutes * 60
    from_s = (first - EPOCH).days * DAY_SECONDS - offset_s
    to_s = (following - EPOCH).days * DAY_SECONDS - offset_s - 1
    return Window(period, first, from_s, to_s, SECONDS_PER_HOUR if period == "day" else DAY_SECONDS)


def local_day(timestamp_s: int, utc_offset_minutes: int) -> date:
    """The day `timestamp_s` falls on in the zone `utc_offset_minutes` east of UTC."""
    return datetime.fromtimestamp(timestamp_s + utc_offset_minutes * 60, UTC).date()


def head_day(session: Session, utc_offset_minutes: int) -> date:
    """The day of the last indexed block in the zone: what "this month" is (the chain's clock, which
    a local chain moves, not the wall's)."""
    return local_day(head_of(session).time_s(), utc_offset_minutes)


# ---------------------------------------------------------------- the figures


@dataclass(frozen=True)
class Terms:
    """What the figures need and the index does not hold: the grid's tariff (PaymentToken base units
    per kWh; `tariff_source` BASE_PRICE, GridManagement's base price now, or GIVEN by the caller)
    and the avoided-emission factor (g CO2e per kWh of export, CarbonCredits')."""

    tariff_per_kwh: int
    tariff_source: str
    grams_co2e_per_kwh: int


class Savings(Figures):
    """Trading in the community against buying every metered kWh at the tariff. The bill at the
    tariff: the import at the tariff; the net cost: what was paid for energy bought in the community,
    less what sales and demand-response rewards brought, plus the import not bought there at the
    tariff; saved: the difference. Payment figures in PaymentToken base units."""

    import_wh: int
    bought_wh: int  # in the community market: book, auction and standing orders
    paid: int
    sold_wh: int
    earned: int  # after the grid fee
    demand_response_rewards: int
    pending_wh: int  # book trades not settled yet (valued at their price)
    bill_at_tariff: int
    net_cost: int
    saved: int


class SelfSupply(Figures):
    """The metered import and export and what of each the community met in the same interval."""

    consumption_wh: int
    production_wh: int
    consumption_met_locally_wh: int
    production_used_locally_wh: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def self_sufficiency(self) -> float | None:
        return _ratio(self.consumption_met_locally_wh, self.consumption_wh)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def self_consumption(self) -> float | None:
        return _ratio(self.production_used_locally_wh, self.production_wh)


class ExportUse(Figures):
    """Where the metered export went: sold peer to peer, offered and unsold (a full link, no buyer at
    the price) or never offered (to the grid, unsold). Beyond the community's draw: export the
    community's own import in its interval could not have taken, whatever the prices (not a part of
    the split: it overlaps all three reasons)."""

    exported_wh: int
    sold_p2p_wh: int
    link_full_wh: int  # offered, unsold while its zone was EXPORT_BOUND
    no_buyer_wh: int  # offered, unsold at its price
    not_offered_wh: int  # to the grid, unsold
    beyond_community_draw_wh: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sold_share(self) -> float | None:
        return _ratio(min(self.sold_p2p_wh, self.exported_wh), self.exported_wh)


class TransformerPeak(Figures):
    """A region's highest load report in the window and, where the index knows demand-response
    reductions verified over it, the peak with them added back."""

    region_id: int
    peak_demand_kw: int
    capacity_kw: int
    load_percentage: int
    reported_at_s: int
    peak_without_demand_response_kw: int  # the same as peak_demand_kw where no reduction covered a report
    reduction_known: bool  # a verified demand-response reduction covered a report of the window


class Co2(Figures):
    """CO2e avoided: the metered export × the avoided-emission factor (an estimate)."""

    avoided_grams: int
    export_wh: int
    grams_co2e_per_kwh: int


class Bucket(Figures):
    """One bucket of the series (an hour of a day, a day of a week or month)."""

    start_s: int
    import_wh: int
    export_wh: int
    import_met_locally_wh: int


class HouseholdRow(Figures):
    """One household of the community (an owner of meters): its energy and what it saved."""

    owner: str
    meters: int
    import_wh: int
    export_wh: int
    sold_p2p_wh: int
    saved: int


@dataclass(frozen=True)
class Summary:
    """The window's figures for `owner`'s meters and accounts, or the whole community's (owner None)."""

    owner: str | None
    window: Window
    terms: Terms
    meters: list[str]
    savings: Savings
    supply: SelfSupply
    export: ExportUse
    peaks: list[TransformerPeak]
    co2: Co2
    series: list[Bucket]
    households: list[HouseholdRow] = field(default_factory=list)  # the community's, largest saving first


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


# ---------------------------------------------------------------- queries


@dataclass(frozen=True)
class MeterDirectory:
    """Each meter's owner and region (the latest registration of each)."""

    owner: dict[str, str]
    region: dict[str, int]

    def of(self, owner: str | None) -> list[str]:
        return sorted(meter for meter, held_by in self.owner.items() if owner is None or held_by == owner)


def meter_directory(session: Session) -> MeterDirectory:
    """Each registered meter's owner and region, as the index last saw them registered."""
    owner, region = {}, {}
    registered = m.MeterRegistered
    for row in session.execute(select(registered.meter, registered.owner, registered.region_id).order_by(registered.id)):
        owner[row.meter], region[row.meter] = row.owner, int(row.region_id)
    return MeterDirectory(owner, region)


def _sums(session: Session, from_s: int, to_s: int, key: Any, meters: Meters = None) -> dict[Any, tuple[int, int]]:
    """(import Wh, export Wh) of the readings from `from_s` to `to_s` (both included) per `key` (the
    interval's start, or the meter), of `meters` only when they are named."""
    r = m.ReadingAccepted
    query = (
        select(
            key.label("key"),
            type_coerce(func.sum(r.consumption_wh), Uint256).label("import_wh"),
            type_coerce(func.sum(r.production_wh), Uint256).label("export_wh"),
        )
        .where(*in_window(r.reading_timestamp_s, from_s, to_s))
        .group_by(key)
    )
    if meters is not None:
        query = query.where(r.meter.in_(meters))
    return {row.key: (int(row.import_wh or 0), int(row.export_wh or 0)) for row in session.execute(query)}


def interval_sums(session: Session, from_s: int, to_s: int, meters: Meters = None) -> dict[int, tuple[int, int]]:
    """(import Wh, export Wh) per interval, by the interval's start (unix s), of the readings from
    `from_s` to `to_s`: every meter's, or those of `meters` when they are named."""
    start = bucket_start(m.ReadingAccepted.reading_timestamp_s, 0, INTERVAL_SECONDS)
    return {int(key): sums for key, sums in _sums(session, from_s, to_s, start, meters).items()}


@dataclass
class _Trading:
    """One account's (or every account's) trading in the window, summed."""

    bought_wh: int = 0
    paid: int = 0
    sold_wh: int = 0
    earned: int = 0
    pending_wh: int = 0
    no_buyer_wh: int = 0
    link_full_wh: int = 0
    rewards: int = 0


def _periods(window: Window) -> tuple[int, int]:
    """The first and last interval (auction period) starting in the window."""
    return -(-window.from_s // INTERVAL_SECONDS), window.to_s // INTERVAL_SECONDS


class _Accounts:
    """Each wanted owner's trading, or every account's together (None) when no owners are named."""

    def __init__(self, owners: Iterable[str] | None) -> None:
        self.wanted = None if owners is None else set(owners)
        self.totals: dict[str | None, _Trading] = defaultdict(_Trading)

    def of(self, address: str | None) -> _Trading | None:
        if address is None or (self.wanted is not None and address not in self.wanted):
            return None
        return self.totals[None if self.wanted is None else address]


def _trading(session: Session, window: Window, meters: MeterDirectory, owners: Iterable[str] | None) -> dict[str | None, _Trading]:
    """Each owner's trading (None: every account's together when `owners` is None)."""
    accounts = _Accounts(owners)
    _book_trades(session, window, accounts)
    _auction_claims(session, window, accounts)
    _standing_orders(session, window, meters, accounts)
    v = m.DemandReductionVerified
    rewards = select(v.consumer, type_coerce(func.sum(v.reward_amount), Uint256).label("reward"))
    for row in session.execute(rewards.where(*in_window(v.timestamp_s, window.from_s, window.to_s)).group_by(v.consumer)):
        trading = accounts.of(row.consumer)
        if trading is not None:
            trading.rewards += int(row.reward or 0)
    return accounts.totals


def _book_trades(session: Session, window: Window, accounts: _Accounts) -> None:
    """The order book: a trade at its time; settled, what moved; pending, its value at the trade's price."""
    f, s = m.Fill, m.SettlementRow
    fills = select(f, s).outerjoin(s, s.transaction_id == f.transaction_id).where(*in_window(f.timestamp_s, window.from_s, window.to_s))
    for row in session.execute(fills):
        fill: m.Fill = row[0]
        settlement: m.SettlementRow | None = row[1]
        if settlement is not None and settlement.status == "VOIDED":
            continue  # nothing moved
        paid = earned = fill.amount_wh * fill.price_per_kwh // WH_PER_KWH
        if settlement is not None:
            paid, earned = settlement.payment or 0, (settlement.payment or 0) - (settlement.fee or 0)
        buyer, seller = accounts.of(fill.buyer), accounts.of(fill.seller)
        for trading in (buyer, seller):
            if trading is not None and settlement is None:
                trading.pending_wh += fill.amount_wh
        if buyer is not None:
            buyer.bought_wh += fill.amount_wh
            buyer.paid += paid
        if seller is not None:
            seller.sold_wh += fill.amount_wh
            seller.earned += earned


def _auction_claims(session: Session, window: Window, accounts: _Accounts) -> None:
    """Claimed auction orders of the periods starting in the window: only a claim says what filled."""
    first_period, last_period = _periods(window)
    o, c = m.AuctionOrderSubmitted, m.AuctionOrderClaimed
    claims = select(c, o.amount_wh).join(o, o.order_id == c.order_id).where(o.period >= first_period, o.period <= last_period)
    for claim, amount_wh in session.execute(claims):
        trading = accounts.of(claim.trader)
        if trading is None:
            continue
        if claim.is_bid:
            trading.bought_wh += claim.filled_wh
            trading.paid += claim.payment
        else:
            trading.sold_wh += claim.filled_wh
            trading.earned += claim.payment - claim.fee
            trading.no_buyer_wh += int(amount_wh) - claim.filled_wh


def _standing_orders(session: Session, window: Window, meters: MeterDirectory, accounts: _Accounts) -> None:
    """The meters' settled standing orders: an unsold ask met a full link when its zone was held at
    its export limit, and no buyer at its price otherwise."""
    first_period, last_period = _periods(window)
    st = m.MeteredOrdersSettled
    export_bound = _export_bound_regions(session, first_period, last_period)
    for row in session.scalars(select(st).where(st.period >= first_period, st.period <= last_period)):
        trading = accounts.of(meters.owner.get(row.meter))
        if trading is None:
            continue
        trading.sold_wh += row.sold_wh
        trading.earned += row.proceeds
        trading.bought_wh += row.bought_wh
        trading.paid += row.paid
        if (row.period, meters.region.get(row.meter)) in export_bound:
            trading.link_full_wh += row.ask_wh - row.sold_wh
        else:
            trading.no_buyer_wh += row.ask_wh - row.sold_wh


def _export_bound_regions(session: Session, first_period: int, last_period: int) -> set[tuple[int, int]]:
    """(period, region) of every zone held at its export limit in the periods' markets."""
    z = m.ZoneCleared
    region_of = {row.zone: row.region_id for row in session.execute(select(m.ZoneAdded.zone, m.ZoneAdded.region_id))}
    bound = select(z.period, z.zone).where(z.period >= first_period, z.period <= last_period, z.role == int(ZoneRole.EXPORT_BOUND))
    return {(int(row.period), region_of[row.zone]) for row in session.execute(bound) if row.zone in region_of}


def _savings(import_wh: int, trading: _Trading, tariff_per_kwh: int) -> Savings:
    bill = import_wh * tariff_per_kwh // WH_PER_KWH
    from_grid_wh = max(import_wh - trading.bought_wh, 0)
    net_cost = trading.paid - trading.earned - trading.rewards + from_grid_wh * tariff_per_kwh // WH_PER_KWH
    return Savings(
        import_wh=import_wh, bought_wh=trading.bought_wh, paid=trading.paid, sold_wh=trading.sold_wh, earned=trading.earned,
        demand_response_rewards=trading.rewards, pending_wh=trading.pending_wh, bill_at_tariff=bill, net_cost=net_cost,
        saved=bill - net_cost,
    )  # fmt: skip


def _peaks(session: Session, window: Window, regions: set[int] | None) -> list[TransformerPeak]:
    load = m.LoadReported
    reports = select(load).where(*in_window(load.timestamp_s, window.from_s, window.to_s)).order_by(load.id)
    if regions is not None:
        reports = reports.where(load.region_id.in_(regions))
    started, verified = m.DemandEventStarted, m.DemandReductionVerified
    reduced = (
        select(started.region_id, started.start_time_s, started.end_time_s, type_coerce(func.sum(verified.reduction_w), Uint256).label("w"))
        .join(verified, verified.event_id == started.event_id)
        .where(started.start_time_s <= window.to_s, started.end_time_s >= window.from_s)
        .group_by(started.event_id, started.region_id, started.start_time_s, started.end_time_s)
    )
    events = session.execute(reduced).all()
    highest: dict[int, m.LoadReported] = {}
    without_kw: dict[int, int] = {}
    reduced_regions: set[int] = set()
    for report in session.scalars(reports):
        region = report.region_id
        reduction_w = sum(int(e.w) for e in events if e.region_id == region and e.start_time_s <= report.timestamp_s < e.end_time_s)
        if reduction_w:
            reduced_regions.add(region)
        if region not in highest or report.demand_kw > highest[region].demand_kw:
            highest[region] = report
        without_kw[region] = max(without_kw.get(region, 0), report.demand_kw + (reduction_w + W_PER_KW // 2) // W_PER_KW)
    return [
        TransformerPeak(
            region_id=region, peak_demand_kw=peak.demand_kw, capacity_kw=peak.capacity_kw, load_percentage=peak.load_percentage,
            reported_at_s=peak.timestamp_s, peak_without_demand_response_kw=without_kw[region], reduction_known=region in reduced_regions,
        )
        for region, peak in sorted(highest.items())
    ]


# ---------------------------------------------------------------- the summary


def summary(session: Session, window: Window, terms: Terms, owner: str | None = None) -> Summary:
    """`owner`'s figures (its meters' energy, its accounts' trading), or the community's (None)."""
    meters = meter_directory(session)
    mine = meters.of(owner)
    community = interval_sums(session, window.from_s, window.to_s)
    own = community if owner is None else interval_sums(session, window.from_s, window.to_s, mine)
    buckets: dict[int, list[int]] = {}
    consumption_wh = production_wh = met_wh = used_wh = beyond_wh = 0
    for start, (import_wh, export_wh) in own.items():
        all_import_wh, all_export_wh = community[start]
        local_wh = min(all_import_wh, all_export_wh)
        # Its part of the interval's local match, pro rata (the whole of it for the community).
        met = import_wh * local_wh // all_import_wh if all_import_wh else 0
        used = export_wh * local_wh // all_export_wh if all_export_wh else 0
        consumption_wh, production_wh = consumption_wh + import_wh, production_wh + export_wh
        met_wh, used_wh, beyond_wh = met_wh + met, used_wh + used, beyond_wh + export_wh - used
        bucket = buckets.setdefault(window.from_s + (start - window.from_s) // window.bucket_s * window.bucket_s, [0, 0, 0])
        bucket[0], bucket[1], bucket[2] = bucket[0] + import_wh, bucket[1] + export_wh, bucket[2] + met
    count = (window.to_s + 1 - window.from_s) // window.bucket_s
    series = []
    for start in (window.from_s + i * window.bucket_s for i in range(count)):
        import_wh, export_wh, met = buckets.get(start, [0, 0, 0])
        series.append(Bucket(start_s=start, import_wh=import_wh, export_wh=export_wh, import_met_locally_wh=met))

    traded = _trading(session, window, meters, None if owner is None else [owner])
    trading = traded.get(owner, _Trading())
    sold_wh = trading.sold_wh
    unsold_offered_wh = trading.link_full_wh + trading.no_buyer_wh
    export = ExportUse(
        exported_wh=production_wh, sold_p2p_wh=sold_wh, link_full_wh=trading.link_full_wh, no_buyer_wh=trading.no_buyer_wh,
        not_offered_wh=max(production_wh - sold_wh - unsold_offered_wh, 0), beyond_community_draw_wh=beyond_wh,
    )  # fmt: skip
    regions = None if owner is None else {meters.region[meter] for meter in mine}
    households = [] if owner is not None else _households(session, window, terms, meters)
    return Summary(
        owner=owner,
        window=window,
        terms=terms,
        meters=mine,
        savings=_savings(consumption_wh, trading, terms.tariff_per_kwh),
        supply=SelfSupply(
            consumption_wh=consumption_wh,
            production_wh=production_wh,
            consumption_met_locally_wh=met_wh,
            production_used_locally_wh=used_wh,
        ),
        export=export,
        peaks=_peaks(session, window, regions),
        co2=Co2(
            avoided_grams=production_wh * terms.grams_co2e_per_kwh // WH_PER_KWH,
            export_wh=production_wh,
            grams_co2e_per_kwh=terms.grams_co2e_per_kwh,
        ),
        series=series,
        households=households,
    )


def _households(session: Session, window: Window, terms: Terms, meters: MeterDirectory) -> list[HouseholdRow]:
    """Every owner of meters: its import and export, what it sold and saved."""
    energy: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for meter, (import_wh, export_wh) in _sums(session, window.from_s, window.to_s, m.ReadingAccepted.meter).items():
        owner = meters.owner.get(meter)
        if owner is not None:  # a meter registered before the index's first block has no owner it knows
            energy[owner][0] += import_wh
            energy[owner][1] += export_wh
    owners = sorted(set(meters.owner.values()))
    traded = _trading(session, window, meters, owners)
    rows = []
    for owner in owners:
        import_wh, export_wh = energy[owner]
        trading = traded.get(owner, _Trading())
        saved = _savings(import_wh, trading, terms.tariff_per_kwh).saved
        rows.append(HouseholdRow(owner=owner, meters=len(meters.of(owner)), import_wh=import_wh, export_wh=export_wh,
                                 sold_p2p_wh=trading.sold_wh, saved=saved))  # fmt: skip
    return sorted(rows, key=lambda row: (-row.saved, row.owner))


# ---------------------------------------------------------------- in words


def share_text(part: float | None) -> str:
    """A share as a page shows it: "42 %", "-" where there was nothing to share."""
    return "-" if part is None else f"{100 * part:.0f} %"


def notes(result: Summary, payment_decimals: int, payment_symbol: str) -> list[str]:
    """What each figure rests on, in the user's units: one sentence each, the estimates said as such."""

    def money(amount: int) -> str:
        return format_cents(amount, payment_decimals, payment_symbol)

    terms, savings, export = result.terms, result.savings, result.export
    tariff = price_text(terms.tariff_per_kwh, payment_decimals, payment_symbol)
    if terms.tariff_source == BASE_PRICE:
        said = [
            f"Savings are an estimate: every kWh is priced at the grid's base price now, {tariff}, the floor of a tariff "
            "that rises with the grid's load, so what buying in the community saved was at least this much."
        ]
    else:
        said = [f"Savings price every kWh not bought in the community at the tariff given, {tariff}."]
    if savings.pending_wh:
        said.append(f"{format_kwh(savings.pending_wh)} of order-book trades are not settled yet: they are counted at their trade price.")
    said.append(
        "The meters count only what crosses them: PV a house uses itself is not in the readings, so self-sufficiency and "
        "self-consumption are the community's, its metered consumption met by its own metered production in the same 15 minutes."
    )
    unsold = [
        (export.link_full_wh, "offered while the zone's link to the rest of the grid was full"),
        (export.no_buyer_wh, "offered but no buyer took it at its price"),
        (export.not_offered_wh, "not offered in the market and flowed to the grid unsold"),
    ]
    reasons = [f"{format_kwh(wh)} {why}" for wh, why in unsold if wh]
    if export.exported_wh == 0:
        said.append("No energy was exported: there was nothing to sell peer to peer.")
    else:
        sentence = f"{format_share(min(export.sold_p2p_wh, export.exported_wh), export.exported_wh)} exported was sold peer to peer"
        said.append(f"{sentence}; the rest: {', '.join(reasons)}." if reasons else f"{sentence}.")
    if export.beyond_community_draw_wh:
        said.append(
            f"{format_kwh(export.beyond_community_draw_wh)} of the export came while the community drew less than it exported, "
            "so no neighbour could use it whatever the price."
        )
    said.append(
        f"CO2 avoided is an estimate: the metered export at CarbonCredits' avoided-emission factor, "
        f"{terms.grams_co2e_per_kwh:,} g CO2e/kWh (the credits issued are not in the index)."
    )
    if any(peak.reduction_known for peak in result.peaks):
        said.append("A peak without demand response adds the reductions verified for the events covering each load report back to it.")
    return said


__all__ = [
    "BASE_PRICE",
    "GIVEN",
    "PERIODS",
    "Bucket",
    "Co2",
    "ExportUse",
    "HouseholdRow",
    "MeterDirectory",
    "Savings",
    "SelfSupply",
    "Summary",
    "Terms",
    "TransformerPeak",
    "Window",
    "head_day",
    "interval_sums",
    "local_day",
    "meter_directory",
    "notes",
    "period_window",
    "share_text",
    "summary",
]
