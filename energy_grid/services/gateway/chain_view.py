"""What the gateway needs to know of the chain: SmartMeter's rules, each meter's record, and when
a reading's market clears.

A meter's view is the chain's record advanced by the readings the gateway has accepted and not yet
seen on chain, so that the next message is checked against the reading before it, wherever that
reading is. A reading the chain refused here keeps its place in that run: the meter's reading signed
again under its nonce is checked against the reading before it (`before`), and the meter's later
readings are taken meanwhile and wait behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from web3 import Web3
from web3.exceptions import ContractCustomError

from energy_grid.chain.events import unpacked
from energy_grid.contracts.client import GridClient, GridError
from energy_grid.contracts.sender import TransactionSender, prepare
from energy_grid.contracts.structs import MeterReading
from energy_grid.services.gateway.messages import MeterView
from energy_grid.services.gateway.store import ReadingState, ReadingStore
from energy_grid.services.ingest import read_limits
from energy_grid.services.reading_rules import ChainLimits
from energy_grid.signing.packed_readings import SIGNED_READING_BYTES
from energy_grid.signing.readings import SignedReading

# How far back a reading the chain holds is looked for when a meter publishes it again under a nonce
# the gateway has no record of: a day of blocks at one a second.
ON_CHAIN_LOOKBACK_BLOCKS = 86_400


@dataclass(frozen=True)
class OnChain:
    """Where the chain holds a reading."""

    tx_hash: str
    block_number: int


def _plain(value: Any) -> Any:
    """Decoded ABI values (structs as dicts in ABI order) as plain tuples, to compare with
    SignedReading.as_tuple()."""
    if isinstance(value, dict):
        return tuple(_plain(item) for item in value.values())
    if isinstance(value, list | tuple):
        return tuple(_plain(item) for item in value)
    return value


def _carries(function: str, arguments: dict[str, Any], signed: SignedReading) -> bool:
    """Whether a call of SmartMeter's `function` with `arguments` carries `signed`, in either form."""
    if function == "submitSignedReadings":
        return signed.as_tuple() in _plain(arguments["signedReadings"])
    if function == "submitPackedSignedReadings":
        packed = bytes(arguments["packed"])
        entries = (packed[i : i + SIGNED_READING_BYTES] for i in range(0, len(packed), SIGNED_READING_BYTES))
        try:
            return signed.packed() in entries
        except ValueError:  # a reading that does not pack is never sent packed
            return False
    return False


