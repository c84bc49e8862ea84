"""PriceOracle: Chainlink's AggregatorV3Interface over a reporter set. Rounds, the median of the
fresh reports (outliers, even counts, stale and removed reporters), the deviation bound, inputs
it refuses, Chainlink's published ABI read with plain web3.py, and the reporter set and access
control it shares with the regional oracles (oracle_helpers.py).

Every custom error is asserted with all of its arguments and every event with all of its fields.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ORACLE_HEARTBEAT_SECONDS, PRICE_DECIMALS, PRICE_DESCRIPTION, PRICE_MAX_DEVIATION_BPS
from helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, error_data, log, reverts, unexercised_abi_items
from oracle_helpers import (
    MAX_HEARTBEAT_SECONDS,
    REPORTER_ADMIN_CALLS,
    assert_deploy_reverts,
    creation_events,
    exercise_access_control,
    exercise_admin_only,
    exercise_reporter_set,
)
from web3 import Web3
from web3.exceptions import ContractCustomError

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED_ABI = ROOT / "node_modules/@chainlink/contracts/abi/v0.8/AggregatorV3Interface.json"
HEARTBEAT = ORACLE_HEARTBEAT_SECONDS
MAX_ANSWER = 2**127 - 1
MAX_DEVIATION_BPS = 100_000
PRICE = 250_000  # 0.25 mUSD per kWh


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


def reported(oracle, tx, reporter, round_id, reported_answer, answer, report_count) -> None:
    """`tx` emitted exactly one PriceReported with these fields and returned the round."""
    assert tx.events == [
        log(
            oracle.PriceReported,
            reporter=reporter.address,
            roundId=round_id,
            reportedAnswer=reported_answer,
            answer=answer,
            reportCount=report_count,
        )
    ]
    assert tx.return_value == round_id


def round_at(chain) -> int:
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
        log(price_oracle.MaxDeviationUpdated, previousBps=0, newBps=PRICE_MAX_DEVIATION_BPS),
    ]


@pytest.mark.parametrize(
    ("args", "error", "error_args"),
    [
        (lambda a: (ZERO_ADDRESS, HEARTBEAT, 6, "x", 2_000), "ZeroAddress", ()),
        (lambda a: (a, 0, 6, "x", 2_000), "HeartbeatOutOfRange", (0, 1, MAX_HEARTBEAT_SECONDS)),
        (
            lambda a: (a, MAX_HEARTBEAT_SECONDS + 1, 6, "x", 2_000),
            "HeartbeatOutOfRange",
            (MAX_HEARTBEAT_SECONDS + 1, 1, MAX_HEARTBEAT_SECONDS),
        ),
        (lambda a: (a, HEARTBEAT, 6, "x", 0), "MaxDeviationOutOfRange", (0, 1, MAX_DEVIATION_BPS)),
        (
            lambda a: (a, HEARTBEAT, 6, "x", MAX_DEVIATION_BPS + 1),
            "MaxDeviationOutOfRange",
            (MAX_DEVIATION_BPS + 1, 1, MAX_DEVIATION_BPS),
        ),
    ],
    ids=["admin", "heartbeat-0", "heartbeat-too-long", "deviation-0", "deviation-too-wide"],
)
def test_constructor_rejects_bad_arguments(project, admin, args, error, error_args):
    container = project.PriceOracle
    assert_deploy_reverts(container, admin, args(admin), getattr(container, error), *error_args)


def test_constructor_accepts_the_bounds(project, admin):
    narrow = project.PriceOracle.deploy(admin, 1, 18, "", 1, sender=admin)
    assert (narrow.heartbeat(), narrow.maxDeviation(), narrow.decimals(), narrow.description()) == (1, 1, 18, "")
    wide = project.PriceOracle.deploy(admin, MAX_HEARTBEAT_SECONDS, 0, "a / b", MAX_DEVIATION_BPS, sender=admin)
    assert (wide.heartbeat(), wide.maxDeviation(), wide.decimals()) == (MAX_HEARTBEAT_SECONDS, MAX_DEVIATION_BPS, 0)
    assert wide.getReporters() == []



# ----------------------------------------------------------------------------- rounds


def test_before_any_round_latest_round_data_is_all_zeros(price_oracle):
    """As an empty Chainlink aggregator: a consumer's `updatedAt != 0` check catches it."""
    assert tuple(price_oracle.latestRoundData()) == (0, 0, 0, 0, 0)
    for round_id in (0, 1):
        with reverts(price_oracle.RoundNotFound, roundId=round_id):
            price_oracle.getRoundData(round_id)


