"""Contract structs as JSON-ready dicts with snake_case, unit-named keys."""

from __future__ import annotations

import re
from typing import Any

from hexbytes import HexBytes

# Unit spellings the contracts capitalise as words; folded first so `pricePerKWh` becomes
# `price_per_kwh` and `frequencyMilliHz` `frequency_millihz`, as the library names them in Python.
_UNITS = (("KWh", "Kwh"), ("MilliHz", "Millihz"), ("MilliDegrees", "Millidegrees"), ("MW", "Mw"), ("KW", "Kw"))
_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake(name: str) -> str:
    for spelled, folded in _UNITS:
        name = name.replace(spelled, folded)
    return _BOUNDARY.sub("_", name).lower()


def plain(value: Any) -> Any:
    """A value JSON can carry: bytes as hex, named tuples as dicts, lists element-wise."""
    if isinstance(value, bytes | HexBytes):
        return "0x" + bytes(value).hex()
    if hasattr(value, "_asdict"):
        return record(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)  # IntEnum-like values become plain ints
    return value


def record(struct: Any) -> dict[str, Any]:
    """A decoded struct (web3's named tuple) with snake_case keys."""
    return {snake(key): plain(value) for key, value in struct._asdict().items()}
