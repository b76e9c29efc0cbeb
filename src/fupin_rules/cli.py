"""The ``fupin-rules`` command line.

Exit codes (for scripts): 0 the command completed; 1 problems were found and
``--fail-on-problems`` was given (or cases failed in ``test``); 2 bad usage, input, policy or
output path (nothing was evaluated, or no report was written); 3 the run completed but some
units failed (see ``unit_errors``); 130 interrupted (Ctrl-C, SIGINT): no report was written or
changed.

Reports are checked before the run (``--out``/``--excel``/``--html``: not a folder, device or
the input ledger, in an existing writable folder) and written beside their targets, then renamed
over them together once all are complete. Ledger text printed to the terminal has its control
characters shown as ``\\xNN`` escapes (no ANSI/OSC sequences reach the terminal).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from fupin_rules._cli_help import HelpGroup
from fupin_rules._gc import gc_paused
from fupin_rules._resources import sample_data_path
from fupin_rules._terminal import fail as _fail
from fupin_rules._terminal import printable
from fupin_rules.api import AUTO_BATCH_HOUSEHOLDS
from fupin_rules.errors import FupinRulesError

app = typer.Typer(
    name="fupin-rules",
    help="Poverty-alleviation (扶贫) policy checks: eligibility, compliance, problem lists (问题清单).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=HelpGroup,
)

EXIT_OK, EXIT_PROBLEMS, EXIT_INPUT, EXIT_UNIT_ERRORS = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a process ended by Ctrl-C
DEFAULT_POLICY = "county_2017"
DEFAULT_ON = "2017-12-31"

#: the languages of explanations (``--lang``)
Lang = Literal["zh", "en"]
#: the engines a whole-dataset run accepts (``--engine``)
RunEngine = Literal["auto", "batch", "reference", "inference"]
#: the per-case engines (``test --engine``; ``batch`` evaluates whole datasets only)
CaseEngine = Literal["auto", "inference", "reference"]


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD") from None


@contextlib.contextmanager
def _output() -> Iterator[None]:
    """Print to stdout; a reader that stops early (``check | head``) ends the printing only.

    The command goes on and exits with its own code, as if everything had been read: the rest
    of the output goes to the null device (Python's documented way), so the interpreter's
    final flush does not fail either.
    """
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _say(text: str) -> None:
    """Echo text that may carry ledger text (names, messages), its control characters escaped."""
    typer.echo(printable(text))


def _write_text_output(opt: str, path: Path, text: str) -> None:
    """Write one text output (``schema --out``, ``coverage --out``) checked first, atomically."""
    from fupin_rules.reports._files import OutputPlan

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    try:
        with OutputPlan({opt: path}) as plan:
            plan.check()
            plan.write(opt, write)
            plan.commit()
    except FupinRulesError as exc:
        _fail(str(exc))


def _evaluate_with_progress(
    policy: Any, loaded: Any, as_of: dt.date, engine: str, quiet: bool
) -> Any:
    """Evaluate with a progress bar on stderr (rich; hidden with --quiet or when not a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from fupin_rules.api import evaluate

    ds = loaded.dataset
    total = len(ds.households) + len(ds.villages) + 1
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    ) as bar:
        task = bar.add_task("回头看 checking", total=total)

        def step(stratum: str, n: int) -> None:
            bar.update(task, advance=n, description=f"回头看 checking ({stratum})")

        return evaluate(policy, loaded, as_of, engine=engine, progress=step)


@app.command()
def check(
    data: Annotated[
        Path | None,
        typer.Argument(
            help="Dataset: JSON file, CSV/Parquet folder or .xlsx. Default: the bundled sample county."
        ),
    ] = None,
    policy: Annotated[
        str, typer.Option("--policy", "-p", help="Installed policy name[@version] or folder.")
    ] = DEFAULT_POLICY,
    on: Annotated[str, typer.Option(help="As-of date YYYY-MM-DD.", metavar="DATE")] = DEFAULT_ON,
    engine: Annotated[
        RunEngine,
        typer.Option(
            help=f"auto: batch from {AUTO_BATCH_HOUSEHOLDS} households up, else reference "
            "(the fastest per-case engine)."
        ),
    ] = "auto",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the machine-readable report here, in the form its name asks for: "
            ".json, .json.gz (compressed), .jsonl or .jsonl.gz (JSON Lines); see docs/reports.md.",
        ),
    ] = None,
    problems_only: Annotated[
        bool,
        typer.Option(
            "--problems-only",
            help="List only the problems (问题清单) in --out; its counts, data to collect and "
            "errors stay complete (a compact report).",
        ),
    ] = False,
    excel: Annotated[
        Path | None, typer.Option(help="Write the Excel problem list (问题清单) here.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option(help="Write the self-contained HTML report here.")
    ] = None,
    lang: Annotated[Lang, typer.Option(help="Language of the explanations printed.")] = "zh",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    fail_on_problems: Annotated[
        bool, typer.Option(help="Exit 1 when problems were found.")
    ] = False,
    store: Annotated[
        Path | None,
        typer.Option(
            help="Record this run in the run store (SQLite file, created if missing; see docs/runs.md)."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Compare the problems with an earlier run: a JSON report (--out), a stored run id, "
            "or 'last' (new / persisting / fixed / regressed)."
        ),
    ] = None,
    text_stated_only: Annotated[
        bool,
        typer.Option(
            "--text-stated-only",
            help="Run only the rules that rest on no assumed reading, catalogue or parameter "
            "value (problems the document's text states).",
        ),
    ] = False,
) -> None:
    """Run the whole dataset through a policy (回头看) and report the problems found."""
    import attrs

    from fupin_rules.api import choose_engine, load_data
    from fupin_rules.reports._files import OutputPlan
    from fupin_rules.reports.json_report import report_format, write_report_file

    as_of = _date(on)
    if problems_only and out is None:
        _fail("--problems-only lists the problems of the --out report: give --out FILE too")
    path = data or sample_data_path()
    outputs = OutputPlan({"--out": out, "--excel": excel, "--html": html}, inputs=[path])
    try:
        outputs.check()  # before the run: a bad path must not cost a county's run
    except FupinRulesError as exc:
        _fail(str(exc))
    policy_arg: Any = policy
    if text_stated_only:
        from fupin_rules.policy.discovery import load_policy
        from fupin_rules.policy.model import text_stated_only as reduce_to_text

        try:
            full = load_policy(policy)
        except FupinRulesError as exc:
            _fail(str(exc))
            return
        policy_arg = reduce_to_text(full)
        skipped = sorted(r.id for r in full.rules if full.assumed_basis(r))
        if not quiet:
            typer.echo(
                f"text-stated rules only: {len(policy_arg.rules)} of {len(full.rules)} rules run; "
                f"skipped (resting on assumptions): {', '.join(skipped) or 'none'}"
            )
    # one short-lived job building millions of acyclic objects (records, findings, rows): the
    # cyclic collector's passes over them cost a third of the time of a large county (measured)
    with gc_paused():
        try:
            loaded = load_data(path)
            chosen, reason = choose_engine(engine, loaded.dataset)
            if chosen == "batch":
                from fupin_rules.batch import evaluate_batch

                ev = evaluate_batch(policy_arg, loaded, as_of, materialize="reports")
            else:
                ev = _evaluate_with_progress(policy_arg, loaded, as_of, chosen, quiet)
            ev = attrs.evolve(ev, engine_reason=reason)
        except FupinRulesError as exc:
            _fail(str(exc))
            return
        from fupin_rules.reports.subjects import SubjectDirectory

        tracking = None
        subjects = None  # who is who: indexed once for the store's places and the reports
        if store is not None or since is not None:
            from fupin_rules.runs.cli import record_and_track

            subjects = SubjectDirectory.from_dataset(loaded.dataset)
            try:
                tracking = record_and_track(
                    ev,
                    loaded.dataset,
                    path,
                    store_path=store,
                    since=since,
                    policy_ref=policy,
                    subjects=subjects,
                )
            except FupinRulesError as exc:
                _fail(str(exc))
                return
        try:
            if out:
                outputs.write(
                    "--out",
                    lambda tmp: write_report_file(
                        ev,
                        tmp,
                        form=report_format(out),
                        tracking=tracking,
                        problems_only=problems_only,
                    ),
                )
            if (excel or html) and subjects is None:
                subjects = SubjectDirectory.from_dataset(loaded.dataset)
            if excel:
                from fupin_rules.reports.excel import write_problem_list

                outputs.write(
                    "--excel",
                    lambda tmp: write_problem_list(
                        ev, tmp, dataset=loaded.dataset, tracking=tracking, subjects=subjects
                    ),
                )
            if html:
                from fupin_rules.reports.html import write_html_report

                outputs.write(
                    "--html",
                    lambda tmp: write_html_report(
                        ev, tmp, dataset=loaded.dataset, tracking=tracking, subjects=subjects
                    ),
                )
            outputs.commit()  # all reports or none
        except FupinRulesError as exc:
            _fail(str(exc))
            return
        finally:
            outputs.discard()  # an interrupt or a failure leaves every previous report as it was
    if not quiet:
        with _output():
            _print_check(ev, path, out, lang, tracking)
    if ev.errors:
        raise typer.Exit(EXIT_UNIT_ERRORS)
    if fail_on_problems and ev.problems():
        raise typer.Exit(EXIT_PROBLEMS)


