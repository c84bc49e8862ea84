"""Gas of meter-signed readings relayed by anyone: SmartMeter.submitSignedReadings at 1,
10 and 100 readings and submitPackedSignedReadings at 100, against the unsigned gateway batch in the
same two encodings (submitReadings, submitPackedReadings) under the same load.

What a signed reading adds to a gateway reading, per entry: the ecrecover precompile (3,000) and its
warm staticcall (100), three keccak256 (the reading, the SignedReading, the EIP-712 digest: ~175),
the signature's calldata (packed: r and vs, 64 bytes, ~1,020 at 16 gas per non-zero byte, and the
nonce and deadline, 10 bytes, ~100; in the ABI's encoding v, r, s, nonce and deadline are five words,
~1,470), and the checks. The nonce rides in the meter's record, raised in the store that records the
reading. A first reading costs more in either kind of batch: the owner's EnergyToken balance slot is
fresh.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account

from energy_grid.bench.core import GasReport, next_interval
from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE
from energy_grid.signing.packed_readings import pack_readings
from energy_grid.signing.readings import SignedReading, sign_reading

# Budget: a gateway batch of 100 meter-signed readings at most 55,000 gas per reading.
# The unsigned gateway batch costs ~31,500 per reading (a third of a fresh load-profile word, the
# meter record rewritten, the event, the mint's share); the signature adds ~5,600 in the ABI's
# encoding and ~5,000 packed (see above), so ~37,000.
BUDGET_SIGNED_PER_READING_AT_100 = 55_000

BUDGETED_BATCH_SIZE = 100  # the batch whose per-reading cost is held to budget
BATCH_SIZES = (1, 10, BUDGETED_BATCH_SIZE)
REGION_ID = 1
EXPORT_PER_READING_WH = 1_500
SIGNATURE_VALIDITY_SECONDS = 3_600


class SignedMeterFeed:
    """Meters with their own device keys (registered with registers 0, each to a fresh owner) and
    rising readings for them, signed with each meter's next nonce."""

    def __init__(self, smart_meter: Any, operator: Any, chain: Any) -> None:
        self.smart_meter, self.operator, self.chain = smart_meter, operator, chain
        self.chain_id = int(chain.chain_id)
        self.min_gap_s = int(smart_meter.minReadingInterval())
        self.keys: list[Any] = []
        self.registers_wh: dict[str, int] = {}
        self.nonces: dict[str, int] = {}

    def register(self, count: int) -> list[Any]:
        keys = [Account.create() for _ in range(count)]
        for key in keys:
            self.smart_meter.registerMeter(key.address, Account.create().address, REGION_ID, 0, 0, sender=self.operator)
            self.registers_wh[key.address] = 0
            self.nonces[key.address] = 0
        return keys

    def _next_readings(self, keys: list[Any]) -> list[tuple[str, tuple[int, int, int, int, int]]]:
        # A round is in the next interval, as the unsigned gateway bench's rounds are.
        next_interval(self.chain, self.min_gap_s)
        ts = self.chain.pending_timestamp
        out = []
        for key in keys:
            self.registers_wh[key.address] += EXPORT_PER_READING_WH
            register = self.registers_wh[key.address]
            out.append((key.address, (ts, register, register, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)))
        return out

    def signed(self, keys: list[Any]) -> list[SignedReading]:
        """One signed reading per meter, in the next interval."""
        entries = []
        for key, (meter, reading) in zip(keys, self._next_readings(keys), strict=True):
            nonce = self.nonces[meter]
            entry = sign_reading(
                key.key, self.chain_id, self.smart_meter.address, nonce, reading[0] + SIGNATURE_VALIDITY_SECONDS, reading
            )
            self.nonces[meter] = nonce + 1
            entries.append(entry)
        return entries

    def unsigned(self, keys: list[Any]) -> tuple[list[str], list[tuple[int, ...]]]:
        """One gateway reading per meter, in the next interval."""
        pairs = self._next_readings(keys)
        return [meter for meter, _ in pairs], [reading for _, reading in pairs]


def bench_signed_readings(report: GasReport, smart_meter: Any, operator: Any, relayer: Any, chain: Any) -> dict[str, int]:
    """submitSignedReadings at 1, 10 and 100 readings (first, and steady: in a new interval), sent by
    `relayer`, an account with no role, then submitPackedSignedReadings of the same 100 meters; then
    an interval each of unsigned submitReadings and submitPackedReadings batches of those meters for
    comparison. `operator`: SmartMeter's OPERATOR_ROLE and GATEWAY_ROLE. Registers 111 fresh meters,
    each with its own device key. Returns the steady per-reading figures at each size ("signed1" ...),
    the packed signed one ("signedPacked100") and the unsigned ones ("unsigned100", "unsignedPacked100").
    About 125 transactions.
    """
    feed = SignedMeterFeed(smart_meter, operator, chain)
    figures: dict[str, int] = {}
    keys: list[Any] = []
    for size in BATCH_SIZES:
        keys = feed.register(size)
        first = smart_meter.submitSignedReadings([e.as_tuple() for e in feed.signed(keys)], sender=relayer).gas_used
        steady = smart_meter.submitSignedReadings([e.as_tuple() for e in feed.signed(keys)], sender=relayer).gas_used
        figures[f"signed{size}"] = steady // size
        report.add(
            f"submitSignedReadings x{size}, per reading",
            steady // size,
            BUDGET_SIGNED_PER_READING_AT_100 if size == BUDGETED_BATCH_SIZE else None,
            f"relayed by an account without a role; first readings: {first // size:,}",
        )
    packed_signed = b"".join(entry.packed() for entry in feed.signed(keys))
    figures["signedPacked100"] = smart_meter.submitPackedSignedReadings(packed_signed, sender=relayer).gas_used // len(keys)
    unsigned = smart_meter.submitReadings(*feed.unsigned(keys), sender=operator).gas_used // len(keys)
    figures["unsigned100"] = unsigned
    meters, readings = feed.unsigned(keys)
    packed = smart_meter.submitPackedReadings(pack_readings(zip(meters, readings, strict=True)), sender=operator).gas_used // len(keys)
    figures["unsignedPacked100"] = packed
    report.add(
        "submitPackedSignedReadings x100, per reading",
        figures["signedPacked100"],
        BUDGET_SIGNED_PER_READING_AT_100,
        f"the signature adds {figures['signedPacked100'] - packed:,} per reading to a packed gateway reading",
    )
    report.add(
        "submitReadings x100 (same meters), per reading",
        unsigned,
        None,
        f"the signature adds {figures['signed100'] - unsigned:,} per reading in the ABI's encoding",
    )
    report.add(
        "submitPackedReadings x100 (same meters), per reading",
        packed,
        None,
        f"{unsigned - packed:,} less than the ABI's encoding (41 bytes a reading instead of 192)",
    )
    return figures
