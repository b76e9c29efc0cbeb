"""The fast policy YAML reader (libyaml) gives what ruamel's round-trip reader gives: the same
values and types, and the same line/column marks the loader's messages cite; what it does not
reproduce it leaves to ruamel."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fupin_rules.policy._yaml import Unsupported, load_fast

ROOT = Path(__file__).resolve().parents[3]
FILES = sorted(
    f
    for folder in ("policies", "examples", "tests/data")
    for f in (ROOT / folder).rglob("*.yaml")
    if ".venv" not in f.parts
)


def _same(fast: Any, ref: Any, where: str) -> None:
    if isinstance(ref, CommentedMap | CommentedSeq):
        assert type(fast) is type(ref), where
        assert (fast.lc.line, fast.lc.col) == (ref.lc.line, ref.lc.col), where
        keys = list(ref.keys()) if isinstance(ref, CommentedMap) else list(range(len(ref)))
        assert (
            list(fast.keys()) if isinstance(fast, CommentedMap) else list(range(len(fast)))
        ) == keys
        for k in keys:
            assert fast.lc.data.get(k) == ref.lc.data.get(k), f"{where}.{k}"
            _same(fast[k], ref[k], f"{where}.{k}")
    else:
        assert fast == ref, where
        assert isinstance(fast, type(ref)) or isinstance(ref, type(fast)), where
        assert isinstance(fast, bool) == isinstance(ref, bool), where


def test_there_are_policy_files() -> None:
    assert len(FILES) > 40


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_fast_reader_equals_ruamel(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    _same(load_fast(text), YAML(typ="rt").load(text), path.name)


def test_yaml_1_2_scalars_as_ruamel_reads_them() -> None:
    text = "on: 2017-09-01\nyes: no\nn: 0.02\nk: 50000\nt: true\nz: ~\ns: '007'\n"
    got = load_fast(text)
    assert dict(got) == dict(YAML(typ="rt").load(text))
    assert got["on"] == dt.date(2017, 9, 1) and got["yes"] == "no" and got["t"] is True


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # duplicate key: ruamel reports it
        "a: &x {b: 1}\nc: *x\n",  # alias
        "a: {<<: {b: 1}}\n",  # merge key
        "a: !custom 1\n",  # a tag
        "a: 0x1F\n",  # not a decimal number
        "a: " + "1" * 101 + "\n",  # more digits than a policy number has: the loader says so
        "a: 2017-09-01 10:00:00\n",  # a time of day
        "? [a, b]\n: 1\n",  # a key that is a list
    ],
)
def test_what_it_does_not_reproduce_is_left_to_ruamel(text: str) -> None:
    with pytest.raises(Unsupported):
        load_fast(text)


def test_a_duplicate_key_is_still_reported_with_its_place(
    tmp_path: Path, mini_policy_dir: Path
) -> None:
    import shutil

    from fupin_rules.errors import PolicyLoadError
    from fupin_rules.policy.loader import load_policy_dir

    folder = tmp_path / "p"
    shutil.copytree(mini_policy_dir, folder)
    meta = folder / "policy.yaml"
    meta.write_text(meta.read_text(encoding="utf-8") + "version: 9.9.9\n", encoding="utf-8")
    with pytest.raises(PolicyLoadError, match=r"policy\.yaml:\d+:\d+: invalid YAML.*duplicate"):
        load_policy_dir(folder)


def test_an_integer_too_long_is_named_by_the_loader(tmp_path: Path, mini_policy_dir: Path) -> None:
    """Not read by the fast path, so the loader's digit check reports it (file:line:col)."""
    import shutil

    from fupin_rules.errors import PolicyLoadError
    from fupin_rules.policy.loader import load_policy_dir

    folder = tmp_path / "p"
    shutil.copytree(mini_policy_dir, folder)
    params = next((folder / "parameters").glob("*.yaml"))
    text = params.read_text(encoding="utf-8")
    assert "value: 50000}" in text
    params.write_text(text.replace("value: 50000}", "value: " + "1" * 150 + "}", 1), "utf-8")
    with pytest.raises(PolicyLoadError, match=r"an integer of 150 digits"):
        load_policy_dir(folder)