def _print_check(ev: Any, path: Path, out: Path | None, lang: str, tracking: Any) -> None:
    """The summary ``check`` prints: provenance, counts, tracking, the first problems."""
    from fupin_rules.reports.json_report import summary

    s = summary(ev)
    typer.echo(
        f"{ev.policy_id} {ev.policy_version} ({ev.policy_hash[:12]}) as of {ev.on} on {path.name}, engine {ev.engine_reason or ev.engine}"
    )
    typer.echo(
        f"findings {s['findings']}: pass {s['by_verdict']['pass']}, fail {s['by_verdict']['fail']}, "
        f"unknown {s['by_verdict']['unknown']}; problems (问题) {s['problems']}; "
        f"rejected rows {s['rejected_rows']}; unit errors {s['unit_errors']}"
        + (f"; input warnings {s['input_warnings']}" if s.get("input_warnings") else "")
    )
    if s["problems_assumed"]:  # the 问题清单 in two parts (issue 12)
        typer.echo(
            f"  problems stated by the text (文件明确) {s['problems_text_stated']}, "
            f"resting on assumptions (依据假设) {s['problems_assumed']}"
        )
    from fupin_rules.reports.json_report import not_in_force_notice

    notice = not_in_force_notice(ev)
    if notice is not None:  # outside the policy's own period: never a silent answer
        _say(notice[0] if lang == "zh" else notice[1])
    if tracking is not None:
        from fupin_rules.runs.cli import print_tracking

        print_tracking(tracking)
    from fupin_rules.findings.render import explain

    for f in ev.problems()[:5]:
        typer.echo("")
        _say(explain(f, lang))
    if len(ev.problems()) > 5:
        typer.echo(
            f"\n... {len(ev.problems()) - 5} more problems"
            + (f" in {out}" if out else " (use --out)")
        )


