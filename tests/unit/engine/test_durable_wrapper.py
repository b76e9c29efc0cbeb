"""The durable-rules wrapper: one test per trap of the field guide that the wrapper defends against."""

from __future__ import annotations

import gc
import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("durable")

from fupin_rules.engine import _durable as dw
from fupin_rules.engine._durable import (
    ActionContext,
    DurableEngine,
    Match,
    RulesetSpec,
    RuleSpec,
)
from fupin_rules.errors import EngineError

_names = itertools.count()


def unique(prefix: str = "t") -> str:
    """A ruleset name not used before in this process."""
    return f"{prefix}:{next(_names)}"


@pytest.fixture(scope="module")
def engine() -> DurableEngine:
    return DurableEngine()


def collect(ctx: ActionContext) -> None:
    ctx.context.append((ctx.rule, *ctx.facts))


def derive(rule: str) -> Any:
    def action(ctx: ActionContext) -> None:
        ctx.assert_fact({"kind": "finding", "rule": rule})

    return action


@pytest.fixture(scope="module")
def chain(engine: DurableEngine) -> dw.RulesetHandle:
    """household -> finding r1, r2 (derived) -> join of both; household x person join."""
    return engine.register(
        RulesetSpec(
            unique("chain"),
            [
                RuleSpec("r1", Match(kind="household", poor="true"), derive("r1")),
                RuleSpec("r2", Match(kind="household", housing="unsafe"), derive("r2")),
                RuleSpec(
                    "both",
                    [Match(kind="finding", rule="r1"), Match(kind="finding", rule="r2")],
                    collect,
                ),
                RuleSpec("member", [Match(kind="household"), Match(kind="person")], collect),
                RuleSpec("named", Match(kind="person", name="张三"), collect),
            ],
        )
    )


def run(engine: DurableEngine, handle: dw.RulesetHandle, *facts: dict[str, Any]) -> list[Any]:
    found: list[Any] = []
    with engine.session(handle, context=found) as s:
        for fact in facts:
            s.assert_fact(fact)
    return found


# -- chaining and joins ----------------------------------------------------------------------


def test_chained_facts_fire_before_assert_returns(
    engine: DurableEngine, chain: dw.RulesetHandle
) -> None:
    found: list[Any] = []
    with engine.session(chain, context=found) as s:
        fid = s.assert_fact({"kind": "household", "poor": "true", "housing": "unsafe"})
        assert fid == 1
        # the derived findings were asserted and the join over them fired, synchronously
        assert found == [
            ("both", {"kind": "finding", "rule": "r1"}, {"kind": "finding", "rule": "r2"})
        ]
        assert s.fact_count == 3


def test_action_sees_fact_ids_and_domain_fields_only(engine: DurableEngine) -> None:
    seen: list[tuple[tuple[int, ...], dict[str, Any]]] = []
    handle = engine.register(
        RulesetSpec(
            unique(),
            [RuleSpec("r", Match(kind="a"), lambda ctx: seen.append((ctx.fact_ids, ctx.fact)))],
        )
    )
    with engine.session(handle) as s:
        s.assert_fact({"kind": "b"})
        fid = s.assert_fact({"kind": "a", "n": 7})
    assert seen == [((fid,), {"kind": "a", "n": 7})]
    assert fid == 2


def test_join_over_several_facts_fires_per_combination(
    engine: DurableEngine, chain: dw.RulesetHandle
) -> None:
    found = run(
        engine,
        chain,
        {"kind": "household", "code": "H1"},
        {"kind": "person", "code": "P1"},
        {"kind": "person", "code": "P2"},
    )
    assert sorted(f[2]["code"] for f in found if f[0] == "member") == ["P1", "P2"]


def test_chinese_string_values_match_by_equality(
    engine: DurableEngine, chain: dw.RulesetHandle
) -> None:
    found = run(
        engine, chain, {"kind": "person", "name": "张三"}, {"kind": "person", "name": "李四"}
    )
    assert found == [("named", {"kind": "person", "name": "张三"})]


