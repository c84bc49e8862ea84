"""The soak's own parts, without a community: each bad message the hostile device makes is refused by
the gateway's rules with the reason the soak expects; the fault plan kills each program as often as
asked, inside its window; the latency figures; and the goals, which a run that lost a reading or
stopped early does not meet. (`make soak` runs the community itself; it is a benchmark, not a test.)"""

from __future__ import annotations

import itertools
import json
from collections import Counter

import pytest
from eth_keys.datatypes import PrivateKey

from energy_grid.contracts.structs import MeterReading
from energy_grid.live.soak import answers
from energy_grid.live.soak.answers import AnswerCheck, check_answers
from energy_grid.live.soak.chain_facts import ChainFacts
from energy_grid.live.soak.faults import FaultPlan
from energy_grid.live.soak.hostile import EXPECTED_REASON, KINDS, HostileDevice
from energy_grid.live.soak.monitor import Observed, Rejection, latency_summary, percentile
from energy_grid.live.soak.report import goals_of, write_report
from energy_grid.live.soak.run import RunOutcome, RunSpec
from energy_grid.services.gateway.messages import (
    MAX_MESSAGE_BYTES,
    MeterView,
    Rejected,
    check_reading,
    parse_reading,
    reading_message,
    readings_topic,
    verify_signature,
)
from energy_grid.services.mqtt import BrokerSettings
from energy_grid.services.reading_rules import ChainLimits
from energy_grid.signing.readings import domain_separator, sign_reading_digest

from support.meter_helpers import sample_limits

CHAIN_ID = 31337
SMART_METER = "0x" + "5e" * 20
KEYS = [PrivateKey(bytes([i + 1]) * 32) for i in range(3)]
METERS = [key.public_key.to_checksum_address().lower() for key in KEYS]
READ_AT = 1_800_000_000 - 1  # an interval's last second
NONCE = 4
LIMITS = sample_limits(READ_AT + 120)  # a couple of blocks after the reading, as when its answer comes


def hostile() -> HostileDevice:
    keys = dict(zip(METERS, KEYS, strict=True))
    return HostileDevice(BrokerSettings.parse("127.0.0.1:1"), CHAIN_ID, domain_separator(CHAIN_ID, SMART_METER), keys, set(), seed=7)


def own_payload(meter: int = 0, margin_s: int = 7 * 86_400) -> bytes:
    """Meter `meter`'s reading with NONCE, as it published it, signed to last `margin_s`."""
    reading = (READ_AT, 5_100, 2_050, 50_010, 1_002)
    signed = sign_reading_digest(KEYS[meter], domain_separator(CHAIN_ID, SMART_METER), NONCE, READ_AT + margin_s, reading)
    return reading_message(signed)


def gateway_verdict(topic: str, payload: bytes, own_message: bytes | None = None, limits: ChainLimits = LIMITS) -> str | None:
    """What the gateway's rules say of a message once the meter's reading with NONCE is taken: the
    reason it is refused for, None when it would be accepted."""
    try:
        signed = parse_reading(topic, payload, CHAIN_ID)
        verify_signature(signed, CHAIN_ID, SMART_METER)
        own = parse_reading(readings_topic(CHAIN_ID, METERS[0]), own_message or own_payload(), CHAIN_ID)
        known = signed.meter.lower() in METERS
        view = MeterView(registered=known, active=known, next_nonce=NONCE + 1, latest=MeterReading(*own.reading))
        check_reading(signed, view, limits)
    except Rejected as rejected:
        return str(rejected.code)
    return None


