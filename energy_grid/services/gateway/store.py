"""The gateway's durable store: every reading it accepted, written to disk before the MQTT message
is acknowledged, and what became of it on chain.

A reading moves through three states: ACCEPTED (checked and stored: the broker may forget the
message), SUBMITTED (in a transaction the gateway sent, whose hash is kept) and ON_CHAIN (in a mined
block). A gateway killed at any moment restarts from this file: an acknowledged reading is never
lost, since it was on disk first; and it is never applied twice, since SmartMeter takes each
meter's nonces in order once, and the gateway resends a SUBMITTED reading only after the chain
shows that nonce still open.

SQLite in WAL mode with `synchronous=FULL`: a commit has reached the disk when `accept` returns.
One connection per store; the gateway's loop is its only writer.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from energy_grid.signing.readings import SignedReading

SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    meter TEXT NOT NULL,          -- checksummed address
    nonce INTEGER NOT NULL,
    signed TEXT NOT NULL,         -- the SignedReading as JSON, exactly as it will be submitted
    received_at_s INTEGER NOT NULL,
    state TEXT NOT NULL,
    tx_hash TEXT,
    block_number INTEGER,
    PRIMARY KEY (meter, nonce)
);
CREATE INDEX IF NOT EXISTS readings_by_state ON readings (state, received_at_s);
"""


class ReadingState(StrEnum):
    ACCEPTED = "accepted"
    SUBMITTED = "submitted"
    ON_CHAIN = "on-chain"


@dataclass(frozen=True)
class StoredReading:
    signed: SignedReading
    received_at_s: int
    state: ReadingState
    tx_hash: str | None
    block_number: int | None


def _to_json(signed: SignedReading) -> str:
    return json.dumps(
        {
            "meter": signed.meter,
            "nonce": signed.nonce,
            "deadline": signed.deadline,
            "reading": list(signed.reading),
            "v": signed.v,
            "r": signed.r.hex(),
            "s": signed.s.hex(),
        }
    )


def _from_json(text: str) -> SignedReading:
    data = json.loads(text)
    timestamp, consumption, production, frequency, voltage = data["reading"]
    return SignedReading(
        meter=data["meter"],
        nonce=data["nonce"],
        deadline=data["deadline"],
        reading=(timestamp, consumption, production, frequency, voltage),
        v=data["v"],
        r=bytes.fromhex(data["r"]),
        s=bytes.fromhex(data["s"]),
    )


class ReadingStore:
    """The accepted readings of one gateway, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def accept(self, signed: SignedReading, received_at_s: int) -> bool:
        """Stores a checked reading; on disk when this returns. False when the store holds that
        meter's nonce already (the broker redelivered a message whose acknowledgement was lost):
        nothing changes then, and the message may be acknowledged again."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO readings (meter, nonce, signed, received_at_s, state) VALUES (?, ?, ?, ?, ?)",
                (signed.meter, signed.nonce, _to_json(signed), received_at_s, ReadingState.ACCEPTED),
            )
            return cursor.rowcount == 1

    def mark_submitted(self, readings: Iterable[SignedReading], tx_hash: str) -> None:
        """Records that `tx_hash` carries `readings`, before the transaction is sent: a gateway
        killed between the two finds the hash and asks the chain what became of it."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE readings SET state = ?, tx_hash = ? WHERE meter = ? AND nonce = ?",
                [(ReadingState.SUBMITTED, tx_hash, r.meter, r.nonce) for r in readings],
            )

    def mark_on_chain(self, tx_hash: str, block_number: int) -> list[SignedReading]:
        """The readings `tx_hash` carried, now in `block_number`: the ones to answer `accepted` for."""
        with self._transaction() as db:
            rows = db.execute("SELECT signed FROM readings WHERE tx_hash = ? AND state = ?", (tx_hash, ReadingState.SUBMITTED)).fetchall()
            db.execute(
                "UPDATE readings SET state = ?, block_number = ? WHERE tx_hash = ? AND state = ?",
                (ReadingState.ON_CHAIN, block_number, tx_hash, ReadingState.SUBMITTED),
            )
        return [_from_json(row[0]) for row in rows]

    def reopen(self, tx_hash: str) -> None:
        """A transaction that never made it into a block (dropped, or replaced by another at its
        account nonce): its readings go back to ACCEPTED, to be sent again."""
        with self._transaction() as db:
            db.execute(
                "UPDATE readings SET state = ?, tx_hash = NULL WHERE tx_hash = ? AND state = ?",
                (ReadingState.ACCEPTED, tx_hash, ReadingState.SUBMITTED),
            )

    def waiting(self, limit: int | None = None) -> list[SignedReading]:
        """Readings accepted and not yet in a transaction, oldest first, each meter's in nonce order."""
        rows = self._db.execute(
            "SELECT signed FROM readings WHERE state = ? ORDER BY received_at_s, meter, nonce LIMIT ?",
            (ReadingState.ACCEPTED, -1 if limit is None else limit),
        ).fetchall()
        return [_from_json(row[0]) for row in rows]

    def in_flight(self) -> dict[str, list[SignedReading]]:
        """Readings in transactions sent and not yet seen mined, by transaction hash."""
        flights: dict[str, list[SignedReading]] = {}
        for tx_hash, signed in self._db.execute(
            "SELECT tx_hash, signed FROM readings WHERE state = ? ORDER BY meter, nonce", (ReadingState.SUBMITTED,)
        ):
            flights.setdefault(tx_hash, []).append(_from_json(signed))
        return flights

    def latest(self, meter: str) -> StoredReading | None:
        """The meter's stored reading with the highest nonce, whatever its state: the next message
        must follow it."""
        row = self._db.execute(
            "SELECT signed, received_at_s, state, tx_hash, block_number FROM readings WHERE meter = ? ORDER BY nonce DESC LIMIT 1",
            (meter,),
        ).fetchone()
        if row is None:
            return None
        return StoredReading(_from_json(row[0]), row[1], ReadingState(row[2]), row[3], row[4])
