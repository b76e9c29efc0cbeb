"""Text for a terminal: ledger text must not drive the terminal.

A name or message in a ledger can hold ANSI/OSC escape sequences (colour, cursor moves, a
window title, a hyperlink, a clipboard write) or other control characters. Printed as they
are, they act on the user's terminal. :func:`printable` shows each such character as a
visible ``\\x1b``-style escape instead; newlines and tabs are kept.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

# C0 controls except tab and newline, DEL, and the C1 controls (U+0080-U+009F: U+009B is a
# one-character CSI on some terminals, U+009D an OSC)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def printable(text: str) -> str:
    """``text`` with every control character but newline and tab shown as ``\\xNN``."""
    return _CONTROL.sub(_escape, text)
