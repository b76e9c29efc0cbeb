"""Uploaded datasets: size limits, safe unzipping, and reading through the library's loaders.

An upload is JSON, an Excel workbook, or a zip of ``<table>.csv`` / ``<table>.parquet`` files.
The bytes are written to a private temporary folder under names the service chooses (the
client's file name only tells the format) and read with :func:`fupin_rules.api.load_data`, so an
upload is validated exactly as a file given to the CLI. Zips are checked before anything is
written: no absolute or ``..`` member names, no symlinks, no encrypted members, a bounded number
of members, bounded total size and compression ratio (zip bombs), and every member's real size is
counted while it is copied (declared sizes can lie). Workbooks, being zips, get the same checks.
"""

from __future__ import annotations

import io
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Literal

import attrs

from fupin_rules.api import load_data
from fupin_rules.domain.dataset import LoadResult
from fupin_rules.errors import FupinRulesError
from fupin_rules.runs.store import input_digest
from fupin_rules.service.problems import FieldError, Problem

__all__ = ["UploadFormat", "UploadLimits", "detect_upload_format", "load_upload"]

UploadFormat = Literal["json", "xlsx", "csv-zip", "parquet-zip"]
_CHUNK = 1 << 16


@attrs.frozen
class UploadLimits:
    """Limits on one upload (bytes as sent, bytes once unzipped, zip members, zip ratio)."""

    max_upload_bytes: int = 64 << 20
    max_unzipped_bytes: int = 512 << 20
    max_members: int = 64
    max_ratio: int = 200


def _bad(
    detail: str, *, field: str = "file", status: int = 422, kind: str = "bad-upload"
) -> Problem:
    return Problem(
        status, kind, "Upload refused", detail, [FieldError(field=field, message=detail)]
    )


def detect_upload_format(data: bytes, filename: str | None, declared: str | None) -> UploadFormat:
    """The format: as declared, else from the file name's suffix, else from the first bytes."""
    if declared:
        if declared not in ("json", "xlsx", "csv-zip", "parquet-zip"):
            raise _bad(
                f"format={declared!r}: expected json, xlsx, csv-zip or parquet-zip",
                field="format",
            )
        return declared  # type: ignore[return-value]
    suffix = PurePosixPath(filename or "").suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = [n.lower() for n in zf.namelist()]
        except zipfile.BadZipFile:
            raise _bad("the upload starts like a zip but is not a readable zip") from None
        if "[content_types].xml" in names:
            return "xlsx"
        if any(n.endswith(".parquet") for n in names):
            return "parquet-zip"
        return "csv-zip"
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        return "json"
    raise _bad(
        f"cannot tell the format of {filename or 'the upload'!r}: send a .json file, an .xlsx "
        "workbook, or a .zip of <table>.csv or <table>.parquet files (or give format=...)",
        field="format",
    )


def _check_zip(zf: zipfile.ZipFile, limits: UploadLimits) -> list[zipfile.ZipInfo]:
    """The members after the safety checks (directories left out)."""
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise _bad(f"the zip holds {len(infos)} entries; at most {limits.max_members} are read")
    total = 0
    files = []
    for info in infos:
        name = info.filename
        path = PurePosixPath(name)
        drive = bool(path.parts) and ":" in path.parts[0]
        if "\\" in name or name.startswith("/") or ".." in path.parts or drive:
            raise _bad(f"zip member {name!r}: absolute or parent-relative names are refused")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise _bad(f"zip member {name!r} is a symbolic link; links are refused")
        if info.flag_bits & 0x1:
            raise _bad(f"zip member {name!r} is encrypted; send it unencrypted")
        if info.is_dir():
            continue
        total += info.file_size
        if total > limits.max_unzipped_bytes:
            raise _bad(
                f"the zip unpacks to more than {limits.max_unzipped_bytes} bytes; split the upload",
                status=413,
                kind="too-large",
            )
        if info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise _bad(
                f"zip member {name!r} expands {info.file_size} bytes from {info.compress_size}; "
                f"more than {limits.max_ratio} times is refused (a zip bomb?)",
                status=413,
                kind="too-large",
            )
        files.append(info)
    return files