@app.command("explain")
def explain_cmd(
    rule: Annotated[str, typer.Option(help="Rule id, e.g. person.rain_and_dew.grant")],
    subject: Annotated[
        str, typer.Option(help="Subject id (person, household, village or county id)")
    ],
    data: Annotated[
        Path | None, typer.Argument(help="Dataset (default: bundled sample county)")
    ] = None,
    policy: Annotated[
        str, typer.Option("--policy", "-p", help="Installed policy name[@version] or folder.")
    ] = DEFAULT_POLICY,
    on: Annotated[str, typer.Option(help="As-of date YYYY-MM-DD.", metavar="DATE")] = DEFAULT_ON,
    lang: Annotated[
        Literal["zh", "en", "json"],
        typer.Option(help="Chinese or English text, or the finding as JSON."),
    ] = "zh",
    engine: Annotated[
        RunEngine, typer.Option(help="Engine answering the query (batch: the per-case one).")
    ] = "auto",
) -> None:
    """Explain one finding: verdict, clause, every condition with its values, parameters used."""
    from fupin_rules.api import Evaluator
    from fupin_rules.findings.render import explain, finding_to_json

    try:
        ev = Evaluator(policy, data or sample_data_path(), engine=engine)
        f = ev.finding(rule, subject, _date(on))
    except FupinRulesError as exc:  # an unknown rule id too (did you mean ...)
        _fail(str(exc))
        return
    if lang == "json":
        # C0 controls are escaped by json; C1 ones (U+009B, a one-character CSI) are not
        _say(json.dumps(finding_to_json(f), ensure_ascii=False, indent=1))
    else:
        _say(explain(f, lang))


