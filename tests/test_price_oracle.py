"""PriceOracle: Chainlink's AggregatorV3Interface over a reporter set. Rounds answered once a
quorum of reporters report, the median of a round's fresh reports (outliers, even counts, stale and
removed reporters), the deviation bound, inputs it refuses, Chainlink's published ABI read with
plain web3.py, and the reporter set, quorum and access control it shares with the regional oracles (support/oracle_helpers.py).

Every custom error is asserted with all of its arguments and every event with all of its fields.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ORACLE_HEARTBEAT_SECONDS, PRICE_DECIMALS, PRICE_DESCRIPTION, PRICE_MAX_DEVIATION_BPS
from web3 import Web3
from web3.exceptions import ContractCustomError

from support.helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, error_data, log, reverts, unexercised_abi_items
from support.oracle_helpers import (
    MAX_HEARTBEAT_SECONDS,
    MAX_REPORTERS,
    REPORTER_ADMIN_CALLS,
    assert_deploy_reverts,
    creation_events,
    exercise_access_control,
    exercise_admin_only,
    exercise_quorum,
    exercise_reporter_set,
)

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED_ABI = ROOT / "node_modules/@chainlink/contracts/abi/v0.8/AggregatorV3Interface.json"
HEARTBEAT = ORACLE_HEARTBEAT_SECONDS
MAX_ANSWER = 2**127 - 1
MAX_DEVIATION_BPS = 100_000
PRICE = 250_000  # 0.25 MOCKUSD per kWh


@pytest.fixture(scope="module", autouse=True)
def _deployed_first(price_oracle, admin, other, stranger):
    """Deploy the oracle, and name the accounts, before any test's own state (ape isolation)."""


@pytest.fixture
def r0(reporters):
    return reporters[0]


@pytest.fixture
def r1(reporters):
    return reporters[1]


@pytest.fixture
def r2(reporters):
    return reporters[2]


def reported(
    oracle: Any, tx: Any, reporter: Any, round_id: int, reported_answer: int, report_count: int, answer: int | None = None
) -> None:
    """`tx` emitted the report and, when `answer` is given, the round's answer, and nothing else,
    and returned the round the report joined."""
    events = [
        log(
            oracle.PriceReported,
            reporter=reporter.address,
            roundId=round_id,
            reportedAnswer=reported_answer,
            reportCount=report_count,
        )
    ]
    if answer is not None:
        events.append(log(oracle.AnswerUpdated, current=answer, roundId=round_id, updatedAt=tx.timestamp))
    assert tx.events == events
    assert tx.return_value == round_id


def round_at(chain: Any) -> int:
    """The timestamp the next transaction gets, fixed so it can be asserted."""
    ts = chain.pending_timestamp
    chain.pending_timestamp = ts
    return ts


# ----------------------------------------------------------------------------- deployment


def test_constants_and_constructor(price_oracle, admin, reporters):
    assert price_oracle.decimals() == PRICE_DECIMALS
    assert price_oracle.description() == PRICE_DESCRIPTION
    assert price_oracle.version() == 1
    assert price_oracle.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert price_oracle.heartbeat() == HEARTBEAT
    assert price_oracle.maxDeviation() == PRICE_MAX_DEVIATION_BPS
    assert price_oracle.MAX_ANSWER() == MAX_ANSWER
    assert price_oracle.MIN_DEVIATION_BPS() == 1
    assert price_oracle.MAX_DEVIATION_BPS() == MAX_DEVIATION_BPS
    assert price_oracle.getReporters() == [r.address for r in reporters]
    assert price_oracle.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert creation_events(price_oracle) == [
        log(price_oracle.RoleGranted, role=DEFAULT_ADMIN_ROLE, account=admin.address, sender=admin.address),
        log(price_oracle.HeartbeatUpdated, previousSeconds=0, newSeconds=HEARTBEAT),
        log(price_oracle.MinQuorumUpdated, previousReports=0, newReports=0),
        log(price_oracle.MaxDeviationUpdated, previousBps=0, newBps=PRICE_MAX_DEVIATION_BPS),
    ]


