"""SmartMeter: a gateway's batches and readings signed by the meter devices (EIP-712), relayed
by anyone.

Every custom error is asserted with all of its arguments and every event with all of its fields
(`reverts` and `log` from support/helpers.py make ape's subset checks exhaustive); the meters' fixtures
(`meter`, `submit`, `baseline`, `metered`) are in conftest.py, the rest in support/meter_helpers.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from energy_grid.domain.units import (
    DAY_SECONDS,
    FREQUENCY_NOMINAL_MILLIHZ,
    INTERVAL_SECONDS,
    VOLTAGE_NOMINAL_PER_MILLE,
    interval_of,
)
from energy_grid.signing.packed_readings import READING_BYTES, SIGNED_READING_BYTES, pack_readings
from energy_grid.signing.readings import (
    METER_READING_TYPEHASH,
    SIGNED_READING_TYPEHASH,
    SignedReading,
    sign_reading,
    sign_readings,
    typed_data,
)

from support.helpers import DEFAULT_ADMIN_ROLE, ZERO_ADDRESS, assert_logs, reverts
from support.meter_helpers import (
    EMPTY_READING,
    GATEWAY_ROLE,
    MAX_BATCH_SIZE,
    METER_ROLE,
    OPERATOR_ROLE,
    PAUSER_ROLE,
    REGION,
    SECP256K1_ORDER,
    accepted,
    minted,
    submit_at,
)


@pytest.fixture(scope="module", autouse=True)
def _accounts_before_isolation(admin, owner, other, stranger, meter_device, meter_device_2, accounts):
    """Resolves the session-scoped account fixtures before ape's per-test isolation (no rebasing)."""


# ----------------------------------------------------------------------------- batches

BATCH_FORMS = ("abi", "packed")


@pytest.fixture(params=BATCH_FORMS)
def submit_batch(request, smart_meter, admin):
    """A gateway batch (sent by the admin, who holds GATEWAY_ROLE) in the ABI's encoding
    (submitReadings) or packed (submitPackedReadings): every batch test runs with both."""

    def send(meters: list[str], readings: list[tuple[int, ...]]) -> Any:
        if request.param == "packed":
            return smart_meter.submitPackedReadings(pack_readings(zip(meters, readings, strict=True)), sender=admin)
        return smart_meter.submitReadings(meters, readings, sender=admin)

    return send


@pytest.fixture
def three_meters(smart_meter, admin, owner, other, meter_device, meter_device_2, accounts, chain):
    """Three meters registered with registers (owner, other, owner); returns (addresses, last registration time)."""
    meters = [meter_device.address, meter_device_2.address, accounts[5].address]
    owners = [owner, other, owner]
    for i, (m, o) in enumerate(zip(meters, owners, strict=True)):
        tx = smart_meter.registerMeter(m, o, REGION, 100 * i, 1_000 * i, sender=admin)
    return meters, tx.timestamp


def test_batch_mints_to_each_owner(smart_meter, submit_batch, energy_token, admin, owner, other, three_meters, reading, chain):
    meters, registered_at = three_meters
    ts = registered_at + 60
    chain.pending_timestamp = ts
    readings = [reading(10, 100, timestamp=ts), reading(120, 1_200, timestamp=ts), reading(230, 2_300, timestamp=ts)]
    tx = submit_batch(meters, readings)

    assert tx.events.filter(smart_meter.ReadingAccepted) == [
        accepted(smart_meter, meters[0], ts, 10, 100),
        accepted(smart_meter, meters[1], ts, 20, 200),
        accepted(smart_meter, meters[2], ts, 30, 300),
    ]
    assert tx.events.filter(energy_token.Transfer) == [
        minted(energy_token, owner.address, 100),
        minted(energy_token, other.address, 200),
        minted(energy_token, owner.address, 300),
    ]
    assert energy_token.balanceOf(owner) == 400
    assert energy_token.balanceOf(other) == 200
    assert energy_token.totalSupply() == 600
    assert [smart_meter.getLatestReading(m).timestamp for m in meters] == [ts] * 3


