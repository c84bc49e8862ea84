"""Which households a demand-response event asks to cut (energy_grid.simulation.demand_events): the
registered households of the event's feeder region, in its window only. The live virtual meters
read each region's events from the chain, so a community's other feeders do not cut for an event
that is not theirs. Pure Python: `.venv/bin/python -m pytest tests/test_demand_events.py -p no:ape_test`."""

from __future__ import annotations

from energy_grid.simulation.demand_events import DemandEvent, consumption_factors, feeders_by_region

MEMBERS_BY_FEEDER = {0: [1, 4], 1: [7, 9]}
FACTOR = 0.6


def test_an_event_of_one_region_cuts_only_that_feeder_s_households_in_its_window():
    event = DemandEvent(decided_at=9, first_interval=10, last_interval=11, event_ids={1: 5}, feeders=frozenset({1}))
    assert consumption_factors([event], MEMBERS_BY_FEEDER, FACTOR, 10) == {7: FACTOR, 9: FACTOR}
    assert consumption_factors([event], MEMBERS_BY_FEEDER, FACTOR, 11) == {7: FACTOR, 9: FACTOR}
    assert consumption_factors([event], MEMBERS_BY_FEEDER, FACTOR, 9) == {}
    assert consumption_factors([event], MEMBERS_BY_FEEDER, FACTOR, 12) == {}


def test_a_planned_event_started_in_every_region_cuts_every_feeder_s_households():
    planned = DemandEvent(decided_at=9, first_interval=10, last_interval=11)
    assert consumption_factors([planned], MEMBERS_BY_FEEDER, FACTOR, 10) == {1: FACTOR, 4: FACTOR, 7: FACTOR, 9: FACTOR}


def test_events_of_two_regions_cut_each_feeder_in_its_own_window():
    first = DemandEvent(9, 10, 11, {0: 3}, frozenset({0}))
    second = DemandEvent(10, 11, 12, {1: 4}, frozenset({1}))
    assert consumption_factors([first, second], MEMBERS_BY_FEEDER, FACTOR, 10) == {1: FACTOR, 4: FACTOR}
    assert consumption_factors([first, second], MEMBERS_BY_FEEDER, FACTOR, 11) == {1: FACTOR, 4: FACTOR, 7: FACTOR, 9: FACTOR}
    assert consumption_factors([first, second], MEMBERS_BY_FEEDER, FACTOR, 12) == {7: FACTOR, 9: FACTOR}


def test_an_event_in_a_region_of_several_feeders_cuts_all_of_their_households():
    """Without zones every feeder is in the first one's region: its event is every feeder's."""
    unzoned = feeders_by_region(MEMBERS_BY_FEEDER, lambda feeder: 1)
    assert unzoned == {1: frozenset({0, 1})}
    event = DemandEvent(9, 10, 11, dict.fromkeys(unzoned[1], 6), unzoned[1])
    assert consumption_factors([event], MEMBERS_BY_FEEDER, FACTOR, 10) == {1: FACTOR, 4: FACTOR, 7: FACTOR, 9: FACTOR}
    assert feeders_by_region(MEMBERS_BY_FEEDER, lambda feeder: 1 + feeder) == {1: frozenset({0}), 2: frozenset({1})}
