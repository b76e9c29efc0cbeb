"""docs/runs.md does what it says: its Python blocks run, its SQL runs against a real store,
its shell commands parse with the CLI's own options."""

from __future__ import annotations

import datetime as dt
import re
import shlex
import sqlite3
from pathlib import Path

import pytest
import typer

from fupin_rules.cli import app
from fupin_rules.runs import RunStore

DOC = Path(__file__).resolve().parents[3] / "docs" / "runs.md"


def blocks(lang: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_the_python_blocks_run() -> None:
    namespace: dict[str, object] = {}
    code = blocks("python")
    assert len(code) >= 2
    for block in code:
        exec(compile(block, str(DOC), "exec"), namespace)


def test_the_sql_blocks_run_against_a_store(tmp_path: Path) -> None:
    import fupin_rules as fr
    from fupin_rules.batch import evaluate_batch
    from fupin_rules.cli import sample_data_path
    from fupin_rules.runs import Locator

    loaded = fr.load_data(sample_data_path())
    ev = evaluate_batch("county_2017", loaded, dt.date(2017, 12, 31))
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        for _ in range(2):
            store.record_run(
                ev,
                input_name="s",
                input_digest="sha256:0",
                county_id="420323",
                locate=Locator.from_dataset(loaded.dataset).place,
            )
    db = sqlite3.connect(path)
    queries = blocks("sql")
    assert len(queries) >= 3
    results = [db.execute(q).fetchall() for q in queries]
    assert sum(n for _, n in results[0]) == len(ev.problems())
    assert [r[0] for r in results[1]] == [1, 2]
    assert results[2] == []  # the same data twice: nothing new


def test_the_shell_commands_parse() -> None:
    command = typer.main.get_command(app)
    lines = [
        line.split("#")[0].strip()
        for block in blocks("sh")
        for line in block.splitlines()
        if line.startswith("fupin-rules ")
    ]
    assert len(lines) >= 4
    for line in lines:
        args = shlex.split(line)[1:]
        sub = command.get_command(None, args[0])  # type: ignore[attr-defined]
        assert sub is not None, line
        try:
            sub.make_context(args[0], args[1:])
        except Exception as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{line}: {exc}")
