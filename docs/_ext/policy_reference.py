"""Sphinx extension: a generated reference page for every policy package.

At ``builder-inited`` it loads every installed policy package (entry-point group
``fupin_rules.policies``) plus the folders listed in ``policy_reference_folders`` (relative to
the docs folder), and writes MyST pages into ``policy_reference_dir`` (default
``reference/policies``): an index and one page per package with its metadata, clauses (the
text-missing ones included), parameters with their dated values, catalogues, derived
variables, rules with their conditions as expression text and titles in Chinese and English,
and the number of cases. A package that ``extends`` another lists only what it adds or
overrides.

The pages are build products (see ``docs/.gitignore``): nothing in them is typed by hand.
Files are rewritten only when their text changes, so incremental builds stay incremental.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

_ESCAPE = re.compile(r"([\\`*_\[\]<>|#])")
_GENERATED = (
    "*Generated at documentation build time from the package itself by "
    "`docs/_ext/policy_reference.py`; do not edit.*"
)


def _md(text: object) -> str:
    """Plain text safe inside Markdown (and a table cell): one line, punctuation escaped."""
    return _ESCAPE.sub(r"\\\1", " ".join(str(text).split()))


def _code(text: str) -> str:
    """An inline code span for expression text (one line; ``|`` escaped for tables)."""
    one_line = " ".join(text.split()).replace("|", "\\|")
    return f"`{one_line}`" if one_line else ""


def _value(value: Any) -> str:
    from fupin_rules.findings.model import format_value

    return _md(format_value(value))


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return [*out, ""]


def _status(status: str) -> str:
    return "**assumed**" if status == "assumed" else "seed"


# --------------------------------------------------------------------------- sections
def _metadata(policy: Any, parent: Any | None) -> list[str]:
    meta = policy.meta
    eff = "—"
    if meta.effective_start:
        eff = f"{meta.effective_start} to {meta.effective_end or '(open)'} (inclusive)"
    files = sorted({c.origin.split(":")[0] for c in policy.cases})
    rows = [
        ("id", f"`{meta.id}`"),
        ("version", meta.version),
        ("content hash", f"`{policy.content_hash[:12]}`"),
        ("title", f"{_md(meta.title.zh)}<br>{_md(meta.title.en)}"),
        ("jurisdiction", f"{_md(meta.jurisdiction.zh)}<br>{_md(meta.jurisdiction.en)}"),
        ("effective", eff),
        ("extends", f"`{meta.extends}` ({parent.ref})" if parent else "—"),
    ]
    rows += [(f"source: {_md(k)}", _md(v)) for k, v in meta.source.items()]
    rows += [
        (
            "contents",
            f"{len(policy.clauses)} clauses, {len(policy.parameters)} parameters, "
            f"{len(policy.catalogues)} catalogues, {len(policy.variables)} derived variables, "
            f"{len(policy.rules)} rules",
        ),
        ("cases", f"{len(policy.cases)} in {len(files)} case file{'s' * (len(files) != 1)}"),
    ]
    return _table(["", ""], rows)


def _clauses(policy: Any) -> list[str]:
    cited: dict[str, list[str]] = {}
    for r in policy.rules:
        cited.setdefault(r.clause, []).append(r.id)
    rows = []
    for cid, c in policy.clauses.items():
        n = len(cited.get(cid, []))
        state = "**source text missing**" if c.text_missing else f"{n} rule{'s' * (n != 1)}"
        notes = [_md(c.note)] if c.note else []
        notes += [f"not encoded: {_md(item)} — {_md(why)}" for item, why in c.uncovered]
        rows.append(
            (_md(cid), f"{_md(c.title.zh)}<br>{_md(c.title.en)}", state, "<br>".join(notes))
        )
    return _table(["clause", "title", "encoded", "notes"], rows)


def _parameter(p: Any) -> list[str]:
    out = [f"### `{p.name}`", "", f"{_md(p.title.zh)} — {_md(p.title.en)}", ""]
    out += [
        f"type `{p.type}`, {'no unit' if p.unit == 'none' else f'unit `{p.unit}`'}, clause {_md(p.clause)}, status {_status(p.status)}",
        "",
    ]
    if p.note:
        out += [_md(p.note), ""]
    rows = []
    for i, v in enumerate(p.values):
        nxt = p.values[i + 1].start if i + 1 < len(p.values) else None
        end = (nxt - dt.timedelta(days=1)).isoformat() if nxt else "(open)"
        rows.append((v.start.isoformat(), end, _value(v.value), _status(v.status), _md(v.note)))
    return out + _table(["from", "to (inclusive)", "value", "status", "note"], rows)


def _catalogue(c: Any) -> list[str]:
    out = [f"### `{c.name}`", "", f"{_md(c.title.zh)} — {_md(c.title.en)}", ""]
    out += [f"clause {_md(c.clause)}, status {_status(c.status)}, {len(c.items)} items", ""]
    if c.note:
        out += [_md(c.note), ""]
    rows = [(f"`{i.code}`", _md(i.zh), _md(i.en)) for i in c.items]
    return out + _table(["code", "中文", "English"], rows)


def _variables(variables: Sequence[Any]) -> list[str]:
    rows = [
        (
            f"`{v.qualified_name}`",
            f"{_md(v.title.zh)}<br>{_md(v.title.en)}",
            f"`{v.type}`",
            _code(v.text),
            _md(v.clause or "—"),
        )
        for v in variables
    ]
    return _table(["variable", "title", "type", "expression", "clause"], rows)


def _rule(r: Any) -> list[str]:
    out = [f"### `{r.id}`", "", f"**{_md(r.title.zh)}** — {_md(r.title.en)}", ""]
    out += [
        f"clause {_md(r.clause)} · entity `{r.entity}` · {r.kind} · status {_status(r.status)}",
        "",
    ]
    if r.applies_if is not None:
        t = r.applies_if.title
        titled = "" if t.en == "applies if" else f" ({_md(t.zh)} — {_md(t.en)})"
        out += [f"Applies if{titled} {_code(r.applies_if.text)}; otherwise *not applicable*.", ""]
    out += ["All conditions must pass (pass / fail / unknown):", ""]
    rows = [(f"`{c.id}`", _md(c.title.zh), _md(c.title.en), _code(c.text)) for c in r.conditions]
    out += _table(["condition", "中文", "English", "expression"], rows)
    if r.amount is not None:
        out += [f"Amount when it passes: {_code(r.amount.text)}", ""]
    if r.outputs:
        out += [
            "Reported with the finding: "
            + ", ".join(
                f"`{o.id}`"
                + ("" if o.title.en == o.id else f" ({_md(o.title.zh)} — {_md(o.title.en)})")
                + f" = {_code(o.text)}"
                for o in r.outputs
            ),
            "",
        ]
    if r.note:
        out += [f"Note: {_md(r.note)}", ""]
    return out


# --------------------------------------------------------------------------- pages
def _own(items: dict[str, Any], parent_items: dict[str, Any] | None) -> dict[str, Any]:
    """Items new in this package or different from the parent's (all, without a parent)."""
    if parent_items is None:
        return items
    return {k: v for k, v in items.items() if parent_items.get(k) != v}


