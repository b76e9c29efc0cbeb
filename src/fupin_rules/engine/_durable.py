"""A small, safe wrapper around durable-rules (the Rete engine behind the inference engine).

durable-rules has traps that lose data or crash the process (see the durable-rules field guide in
the project notes). This module is the only place that talks to it, and it defends against each:

* **Import**: durable is imported lazily; on Python 3.13 its C extension does not import and every
  entry point raises :class:`~fupin_rules.errors.EngineUnavailableError` (this module itself
  imports everywhere).
* **Background threads**: each :class:`DurableEngine` owns a private ``Host`` whose dispatch/timer
  threads are never started; every engine call runs behind one module-level :data:`ENGINE_LOCK`.
* **32-bit identities**: callers never choose ``id``/``sid``. Fact ids are short sequential numbers
  per session (``"1"``, ``"2"``, ...), session ids are short sequential numbers per ruleset; the
  engine hashes both with 32-bit FNV-1a (:func:`fnv1a_32`, the function in durable's C source),
  and the whole id range used is checked collision-free once (:func:`check_id_hashes`).
* **Live-session limit (1,024) and delete crashes**: one session id per ruleset, reused; its state
  is deleted when the ``with`` block exits; a no-op marker action fires first in every session so
  ``delete_state`` never meets a session in which no action fired (that segfaults).
* **Swallowed errors**: an exception in an action (even ``KeyboardInterrupt``) is re-raised to the
  caller of :meth:`Session.assert_fact` (as :class:`~fupin_rules.errors.EngineError`, or the
  original ``BaseException``), and the session is cleaned; ``MessageObservedException`` (an id
  collision, always a bug) becomes ``EngineError`` too.
* **Unmatched facts**: a catch-all pattern handles every fact, so no ``MessageNotHandledException``
  (it never fires an action, so it costs nothing).
* **Values**: fact values are strings or integers within ±(2**53 - 1) only; floats, NaN/inf,
  booleans, ``None`` and containers are rejected. Encode booleans as the strings ``"true"`` /
  ``"false"`` (durable matches ``True`` against ``1`` and ``1.0``) and decimals as scaled integers
  or strings. At most :data:`MAX_FACT_PROPERTIES` properties per fact.
* **Network limits**: a ruleset is refused (``ValueError``) when more than
  :data:`MAX_PATTERNS_PER_KIND` distinct patterns test one fact kind (a fact matching more than 64
  alpha tests at once fails with error 303) or more than :data:`MAX_TESTS_PER_FIRST_TEST` distinct
  tests sit under one first test (512 hangs the process).

Patterns are data: a :class:`Match` is an equality test on string fields and always names the
fact ``kind``; a rule's ``when`` is one ``Match`` or a sequence of them (a join: the rule fires
once for every combination of facts matching each pattern). Actions may assert derived facts
through :meth:`ActionContext.assert_fact`; chained rules have fired when the outer
:meth:`Session.assert_fact` returns.

Example::

    engine = DurableEngine()
    spec = RulesetSpec("county_2017:1.2:3fa9c0d1:eligibility", [
        RuleSpec("low_income", Match(kind="household", income_band="low"),
                 lambda ctx: ctx.assert_fact({"kind": "finding", "rule": "low_income"})),
        RuleSpec("both", [Match(kind="finding", rule="low_income"),
                          Match(kind="finding", rule="no_housing")],
                 lambda ctx: ctx.context.append("poor")),
    ])
    handle = engine.register(spec)
    found: list[str] = []
    with engine.session(handle, context=found) as s:
        s.assert_fact({"kind": "household", "income_band": "low"})

Sessions hold :data:`ENGINE_LOCK` from ``__enter__`` to ``__exit__`` (other threads wait); do not
wait inside a session for another thread that uses the engine. Use processes for parallelism.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final

from fupin_rules.errors import EngineError, EngineUnavailableError

__all__ = [
    "ENGINE_LOCK",
    "MAX_FACTS_PER_SESSION",
    "MAX_FACT_PROPERTIES",
    "MAX_INT",
    "MAX_PATTERNS_PER_KIND",
    "MAX_PATTERNS_PER_RULE",
    "MAX_RULESETS_PER_ENGINE",
    "MAX_TESTS_PER_FIRST_TEST",
    "Action",
    "ActionContext",
    "DurableEngine",
    "FactValue",
    "LiveSession",
    "Match",
    "RuleSpec",
    "RulesetHandle",
    "RulesetSpec",
    "Session",
    "check_id_hashes",
    "durable_available",
    "fnv1a_32",
    "interrupts_deferred",
]

ENGINE_LOCK: Final = threading.RLock()
"""Serialises every call into durable-rules in this process (its C core is not thread-safe)."""

MAX_FACTS_PER_SESSION: Final = 100_000
"""Fact ids ``"1"``..``"100000"`` (plus the marker's ``"0"``) are checked collision-free."""
MAX_RULESETS_PER_ENGINE: Final = 10_000
"""Session ids ``"1"``..``"10000"`` (one per ruleset) and their state ids are checked too."""
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
_FNV_OFFSET: Final = 0x811C9DC5
_FNV_PRIME: Final = 0x01000193

# Field names already validated (keys repeat across facts: keeps the hot path to one set lookup).
_GOOD_KEYS: set[str] = {"kind"}
# Fact id strings, index = id (the marker uses "0").
_ID_STRINGS: Final = tuple(str(i) for i in range(MAX_FACTS_PER_SESSION + 1))
_ids_checked = False


# --------------------------------------------------------------------------------------------
# durable import, host, identities


class _Durable:
    """The lazily imported pieces of durable-rules."""

    def __init__(self) -> None:
        try:
            import durable.engine as engine
        except ImportError as exc:  # 3.13: undefined symbol PyEval_CallObject; or not installed
            raise EngineUnavailableError(
                "the inference engine needs durable-rules 2.0.28, which does not import on "
                f"Python {sys.version_info.major}.{sys.version_info.minor} ({exc}). Its C extension "
                "uses PyEval_CallObject, removed in Python 3.13; build it with "
                "`CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject pip install "
                "durable-rules==2.0.28`, or use Python 3.11/3.12, or an engine that does not need "
                "durable-rules"
            ) from exc

        class _QuietHost(engine.Host):  # type: ignore[misc]
            """A Host that never starts its dispatch/timer threads (they crashed processes)."""

            def _run(self) -> None:
                return None

        class _SyncPromise(engine.Promise):  # type: ignore[misc]
            """Runs a one-argument action synchronously.

            durable's ``Promise.run`` builds a self-referencing ``timeout`` closure on every
            action: cyclic garbage that made the garbage collector the p99 latency. Our actions
            catch their own exceptions; this only guards against surprises. An interrupt
            (KeyboardInterrupt, SystemExit) that lands here propagates: the session's ruleset is
            then rebuilt before its next use (see ``_Compiled.broken``).
            """

            def run(self, c: Any, complete: Callable[[Any], None]) -> None:
                try:
                    self._func(c)
                except Exception as error:
                    c.s.exception = f"exception caught {error}"
                complete(None)

        self.host_class: type[Any] = _QuietHost
        self.promise: Callable[[Callable[[Any], None]], Any] = _SyncPromise
        self.observed: type[BaseException] = engine.MessageObservedException
        self.not_handled: type[BaseException] = engine.MessageNotHandledException


_durable: _Durable | None = None


def _load() -> _Durable:
    global _durable
    if _durable is None:
        with ENGINE_LOCK:
            if _durable is None:
                _durable = _Durable()
    return _durable


def durable_available() -> bool:
    """True when durable-rules imports on this Python (False on 3.13 without the build flag)."""
    try:
        _load()
    except EngineUnavailableError:
        return False
    return True


def fnv1a_32(text: str) -> int:
    """The 32-bit hash durable-rules uses for fact and session ids (``fnv1Hash32`` in state.c).

    Despite its C name it is FNV-1a (xor, then multiply) over the UTF-8 bytes, each read as a
    signed ``char`` (bytes >= 0x80 are sign-extended before the xor).
    """
    h = _FNV_OFFSET
    for byte in text.encode():
        if byte >= 0x80:
            byte |= 0xFFFFFF00
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def _id_strings_used() -> Iterable[str]:
    yield from _ID_STRINGS
    for sid in range(1, MAX_RULESETS_PER_ENGINE + 1):
        yield f"sid-{sid}"  # durable stores a session's state as a fact with this id


def check_id_hashes() -> int:
    """Verify that every id this module can use has a distinct 32-bit hash; return their number.

    Covers fact ids ``"0"``..``str(MAX_FACTS_PER_SESSION)`` (session ids ``"1"``.. are among
    them) and the state ids ``"sid-<n>"`` durable derives from session ids. Runs once per process
    (about 50 ms) when the first :class:`DurableEngine` is created; raises ``EngineError`` on a
    collision (it would mean the constants above must change).
    """
    global _ids_checked
    seen: dict[int, str] = {}
    for text in _id_strings_used():
        h = fnv1a_32(text)
        other = seen.setdefault(h, text)
        if other != text:
            raise EngineError(f"durable ids {other!r} and {text!r} share the 32-bit hash {h:#010x}")
    _ids_checked = True
    return len(seen)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) while the block runs; raise the KeyboardInterrupt after it.

    A KeyboardInterrupt landing between two of durable-rules' calls (an action started and never
    completed, a marker fact observed and never deleted) left the engine broken for good in a
    Jupyter session. Evaluating one unit takes milliseconds: waiting for it costs nothing, and
    the interrupt still reaches the caller. Only the main thread receives signals; elsewhere
    (and if the handler cannot be replaced) this does nothing. A KeyboardInterrupt raised any
    other way is still handled: the session's ruleset is rebuilt before its next use.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[Any] = []

    def hold(signum: int, frame: Any) -> None:
        pending.append(frame)

    try:
        previous = signal.signal(signal.SIGINT, hold)
    except (ValueError, OSError):  # pragma: no cover - embedded interpreters
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending:
            if callable(previous):
                previous(signal.SIGINT, pending[0])
            elif previous != signal.SIG_IGN:
                raise KeyboardInterrupt


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


