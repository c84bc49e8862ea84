"""The gateway's durable store: every reading it accepted, written to disk before the MQTT message
is acknowledged, the transactions that carry them, and what became of both on chain.

A reading moves through these states:

- ACCEPTED: checked and stored; the broker may forget the message;
- SUBMITTED: in a transaction the gateway signed, recorded here *before* it is sent, under the
  gateway account's nonce; a stuck transaction is replaced by another at the same nonce with a
  higher fee, so a nonce may have several signed transactions, of which at most one is mined;
- ON_CHAIN: in a mined block (the transaction and block are kept for the `accepted` answer);
- REFUSED: the chain refused it after the gateway had accepted it (the operator deactivated the
  meter meanwhile, its deadline passed while the chain was down, …); the reason is kept.

A gateway killed at any moment restarts from this file: an acknowledged reading is never lost,
since it was on disk first; a transaction is never signed twice for the same readings, since the
signed bytes are kept and broadcast again rather than re-made; and a reading is never applied
twice, since SmartMeter takes each meter's nonces in order, once.

SQLite in WAL mode with `synchronous=FULL`: a commit has reached the disk when the call returns.
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
    received_at_s INTEGER NOT NULL,  -- the chain's time when the gateway accepted it
    state TEXT NOT NULL,
    tx_nonce INTEGER,             -- the gateway account's nonce of the transaction carrying it
    tx_hash TEXT,                 -- the mined transaction
    block_number INTEGER,
    reason TEXT,                  -- why the chain refused it
    PRIMARY KEY (meter, nonce)
);
CREATE INDEX IF NOT EXISTS readings_by_state ON readings (state, received_at_s);
CREATE INDEX IF NOT EXISTS readings_by_tx_nonce ON readings (tx_nonce);
CREATE TABLE IF NOT EXISTS transactions (
    tx_hash TEXT PRIMARY KEY,
    tx_nonce INTEGER NOT NULL,
    raw TEXT NOT NULL,            -- the signed transaction, broadcast again after a restart
    max_fee_per_gas INTEGER NOT NULL,
    max_priority_fee_per_gas INTEGER NOT NULL,
    gas_limit INTEGER NOT NULL,
    sent_at_block INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS transactions_by_nonce ON transactions (tx_nonce);
"""


class ReadingState(StrEnum):
    ACCEPTED = "accepted"
    SUBMITTED = "submitted"
    ON_CHAIN = "on-chain"
    REFUSED = "refused"


@dataclass(frozen=True)
class StoredReading:
    signed: SignedReading
    received_at_s: int
    state: ReadingState
    tx_hash: str | None
    block_number: int | None


