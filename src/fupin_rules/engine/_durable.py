"""A small, safe wrapper around durable-rules (the Rete engine behind the inference engine).

durable-rules has traps that lose data or crash the process (see the durable-rules field guide in
the project notes). This module and its private siblings (``_durable_host``: import, lock, ids,
Ctrl-C; ``_durable_spec``: rules and fact checks; ``_durable_actions``: what actions see) are the
only place that talks to it, and they defend against each:

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

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Final

from fupin_rules.engine._durable_actions import (
    ActionContext,
    RulesetHandle,
    _Compiled,
    _ignore,
    _make_action,
    _make_marker,
)
from fupin_rules.engine._durable_host import (
    _ID_STRINGS,
    ENGINE_LOCK,
    MAX_FACTS_PER_SESSION,
    MAX_RULESETS_PER_ENGINE,
    _Durable,
    _id_strings_used,
    fnv1a_32,
    interrupts_deferred,
)
from fupin_rules.engine._durable_spec import (
    _CATCH_ALL_RULE,
    _MARKER_FIELD,
    _MARKER_RULE,
    _NEVER_FIELD,
    MAX_FACT_PROPERTIES,
    MAX_INT,
    MAX_PATTERNS_PER_KIND,
    MAX_PATTERNS_PER_RULE,
    MAX_TESTS_PER_FIRST_TEST,
    Action,
    FactValue,
    Match,
    RulesetSpec,
    RuleSpec,
    _checked_payload,
    _validate_spec,
)
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

_ids_checked = False

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