# --------------------------------------------------------------------------------------------
# Engine, sessions, actions


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


class Session:
    """One evaluation: assert facts one at a time; actions and chained rules run synchronously.

    Use it as a context manager (``with engine.session(handle) as s:``); on exit the session's
    state is deleted, so the next session starts empty. After an error the session is closed and
    further calls raise ``EngineError``.
    """

    __slots__ = (
        "_compiled",
        "_dispatching",
        "_entered",
        "_failure",
        "_host",
        "_live",
        "_marker_fired",
        "_n",
        "_open",
        "_sid",
        "context",
    )

    def __init__(self, host: Any, compiled: _Compiled, context: Any) -> None:
        self._host = host
        self._compiled = compiled
        self._sid = compiled.sid
        self.context = context
        self._n = 0
        self._open = False
        self._entered = False
        self._live = False  # durable holds state for our sid that must be deleted
        self._marker_fired = False
        self._dispatching = False
        self._failure: tuple[BaseException, str] | None = None

    @property
    def fact_count(self) -> int:
        """How many facts (asserted by the caller or by actions) this session has received."""
        return self._n

    # -- context manager --------------------------------------------------------------------

    def __enter__(self) -> Session:
        ENGINE_LOCK.acquire()
        try:
            compiled = self._compiled
            if compiled.active is not None and not compiled.active._open:
                compiled.active = None  # an interrupt skipped the end of its close
            if compiled.active is not None:
                raise EngineError(
                    f"ruleset {compiled.name!r} already has an open session in this thread "
                    "(sessions of one ruleset cannot nest)"
                )
            if self._entered:
                raise EngineError("a Session object can be entered only once")
            self._entered = True
            compiled.active = self
            self._open = True
            self._dispatch({_MARKER_FIELD: "1", "id": _ID_STRINGS[0], "sid": self._sid})
            if not self._marker_fired:  # pragma: no cover - would be a durable-rules change
                self._close()
                raise EngineError(f"ruleset {compiled.name!r}: the session marker did not fire")
        except BaseException:
            if self._open:
                self._close()
            ENGINE_LOCK.release()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is not None and not isinstance(exc, Exception):
                # an interrupt may have landed anywhere, even between durable's calls
                self._compiled.broken = True
            self._close()
        finally:
            ENGINE_LOCK.release()

    # -- facts ------------------------------------------------------------------------------

    def assert_fact(self, fact: Mapping[str, FactValue]) -> int:
        """Assert one fact; return its id (1, 2, ...). Matching actions have run on return.

        ``fact`` needs a string ``kind``; values are str or int (see the module notes); ``id``
        and ``sid`` are refused. Raises ValueError for a bad fact, EngineError if an action raised
        (the session is then closed) and re-raises a BaseException such as KeyboardInterrupt.
        """
        if not self._open:
            if self._failure is not None:
                raise EngineError("session is closed after an earlier failure")
            raise EngineError("session is not open (use `with engine.session(handle) as s:`)")
        if self._dispatching:
            raise EngineError("inside an action, assert derived facts with ActionContext")
        payload = _checked_payload(fact, f"ruleset {self._compiled.name!r}, fact {fact!r}")
        fid = self._next_id()
        payload["id"] = _ID_STRINGS[fid]
        payload["sid"] = self._sid
        with ENGINE_LOCK:
            if not self._open:  # closed while this (foreign) thread waited for the lock
                raise EngineError("session is not open")
            self._dispatch(payload)
        return fid

    # -- internals --------------------------------------------------------------------------

    def _next_id(self) -> int:
        if self._failure is not None:
            raise EngineError("session is closed after an earlier failure")
        n = self._n + 1
        if n > MAX_FACTS_PER_SESSION:
            raise EngineError(f"more than {MAX_FACTS_PER_SESSION} facts in one session")
        self._n = n
        return n

    def _dispatch(self, payload: dict[str, Any]) -> None:
        """Assert ``payload`` and run the actions it triggers; raise what went wrong."""
        compiled = self._compiled
        self._dispatching = True
        state: Any = None
        try:
            state = self._host.assert_fact(compiled.name, payload)
        except BaseException as exc:
            # raised by durable itself (or an interrupt inside it), not by one of our actions
            # (they catch their own): its state for this session may be half-updated
            compiled.broken = True
            self._record_failure(self._engine_error(exc, payload), "")
        finally:
            self._dispatching = False
        if self._marker_fired:
            self._live = True
        if self._failure is None and isinstance(state, dict) and state.get("exception"):
            self._failure = (EngineError(f"durable-rules action failed: {state['exception']}"), "")
        if self._failure is not None:
            self._raise_failure()

    def _engine_error(self, exc: BaseException, payload: Mapping[str, Any]) -> BaseException:
        """``exc`` raised by durable as our error (chained), or unchanged if already ours."""
        if not isinstance(exc, Exception) or isinstance(exc, EngineError):
            return exc
        error = self._describe(exc, payload)
        error.__cause__ = exc
        return error

    def _describe(self, exc: Exception, payload: Mapping[str, Any]) -> EngineError:
        d = _load()
        text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        if isinstance(exc, d.observed):
            return EngineError(
                f"ruleset {self._compiled.name!r}: durable-rules rejected fact id "
                f"{payload.get('id')!r} as already observed (a 32-bit id collision: a bug in the "
                f"wrapper, never 'no finding'): {text}"
            )
        if isinstance(exc, d.not_handled):
            return EngineError(
                f"ruleset {self._compiled.name!r}: durable-rules did not handle a fact despite "
                f"the catch-all rule: {text}"
            )
        return EngineError(f"ruleset {self._compiled.name!r}: durable-rules failed: {text}")

    def _record_failure(self, exc: BaseException, rule: str) -> None:
        if self._failure is None or not isinstance(exc, Exception):
            self._failure = (exc, rule)

    def _raise_failure(self) -> None:
        assert self._failure is not None
        exc, rule = self._failure
        self._close()
        if not isinstance(exc, Exception) or isinstance(exc, EngineError):
            raise exc
        raise EngineError(
            f"ruleset {self._compiled.name!r}, rule {rule!r}: action raised "
            f"{type(exc).__name__}: {exc}"
        ) from exc

    def _close(self) -> None:
        """Delete the session's state (only if an action ever fired in it) and free the sid."""
        compiled = self._compiled
        try:
            if self._live:
                with ENGINE_LOCK:
                    self._host.delete_state(compiled.name, self._sid)
                self._live = False
        except BaseException as exc:
            compiled.broken = True  # the state may be left behind: rebuild before next use
            if not isinstance(exc, Exception):
                raise
            raise EngineError(
                f"ruleset {compiled.name!r}: durable-rules failed to delete a session: {exc}"
            ) from exc
        finally:
            self._open = False
            if compiled.active is self:
                compiled.active = None


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


