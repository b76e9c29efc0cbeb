"""The run store on the command line: ``fupin-rules runs`` and what ``check --store/--since`` do.

:func:`register` adds ``runs`` to the main app; :func:`record_and_track` is called by ``check``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from fupin_rules._terminal import fail
from fupin_rules.errors import FupinRulesError

__all__ = ["record_and_track", "register"]


def record_and_track(
    ev: Any,
    dataset: Any,
    data_path: Path,
    *,
    store_path: Path | None,
    since: str | None,
    policy_ref: str,
    subjects: Any = None,
) -> Any:
    """Record the run in the store (when ``store_path``) and compare it with ``since``.

    ``subjects``: the dataset's :class:`~fupin_rules.reports.subjects.SubjectDirectory` when
    the caller has built it already (``check`` builds it once for this and its reports).

    ``since`` is a JSON report path, a stored run id, or ``last`` (the latest earlier stored
    run of the same policy id and county). With a store and no ``since``, the run is compared
    with the latest earlier stored run, if any. Returns the
    :class:`~fupin_rules.runs.tracking.Tracking` or None.
    """
    from fupin_rules.runs.store import RunStore, default_store_path, input_digest
    from fupin_rules.runs.tracking import (
        Baseline,
        Locator,
        baseline_from_report,
        baseline_from_store,
        track,
    )

    locator = Locator.from_dataset(dataset, subjects=subjects)
    county_id = dataset.county.county_id
    store = None
    current = None
    from fupin_rules.reports.json_report import REPORT_FORMATS  # what check --out writes

    is_report = since is not None and since.lower().endswith(tuple(REPORT_FORMATS))
    need_store = store_path is not None or (since is not None and not is_report)
    try:
        if need_store:
            store = RunStore(store_path or default_store_path(), create=store_path is not None)
        if store is not None and store_path is not None:
            current = store.record_run(
                ev,
                input_name=data_path.name,
                input_digest=input_digest(data_path),
                county_id=county_id,
                policy_ref=policy_ref,
                locate=locator.place,
            )
        baseline: Baseline | None = None
        if since is not None and (is_report or Path(since).is_file()):
            baseline = baseline_from_report(since)
        elif store is not None:
            earlier = [
                r
                for r in store.runs(policy_id=ev.policy_id, county_id=county_id)
                if current is None or r.run_id < current.run_id
            ]
            if since is None or since == "last":
                if earlier:
                    baseline = baseline_from_store(store, earlier[-1].run_id)
                elif since == "last":
                    raise FupinRulesError(
                        f"--since last: the store {store.path} has no earlier run of "
                        f"{ev.policy_id} for county {county_id}"
                    )
            else:
                try:
                    run_id = int(since)
                except ValueError:
                    raise FupinRulesError(
                        f"--since {since!r}: expected a JSON report file, a stored run id or 'last'"
                    ) from None
                baseline = baseline_from_store(store, run_id)
        if baseline is None:
            return None
        return track(
            ev.findings,
            baseline,
            locator=locator,
            store=store,
            current_run=current,
            policy=(ev.policy_id, ev.policy_version, ev.policy_hash),
        )
    finally:
        if store is not None:
            store.close()


def print_tracking(tracking: Any) -> None:
    """The comparison's counts on stdout: overall, by township, and by village under its
    township (township-level and county-level problems count in the township / "(unknown)")."""
    from fupin_rules._terminal import printable
    from fupin_rules.runs.tracking import STATUSES

    c = tracking.counts()
    typer.echo(
        f"since {tracking.baseline}: " + ", ".join(f"{STATUSES[s]} {s} {c[s]}" for s in STATUSES)
    )
    if tracking.policy_change:
        typer.echo(f"policy version changed (政策版本变更): {tracking.policy_change}")
    villages_of: dict[str, set[str]] = {}
    for p in tracking.problems:
        if p.place.village_id:
            villages_of.setdefault(p.place.township_id, set()).add(p.place.village_id)
    by_village = tracking.by_area("village")
    for township, counts in tracking.by_area("township").items():
        name = tracking.township_names.get(township, "")
        typer.echo(
            printable(f"  {township or '(unknown)'} {name}: ")  # ledger text
            + ", ".join(f"{s} {counts[s]}" for s in STATUSES)
        )
        for village in sorted(villages_of.get(township, ())):
            vname = tracking.village_names.get(village, "")
            typer.echo(
                printable(f"    {village} {vname}: ")  # ledger text
                + ", ".join(f"{s} {by_village[village][s]}" for s in STATUSES)
            )


def runs_cmd(
    store: Annotated[
        Path | None,
        typer.Option(
            "--store", help="Run store file (default: $FUPIN_RULES_STORE or ./fupin-runs.sqlite)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per run.")] = False,
) -> None:
    """List the runs recorded in the run store (check --store)."""
    from fupin_rules.runs.store import RunStore, default_store_path

    path = store or default_store_path()
    try:
        with RunStore(path, create=False) as rs:
            runs = rs.runs()
    except FupinRulesError as exc:
        fail(str(exc))
    if as_json:
        for r in runs:
            typer.echo(
                json.dumps(
                    {
                        "run_id": r.run_id,
                        "recorded_at": r.recorded_at.isoformat(),
                        "policy": {
                            "ref": r.policy_ref,
                            "id": r.policy_id,
                            "version": r.policy_version,
                            "hash": r.policy_hash,
                        },
                        "on": r.on.isoformat(),
                        "county": r.county_id,
                        "input": {"name": r.input_name, "digest": r.input_digest},
                        "engine": r.engine,
                        "findings": r.findings,
                        "problems": r.problems,
                        "unknown": r.unknown,
                        "unit_errors": r.unit_errors,
                        "rejected_rows": r.rejected_rows,
                    },
                    ensure_ascii=False,
                )
            )
        return
    if not runs:
        typer.echo(f"{os.fspath(path)}: no runs recorded")
        return
    typer.echo("run\trecorded_at\tpolicy\ton\tcounty\tinput\tengine\tproblems\tunknown")
    for r in runs:
        typer.echo(
            f"{r.run_id}\t{r.recorded_at.isoformat()}\t{r.policy_id} {r.policy_version} "
            f"({r.policy_hash[:12]})\t{r.on.isoformat()}\t{r.county_id}\t{r.input_name} "
            f"({r.input_digest[7:19]})\t{r.engine}\t{r.problems}\t{r.unknown}"
        )


def register(app: typer.Typer) -> None:
    """Add ``runs`` to the main CLI."""
    app.command("runs")(runs_cmd)
