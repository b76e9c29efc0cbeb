"""durable-rules' process-wide side: its lazy import, the engine lock, identities and Ctrl-C.

Part of the durable-rules wrapper; :mod:`fupin_rules.engine._durable` describes the traps it
defends against and re-exports the public names. Here: the pieces of durable-rules imported lazily
(a ``Host`` that never starts its background threads, a synchronous ``Promise``), the lock that
serialises every call into it, the checked id range and the 32-bit hash durable gives ids, and the
deferral of Ctrl-C while a unit runs.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

from fupin_rules.errors import EngineUnavailableError

ENGINE_LOCK: Final = threading.RLock()
"""Serialises every call into durable-rules in this process (its C core is not thread-safe)."""

MAX_FACTS_PER_SESSION: Final = 100_000
"""Fact ids ``"1"``..``"100000"`` (plus the marker's ``"0"``) are checked collision-free."""
MAX_RULESETS_PER_ENGINE: Final = 10_000
"""Session ids ``"1"``..``"10000"`` (one per ruleset) and their state ids are checked too."""

_FNV_OFFSET: Final = 0x811C9DC5
_FNV_PRIME: Final = 0x01000193
# Fact id strings, index = id (the marker uses "0").
_ID_STRINGS: Final = tuple(str(i) for i in range(MAX_FACTS_PER_SESSION + 1))


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
