"""The meter agent's outbox: every reading it signed and the gateway has not yet answered, on disk
before it is published, so that a power cut (or kill -9) loses none and the same signed bytes are
published again after the restart.

SQLite in WAL mode with `synchronous=FULL`, as the gateway's store: a reading is on the disk when
`add` returns. The file also keeps the meter's nonce sequence (the next nonce, the last reading
signed) and whose it is: an outbox is bound to one meter, chain and SmartMeter, and refuses to open
for another (a configuration copied from a neighbour's device must not sign over its nonces).

The nonces: a reading takes the next nonce and raises it by one. A reading the gateway refused for
good leaves its nonce free on chain (SmartMeter never saw it), so `drop` gives that nonce to the
reading behind it, and each later one moves down by one, signed again (`resign`); a reading refused
because its nonce is taken on chain (`nonce-used`) is dropped alone, and the nonces behind it stay.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from energy_grid.signing.readings import Reading

SCHEMA = """
CREATE TABLE IF NOT EXISTS meter (
    id INTEGER PRIMARY KEY CHECK (id = 0),  -- one row: whose outbox this is
    chain_id INTEGER NOT NULL,
    smart_meter TEXT NOT NULL,
    meter TEXT NOT NULL,
    next_nonce INTEGER NOT NULL,
    last_reading TEXT                     -- the last reading signed, JSON [timestamp, import, export, mHz, per mille]
);
CREATE TABLE IF NOT EXISTS readings (
    nonce INTEGER PRIMARY KEY,
    reading TEXT NOT NULL,                -- JSON [timestamp, import Wh, export Wh, mHz, per mille]
    deadline INTEGER NOT NULL,
    digest TEXT NOT NULL,                 -- the EIP-712 digest signed, which the gateway's answers name
    payload BLOB NOT NULL                 -- the signed message, published as it is
);
"""


class OutboxError(Exception):
    """The outbox file cannot be used (another meter's, or not an outbox); one sentence."""


@dataclass(frozen=True)
class OutboxEntry:
    """A signed reading waiting for the gateway's answer."""

    nonce: int
    reading: Reading
    deadline: int
    digest: str
    payload: bytes


# Signs `reading` under `nonce`: the agent's signer, handed to the outbox for the readings it moves.
Resign = Callable[[int, Reading], OutboxEntry]


class Outbox:
    def __init__(self, path: Path, chain_id: int, smart_meter: str, meter: str, first_nonce: Callable[[], int]) -> None:
        """Opens (or creates) the outbox of `meter`; a new one starts at `first_nonce()`."""
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
            row = self._db.execute("SELECT chain_id, smart_meter, meter FROM meter").fetchone()
        except sqlite3.Error as err:
            raise OutboxError(f"{path} is not a meter agent's outbox: {err}") from None
        if row is None:
            self._db.execute(
                "INSERT INTO meter (id, chain_id, smart_meter, meter, next_nonce) VALUES (0, ?, ?, ?, ?)",
                (chain_id, smart_meter, meter, first_nonce()),
            )
        elif tuple(row) != (chain_id, smart_meter, meter):
            raise OutboxError(
                f"the outbox {path} is meter {row[2]}'s for SmartMeter {row[1]} on chain {row[0]}, not this configuration's: "
                "give this meter an outbox of its own"
            )

    def close(self) -> None:
        self._db.close()

    @property
    def next_nonce(self) -> int:
        return int(self._db.execute("SELECT next_nonce FROM meter").fetchone()[0])

    def last_reading(self) -> Reading | None:
        """The last reading signed (answered or not): the registers a new one must not go below."""
        (text,) = self._db.execute("SELECT last_reading FROM meter").fetchone()
        return None if text is None else _reading(text)

    def add(self, entry: OutboxEntry) -> None:
        """Writes a new reading under the next nonce, which moves one on."""
        with self._transaction():
            self._insert(entry)
            self._db.execute("UPDATE meter SET next_nonce = ?, last_reading = ?", (entry.nonce + 1, json.dumps(entry.reading)))

    def entries(self) -> list[OutboxEntry]:
        """Every reading waiting for an answer, in nonce order."""
        rows = self._db.execute("SELECT nonce, reading, deadline, digest, payload FROM readings ORDER BY nonce")
        return [OutboxEntry(nonce, _reading(text), deadline, digest, bytes(payload)) for nonce, text, deadline, digest, payload in rows]

    def get(self, nonce: int) -> OutboxEntry | None:
        return next((entry for entry in self.entries() if entry.nonce == nonce), None)

    def replace(self, entry: OutboxEntry) -> None:
        """The reading under `entry.nonce` signed again (a later deadline)."""
        with self._transaction():
            self._db.execute("DELETE FROM readings WHERE nonce = ?", (entry.nonce,))
            self._insert(entry)

    def remove(self, nonce: int) -> None:
        """An answered reading: on chain, or refused because its nonce is taken."""
        self._db.execute("DELETE FROM readings WHERE nonce = ?", (nonce,))

    def drop(self, nonce: int, resign: Resign) -> list[OutboxEntry]:
        """Drops a reading refused for good, whose nonce is still free on chain: each reading behind it
        is signed again one nonce lower, and the next nonce goes back by one. The moved readings are
        returned (to be published)."""
        with self._transaction():
            behind = [entry for entry in self.entries() if entry.nonce > nonce]
            self._db.execute("DELETE FROM readings WHERE nonce >= ?", (nonce,))
            moved = [resign(entry.nonce - 1, entry.reading) for entry in behind]
            for entry in moved:
                self._insert(entry)
            self._db.execute("UPDATE meter SET next_nonce = next_nonce - 1")
        return moved

    def _insert(self, entry: OutboxEntry) -> None:
        self._db.execute(
            "INSERT INTO readings (nonce, reading, deadline, digest, payload) VALUES (?, ?, ?, ?, ?)",
            (entry.nonce, json.dumps(entry.reading), entry.deadline, entry.digest, entry.payload),
        )

    def _transaction(self) -> sqlite3.Connection:
        """One commit for several statements (the connection's context manager commits or rolls back)."""
        self._db.execute("BEGIN IMMEDIATE")
        return self._db


def _reading(text: str) -> Reading:
    timestamp, consumption, production, frequency, voltage = json.loads(text)
    return (timestamp, consumption, production, frequency, voltage)


__all__ = ["Outbox", "OutboxEntry", "OutboxError", "Resign"]
