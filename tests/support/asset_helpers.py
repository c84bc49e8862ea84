"""Shared by the energy-asset test modules: meters, minting, metadata decoding."""

from __future__ import annotations

import base64
import json
from enum import IntEnum
from typing import Any

from eth_account import Account

from energy_grid.domain.enums import EnergyType

REGION = 1  # conftest ASSET_REGION: grid_operator's
OTHER_REGION = 2  # conftest ASSET_OTHER_REGION: other_region_operator's
DAY = 86_400
CAPACITY_W = 5_000  # a 5 kW rooftop PV array
MAX_CAPACITY_W = 25 * 10**9
MAGNITUDE = 2**64
MAX_SHARES = 10**18
MAX_REVENUE = 2**112 - 1  # EnergyVault.MAX_RESERVE: what one vault balance holds


TYPE_NAMES = ["Solar", "Wind", "Hydro", "Nuclear", "Geothermal", "Biomass", "Natural gas"]


class Kind(IntEnum):
    INSPECTION = 0
    PREVENTIVE = 1
    CORRECTIVE = 2
    COMPONENT_REPLACEMENT = 3
    UPGRADE = 4


def new_meter(smart_meter: Any, admin: Any, owner: Any, region: int = REGION) -> str:
    """A fresh meter address registered to `owner` in `region`, installation registers 0 (its first
    reading already counts)."""
    meter = Account.create().address
    smart_meter.registerMeter(meter, owner, region, 0, 0, sender=admin)
    return meter


def mint(nft, operator, owner, meter, chain, asset_type=EnergyType.SOLAR, capacity_w=CAPACITY_W, region=REGION):
    """Mints an asset commissioned 30 days ago; returns (tokenId, commissionedAt, tx)."""
    commissioned_at = chain.pending_timestamp - 30 * DAY
    tx = nft.mintAsset(owner, asset_type, capacity_w, region, commissioned_at, meter, sender=operator)
    return tx.return_value, commissioned_at, tx


def decode_token_uri(uri: str) -> dict:
    prefix = "data:application/json;base64,"
    assert uri.startswith(prefix), uri
    return json.loads(base64.b64decode(uri[len(prefix) :]))