@dataclass(frozen=True)
class StoredTransaction:
    """A signed transaction of the gateway's, as sent (or about to be)."""

    tx_hash: str
    tx_nonce: int
    raw: str
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    gas_limit: int
    sent_at_block: int


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
    """The accepted readings of one gateway and its transactions, in one SQLite file."""

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

    # ------------------------------------------------------------------ readings in

    def accept(self, signed: SignedReading, received_at_s: int) -> bool:
        """Stores a checked reading; on disk when this returns. False when the store holds that
        meter's nonce already and the chain has not refused it (the broker redelivered a message whose
        acknowledgement was lost): nothing changes then, and the message may be acknowledged again."""
        return self.accept_many([signed], received_at_s) == 1

    def accept_many(self, readings: Iterable[SignedReading], received_at_s: int) -> int:
        """Stores checked readings in one commit (one disk flush for a burst of messages); returns
        how many were stored. A reading under a nonce the chain refused an earlier one under takes
        that nonce's row, since the refused reading will never be on chain; a nonce held by any other
        reading is left as it is."""
        with self._transaction() as db:
            added = 0
            for signed in readings:
                cursor = db.execute(
                    "INSERT INTO readings (meter, nonce, signed, received_at_s, state) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (meter, nonce) DO UPDATE SET signed = excluded.signed, received_at_s = excluded.received_at_s, "
                    "state = excluded.state, tx_nonce = NULL, tx_hash = NULL, block_number = NULL, reason = NULL "
                    "WHERE readings.state = ?",
                    (signed.meter, signed.nonce, _to_json(signed), received_at_s, ReadingState.ACCEPTED, ReadingState.REFUSED),
                )
                added += cursor.rowcount
            return added

    def get(self, meter: str, nonce: int) -> StoredReading | None:
        row = self._db.execute(
            "SELECT signed, received_at_s, state, tx_hash, block_number FROM readings WHERE meter = ? AND nonce = ?",
            (meter, nonce),
        ).fetchone()
        return None if row is None else StoredReading(_from_json(row[0]), row[1], ReadingState(row[2]), row[3], row[4])

    def latest(self, meter: str) -> StoredReading | None:
        """The meter's stored reading with the highest nonce that the chain has not refused: the
        next message must follow it."""
        row = self._db.execute(
            "SELECT signed, received_at_s, state, tx_hash, block_number FROM readings WHERE meter = ? AND state != ? "
            "ORDER BY nonce DESC LIMIT 1",
            (meter, ReadingState.REFUSED),
        ).fetchone()
        if row is None:
            return None
        return StoredReading(_from_json(row[0]), row[1], ReadingState(row[2]), row[3], row[4])

    # ------------------------------------------------------------------ readings out

    def waiting(self, limit: int | None = None) -> list[SignedReading]:
        """Readings accepted and not yet in a transaction, each meter's in nonce order, meters by
        their oldest reading."""
        rows = self._db.execute(
            "SELECT signed FROM readings WHERE state = ? ORDER BY received_at_s, meter, nonce LIMIT ?",
            (ReadingState.ACCEPTED, -1 if limit is None else limit),
        ).fetchall()
        return [_from_json(row[0]) for row in rows]

    def submit(self, readings: Iterable[SignedReading], tx: StoredTransaction) -> None:
        """Records that `tx` carries `readings`, before it is sent: a gateway killed between the two
        finds the signed bytes and broadcasts them again instead of signing anew."""
        with self._transaction() as db:
            self._insert_transaction(db, tx)
            db.executemany(
                "UPDATE readings SET state = ?, tx_nonce = ? WHERE meter = ? AND nonce = ?",
                [(ReadingState.SUBMITTED, tx.tx_nonce, r.meter, r.nonce) for r in readings],
            )

    def replace(self, tx: StoredTransaction) -> None:
        """Records a replacement of a stuck transaction (same nonce, higher fee) before it is sent."""
        with self._transaction() as db:
            self._insert_transaction(db, tx)

    @staticmethod
    def _insert_transaction(db: sqlite3.Connection, tx: StoredTransaction) -> None:
        db.execute(
            "INSERT INTO transactions (tx_hash, tx_nonce, raw, max_fee_per_gas, max_priority_fee_per_gas, gas_limit, sent_at_block) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (tx.tx_hash, tx.tx_nonce, tx.raw, tx.max_fee_per_gas, tx.max_priority_fee_per_gas, tx.gas_limit, tx.sent_at_block),
        )

    def in_flight(self) -> dict[int, list[SignedReading]]:
        """Readings in transactions signed and not yet seen mined, by the account nonce."""
        flights: dict[int, list[SignedReading]] = {}
        for tx_nonce, signed in self._db.execute(
            "SELECT tx_nonce, signed FROM readings WHERE state = ? ORDER BY tx_nonce, meter, nonce", (ReadingState.SUBMITTED,)
        ):
            flights.setdefault(tx_nonce, []).append(_from_json(signed))
        return flights

    def transactions(self, tx_nonce: int) -> list[StoredTransaction]:
        """The signed transactions at `tx_nonce`, the latest (highest fee) last."""
        rows = self._db.execute(
            "SELECT tx_hash, tx_nonce, raw, max_fee_per_gas, max_priority_fee_per_gas, gas_limit, sent_at_block "
            "FROM transactions WHERE tx_nonce = ? ORDER BY rowid",
            (tx_nonce,),
        ).fetchall()
        return [StoredTransaction(*row) for row in rows]

    def highest_tx_nonce(self) -> int | None:
        row = self._db.execute("SELECT MAX(tx_nonce) FROM transactions").fetchone()
        return None if row[0] is None else int(row[0])

    # ------------------------------------------------------------------ what the chain did

    def mark_on_chain(self, tx_nonce: int, tx_hash: str, block_number: int) -> list[SignedReading]:
        """The readings of `tx_nonce`, mined in `tx_hash` at `block_number`: the ones to answer
        `accepted` for."""
        with self._transaction() as db:
            rows = db.execute("SELECT signed FROM readings WHERE tx_nonce = ? AND state = ?", (tx_nonce, ReadingState.SUBMITTED)).fetchall()
            db.execute(
                "UPDATE readings SET state = ?, tx_hash = ?, block_number = ? WHERE tx_nonce = ? AND state = ?",
                (ReadingState.ON_CHAIN, tx_hash, block_number, tx_nonce, ReadingState.SUBMITTED),
            )
        return [_from_json(row[0]) for row in rows]

    def reopen(self, tx_nonce: int) -> list[SignedReading]:
        """A transaction that reverted, or whose nonce another transaction took: its readings go
        back to ACCEPTED, to be checked and sent again."""
        with self._transaction() as db:
            rows = db.execute("SELECT signed FROM readings WHERE tx_nonce = ? AND state = ?", (tx_nonce, ReadingState.SUBMITTED)).fetchall()
            db.execute(
                "UPDATE readings SET state = ?, tx_nonce = NULL WHERE tx_nonce = ? AND state = ?",
                (ReadingState.ACCEPTED, tx_nonce, ReadingState.SUBMITTED),
            )
        return [_from_json(row[0]) for row in rows]

    def refuse(self, meter: str, nonce: int, reason: str) -> None:
        """The chain refuses this waiting reading: it leaves the queue with its reason. A reading sent
        or on chain meanwhile stays as it is: its transaction answers for it."""
        with self._transaction() as db:
            db.execute(
                "UPDATE readings SET state = ?, tx_nonce = NULL, reason = ? WHERE meter = ? AND nonce = ? AND state = ?",
                (ReadingState.REFUSED, reason, meter, nonce, ReadingState.ACCEPTED),
            )

    def unmine_from(self, tx_nonce: int) -> list[SignedReading]:
        """The gateway account's next nonce on chain is `tx_nonce`: the readings recorded as mined in
        transactions at or above it are not on chain after all (the chain went back) and are in flight
        again, in the transactions that carried them, whose signed bytes the store keeps."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT signed FROM readings WHERE state = ? AND tx_nonce >= ? ORDER BY tx_nonce, meter, nonce",
                (ReadingState.ON_CHAIN, tx_nonce),
            ).fetchall()
            db.execute(
                "UPDATE readings SET state = ?, tx_hash = NULL, block_number = NULL WHERE state = ? AND tx_nonce >= ?",
                (ReadingState.SUBMITTED, ReadingState.ON_CHAIN, tx_nonce),
            )
        return [_from_json(row[0]) for row in rows]

    def counts(self) -> dict[ReadingState, int]:
        """How many readings are in each state."""
        found = dict.fromkeys(ReadingState, 0)
        for state, count in self._db.execute("SELECT state, COUNT(*) FROM readings GROUP BY state"):
            found[ReadingState(state)] = int(count)
        return found