@pytest.mark.parametrize(
    ("args", "error", "error_args"),
    [
        (lambda a: (ZERO_ADDRESS, HEARTBEAT, 6, "x", 2_000, 0), "ZeroAddress", ()),
        (lambda a: (a, 0, 6, "x", 2_000, 0), "HeartbeatOutOfRange", (0, 1, MAX_HEARTBEAT_SECONDS)),
        (
            lambda a: (a, MAX_HEARTBEAT_SECONDS + 1, 6, "x", 2_000, 0),
            "HeartbeatOutOfRange",
            (MAX_HEARTBEAT_SECONDS + 1, 1, MAX_HEARTBEAT_SECONDS),
        ),
        (lambda a: (a, HEARTBEAT, 6, "x", 0, 0), "MaxDeviationOutOfRange", (0, 1, MAX_DEVIATION_BPS)),
        (
            lambda a: (a, HEARTBEAT, 6, "x", MAX_DEVIATION_BPS + 1, 0),
            "MaxDeviationOutOfRange",
            (MAX_DEVIATION_BPS + 1, 1, MAX_DEVIATION_BPS),
        ),
        (lambda a: (a, HEARTBEAT, 6, "x", 2_000, MAX_REPORTERS + 1), "MinQuorumOutOfRange", (MAX_REPORTERS + 1, MAX_REPORTERS)),
    ],
    ids=["admin", "heartbeat-0", "heartbeat-too-long", "deviation-0", "deviation-too-wide", "quorum-too-large"],
)
def test_constructor_rejects_bad_arguments(project, admin, args, error, error_args):
    container = project.PriceOracle
    assert_deploy_reverts(container, admin, args(admin), getattr(container, error), *error_args)


def test_constructor_accepts_the_bounds(project, admin):
    narrow = project.PriceOracle.deploy(admin, 1, 18, "", 1, 0, sender=admin)
    assert (narrow.heartbeat(), narrow.maxDeviation(), narrow.decimals(), narrow.description()) == (1, 1, 18, "")
    assert (narrow.minQuorum(), narrow.quorum()) == (0, 1)
    wide = project.PriceOracle.deploy(
        admin, MAX_HEARTBEAT_SECONDS, 0, "a / b", MAX_DEVIATION_BPS, MAX_REPORTERS, sender=admin
    )
    assert (wide.heartbeat(), wide.maxDeviation(), wide.decimals()) == (MAX_HEARTBEAT_SECONDS, MAX_DEVIATION_BPS, 0)
    assert (wide.minQuorum(), wide.quorum()) == (MAX_REPORTERS, MAX_REPORTERS)
    assert wide.getReporters() == []



# ----------------------------------------------------------------------------- rounds


def test_before_any_round_latest_round_data_is_all_zeros(price_oracle):
    """As an empty Chainlink aggregator: a consumer's `updatedAt != 0` check catches it."""
    assert tuple(price_oracle.latestRoundData()) == (0, 0, 0, 0, 0)
    for round_id in (0, 1):
        with reverts(price_oracle.RoundNotFound, roundId=round_id):
            price_oracle.getRoundData(round_id)


def test_a_round_is_answered_once_two_of_three_report(price_oracle, r0, r1, chain):
    t = round_at(chain)
    tx = price_oracle.submitPrice(PRICE, sender=r0)
    reported(price_oracle, tx, r0, 1, PRICE, 1)  # one of three: the round waits
    assert tuple(price_oracle.latestRoundData()) == (0, 0, 0, 0, 0)
    with reverts(price_oracle.RoundNotFound, roundId=1):
        price_oracle.getRoundData(1)
    assert tuple(price_oracle.getReport(r0)) == (PRICE, t, 1)
    assert tuple(price_oracle.getReport(r1)) == (0, 0, 0)
    chain.pending_timestamp = t
    tx = price_oracle.submitPrice(PRICE + 2_000, sender=r1)
    reported(price_oracle, tx, r1, 1, PRICE + 2_000, 2, answer=PRICE + 1_000)  # the first round: the mean
    assert tuple(price_oracle.latestRoundData()) == (1, PRICE + 1_000, t, t, 1)
    assert tuple(price_oracle.getRoundData(1)) == (1, PRICE + 1_000, t, t, 1)
    with reverts(price_oracle.RoundNotFound, roundId=2):
        price_oracle.getRoundData(2)
    with reverts(price_oracle.RoundNotFound, roundId=0):
        price_oracle.getRoundData(0)


