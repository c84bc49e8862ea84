"""The event index itself: how far it has followed the chain."""

from __future__ import annotations

import logging

from energy_grid.api import schemas
from energy_grid.contracts.client import GridClient
from energy_grid.index import EventIndex, Follower

log = logging.getLogger(__name__)

CAUGHT_UP_LAG_BLOCKS = 2  # the follower polls: a block or two behind a live chain is in step


def index_status(index: EventIndex, follower: Follower, client: GridClient) -> schemas.IndexStatusOut:
    try:
        head: int | None = int(client.w3.eth.block_number)
    except Exception as err:  # the node may be down: answer from what the follower saw last
        log.warning("index status: the node did not answer: %s", err)
        head = follower.head_block
    indexed = index.indexed_block()
    lag = None if head is None else head - (-1 if indexed is None else indexed)
    caught_up = lag is not None and lag <= CAUGHT_UP_LAG_BLOCKS
    # From the deployment's first block: what is left of the catch-up, for a progress bar.
    start = follower.start_block
    done = 0 if indexed is None else indexed - start + 1
    total = None if head is None else max(head - start + 1, 1)
    if head is None:
        message = "the node does not answer"
    elif caught_up:
        message = "in step with the chain"
    else:
        message = f"indexing: block {start if indexed is None else indexed} of {head}"
    return schemas.IndexStatusOut(
        chainId=client.chain_id,
        headBlock=head,
        indexedBlock=indexed,
        lagBlocks=lag,
        caughtUp=caught_up,
        progress=1.0 if caught_up or total is None else min(max(done / total, 0.0), 1.0),
        message=message,
        skippedEvents=follower.skipped_events,
    )