def test_first_submission_opens_round_one(price_oracle, r0, r1, chain):
    ts = round_at(chain)
    tx = price_oracle.submitPrice(PRICE, sender=r0)
    reported(price_oracle, tx, r0, 1, PRICE, PRICE, 1)
    assert tuple(price_oracle.latestRoundData()) == (1, PRICE, ts, ts, 1)
    assert tuple(price_oracle.getRoundData(1)) == (1, PRICE, ts, ts, 1)
    assert tuple(price_oracle.getReport(r0)) == (PRICE, ts)
    assert tuple(price_oracle.getReport(r1)) == (0, 0)
    with reverts(price_oracle.RoundNotFound, roundId=2):
        price_oracle.getRoundData(2)
    with reverts(price_oracle.RoundNotFound, roundId=0):
        price_oracle.getRoundData(0)


def test_every_submission_opens_a_round_and_history_stays(price_oracle, r0, r1, chain):
    t1 = round_at(chain)
    price_oracle.submitPrice(PRICE, sender=r0)
    chain.pending_timestamp += 60
    t2 = round_at(chain)
    tx = price_oracle.submitPrice(PRICE + 2_000, sender=r1)
    reported(price_oracle, tx, r1, 2, PRICE + 2_000, PRICE + 1_000, 2)
    chain.pending_timestamp += 60
    t3 = round_at(chain)
    tx = price_oracle.submitPrice(PRICE + 2_000, sender=r0)  # the same reporter again: its report is replaced
    reported(price_oracle, tx, r0, 3, PRICE + 2_000, PRICE + 2_000, 2)
    assert tuple(price_oracle.getRoundData(1)) == (1, PRICE, t1, t1, 1)
    assert tuple(price_oracle.getRoundData(2)) == (2, PRICE + 1_000, t2, t2, 2)
    assert tuple(price_oracle.getRoundData(3)) == (3, PRICE + 2_000, t3, t3, 3)
    assert tuple(price_oracle.latestRoundData()) == (3, PRICE + 2_000, t3, t3, 3)
    assert tuple(price_oracle.getReport(r0)) == (PRICE + 2_000, t3)


def test_the_median_filters_an_outlier_within_the_deviation_bound(price_oracle, r0, r1, r2):
    price_oracle.submitPrice(250_000, sender=r0)
    price_oracle.submitPrice(252_000, sender=r1)  # round 2: (250,000 + 252,000) / 2
    assert price_oracle.latestRoundData().answer == 251_000
    # 295,000 is 17.5 % above 251,000, inside the 20 % bound, so it is accepted; the median ignores it.
    tx = price_oracle.submitPrice(295_000, sender=r2)
    reported(price_oracle, tx, r2, 3, 295_000, 252_000, 3)
    assert price_oracle.latestRoundData().answer == 252_000


def test_an_even_count_takes_the_mean_of_the_middle_two_rounded_toward_zero(price_oracle, admin, r0, r1, r2):
    price_oracle.submitPrice(250_000, sender=r0)
    tx = price_oracle.submitPrice(250_001, sender=r1)
    reported(price_oracle, tx, r1, 2, 250_001, 250_000, 2)  # 250,000.5 rounds down
    price_oracle.submitPrice(250_004, sender=r2)
    assert price_oracle.latestRoundData().answer == 250_001
    # r0 leaves; r1 replaces its 250,001: the two reports 250,002 and 250,004 count.
    price_oracle.removeReporter(r0, sender=admin)
    tx = price_oracle.submitPrice(250_002, sender=r1)
    reported(price_oracle, tx, r1, 4, 250_002, 250_003, 2)


