"""The node's defaults, shared by the command line's global options and the session they build.

They live here rather than in the package's `__init__` so that the session reads them without
importing the command line back; this module imports nothing, so `--help` stays light.
"""

from __future__ import annotations

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
RPC_URL_ENV = "RPC_URL"