# -- errors in actions -------------------------------------------------------------------------


def test_action_exception_reaches_caller_and_next_session_works(engine: DurableEngine) -> None:
    def boom(ctx: ActionContext) -> None:
        if ctx.fact.get("bad") == "yes":
            raise ZeroDivisionError("the original message")
        ctx.context.append("ok")

    handle = engine.register(RulesetSpec(unique(), [RuleSpec("boom", Match(kind="a"), boom)]))
    with engine.session(handle, context=[]) as s:
        with pytest.raises(EngineError, match="the original message") as info:
            s.assert_fact({"kind": "a", "bad": "yes"})
        assert isinstance(info.value.__cause__, ZeroDivisionError)
        assert "boom" in str(info.value)
        with pytest.raises(EngineError, match="earlier failure"):
            s.assert_fact({"kind": "a"})
    assert run(engine, handle, {"kind": "a"}) == ["ok"]


def test_exception_in_chained_action_stops_the_session(engine: DurableEngine) -> None:
    def fail(ctx: ActionContext) -> None:
        raise RuntimeError("chained failure")

    handle = engine.register(
        RulesetSpec(
            unique(),
            [
                RuleSpec("derive", Match(kind="a"), derive("x")),
                RuleSpec("fail", Match(kind="finding"), fail),
            ],
        )
    )
    with engine.session(handle) as s, pytest.raises(EngineError, match="chained failure"):
        s.assert_fact({"kind": "a"})
    assert run(engine, handle, {"kind": "b"}) == []


def test_keyboard_interrupt_in_action_is_not_swallowed(engine: DurableEngine) -> None:
    def interrupt(ctx: ActionContext) -> None:
        raise KeyboardInterrupt

    handle = engine.register(RulesetSpec(unique(), [RuleSpec("i", Match(kind="a"), interrupt)]))
    with pytest.raises(KeyboardInterrupt), engine.session(handle) as s:
        s.assert_fact({"kind": "a"})
    assert run(engine, handle, {"kind": "b"}) == []


def test_bad_derived_fact_is_an_engine_error(engine: DurableEngine) -> None:
    bad: dict[str, Any] = {"kind": "x", "v": 1.5}
    handle = engine.register(
        RulesetSpec(unique(), [RuleSpec("r", Match(kind="a"), lambda ctx: ctx.assert_fact(bad))])
    )
    with engine.session(handle) as s, pytest.raises(EngineError, match="floats") as info:
        s.assert_fact({"kind": "a"})
    assert isinstance(info.value.__cause__, ValueError)


def test_id_collision_is_an_engine_error_not_a_silent_duplicate(
    engine: DurableEngine, chain: dw.RulesetHandle
) -> None:
    with engine.session(chain) as s:
        s.assert_fact({"kind": "other"})
        s._n = 0  # force the next fact to reuse id "1", as a hash collision would
        with pytest.raises(EngineError, match="already observed"):
            s.assert_fact({"kind": "other", "x": "different"})
    assert run(engine, chain, {"kind": "other"}) == []


def test_context_misuse_is_refused(engine: DurableEngine) -> None:
    kept: list[ActionContext] = []
    outer: list[dw.Session] = []

    def keep(ctx: ActionContext) -> None:
        kept.append(ctx)

    def reenter(ctx: ActionContext) -> None:
        outer[0].assert_fact({"kind": "x"})

    handle = engine.register(
        RulesetSpec(
            unique(),
            [RuleSpec("keep", Match(kind="a"), keep), RuleSpec("re", Match(kind="b"), reenter)],
        )
    )
    with engine.session(handle) as s:
        s.assert_fact({"kind": "a"})
    with pytest.raises(EngineError, match="after its action returned"):
        kept[0].assert_fact({"kind": "x"})
    with engine.session(handle) as s:
        outer.append(s)
        with pytest.raises(EngineError, match="inside an action"):
            s.assert_fact({"kind": "b"})
    with pytest.raises(EngineError, match="earlier failure"):
        s.assert_fact({"kind": "a"})
    with engine.session(handle) as done:
        pass
    with pytest.raises(EngineError, match="not open"):
        done.assert_fact({"kind": "a"})
    with pytest.raises(EngineError, match="only once"), done:
        pass


