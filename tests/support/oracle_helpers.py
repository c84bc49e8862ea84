"""Shared by the oracle test modules: revert data of constructors, chain time, the reporter surface,
and the two regional oracles (GridOracle, WeatherOracle) as cases of the scenarios they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from conftest import ORACLE_REGION

from support.helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, deploy_reverts, log, reverts

MAX_REPORTERS = 15
MIN_HEARTBEAT_SECONDS = 1
MAX_HEARTBEAT_SECONDS = 7 * 86_400


def assert_deploy_reverts(container: Any, deployer: Any, args: tuple, error: Any, *error_args: Any) -> None:
    """Deploying `container` with `args` reverts with exactly `error(error_args)`."""
    with deploy_reverts(error, *error_args):
        container.deploy(*args, sender=deployer)


def mine_at(chain: Any, timestamp: int) -> None:
    """Mines a block at `timestamp`, so views see it as block.timestamp."""
    chain.pending_timestamp = timestamp
    chain.mine()


def creation_events(contract: Any) -> list[Any]:
    return list(contract.creation_metadata.receipt.events)


def exercise_reporter_set(oracle: Any, admin: Any, reporters: list[Any], stranger: Any, accounts: Any) -> None:
    """The reporter set and heartbeat every oracle shares (OracleReporters): additions up to
    MAX_REPORTERS, swap-and-pop removal, duplicates, unknown and zero addresses, heartbeat bounds.
    `oracle` starts with exactly `reporters`."""
    assert oracle.MAX_REPORTERS() == MAX_REPORTERS
    assert oracle.MIN_HEARTBEAT_SECONDS() == MIN_HEARTBEAT_SECONDS
    assert oracle.MAX_HEARTBEAT_SECONDS() == MAX_HEARTBEAT_SECONDS
    addresses = [r.address for r in reporters]
    assert oracle.getReporters() == addresses
    assert all(oracle.isReporter(r) for r in reporters)
    assert not oracle.isReporter(stranger)

    with reverts(oracle.ReporterAlreadyAdded, account=addresses[1]):
        oracle.addReporter(reporters[1], sender=admin)
    with reverts(oracle.ZeroAddress):
        oracle.addReporter(ZERO_ADDRESS, sender=admin)
    with reverts(oracle.UnknownReporter, account=stranger.address):
        oracle.removeReporter(stranger, sender=admin)

    # Fill the set to MAX_REPORTERS; one more is refused.
    extra = [accounts.generate_test_account().address for _ in range(MAX_REPORTERS - len(reporters))]
    for account in extra:
        tx = oracle.addReporter(account, sender=admin)
        assert tx.events == [log(oracle.ReporterAdded, reporter=account)]
    assert oracle.getReporters() == addresses + extra
    with reverts(oracle.TooManyReporters, maxReporters=MAX_REPORTERS):
        oracle.addReporter(stranger, sender=admin)

    # Swap-and-pop: the last reporter moves into the removed one's place.
    model = addresses + extra

    def remove(account: str) -> None:
        tx = oracle.removeReporter(account, sender=admin)
        assert tx.events == [log(oracle.ReporterRemoved, reporter=account)]
        i = model.index(account)
        model[i] = model[-1]
        model.pop()
        assert oracle.getReporters() == model
        assert not oracle.isReporter(account)

    remove(addresses[0])
    assert oracle.getReporters()[0] == extra[-1]  # the last one moved to the front
    remove(extra[-2])  # the last one: nothing moves
    for account in [extra[-1], *extra[:-2]]:
        remove(account)
    assert sorted(oracle.getReporters()) == sorted(addresses[1:])
    with reverts(oracle.UnknownReporter, account=addresses[0]):
        oracle.removeReporter(reporters[0], sender=admin)
    oracle.addReporter(reporters[0], sender=admin)
    assert oracle.getReporters() == model + addresses[:1]

    # Heartbeat: bounds inclusive at both ends.
    previous = oracle.heartbeat()
    tx = oracle.setHeartbeat(MIN_HEARTBEAT_SECONDS, sender=admin)
    assert tx.events == [log(oracle.HeartbeatUpdated, previousSeconds=previous, newSeconds=MIN_HEARTBEAT_SECONDS)]
    tx = oracle.setHeartbeat(MAX_HEARTBEAT_SECONDS, sender=admin)
    assert tx.events == [
        log(oracle.HeartbeatUpdated, previousSeconds=MIN_HEARTBEAT_SECONDS, newSeconds=MAX_HEARTBEAT_SECONDS)
    ]
    assert oracle.heartbeat() == MAX_HEARTBEAT_SECONDS
    for bad in (0, MAX_HEARTBEAT_SECONDS + 1):
        with reverts(
            oracle.HeartbeatOutOfRange,
            heartbeatSeconds=bad,
            minSeconds=MIN_HEARTBEAT_SECONDS,
            maxSeconds=MAX_HEARTBEAT_SECONDS,
        ):
            oracle.setHeartbeat(bad, sender=admin)


def exercise_admin_only(oracle: Any, stranger: Any, calls: list[Any]) -> None:
    """Each of `calls(oracle, sender)` from `stranger` is refused: DEFAULT_ADMIN_ROLE only."""
    for call in calls:
        with reverts(oracle.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=DEFAULT_ADMIN_ROLE):
            call(oracle, stranger)


REPORTER_ADMIN_CALLS = [
    lambda o, s: o.addReporter(s, sender=s),
    lambda o, s: o.removeReporter(s, sender=s),
    lambda o, s: o.setHeartbeat(60, sender=s),
    lambda o, s: o.setMinQuorum(0, sender=s),
    lambda o, s: o.grantRole(DEFAULT_ADMIN_ROLE, s, sender=s),
    lambda o, s: o.revokeRole(DEFAULT_ADMIN_ROLE, s, sender=s),
]


def exercise_access_control(oracle: Any, admin: Any, other: Any, stranger: Any) -> None:
    """OpenZeppelin AccessControl as the oracles use it: the admin grants and revokes, a holder
    renounces only for itself."""
    assert oracle.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert oracle.getRoleAdmin(DEFAULT_ADMIN_ROLE) == DEFAULT_ADMIN_ROLE
    assert oracle.supportsInterface("0x7965db0b")  # IAccessControl
    assert oracle.supportsInterface("0x01ffc9a7")  # IERC165
    assert not oracle.supportsInterface("0xffffffff")
    tx = oracle.grantRole(DEFAULT_ADMIN_ROLE, other, sender=admin)
    assert tx.events == [log(oracle.RoleGranted, role=DEFAULT_ADMIN_ROLE, account=other.address, sender=admin.address)]
    with reverts(oracle.AccessControlBadConfirmation):
        oracle.renounceRole(DEFAULT_ADMIN_ROLE, stranger, sender=other)
    tx = oracle.renounceRole(DEFAULT_ADMIN_ROLE, other, sender=other)
    assert tx.events == [log(oracle.RoleRevoked, role=DEFAULT_ADMIN_ROLE, account=other.address, sender=other.address)]
    oracle.grantRole(DEFAULT_ADMIN_ROLE, other, sender=admin)
    tx = oracle.revokeRole(DEFAULT_ADMIN_ROLE, other, sender=admin)
    assert tx.events == [log(oracle.RoleRevoked, role=DEFAULT_ADMIN_ROLE, account=other.address, sender=admin.address)]
    assert not oracle.hasRole(DEFAULT_ADMIN_ROLE, other)


def exercise_quorum(oracle: Any, admin: Any, reporters: list[Any], accounts: Any) -> None:
    """The quorum every oracle shares (OracleReporters): more than half of the reporters as they are
    added and removed, the admin's higher minimum, its bounds, and removals it refuses. `oracle`
    starts with exactly `reporters` (three) and no minimum."""
    assert (oracle.minQuorum(), oracle.quorum()) == (0, 2)
    extra = [accounts.generate_test_account().address for _ in range(3)]
    for count, account in enumerate(extra, start=4):
        oracle.addReporter(account, sender=admin)
        assert oracle.quorum() == count // 2 + 1  # 4 -> 3, 5 -> 3, 6 -> 4
    tx = oracle.setMinQuorum(6, sender=admin)
    assert tx.events == [log(oracle.MinQuorumUpdated, previousReports=0, newReports=6)]
    assert (oracle.minQuorum(), oracle.quorum()) == (6, 6)
    with reverts(oracle.MinQuorumOutOfRange, minReports=7, maxReports=6):
        oracle.setMinQuorum(7, sender=admin)
    with reverts(oracle.MinQuorumAboveReporterCount, minReports=6, reporterCount=5):
        oracle.removeReporter(extra[0], sender=admin)
    tx = oracle.setMinQuorum(5, sender=admin)
    assert tx.events == [log(oracle.MinQuorumUpdated, previousReports=6, newReports=5)]
    oracle.removeReporter(extra[0], sender=admin)
    assert oracle.quorum() == 5  # the minimum is above the majority of 5, 3
    oracle.setMinQuorum(0, sender=admin)
    for account in extra[1:]:
        oracle.removeReporter(account, sender=admin)
    assert (oracle.minQuorum(), oracle.quorum()) == (0, 2)
    # A minimum below the majority asks no less than the majority.
    oracle.setMinQuorum(1, sender=admin)
    assert oracle.quorum() == 2


# ----------------------------------------------------------------------------- the regional oracles

UNREPORTED = (0, 0, 0, 0, 0, 0)  # four fields, report count, updated at
MAX_POWER_W = 2**47 - 1  # GridOracle's power bound: int48's maximum

Fields = tuple[int, int, int, int]


@dataclass(frozen=True)
class RegionalOracleCase:
    """One regional oracle: how to submit and read its four fields, its events, and values inside
    its bounds for the shared scenarios."""

    name: str
    fixture: str
    submit: Callable[[Any, int, Fields, Any], Any]  # (oracle, region, fields, reporter) -> receipt
    read: Callable[[Any, int], Any]  # (oracle, region) -> the region's value
    reported: Callable[[Any], Any]  # the event of every accepted report
    updated: Callable[[Any], Any]  # the event of a newly written value
    fields: tuple[str, str, str, str]
    typical: Fields  # an ordinary report
    refused: Fields  # a report the field bounds refuse
    base: Fields  # level(0)
    step: Fields  # level(k) = base + k * step, inside the bounds for k in 0..20; even steps keep means whole
    column_reports: tuple[Fields, Fields, Fields]  # three reports whose medians come from different reporters
    column_medians: Fields
    even_rounds: tuple[tuple[Fields, Fields, Fields], ...]  # (first report, second report, medians) per round

    def level(self, k: int) -> Fields:
        """Reports ordered by `k` in every field (rising or falling), so medians follow `k`."""
        return cast(Fields, tuple(b + k * s for b, s in zip(self.base, self.step, strict=True)))


GRID = RegionalOracleCase(
    name="GridOracle",
    fixture="grid_oracle",
    submit=lambda o, region, values, reporter: o.submitGridData(region, *values, sender=reporter),
    read=lambda o, region: o.getGridData(region),
    reported=lambda o: o.GridDataReported,
    updated=lambda o: o.GridDataUpdated,
    fields=("frequencyMilliHz", "voltagePerMille", "supplyW", "demandW"),
    typical=(50_000, 1_000, 12_000_000, 9_000_000),  # 50 Hz, 100 %, 12 MW available, 9 MW load
    refused=(0, 0, 0, 0),  # 0 Hz
    base=(45_000, 500, 0, 20_000_000),
    step=(1_000, 50, 1_000_000, -1_000_000),
    column_reports=(
        (50_010, 1_010, 10_000_000, 9_500_000),
        (49_990, 990, 11_000_000, 9_000_000),
        (59_000, 1_400, 0, MAX_POWER_W),  # a faulty reporter: every field far out, inside the bounds
    ),
    column_medians=(50_010, 1_010, 10_000_000, 9_500_000),
    even_rounds=(
        # The mean, rounded toward zero, at the top of the power range: no overflow.
        ((50_001, 1_001, 3, MAX_POWER_W), (50_000, 1_000, 0, MAX_POWER_W - 2), (50_000, 1_000, 1, MAX_POWER_W - 1)),
        # Frequency settles on the report nearer 50,000; the others straddle the last value.
        ((50_020, 1_010, 0, 0), (50_040, 990, 4, MAX_POWER_W), (50_020, 1_000, 1, MAX_POWER_W - 1)),
    ),
)

WEATHER = RegionalOracleCase(
    name="WeatherOracle",
    fixture="weather_oracle",
    submit=lambda o, region, values, reporter: o.submitWeather(region, *values, sender=reporter),
    read=lambda o, region: o.getWeather(region),
    reported=lambda o: o.WeatherReported,
    updated=lambda o: o.WeatherUpdated,
    fields=("irradianceWPerM2", "temperatureMilliCelsius", "windSpeedMmPerS", "cloudCoverBps"),
    typical=(800, 21_500, 4_000, 1_000),  # 800 W/m², 21.5 °C, 4 m/s, 10 % cloud
    refused=(1_501, 0, 0, 0),  # above 1,500 W/m²
    base=(0, 0, 0, 0),
    step=(50, -2_000, 4_000, 400),
    column_reports=(
        (100, -5_000, 3_000, 1_000),
        (900, 20_000, 9_000, 9_000),
        (500, 10_000, 50_000, 5_000),  # an outlier gust
    ),
    column_medians=(500, 10_000, 9_000, 5_000),
    even_rounds=(
        # 100.5 -> 100; -5,000.5 -> -5,000 (toward zero, not down); 7.5 -> 7; 1.5 -> 1.
        ((101, -5_001, 7, 1), (100, -5_000, 8, 2), (100, -5_000, 7, 1)),
        # Three fields straddle the last value and keep it; the wind's two reports are both above it.
        ((90, -4_000, 20, 5), (120, -6_000, 30, 0), (100, -5_000, 20, 1)),
    ),
)


def submit(case: RegionalOracleCase, oracle: Any, reporter: Any, values: Fields, region: int = ORACLE_REGION) -> Any:
    """`reporter` reports `values` for `region` to `oracle`; returns the receipt."""
    return case.submit(oracle, region, values, reporter)


def value_of(case: RegionalOracleCase, oracle: Any, region: int = ORACLE_REGION) -> tuple:
    """The region's value: four fields, report count, updated at."""
    return tuple(case.read(oracle, region))


def assert_submitted(
    case: RegionalOracleCase,
    oracle: Any,
    tx: Any,
    reporter: Any,
    values: Fields,
    medians: Fields | None = None,
    report_count: int | None = None,
    region: int = ORACLE_REGION,
) -> None:
    """`tx` emitted the report and, when `medians` are given, the region's new medians, and nothing else."""
    events = [
        log(case.reported(oracle), regionId=region, reporter=reporter.address, **dict(zip(case.fields, values, strict=True)))
    ]
    if medians is not None:
        events.append(
            log(case.updated(oracle), regionId=region, reportCount=report_count, **dict(zip(case.fields, medians, strict=True)))
        )
    assert tx.events == events
