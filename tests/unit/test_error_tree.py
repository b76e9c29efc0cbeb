"""Everything the library raises on purpose is a FupinRulesError, with a message that teaches."""

from __future__ import annotations

from pathlib import Path

import pytest

from fupin_rules.batch.compiler import BatchUnsupportedError as FromCompiler
from fupin_rules.errors import (
    BatchUnsupportedError,
    EngineError,
    FupinRulesError,
    PolicyError,
    UnknownRuleError,
)
from fupin_rules.policy import load_policy

MINI = Path(__file__).parents[1] / "data" / "mini_policy"


def test_an_unknown_rule_id_is_a_library_error_with_did_you_mean() -> None:
    policy = load_policy(MINI)
    with pytest.raises(UnknownRuleError) as err:
        policy.rule("village.exit.standrd")
    assert isinstance(err.value, PolicyError) and isinstance(err.value, FupinRulesError)
    assert isinstance(err.value, KeyError)  # a rule looked up by id, as before
    # the message as is: not the repr a bare KeyError shows
    assert str(err.value) == (
        f"no rule 'village.exit.standrd' in {policy.ref}; did you mean 'village.exit.standard'?"
    )


def test_batch_unsupported_is_in_the_error_tree() -> None:
    assert FromCompiler is BatchUnsupportedError
    assert issubclass(BatchUnsupportedError, EngineError)
    assert issubclass(BatchUnsupportedError, NotImplementedError)  # the engines' RULE_ERRORS
