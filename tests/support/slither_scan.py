"""One Slither pass for test_static_analysis.py: compile once, parse once, then the detectors and the
token-standard checks on that one parse.

    python tests/support/slither_scan.py REQUEST.json RESULT.json

REQUEST names the solc standard-JSON input, the solc executable, the path filter, the excluded
detectors and the (contract, erc) pairs to check; RESULT receives the detector results (the
unused-suppression record included, as `slither --warn-unused-ignores --json` writes it), each
token's conformance results (as `slither-check-erc --json` writes them) and the analysed sources.

The detectors are chosen and run by slither's own command-line code (its argument parser over the
same flags as `slither --filter-paths … --exclude … --warn-unused-ignores`), so the findings and
the inline suppressions honoured are those of the command line. What changes is the work: the
standard-JSON input asks solc for the syntax trees only (Slither reads nothing else, and code
generation is most of a compilation), and one parse serves the detectors and every ERC check
instead of one parse each.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from crytic_compile import CryticCompile
from slither import __main__ as cli
from slither.tools.erc_conformance.__main__ import ADDITIONAL_CHECKS
from slither.tools.erc_conformance.erc.ercs import generic_erc_checks
from slither.utils.erc import ERCS


def scan(request: dict[str, Any]) -> dict[str, Any]:
    compilation = CryticCompile(
        request["standard_json"], compile_force_framework="solc-json", solc=request["solc"]
    )
    sources = sorted(
        filename.relative for unit in compilation.compilation_units.values() for filename in unit.source_units
    )

    detector_classes, printer_classes = cli.get_detectors_and_printers()
    flags = [
        "slither",
        request["standard_json"],
        "--filter-paths", request["filter_paths"],
        "--exclude", ",".join(request["excluded_detectors"]),
        "--warn-unused-ignores",
    ]
    saved_argv, sys.argv = sys.argv, flags
    try:
        args = cli.parse_args(detector_classes, printer_classes)
    finally:
        sys.argv = saved_argv
    slither, detector_results, _, _ = cli.process_single(
        compilation, args, cli.choose_detectors(args, detector_classes), []
    )

    erc_results: dict[str, dict[str, list]] = {}
    for contract_name, erc in request["erc_checks"]:
        (contract,) = slither.get_contract_from_name(contract_name)
        results: dict[str, list] = defaultdict(list)
        standard = ERCS[erc.upper()]
        generic_erc_checks(contract, standard[0], standard[1], results)
        if erc.upper() in ADDITIONAL_CHECKS:
            ADDITIONAL_CHECKS[erc.upper()](contract, results)
        erc_results[contract_name] = dict(results)

    return {"detectors": detector_results, "erc": erc_results, "sources": sources}


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    request_file, result_file = sys.argv[1:]
    result = scan(json.loads(Path(request_file).read_text()))
    Path(result_file).write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