def test_one_report_per_reporter_per_round(price_oracle, r0, r1):
    price_oracle.submitPrice(PRICE, sender=r0)
    with reverts(price_oracle.AlreadyReported, reporter=r0.address, roundId=1):
        price_oracle.submitPrice(PRICE + 1, sender=r0)
    price_oracle.submitPrice(PRICE, sender=r1)
    # Round 1 is answered: r0's next report opens round 2, where it waits again.
    tx = price_oracle.submitPrice(PRICE + 1, sender=r0)
    reported(price_oracle, tx, r0, 2, PRICE + 1, 1)
    with reverts(price_oracle.AlreadyReported, reporter=r0.address, roundId=2):
        price_oracle.submitPrice(PRICE + 2, sender=r0)


def test_rounds_follow_one_another_and_history_stays(price_oracle, r0, r1, r2, chain):
    t1 = round_at(chain)
    price_oracle.submitPrice(PRICE, sender=r0)
    chain.pending_timestamp = t1
    price_oracle.submitPrice(PRICE, sender=r1)
    chain.pending_timestamp += 60
    price_oracle.submitPrice(PRICE + 2_000, sender=r0)
    tx = price_oracle.submitPrice(PRICE + 4_000, sender=r1)
    reported(price_oracle, tx, r1, 2, PRICE + 4_000, 2, answer=PRICE + 2_000)  # the one nearer the last answer
    chain.pending_timestamp += 60
    t3 = round_at(chain)
    # r2 has not reported in round 2 and no round waits: its report refines round 2.
    tx = price_oracle.submitPrice(PRICE + 4_000, sender=r2)
    reported(price_oracle, tx, r2, 2, PRICE + 4_000, 3, answer=PRICE + 4_000)
    assert tuple(price_oracle.getRoundData(1)) == (1, PRICE, t1, t1, 1)
    assert tuple(price_oracle.getRoundData(2)) == (2, PRICE + 4_000, t3, t3, 2)
    assert tuple(price_oracle.latestRoundData()) == (2, PRICE + 4_000, t3, t3, 2)
    assert tuple(price_oracle.getReport(r2)) == (PRICE + 4_000, t3, 2)


def test_the_median_filters_an_outlier_within_the_deviation_bound(price_oracle, r0, r1, r2):
    price_oracle.submitPrice(250_000, sender=r0)
    price_oracle.submitPrice(252_000, sender=r1)  # round 1: (250,000 + 252,000) / 2
    assert price_oracle.latestRoundData().answer == 251_000
    # 295,000 is 17.5 % above 251,000, inside the 20 % bound, so it is accepted; the median ignores it.
    tx = price_oracle.submitPrice(295_000, sender=r2)
    reported(price_oracle, tx, r2, 1, 295_000, 3, answer=252_000)
    assert price_oracle.latestRoundData().answer == 252_000


def test_an_even_count_settles_on_the_middle_value_nearest_the_last_answer(price_oracle, r0, r1, r2):
    price_oracle.submitPrice(250_000, sender=r0)
    tx = price_oracle.submitPrice(250_001, sender=r1)
    reported(price_oracle, tx, r1, 1, 250_001, 2, answer=250_000)  # the first round: the mean, 250,000.5 rounded down
    price_oracle.submitPrice(250_010, sender=r0)
    tx = price_oracle.submitPrice(250_020, sender=r1)
    reported(price_oracle, tx, r1, 2, 250_020, 2, answer=250_010)  # nearer 250,000 than 250,020 is
    tx = price_oracle.submitPrice(250_030, sender=r2)
    reported(price_oracle, tx, r2, 2, 250_030, 3, answer=250_020)  # three: the middle one
    # Two reports either side of the last answer: it stands.
    price_oracle.submitPrice(249_000, sender=r0)
    tx = price_oracle.submitPrice(251_000, sender=r1)
    reported(price_oracle, tx, r1, 3, 251_000, 2, answer=250_020)


def test_a_stale_report_drops_out_of_its_round_and_may_be_replaced(price_oracle, r0, r1, r2, chain):
    t0 = round_at(chain)
    price_oracle.submitPrice(250_000, sender=r0)
    chain.pending_timestamp = t0 + 10
    price_oracle.submitPrice(260_000, sender=r1)  # round 1: 255,000
    # Exactly one heartbeat after r0's report it is still fresh: three reports count.
    chain.pending_timestamp = t0 + HEARTBEAT
    tx = price_oracle.submitPrice(240_000, sender=r2)
    reported(price_oracle, tx, r2, 1, 240_000, 3, answer=250_000)
    chain.pending_timestamp = t0 + HEARTBEAT
    tx = price_oracle.submitPrice(245_000, sender=r2)  # round 2 opens
    reported(price_oracle, tx, r2, 2, 245_000, 1)
    # One heartbeat and a second later r2's waiting report is stale: r0's alone does not make a quorum.
    chain.pending_timestamp = t0 + 2 * HEARTBEAT + 1
    tx = price_oracle.submitPrice(250_000, sender=r0)
    reported(price_oracle, tx, r0, 2, 250_000, 1)
    # r2 may replace its stale report in the round; with r0's, two make the quorum.
    tx = price_oracle.submitPrice(248_000, sender=r2)
    reported(price_oracle, tx, r2, 2, 248_000, 2, answer=250_000)


