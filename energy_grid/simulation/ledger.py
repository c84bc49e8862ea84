"""The audit of a run: every figure read back from the chain, and the balances it must satisfy.

Energy (Wh, exact):
- the meters' export registers on chain = EnergyToken minted to the households (SmartMeter mints
  each accepted increase), and both registers = the model's;
- Σ bid fills = Σ ask fills = the volume of the markets cleared (OrderClaimed, MarketCleared);
- Σ redeemed against metered import (ConsumptionRedeemed) = Σ bought;
- each household's EnergyToken balance = minted − sold + bought − redeemed.
Money (PaymentToken base units, exact):
- what buyers paid = sellers' proceeds + grid fees + the auction's rounding surplus (below one unit
  per price level of a market: 0 ≤ surplus < 2 per market);
- each household's balance = faucet − paid for bids + proceeds of asks + demand-response rewards.

Figures come from the chain's events and balances, not from the driver's bookkeeping; the
model's own figures (consumption, PV) fill in what no contract records.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from energy_grid.client import GridError
from energy_grid.events import EventDecoder, address_topic
from energy_grid.sender import prepare
from energy_grid.simulation.model import CommunityModel, IntervalResult
from energy_grid.units import ZERO_ADDRESS

if TYPE_CHECKING:
    from energy_grid.simulation.driver import SimulationRun

WH_PER_KWH = 1_000
PRICE_LEVELS_PER_MARKET = 2  # the rounding surplus is below one unit per level: one bid level, one ask level traded at a price


class SimulationImbalance(GridError):
    """Energy or money on chain does not balance; the message lists every failed check."""


@dataclass(frozen=True)
class IntervalFigures:
    """One simulated interval: the model's energies and grid, the market that traded its energy."""

    interval: int
    local_time: str  # local standard time at the site, "YYYY-MM-DD HH:MM" (interval start)
    consumption_wh: int
    pv_wh: int
    import_wh: int
    export_wh: int
    transformer_loading_per_mille: int
    voltage_min_per_mille: int
    reference_price_per_kwh: int
    demand_response: bool  # registered households were answering an event
    traded_wh: int = 0  # in the auction that traded this interval's metered energy
    clearing_price_per_kwh: int | None = None  # None when nothing traded


@dataclass(frozen=True)
class BalanceCheck:
    name: str
    left: int
    right: int

    @property
    def ok(self) -> bool:
        return self.left == self.right


@dataclass
class SimulationResult:
    """What a run produced; `figures` are the summary table's, all read back from the chain."""

    config: dict[str, Any]
    day_start_s: int
    figures: dict[str, int | float]
    series: list[IntervalFigures]
    gas_by_actor: dict[str, int]
    transactions_by_actor: dict[str, int]
    checks: list[BalanceCheck]
    seconds: float
    households_failing: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return all(check.ok for check in self.checks)

    def totals(self) -> dict[str, Any]:
        """Every figure that must not depend on how the run went (restarts, timing, gas)."""
        series = [asdict(s) for s in self.series]
        return {"figures": dict(self.figures), "series": series}

    def as_json(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "dayStartUnixS": self.day_start_s,
            "figures": self.figures,
            "gasByActor": self.gas_by_actor,
            "transactionsByActor": self.transactions_by_actor,
            "checks": [asdict(c) | {"ok": c.ok} for c in self.checks],
            "seconds": round(self.seconds, 1),
            "series": [asdict(s) for s in self.series],
        }


class _Flows:
    """Per household (by index), what moved, in Wh or PaymentToken base units."""

    def __init__(self, households: int) -> None:
        self.minted, self.funded, self.redeemed, self.rewards = ([0] * households for _ in range(4))
        self.sold, self.bought, self.paid, self.proceeds, self.fees = ([0] * households for _ in range(5))
        self.import_registers: list[int] = []
        self.export_registers: list[int] = []


def audit(run: SimulationRun, baseline: Sequence[IntervalResult], model: CommunityModel) -> SimulationResult:
    """Reads the run back from the chain and checks it; raises SimulationImbalance if it does not balance."""
    return _Auditor(run, baseline, model).result()