def test_a_stale_report_drops_out_after_the_heartbeat(price_oracle, r0, r1, r2, chain):
    t0 = round_at(chain)
    price_oracle.submitPrice(250_000, sender=r0)
    chain.pending_timestamp = t0 + 10
    price_oracle.submitPrice(260_000, sender=r1)
    # Exactly one heartbeat after r0's report it is still fresh: three reports count.
    chain.pending_timestamp = t0 + HEARTBEAT
    tx = price_oracle.submitPrice(240_000, sender=r2)
    reported(price_oracle, tx, r2, 3, 240_000, 250_000, 3)
    # One second later r0's report is stale: only r1's and r2's count.
    chain.pending_timestamp = t0 + HEARTBEAT + 1
    tx = price_oracle.submitPrice(245_000, sender=r2)
    reported(price_oracle, tx, r2, 4, 245_000, 252_500, 2)


def test_an_answer_beyond_the_deviation_bound_is_rejected(price_oracle, r0, r1, r2):
    price_oracle.submitPrice(200_000, sender=r0)
    # 240,001 is 20.0005 % above 200,000: reported as 2,001 bps (rounded up) against the 2,000 allowed.
    with reverts(
        price_oracle.AnswerDeviationTooLarge,
        answer=240_001,
        latestAnswer=200_000,
        deviationBps=2_001,
        maxDeviationBps=2_000,
    ):
        price_oracle.submitPrice(240_001, sender=r1)
    assert tuple(price_oracle.getReport(r1)) == (0, 0)
    assert price_oracle.latestRoundData().roundId == 1
    tx = price_oracle.submitPrice(240_000, sender=r1)  # exactly 20 %: accepted
    reported(price_oracle, tx, r1, 2, 240_000, 220_000, 2)
    # Below: 20 % under 220,000 is 176,000.
    with reverts(
        price_oracle.AnswerDeviationTooLarge,
        answer=175_999,
        latestAnswer=220_000,
        deviationBps=2_001,
        maxDeviationBps=2_000,
    ):
        price_oracle.submitPrice(175_999, sender=r2)
    tx = price_oracle.submitPrice(176_000, sender=r2)
    reported(price_oracle, tx, r2, 3, 176_000, 200_000, 3)


def test_the_deviation_bound_lapses_once_the_latest_answer_is_stale(price_oracle, r0, r1, chain):
    t0 = round_at(chain)
    price_oracle.submitPrice(200_000, sender=r0)
    chain.pending_timestamp = t0 + HEARTBEAT
    with reverts(
        price_oracle.AnswerDeviationTooLarge,
        answer=1_000_000,
        latestAnswer=200_000,
        deviationBps=40_000,
        maxDeviationBps=2_000,
    ):
        price_oracle.submitPrice(1_000_000, sender=r1)
    chain.pending_timestamp = t0 + HEARTBEAT + 1
    tx = price_oracle.submitPrice(1_000_000, sender=r1)
    reported(price_oracle, tx, r1, 2, 1_000_000, 1_000_000, 1)  # r0's report is stale too