def _tag(name: str, parent_items: dict[str, Any] | None) -> str:
    if parent_items is None:
        return ""
    return " (overrides the parent's)" if name in parent_items else " (new)"


def policy_page(policy: Any, parent: Any | None = None) -> str:
    """The MyST text of one package's reference page."""
    lines = [
        f"# {policy.id} {policy.version}",
        "",
        f"{_md(policy.meta.title.zh)}<br>{_md(policy.meta.title.en)}",
        "",
        _GENERATED,
        "",
        "## Package",
        "",
        *_metadata(policy, parent),
    ]
    pp = (lambda attr: dict(getattr(parent, attr))) if parent else (lambda attr: None)
    if parent is not None:
        lines += [
            f"This package `extends` **{parent.id}**: it has everything of "
            f"[{parent.id}]({parent.id}.md) and lists below only what it adds or overrides "
            "(an override replaces the parent's item of the same name as a whole).",
            "",
        ]
    clauses = _own(dict(policy.clauses), pp("clauses"))
    lines += ["## Clauses", ""]
    if clauses:
        lines += [
            "Rules and parameters may cite only these clauses; a clause whose source text is "
            "missing is listed but cannot be cited.",
            "",
            *_clauses(_View(policy, clauses=clauses)),
        ]
    else:
        lines += ["None of its own (all inherited).", ""]

    sections: list[tuple[str, dict[str, Any], Any]] = [
        ("Parameters", _own(dict(policy.parameters), pp("parameters")), _parameter),
        ("Catalogues", _own(dict(policy.catalogues), pp("catalogues")), _catalogue),
    ]
    for title, items, render in sections:
        lines += [f"## {title}", ""]
        if not items:
            lines += ["None of its own (all inherited).", ""]
        parent_items = pp(title.lower())
        for name, item in items.items():
            block = render(item)
            block[0] += _tag(name, parent_items)
            lines += block

    pvars = {v.qualified_name: v for v in parent.variables} if parent else None
    variables = _own({v.qualified_name: v for v in policy.variables}, pvars)
    lines += ["## Derived variables", ""]
    if variables:
        lines += [
            "Computed per entity before the rules, in dependency order; a rule reads them like "
            "fields.",
            "",
            *_variables(list(variables.values())),
        ]
    else:
        lines += ["None of its own (all inherited).", ""]

    prules = {r.id: r for r in parent.rules} if parent else None
    rules = _own({r.id: r for r in policy.rules}, prules)
    lines += ["## Rules", ""]
    if not rules:
        lines += ["None of its own (all inherited).", ""]
    order = list(policy.clauses)
    for rule in sorted(
        rules.values(), key=lambda r: order.index(r.clause) if r.clause in order else 0
    ):
        block = _rule(rule)
        block[0] += _tag(rule.id, prules)
        lines += block

    lines += ["## Cases", ""]
    by_file: dict[str, int] = {}
    for c in policy.cases:
        key = c.origin.split(":")[0]
        by_file[key] = by_file.get(key, 0) + 1
    lines += [
        f"{len(policy.cases)} cases; run them with `fupin-rules test {policy.id}`.",
        "",
        *_table(["case file", "cases"], [(f"`{k}`", str(n)) for k, n in by_file.items()]),
    ]
    return "\n".join(lines).rstrip() + "\n"