def test_an_answer_beyond_the_deviation_bound_is_rejected(price_oracle, r0, r1, r2):
    price_oracle.submitPrice(200_000, sender=r0)
    price_oracle.submitPrice(200_000, sender=r1)
    # 240,001 is 20.0005 % above 200,000: reported as 2,001 bps (rounded up) against the 2,000 allowed.
    with reverts(
        price_oracle.AnswerDeviationTooLarge,
        answer=240_001,
        latestAnswer=200_000,
        deviationBps=2_001,
        maxDeviationBps=2_000,
    ):
        price_oracle.submitPrice(240_001, sender=r2)
    assert tuple(price_oracle.getReport(r2)) == (0, 0, 0)
    tx = price_oracle.submitPrice(240_000, sender=r2)  # exactly 20 %: accepted
    reported(price_oracle, tx, r2, 1, 240_000, 3, answer=200_000)
    # Below: 20 % under 200,000 is 160,000.
    with reverts(
        price_oracle.AnswerDeviationTooLarge,
        answer=159_999,
        latestAnswer=200_000,
        deviationBps=2_001,
        maxDeviationBps=2_000,
    ):
        price_oracle.submitPrice(159_999, sender=r0)
    tx = price_oracle.submitPrice(160_000, sender=r0)
    reported(price_oracle, tx, r0, 2, 160_000, 1)


def test_the_deviation_bound_lapses_once_the_latest_answer_is_stale(price_oracle, r0, r1, chain):
    t0 = round_at(chain)
    price_oracle.submitPrice(200_000, sender=r0)
    chain.pending_timestamp = t0
    price_oracle.submitPrice(200_000, sender=r1)
    chain.pending_timestamp = t0 + HEARTBEAT
    with reverts(
        price_oracle.AnswerDeviationTooLarge,
        answer=1_000_000,
        latestAnswer=200_000,
        deviationBps=40_000,
        maxDeviationBps=2_000,
    ):
        price_oracle.submitPrice(1_000_000, sender=r0)
    chain.pending_timestamp = t0 + HEARTBEAT + 1
    tx = price_oracle.submitPrice(1_000_000, sender=r0)
    reported(price_oracle, tx, r0, 2, 1_000_000, 1)  # one reporter alone waits
    tx = price_oracle.submitPrice(1_000_000, sender=r1)
    reported(price_oracle, tx, r1, 2, 1_000_000, 2, answer=1_000_000)  # a quorum brings the feed back


def test_set_max_deviation(price_oracle, admin, r0, r1):
    tx = price_oracle.setMaxDeviation(5_000, sender=admin)
    assert tx.events == [log(price_oracle.MaxDeviationUpdated, previousBps=PRICE_MAX_DEVIATION_BPS, newBps=5_000)]
    assert price_oracle.maxDeviation() == 5_000
    price_oracle.submitPrice(200_000, sender=r0)
    price_oracle.submitPrice(200_000, sender=r1)
    tx = price_oracle.submitPrice(300_000, sender=r0)  # +50 %: allowed now
    reported(price_oracle, tx, r0, 2, 300_000, 1)
    for bad in (0, MAX_DEVIATION_BPS + 1):
        with reverts(price_oracle.MaxDeviationOutOfRange, maxDeviationBps=bad, minBps=1, maxBps=MAX_DEVIATION_BPS):
            price_oracle.setMaxDeviation(bad, sender=admin)
    price_oracle.setMaxDeviation(1, sender=admin)
    price_oracle.setMaxDeviation(MAX_DEVIATION_BPS, sender=admin)
    assert price_oracle.maxDeviation() == MAX_DEVIATION_BPS
    price_oracle.submitPrice(300_000, sender=r1)
    assert price_oracle.latestRoundData().answer == 300_000
    # 1,000 % above 300,000 is the most a step may take.
    price_oracle.submitPrice(3_300_000, sender=r0)
    with reverts(
        price_oracle.AnswerDeviationTooLarge,
        answer=30_000_000,
        latestAnswer=300_000,
        deviationBps=990_000,
        maxDeviationBps=MAX_DEVIATION_BPS,
    ):
        price_oracle.submitPrice(30_000_000, sender=r1)


