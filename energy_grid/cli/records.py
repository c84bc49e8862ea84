"""The contract wrappers' struct dataclasses as JSON-ready dicts, keyed as the command line prints them."""

from __future__ import annotations

import dataclasses
from enum import IntEnum
from typing import Any

from energy_grid.contracts.base import snake_case


def record(struct: Any) -> dict[str, Any]:
    """A struct dataclass (`energy_grid.contracts.structs`) as a dict with snake_case keys.

    A field whose Python name adds the unit its ABI name lacks keeps the snake case of the ABI name
    here (`total_reduction_achieved_w` prints as `total_reduction_achieved`), so that the command
    line's output keeps its keys. Enums print as their numbers and bytes as hex, as JSON carries them.
    """
    return {
        snake_case(field.metadata["abi"]) if "abi" in field.metadata else field.name: _plain(getattr(struct, field.name))
        for field in dataclasses.fields(struct)
    }


def _plain(value: Any) -> Any:
    if isinstance(value, IntEnum):
        return int(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value
