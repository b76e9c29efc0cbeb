"""Text for a terminal: ledger text must not drive the terminal.

A name or message in a ledger can hold ANSI/OSC escape sequences (colour, cursor moves, a
window title, a hyperlink, a clipboard write) or other control characters. Printed as they
are, they act on the user's terminal. :func:`printable` shows each such character as a
visible ``\\x1b``-style escape instead; newlines and tabs are kept.
"""

from __future__ import annotations

import re
from typing import NoReturn

import typer

__all__ = ["EXIT_INPUT", "fail", "printable"]

# C0 controls except tab and newline, DEL, and the C1 controls (U+0080-U+009F: U+009B is a
# one-character CSI on some terminals, U+009D an OSC)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def printable(text: str) -> str:
    """``text`` with every control character but newline and tab shown as ``\\xNN``."""
    return _CONTROL.sub(_escape, text)


#: exit code of a command refused for bad usage, input or policy (the CLI's convention)
EXIT_INPUT = 2


def fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    """End a command: ``error: <message>`` on stderr (control characters shown escaped), and
    exit with ``code`` (2: bad usage, input or policy). Every command of the CLI uses it."""
    typer.echo(f"error: {printable(message)}", err=True)
    raise typer.Exit(code)
