"""gc_paused: the cyclic collector is off inside, and the caller's setting comes back after."""

from __future__ import annotations

import gc

import pytest

from fupin_rules._gc import gc_paused


def test_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested: the inner block leaves it off
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_restored_after_an_exception_and_left_off_if_it_was_off() -> None:
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_as_a_decorator_each_call_pauses() -> None:
    @gc_paused()
    def state() -> bool:
        return gc.isenabled()

    assert state() is False
    assert state() is False
    assert gc.isenabled()


def test_loading_leaves_the_collector_on() -> None:
    import fupin_rules as fr
    from fupin_rules.cli import sample_data_path

    loaded = fr.load_data(sample_data_path())
    assert gc.isenabled()
    assert len(loaded.dataset.households) > 0


def test_what_was_made_in_the_pause_is_not_left_to_the_young_generation() -> None:
    """Left young, the first collection after the pause would walk every object made in it."""
    import weakref

    class Node:
        other: object = None

    gc.collect()
    with gc_paused():
        made = [[] for _ in range(50_000)]
        a, b = Node(), Node()
        a.other, b.other = b, a  # cyclic garbage made during the pause
        gone = weakref.ref(a)
        del a, b
    young = {id(o) for o in gc.get_objects(generation=0) + gc.get_objects(generation=1)}
    assert not any(id(m) in young for m in made)  # in the oldest generation, not walked again
    assert id(made[0]) in {id(o) for o in gc.get_objects(generation=2)}
    assert gc.get_freeze_count() == 0  # nothing stays frozen
    gc.collect()
    assert gone() is None  # the cycle is still collected


def test_objects_the_process_froze_stay_frozen() -> None:
    """The HTTP service freezes what it built at start-up (gc.freeze()); a request that loads
    records pauses the collector, and the pause must not unfreeze them (it did: every inline
    decision released the start-up objects into the collected generations)."""
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with gc_paused():
            made = [[i] for i in range(1_000)]
        assert gc.get_freeze_count() >= frozen
        assert gc.isenabled()
        del made
    finally:
        gc.unfreeze()
