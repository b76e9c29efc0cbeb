"""Writing report files safely: a temporary file beside the target, renamed over it when complete.

A report is evidence, and the previous good one is often all an office has. So a report is
never written in place: an interrupt (Ctrl-C), a full disk or a crash while writing leaves the
previous file as it was and no truncated one. :func:`replacing` does that for one file;
:class:`OutputPlan` checks every output path of a run before it starts and renames all of
them only once every one is complete (all or none).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from fupin_rules.errors import ReportOutputError

__all__ = ["OutputPlan", "replacing", "temporary_beside"]

# the folder readers take these files as tables (io/ledger_sheets.py globs *.csv and *.parquet)
_TABLE_SUFFIXES = (".csv", ".parquet")


def temporary_beside(path: Path) -> Path:
    """Create an empty file next to ``path`` (same folder, so a rename is atomic) and return it.

    The file is created with the usual permissions (0666 less the umask), not the 0600 of
    :mod:`tempfile`, since it becomes the report. Raises :class:`OSError` when the folder is
    missing or not writable.
    """
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))  # pragma: no cover


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str], mode: str = "wb", **open_kw: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on a clean exit it is flushed and renamed to ``path``.

    On any exception, KeyboardInterrupt included, the temporary file is removed and ``path`` is
    left as it was. ``mode`` and ``open_kw`` are passed to :func:`open` (``"w"`` with an
    encoding for text).
    """
    target = Path(path)
    tmp = temporary_beside(target)
    try:
        with open(tmp, mode, **open_kw) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _is_inside(path: Path, folder: Path) -> bool:
    return Path(os.path.realpath(path.parent)) == Path(os.path.realpath(folder))


class OutputPlan:
    """The output files of one run, checked before the run and renamed together after it.

    ``outputs`` maps an option name (``--out``) to its path; ``inputs`` are the files and
    folders the run reads (the ledger). :meth:`check` raises :class:`ReportOutputError` naming
    the option and path when an output is a folder, a device or FIFO, in a missing or
    unwritable folder, the input ledger itself (or a table file inside a ledger folder), or the
    same file as another output; it creates and removes a file beside each output, which proves
    the folder writable. :meth:`write` writes one report to a temporary file beside its target;
    :meth:`commit` renames all of them over their targets; :meth:`discard` (also on leaving a
    ``with`` block) removes those not renamed, so a failed or interrupted run leaves every
    previous report as it was.
    """

    def __init__(self, outputs: dict[str, Path | None], inputs: Sequence[Path] = ()) -> None:
        self.outputs = {opt: Path(p) for opt, p in outputs.items() if p is not None}
        self.inputs = tuple(Path(p) for p in inputs)
        self._temps: dict[str, Path] = {}

    def __enter__(self) -> OutputPlan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def check(self) -> None:
        """Refuse unusable output paths and reserve a temporary file beside each one."""
        seen: dict[str, str] = {}
        for opt, path in self.outputs.items():
            where = f"{opt} {path}"
            if os.path.isdir(path):
                raise ReportOutputError(
                    f"{where}: is a folder; give a file name (输出路径是文件夹)"
                )
            if not os.path.isdir(path.parent):
                raise ReportOutputError(
                    f"{where}: the folder {path.parent} does not exist; create it first "
                    "(输出文件夹不存在)"
                )
            try:
                st = os.stat(path)
            except FileNotFoundError:
                st = None
            except OSError as exc:
                raise ReportOutputError(f"{where}: cannot be used ({exc.strerror})") from None
            if st is not None and not stat.S_ISREG(st.st_mode):
                raise ReportOutputError(
                    f"{where}: is not a regular file (a device, FIFO or socket); "
                    "reports are written to regular files only (输出路径不是普通文件)"
                )
            for source in self.inputs:
                if _same_file(path, source):
                    raise ReportOutputError(
                        f"{where}: is the input ledger {source}; writing the report there would "
                        "replace the ledger (输出会覆盖输入台账)"
                    )
                if (
                    source.is_dir()
                    and path.suffix.lower() in _TABLE_SUFFIXES
                    and _is_inside(path, source)
                ):
                    raise ReportOutputError(
                        f"{where}: is a table file inside the input ledger folder {source} "
                        "(it would replace or add a table); write it elsewhere "
                        "(输出位于输入台账文件夹内)"
                    )
            key = os.path.normcase(os.path.realpath(path))
            if key in seen:
                raise ReportOutputError(f"{where}: is also the path of {seen[key]}")
            seen[key] = opt
        for opt, path in self.outputs.items():
            try:  # proves the folder writable (permissions, read-only file system)
                temporary_beside(path).unlink()
            except OSError as exc:
                raise ReportOutputError(
                    f"{opt} {path}: cannot write in {path.parent} ({exc.strerror}) "
                    "(无法写入输出文件夹)"
                ) from None

    def write(self, opt: str, writer: Callable[[Path], None]) -> None:
        """Call ``writer`` with the temporary path of ``opt``; an OSError becomes a
        :class:`ReportOutputError` naming the option and the path (e.g. no space left)."""
        try:
            self._temps[opt] = temporary_beside(self.outputs[opt])
            writer(self._temps[opt])
        except OSError as exc:
            raise ReportOutputError(
                f"{opt} {self.outputs[opt]}: writing the report failed "
                f"({exc.strerror or exc}); no report was changed (报告写入失败)"
            ) from None

    def commit(self) -> None:
        """Rename every written temporary file over its target."""
        for opt, tmp in list(self._temps.items()):
            try:
                os.replace(tmp, self.outputs[opt])
            except OSError as exc:
                raise ReportOutputError(
                    f"{opt} {self.outputs[opt]}: the report could not be put in place "
                    f"({exc.strerror or exc})"
                ) from None
            del self._temps[opt]

    def discard(self) -> None:
        """Remove the temporary files not yet renamed."""
        for tmp in self._temps.values():
            _unlink_quietly(tmp)
        self._temps.clear()