@pytest.mark.parametrize("kind", KINDS)
def test_each_bad_message_is_refused_by_the_gateways_rules_with_the_reason_expected(kind):
    message = hostile().bad_message(kind, METERS[0], own_payload())
    assert gateway_verdict(message.topic, message.payload) == EXPECTED_REASON[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_each_bad_message_earns_its_reason_after_the_meters_own_short_deadline_has_passed(kind):
    """The hostile run's meters sign with a margin of a few blocks, which may have passed by the time
    a bad message about the reading goes out: each kind still earns its own reason, not `expired`."""
    own = own_payload(margin_s=360)
    message = hostile().bad_message(kind, METERS[0], own)
    assert gateway_verdict(message.topic, message.payload, own, sample_limits(READ_AT + 600)) == EXPECTED_REASON[kind]


def test_fuzzed_messages_are_each_refused_as_malformed_and_name_the_meters_reading():
    device = hostile()
    messages = [device.bad_message("fuzzed", METERS[0], own_payload()) for _ in range(3_000)]
    assert len({m.payload for m in messages}) > 1_500  # a stream of different messages, not one repeated
    for message in messages:
        assert gateway_verdict(message.topic, message.payload) == "malformed", message.payload
        assert message.about == (METERS[0], NONCE) and len(message.payload) <= MAX_MESSAGE_BYTES


def test_half_the_bad_messages_are_fuzzed_and_the_rest_spread_over_every_other_kind():
    device = hostile()
    kinds = Counter(device.pick_kind() for _ in range(2_000))
    assert 900 <= kinds["fuzzed"] <= 1_100
    assert set(kinds) == set(KINDS)


def test_the_meters_next_reading_passes_the_same_rules():
    reading = (READ_AT + 100, 5_200, 2_050, 50_010, 1_002)  # not before the limits' clock
    signed = sign_reading_digest(KEYS[0], domain_separator(CHAIN_ID, SMART_METER), NONCE + 1, READ_AT + 7 * 86_400, reading)
    assert gateway_verdict(readings_topic(CHAIN_ID, METERS[0]), reading_message(signed)) is None


def test_bad_messages_are_picked_once_each_from_all_but_the_last_interval():
    meters = [f"0x{i:040x}" for i in range(50)]
    picked = HostileDevice.pick(meters, intervals=4, count=100, seed=3)
    assert len(picked) == 100 and all(interval < 3 for _, interval in picked)
    assert picked == HostileDevice.pick(meters, intervals=4, count=100, seed=3)
    assert len(HostileDevice.pick(meters, intervals=2, count=100, seed=3)) == 50  # as many as there are


def test_the_fault_plan_kills_each_program_as_often_as_asked_inside_its_window():
    plan = FaultPlan.draw(["gateway", "keeper", "broker", "chain"], rounds=2, window_s=400.0, min_gap_s=10.0, seed=1)
    assert sorted(f.program for f in plan.faults) == sorted(["gateway", "keeper", "broker", "chain"] * 2)
    times = [f.at_s for f in plan.faults]
    assert times == sorted(times) and all(0 < t <= 400.0 for t in times)
    assert all(later - earlier >= 10.0 for earlier, later in itertools.pairwise(times))
    assert plan.faults == FaultPlan.draw(["gateway", "keeper", "broker", "chain"], 2, 400.0, 10.0, seed=1).faults


def test_latency_figures_take_the_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile([], 0.5)) == (50.0, 99.0, None)
    assert latency_summary([0.5, 1.5, 1.0]) == {"readings": 3, "medianS": 1.0, "p99S": 1.5, "maxS": 1.5}


def test_a_run_that_lost_a_reading_or_stopped_early_misses_its_goals():
    spec = RunSpec("steady", households=2, intervals=3)
    stopped = goals_of(RunOutcome(spec, error="waited 600 s for the community to come up"))
    assert [(g.goal, g.holds) for g in stopped] == [("the run completes", False)]

    facts = ChainFacts(intervals=3, meters=2, readings=5, readings_on_time=5, meters_complete=1, missing=1)
    goals = {g.goal: g.holds for g in goals_of(RunOutcome(spec, facts=facts, audit_error="not at rest"))}
    assert goals["0 readings lost, 0 duplicated"] is False
    assert goals["100 % of readings on chain before their market closes"] is False
    assert goals["every standing order settled; the audit balances to the unit"] is False
    assert goals[GATEWAY_GOAL] is True