@app.command()
def policies() -> None:
    """List the installed policy packages (entry-point group fupin_rules.policies)."""
    from fupin_rules.policy.discovery import available_policies, load_policy

    found = available_policies()
    if not found:
        typer.echo("no policy packages installed")
    for name, path in sorted(found.items()):
        try:
            pol = load_policy(name)
            typer.echo(
                f"{name}\t{pol.version}\t{pol.content_hash[:12]}\t{len(pol.rules)} rules\t{pol.meta.title.zh}\t{path}"
            )
        except FupinRulesError as exc:
            typer.echo(f"{name}\tBROKEN\t{path}\n{exc}")


@app.command()
def schema(
    table: Annotated[
        str | None,
        typer.Option(
            help="One table (county, villages, households, ...) instead of the whole dataset."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the schema here (default: print).")
    ] = None,
) -> None:
    """Print the JSON Schema of the dataset input (for systems that feed this library)."""
    from fupin_rules.domain.jsonschema import dataset_json_schema, record_json_schema

    try:
        doc: Any = record_json_schema(table) if table else dataset_json_schema()
    except KeyError:
        _fail(f"unknown table {table!r}")
        return
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    if out:
        _write_text_output("--out", out, text + "\n")
    else:
        typer.echo(text)


@app.command()
def test(
    policy: Annotated[str, typer.Argument(help="Policy folder or installed name")] = DEFAULT_POLICY,
    engine: Annotated[CaseEngine, typer.Option(help="Per-case engine running the cases.")] = "auto",
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every case, not only the failing ones.")
    ] = False,
) -> None:
    """Run a policy package's case files and report like pytest."""
    from fupin_rules.api import get_engine
    from fupin_rules.engine.cases import run_cases
    from fupin_rules.policy.discovery import load_policy

    try:
        pol = load_policy(policy)
        results = run_cases(pol, get_engine(engine))
    except FupinRulesError as exc:
        _fail(str(exc))
        return
    failed = [r for r in results if not r.passed]
    for r in results:
        if verbose or not r.passed:
            typer.echo(f"{r.case_id} {'PASSED' if r.passed else 'FAILED'}  ({r.origin})")
            for msg in r.failures:
                typer.echo(f"    {msg}")
    typer.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(EXIT_PROBLEMS)


