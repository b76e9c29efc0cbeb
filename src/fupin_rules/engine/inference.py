"""The inference engine: each policy version compiled to its own durable-rules ruleset.

How a unit (one household with its members and records, one village, or the county) runs:

1. one *subject fact* per subject is asserted into the unit's session
   (``{"t": "s", "e": <entity kind>, "n": <index>}``);
2. a ``derive:<entity>`` rule fires on it, computes the subject's derived variables (the
   stratum's aggregates enter here as facts) and each rule's scope (``applies_if``), and
   asserts one *derived fact* per group of rules
   (``{"t": "d", "e": kind, "g": group, "n": index, "a<j>": "y"|"n"}``) — the chain;
3. every policy rule is one durable rule matching the derived facts of its entity and group
   whose ``a<j>`` says the rule applies; its action evaluates the rule's named conditions and
   records the explained finding. Rules out of scope are not fired: their not-applicable
   finding is recorded by the derive action.

The field guide's traps (docs/engine.md) are handled here: a private host without background
threads, every engine call behind one lock, a small reused session id deleted after each unit,
short sequential fact ids within a session (checked collision-free), no fact field named by a
domain key, exceptions stored by actions in the session state turned into
:class:`~fupin_rules.errors.EngineError`, and at most :data:`MAX_RULES_PER_GROUP` rules testing
one fact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fupin_rules.engine.context import Context, RecordSubject
from fupin_rules.engine.evaluate import Scope, evaluate_rule, evaluate_scope
from fupin_rules.engine.plan import Unit
from fupin_rules.errors import EngineError, EngineUnavailableError
from fupin_rules.findings.model import Finding
from fupin_rules.policy.model import Policy, Rule

__all__ = ["MAX_FACTS_PER_SESSION", "MAX_RULES_PER_GROUP", "InferenceEngine", "durable_available"]

#: a fact matching more than 64 rule tests raised error 303; stay well below
MAX_RULES_PER_GROUP = 32
#: fact ids "1".."N" are verified to have distinct 32-bit FNV-1 hashes up to this N
MAX_FACTS_PER_SESSION = 20_000
_SID = "1"
_LOCK = threading.RLock()
_host: Any = None
_registered: dict[str, _CompiledPolicy] = {}


def durable_available() -> bool:
    """True when durable-rules' C extension imports on this Python."""
    try:
        import durable.engine  # noqa: F401
    except ImportError:
        return False
    return True


def _fnv1_32(text: str) -> int:
    h = 0x811C9DC5
    for byte in text.encode():
        h = (h * 0x01000193) & 0xFFFFFFFF
        h ^= byte
    return h


def _check_ids() -> None:
    """Fact ids are hashed to 32 bits by durable-rules; ours must not collide (field guide)."""
    hashes = {_fnv1_32(str(i)) for i in range(1, MAX_FACTS_PER_SESSION + 1)}
    if len(hashes) != MAX_FACTS_PER_SESSION:  # pragma: no cover - a property of the constants
        raise EngineError("sequential fact ids collide under FNV-1 32; lower MAX_FACTS_PER_SESSION")


def _get_host() -> Any:
    global _host
    if _host is None:
        try:
            from durable.engine import Host
        except ImportError as exc:
            raise EngineUnavailableError(
                "the inference engine needs durable-rules, whose C extension does not import on "
                "this Python (3.13+: install it with "
                "CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject pip install durable-rules==2.0.28, "
                "or use engine='reference' / 'batch')"
            ) from exc

        class _QuietHost(Host):  # type: ignore[misc]
            """A host without the dispatch/timer threads (they crashed processes: field guide)."""

            def _run(self) -> None:
                return None

        _check_ids()
        _host = _QuietHost()
    return _host


class _Session:
    """The per-unit state the actions work on (the engine is single-threaded behind the lock)."""

    __slots__ = ("ctx", "findings", "next_id", "scopes", "subjects")

    def __init__(
        self, ctx: Context, subjects: list[tuple[RecordSubject, tuple[Rule, ...]]]
    ) -> None:
        self.ctx = ctx
        self.subjects = subjects
        self.findings: list[Finding] = []
        self.scopes: dict[tuple[str, str], Scope] = {}
        self.next_id = 0

    def fact_id(self) -> str:
        self.next_id += 1
        if self.next_id > MAX_FACTS_PER_SESSION:
            raise EngineError(f"more than {MAX_FACTS_PER_SESSION} facts in one session")
        return str(self.next_id)


