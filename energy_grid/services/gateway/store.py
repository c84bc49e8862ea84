"""The gateway's durable store: every reading it accepted, written to disk before the MQTT message
is acknowledged, the transactions that carry them, and what became of both on chain.

A reading moves through these states:

- ACCEPTED: checked and stored; the broker may forget the message;
- SUBMITTED: in a transaction the gateway signed, recorded here *before* it is sent, under the
  gateway account's nonce; a stuck transaction is replaced by another at the same nonce with a
  higher fee, so a nonce may have several signed transactions, of which at most one is mined;
- ON_CHAIN: in a mined block (the transaction and block are kept for the `accepted` answer);
- REFUSED: the chain refused it after the gateway had accepted it (the operator deactivated the
  meter meanwhile, its deadline passed while the chain was down, …); the reason is kept. The nonce
  is free for the meter's reading signed again, and the meter's later readings wait behind it (held)
  until that one is stored: SmartMeter takes a meter's nonces only in order.

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
    sent_at_block INTEGER NOT NULL,
    carries TEXT                  -- [[meter, nonce], ...] when it carries only some of its nonce's readings
);
CREATE INDEX IF NOT EXISTS transactions_by_nonce ON transactions (tx_nonce);
CREATE INDEX IF NOT EXISTS readings_refused ON readings (meter, nonce) WHERE state = 'refused';
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
    # The (meter, nonce) of the readings it carries when that is not every reading of its nonce (a
    # replacement that left out readings whose deadline passed while it was stuck); None: all of them.
    carries: tuple[tuple[str, int], ...] | None = None


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
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(transactions)")}
        if "carries" not in columns:  # a store written before replacements could leave readings out
            self._db.execute("ALTER TABLE transactions ADD COLUMN carries TEXT")

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

    def run_from(self, meter: str, nonce: int) -> list[StoredReading]:
        """The meter's stored readings from `nonce` on without a gap, in nonce order: those beyond the
        chain's record when `nonce` is the meter's next nonce there. A refused one is in the run, as
        the nonce its reading signed again will take."""
        rows = self._db.execute(
            "SELECT nonce, signed, received_at_s, state, tx_hash, block_number FROM readings WHERE meter = ? AND nonce >= ? "
            "ORDER BY nonce",
            (meter, nonce),
        ).fetchall()
        run: list[StoredReading] = []
        for expected, row in enumerate(rows, start=nonce):
            if row[0] != expected:
                break
            run.append(StoredReading(_from_json(row[1]), row[2], ReadingState(row[3]), row[4], row[5]))
        return run

    # ------------------------------------------------------------------ readings out

    def waiting(self, limit: int | None = None) -> list[SignedReading]:
        """Readings accepted and not yet in a transaction, each meter's in nonce order, meters by
        their oldest reading; without the held ones (behind a refused reading of their meter)."""
        return self._accepted("NOT EXISTS", limit)

    def held(self) -> list[SignedReading]:
        """Readings accepted behind a refused reading of their meter: they wait for that nonce's
        reading signed again, or for their own deadline."""
        return self._accepted("EXISTS")

    def _accepted(self, behind_refused: str, limit: int | None = None) -> list[SignedReading]:
        rows = self._db.execute(
            "SELECT signed FROM readings AS r WHERE state = ? AND "
            + behind_refused
            + " (SELECT 1 FROM readings AS g WHERE g.meter = r.meter AND g.state = 'refused' AND g.nonce < r.nonce) "
            "ORDER BY MIN(received_at_s) OVER (PARTITION BY meter), meter, nonce LIMIT ?",
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
        """Records a replacement of a stuck transaction (same nonce, higher fee) before it is sent; it
        may carry fewer of the nonce's readings (`tx.carries`)."""
        with self._transaction() as db:
            self._insert_transaction(db, tx)

    @staticmethod
    def _insert_transaction(db: sqlite3.Connection, tx: StoredTransaction) -> None:
        db.execute(
            "INSERT INTO transactions (tx_hash, tx_nonce, raw, max_fee_per_gas, max_priority_fee_per_gas, gas_limit, sent_at_block, "
            "carries) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                tx.tx_hash, tx.tx_nonce, tx.raw, tx.max_fee_per_gas, tx.max_priority_fee_per_gas, tx.gas_limit, tx.sent_at_block,
                None if tx.carries is None else json.dumps([list(key) for key in tx.carries]),
            ),
        )  # fmt: skip

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
            "SELECT tx_hash, tx_nonce, raw, max_fee_per_gas, max_priority_fee_per_gas, gas_limit, sent_at_block, carries "
            "FROM transactions WHERE tx_nonce = ? ORDER BY rowid",
            (tx_nonce,),
        ).fetchall()
        return [
            StoredTransaction(
                tx_hash, tx_nonce, raw, max_fee, max_tip, gas_limit, sent_at_block,
                None if carries is None else tuple((meter, nonce) for meter, nonce in json.loads(carries)),
            )
            for tx_hash, tx_nonce, raw, max_fee, max_tip, gas_limit, sent_at_block, carries in rows
        ]  # fmt: skip

    def highest_tx_nonce(self) -> int | None:
        row = self._db.execute("SELECT MAX(tx_nonce) FROM transactions").fetchone()
        return None if row[0] is None else int(row[0])

    # ------------------------------------------------------------------ what the chain did

    def mark_on_chain(
        self, tx_nonce: int, tx_hash: str, block_number: int, carries: tuple[tuple[str, int], ...] | None = None
    ) -> list[SignedReading]:
        """The readings of `tx_nonce` that `tx_hash`, mined at `block_number`, carries (`carries`, or
        all): the ones to answer `accepted` for. Readings of the nonce it left out stay sent until
        `reopen` puts them back in the queue."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT meter, nonce, signed FROM readings WHERE tx_nonce = ? AND state = ? ORDER BY meter, nonce",
                (tx_nonce, ReadingState.SUBMITTED),
            ).fetchall()
            mined = [row for row in rows if carries is None or (row[0], row[1]) in carries]
            db.executemany(
                "UPDATE readings SET state = ?, tx_hash = ?, block_number = ? WHERE meter = ? AND nonce = ?",
                [(ReadingState.ON_CHAIN, tx_hash, block_number, row[0], row[1]) for row in mined],
            )
        return [_from_json(row[2]) for row in mined]

    def found_on_chain(self, meter: str, nonce: int, tx_hash: str, block_number: int) -> None:
        """A reading the chain refused here is on chain after all, put there another way (another
        relayer, the meter's own transaction): its row says where, and holds back no later reading."""
        with self._transaction() as db:
            db.execute(
                "UPDATE readings SET state = ?, tx_hash = ?, block_number = ?, reason = NULL WHERE meter = ? AND nonce = ? "
                "AND state IN (?, ?)",
                (ReadingState.ON_CHAIN, tx_hash, block_number, meter, nonce, ReadingState.ACCEPTED, ReadingState.REFUSED),
            )

    def reopen(self, tx_nonce: int) -> list[SignedReading]:
        """A transaction that reverted, or whose nonce another transaction took, or the readings the
        mined version of it left out: they go back to ACCEPTED, to be checked and sent again."""
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

    def drop_refused_below(self, next_nonces: Iterable[tuple[str, int]]) -> None:
        """Each (meter, the meter's next nonce on chain): its refused readings below that nonce, whose
        nonces the chain has filled another way, are forgotten, so that they hold back no later reading."""
        with self._transaction() as db:
            db.executemany(
                "DELETE FROM readings WHERE meter = ? AND state = 'refused' AND nonce < ?", [(meter, nonce) for meter, nonce in next_nonces]
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