class ChainView:
    """SmartMeter's rules and the meters' records, read once and kept up to date by the gateway."""

    def __init__(self, client: GridClient, store: ReadingStore) -> None:
        self.client = client
        self.store = store
        self.smart_meter = client["SmartMeter"]
        self._reader = TransactionSender(client, manual_mining=False)
        self.limits = read_limits(client)
        self._records: dict[str, MeterView] = {}  # each meter's record on chain, as last read
        self._meters: dict[str, MeterView] = {}  # the same, advanced by the readings stored beyond it
        market = client.smart_meter.reading_market()
        self.reading_market = None if int(market, 16) == 0 else market
        if self.reading_market is not None:
            metered = client.w3.eth.contract(address=Web3.to_checksum_address(market), abi=client["EnergyAuction"].abi)
            self.period_length_s = int(metered.functions.periodLength().call())
            self.reading_deadline_s = int(metered.functions.readingDeadline().call())
        else:
            self.period_length_s = 0
            self.reading_deadline_s = 0

    def limits_at(self, now_s: int) -> ChainLimits:
        return replace(self.limits, now_s=now_s)

    def meter(self, meter: str) -> MeterView:
        """The meter's view; an unknown meter is read again each time (it may be registered since)."""
        view = self._meters.get(meter)
        if view is None:
            record = self._read(meter)
            view = self._with_stored(meter, record) if record.registered else record
            if record.registered:
                self._records[meter], self._meters[meter] = record, view
        return view

    def before(self, meter: str, nonce: int) -> MeterView:
        """The meter as a reading under `nonce`, whose earlier reading the chain refused here, is
        checked against: the chain's record when `nonce` is its next nonce there (or below: taken),
        else that record advanced to the stored reading before `nonce`."""
        view = self.meter(meter)
        record = self._records.get(meter, view)
        previous = self.store.get(meter, nonce - 1) if nonce > record.next_nonce else None
        if previous is None:
            return record
        return replace(record, next_nonce=nonce, latest=MeterReading(*previous.signed.reading))

    def prefetch(self, meters: Iterable[str]) -> None:
        """Reads the records of the meters it does not know yet in three JSON-RPC batches, rather
        than three calls each as their messages come: a gateway that starts, or forgets every meter
        after the chain went back, on a thousand meters would spend minutes on them. When one of
        them is unknown to SmartMeter (getMeter reverts, and so the batch), `meter` reads them one
        by one as before."""
        unknown = sorted({Web3.to_checksum_address(m) for m in meters} - set(self._meters))
        if not unknown:
            return
        latest_reading = "getLatestReading(address)"
        try:
            infos = self._reader.read([prepare(self.smart_meter, "getMeter", m) for m in unknown])
            nonces = self._reader.read([prepare(self.smart_meter, "nonces", m) for m in unknown])
            readings = self._reader.read([prepare(self.smart_meter, "getLatestReading", m, signature=latest_reading) for m in unknown])
        except GridError:
            return
        records = {
            # MeterInfo: owner, regionId, active, ...
            meter: MeterView(registered=True, active=bool(info[2]), next_nonce=int(nonce), latest=MeterReading(*reading))
            for meter, info, nonce, reading in zip(unknown, infos, nonces, readings, strict=True)
        }
        self.store.drop_refused_below((meter, record.next_nonce) for meter, record in records.items())
        for meter, record in records.items():
            self._records[meter], self._meters[meter] = record, self._with_stored(meter, record)

    def advance(self, signed: SignedReading) -> None:
        """The gateway accepted `signed`: the meter's next message must follow it (a reading signed
        again under a nonce inside the run leaves the view as it is)."""
        view = self.meter(signed.meter)
        if signed.nonce >= view.next_nonce:
            self._meters[signed.meter] = replace(view, next_nonce=signed.nonce + 1, latest=MeterReading(*signed.reading))

    def forget(self, meter: str) -> None:
        """Reads the meter's record from the chain again next time (after the chain refused one of
        its readings, or went back in time)."""
        self._records.pop(meter, None)
        self._meters.pop(meter, None)

    def forget_all(self) -> None:
        """Reads every meter's record from the chain again (after the chain went back)."""
        self._records.clear()
        self._meters.clear()

    def reading_on_chain(self, signed: SignedReading) -> OnChain | None:
        """The transaction that put this very reading on chain, within ON_CHAIN_LOOKBACK_BLOCKS; None if
        there is none. A meter's readings are strictly later one by one, so at most one of its
        ReadingAccepted has the reading's time; the signed reading is then looked for, byte for byte, in
        that transaction's batch of signed readings."""
        head = int(self.client.w3.eth.block_number)
        event = self.smart_meter.events.ReadingAccepted()
        logs = event.get_logs(argument_filters={"meter": signed.meter}, from_block=max(0, head - ON_CHAIN_LOOKBACK_BLOCKS), to_block=head)
        for entry in logs:
            if unpacked("ReadingAccepted", entry["args"])["timestamp"] != signed.reading[0]:
                continue
            transaction = self.client.w3.eth.get_transaction(entry["transactionHash"])
            try:
                function, arguments = self.smart_meter.decode_function_input(transaction["input"])
            except ValueError:  # not a call of SmartMeter's
                return None
            if _carries(function.fn_name, arguments, signed):
                return OnChain("0x" + bytes(entry["transactionHash"]).hex(), int(entry["blockNumber"]))
            return None
        return None

    def clearing_time_s(self, reading_timestamp_s: int) -> int | None:
        """When the market a reading at `reading_timestamp_s` trades in clears, after which the
        reading no longer trades there; None without a reading market."""
        if not self.period_length_s:
            return None
        period = reading_timestamp_s // self.period_length_s
        return (period + 1) * self.period_length_s + self.reading_deadline_s

    def _read(self, meter: str) -> MeterView:
        functions = self.smart_meter.functions
        try:
            info = functions.getMeter(meter).call()
        except ContractCustomError:  # MeterUnknown: the only way getMeter reverts
            return MeterView(registered=False, active=False, next_nonce=0, latest=MeterReading(0, 0, 0, 0, 0))
        chain_nonce = int(functions.nonces(meter).call())
        latest = self.client.smart_meter.latest_reading(meter)
        self.store.drop_refused_below([(meter, chain_nonce)])
        return MeterView(registered=True, active=bool(info.active), next_nonce=chain_nonce, latest=latest)

    def _with_stored(self, meter: str, record: MeterView) -> MeterView:
        """The chain's record of the meter advanced by the readings the gateway holds beyond it without
        a gap; the latest reading is the last of them the chain has not refused."""
        run = self.store.run_from(meter, record.next_nonce)
        if not run:
            return record
        kept = [stored for stored in run if stored.state != ReadingState.REFUSED]
        latest = MeterReading(*kept[-1].signed.reading) if kept else record.latest
        return replace(record, next_nonce=run[-1].signed.nonce + 1, latest=latest)