GATEWAY_GOAL = "no gateway transaction failed, but after a guardian's pause"


@pytest.mark.parametrize(("failed", "while_paused", "holds"), [(0, 0, True), (1, 1, True), (2, 1, False), (1, 0, False)])
def test_a_gateway_transaction_may_fail_only_when_mined_after_a_guardians_pause(failed, while_paused, holds):
    spec = RunSpec("hostile", households=2, intervals=3, faults=("pause",))
    facts = ChainFacts(3, 2, readings=6, readings_on_time=6, meters_complete=2, gateway_transactions=9)
    facts.gateway_failed, facts.gateway_failed_paused = failed, while_paused
    (goal,) = [g for g in goals_of(RunOutcome(spec, facts=facts, audit_error="not at rest")) if g.goal == GATEWAY_GOAL]
    assert goal.holds is holds


def test_a_reading_the_state_holds_without_its_event_is_on_chain_not_lost():
    spec = RunSpec("faults", households=2, intervals=3)
    facts = ChainFacts(intervals=3, meters=2, readings=6, readings_on_time=5, meters_complete=2, without_event=1)
    (lost,) = [g for g in goals_of(RunOutcome(spec, facts=facts, audit_error="not at rest")) if g.goal == "0 readings lost, 0 duplicated"]
    assert lost.holds is True
    assert lost.measured == "6 of 6 readings on chain (1 in the state, their event lost with a block at a restart), 0 missing, 0 twice"


MARKET_GOAL = "every interval's market cleared (one without orders: all its readings late)"


@pytest.mark.parametrize(
    ("cleared", "without_orders", "late", "holds"),
    [
        (3, [], {}, True),
        (2, [], {}, False),  # a market that took orders is not cleared
        (2, [1], {1: 2}, True),  # interval 1's readings all came late: its market had nothing to clear
        (2, [1], {1: 1}, False),  # one of its readings came on time, yet its market took no order
    ],
)
def test_a_market_without_orders_passes_only_when_all_its_readings_came_late(cleared, without_orders, late, holds):
    spec = RunSpec("faults", households=2, intervals=3)
    facts = ChainFacts(
        intervals=3,
        meters=2,
        markets_with_orders=3 - len(without_orders),
        markets_cleared=cleared,
        intervals_without_orders=without_orders,
        late_by_interval=Counter(late),
    )
    goals = {g.goal: g.holds for g in goals_of(RunOutcome(spec, facts=facts, audit_error="not at rest"))}
    assert goals[MARKET_GOAL] is holds


def test_a_report_of_some_runs_keeps_the_others_of_the_last_report(tmp_path):
    json_path, markdown_path = tmp_path / "soak.json", tmp_path / "soak.md"
    steady = RunOutcome(RunSpec("steady", households=2, intervals=3), error="the chain did not come up")
    assert write_report([steady], json_path, markdown_path, tmp_path / "no-gas.json") is False
    faults = RunOutcome(RunSpec("faults", households=2, intervals=3, faults=("gateway",)), error="stopped")
    write_report([faults], json_path, markdown_path, tmp_path / "no-gas.json")
    runs = json.loads(json_path.read_text())["runs"]
    assert list(runs) == ["steady", "faults"]
    assert runs["steady"]["error"] == "the chain did not come up"
    assert "| steady | the run completes | the chain did not come up | **no** |" in markdown_path.read_text()


def observed_with(
    accepted: dict[tuple[str, int], str], rejections: list[Rejection], digests: dict[tuple[str, int], str] | None = None
) -> Observed:
    """What a monitor saw: meter 0's reading with NONCE published, and these answers (the accepted
    ones naming `digests`)."""
    return Observed(
        published_s={(METERS[0], NONCE): 1.0},
        accepted_s={key: 2.0 for key in accepted},
        rejections=rejections,
        accepted_tx=dict(accepted),
        accepted_digest=dict(digests or {}),
        payloads={(METERS[0], NONCE): own_payload()},
    )


