"""Help pages of the ``fupin-rules`` command line in plain words.

Typer labels every parameter with its Python type (``<bool>``, ``<str>``, ``<int range>``) and
writes required arguments as ``{out}``; a county official reading ``--help`` needs neither.
:class:`HelpGroup` (the app's group class) shows options as ``--on DATE``, flags bare, and
arguments in capitals (``fupin-rules generate [OPTIONS] OUT``).
"""

from __future__ import annotations

from typing import Any

import typer.core

__all__ = ["HelpGroup"]

#: Typer's type label -> the word shown after an option (Click's own words)
_WORDS = {"str": "TEXT", "int": "INTEGER", "int range": "INTEGER", "float": "NUMBER"}


def _plain(param: Any, ctx: Any) -> Any:
    """Give one parameter a plain label (idempotent)."""
    if getattr(param, "_fupin_plain", False):
        return param
    if isinstance(param, typer.core.TyperArgument):
        name = (param.metavar or param.name or "").upper()
        param.metavar = name
        optional = not param.required
        many = param.nargs != 1
        # instance attributes: Typer offers no hook for these labels (Typer 0.29)
        usage = (f"[{name}]" if optional else name) + ("..." if many else "")
        setattr(param, "_usage_display_name", lambda: usage)  # noqa: B010
        setattr(param, "display_type_rich", lambda ctx: None)  # noqa: B010
    elif isinstance(param, typer.core.TyperOption) and param.metavar is None:
        if param.is_flag:
            param.metavar = ""
        else:
            label = param.display_type(ctx).strip("<>")
            if "|" in label:  # choices, shown as they are typed
                param.metavar = f"[{label}]"
            else:
                param.metavar = _WORDS.get(label, label.upper())
    param._fupin_plain = True
    return param


def _plain_command(cmd: Any) -> Any:
    if getattr(cmd, "_fupin_plain", False):
        return cmd
    original = cmd.get_params

    def get_params(ctx: Any) -> list[Any]:
        return [_plain(p, ctx) for p in original(ctx)]

    cmd.get_params = get_params
    cmd._fupin_plain = True
    return cmd


class HelpGroup(typer.core.TyperGroup):
    """The app's group: every command's help in plain labels (see the module docstring)."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = super().get_command(ctx, cmd_name)
        return None if cmd is None else _plain_command(cmd)

    def get_params(self, ctx: Any) -> list[Any]:
        return [_plain(p, ctx) for p in super().get_params(ctx)]
