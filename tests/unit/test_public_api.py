"""The public surface: ``fupin_rules.__all__`` is exactly the public names, each documented."""

from __future__ import annotations

import inspect

import fupin_rules


def test_all_lists_every_public_name_and_only_those() -> None:
    public = {n for n in dir(fupin_rules) if not n.startswith("_")}
    modules = {n for n in public if inspect.ismodule(getattr(fupin_rules, n))}
    assert set(fupin_rules.__all__) - {"__version__"} == public - modules
    assert len(fupin_rules.__all__) == len(set(fupin_rules.__all__))


def test_every_public_name_is_documented() -> None:
    for name in fupin_rules.__all__:
        obj = getattr(fupin_rules, name)
        if name in ("__version__", "EngineName"):
            continue
        assert inspect.getdoc(obj), f"fupin_rules.{name} has no docstring"
