"""The expression package's public surface: explicit, importable and documented."""

from __future__ import annotations

import inspect

import fupin_rules.expr as expr_pkg


def test_all_names_exist_and_are_documented() -> None:
    assert len(expr_pkg.__all__) == len(set(expr_pkg.__all__))
    for name in expr_pkg.__all__:
        obj = getattr(expr_pkg, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"


def test_no_eval_or_exec_in_the_package() -> None:
    import pathlib

    root = pathlib.Path(expr_pkg.__file__).parent
    for path in root.glob("*.py"):
        text = path.read_text("utf-8")
        assert "eval(" not in text.replace("evaluate(", "").replace("_eval(", ""), path
        assert "exec(" not in text, path