def test_set_max_deviation(price_oracle, admin, r0, r1):
    tx = price_oracle.setMaxDeviation(5_000, sender=admin)
    assert tx.events == [log(price_oracle.MaxDeviationUpdated, previousBps=PRICE_MAX_DEVIATION_BPS, newBps=5_000)]
    assert price_oracle.maxDeviation() == 5_000
    price_oracle.submitPrice(200_000, sender=r0)
    tx = price_oracle.submitPrice(300_000, sender=r1)  # +50 %: allowed now
    reported(price_oracle, tx, r1, 2, 300_000, 250_000, 2)
    for bad in (0, MAX_DEVIATION_BPS + 1):
        with reverts(price_oracle.MaxDeviationOutOfRange, maxDeviationBps=bad, minBps=1, maxBps=MAX_DEVIATION_BPS):
            price_oracle.setMaxDeviation(bad, sender=admin)
    price_oracle.setMaxDeviation(1, sender=admin)
    price_oracle.setMaxDeviation(MAX_DEVIATION_BPS, sender=admin)
    assert price_oracle.maxDeviation() == MAX_DEVIATION_BPS
    # 1,000 % above 250,000 is the most a step may take.
    price_oracle.submitPrice(2_750_000, sender=r0)
    with reverts(
        price_oracle.AnswerDeviationTooLarge,
        answer=30_000_000,
        latestAnswer=1_525_000,
        deviationBps=186_722,
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


def test_the_largest_answer_is_stored_whole(price_oracle, r0):
    tx = price_oracle.submitPrice(MAX_ANSWER, sender=r0)
    reported(price_oracle, tx, r0, 1, MAX_ANSWER, MAX_ANSWER, 1)
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
    price_oracle.removeReporter(r2, sender=admin)
    tx = price_oracle.submitPrice(250_000, sender=r0)
    reported(price_oracle, tx, r0, 4, 250_000, 255_000, 2)
    chain.pending_timestamp += 10
    price_oracle.addReporter(r2, sender=admin)
    # r2's report is still within the heartbeat but predates its re-adding: it does not count.
    tx = price_oracle.submitPrice(260_000, sender=r1)
    reported(price_oracle, tx, r1, 5, 260_000, 255_000, 2)
    tx = price_oracle.submitPrice(270_000, sender=r2)
    reported(price_oracle, tx, r2, 6, 270_000, 260_000, 3)


def test_fifteen_reporters_fit_and_their_median_counts_all(price_oracle, admin, reporters, accounts):
    more = [accounts.generate_test_account() for _ in range(12)]
    for account in more:
        account.balance = 10**18
        price_oracle.addReporter(account, sender=admin)
    everyone = list(reporters) + more
    answers = [PRICE + 1_000 * ((7 * i) % 15) for i in range(15)]  # a permutation of 15 distinct steps
    for i, (reporter, answer) in enumerate(zip(everyone, answers, strict=True)):
        tx = price_oracle.submitPrice(answer, sender=reporter)
        expected = sorted(answers[: i + 1])
        n = len(expected)
        median = expected[n // 2] if n % 2 else (expected[n // 2 - 1] + expected[n // 2]) // 2
        reported(price_oracle, tx, reporter, i + 1, answer, median, n)
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
    chain.pending_timestamp += 30
    t2 = round_at(chain)
    price_oracle.submitPrice(PRICE + 20_000, sender=r1)
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


def test_a_shorter_heartbeat_makes_reports_stale_sooner(price_oracle, admin, r0, r1, chain):
    t0 = round_at(chain)
    price_oracle.submitPrice(PRICE, sender=r0)
    price_oracle.setHeartbeat(60, sender=admin)
    chain.pending_timestamp = t0 + 61
    tx = price_oracle.submitPrice(PRICE * 2, sender=r1)  # the latest answer is stale: no deviation bound
    reported(price_oracle, tx, r1, 2, PRICE * 2, PRICE * 2, 1)


def test_access_control(price_oracle, admin, other, stranger):
    exercise_access_control(price_oracle, admin, other, stranger)


def test_role_restricted_functions_reject_stranger(price_oracle, stranger):
    exercise_admin_only(price_oracle, stranger, [*REPORTER_ADMIN_CALLS, lambda o, s: o.setMaxDeviation(10, sender=s)])


def test_every_function_event_and_error_is_exercised(price_oracle):
    """PriceOracle's ABI, item by item, is named in this module or in the shared oracle helpers."""
    kinds = ("function", "event", "error")
    exempt = {"RoleAdminChanged"}  # no role admin is ever changed
    assert unexercised_abi_items("PriceOracle", ["test_price_oracle.py", "oracle_helpers.py"], kinds, exempt) == []