class _View:
    """A policy with some attributes replaced (to render a subset of its clauses)."""

    def __init__(self, policy: Any, **replace: Any) -> None:
        self._policy = policy
        self._replace = replace

    def __getattr__(self, name: str) -> Any:
        return self._replace.get(name, getattr(self._policy, name))


def index_page(entries: Sequence[tuple[str, Any]], broken: Sequence[tuple[str, str]]) -> str:
    """The index of the generated reference pages."""
    lines = [
        "# Policy reference",
        "",
        _GENERATED,
        "",
        "One page per policy package: every clause, parameter (with its dated values), "
        "catalogue, derived variable and rule (with its conditions as written), as the "
        "library loads them. Installed packages are found through the entry-point group "
        "`fupin_rules.policies`; example folders are listed in `conf.py` "
        "(`policy_reference_folders`).",
        "",
    ]
    rows = [
        (
            f"[{p.id}]({page}.md)",
            p.version,
            f"`{p.content_hash[:12]}`",
            f"`{p.meta.extends}`" if p.meta.extends else "—",
            _md(p.meta.title.zh),
            str(len(p.rules)),
            str(len(p.cases)),
        )
        for page, p in entries
    ]
    if rows:
        lines += _table(["package", "version", "hash", "extends", "title", "rules", "cases"], rows)
    else:
        lines += ["No policy package is installed.", ""]
    for name, error in broken:
        lines += [f"**{_md(name)} does not load**:", "", "```text", error, "```", ""]
    lines += ["```{toctree}", ":hidden:", "", *(page for page, _ in entries), "```", ""]
    return "\n".join(lines)


def _write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def generate(app: Sphinx) -> None:
    """Load the packages and write the pages (``builder-inited``)."""
    from fupin_rules import available_policies, load_policy
    from fupin_rules.errors import FupinRulesError

    out_dir = Path(app.srcdir) / app.config.policy_reference_dir
    refs: list[str] = sorted(available_policies())
    refs += [str((Path(app.confdir) / f).resolve()) for f in app.config.policy_reference_folders]
    entries: list[tuple[str, Any]] = []
    broken: list[tuple[str, str]] = []
    for ref in refs:
        try:
            policy = load_policy(ref)
            parent = load_policy(policy.meta.extends) if policy.meta.extends else None
        except FupinRulesError as exc:
            logger.warning("policy reference: %s does not load: %s", ref, exc)
            broken.append((ref, str(exc)))
            continue
        if any(p.id == policy.id for _, p in entries):
            logger.warning("policy reference: two packages with id %s; %s skipped", policy.id, ref)
            continue
        _write(out_dir / f"{policy.id}.md", policy_page(policy, parent))
        entries.append((policy.id, policy))
    keep = {f"{page}.md" for page, _ in entries} | {"index.md"}
    for stale in out_dir.glob("*.md"):
        if stale.name not in keep:
            stale.unlink()
    _write(out_dir / "index.md", index_page(entries, broken))


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the config values and the generator."""
    app.add_config_value("policy_reference_dir", "reference/policies", "env")
    app.add_config_value("policy_reference_folders", [], "env")
    app.connect("builder-inited", generate)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