@pytest.mark.parametrize(
    ("answer", "error", "fields"),
    [
        (0, lambda o: o.NonPositiveAnswer, {"answer": 0}),
        (-1, lambda o: o.NonPositiveAnswer, {"answer": -1}),
        (-(2**255), lambda o: o.NonPositiveAnswer, {"answer": -(2**255)}),
        (MAX_ANSWER + 1, lambda o: o.AnswerTooLarge, {"answer": MAX_ANSWER + 1, "maxAnswer": MAX_ANSWER}),
        (2**255 - 1, lambda o: o.AnswerTooLarge, {"answer": 2**255 - 1, "maxAnswer": MAX_ANSWER}),
    ],
    ids=["zero", "negative", "most-negative", "above-int128", "most-positive"],
)
def test_answers_out_of_range_are_rejected(price_oracle, r0, answer, error, fields):
    with reverts(error(price_oracle), **fields):
        price_oracle.submitPrice(answer, sender=r0)
    assert tuple(price_oracle.latestRoundData()) == (0, 0, 0, 0, 0)


def test_the_largest_answer_is_stored_whole(price_oracle, r0, r1):
    price_oracle.submitPrice(MAX_ANSWER, sender=r0)
    tx = price_oracle.submitPrice(MAX_ANSWER, sender=r1)
    reported(price_oracle, tx, r1, 1, MAX_ANSWER, 2, answer=MAX_ANSWER)
    assert price_oracle.getRoundData(1).answer == MAX_ANSWER


def test_only_reporters_submit(price_oracle, admin, r0, stranger):
    with reverts(price_oracle.UnknownReporter, account=stranger.address):
        price_oracle.submitPrice(PRICE, sender=stranger)
    # The reporter check comes first: a stranger learns nothing about the answer's validity.
    with reverts(price_oracle.UnknownReporter, account=stranger.address):
        price_oracle.submitPrice(0, sender=stranger)
    with reverts(price_oracle.UnknownReporter, account=admin.address):
        price_oracle.submitPrice(PRICE, sender=admin)  # the admin is not a reporter
    price_oracle.removeReporter(r0, sender=admin)
    with reverts(price_oracle.UnknownReporter, account=r0.address):
        price_oracle.submitPrice(PRICE, sender=r0)


def test_a_removed_reporter_stops_counting_and_a_readded_one_starts_over(price_oracle, admin, r0, r1, r2, chain):
    price_oracle.submitPrice(250_000, sender=r0)
    price_oracle.submitPrice(260_000, sender=r1)
    price_oracle.submitPrice(270_000, sender=r2)
    assert price_oracle.latestRoundData().answer == 260_000
    price_oracle.submitPrice(270_000, sender=r2)  # waits in round 2
    price_oracle.removeReporter(r2, sender=admin)
    chain.pending_timestamp += 10
    price_oracle.addReporter(r2, sender=admin)
    # r2's report in round 2 is within the heartbeat but predates its re-adding: it does not count.
    tx = price_oracle.submitPrice(250_000, sender=r0)
    reported(price_oracle, tx, r0, 2, 250_000, 1)
    # r2 reports again in its round: with r0's, a quorum; the last answer lies between the two.
    tx = price_oracle.submitPrice(270_000, sender=r2)
    reported(price_oracle, tx, r2, 2, 270_000, 2, answer=260_000)


