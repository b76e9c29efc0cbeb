"""The batch engine exports its public API only; its helpers for scale/ stay internal."""

from __future__ import annotations

import fupin_rules.batch as batch
from fupin_rules.batch import engine


def test_engine_exports_only_what_the_batch_package_promises() -> None:
    assert set(engine.__all__) <= set(batch.__all__)
    for internal in ("prepare", "rule_error", "rule_roots", "RULE_ERRORS", "CHARTED_KINDS"):
        assert internal not in engine.__all__
