"""DelegateCalls.forward, through DelegateCallsHarness: a call the harness does not hold runs the target's
code on the harness's own storage, and its answer or its revert comes back byte for byte."""

from __future__ import annotations

from eth_utils import keccak

from support.helpers import reverts


def test_a_forwarded_call_runs_the_targets_code_on_the_callers_storage(project, admin):
    target = project.DelegateCallsTarget.deploy(sender=admin)
    harness = project.DelegateCallsHarness.deploy(target, sender=admin)
    through = project.DelegateCallsTarget.at(harness.address)
    through.store(42, sender=admin)
    assert through.stored() == (42, keccak(text="tag"))
    assert target.stored() == (0, keccak(text="tag"))  # the target's own storage is untouched
    with reverts(through.Refused, number=7):
        through.refuse(7)