# -- sessions ----------------------------------------------------------------------------------


def test_session_state_is_deleted_between_sessions(
    engine: DurableEngine, chain: dw.RulesetHandle
) -> None:
    assert run(engine, chain, {"kind": "household", "code": "A"}) == []
    # household A is gone: household B's person does not join with it
    assert run(engine, chain, {"kind": "person", "code": "B1"}) == []
    # and the derived finding r1 of one session does not meet r2 of the next
    assert run(engine, chain, {"kind": "household", "poor": "true"}) == []
    assert run(engine, chain, {"kind": "household", "housing": "unsafe"}) == []


def test_3000_sequential_sessions_beyond_the_live_session_limit(
    engine: DurableEngine, chain: dw.RulesetHandle
) -> None:
    for n in range(3000):
        found = run(
            engine,
            chain,
            {"kind": "household", "code": f"H{n}", "poor": "true", "housing": "unsafe"},
            {"kind": "person", "code": f"P{n}"},
        )
        assert len(found) == 2, (n, found)
        assert found[1][1]["code"] == f"H{n}"


def test_session_where_no_rule_fired_closes_cleanly(
    engine: DurableEngine, chain: dw.RulesetHandle
) -> None:
    # without the marker action, delete_state here segfaults the process on the first cycle
    for _ in range(200):
        assert run(engine, chain, {"kind": "nothing_matches"}) == []
        assert run(engine, chain) == []


def test_sessions_leave_no_cyclic_garbage(engine: DurableEngine, chain: dw.RulesetHandle) -> None:
    # durable's Promise.run made ~10 cyclic objects per action: the collector was the p99 latency
    facts = [{"kind": "household", "poor": "true", "housing": "unsafe"}, {"kind": "person"}]
    gc.collect()
    gc.disable()
    try:
        for _ in range(50):
            assert len(run(engine, chain, *facts)) == 2
        assert gc.collect() < 50
    finally:
        gc.enable()


def test_unmatched_facts_do_not_raise(engine: DurableEngine, chain: dw.RulesetHandle) -> None:
    assert run(engine, chain, {"kind": "unknown"}, {"kind": "household", "poor": "no"}) == []


def test_nested_session_on_one_ruleset_is_refused(
    engine: DurableEngine, chain: dw.RulesetHandle
) -> None:
    other = engine.register(RulesetSpec(unique(), [RuleSpec("r", Match(kind="a"), collect)]))
    with engine.session(chain):
        with pytest.raises(EngineError, match="already has an open session"):
            with engine.session(chain):
                pass
        assert len(run(engine, other, {"kind": "a"})) == 1
    assert run(engine, chain, {"kind": "a"}) == []


def test_threads_share_the_engine_safely(engine: DurableEngine, chain: dw.RulesetHandle) -> None:
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            for n in range(200):
                found = run(
                    engine,
                    chain,
                    {"kind": "household", "code": f"{t}-{n}"},
                    {"kind": "person", "code": f"{t}-{n}-p"},
                )
                assert [f[1]["code"] for f in found] == [f"{t}-{n}"]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_host_starts_no_background_threads() -> None:
    before = set(threading.enumerate())
    eng = DurableEngine()
    handle = eng.register(RulesetSpec(unique(), [RuleSpec("r", Match(kind="a"), collect)]))
    run(eng, handle, {"kind": "a"})
    assert set(threading.enumerate()) - before == set()


