"""The files of a ledger: the error for a path that is not a ledger, and the checks that refuse
anything but a regular file or a link leaving the ledger folder (see :mod:`fupin_rules.io.ledger`).
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Literal

from fupin_rules.errors import FupinRulesError

LedgerFormat = Literal["json", "csv", "xlsx", "parquet"]


class LedgerError(FupinRulesError):
    """The path is not a ledger this library can read (missing, unknown format, unreadable)."""


def _display(path: Path) -> str:
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def _read_table_file(folder: Path, file: Path, source: str) -> bytes:
    """The bytes of one table file of a ledger folder (see :func:`_check_table_file`)."""
    _check_table_file(folder, file, source)
    try:
        return file.read_bytes()
    except OSError as exc:
        raise LedgerError(f"{source}: cannot read the file ({exc.strerror or exc})") from exc


def _check_table_file(folder: Path, file: Path, source: str) -> None:
    """Refuse a link that leaves the ledger folder (``persons.csv -> /etc/passwd``) and anything
    that is not a regular file (a FIFO or a device would block or never end)."""
    if file.is_symlink():
        try:
            target = file.resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            raise LedgerError(f"{source}: a link that leads nowhere ({exc})") from exc
        if not target.is_relative_to(folder.resolve()):
            raise LedgerError(
                f"{source}: a link to a file outside the ledger folder ({target}); refused "
                "(链接指向台账文件夹之外, 拒绝读取); copy the file into the folder"
            )
    _check_regular(file, source)


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def _check_regular(path: Path, name: str | None = None) -> None:
    """Refuse anything but a regular file: a table file of a ledger folder, or a ledger given as
    one file (JSON, xlsx). Messages name the file as ``name`` (default: the path)."""
    shown = path if name is None else name
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise LedgerError(f"{shown}: cannot read the file ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(mode):
        raise LedgerError(
            f"{shown}: not a regular file ({_file_kind(mode)}); refused (不是普通文件, 拒绝读取)"
        )
