"""The simulation's audit on the live community's chain: every figure read back from the chain and
checked to balance (energy_grid.simulation.ledger), over the intervals the meters have on chain.

The virtual meters wrote the model's figures of each interval to the series file; the audit takes
the intervals every meter has on chain (SmartMeter's nonces: one signed reading per interval from
D on), rebuilds the model's registers through them (the demand-response cuts as the series records
them) and hands both to the simulation's audit, which checks the operator's load reports against
the meters' net import (what the live load reporter reports) rather than the model's power flow.

The audit balances when the community is at rest: every meter at the same interval (the gateway has
caught up), the keeper has cleared the markets and settled the standing orders the last readings
left open, and the operator reported each interval's transformer load. Run on a community still
moving, it names what does not balance yet (the last intervals' open orders, most often).
"""

from __future__ import annotations

import time

from energy_grid.community.model import CommunityModel
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.sender import TransactionSender, prepare
from energy_grid.live.community import LiveCommunity, LiveSetUpError
from energy_grid.live.series import read_series
from energy_grid.live.stack import LOAD_READING_DELAY_S
from energy_grid.simulation.driver import community_config, run_state
from energy_grid.simulation.ledger import SimulationResult, audit


def audit_community(client: GridClient, community: LiveCommunity) -> SimulationResult:
    """Audits the community's intervals on chain; LiveSetUpError when there is nothing to audit
    yet, SimulationImbalance when the chain does not balance."""
    started = time.monotonic()
    config = community.config
    sender = TransactionSender(client, manual_mining=False)
    model = CommunityModel(community_config(config))
    state = run_state(client, config, community.record, sender, model)
    nonces = [int(n) for n in sender.read([prepare(state.meter_registry, "nonces", m) for m in state.actors.meters])]
    if min(nonces) != max(nonces):
        raise LiveSetUpError(
            f"the meters stand at different intervals on chain ({min(nonces)} to {max(nonces)}): audit once the gateway has caught up"
        )
    intervals = nonces[0]
    if intervals == 0:
        raise LiveSetUpError("no meter has a reading of the simulated day on chain yet: nothing to audit")
    recorded = read_series(community.series_file)
    missing = [i for i in range(intervals) if i not in recorded]
    if missing:
        raise LiveSetUpError(
            f"the series {community.series_file} lacks intervals {missing[0]}..{missing[-1]} that are on chain: "
            "the virtual meters of this run file write it"
        )
    series = [recorded[i] for i in range(intervals)]
    baseline_end = last = None
    for _ in range(state.calendar.baseline_intervals):
        baseline_end = model.step(power_flow=False)
    cut = {h: config.dr_consumption_factor for h in state.members}
    for figures in series:
        last = model.step(cut if figures.demand_response else None, power_flow=False)
    assert baseline_end is not None and last is not None  # at least one baseline and one simulated interval
    return audit(state, series, baseline_end, last, started, metered_load_delay_s=LOAD_READING_DELAY_S)


__all__ = ["audit_community"]