def test_fifteen_reporters_fit_and_a_majority_answers(price_oracle, admin, reporters, accounts):
    more = [accounts.generate_test_account() for _ in range(12)]
    for account in more:
        account.balance = 10**18
        price_oracle.addReporter(account, sender=admin)
    assert price_oracle.quorum() == 8
    everyone = list(reporters) + more
    answers = [PRICE + 1_000 * ((7 * i) % 15) for i in range(15)]  # a permutation of 15 distinct steps
    answer = None
    for i, (reporter, reported_answer) in enumerate(zip(everyone, answers, strict=True)):
        tx = price_oracle.submitPrice(reported_answer, sender=reporter)
        values = sorted(answers[: i + 1])
        n = len(values)
        lower, upper = values[(n - 1) // 2], values[n // 2]
        if n >= 8:
            # The first answer is the mean of the middle two; later ones settle nearest the last.
            answer = (lower + upper) // 2 if answer is None else min(max(answer, lower), upper)
        reported(price_oracle, tx, reporter, 1, reported_answer, n, answer=answer)
    assert price_oracle.latestRoundData().answer == PRICE + 7_000
    assert tx.gas_used < 200_000  # bounded: at most 15 reports read and sorted


# ----------------------------------------------------------------------------- Chainlink's published ABI


def test_the_published_chainlink_abi_is_part_of_price_oracles_abi_identically(price_oracle):
    published = json.loads(PUBLISHED_ABI.read_text())
    ours = [item.model_dump(by_alias=True, mode="json") for item in price_oracle.contract_type.abi]
    assert {item["name"] for item in published} == {
        "decimals",
        "description",
        "version",
        "getRoundData",
        "latestRoundData",
    }
    for item in published:
        assert item in ours, f"{item['name']} differs from Chainlink's published ABI"


def test_a_plain_web3_consumer_reads_it_through_chainlinks_published_abi(price_oracle, r0, r1, chain, networks):
    t1 = round_at(chain)
    price_oracle.submitPrice(PRICE, sender=r0)
    chain.pending_timestamp = t1
    price_oracle.submitPrice(PRICE, sender=r1)
    t2 = t1 + 30
    for reporter in (r0, r1):
        chain.pending_timestamp = t2
        price_oracle.submitPrice(PRICE + 10_000, sender=reporter)
    w3 = Web3(Web3.HTTPProvider(networks.provider.uri))
    feed = w3.eth.contract(address=price_oracle.address, abi=json.loads(PUBLISHED_ABI.read_text()))
    assert feed.functions.decimals().call() == PRICE_DECIMALS
    assert feed.functions.description().call() == PRICE_DESCRIPTION
    assert feed.functions.version().call() == 1
    round_id, answer, started_at, updated_at, answered_in_round = feed.functions.latestRoundData().call()
    assert (round_id, answer, started_at, updated_at, answered_in_round) == (2, PRICE + 10_000, t2, t2, 2)
    # What a Chainlink consumer checks before it trusts the answer.
    assert answer > 0 and updated_at != 0 and w3.eth.get_block("latest")["timestamp"] - updated_at <= HEARTBEAT
    assert feed.functions.getRoundData(1).call() == [1, PRICE, t1, t1, 1]
    with pytest.raises(ContractCustomError) as info:
        feed.functions.getRoundData(3).call()
    assert info.value.data == error_data(price_oracle.RoundNotFound, 3).to_0x_hex()


# ----------------------------------------------------------------------------- reporters and roles


def test_reporter_set_and_heartbeat(price_oracle, admin, reporters, stranger, accounts):
    exercise_reporter_set(price_oracle, admin, reporters, stranger, accounts)


def test_quorum_setting(price_oracle, admin, reporters, accounts):
    exercise_quorum(price_oracle, admin, reporters, accounts)


def test_a_shorter_heartbeat_makes_reports_stale_sooner(price_oracle, admin, r0, r1, chain):
    t0 = round_at(chain)
    price_oracle.submitPrice(PRICE, sender=r0)
    chain.pending_timestamp = t0
    price_oracle.submitPrice(PRICE, sender=r1)
    price_oracle.setHeartbeat(60, sender=admin)
    chain.pending_timestamp = t0 + 61
    tx = price_oracle.submitPrice(PRICE * 2, sender=r0)  # the latest answer is stale: no deviation bound
    reported(price_oracle, tx, r0, 2, PRICE * 2, 1)
    tx = price_oracle.submitPrice(PRICE * 2, sender=r1)
    reported(price_oracle, tx, r1, 2, PRICE * 2, 2, answer=PRICE * 2)


def test_access_control(price_oracle, admin, other, stranger):
    exercise_access_control(price_oracle, admin, other, stranger)


def test_role_restricted_functions_reject_stranger(price_oracle, stranger):
    exercise_admin_only(price_oracle, stranger, [*REPORTER_ADMIN_CALLS, lambda o, s: o.setMaxDeviation(10, sender=s)])


def test_every_function_event_and_error_is_exercised(price_oracle):
    """PriceOracle's ABI, item by item, is named in this module or in the shared oracle helpers."""
    kinds = ("function", "event", "error")
    exempt = {"RoleAdminChanged"}  # no role admin is ever changed
    assert unexercised_abi_items("PriceOracle", ["test_price_oracle.py", "support/oracle_helpers.py"], kinds, exempt) == []
