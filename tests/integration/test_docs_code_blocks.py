"""Every code block of the README.md files and docs/ runs or parses (issue 13).

* ``python``: the blocks of one page run in order, in one fresh interpreter, in an empty
  temporary folder. A block with a ``# not run: <reason>`` line is only compiled. A line ending
  in ``# => TEXT`` must print exactly the line TEXT; a ``text`` block right after a Python
  block is its output: every line of it must be printed (content hashes may differ).
* ``yaml``: parses. A block whose first line is ``# file: PKG/PATH`` is the whole file PATH of
  the policy folder PKG that the page builds; each such package must load (validate) and pass
  its own cases, and an ``extends`` naming another package of the page resolves to it.
* ``sh``: parses (``bash -n``); ``json``: parses; ``sql``: a complete SQLite statement;
  ``text``: output, see above. Any other language fails this test until it is handled here.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    *sorted(
        p
        for p in ROOT.rglob("README.md")
        if not {".venv", "_build", "node_modules", ".git"} & set(p.relative_to(ROOT).parts)
    ),
    *sorted((ROOT / "docs").rglob("*.md")),
]
KNOWN = {"python", "yaml", "sh", "json", "sql", "text"}
NOT_RUN = re.compile(r"^\s*# not run: \S", re.M)
PRINTS = re.compile(r"#\s*=>\s*(.+?)\s*$")
FILE = re.compile(r"^# file: (\w+)/(\S+)")
HASH = re.compile(r"\b[0-9a-f]{12}\b")


def _blocks(page: Path) -> list[tuple[str, str, int]]:
    """(language, body, offset after the closing fence) of each fenced block in page order;
    MyST directives (```{toctree} ...) are not code and are left out."""
    out: list[tuple[str, str, int]] = []
    lang: str | None = None
    body: list[str] = []
    offset = 0
    for line in page.read_text(encoding="utf-8").splitlines(keepends=True):
        offset += len(line)
        if lang is None and line.startswith("```"):
            info = line.strip()[3:].strip()
            lang, body = (info.split()[0] if info else ""), []
        elif lang is not None and line.strip() == "```":
            if not lang.startswith("{"):
                out.append((lang, "".join(body), offset))
            lang = None
        elif lang is not None:
            body.append(line)
    assert lang is None, f"{page.name}: a code fence is never closed"
    return out


def _pages_with(lang: str) -> list[Path]:
    return [p for p in PAGES if any(kind == lang for kind, _, _ in _blocks(p))]


def _id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def test_every_block_has_a_known_language() -> None:
    unknown = {
        f"{_id(p)}: ```{kind}" for p in PAGES for kind, _, _ in _blocks(p) if kind not in KNOWN
    }
    assert not unknown, "add a fence language this test handles (or handle it here)"


@pytest.mark.parametrize("page", _pages_with("python"), ids=_id)
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    text = page.read_text(encoding="utf-8")
    blocks = _blocks(page)
    code: list[str] = []
    expected: list[str] = []
    for i, (kind, body, end) in enumerate(blocks):
        if kind != "python":
            continue
        compile(body, f"{_id(page)} block {i}", "exec")  # every block parses
        if NOT_RUN.search(body):
            continue
        code.append(body)
        expected.extend(m.group(1) for line in body.splitlines() if (m := PRINTS.search(line)))
        if i + 1 < len(blocks) and blocks[i + 1][0] == "text":
            between = text[end : text.index("```text", end)]
            if not between.strip():  # the text block right after is this code's output
                expected.extend(line for line in blocks[i + 1][1].splitlines() if line.strip())
    if not code:
        pytest.skip(f"every Python block of {_id(page)} is marked '# not run'")
    proc = subprocess.run(
        [sys.executable, "-c", "\n".join(code)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = {HASH.sub("<hash>", line.rstrip()) for line in proc.stdout.splitlines()}
    missing = [line for line in expected if HASH.sub("<hash>", line.rstrip()) not in printed]
    assert not missing, f"{_id(page)} says these lines print, they do not:\n" + "\n".join(missing)


@pytest.mark.parametrize("page", _pages_with("yaml"), ids=_id)
def test_yaml_blocks_parse(page: Path) -> None:
    for kind, body, _ in _blocks(page):
        if kind == "yaml":
            yaml.safe_load(body)


def _packages(page: Path) -> dict[str, dict[str, str]]:
    """Package folder name -> path in the policy folder -> the file's text, in page order."""
    out: dict[str, dict[str, str]] = {}
    for kind, body, _ in _blocks(page):
        m = FILE.match(body) if kind == "yaml" else None
        if m:
            files = out.setdefault(m.group(1), {})
            assert m.group(2) not in files, f"{m.group(0)} given twice in {_id(page)}"
            files[m.group(2)] = body
    return out


@pytest.mark.parametrize("page", [p for p in _pages_with("yaml") if _packages(p)], ids=_id)
def test_policy_files_of_a_page_make_a_valid_package(page: Path, tmp_path: Path) -> None:
    import fupin_rules as fr
    from fupin_rules.policy.discovery import load_policy
    from fupin_rules.policy.loader import load_policy_dir

    built: dict[str, fr.Policy] = {}

    def parent(ref: str) -> fr.Policy:
        return built[ref] if ref in built else load_policy(ref)

    for name, files in _packages(page).items():
        folder = tmp_path / name
        for rel, body in files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(body, encoding="utf-8")
        policy = load_policy_dir(folder, resolve_parent=parent)
        results = fr.run_cases(policy, fr.get_engine("reference"))
        assert not {r.case_id: r.failures for r in results if not r.passed}, name
        built[policy.id] = policy


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
@pytest.mark.parametrize("page", _pages_with("sh"), ids=_id)
def test_shell_blocks_parse(page: Path) -> None:
    for kind, body, _ in _blocks(page):
        if kind == "sh":
            proc = subprocess.run(["bash", "-n"], input=body, text=True, capture_output=True)
            assert proc.returncode == 0, f"{_id(page)}:\n{body}\n{proc.stderr}"


@pytest.mark.parametrize("page", _pages_with("json"), ids=_id)
def test_json_blocks_parse(page: Path) -> None:
    for kind, body, _ in _blocks(page):
        if kind == "json":
            json.loads(body)


@pytest.mark.parametrize("page", _pages_with("sql"), ids=_id)
def test_sql_blocks_are_complete_statements(page: Path) -> None:
    for kind, body, _ in _blocks(page):
        if kind == "sql":
            assert sqlite3.complete_statement(body), body


def test_authoring_guide_shows_what_validate_and_test_print(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/authoring.md section 8: the output block is what ``validate`` and ``test -v``
    print for the package the guide builds."""
    from fupin_rules.cli import EXIT_OK, main

    page = ROOT / "docs" / "authoring.md"
    folder = tmp_path / "POLICY"
    for rel, body in _packages(page)["POLICY"].items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(body, encoding="utf-8")
    assert main(["validate", str(folder)]) == EXIT_OK
    assert main(["test", str(folder), "-v"]) == EXIT_OK
    printed = HASH.sub("<hash>", capsys.readouterr().out).strip()
    (shown,) = [b for k, b, _ in _blocks(page) if k == "text" and b.startswith("guide_demo@")]
    assert printed == HASH.sub("<hash>", shown).strip()