def test_an_accepted_answer_is_true_only_when_its_transaction_holds_the_reading(monkeypatch):
    carried = {"0xaa": {(METERS[0], READ_AT)}, "0xbb": set()}
    monkeypatch.setattr(answers, "_readings_carried", lambda _client, _hashes: carried)
    facts = ChainFacts(intervals=1, meters=1, on_chain_at={(METERS[0], READ_AT)})

    true = check_answers(None, CHAIN_ID, observed_with({(METERS[0], NONCE): "0xaa"}, []), facts)  # type: ignore[arg-type]
    dropped = check_answers(None, CHAIN_ID, observed_with({(METERS[0], NONCE): "0xbb"}, []), facts)  # type: ignore[arg-type]
    unseen = check_answers(None, CHAIN_ID, observed_with({(METERS[1], NONCE): "0xaa"}, []), facts)  # type: ignore[arg-type]

    assert (true.accepted_checked, true.false_answers) == (1, [])
    assert dropped.accepted_checked == 1 and "does not hold it on chain" in dropped.false_answers[0]
    assert (unseen.checked, unseen.unchecked) == (0, 1)


def test_a_rejected_answer_to_a_reading_the_chain_holds_is_false_unless_a_bad_message_earned_it(monkeypatch):
    monkeypatch.setattr(answers, "_readings_carried", lambda _client, _hashes: {})
    rejected = [Rejection(METERS[0], NONCE, "nonce-used")]
    held = ChainFacts(intervals=1, meters=1, on_chain_at={(METERS[0], READ_AT)})
    not_held = ChainFacts(intervals=1, meters=1)

    false = check_answers(None, CHAIN_ID, observed_with({}, rejected), held)  # type: ignore[arg-type]
    earned = check_answers(None, CHAIN_ID, observed_with({}, rejected), held, touched={(METERS[0], NONCE)})  # type: ignore[arg-type]
    true = check_answers(None, CHAIN_ID, observed_with({}, rejected), not_held)  # type: ignore[arg-type]

    assert false.rejected_checked == 1 and "the chain holds that reading" in false.false_answers[0]
    assert (earned.checked, earned.false_answers) == (0, [])
    assert (true.rejected_checked, true.false_answers) == (1, [])


def test_an_expired_answer_is_true_when_the_meters_second_signature_of_the_reading_is_the_one_on_chain(monkeypatch):
    key = (METERS[0], NONCE)
    monkeypatch.setattr(answers, "_readings_carried", lambda _client, _hashes: {"0xaa": {(METERS[0], READ_AT)}})
    held = ChainFacts(intervals=1, meters=1, on_chain_at={(METERS[0], READ_AT)})
    first, second = "0x" + "01" * 32, "0x" + "02" * 32
    expired = [Rejection(METERS[0], NONCE, "expired", first)]

    resigned = check_answers(None, CHAIN_ID, observed_with({key: "0xaa"}, expired, {key: second}), held)  # type: ignore[arg-type]
    same = check_answers(None, CHAIN_ID, observed_with({key: "0xaa"}, expired, {key: first}), held)  # type: ignore[arg-type]

    assert (resigned.rejected_checked, resigned.accepted_checked, resigned.false_answers) == (1, 1, [])
    assert same.rejected_checked == 1 and "the chain holds that reading" in same.false_answers[0]


def test_the_hostile_run_misses_its_goals_on_a_false_answer_or_a_restart_no_kill_explains():
    spec = RunSpec("hostile", households=2, intervals=3, faults=("gateway", "reorg"), bad_messages=1)
    facts = ChainFacts(intervals=3, meters=2, readings=6, readings_on_time=6, meters_complete=2)
    outcome = RunOutcome(spec, facts=facts, audit_error="not at rest", observed=Observed())
    outcome.faults = [{"program": "gateway", "at_s": 1.0, "back_running_after_s": 2.0, "detail": ""}]
    outcome.answers = AnswerCheck(accepted_checked=5, false_answers=["rejected 0x… nonce 1 (nonce-used): the chain holds that reading"])
    outcome.gateway.restarts = 2
    goals = {g.goal: g for g in goals_of(outcome)}
    assert goals["every answer to a meter true"].holds is False
    assert goals["the gateway never restarts because of input"].holds is False
    assert goals["the gateway never restarts because of input"].measured == "2 restart(s), 1 of them its kill -9"
    outcome.answers, outcome.gateway.restarts = AnswerCheck(accepted_checked=5), 1
    goals = {g.goal: g for g in goals_of(outcome)}
    assert goals["every answer to a meter true"].holds and goals["the gateway never restarts because of input"].holds