@app.command()
def validate(
    policy: Annotated[str, typer.Argument(help="Policy folder or installed name")] = DEFAULT_POLICY,
) -> None:
    """Validate a policy package (schema, expressions, citations, cycles); list every problem."""
    from fupin_rules.policy.discovery import load_policy
    from fupin_rules.policy.lint import status_labels, unused

    try:
        pol = load_policy(policy)
    except FupinRulesError as exc:
        _fail(str(exc))
        return
    warnings = unused(pol) + status_labels(pol)
    for w in warnings:
        typer.echo(f"warning: {w}")
    typer.echo(
        f"{pol.ref}: OK — {len(pol.rules)} rules, {len(pol.variables)} variables, "
        f"{len(pol.parameters)} parameters, {len(pol.catalogues)} catalogues, {len(pol.cases)} cases"
    )


@app.command()
def generate(
    out: Annotated[
        Path, typer.Argument(help="Output: a folder (Parquet/CSV), a .json or an .xlsx file.")
    ],
    households: Annotated[int, typer.Option(help="Number of households.", min=1)] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same county).")] = 2017,
    villages: Annotated[
        int | None, typer.Option(help="Number of villages (default households/500).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="parquet | csv | json | xlsx (default from OUT)")
    ] = "",
    perfect: Annotated[
        bool, typer.Option(help="No deliberate problems or missing values.")
    ] = False,
) -> None:
    """Generate a synthetic county ledger (realistic distributions; assumptions in io/generate.py)."""
    from fupin_rules.io.generate import generate_county, to_dataset_dict, write_parquet_dir

    fmt = fmt or {".json": "json", ".xlsx": "xlsx"}.get(out.suffix.lower(), "parquet")
    frames = generate_county(households, seed, villages=villages, imperfect=not perfect)
    if fmt == "parquet":
        write_parquet_dir(frames, out)
    elif fmt in ("csv", "json", "xlsx"):
        from fupin_rules.io import LedgerFormat, write_ledger

        formats: dict[str, LedgerFormat] = {"csv": "csv", "json": "json", "xlsx": "xlsx"}
        write_ledger(to_dataset_dict(frames), out, formats[fmt])
    else:
        _fail(f"--format {fmt!r}: expected parquet, csv, json or xlsx")
    rows = sum(f.height for f in frames.values())
    typer.echo(f"wrote {rows} records ({households} households, seed {seed}) to {out} as {fmt}")


@app.command()
def coverage(
    policy: Annotated[str, typer.Argument(help="Policy folder or installed name")] = DEFAULT_POLICY,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the Markdown page here.")
    ] = None,
) -> None:
    """Print the coverage table: each clause -> the rules that encode it, or why none can."""
    from fupin_rules.policy.coverage import coverage_markdown
    from fupin_rules.policy.discovery import load_policy

    try:
        text = coverage_markdown(load_policy(policy))
    except FupinRulesError as exc:
        _fail(str(exc))
        return
    if out:
        _write_text_output("--out", out, text)
    else:
        typer.echo(text)


def _register_extensions() -> None:
    """Commands that live in other modules (author tools), registered on the same app."""
    try:
        from fupin_rules.authoring.cli import register
    except ImportError:  # the authoring module is optional during development
        return
    register(app)
    from fupin_rules.runs.cli import register as register_runs

    register_runs(app)

    from fupin_rules.service.cli import register as register_serve

    register_serve(app)


_register_extensions()


def _interrupted() -> int:
    typer.echo("interrupted (已中断): no report was written or changed", err=True)
    return EXIT_INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (also usable from tests as ``main([...])``)."""
    try:
        result = app(args=argv, prog_name="fupin-rules", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return _interrupted()
    except typer.Abort:
        return EXIT_INPUT
    except SystemExit as exc:
        return int(exc.code or 0)
    except Exception as exc:
        # usage errors (unknown option, bad value) carry their own ``show`` and exit code
        show = getattr(exc, "show", None)
        if callable(show) and hasattr(exc, "exit_code"):
            show()
            return EXIT_INPUT
        raise
    if result == EXIT_INTERRUPTED:  # typer turns Ctrl-C into Exit(130) and returns its code
        return _interrupted()
    return int(result) if isinstance(result, int) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