def test_batch_mints_only_for_exports(smart_meter, submit_batch, energy_token, admin, owner, other, three_meters, reading, chain):
    """Readings without an export increase mint nothing; the others are still minted to their owners."""
    meters, registered_at = three_meters
    ts = registered_at + 60
    chain.pending_timestamp = ts
    readings = [reading(10, 100, timestamp=ts), reading(120, 1_000, timestamp=ts), reading(200, 2_300, timestamp=ts)]
    tx = submit_batch(meters, readings)

    assert tx.events.filter(smart_meter.ReadingAccepted) == [
        accepted(smart_meter, meters[0], ts, 10, 100),
        accepted(smart_meter, meters[1], ts, 20, 0),
        accepted(smart_meter, meters[2], ts, 0, 300),
    ]
    assert tx.events.filter(energy_token.Transfer) == [
        minted(energy_token, owner.address, 100),
        minted(energy_token, owner.address, 300),
    ]
    assert energy_token.balanceOf(owner) == 400
    assert energy_token.balanceOf(other) == 0

    # A batch that exports nothing mints nothing.
    chain.pending_timestamp = ts + 60
    readings = [reading(11, 100, timestamp=ts + 60), reading(121, 1_000, timestamp=ts + 60)]
    tx = submit_batch(meters[:2], readings)
    assert tx.events.filter(energy_token.Transfer) == []
    assert len(tx.events.filter(smart_meter.ReadingAccepted)) == 2
    assert energy_token.totalSupply() == 400