OWN_REFUSED_GOAL = "the meters' own readings refused only as expired, each signed again and on chain"


def test_a_meters_own_reading_refused_for_anything_but_its_deadline_misses_the_hostile_goal_and_the_bad_messages_count_apart():
    spec = RunSpec("hostile", households=2, intervals=3, faults=("pause",), bad_messages=1)
    facts = ChainFacts(intervals=3, meters=2, readings=6, readings_on_time=6, meters_complete=2)
    bad_digest, own_digest = "0x" + "0b" * 32, "0x" + "0a" * 32
    observed = Observed(
        rejections=[
            Rejection(METERS[0], 1, "expired", own_digest),  # the meter's own reading: its deadline passed in the pause
            Rejection(METERS[0], 2, "expired", bad_digest),  # the hostile device's expired message
            Rejection(METERS[1], None, "malformed"),
        ]
    )
    outcome = RunOutcome(spec, facts=facts, audit_error="not at rest", observed=observed, bad_digests={bad_digest})
    outcome.bad_sent, outcome.bad_expected_reasons = {"expired": 1, "malformed": 1}, {"expired": 1, "malformed": 1}
    goals = {g.goal: g for g in goals_of(outcome)}
    assert goals[OWN_REFUSED_GOAL].holds and goals[OWN_REFUSED_GOAL].measured == "refused: 1 expired; 0 readings missing"
    assert goals["1 bad messages planned, each one sent rejected with its reason"].holds
    observed.rejections.append(Rejection(METERS[1], 1, "nonce-used", own_digest))
    assert not {g.goal: g for g in goals_of(outcome)}[OWN_REFUSED_GOAL].holds


@pytest.mark.parametrize("kind", ["deep-json", "huge-number", "invalid-utf8", "random-bytes"])
def test_each_poison_payload_fits_the_size_limit_so_that_the_gateway_itself_must_refuse_it(kind):
    message = hostile().bad_message(kind, METERS[0], own_payload())
    assert len(message.payload) <= MAX_MESSAGE_BYTES and message.about is None


def test_bad_messages_of_kinds_that_share_a_reason_add_up_to_the_rejections_expected():
    device = hostile()
    device.sent.update({"malformed": 2, "deep-json": 3, "random-bytes": 1, "replayed": 4})
    assert device.expected_rejections == Counter({"malformed": 6, "nonce-used": 4})


@pytest.mark.parametrize(("faults", "sent", "holds"), [((), 9, False), ((), 10, True), (("broker",), 9, True), (("broker",), 0, False)])
def test_only_a_run_with_faults_may_send_fewer_bad_messages_than_planned(faults, sent, holds):
    spec = RunSpec("bad", households=2, intervals=3, faults=faults, bad_messages=10)
    facts = ChainFacts(intervals=3, meters=2, readings=6, readings_on_time=6, meters_complete=2)
    outcome = RunOutcome(spec, facts=facts, audit_error="not at rest", observed=Observed())
    outcome.bad_sent = {"malformed": sent} if sent else {}
    outcome.bad_expected_reasons = {"malformed": sent} if sent else {}
    assert outcome.observed is not None
    outcome.observed.rejections = [Rejection(METERS[0], None, "malformed")] * sent
    (goal,) = [g for g in goals_of(outcome) if g.goal.startswith("10 bad messages planned")]
    assert goal.holds is holds