class DurableEngine:
    """Owns a private durable-rules host (no background threads) and the rulesets registered.

    Raises EngineUnavailableError when durable-rules does not import (Python 3.13 without the
    documented build flag). Create one per process and keep it; rulesets cannot be unregistered.
    """

    def __init__(self) -> None:
        d = _load()
        with ENGINE_LOCK:
            if not _ids_checked:
                check_id_hashes()
            self._host: Any = d.host_class()
        self._rulesets: dict[str, RulesetHandle] = {}
        self._sids = 0  # session ids handed out (one per registration, rebuilds included)

    @property
    def ruleset_names(self) -> tuple[str, ...]:
        """Names registered so far, in registration order."""
        return tuple(self._rulesets)

    def register(self, spec: RulesetSpec) -> RulesetHandle:
        """Compile and register ``spec``; return its handle. Idempotent for the same name.

        Registering a name again returns the first handle if the rule names and patterns are
        equal (the first registration's actions are kept) and raises ValueError if they differ.
        Raises ValueError for malformed specs and rulesets over the network limits.
        """
        _validate_spec(spec)
        _load()
        with ENGINE_LOCK:
            existing = self._rulesets.get(spec.name)
            if existing is not None:
                if existing._compiled.signature != spec.signature():
                    raise ValueError(
                        f"ruleset {spec.name!r} is already registered with different rules; "
                        "put the content hash in the name so versions get distinct names"
                    )
                return existing
            sid = self._next_sid()
            rule_names = tuple(rule.name for rule in spec.rules)
            compiled = _Compiled(spec.name, sid, spec.signature(), rule_names)
            compiled.build = lambda: self._definition(spec, compiled)
            self._register(compiled)
            handle = RulesetHandle(spec.name, rule_names, compiled)
            self._rulesets[spec.name] = handle
            return handle

    def _next_sid(self) -> str:
        if self._sids >= MAX_RULESETS_PER_ENGINE:
            raise EngineError(f"more than {MAX_RULESETS_PER_ENGINE} rulesets in one engine")
        self._sids += 1
        return _ID_STRINGS[self._sids]

    def _register(self, compiled: _Compiled) -> None:
        try:
            self._host.register_rulesets({compiled.name: compiled.build()})
        except Exception as exc:
            raise EngineError(
                f"durable-rules refused ruleset {compiled.name!r}: {getattr(exc, 'message', exc)}"
            ) from exc

    def _rebuild(self, compiled: _Compiled) -> None:
        """Register a broken ruleset's rules again under a fresh name and session id."""
        base = compiled.name.rsplit("~", 1)[0] if compiled.rebuilds else compiled.name
        compiled.sid = self._next_sid()
        compiled.rebuilds += 1
        compiled.name = f"{base}~{compiled.rebuilds}"
        self._register(compiled)
        compiled.broken = False

    def _definition(self, spec: RulesetSpec, compiled: _Compiled) -> dict[str, Any]:
        """durable's JSON form of ``spec`` with fresh actions bound to ``compiled``."""
        d = _load()
        definition: dict[str, Any] = {
            _MARKER_RULE: {
                "all": [{"m": {_MARKER_FIELD: "1"}}],
                "run": d.promise(_make_marker(compiled)),
            },
            # Handles every fact (so none raises MessageNotHandledException) but never fires:
            # the second pattern matches no fact.
            _CATCH_ALL_RULE: {
                "all": [{"m": {"$ex": {"kind": 1}}}, {"n": {_NEVER_FIELD: "1"}}],
                "run": d.promise(_ignore),
            },
        }
        for index, rule in enumerate(spec.rules):
            patterns = rule.patterns
            names = ("m",) if len(patterns) == 1 else tuple(f"m{i}" for i in range(len(patterns)))
            definition[f"r{index}"] = {
                "all": [{n: p._definition()} for n, p in zip(names, patterns, strict=True)],
                "run": d.promise(_make_action(compiled, rule.name, names, rule.action)),
            }
        return definition

    def session(self, handle: RulesetHandle, context: Any = None) -> Session:
        """A new session on ``handle``'s ruleset, to be used as ``with ... as s:``.

        ``context`` is any object; actions reach it as ``ctx.context`` (e.g. a list collecting
        findings). The session holds :data:`ENGINE_LOCK` until the ``with`` block exits.
        """
        if self._rulesets.get(handle.name) is not handle:
            raise EngineError(f"ruleset {handle.name!r} is not registered with this engine")
        compiled = handle._compiled
        if compiled.broken:
            with ENGINE_LOCK:
                if compiled.broken and (compiled.active is None or not compiled.active._open):
                    self._rebuild(compiled)
        return Session(self._host, compiled, context)

    def live_session(self, handle: RulesetHandle, context: Any = None) -> LiveSession:
        """A :class:`LiveSession` on ``handle``'s ruleset (call ``.open()``, later ``.close()``)."""
        if self._rulesets.get(handle.name) is not handle:
            raise EngineError(f"ruleset {handle.name!r} is not registered with this engine")
        return LiveSession(self._host, handle._compiled, context)