class _CompiledPolicy:
    """One policy version as a registered ruleset, and the session its actions serve."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.name = f"fupin:{policy.id}:{policy.version}:{policy.content_hash[:16]}"
        self.current: _Session | None = None
        self.groups: dict[str, int] = {}  # entity -> number of rule groups
        self.rule_groups: dict[str, list[list[Rule]]] = {}
        definition: dict[str, Any] = {}
        by_entity: dict[str, list[Rule]] = {}
        for rule in policy.rules:
            by_entity.setdefault(rule.entity, []).append(rule)
        for entity, rules in by_entity.items():
            groups = [
                rules[i : i + MAX_RULES_PER_GROUP]
                for i in range(0, len(rules), MAX_RULES_PER_GROUP)
            ]
            self.groups[entity] = len(groups)
            definition[f"derive:{entity}"] = {
                "all": [{"m": {"$and": [{"t": "s"}, {"e": entity}]}}],
                "run": self._derive_action(entity, len(groups)),
            }
            for g, group in enumerate(groups):
                for j, rule in enumerate(group):
                    definition[f"rule:{rule.id}"] = {
                        "all": [
                            {
                                "m": {
                                    "$and": [
                                        {"t": "d"},
                                        {"e": entity},
                                        {"g": str(g)},
                                        {f"a{j}": "y"},
                                    ]
                                }
                            }
                        ],
                        "run": self._rule_action(rule),
                    }
            self.rule_groups[entity] = groups
        self.definition = definition

    def _session(self) -> _Session:
        if self.current is None:  # pragma: no cover - actions only run inside evaluate_unit
            raise EngineError("durable-rules fired an action outside a unit")
        return self.current

    def _derive_action(self, entity: str, n_groups: int) -> Callable[[Any], None]:
        def derive(c: Any) -> None:
            session = self._session()
            n = c.m.n
            subject, _ = session.subjects[int(n)]
            ctx = session.ctx
            for var in ctx.policy.variables_for(entity):
                ctx.derived(subject, var)
            for g, group in enumerate(self.rule_groups[entity]):
                fact = {"id": session.fact_id(), "t": "d", "e": entity, "g": str(g), "n": n}
                for j, rule in enumerate(group):
                    # the rule's scope decides whether the Rete network routes the fact to it
                    scope = evaluate_scope(rule, subject, ctx)
                    if scope is not None and scope[0] is False:
                        fact[f"a{j}"] = "n"
                        session.findings.append(evaluate_rule(rule, subject, ctx, scope))
                    else:
                        fact[f"a{j}"] = "y"
                        if scope is not None:
                            session.scopes[(n, rule.id)] = scope
                if "y" in fact.values():  # a fact no rule matches would raise NotHandled
                    c.assert_fact(fact)

        return derive

    def _rule_action(self, rule: Rule) -> Callable[[Any], None]:
        def fire(c: Any) -> None:
            session = self._session()
            n = c.m.n
            subject, _rules = session.subjects[int(n)]
            scope = session.scopes.pop((n, rule.id), None)
            session.findings.append(evaluate_rule(rule, subject, session.ctx, scope))

        return fire


class InferenceEngine:
    """Evaluates units through durable-rules; the same findings as the reference engine."""

    name = "inference"

    def __init__(self) -> None:
        with _LOCK:
            _get_host()

    def _compiled(self, policy: Policy) -> _CompiledPolicy:
        key = policy.ref + policy.content_hash
        compiled = _registered.get(key)
        if compiled is None:
            compiled = _CompiledPolicy(policy)
            _get_host().register_rulesets({compiled.name: compiled.definition})
            _registered[key] = compiled
        return compiled

    def evaluate_unit(self, unit: Unit, ctx: Context) -> list[Finding]:
        """Run one unit in a fresh session; raise EngineError if any action failed."""
        with _LOCK:
            host = _get_host()
            compiled = self._compiled(ctx.policy)
            session = _Session(ctx, list(unit.work))
            compiled.current = session
            try:
                for n, (subject, _rules) in enumerate(session.subjects):
                    if subject.kind not in compiled.groups:
                        continue
                    state = self._assert(
                        host,
                        compiled.name,
                        {
                            "id": session.fact_id(),
                            "sid": _SID,
                            "t": "s",
                            "e": subject.kind,
                            "n": str(n),
                        },
                    )
                    if isinstance(state, dict) and state.get("exception"):
                        raise EngineError(
                            f"{unit.owner.kind} {unit.owner.key}: a rule action failed: "
                            f"{_first_line(state['exception'])}"
                        )
            finally:
                compiled.current = None
                host.delete_state(compiled.name, _SID)
            return session.findings

    @staticmethod
    def _assert(host: Any, ruleset: str, fact: dict[str, str]) -> Any:
        from durable.engine import MessageNotHandledException, MessageObservedException

        try:
            return host.assert_fact(ruleset, fact)
        except MessageObservedException as exc:
            raise EngineError(
                f"durable-rules rejected fact id {fact['id']} as already observed: {exc}"
            ) from exc
        except MessageNotHandledException as exc:
            raise EngineError(f"no rule handles fact {fact}: {exc}") from exc


def _first_line(text: str) -> str:
    head = text.split(", traceback", 1)[0]
    return head.replace("exception caught ", "", 1)
