"""Whether every answer the gateway gave a meter was true, checked against the chain at rest.

- An `accepted` answer names the transaction that carried the reading: it is true when that
  transaction is on the chain, succeeded, and holds the meter's reading of the published reading's
  time (its ReadingAccepted event). An answer given for a block a reorganisation then dropped is
  false: the gateway must wait for its confirmation depth before it says `accepted`.
- A `rejected` answer to a meter's own reading (a nonce the hostile device sent nothing about) is
  true when the chain does not hold that meter's reading of that time, or holds another signature of
  it: a meter whose reading was refused `expired` signs it again, and the accepted answer names the
  digest of the one that landed. A reading refused and on chain anyway, as a republished reading
  answered `nonce-used`, is a false answer.

Answers to readings the monitor did not see published (the broker was down) cannot be checked and
are counted apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from energy_grid.chain.events import EventDecoder
from energy_grid.contracts.client import GridClient
from energy_grid.contracts.sender import TransactionSender
from energy_grid.live.soak.chain_facts import ChainFacts
from energy_grid.live.soak.monitor import Observed, ReadingKey
from energy_grid.services.gateway.messages import Rejected, parse_reading, readings_topic

RECEIPTS_CHUNK = 200


@dataclass
class AnswerCheck:
    accepted_checked: int = 0
    rejected_checked: int = 0
    unchecked: int = 0  # answers to readings the monitor did not see published
    false_answers: list[str] = field(default_factory=list)  # what each false answer said, and why it is false

    @property
    def checked(self) -> int:
        return self.accepted_checked + self.rejected_checked

    def as_json(self) -> dict[str, Any]:
        return {
            "acceptedChecked": self.accepted_checked,
            "rejectedChecked": self.rejected_checked,
            "unchecked": self.unchecked,
            "false": len(self.false_answers),
            "falseExamples": self.false_answers[:10],
        }


def check_answers(
    client: GridClient, chain_id: int, observed: Observed, facts: ChainFacts, touched: Iterable[ReadingKey] = ()
) -> AnswerCheck:
    """Checks every answer the monitor saw (module docstring); `touched`: the (meter, nonce) pairs
    the hostile device sent bad messages about, whose rejections are the device's."""
    check = AnswerCheck()
    times = _reading_times(chain_id, observed)
    carried = _readings_carried(client, set(observed.accepted_tx.values()))
    for key, tx_hash in observed.accepted_tx.items():
        if key not in times:
            check.unchecked += 1
            continue
        check.accepted_checked += 1
        meter, nonce = key
        if (meter, times[key]) not in carried.get(tx_hash.lower(), set()):
            check.false_answers.append(f"accepted {meter} nonce {nonce} in {tx_hash}: that transaction does not hold it on chain")
    hostile = set(touched)
    for rejection in observed.rejections:
        if rejection.nonce is None:
            continue  # an answer to a message with no nonce to read: the hostile device's
        key = (rejection.meter, rejection.nonce)
        if key in hostile:
            continue
        if key not in times:
            check.unchecked += 1
            continue
        check.rejected_checked += 1
        landed = observed.accepted_digest.get(key)
        if rejection.digest is not None and landed is not None and landed != rejection.digest:
            continue  # about a signature the meter replaced, not the one on chain
        if (rejection.meter, times[key]) in facts.on_chain_at:
            said = f"rejected {rejection.meter} nonce {rejection.nonce} ({rejection.reason})"
            check.false_answers.append(f"{said}: the chain holds that reading")
    return check


def _reading_times(chain_id: int, observed: Observed) -> dict[ReadingKey, int]:
    """Each own reading's time, from the payload the meter published."""
    times: dict[ReadingKey, int] = {}
    for (meter, nonce), payload in observed.payloads.items():
        try:
            times[(meter, nonce)] = parse_reading(readings_topic(chain_id, meter), payload, chain_id).reading[0]
        except Rejected:
            continue
    return times


def _readings_carried(client: GridClient, tx_hashes: set[str]) -> dict[str, set[tuple[str, int]]]:
    """By transaction (lowercase hash): the (meter, reading time) pairs of its ReadingAccepted events,
    for the transactions on the chain that succeeded."""
    sender = TransactionSender(client, manual_mining=False)
    decoder = EventDecoder(client["SmartMeter"], "ReadingAccepted")
    hashes = sorted(h for h in tx_hashes if h)
    carried: dict[str, set[tuple[str, int]]] = {}
    for start in range(0, len(hashes), RECEIPTS_CHUNK):
        chunk = hashes[start : start + RECEIPTS_CHUNK]
        for tx_hash, receipt in zip(chunk, sender.rpc_batch([("eth_getTransactionReceipt", [h]) for h in chunk]), strict=True):
            if receipt is None or int(receipt["status"], 16) != 1:
                continue
            readings = set()
            for log in receipt["logs"]:
                if decoder.matches(log):
                    args = decoder.decode(log)
                    readings.add((str(args["meter"]).lower(), int(args["timestamp"])))
            carried[tx_hash.lower()] = readings
    return carried


__all__ = ["AnswerCheck", "check_answers"]
