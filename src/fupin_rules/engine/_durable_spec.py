"""Rule specifications and fact checks of the durable-rules wrapper.

Part of :mod:`fupin_rules.engine._durable` (which re-exports the public names): patterns
(:class:`Match`), rules and rulesets as data, the network limits a ruleset is checked against
before durable-rules sees it, and the checks that keep fact values to what durable-rules reads
correctly (strings, and integers within ±:data:`MAX_INT`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from fupin_rules.engine._durable_actions import ActionContext

MAX_FACT_PROPERTIES: Final = 200
"""durable refuses facts with more than about 240 properties; we stop well before."""
MAX_INT: Final = 2**53 - 1
"""Largest integer magnitude accepted in a fact (exactly representable everywhere)."""
MAX_PATTERNS_PER_KIND: Final = 48
"""Distinct patterns testing one fact kind (more than 64 matching alpha tests: error 303)."""
MAX_TESTS_PER_FIRST_TEST: Final = 400
"""Distinct tests under one first test (512 children of one node hang the process)."""
MAX_PATTERNS_PER_RULE: Final = 8
"""Patterns joined by one rule (a join is a cartesian product inside the session)."""

FactValue = str | int
"""A value in a fact: a string, or an integer within ±MAX_INT (never bool or float)."""

_RESERVED_FIELDS: Final = frozenset({"id", "sid"})
_RESERVED_PREFIX: Final = "__fupin"
_MARKER_FIELD: Final = "__fupin_open"
_NEVER_FIELD: Final = "__fupin_never"
_MARKER_RULE: Final = "__fupin_marker"
_CATCH_ALL_RULE: Final = "__fupin_catch_all"

# Field names already validated (keys repeat across facts: keeps the hot path to one set lookup).
_GOOD_KEYS: set[str] = {"kind"}


# --------------------------------------------------------------------------------------------
# Rule specifications


def _check_field_name(name: object, where: str) -> str:
    if type(name) is not str or not name.isidentifier():
        raise ValueError(f"{where}: field name {name!r} is not an identifier")
    if name in _RESERVED_FIELDS:
        raise ValueError(
            f"{where}: field name {name!r} is reserved by durable-rules (fact and session "
            "identity); the wrapper sets it, rename the domain field"
        )
    if name.startswith(_RESERVED_PREFIX):
        raise ValueError(f"{where}: field names starting with {_RESERVED_PREFIX!r} are reserved")
    return name


@dataclass(frozen=True, slots=True, init=False)
class Match:
    """A pattern: the fact's fields equal these strings; ``kind`` is required.

    ``Match(kind="finding", rule="r1")`` matches facts whose ``kind`` is ``"finding"`` and whose
    ``rule`` is ``"r1"`` (other fields are ignored). Values are compared as strings only.
    """

    fields: tuple[tuple[str, str], ...]
    """``(name, value)`` pairs, ``kind`` first, then sorted by name."""

    def __init__(self, **fields: str) -> None:
        if "kind" not in fields:
            raise ValueError(f"Match{fields!r}: a pattern must name the fact kind (kind=...)")
        for name, value in fields.items():
            _check_field_name(name, "Match")
            if type(value) is not str:
                raise ValueError(
                    f"Match: field {name!r} must be compared with a string, got {value!r} "
                    '(encode booleans as "true"/"false")'
                )
        rest = sorted((k, v) for k, v in fields.items() if k != "kind")
        object.__setattr__(self, "fields", (("kind", fields["kind"]), *rest))

    @property
    def kind(self) -> str:
        """The fact kind this pattern tests."""
        return self.fields[0][1]

    def _definition(self) -> dict[str, Any]:
        if len(self.fields) == 1:
            return {"kind": self.kind}
        return {"$and": [{name: value} for name, value in self.fields]}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.fields)
        return f"Match({inner})"


Action = Callable[["ActionContext"], object]
"""A rule's action: called once per match with an :class:`ActionContext` (its result is ignored)."""


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule: ``when`` is a :class:`Match` or a sequence of them (a join of several facts).

    ``action(ctx)`` runs once for each fact (or combination of facts) matching; it may assert
    derived facts with ``ctx.assert_fact``. ``name`` must be unique in its ruleset.
    """

    name: str
    when: Match | Sequence[Match]
    action: Action

    @property
    def patterns(self) -> tuple[Match, ...]:
        """The rule's patterns in order (one for a simple rule)."""
        if isinstance(self.when, Match):
            return (self.when,)
        return tuple(self.when)


