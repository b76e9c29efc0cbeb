"""Author commands of the ``fupin-rules`` CLI: ``new-policy``, ``diff`` and ``fields``.

:func:`register` adds them to the main app (``fupin_rules.cli`` calls it at import). Exit codes
follow the main CLI: 0 done; 1 differences found with ``diff --exit-code``; 2 bad usage, input
or policy.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from fupin_rules._terminal import fail as _fail
from fupin_rules.errors import FupinRulesError

__all__ = ["register"]

EXIT_DIFFERENT = 1


def new_policy(
    name: Annotated[str, typer.Argument(help="Policy id, e.g. county_2018 ([a-z][a-z0-9_]*).")],
    directory: Annotated[
        Path, typer.Option("--dir", "-d", help="Create the package in DIR/NAME.")
    ] = Path("."),
) -> None:
    """Scaffold an installable policy package that passes validate and test at once."""
    from fupin_rules.authoring.scaffold import scaffold_policy

    try:
        result = scaffold_policy(name, directory)
    except FupinRulesError as exc:
        _fail(str(exc))
        return
    typer.echo(f"created policy package {name} in {result.root}")
    for path in result.files:
        typer.echo(f"  {path.relative_to(result.root)}")
    typer.echo("next:")
    typer.echo(f"  fupin-rules validate {result.policy_dir}")
    typer.echo(f"  fupin-rules test {result.policy_dir}")
    typer.echo(f"  pip install -e {result.root}   # then `fupin-rules policies` lists {name}")


def diff(
    before: Annotated[
        str, typer.Argument(help="First policy: installed name[@version] or folder.")
    ],
    after: Annotated[
        str, typer.Argument(help="Second policy: installed name[@version] or folder.")
    ],
    data: Annotated[
        str | None,
        typer.Option(
            help="Also run this dataset through both and list the subjects whose finding changes "
            "(JSON file, CSV/Parquet folder, .xlsx, or 'sample' for the bundled sample county)."
        ),
    ] = None,
    on: Annotated[str, typer.Option(help="As-of date YYYY-MM-DD for --data.")] = "2017-12-31",
    limit: Annotated[
        int, typer.Option(help="Changed findings listed in text output (0 = all).")
    ] = 20,
    output_format: Annotated[str, typer.Option("--format", help="text | json")] = "text",
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when anything differs (like git diff).")
    ] = False,
    ignore_period: Annotated[
        bool,
        typer.Option(
            "--ignore-period",
            help="Compare the rules' content as if both policies were in force on --on "
            "(e.g. a 2017 package against its 2018 successor); by default a policy outside its "
            "own period gives not-applicable findings.",
        ),
    ] = False,
) -> None:
    """What differs between two policies: parameters, rules, catalogues, variables, clauses;
    with --data, which subjects change finding (rule, subject, verdict/amount before → after)."""
    from fupin_rules.authoring.diff import diff_findings, diff_policies, diff_to_json, render_diff
    from fupin_rules.policy.discovery import load_policy

    if output_format not in ("text", "json"):
        _fail(f"--format {output_format!r}: expected text or json")
    try:
        as_of = dt.date.fromisoformat(on)
    except ValueError:
        _fail(f"--on {on!r} is not a date YYYY-MM-DD")
        return
    try:
        a, b = load_policy(before), load_policy(after)
        policy_diff = diff_policies(a, b)
        findings = None
        if data is not None:
            from fupin_rules._resources import sample_data_path
            from fupin_rules.api import load_data

            loaded = load_data(sample_data_path() if data == "sample" else Path(data))
            findings = diff_findings(a, b, loaded.dataset, as_of, ignore_period=ignore_period)
    except FupinRulesError as exc:
        _fail(str(exc))
        return
    if output_format == "json":
        typer.echo(json.dumps(diff_to_json(policy_diff, findings), ensure_ascii=False, indent=1))
    else:
        typer.echo(render_diff(policy_diff, findings, limit=limit))
    changed = not policy_diff.identical or bool(findings and findings.changes)
    if exit_code and changed:
        raise typer.Exit(EXIT_DIFFERENT)


def fields(
    entity: Annotated[
        str | None,
        typer.Argument(
            help="Entity kind (household), table (households) or Chinese name (户); "
            "without one: the list of entities."
        ),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="text | markdown (every entity) | json")
    ] = "text",
) -> None:
    """List an entity's fields: types, Chinese titles, ledger headers and allowed codes."""
    from fupin_rules.authoring.fields import (
        fields_json,
        fields_markdown,
        fields_text,
        find_entity,
    )

    if output_format not in ("text", "markdown", "json"):
        _fail(f"--format {output_format!r}: expected text, markdown or json")
    try:
        kind = find_entity(entity) if entity is not None else None
    except FupinRulesError as exc:
        _fail(str(exc))
        return
    if output_format == "markdown":
        if kind is not None:
            _fail("--format markdown writes the whole reference (docs/fields.md): drop ENTITY")
        typer.echo(fields_markdown())
    elif output_format == "json":
        typer.echo(json.dumps(fields_json(kind), ensure_ascii=False, indent=2))
    else:
        typer.echo(fields_text(kind))


def register(app: typer.Typer) -> None:
    """Add the author commands (``new-policy``, ``diff``, ``fields``) to the ``fupin-rules`` app."""
    app.command("new-policy")(new_policy)
    app.command("diff")(diff)
    app.command("fields")(fields)
