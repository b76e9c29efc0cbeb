"""Upload guards: zip bombs, path traversal, symlinks, encrypted members, size limits."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest

from fupin_rules.service.problems import Problem
from fupin_rules.service.uploads import UploadLimits, detect_upload_format, load_upload

COUNTY_CSV = b"county_id,name\n420323,Test\n"


def _zip(members: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def _refused(data: bytes, status: int, words: str, **kw: object) -> Problem:
    with pytest.raises(Problem) as info:
        load_upload(data, **kw)  # type: ignore[arg-type]
    assert info.value.status == status, info.value.detail
    assert words in info.value.detail, info.value.detail
    return info.value


def test_a_plain_csv_zip_loads() -> None:
    loaded, digest = load_upload(_zip([("county.csv", COUNTY_CSV)]), filename="x.zip")
    assert loaded.dataset.county.county_id == "420323"
    assert digest.startswith("sha256:") and len(digest) == 7 + 64


def test_one_top_folder_is_fine_and_mac_junk_is_ignored() -> None:
    data = _zip(
        [("县/county.csv", COUNTY_CSV), ("__MACOSX/._county.csv", b"x"), (".DS_Store", b"x")]
    )
    assert load_upload(data)[0].dataset.county.county_id == "420323"


@pytest.mark.parametrize(
    "name",
    [
        "../county.csv",
        "/etc/county.csv",
        "a/../../county.csv",
        "C:/county.csv",
        "a\\..\\county.csv",
    ],
)
def test_path_traversal_is_refused(name: str) -> None:
    _refused(_zip([(name, COUNTY_CSV)]), 422, "refused")


def test_symlinks_are_refused() -> None:
    info = zipfile.ZipInfo("county.csv")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    _refused(_zip([(info, b"/etc/passwd")]), 422, "symbolic link")


def test_encrypted_members_are_refused() -> None:
    data = bytearray(_zip([("county.csv", COUNTY_CSV)]))
    # set the encryption bit in the local header and the central directory entry
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        at = data.find(sig)
        off = at + (6 if sig == b"PK\x03\x04" else 8)
        data[off] |= 0x1
    _refused(bytes(data), 422, "encrypted")


def test_zip_bomb_by_ratio_is_refused() -> None:
    bomb = _zip([("county.csv", COUNTY_CSV), ("persons.csv", b"0" * (20 << 20))])
    _refused(bomb, 413, "zip bomb")


def test_unzipped_total_is_limited() -> None:
    data = _zip([("county.csv", COUNTY_CSV), ("persons.csv", b"person_id\n" + b"P1\n" * 4000)])
    _refused(data, 413, "unpacks to more than", limits=UploadLimits(max_unzipped_bytes=1000))


def test_member_count_is_limited() -> None:
    data = _zip([(f"t{i}.csv", b"a\n") for i in range(10)])
    _refused(data, 422, "entries", limits=UploadLimits(max_members=5))


def test_a_member_larger_than_declared_is_refused() -> None:
    data = bytearray(_zip([("county.csv", COUNTY_CSV * 50)]))
    # shrink the declared uncompressed size in the central directory (a lying archive)
    cd = data.find(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    with pytest.raises(Problem) as info:
        load_upload(bytes(data))
    assert info.value.status in (413, 422)


def test_other_files_in_a_zip_are_refused() -> None:
    _refused(_zip([("county.csv", COUNTY_CSV), ("run.sh", b"rm -rf /")]), 422, "expected only")


def test_upload_size_is_limited() -> None:
    _refused(b"{}" * 100, 413, "at most", limits=UploadLimits(max_upload_bytes=10))


def test_format_detection() -> None:
    assert detect_upload_format(b"{}", None, None) == "json"
    assert detect_upload_format(b"\xef\xbb\xbf {", "a", None) == "json"
    assert detect_upload_format(_zip([("a.parquet", b"x")]), None, None) == "parquet-zip"
    assert detect_upload_format(_zip([("a.csv", b"x")]), "a.zip", None) == "csv-zip"
    assert detect_upload_format(_zip([("[Content_Types].xml", b"x")]), None, None) == "xlsx"
    with pytest.raises(Problem):
        detect_upload_format(b"hello", "a.txt", None)
