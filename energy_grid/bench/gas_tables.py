"""The gas tables of docs/gas.md, rendered from `benchmarks/gas.json` so that they never drift from the
last `make bench` run (which rewrites them; `tests/test_gas_tables.py` checks they match).

A table lives in docs/gas.md between `<!-- gas-table:NAME -->` and `<!-- /gas-table -->`. Each row
names the bench operations whose figures it shows; its note may quote a figure of any operation:
`{g:op}` its gas, `{b:op}` its budget, `{n:op}` the note the bench wrote for it. The table named
`yearly` is yearly_cost.py's: what a household's share of the gas costs a year on a few chains.
The README's summary of the budgets is the table named `readme`, rendered the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from energy_grid.bench import yearly_cost

HEADER = "| operation | gas (steady) | budget | first time / note |\n|---|---:|---:|---|\n"
BLOCK = re.compile(r"(<!-- gas-table:(\w+) -->\n)(.*?)(<!-- /gas-table -->)", re.DOTALL)
PLACEHOLDER = re.compile(r"\{([gbn]):([^}]+)\}")


@dataclass(frozen=True)
class Row:
    label: str
    operations: tuple[str, ...]
    note: str = ""
    budget: str | None = None  # shown instead of the operations' budgets; placeholders as in notes


def row(label: str, *operations: str, note: str = "", budget: str | None = None) -> Row:
    return Row(label, operations or (label,), note, budget)


MARKET = (
    row("submitReading", note="{n:submitReading}"),
    row("submitReadings x100, per reading", note="{n:submitReadings x100, per reading}"),
    row(
        "submitSignedReadings x100, per reading (meter-signed, relayed)",
        "submitSignedReadings x100, per reading",
        note="{n:submitReadings x100 (same meters), per reading}; x10: {g:submitSignedReadings x10, per reading}, "
        "x1: {g:submitSignedReadings x1, per reading}",
    ),
    row(
        "submitPackedReadings x100, per reading (packed calldata)",
        "submitPackedReadings x100 (same meters), per reading",
        note="{n:submitPackedReadings x100 (same meters), per reading}",
    ),
    row(
        "submitPackedSignedReadings x100, per reading (packed, EIP-2098)",
        "submitPackedSignedReadings x100, per reading",
        note="{n:submitPackedSignedReadings x100, per reading}",
    ),
    row("createOrder SELL", note="joins a price level that holds orders; {n:createOrder SELL} (all nine bitmap heights)"),
    row("createOrder BUY", note="{n:createOrder BUY}"),
    row(
        "createOrderBySig SELL (trader-signed, relayed)",
        "createOrderBySig SELL (relayed, steady)",
        note="{n:createOrderBySig SELL (relayed, steady)}; with the trader's permit, its first order: "
        "{g:createOrderBySig SELL + permit (relayed, first order)} (budget {b:createOrderBySig SELL + permit (relayed, first order)})",
    ),
    row("cancelOrderBySig (relayed)", "cancelOrderBySig SELL (relayed)", note="{n:cancelOrderBySig SELL (relayed)}"),
    row(
        "createOrder SELL, opening a new price level",
        "createOrder SELL (new level)",
        note="the level's queue and a bitmap word created",
    ),
    row(
        "createOrder BUY crossing 1 / 5 resting orders",
        "createOrder BUY crossing 1 order",
        "createOrder BUY crossing 5 orders",
        note="each fill recorded as a transaction; at most 32 fills",
    ),
    row("createOrder crossing, per extra fill", note="(crossing 5 − crossing 1) / 4"),
    row(
        "createOrder SELL / BUY, price band on",
        "createOrder SELL, price band on",
        "createOrder BUY, price band on",
        note="three oracles and PriceDiscovery read cold",
    ),
    row("cancelOrder SELL", note="{n:cancelOrder SELL}"),
    row("cancelOrder BUY", note="{n:cancelOrder BUY}"),
    row("matchOrders (partial), directed orders", "matchOrders (partial)", note="{n:matchOrders (partial)}"),
    row("matchOrders (full), directed orders", "matchOrders (full)", note="{n:matchOrders (full)}"),
    row("settleTransaction", note="{n:settleTransaction}"),
    row("matchOrders + settleTransaction"),
    row("largest deployed contract (bytes)", note="{n:largest deployed contract (bytes)}"),
)

GRID = (
    row("reportProduction", note="producer, energy counter and grid totals rewritten; {n:reportProduction}"),
    row("consumeEnergy", note="consumer's two slots and a PaymentToken transfer; {n:consumeEnergy}"),
    row("chargeStorage / dischargeStorage", "chargeStorage", "dischargeStorage", note="the unit's two slots and the interval's flows"),
    row(
        "updateProducerReputation, toggleEmergencyMode, updateGridStatus",
        "updateProducerReputation",
        "toggleEmergencyMode",
        "updateGridStatus",
        note="one or two slots rewritten",
    ),
    row("recordMetrics, implementEmergencyProtocol", "recordMetrics", "implementEmergencyProtocol", note="two fresh record slots"),
    row(
        "registerProducer / Consumer / Storage / Operator",
        "registerProducer",
        "registerConsumer",
        "registerStorage",
        "registerOperator",
        note="fresh slots",
    ),
    row("emergencyShutdown", note="pauses GridManagement, EnergyTrading, SmartMeter, EnergyAuction"),
    row("reportLoad", "reportLoad (ring wrapped)", note="ring wrapped; {n:reportLoad (ring wrapped)}"),
    row(
        "reportLoads, per region of 34",
        "reportLoads of 34 regions, per region (rings wrapped)",
        note="a head-end's one transaction for 34 feeders, rings wrapped; {n:reportLoads of 34 regions, per region (rings wrapped)}",
    ),
    row("reportStabilityMetrics", "reportStabilityMetrics (NORMAL)", note="NORMAL; {n:reportStabilityMetrics (NORMAL)}"),
    row(
        "reportStabilityMetrics, a response fires",
        "reportStabilityMetrics (1 response fires)",
        note="{n:reportStabilityMetrics (1 response fires)}",
    ),
    row("configureAutomatedResponse", note="{n:configureAutomatedResponse}"),
    row("triggerStabilityResponse", "triggerStabilityResponse (EMERGENCY)", note="{n:triggerStabilityResponse (EMERGENCY)}"),
    row("setRegionCapacity", note="{n:setRegionCapacity}"),
    row(
        "initiateBalancingAction / completeBalancingAction / cancelBalancingAction",
        "initiateBalancingAction",
        "completeBalancingAction",
        "cancelBalancingAction",
        note="{n:initiateBalancingAction}",
    ),
    row("submitPrice, 3 reporters", "submitPrice (3 reporters)", note="{n:submitPrice (3 reporters)}"),
    row(
        "submitWeather / submitGridData, 3 reporters",
        "submitWeather (3 reporters)",
        "submitGridData (3 reporters)",
        note="{n:submitWeather (3 reporters)} / {n:submitGridData (3 reporters)}",
    ),
)

AUCTION = (
    row(
        "submitBid / submitAsk",
        "submitBid (steady)",
        "submitAsk (steady)",
        note="the trader's place holds a claimed order, the tick orders of that side; {n:submitBid (steady)}",
    ),
    row(
        "submitOrderBySig ask (trader-signed, relayed)",
        "submitOrderBySig ask (auction, relayed)",
        note="{n:submitOrderBySig ask (auction, relayed)}",
    ),
    row(
        "submitBid / submitAsk claiming the trader's earlier order in line",
        "submitBid claiming the trader's earlier bid in line",
        "submitAsk claiming the trader's earlier ask in line",
        note="its place held an order of a cleared market: claimed and rewritten, no claim transaction",
    ),
    row(
        "clear, 64 occupied ticks (a bid and an ask at each)",
        "clear (64 occupied ticks, bid and ask at each)",
        note="grows with occupied ticks, never with orders",
    ),
    row(
        "clear, 10 / 1,000 orders over the same 10 ticks",
        "clear (10 orders)",
        "clear (1,000 orders)",
        budget="within 5 %",
        note="1,000 orders: {n:clear (1,000 orders)}",
    ),
    row("claim bid, 10 / 1,000 orders", "claim bid (10 orders)", "claim bid (1,000 orders)", note="energy and the unused escrow"),
    row(
        "claim ask, 10 / 1,000 orders",
        "claim ask (10 orders)",
        "claim ask (1,000 orders)",
        note="rationed at the marginal level: proceeds and unsold energy",
    ),
    row(
        "claimBatch of 10 traders' orders, per order",
        "claimBatch of 10 traders' bids, per order",
        note=(
            "a keeper's round: the transaction, the call and the auction's vault balance shared; "
            "{n:claimBatch of 10 traders' bids, per order}"
        ),
    ),
    row("withdrawFees"),
    row(
        "clear across 8 zones x 64 occupied ticks",
        note="{n:clear across 8 zones x 64 occupied ticks}",
    ),
    row(
        "clear across 34 zones x 10 occupied ticks",
        note="{n:clear across 34 zones x 10 occupied ticks}",
    ),
    row(
        "clear across zones, one transaction: per zone / per occupied tick (fit)",
        "clear across zones, one transaction: per zone (fit)",
        "clear across zones, one transaction: per occupied tick (fit)",
        note="{n:clear across zones, one transaction: per zone (fit)}",
    ),
    row(
        "clear across 34 zones x 256 ticks, every tick occupied: largest step / the recording clear",
        "clear across 34 zones x 256 ticks, every tick occupied: largest step",
        "clear across 34 zones x 256 ticks, every tick occupied: the clear recording the steps",
        note="{n:clear across 34 zones x 256 ticks, every tick occupied: largest step}",
    ),
)

PROGRAMS = (
    row(
        "registerGridOperator / registerConsumer",
        "registerGridOperator",
        "registerConsumer (by the operator)",
        note="fresh slots",
    ),
    row("startEvent", note="{n:startEvent}; pulls the budget"),
    row(
        "joinEvent / rejectParticipation / cancelEvent",
        "joinEvent",
        "rejectParticipation",
        "cancelEvent",
    ),
    row(
        "verifyReduction",
        "verifyReduction (1-interval window)",
        note="1-interval window: 6 profile ranges read; {n:verifyReduction (1-interval window)}",
    ),
    row(
        "claimReward, 10 / 1,000 verified participants",
        "claimReward (10 verified)",
        "claimReward (1000 verified)",
        note="{n:claimReward (1000 verified)}",
    ),
    row(
        "distributeRewards",
        "distributeRewards (batch of 50)",
        note="a batch of 50 payments into fresh vault balances; the last call, paying 9, completing and refunding: "
        "{g:distributeRewards (pays 9, completes, refunds)}",
    ),
    row("registerCleanEnergyProducer", note="2 fresh slots"),
    row("issueCarbonCredits", note="owner's first credits: {g:issueCarbonCredits (owner's first credits)}"),
    row("issueCarbonCreditsBatch, a meter's share", note="{n:issueCarbonCreditsBatch, a meter's share}"),
    row("transferCarbonCredits", note="{n:transferCarbonCredits}"),
    row("retire", note="reason up to 31 bytes; beneficiary's first: {g:retire (beneficiary's first)}"),
    row("mintAsset", note="{n:mintAsset}"),
    row(
        "setMaintainer / addMaintenanceRecord",
        "setMaintainer",
        "addMaintenanceRecord (64-byte text)",
        note="64-byte text; {n:addMaintenanceRecord (64-byte text)}",
    ),
    row("split / recombine", "split", "recombine", note="1,000,000 shares"),
    row("share transfer", "share transfer (new holder)", note="to a new holder; {n:share transfer (new holder)}"),
    row("depositRevenue", note="{n:depositRevenue}"),
    row(
        "claimRevenue, 10 / 1,000 holders",
        "claimRevenue, 10 holders",
        "claimRevenue, 1,000 holders",
        budget="{b:claimRevenue, 10 holders}",
        note="1,000 holders: {n:claimRevenue, 1,000 holders}",
    ),
)

DAY_100 = "simulation: 100 households x 96 intervals, gas per household-interval"
DAY_1000 = "simulation: 1,000 households x 1 day, wall seconds"
DAY_100_ALONE = f"{DAY_100}, simulated day only"
DAY_1000_GAS = "simulation: 1,000 households on 34 feeders, each a market zone, gas per household-interval, simulated day only"
SIMULATION = (
    row("100 households x 1 day, gas per household-interval", DAY_100, note=f"{{n:{DAY_100}}}"),
    row("the same, the simulated day alone", DAY_100_ALONE, note=f"{{n:{DAY_100_ALONE}}}"),
    row("1,000 households on 34 coupled feeders, the simulated day alone", DAY_1000_GAS, note=f"{{n:{DAY_1000_GAS}}}"),
    row("1,000 households x 1 day, wall seconds (not gas)", DAY_1000, note=f"{{n:{DAY_1000}}}"),
)

TABLES: dict[str, tuple[Row, ...]] = {
    "market": MARKET,
    "grid": GRID,
    "auction": AUCTION,
    "programs": PROGRAMS,
    "simulation": SIMULATION,
}


def load(path: Path) -> dict[str, dict[str, Any]]:
    """The measurements of a gas.json, by operation."""
    return {m["operation"]: m for m in json.loads(path.read_text())["measurements"]}


def _joined(values: list[str]) -> str:
    return values[0] if len(set(values)) == 1 else " / ".join(values)


def render_row(r: Row, measurements: dict[str, dict[str, Any]]) -> str:
    found = [measurements[op] for op in r.operations]
    gas = " / ".join(f"{m['gas']:,}" for m in found)
    budgets = [f"{m['budget']:,}" for m in found if m["budget"]]

    def quote(match: re.Match[str]) -> str:
        kind, op = match.groups()
        m = measurements[op]
        return str(m["note"]) if kind == "n" else f"{m['gas' if kind == 'g' else 'budget']:,}"

    budget = PLACEHOLDER.sub(quote, r.budget) if r.budget is not None else (_joined(budgets) if budgets else "")
    note = PLACEHOLDER.sub(quote, r.note)
    if not all(m["withinBudget"] for m in found):
        note = "**over budget**" + (f"; {note}" if note else "")
    return f"| {r.label} | {gas} | {budget} | {note} |\n"


# A household's yearly cost per chain, from the simulated day's figure (yearly_cost.py).
YEARLY = "yearly"
NAMES = (*TABLES, YEARLY)


@dataclass(frozen=True)
class ReadmeRow:
    """A row of the README's summary: the figure before the market moved onto vault balances
    ("tokens", a fixed record), and the operations' figures now, with `unit` after each."""

    label: str
    tokens: str
    operations: tuple[str, ...]
    unit: str = ""