# -- facts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fact", "message"),
    [
        ({"kind": "a", "id": "x"}, "reserved"),
        ({"kind": "a", "sid": "1"}, "reserved"),
        ({"kind": "a", "v": 1.5}, "floats"),
        ({"kind": "a", "v": 1e20}, "floats"),
        ({"kind": "a", "v": float("nan")}, "floats"),
        ({"kind": "a", "v": float("inf")}, "floats"),
        ({"kind": "a", "v": True}, '"true"'),
        ({"kind": "a", "v": False}, "booleans"),
        ({"kind": "a", "v": None}, "NoneType"),
        ({"kind": "a", "v": [1]}, "list"),
        ({"kind": "a", "v": {"x": 1}}, "dict"),
        ({"kind": "a", "v": 2**53}, "integers"),
        ({"kind": "a", "__fupin_open": "1"}, "reserved"),
        ({"kind": "a", "$s": 1}, "identifier"),
        ({"kind": "a", "a.b": 1}, "identifier"),
        ({"v": "x"}, "kind"),
        ({"kind": 3}, "kind"),
        ({"kind": "a", **{f"f{i}": i for i in range(200)}}, "properties"),
    ],
)
def test_bad_facts_are_rejected(
    engine: DurableEngine, chain: dw.RulesetHandle, fact: dict[str, Any], message: str
) -> None:
    with engine.session(chain) as s:
        with pytest.raises(ValueError, match=message):
            s.assert_fact(fact)
        s.assert_fact({"kind": "a"})  # a rejected fact does not break the session


def test_accepted_values(engine: DurableEngine) -> None:
    handle = engine.register(RulesetSpec(unique(), [RuleSpec("r", Match(kind="a"), collect)]))
    fact = {"kind": "a", "s": 'q"uote\\ 中文', "i": -(2**53 - 1), "z": 0}
    fact.update({f"f{i}": i for i in range(200 - len(fact))})
    assert run(engine, handle, fact) == [("r", fact)]


# -- rulesets ----------------------------------------------------------------------------------


def test_two_rulesets_coexist_and_register_is_idempotent(engine: DurableEngine) -> None:
    name_a, name_b = unique("policy:1.0"), unique("policy:1.1")
    spec_a = RulesetSpec(name_a, [RuleSpec("r", Match(kind="a"), collect)])
    spec_b = RulesetSpec(name_b, [RuleSpec("r", Match(kind="b"), collect)])
    a, b = engine.register(spec_a), engine.register(spec_b)
    assert engine.register(spec_a) is a
    assert {name_a, name_b} <= set(engine.ruleset_names)
    with engine.session(a, context=[]) as sa, engine.session(b, context=[]) as sb:
        sa.assert_fact({"kind": "a"})
        sb.assert_fact({"kind": "a"})
        sb.assert_fact({"kind": "b"})
        assert len(sa.context) == 1
        assert len(sb.context) == 1
    with pytest.raises(ValueError, match="different rules"):
        engine.register(RulesetSpec(name_a, [RuleSpec("r", Match(kind="z"), collect)]))


def test_handle_of_another_engine_is_refused(engine: DurableEngine) -> None:
    handle = DurableEngine().register(RulesetSpec(unique(), []))
    with pytest.raises(EngineError, match="not registered"):
        engine.session(handle)


def many(n: int, **extra: str) -> list[RuleSpec]:
    return [
        RuleSpec(f"r{i}", Match(kind="hh", **{f"f{i}": "x"}, **extra), collect) for i in range(n)
    ]


def test_48_patterns_on_one_kind_all_fire_at_once(engine: DurableEngine) -> None:
    # a fact matching more than 64 tests at once fails with error 303; 48 is our cap
    handle = engine.register(RulesetSpec(unique(), many(dw.MAX_PATTERNS_PER_KIND)))
    fact = {"kind": "hh", **{f"f{i}": "x" for i in range(dw.MAX_PATTERNS_PER_KIND)}}
    assert len(run(engine, handle, fact)) == dw.MAX_PATTERNS_PER_KIND