def test_meters_registered_together_share_their_intervals_words(smart_meter, submit_batch, admin, owner, other, reading, chain):
    """Meters registered one after another share each interval's word of the load profile, three to a
    word: every meter keeps its own Wh, frequency and voltage in it, however the readings of one word
    arrive (in one batch, in several, or alone), and a meter with several meters' owner keeps that owner."""
    meters = [Account.create().address for _ in range(5)]  # cells n..n+4: a word shared by three, one by fewer
    owners = [owner, other, owner, other, owner]
    for m, o in zip(meters, owners, strict=True):
        registered_at = smart_meter.registerMeter(m, o, REGION, 0, 0, sender=admin).timestamp
    # The first interval that starts after every meter may read again, wherever the wall clock stands.
    start = ((registered_at + smart_meter.minReadingInterval()) // INTERVAL_SECONDS + 1) * INTERVAL_SECONDS
    interval = interval_of(start)
    chain.pending_timestamp = start + 10
    first_readings = [
        reading(10 * (i + 1), 100 * (i + 1), timestamp=start + 10, frequency_millihz=49_900 + i, voltage_per_mille=990 + i)
        for i in range(5)
    ]
    submit_batch(meters, first_readings)
    # More readings in the same interval, for some meters only, in another transaction: their cells add up.
    chain.pending_timestamp = start + 100
    submit_batch(meters[1:4:2], [reading(30, 300, timestamp=start + 100), reading(50, 450, timestamp=start + 100)])
    # The next interval: one meter alone.
    chain.pending_timestamp = start + INTERVAL_SECONDS + 5
    submit_batch([meters[2]], [reading(40, 330, timestamp=start + INTERVAL_SECONDS + 5)])

    energy = [(10, 100), (30, 300), (30, 300), (50, 450), (50, 500)]
    for i, m in enumerate(meters):
        first = smart_meter.getIntervalHistory(m, interval, 2)
        frequency, voltage = (50_000, 1_000) if i in (1, 3) else (49_900 + i, 990 + i)
        assert first[0] == (interval, *energy[i], frequency, voltage)
        assert smart_meter.getMeter(m).owner == owners[i].address
    assert smart_meter.getIntervalHistory(meters[2], interval + 1, 1) == [(interval + 1, 10, 30, 50_000, 1_000)]
    assert [smart_meter.getIntervalEnergy(m, interval + 1) for m in meters] == [(0, 0), (0, 0), (10, 30), (0, 0), (0, 0)]
    assert smart_meter.getLatestReading(meters[2]) == (start + INTERVAL_SECONDS + 5, 40, 330, 50_000, 1_000)
    assert smart_meter.getLatestReading(meters[4]) == (start + 10, 50, 500, 49_904, 994)
    # Past the last interval the profile can hold, every place of a word reads as empty.
    max_interval = smart_meter.MAX_INTERVAL()
    assert [smart_meter.getEnergyInRange(m, max_interval, 96) for m in meters[:3]] == [(0, 0)] * 3
    assert [r.gridFrequencyMilliHz for r in smart_meter.getIntervalHistory(meters[0], max_interval, 2)] == [0, 0]


def test_minting_needs_meter_role_on_token(smart_meter, energy_token, admin, meter, meter_device, baseline, submit):
    energy_token.revokeRole(METER_ROLE, smart_meter, sender=admin)
    # The token's revert bubbles up; ape decodes it with the called contract's ABI (same error).
    with reverts(smart_meter.AccessControlUnauthorizedAccount, account=smart_meter.address, neededRole=METER_ROLE):
        submit(meter_device, baseline + 60, 1_000, 5_001)
    # A reading that exports nothing does not touch the token.
    submit(meter_device, baseline + 61, 1_001, 5_000)
    assert smart_meter.getLatestReading(meter).timestamp == baseline + 61


def test_batch_bad_item_reverts_whole_batch(smart_meter, submit_batch, energy_token, admin, owner, three_meters, reading, chain):
    meters, registered_at = three_meters
    ts = registered_at + 60
    chain.pending_timestamp = ts
    readings = [
        reading(10, 100, timestamp=ts),
        reading(120, 1_200, timestamp=ts, frequency_millihz=44_999),
        reading(230, 2_300, timestamp=ts),
    ]
    with reverts(smart_meter.FrequencyOutOfBounds, meter=meters[1], gridFrequencyMilliHz=44_999):
        submit_batch(meters, readings)
    assert energy_token.totalSupply() == 0
    latest = [smart_meter.getLatestReading(m) for m in meters]
    assert [(r.consumption, r.production) for r in latest] == [(0, 0), (100, 1_000), (200, 2_000)]


def test_batch_unknown_meter_reverts(smart_meter, submit_batch, admin, stranger, three_meters, reading, chain):
    meters, registered_at = three_meters
    ts = registered_at + 60
    chain.pending_timestamp = ts
    batch = [reading(10, 100, timestamp=ts), reading(10, 100, timestamp=ts)]
    with reverts(smart_meter.MeterUnknown, meter=stranger.address):
        submit_batch([meters[0], stranger.address], batch)


def test_batch_shape_errors(smart_meter, admin, meter, reading):
    with reverts(smart_meter.EmptyBatch):
        smart_meter.submitReadings([], [], sender=admin)
    too_many = MAX_BATCH_SIZE + 1
    with reverts(smart_meter.BatchTooLarge, size=too_many, maxSize=MAX_BATCH_SIZE):
        smart_meter.submitReadings([meter] * too_many, [reading(1, 1)] * too_many, sender=admin)
    with reverts(smart_meter.BatchLengthMismatch, meters=2, readings=1):
        smart_meter.submitReadings([meter, meter], [reading(1, 1)], sender=admin)
    with reverts(smart_meter.BatchLengthMismatch, meters=1, readings=0):
        smart_meter.submitReadings([meter], [], sender=admin)


def test_packed_batch_shape_errors(smart_meter, admin, stranger, meter, reading):
    entry = pack_readings([(meter, reading(1, 1))])
    assert len(entry) == smart_meter.PACKED_READING_BYTES() == READING_BYTES
    with reverts(smart_meter.EmptyBatch):
        smart_meter.submitPackedReadings(b"", sender=admin)
    with reverts(smart_meter.BatchTooLarge, size=MAX_BATCH_SIZE + 1, maxSize=MAX_BATCH_SIZE):
        smart_meter.submitPackedReadings(entry * (MAX_BATCH_SIZE + 1), sender=admin)
    for cut in (entry[:-1], entry + entry[:1], entry[:20]):
        with reverts(smart_meter.PackedBatchMalformed, lengthBytes=len(cut), entryBytes=READING_BYTES):
            smart_meter.submitPackedReadings(cut, sender=admin)
    with reverts(smart_meter.AccessControlUnauthorizedAccount, account=stranger.address, neededRole=GATEWAY_ROLE):
        smart_meter.submitPackedReadings(entry, sender=stranger)


def test_packed_fields_hold_every_reading_the_checks_allow(smart_meter, energy_token, admin, owner, chain):
    """Each packed field is as wide as its bound: the largest registers, frequency and voltage arrive whole."""
    device = Account.create().address
    top = smart_meter.MAX_REGISTER_WH()
    smart_meter.registerMeter(device, owner, REGION, top - 5, top - 7, sender=admin)
    ts = chain.pending_timestamp + 120
    chain.pending_timestamp = ts
    ceiling = (ts, top, top, smart_meter.MAX_FREQUENCY_MILLIHZ(), smart_meter.MAX_VOLTAGE_PER_MILLE())
    tx = smart_meter.submitPackedReadings(pack_readings([(device, ceiling)]), sender=admin)
    assert tx.events.filter(smart_meter.ReadingAccepted) == [accepted(smart_meter, device, ts, 5, 7)]
    assert smart_meter.getLatestReading(device) == ceiling
    assert energy_token.balanceOf(owner) == 7


def test_full_batch_of_one_meters_backlog(smart_meter, submit_batch, energy_token, admin, owner, meter, chain):
    """A gateway replays a meter's backlog: MAX_BATCH_SIZE readings, one second apart, no rate limit."""
    smart_meter.setMinReadingInterval(0, sender=admin)
    end = chain.pending_timestamp + 10
    chain.pending_timestamp = end
    first = end - (MAX_BATCH_SIZE - 1)
    readings = [(first + i, 3 * i, 10 * i, 50_000, 1_000) for i in range(MAX_BATCH_SIZE)]
    tx = submit_batch([meter] * MAX_BATCH_SIZE, readings)

    assert len(tx.events.filter(smart_meter.ReadingAccepted)) == MAX_BATCH_SIZE
    assert len(tx.events.filter(smart_meter.MeterBaselineSet)) == 1
    assert energy_token.balanceOf(owner) == 10 * (MAX_BATCH_SIZE - 1)
    assert smart_meter.getMeteredEnergy(meter) == (3 * (MAX_BATCH_SIZE - 1), 10 * (MAX_BATCH_SIZE - 1), 0)
    assert smart_meter.getLatestReading(meter).timestamp == end


def test_batch_same_meter_twice_is_rate_limited(smart_meter, submit_batch, admin, meter, reading, chain):
    ts = chain.pending_timestamp + 100
    chain.pending_timestamp = ts
    with reverts(smart_meter.ReadingTooFrequent, meter=meter, timestamp=ts, earliestTimestamp=ts - 10 + 60):
        submit_batch([meter, meter], [reading(1, 1, timestamp=ts - 10), reading(2, 2, timestamp=ts)])


# ----------------------------------------------------------------------------- meter-signed readings


@pytest.fixture
def chain_id(chain):
    return chain.chain_id


@pytest.fixture
def signed_meters(smart_meter, admin, owner, other, meter_device, meter_device_2, chain):
    """meter_device (owner's) and meter_device_2 (other's), registered in the same second with
    registers 0 so their first reading already counts. Returns the registration time."""
    registered_at = chain.pending_timestamp + 1
    chain.pending_timestamp = registered_at
    smart_meter.registerMeter(meter_device, owner, REGION, 0, 0, sender=admin)
    chain.pending_timestamp = registered_at
    assert smart_meter.registerMeter(meter_device_2, other, REGION, 0, 0, sender=admin).timestamp == registered_at
    return registered_at


@pytest.fixture
def sign(smart_meter, chain_id):
    """Signs a reading as `device` with `nonce` (deadline: an hour after the reading by default)."""

    def build(
        device: Any, nonce: int, ts: int, consumption: int, production: int, deadline: int | None = None, **kwargs: Any
    ) -> SignedReading:
        reading = (ts, consumption, production, kwargs.pop("frequency", FREQUENCY_NOMINAL_MILLIHZ), VOLTAGE_NOMINAL_PER_MILLE)
        return sign_reading(
            kwargs.pop("key", device.private_key),
            kwargs.pop("chain", chain_id),
            kwargs.pop("contract", smart_meter.address),
            nonce,
            ts + 3_600 if deadline is None else deadline,
            reading,
            meter=kwargs.pop("meter", device.address),
        )

    return build


class Relay:
    """Relays meter-signed entries in the ABI's encoding (submitSignedReadings) or packed, with
    EIP-2098 signatures (submitPackedSignedReadings)."""

    def __init__(self, form: str) -> None:
        self.form = form

    def __call__(self, smart_meter: Any, relayer: Any, *entries: SignedReading, ts: int | None = None, chain: Any = None) -> Any:
        if ts is not None:
            chain.pending_timestamp = ts
        if self.form == "packed":
            return smart_meter.submitPackedSignedReadings(b"".join(e.packed() for e in entries), sender=relayer)
        return smart_meter.submitSignedReadings([e.as_tuple() for e in entries], sender=relayer)


@pytest.fixture(params=BATCH_FORMS)
def relay(request):
    """Every signed-reading test that both forms can express runs with both."""
    return Relay(request.param)


relay_abi = Relay("abi")


def recovered(entry: SignedReading, chain_id: int, contract: str) -> str:
    """The address `entry`'s signature recovers to over the domain of `chain_id` and `contract`."""
    message = encode_typed_data(full_message=typed_data(chain_id, contract, entry.meter, entry.nonce, entry.deadline, entry.reading))
    return Account.recover_message(message, vrs=(entry.v, entry.r, entry.s))


def test_eip712_domain_and_types(smart_meter, chain_id):
    assert smart_meter.SIGNED_READING_TYPEHASH() == SIGNED_READING_TYPEHASH
    assert smart_meter.METER_READING_TYPEHASH() == METER_READING_TYPEHASH
    domain = smart_meter.eip712Domain()
    assert (domain.name, domain.version, domain.chainId, domain.verifyingContract) == ("SmartMeter", "1", chain_id, smart_meter.address)
    assert domain.fields == b"\x0f"  # name, version, chainId, verifyingContract
    message = typed_data(chain_id, smart_meter.address, ZERO_ADDRESS, 0, 0, EMPTY_READING)
    assert smart_meter.DOMAIN_SEPARATOR() == encode_typed_data(full_message=message).header


def test_signed_readings_relayed_by_anyone(relay,
    smart_meter, energy_token, owner, other, stranger, meter_device, meter_device_2, signed_meters, sign, chain
):
    """A relayer with no role submits readings the meters signed; several of one meter go in nonce order."""
    ts = signed_meters + 60
    entries = [
        sign(meter_device, 0, ts, 100, 1_000),
        sign(meter_device_2, 0, ts, 50, 700),
        sign(meter_device, 1, ts + 900, 150, 1_400),
    ]
    assert not any(smart_meter.hasRole(r, stranger) for r in (GATEWAY_ROLE, OPERATOR_ROLE, DEFAULT_ADMIN_ROLE))
    tx = relay(smart_meter, stranger, *entries, ts=ts + 900, chain=chain)

    assert_logs(
        tx,
        accepted(smart_meter, meter_device.address, ts, 100, 1_000),
        accepted(smart_meter, meter_device_2.address, ts, 50, 700),
        accepted(smart_meter, meter_device.address, ts + 900, 50, 400),
        minted(energy_token, owner.address, 1_000),
        minted(energy_token, other.address, 700),
        minted(energy_token, owner.address, 400),
    )
    assert energy_token.balanceOf(owner) == 1_400
    assert energy_token.balanceOf(other) == 700
    assert smart_meter.nonces(meter_device) == 2
    assert smart_meter.nonces(meter_device_2) == 1
    assert smart_meter.getLatestReading(meter_device) == (ts + 900, 150, 1_400, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)
    # The meter's own and the gateway's readings do not use nonces.
    submit_at(smart_meter, chain, meter_device, ts + 1_800, ts + 1_800, 160, 1_400)
    assert smart_meter.nonces(meter_device) == 2
    assert smart_meter.nonces(stranger) == 0


def test_buffered_signed_readings_after_an_outage(
    relay, smart_meter, energy_token, owner, stranger, meter_device, signed_meters, chain, chain_id
):
    """A device signed its 15-minute readings through an outage; six days later a relayer delivers a full batch."""
    start = signed_meters + 60
    now = start + 6 * DAY_SECONDS
    readings = [
        (start + i * INTERVAL_SECONDS, 0, 100 * (i + 1), FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)
        for i in range(MAX_BATCH_SIZE)
    ]
    entries = sign_readings(
        meter_device.private_key, chain_id, smart_meter.address, smart_meter.nonces(meter_device), now + 3_600, readings
    )
    assert [e.nonce for e in entries] == list(range(MAX_BATCH_SIZE))
    tx = relay(smart_meter, stranger, *entries, ts=now, chain=chain)
    assert len(tx.events.filter(smart_meter.ReadingAccepted)) == MAX_BATCH_SIZE
    assert energy_token.balanceOf(owner) == 100 * MAX_BATCH_SIZE
    assert smart_meter.nonces(meter_device) == MAX_BATCH_SIZE
    assert smart_meter.getIntervalEnergy(meter_device, interval_of(start + INTERVAL_SECONDS)) == (0, 100)


def test_signed_reading_deadline(relay, smart_meter, energy_token, stranger, meter_device, signed_meters, sign, chain):
    ts = signed_meters + 60
    expired = sign(meter_device, 0, ts, 0, 10, deadline=ts + 99)
    with reverts(smart_meter.ReadingSignatureExpired, meter=meter_device.address, nonce=0, deadline=ts + 99):
        relay(smart_meter, stranger, expired, ts=ts + 100, chain=chain)
    # Valid up to and including the deadline's second.
    relay(smart_meter, stranger, sign(meter_device, 0, ts, 0, 10, deadline=ts + 100), ts=ts + 100, chain=chain)
    assert energy_token.balanceOf(smart_meter.getMeter(meter_device).owner) == 10


@pytest.mark.parametrize("where", ["another chain id", "another contract"])
def test_signature_for_another_domain_is_rejected(relay,
    smart_meter, energy_token, stranger, meter_device, signed_meters, sign, chain, chain_id, where
):
    ts = signed_meters + 60
    domain = {"chain": chain_id + 1} if where == "another chain id" else {"contract": energy_token.address}
    entry = sign(meter_device, 0, ts, 0, 10, **domain)
    signer = recovered(entry, chain_id, smart_meter.address)
    assert signer != meter_device.address
    with reverts(smart_meter.InvalidReadingSignature, meter=meter_device.address, nonce=0, signer=signer):
        relay(smart_meter, stranger, entry, ts=ts, chain=chain)
    assert smart_meter.nonces(meter_device) == 0
    assert energy_token.totalSupply() == 0


def test_signature_by_another_key_or_none_is_rejected(relay,
    smart_meter, energy_token, stranger, meter_device, meter_device_2, signed_meters, sign, chain
):
    ts = signed_meters + 60
    forged = sign(meter_device, 0, ts, 0, 10, key=meter_device_2.private_key)
    with reverts(smart_meter.InvalidReadingSignature, meter=meter_device.address, nonce=0, signer=meter_device_2.address):
        relay(smart_meter, stranger, forged, ts=ts, chain=chain)
    # Contents changed after signing recover to some other address.
    genuine = sign(meter_device, 0, ts, 0, 10)
    tampered = SignedReading(genuine.meter, 0, genuine.deadline, (ts, 0, 10_000, 50_000, 1_000), genuine.v, genuine.r, genuine.s)
    with reverts(
        smart_meter.InvalidReadingSignature,
        meter=meter_device.address,
        nonce=0,
        signer=recovered(tampered, chain.chain_id, smart_meter.address),
    ):
        relay(smart_meter, stranger, tampered, ts=ts, chain=chain)
    # No signature at all recovers to nobody: v not 27 or 28, or, in the packed form (whose v is 27 or
    # 28 by construction), an r of zero.
    v, r = (0, genuine.r) if relay.form == "abi" else (genuine.v, bytes(32))
    unsigned = SignedReading(genuine.meter, 0, genuine.deadline, genuine.reading, v, r, genuine.s)
    with reverts(smart_meter.InvalidReadingSignature, meter=meter_device.address, nonce=0, signer=ZERO_ADDRESS):
        relay(smart_meter, stranger, unsigned, ts=ts, chain=chain)
    # A meter of address 0 cannot pass with a signature that recovers to nobody.
    zero = SignedReading(ZERO_ADDRESS, 0, genuine.deadline, genuine.reading, v, r, genuine.s)
    with reverts(smart_meter.InvalidReadingSignature, meter=ZERO_ADDRESS, nonce=0, signer=ZERO_ADDRESS):
        relay(smart_meter, stranger, zero, ts=ts, chain=chain)
    assert energy_token.totalSupply() == 0


def test_replayed_signed_reading_is_rejected(relay, smart_meter, energy_token, owner, stranger, meter_device, signed_meters, sign, chain):
    ts = signed_meters + 60
    entry = sign(meter_device, 0, ts, 0, 10)
    relay(smart_meter, stranger, entry, ts=ts, chain=chain)
    with reverts(smart_meter.InvalidReadingNonce, meter=meter_device.address, nonce=0, expectedNonce=1):
        relay(smart_meter, stranger, entry, ts=ts + 60, chain=chain)
    # Replayed inside one batch, too.
    second = sign(meter_device, 1, ts + 60, 0, 20)
    with reverts(smart_meter.InvalidReadingNonce, meter=meter_device.address, nonce=1, expectedNonce=2):
        relay(smart_meter, stranger, second, second, ts=ts + 120, chain=chain)
    # A nonce ahead of the meter's waits for the ones before it.
    ahead = sign(meter_device, 2, ts + 120, 0, 30)
    with reverts(smart_meter.InvalidReadingNonce, meter=meter_device.address, nonce=2, expectedNonce=1):
        relay(smart_meter, stranger, ahead, ts=ts + 120, chain=chain)
    assert energy_token.balanceOf(owner) == 10
    assert smart_meter.nonces(meter_device) == 1


def test_malleable_signature_is_rejected(smart_meter, energy_token, stranger, meter_device, signed_meters, sign, chain, chain_id):
    """The high-s twin (n - s, the other v) of a genuine signature recovers to the same key; EIP-2 rules it out."""
    ts = signed_meters + 60
    genuine = sign(meter_device, 0, ts, 0, 10)
    high_s = (SECP256K1_ORDER - int.from_bytes(genuine.s, "big")).to_bytes(32, "big")
    twin = SignedReading(genuine.meter, 0, genuine.deadline, genuine.reading, 55 - genuine.v, genuine.r, high_s)
    assert recovered(twin, chain_id, smart_meter.address) == meter_device.address
    with reverts(smart_meter.MalleableReadingSignature, meter=meter_device.address, nonce=0, s=high_s):
        relay_abi(smart_meter, stranger, twin, ts=ts, chain=chain)
    relay_abi(smart_meter, stranger, genuine, ts=ts, chain=chain)
    assert smart_meter.nonces(meter_device) == 1
    assert energy_token.totalSupply() == 10


def test_packed_signatures_carry_v_in_s(smart_meter, energy_token, stranger, meter_device, signed_meters, sign, chain):
    """EIP-2098: v - 27 rides in the top bit of s. A meter's readings signed until both v's occur are
    accepted packed; the same signature with that bit flipped recovers another key."""
    ts = signed_meters + 60
    entries, seen = [], set()
    for nonce in range(16):
        entry = sign(meter_device, nonce, ts + nonce * 60, 0, 10 * (nonce + 1))
        entries.append(entry)
        seen.add(entry.v)
        if seen == {27, 28}:
            break
    assert seen == {27, 28}
    packed = [e.packed() for e in entries]
    assert all(len(p) == smart_meter.PACKED_SIGNED_READING_BYTES() == SIGNED_READING_BYTES for p in packed)
    assert [p[-32] >> 7 for p in packed] == [e.v - 27 for e in entries]
    flipped = entries[0].packed()
    flipped = flipped[:-32] + bytes([flipped[-32] ^ 0x80]) + flipped[-31:]
    chain.pending_timestamp = ts + len(entries) * 60
    first = entries[0]
    other_v = SignedReading(first.meter, first.nonce, first.deadline, first.reading, 55 - first.v, first.r, first.s)
    with reverts(
        smart_meter.InvalidReadingSignature,
        meter=meter_device.address,
        nonce=0,
        signer=recovered(other_v, chain.chain_id, smart_meter.address),
    ):
        smart_meter.submitPackedSignedReadings(flipped, sender=stranger)
    smart_meter.submitPackedSignedReadings(b"".join(packed), sender=stranger)
    assert smart_meter.nonces(meter_device) == len(entries)
    assert energy_token.totalSupply() == 10 * len(entries)


def test_packed_signature_with_a_high_s_is_rejected(smart_meter, energy_token, stranger, meter_device, signed_meters, sign, chain):
    """An s above half the curve order that still fits below vs's top bit is refused as malleable (EIP-2)."""
    ts = signed_meters + 60
    genuine = sign(meter_device, 0, ts, 0, 10)
    high_s = (SECP256K1_ORDER // 2 + 1).to_bytes(32, "big")
    entry = SignedReading(genuine.meter, 0, genuine.deadline, genuine.reading, genuine.v, genuine.r, high_s)
    chain.pending_timestamp = ts
    with reverts(smart_meter.MalleableReadingSignature, meter=meter_device.address, nonce=0, s=high_s):
        smart_meter.submitPackedSignedReadings(entry.packed(), sender=stranger)
    assert energy_token.totalSupply() == 0


def test_packed_signed_batch_shape(smart_meter, stranger, meter_device, signed_meters, sign):
    entry = sign(meter_device, 0, signed_meters + 60, 0, 10).packed()
    with reverts(smart_meter.EmptyBatch):
        smart_meter.submitPackedSignedReadings(b"", sender=stranger)
    with reverts(smart_meter.BatchTooLarge, size=MAX_BATCH_SIZE + 1, maxSize=MAX_BATCH_SIZE):
        smart_meter.submitPackedSignedReadings(entry * (MAX_BATCH_SIZE + 1), sender=stranger)
    for cut in (entry[:-1], entry + entry[:READING_BYTES]):
        with reverts(smart_meter.PackedBatchMalformed, lengthBytes=len(cut), entryBytes=SIGNED_READING_BYTES):
            smart_meter.submitPackedSignedReadings(cut, sender=stranger)


def test_bad_signed_entry_reverts_the_whole_batch(relay,
    smart_meter, energy_token, stranger, meter_device, meter_device_2, signed_meters, sign, chain
):
    """All or nothing, like submitReadings: the error names the bad entry's meter, the relayer drops it and resends."""
    ts = signed_meters + 60
    good = sign(meter_device, 0, ts, 0, 10)
    bad_data = sign(meter_device_2, 0, ts, 0, 20, frequency=44_999)
    with reverts(smart_meter.FrequencyOutOfBounds, meter=meter_device_2.address, gridFrequencyMilliHz=44_999):
        relay(smart_meter, stranger, good, bad_data, ts=ts, chain=chain)
    assert energy_token.totalSupply() == 0
    assert (smart_meter.nonces(meter_device), smart_meter.nonces(meter_device_2)) == (0, 0)
    assert smart_meter.getLatestReading(meter_device).timestamp == signed_meters
    relay(smart_meter, stranger, good, ts=ts, chain=chain)
    assert energy_token.totalSupply() == 10


def test_signed_readings_pass_the_reading_checks(relay,
    smart_meter, admin, stranger, meter_device, meter_device_2, signed_meters, sign, chain, accounts
):
    ts = signed_meters + 60
    unregistered = accounts[6]
    with reverts(smart_meter.MeterUnknown, meter=unregistered.address):
        relay(smart_meter, stranger, sign(unregistered, 0, ts, 0, 10), ts=ts, chain=chain)
    with reverts(smart_meter.ReadingTooFrequent, meter=meter_device.address, timestamp=signed_meters + 59, earliestTimestamp=ts):
        relay(smart_meter, stranger, sign(meter_device, 0, ts - 1, 0, 10), ts=ts, chain=chain)
    # Later blocks: the readings timed `ts` are in the past by now, which they may be.
    smart_meter.deactivateMeter(meter_device_2, sender=admin)
    with reverts(smart_meter.MeterInactive, meter=meter_device_2.address):
        relay(smart_meter, stranger, sign(meter_device_2, 0, ts, 0, 10))
    smart_meter.grantRole(PAUSER_ROLE, admin, sender=admin)
    smart_meter.pause(sender=admin)
    with reverts(smart_meter.EnforcedPause):
        relay(smart_meter, stranger, sign(meter_device, 0, ts, 0, 10))
    assert smart_meter.nonces(meter_device) == 0


def test_signed_batch_shape(smart_meter, stranger, meter_device, signed_meters, sign):
    with reverts(smart_meter.EmptyBatch):
        smart_meter.submitSignedReadings([], sender=stranger)
    entry = sign(meter_device, 0, signed_meters + 60, 0, 10).as_tuple()
    with reverts(smart_meter.BatchTooLarge, size=MAX_BATCH_SIZE + 1, maxSize=MAX_BATCH_SIZE):
        smart_meter.submitSignedReadings([entry] * (MAX_BATCH_SIZE + 1), sender=stranger)