# The README's summary of the budgets, beside the figures of the design that moved ERC-20 tokens.
README_TABLE = "readme"
README_HEADER = "| operation | tokens | now | budget |\n|---|---:|---:|---:|\n"
README_ROWS = (
    ReadmeRow("createOrder, non-crossing", "113,956", ("createOrder SELL",)),
    ReadmeRow("createOrderBySig, relayed", "122,639", ("createOrderBySig SELL (relayed, steady)",)),
    ReadmeRow("matchOrders + settleTransaction", "163,521", ("matchOrders + settleTransaction",)),
    ReadmeRow("crossing createOrder, per extra fill", "37,461", ("createOrder crossing, per extra fill",)),
    ReadmeRow("auction submitBid / submitAsk", "83,159", ("submitBid (steady)", "submitAsk (steady)")),
    ReadmeRow("auction claim, per order of a keeper's claimBatch (10 traders)", "68,593", ("claimBatch of 10 traders' bids, per order",)),
    ReadmeRow("a lone auction claim (bid / ask)", "68,593", ("claim bid (10 orders)", "claim ask (10 orders)")),
    ReadmeRow("a standing order's extra gas per reading, batch of 100", "—", ("standing order: extra gas per reading in a batch of 100",)),
    ReadmeRow(
        "simulated day, gas per household-interval (100 households on 4 feeders, each a market zone; `make demo`'s 30 "
        "split each interval's shared costs fewer ways, so more each)",
        "≈ 205,000",
        (DAY_100_ALONE,),
    ),
    ReadmeRow("the same for 1,000 households on 34 feeders, each a market zone", "—", (DAY_1000_GAS,)),
    ReadmeRow(
        "a coupled clear of 34 zones × 256 ticks, every tick occupied: its largest step (SteppedClearing)",
        "—",
        ("clear across 34 zones x 256 ticks, every tick occupied: largest step",),
    ),
    ReadmeRow("1,000 households × 1 day, wall time on 2 cores", "≈ 19 min (extrapolated)", (DAY_1000,), " s"),
    ReadmeRow("largest deployed contract (bytes)", "23,515", ("largest deployed contract (bytes)",)),
)


def render_readme_row(r: ReadmeRow, measurements: dict[str, dict[str, Any]]) -> str:
    found = [measurements[op] for op in r.operations]
    now = " / ".join(f"{m['gas']:,}{r.unit}" for m in found)
    budget = _joined([f"{m['budget']:,}{r.unit}" for m in found if m["budget"]])
    return f"| {r.label} | {r.tokens} | {now} | {budget} |\n"


def render(name: str, measurements: dict[str, dict[str, Any]]) -> str:
    if name == YEARLY:
        return yearly_cost.render(int(measurements[DAY_100_ALONE]["gas"]))
    if name == README_TABLE:
        return README_HEADER + "".join(render_readme_row(r, measurements) for r in README_ROWS)
    return HEADER + "".join(render_row(r, measurements) for r in TABLES[name])


def update(readme: str, measurements: dict[str, dict[str, Any]]) -> str:
    """`readme` with every gas table rendered afresh from `measurements`."""
    return BLOCK.sub(lambda m: m.group(1) + render(m.group(2), measurements) + m.group(4), readme)


def tables_in(readme: str) -> dict[str, str]:
    return {m.group(2): m.group(3) for m in BLOCK.finditer(readme)}