def test_more_than_48_patterns_on_one_kind_are_refused(engine: DurableEngine) -> None:
    with pytest.raises(ValueError, match="49 distinct patterns test facts of kind 'hh'"):
        engine.register(RulesetSpec(unique(), many(49)))
    # identical patterns share one test and do not count twice
    same = [RuleSpec(f"r{i}", Match(kind="hh", f="x"), collect) for i in range(60)]
    assert engine.register(RulesetSpec(unique(), same))


def test_more_than_400_tests_under_one_kind_are_refused(engine: DurableEngine) -> None:
    rules = [
        RuleSpec(f"r{i}", Match(kind="hh", **{f"g{j}": f"v{i}" for j in range(10)}), collect)
        for i in range(41)
    ]
    with pytest.raises(ValueError, match="410 distinct tests under kind == 'hh'"):
        engine.register(RulesetSpec(unique(), rules))


def test_malformed_specs_are_refused(engine: DurableEngine) -> None:
    ok = RuleSpec("r", Match(kind="a"), collect)
    with pytest.raises(ValueError, match="'\\$'"):
        engine.register(RulesetSpec("x$state", [ok]))
    with pytest.raises(ValueError, match="duplicate"):
        engine.register(RulesetSpec(unique(), [ok, ok]))
    with pytest.raises(ValueError, match="sequence of Match"):
        engine.register(RulesetSpec(unique(), [RuleSpec("r", [], collect)]))
    with pytest.raises(ValueError, match="kind"):
        Match(rule="r1")
    with pytest.raises(ValueError, match="string"):
        Match(kind="a", flag=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reserved"):
        Match(kind="a", id="1")


# -- identities --------------------------------------------------------------------------------


def test_fnv1a_32_is_the_hash_durable_uses(engine: DurableEngine) -> None:
    # standard FNV-1a test vectors
    assert dw.fnv1a_32("") == 0x811C9DC5
    assert dw.fnv1a_32("a") == 0xE40C292C
    assert dw.fnv1a_32("foobar") == 0xBF9CF968
    # pairs that collide under our model, ASCII and non-ASCII (signed char): durable must
    # reject the second id as already observed
    pairs = [("hh-191999", "hh-1142774"), ("户户组丙人人甲丙甲", "户口乙口组甲甲户人")]
    for first, second in pairs:
        assert first != second
        assert dw.fnv1a_32(first) == dw.fnv1a_32(second)
    host = engine._host
    name = unique("raw")
    host.register_rulesets(
        {
            name: {
                "mark": {"all": [{"m": {"mark": "1"}}], "run": lambda c: None},
                "all": {
                    "all": [{"m": {"$ex": {"kind": 1}}}, {"n": {"never": "1"}}],
                    "run": lambda c: None,
                },
            }
        }
    )
    from durable.engine import MessageObservedException

    with dw.ENGINE_LOCK:
        host.assert_fact(name, {"mark": "1", "id": "0", "sid": "1"})
        try:
            for first, second in pairs:
                host.assert_fact(name, {"kind": "x", "id": first, "sid": "1"})
                with pytest.raises(MessageObservedException):
                    host.assert_fact(name, {"kind": "x", "id": second, "sid": "1"})
        finally:
            host.delete_state(name, "1")


def test_ids_we_use_are_collision_free() -> None:
    n = dw.check_id_hashes()
    assert n == dw.MAX_FACTS_PER_SESSION + 1 + dw.MAX_RULESETS_PER_ENGINE
    used: Iterator[str] = iter(dw._id_strings_used())
    assert len({dw.fnv1a_32(text) for text in used}) == n


def test_fact_ids_are_sequential_and_capped(engine: DurableEngine, chain: dw.RulesetHandle) -> None:
    with engine.session(chain) as s:
        assert [s.assert_fact({"kind": "z"}) for _ in range(5)] == [1, 2, 3, 4, 5]
        s._n = dw.MAX_FACTS_PER_SESSION
        with pytest.raises(EngineError, match="more than"):
            s.assert_fact({"kind": "z"})