#: live sessions one ruleset may hold at once (durable allows 1,024 live sessions per ruleset;
#: one sid stays for the ruleset's ordinary sessions, the rest is headroom)
MAX_LIVE_SESSIONS_PER_RULESET: Final = 1000
_live_sids: dict[str, set[int]] = {}


class LiveSession(Session):
    """A session that stays open between calls, for facts that change (retract and re-assert).

    Unlike :class:`Session` it does not hold :data:`ENGINE_LOCK` between calls: every call takes
    the lock, makes this session the one actions are routed to, and restores the previous one.
    Its session id is one of the checked ids ``"10000"``, ``"9999"``, ... (at most
    :data:`MAX_LIVE_SESSIONS_PER_RULESET` per ruleset, so the 1,024-session limit is never met).
    Fact ids are reused after a retraction (a free list), so a long-lived session never runs out
    of the :data:`MAX_FACTS_PER_SESSION` checked ids while it holds fewer facts than that.
    Open it with :meth:`open`, end it with :meth:`close` (deletes its state, frees the sid).
    After a failure the session is closed and every further call raises ``EngineError``.
    """

    __slots__ = ("_free", "_slot")

    def __init__(self, host: Any, compiled: _Compiled, context: Any) -> None:
        super().__init__(host, compiled, context)
        self._free: list[int] = []
        with ENGINE_LOCK:
            used = _live_sids.setdefault(compiled.name, set())
            slot = next((k for k in range(MAX_LIVE_SESSIONS_PER_RULESET) if k not in used), None)
            if slot is None:
                raise EngineError(
                    f"ruleset {compiled.name!r}: more than {MAX_LIVE_SESSIONS_PER_RULESET} live "
                    "sessions (durable-rules allows 1,024); close some first"
                )
            used.add(slot)
        self._slot = slot
        self._sid = _ID_STRINGS[MAX_RULESETS_PER_ENGINE - slot]

    def _routed(self, call: Callable[[], None]) -> None:
        with ENGINE_LOCK:
            compiled = self._compiled
            previous = compiled.active
            compiled.active = self
            try:
                call()
            finally:
                if compiled.active is self:
                    compiled.active = previous

    def open(self) -> LiveSession:
        """Start the session (fires the marker so its state can be deleted safely)."""
        if self._entered:
            raise EngineError("a LiveSession can be opened only once")
        self._entered = True
        self._open = True
        try:
            self._routed(
                lambda: self._dispatch({_MARKER_FIELD: "1", "id": _ID_STRINGS[0], "sid": self._sid})
            )
        except BaseException:
            self.close()
            raise
        if not self._marker_fired:  # pragma: no cover - would be a durable-rules change
            self.close()
            raise EngineError(f"ruleset {self._compiled.name!r}: the session marker did not fire")
        return self

    def __enter__(self) -> LiveSession:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def assert_fact(self, fact: Mapping[str, FactValue]) -> int:
        """Assert one fact (see :meth:`Session.assert_fact`); matching actions have run on
        return, routed to this session."""
        if not self._open:
            raise EngineError(
                "live session is closed" + (" after a failure" if self._failure else "")
            )
        payload = _checked_payload(fact, f"ruleset {self._compiled.name!r}, fact {fact!r}")
        fid = self._next_id()
        payload["id"] = _ID_STRINGS[fid]
        payload["sid"] = self._sid
        self._routed(lambda: self._dispatch(payload))
        return fid

    def retract_fact(self, fact: Mapping[str, FactValue], fid: int) -> None:
        """Retract the fact asserted (by the caller or an action) as ``fact`` with id ``fid``;
        its id becomes free for reuse."""
        if not self._open:
            raise EngineError(
                "live session is closed" + (" after a failure" if self._failure else "")
            )
        payload = dict(fact)
        payload["id"] = _ID_STRINGS[fid]
        payload["sid"] = self._sid

        def retract() -> None:
            try:
                self._host.retract_fact(self._compiled.name, payload)
            except BaseException as exc:
                self._record_failure(self._engine_error(exc, payload), "")
            if self._failure is not None:
                self._raise_failure()

        self._routed(retract)
        self._free.append(fid)

    def _next_id(self) -> int:
        if self._failure is not None:
            raise EngineError("session is closed after an earlier failure")
        if self._free:
            return self._free.pop()
        return super()._next_id()

    def close(self) -> None:
        """Delete the session's state and free its session id (idempotent)."""
        try:
            if self._open or self._live:
                self._routed(self._close)
        finally:
            self._open = False
            with ENGINE_LOCK:
                _live_sids.get(self._compiled.name, set()).discard(self._slot)
