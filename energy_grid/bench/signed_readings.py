"""Gas of meter-signed readings relayed by anyone: SmartMeter.submitSignedReadings at 1,
10 and 100 readings, against the unsigned gateway batch (submitReadings) under the same load.

What a signed reading adds to a gateway reading, per entry: the ecrecover precompile (3,000) and its
staticcall, two keccak256 (the reading, the SignedReading) and the EIP-712 digest (~500), about 200
more calldata bytes (v, r, s, nonce, deadline: ~1,600 at 16 gas per non-zero byte), and the nonce,
which rides in the meter's record the reading rewrites anyway (a warm rewrite of that slot, ~200).
A first reading costs more in either kind of batch: the owner's EnergyToken balance slot is fresh.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account

from energy_grid.bench.core import GasReport, next_interval
from energy_grid.domain.units import FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE
from energy_grid.signing.readings import sign_reading

# Budget: a gateway batch of 100 meter-signed readings at most 55,000 gas per reading.
# The unsigned gateway batch costs ~44,600 per reading (a fresh load-profile slot 22,100, the meter
# record rewritten 5,000, the event, the mint's share); the signature adds ~6,700 (see above, plus
# the ABI decoding of the larger entries), so ~51,300.
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
        next_interval(self.chain)
        ts = self.chain.pending_timestamp
        out = []
        for key in keys:
            self.registers_wh[key.address] += EXPORT_PER_READING_WH
            register = self.registers_wh[key.address]
            out.append((key.address, (ts, register, register, FREQUENCY_NOMINAL_MILLIHZ, VOLTAGE_NOMINAL_PER_MILLE)))
        return out

    def signed(self, keys: list[Any]) -> list[tuple[Any, ...]]:
        """One signed reading per meter, in the next interval."""
        entries = []
        for key, (meter, reading) in zip(keys, self._next_readings(keys), strict=True):
            nonce = self.nonces[meter]
            entry = sign_reading(
                key.key, self.chain_id, self.smart_meter.address, nonce, reading[0] + SIGNATURE_VALIDITY_SECONDS, reading
            )
            self.nonces[meter] = nonce + 1
            entries.append(entry.as_tuple())
        return entries

    def unsigned(self, keys: list[Any]) -> tuple[list[str], list[tuple[int, ...]]]:
        """One gateway reading per meter, in the next interval."""
        pairs = self._next_readings(keys)
        return [meter for meter, _ in pairs], [reading for _, reading in pairs]


def bench_signed_readings(report: GasReport, smart_meter: Any, operator: Any, relayer: Any, chain: Any) -> dict[str, int]:
    """submitSignedReadings at 1, 10 and 100 readings (first, and steady: in a new interval), sent by
    `relayer`, an account with no role; then an interval of unsigned submitReadings batches of the
    same 100 meters for comparison. `operator`: SmartMeter's OPERATOR_ROLE and GATEWAY_ROLE. Registers 111 fresh meters,
    each with its own device key. Returns the steady per-reading figures at each size and the
    unsigned one at 100 ("unsigned100"). About 120 transactions.
    """
    feed = SignedMeterFeed(smart_meter, operator, chain)
    figures: dict[str, int] = {}
    keys: list[Any] = []
    for size in BATCH_SIZES:
        keys = feed.register(size)
        first = smart_meter.submitSignedReadings(feed.signed(keys), sender=relayer).gas_used
        steady = smart_meter.submitSignedReadings(feed.signed(keys), sender=relayer).gas_used
        figures[f"signed{size}"] = steady // size
        report.add(
            f"submitSignedReadings x{size}, per reading",
            steady // size,
            BUDGET_SIGNED_PER_READING_AT_100 if size == BUDGETED_BATCH_SIZE else None,
            f"relayed by an account without a role; first readings: {first // size:,}",
        )
    unsigned = smart_meter.submitReadings(*feed.unsigned(keys), sender=operator).gas_used // len(keys)
    figures["unsigned100"] = unsigned
    report.add(
        "submitReadings x100 (same meters), per reading",
        unsigned,
        None,
        f"the signature adds {figures['signed100'] - unsigned:,} per reading",
    )
    return figures
