"""Names the command line's options share with the session they build: here, not in the package's
`__init__`, so that the session reads them without importing the command line back."""

from __future__ import annotations

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
RPC_URL_ENV = "RPC_URL"
