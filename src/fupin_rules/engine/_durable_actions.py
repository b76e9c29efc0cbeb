"""Actions of the durable-rules wrapper: what an action sees, and the functions durable calls.

Part of :mod:`fupin_rules.engine._durable` (which re-exports the public names): the
:class:`ActionContext` a rule's action receives, a registered ruleset (:class:`_Compiled`,
:class:`RulesetHandle`) and the one-argument functions durable-rules calls for rules, which route
each match to the session now open on the ruleset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fupin_rules.engine._durable_host import _ID_STRINGS
from fupin_rules.engine._durable_spec import Action, FactValue, _checked_payload
from fupin_rules.errors import EngineError

if TYPE_CHECKING:
    from fupin_rules.engine._durable import Session


class ActionContext:
    """What an action sees: the matched facts, the session's context, and ``assert_fact``.

    ``facts`` are the matched facts in pattern order (without ``id``/``sid``), ``fact_ids`` their
    ids as returned by ``assert_fact``, ``rule`` the rule name, ``context`` the object given to
    :meth:`DurableEngine.session`. Valid only while the action runs.
    """

    __slots__ = ("_closed", "_closure", "_session", "fact_ids", "facts", "rule")

    def __init__(
        self,
        session: Session,
        closure: Any,
        rule: str,
        facts: tuple[dict[str, FactValue], ...],
        fact_ids: tuple[int, ...],
    ) -> None:
        self._session = session
        self._closure = closure
        self._closed = False
        self.rule = rule
        self.facts = facts
        self.fact_ids = fact_ids

    @property
    def fact(self) -> dict[str, FactValue]:
        """The first (for a one-pattern rule: the only) matched fact."""
        return self.facts[0]

    @property
    def context(self) -> Any:
        """The caller's per-session object (``DurableEngine.session(handle, context=...)``)."""
        return self._session.context

    def assert_fact(self, fact: Mapping[str, FactValue]) -> int:
        """Assert a derived fact into the current session; return its id.

        Rules it matches fire after this action returns, before the outer ``assert_fact`` does.
        Raises ValueError for a bad fact, EngineError if the engine refuses it.
        """
        if self._closed:
            raise EngineError(f"rule {self.rule!r}: ActionContext used after its action returned")
        session = self._session
        payload = _checked_payload(fact, f"rule {self.rule!r} asserting {fact!r}")
        fid = session._next_id()
        payload["id"] = _ID_STRINGS[fid]
        payload["sid"] = session._sid
        try:
            self._closure.assert_fact(payload)
        except BaseException as exc:
            error = session._engine_error(exc, payload)
            session._record_failure(error, self.rule)
            if error is exc:
                raise
            raise error from exc
        return fid


class _Compiled:
    """A registered ruleset: its durable object, session id and the session now open on it.

    ``broken`` is set when a session of it was interrupted (KeyboardInterrupt, SystemExit) or
    failed inside durable-rules itself: durable's state for the session id may then be left
    half-updated (the marker fact already observed, an action started and never completed), and
    every later session on it would fail. The next :meth:`DurableEngine.session` registers the
    same rules again under a fresh name and session id (``rebuilds`` counts them).
    """

    __slots__ = (
        "active",
        "broken",
        "build",
        "name",
        "rebuilds",
        "rule_names",
        "sid",
        "signature",
    )

    def __init__(self, name: str, sid: str, signature: Any, rule_names: tuple[str, ...]) -> None:
        self.name = name
        self.sid = sid
        self.signature = signature
        self.rule_names = rule_names
        self.active: Session | None = None
        self.broken = False
        self.rebuilds = 0
        self.build: Callable[[], dict[str, Any]] = dict


@dataclass(frozen=True, slots=True)
class RulesetHandle:
    """A ruleset registered with one :class:`DurableEngine` (pass it to ``engine.session``)."""

    name: str
    rule_names: tuple[str, ...]
    _compiled: _Compiled = field(repr=False, compare=False)


def _make_action(compiled: _Compiled, rule: str, names: tuple[str, ...], action: Action) -> Any:
    """The one-argument function durable calls for ``rule``: runs ``action`` with a context."""
    single = names == ("m",)

    def run(c: Any) -> None:
        session = compiled.active
        if session is None or session._failure is not None:
            return
        raw = c._m  # fresh dicts decoded by durable for this action only: strip them in place
        if single:
            fact = raw["m"]
            ids: tuple[int, ...] = (int(fact.pop("id")),)
            del fact["sid"]
            facts: tuple[dict[str, FactValue], ...] = (fact,)
        else:
            facts = tuple(raw[n] for n in names)
            ids = tuple(int(f.pop("id")) for f in facts)
            for f in facts:
                del f["sid"]
        ctx = ActionContext(session, c, rule, facts, ids)
        try:
            action(ctx)
        except BaseException as exc:
            session._record_failure(exc, rule)
        finally:
            ctx._closed = True

    return run


def _make_marker(compiled: _Compiled) -> Any:
    def run(c: Any) -> None:
        session = compiled.active
        if session is not None:
            session._marker_fired = True

    return run


def _ignore(c: Any) -> None:  # pragma: no cover - the catch-all never fires
    return None