@dataclass(frozen=True, slots=True)
class RulesetSpec:
    """A ruleset: a unique name (policy id + version + content-hash prefix + purpose) and rules."""

    name: str
    rules: Sequence[RuleSpec] = field(default_factory=tuple)

    def signature(self) -> tuple[tuple[str, tuple[Match, ...]], ...]:
        """The rules' names and patterns (actions excluded): equal specs compile equally."""
        return tuple((rule.name, rule.patterns) for rule in self.rules)


def _validate_spec(spec: RulesetSpec) -> None:
    """Raise ValueError if the ruleset is malformed or would hit a durable-rules network limit."""
    name = spec.name
    if type(name) is not str or not name or not name.isprintable() or "$" in name:
        raise ValueError(
            f"ruleset name {name!r} must be a non-empty printable string without '$' "
            "(durable gives '$state'/'$flow' names a special meaning)"
        )
    seen: set[str] = set()
    patterns_by_kind: dict[str, set[Match]] = {}
    for rule in spec.rules:
        where = f"ruleset {name!r}, rule {rule.name!r}"
        if type(rule.name) is not str or not rule.name:
            raise ValueError(f"ruleset {name!r}: rule name {rule.name!r} must be a non-empty str")
        if rule.name in seen:
            raise ValueError(f"{where}: duplicate rule name")
        seen.add(rule.name)
        if not callable(rule.action):
            raise ValueError(f"{where}: action {rule.action!r} is not callable")
        patterns = rule.patterns
        if not patterns or not all(isinstance(p, Match) for p in patterns):
            raise ValueError(f"{where}: `when` must be a Match or a non-empty sequence of Match")
        if len(patterns) > MAX_PATTERNS_PER_RULE:
            raise ValueError(
                f"{where}: joins {len(patterns)} patterns; at most {MAX_PATTERNS_PER_RULE}"
            )
        for pattern in patterns:
            patterns_by_kind.setdefault(pattern.kind, set()).add(pattern)
    if len(patterns_by_kind) > MAX_TESTS_PER_FIRST_TEST:
        raise ValueError(
            f"ruleset {name!r} tests {len(patterns_by_kind)} distinct fact kinds; at most "
            f"{MAX_TESTS_PER_FIRST_TEST} (512 tests under one node hang durable-rules)"
        )
    for kind, patterns_of_kind in sorted(patterns_by_kind.items()):
        if len(patterns_of_kind) > MAX_PATTERNS_PER_KIND:
            raise ValueError(
                f"ruleset {name!r}: {len(patterns_of_kind)} distinct patterns test facts of kind "
                f"{kind!r}; at most {MAX_PATTERNS_PER_KIND} (a fact matching more than 64 tests "
                "makes durable-rules fail with error 303); split the rules over several rulesets"
            )
        tests = {test for p in patterns_of_kind for test in p.fields[1:]}
        if len(tests) > MAX_TESTS_PER_FIRST_TEST:
            raise ValueError(
                f"ruleset {name!r}: {len(tests)} distinct tests under kind == {kind!r}; at most "
                f"{MAX_TESTS_PER_FIRST_TEST} (512 tests under one node hang durable-rules)"
            )


# --------------------------------------------------------------------------------------------
# Facts


def _bad_value(key: str, value: object, where: str) -> ValueError:
    if isinstance(value, bool):
        hint = 'booleans are not accepted: encode them as the strings "true" / "false"'
    elif isinstance(value, float):
        hint = "floats are not accepted: use a string or a scaled integer (e.g. fen, not yuan)"
    elif isinstance(value, int):
        hint = f"integers must be within ±{MAX_INT}"
    else:
        hint = f"values must be str or int, not {type(value).__name__}"
    return ValueError(f"{where}: field {key!r} = {value!r}: {hint}")


def _checked_payload(fact: Mapping[str, FactValue], where: str) -> dict[str, Any]:
    """Copy ``fact`` into a new dict after validating keys and values (raises ValueError)."""
    if not isinstance(fact, Mapping):
        raise TypeError(f"{where}: a fact is a mapping, not {type(fact).__name__}")
    if len(fact) > MAX_FACT_PROPERTIES:
        raise ValueError(
            f"{where}: fact has {len(fact)} properties; at most {MAX_FACT_PROPERTIES} "
            "(durable-rules refuses large facts)"
        )
    payload: dict[str, Any] = {}
    good = _GOOD_KEYS
    for key, value in fact.items():
        if key not in good:
            _check_field_name(key, where)
            good.add(key)
        if type(value) is not str and not (type(value) is int and -MAX_INT <= value <= MAX_INT):
            raise _bad_value(key, value, where)
        payload[key] = value
    if type(payload.get("kind")) is not str:
        raise ValueError(f"{where}: every fact needs a string field 'kind', got {fact!r}")
    return payload