def _extract_tables(data: bytes, folder: Path, suffix: str, limits: UploadLimits) -> None:
    """Copy the ``<table>.<suffix>`` members of the zip flat into ``folder`` (checked)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = []
        for info in _check_zip(zf, limits):
            path = PurePosixPath(info.filename)
            if path.parts[0] == "__MACOSX" or path.name.startswith("."):
                continue  # the resource forks and .DS_Store a Mac adds
            if path.suffix.lower() != suffix:
                raise _bad(f"zip member {info.filename!r}: expected only <table>{suffix} files")
            members.append((info, path))
        if not members:
            raise _bad(f"the zip holds no <table>{suffix} files")
        seen: set[str] = set()
        budget = limits.max_unzipped_bytes
        for info, path in members:
            target = path.name.lower()
            if target in seen:
                raise _bad(f"zip member {info.filename!r}: table {path.stem!r} given twice")
            seen.add(target)
            with zf.open(info) as src, (folder / target).open("wb") as dst:
                written = 0
                while chunk := src.read(_CHUNK):
                    written += len(chunk)
                    budget -= len(chunk)
                    if written > info.file_size or budget < 0:
                        raise _bad(
                            f"zip member {info.filename!r} unpacks larger than it declares",
                            status=413,
                            kind="too-large",
                        )
                    dst.write(chunk)


def load_upload(
    data: bytes,
    *,
    filename: str | None = None,
    declared: str | None = None,
    limits: UploadLimits = UploadLimits(),
) -> tuple[LoadResult, str]:
    """Validate an uploaded dataset; a :class:`Problem` (4xx) when it cannot be read at all.

    Bad rows are issues of the returned result, as for any ledger. The digest is the run
    store's :func:`~fupin_rules.runs.input_digest` of the file (of the unzipped folder for a zip),
    as ``fupin-rules check --store`` records for the same file or folder.
    """
    if len(data) > limits.max_upload_bytes:
        raise _bad(
            f"the upload is {len(data)} bytes; at most {limits.max_upload_bytes} are accepted",
            status=413,
            kind="too-large",
        )
    fmt = detect_upload_format(data, filename, declared)
    tmp = Path(tempfile.mkdtemp(prefix="fupin-upload-"))
    try:
        if fmt == "json":
            target = tmp / "upload.json"
            target.write_bytes(data)
        elif fmt == "xlsx":
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as zf:
                    _check_zip(zf, limits)
            except zipfile.BadZipFile:
                raise _bad("the workbook is not a readable .xlsx file (zip)") from None
            target = tmp / "upload.xlsx"
            target.write_bytes(data)
        else:
            target = tmp / "upload"
            target.mkdir()
            try:
                _extract_tables(data, target, ".csv" if fmt == "csv-zip" else ".parquet", limits)
            except zipfile.BadZipFile:
                raise _bad("the upload is not a readable zip file") from None
        try:
            return load_data(target), input_digest(target)
        except FupinRulesError as exc:
            detail = str(exc).replace(str(tmp) + "/", "").replace(str(tmp), "")
            raise Problem(
                422,
                "bad-dataset",
                "The dataset cannot be read",
                detail,
                [FieldError(field="file", message=detail)],
            ) from None
        except (ValueError, TypeError, OSError, KeyError, zipfile.BadZipFile) as exc:
            # a reader library's own error on a corrupt file (openpyxl, pyarrow): still bad input
            detail = f"the {fmt} upload cannot be read: {type(exc).__name__}: {exc}"
            detail = detail.replace(str(tmp) + "/", "").replace(str(tmp), "")
            raise _bad(detail) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