class _Auditor:
    def __init__(self, run: SimulationRun, baseline: Sequence[IntervalResult], model: CommunityModel) -> None:
        self.run = run
        self.client = run.client
        self.baseline = baseline
        self.model = model
        self.households = [a.address for a in run.actors.households]
        self.meters = run.actors.meters
        self.index = {address: i for i, address in enumerate(self.households)}

    def _logs(self, contract: str, event: str, topics: list[Any]) -> list[dict[str, Any]]:
        decoder = EventDecoder(self.client[contract], event)
        logs = self.run._logs(decoder, [decoder.topic, *topics])
        return [decoder.decode(log) for log in logs]

    def _topics(self, addresses: Sequence[str]) -> list[str]:
        return [address_topic(a) for a in addresses]

    def result(self) -> SimulationResult:
        run = self.run
        flows = self._flows()
        cleared, series = self._markets()
        event_ids, verified = self._demand_response()
        checks, failing, surplus = self._checks(flows, cleared)
        figures = self._figures(flows, cleared, series, surplus) | {
            "dr_events": len(event_ids),
            "dr_participants_verified": len(verified),
            # Every registered household is measured after each event; who was not verified showed
            # less than the minimum reduction.
            "dr_participants_skipped": len(event_ids) * len(run.members) - len(verified),
            "dr_reduction_w": sum(int(v["reductionW"]) for v in verified),
            "dr_rewards_paid": sum(flows.rewards),
        }
        credits = self._logs("CarbonCredits", "CarbonCreditsIssued", [self._topics(self.meters)])
        figures["carbon_credits_grams"] = sum(int(x["grams"]) for x in credits)
        figures["carbon_credited_wh"] = sum(int(x["amountWh"]) for x in credits)
        gas, transactions = self._gas_by_actor()
        result = SimulationResult(
            config=run.config.run_key(),
            day_start_s=run.calendar.day_start_s,
            figures=figures,
            series=series,
            gas_by_actor=gas,
            transactions_by_actor=transactions,
            checks=checks,
            seconds=_elapsed(run),
            households_failing=failing,
        )
        if not result.balanced:
            lines = [f"{c.name}: {c.left} != {c.right}" for c in checks if not c.ok] + failing[:10]
            raise SimulationImbalance("the run does not balance: " + "; ".join(lines))
        return result

    def _flows(self) -> _Flows:
        """What moved to and from each household, from the events; the registers from SmartMeter."""
        n = len(self.households)
        household_topics = self._topics(self.households)
        zero_topic = self._topics([ZERO_ADDRESS])[0]
        flows = _Flows(n)
        for t in self._logs("EnergyToken", "Transfer", [zero_topic, household_topics]):
            flows.minted[self.index[t["to"]]] += int(t["value"])
        for t in self._logs("PaymentToken", "Transfer", [zero_topic, household_topics]):
            flows.funded[self.index[t["to"]]] += int(t["value"])
        meter = self.client["SmartMeter"]
        latest = self.run.sender.read([prepare(meter, "getLatestReading", m, signature="getLatestReading(address)") for m in self.meters])
        flows.import_registers = [int(r[1]) for r in latest]
        flows.export_registers = [int(r[2]) for r in latest]
        for claim in self._logs("EnergyAuction", "OrderClaimed", [None, household_topics]):
            h = self.index[claim["trader"]]
            if claim["isBid"]:
                flows.bought[h] += int(claim["filledWh"])
                flows.paid[h] += int(claim["payment"])
            else:
                flows.sold[h] += int(claim["filledWh"])
                flows.proceeds[h] += int(claim["payment"]) - int(claim["fee"])
                flows.fees[h] += int(claim["fee"])
        meter_index = {m: i for i, m in enumerate(self.meters)}
        for r in self._logs("SmartMeter", "ConsumptionRedeemed", [self._topics(self.meters)]):
            flows.redeemed[meter_index[r["meter"]]] += int(r["amountWh"])
        for r in self._logs("DemandResponse", "RewardPaid", [None, household_topics]):
            flows.rewards[self.index[r["consumer"]]] += int(r["amount"])
        return flows

    def _markets(self) -> tuple[list[dict[str, Any]], list[IntervalFigures]]:
        """The run's cleared markets (period of interval i + 2 traded interval i's energy) and the
        interval series with each interval's market."""
        run = self.run
        period_of_interval = {run.calendar.period_of(i + 2): i for i in range(len(run.series))}
        cleared = [m for m in self._logs("EnergyAuction", "MarketCleared", []) if int(m["period"]) in period_of_interval]
        traded_by_interval = {period_of_interval[int(m["period"])]: m for m in cleared}
        return cleared, [_with_market(s, traded_by_interval.get(s.interval)) for s in run.series]

    def _demand_response(self) -> tuple[set[int], list[dict[str, Any]]]:
        """The run's events (started by its operator) and the reductions verified in them."""
        operator_topic = self._topics([self.run.actors.operator.address])[0]
        event_ids = {int(e["eventId"]) for e in self._logs("DemandResponse", "EventStarted", [None, operator_topic])}
        verified = self._logs("DemandResponse", "ReductionVerified", [None, self._topics(self.households)])
        return event_ids, [v for v in verified if int(v["eventId"]) in event_ids]

    def _checks(self, flows: _Flows, cleared: list[dict[str, Any]]) -> tuple[list[BalanceCheck], list[str], int]:
        """The balances (module docstring), the households whose token balances do not add up, and
        the auction's rounding surplus."""
        c = self.client.contracts
        last = self._last_registers()
        markets_with_volume = [m for m in cleared if int(m["volumeWh"]) > 0]
        surplus = sum(flows.paid) - sum(flows.proceeds) - sum(flows.fees)
        surplus_ok = 0 <= surplus < PRICE_LEVELS_PER_MARKET * max(1, len(markets_with_volume))
        checks = [
            BalanceCheck("export registers on chain = EnergyToken minted (Wh)", sum(flows.export_registers), sum(flows.minted)),
            BalanceCheck("export registers on chain = model (Wh)", sum(flows.export_registers), sum(e for _, e in last)),
            BalanceCheck("import registers on chain = model (Wh)", sum(flows.import_registers), sum(i for i, _ in last)),
            BalanceCheck("bid fills = ask fills (Wh)", sum(flows.bought), sum(flows.sold)),
            BalanceCheck("ask fills = markets' cleared volume (Wh)", sum(flows.sold), sum(int(m["volumeWh"]) for m in cleared)),
            BalanceCheck("redeemed = bought (Wh)", sum(flows.redeemed), sum(flows.bought)),
            BalanceCheck(
                "paid by buyers = proceeds + fees + rounding surplus", sum(flows.paid), sum(flows.proceeds) + sum(flows.fees) + surplus
            ),
            BalanceCheck("rounding surplus below one unit per price level", int(surplus_ok), 1),
        ]
        failing: list[str] = []
        # One JSON-RPC batch for every household's two balances.
        balances = self.run.sender.read(
            [prepare(c[token], "balanceOf", a) for token in ("EnergyToken", "PaymentToken") for a in self.households]
        )
        energy_balances, cash_balances = balances[: len(self.households)], balances[len(self.households) :]
        f = flows
        for h in range(len(self.households)):
            if energy_balances[h] != f.minted[h] - f.sold[h] + f.bought[h] - f.redeemed[h]:
                failing.append(f"household {h}: EnergyToken {energy_balances[h]} != minted - sold + bought - redeemed")
            if cash_balances[h] != f.funded[h] - f.paid[h] + f.proceeds[h] + f.rewards[h]:
                failing.append(
                    f"household {h}: PaymentToken {cash_balances[h]} != faucet {f.funded[h]} - paid {f.paid[h]}"
                    f" + proceeds {f.proceeds[h]} + rewards {f.rewards[h]}"
                )
        checks.append(BalanceCheck("households whose token balances do not add up", len(failing), 0))
        return checks, failing, surplus

    def _figures(
        self, flows: _Flows, cleared: list[dict[str, Any]], series: list[IntervalFigures], surplus: int
    ) -> dict[str, int | float]:
        """The energy and market figures of the summary."""
        baseline_end = self.baseline[-1].households
        markets_with_volume = [m for m in cleared if int(m["volumeWh"]) > 0]
        consumed = sum(s.consumption_wh for s in series)
        imported_outside = sum(max(0, s.import_wh - s.export_wh) for s in series)
        traded_wh = sum(flows.sold)
        volume_money = sum(int(m["volumeWh"]) * int(m["clearingPricePerKWh"]) for m in markets_with_volume)
        return {
            "households": len(self.households),
            "intervals": len(series),
            "produced_wh": sum(s.pv_wh for s in series),
            "consumed_wh": consumed,
            "exported_wh": sum(flows.export_registers) - sum(h.export_register_wh for h in baseline_end),
            "imported_wh": sum(flows.import_registers) - sum(h.import_register_wh for h in baseline_end),
            "traded_p2p_wh": traded_wh,
            "redeemed_wh": sum(flows.redeemed),
            "self_sufficiency": round(1 - imported_outside / consumed, 4) if consumed else 0.0,
            "p2p_share_of_consumption": round(traded_wh / consumed, 4) if consumed else 0.0,
            "average_price_per_kwh": round(volume_money / traded_wh) if traded_wh else 0,
            "peak_price_per_kwh": max((int(m["clearingPricePerKWh"]) for m in markets_with_volume), default=0),
            "markets_cleared": len(cleared),
            "markets_with_trades": len(markets_with_volume),
            "paid_by_buyers": sum(flows.paid),
            "proceeds_to_sellers": sum(flows.proceeds),
            "grid_fees": sum(flows.fees),
            "rounding_surplus": surplus,
            "peak_transformer_loading_per_mille": max((s.transformer_loading_per_mille for s in series), default=0),
        }

    def _last_registers(self) -> list[tuple[int, int]]:
        """The model's import and export registers after the last simulated interval."""
        last = self.run.last_result or self.baseline[-1]
        return [(h.import_register_wh, h.export_register_wh) for h in last.households]

    def _gas_by_actor(self) -> tuple[dict[str, int], dict[str, int]]:
        """Gas used on chain since the run began, by actor (every block's receipts)."""
        a = self.run.actors
        actor_of = {a.operator.address.lower(): "operator", a.gateway.address.lower(): "gateway"}
        actor_of |= {a.oracle.address.lower(): "oracles", a.keeper.address.lower(): "keeper"}
        actor_of |= {h.lower(): "households" for h in self.households}
        latest = int(self.run.w3.eth.block_number)
        blocks = [hex(b) for b in range(self.run.record.anchor_block + 1, latest + 1)]
        gas: dict[str, int] = defaultdict(int)
        count: dict[str, int] = defaultdict(int)
        for receipts in self.run.sender.rpc_batch([("eth_getBlockReceipts", [b]) for b in blocks]):
            for receipt in receipts or []:
                actor = actor_of.get(str(receipt["from"]).lower())
                if actor is not None:
                    gas[actor] += int(receipt["gasUsed"], 16)
                    count[actor] += 1
        order = ("households", "gateway", "operator", "oracles", "keeper")
        return {k: gas[k] for k in order}, {k: count[k] for k in order}


def _with_market(figures: IntervalFigures, market: dict[str, Any] | None) -> IntervalFigures:
    if market is None or int(market["volumeWh"]) == 0:
        return figures
    return IntervalFigures(
        **{**asdict(figures), "traded_wh": int(market["volumeWh"]), "clearing_price_per_kwh": int(market["clearingPricePerKWh"])}
    )


def _elapsed(run: SimulationRun) -> float:
    return time.monotonic() - run.started


__all__ = ["BalanceCheck", "IntervalFigures", "SimulationImbalance", "SimulationResult", "audit"]
