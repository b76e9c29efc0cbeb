"""Problems tracked from run to run (整改跟踪): new, persisting, fixed, regressed.

A problem (问题) is a failing compliance or target finding. Its identity is
:func:`~fupin_rules.runs.store.problem_key` — policy id, rule id, subject — so the same problem
under a new version of the policy is the same problem, and the version change is shown
(:attr:`Tracking.policy_change`, :attr:`TrackedProblem.version_before`).

Classification of the current run C against a baseline B (an earlier JSON report or a stored
run). The *history* is the stored runs of the same policy id and county, oldest first, up to
and including C (runs recorded after C are ignored); with a JSON report as baseline there is
no history but B and C themselves.

* **regressed** (复发): open in C, and in the history before C there is a run where it was
  open followed by a later run where it was not (it had been fixed and is back);
* **persisting** (未整改): open in B and in C and not regressed;
* **new** (新发现): open in C, not open in B, and not regressed;
* **fixed** (已整改): open in B and not open in C.

*First seen* of an open problem is the recording time of the first run of its current streak
(the consecutive runs, ending with C, in which it is open); *days open* is the number of days
from then to C's recording time. Without a history they are C's own time (new) or unknown.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

import attrs

from fupin_rules.domain.dataset import Dataset
from fupin_rules.errors import RunStoreError
from fupin_rules.findings.model import Finding
from fupin_rules.reports.subjects import SubjectDirectory
from fupin_rules.runs.store import Place, RunStore, StoredRun, problem_key

__all__ = [
    "STATUSES",
    "Baseline",
    "Locator",
    "TrackedProblem",
    "Tracking",
    "baseline_from_report",
    "baseline_from_store",
    "track",
]

#: the four classes, in report order, with their Chinese names
STATUSES: dict[str, str] = {
    "new": "新发现",
    "persisting": "未整改",
    "regressed": "复发",
    "fixed": "已整改",
}


@attrs.frozen
class Locator:
    """Where each subject of a dataset is (乡镇, 村, 户) and its household's 帮扶责任人.

    The domain field for 帮扶责任人 is ``Household.helper_name``; it is ``None`` where the
    ledger does not say.
    """

    village_township: dict[str, str] = attrs.field(factory=dict)
    subject_village: dict[tuple[str, str], str] = attrs.field(factory=dict)
    subject_household: dict[tuple[str, str], str] = attrs.field(factory=dict)
    helpers: dict[str, str] = attrs.field(factory=dict)
    village_names: dict[str, str] = attrs.field(factory=dict)
    township_names: dict[str, str] = attrs.field(factory=dict)

    @classmethod
    def from_dataset(
        cls, dataset: Dataset | None, *, subjects: SubjectDirectory | None = None
    ) -> Locator:
        """Index ``dataset`` (an empty locator for ``None``); ``subjects``: its directory, when
        the caller has built it already."""
        if dataset is None:
            return cls()
        sd = subjects if subjects is not None else SubjectDirectory.from_dataset(dataset)
        return cls(
            village_township={v.village_id: v.township_id for v in dataset.villages},
            subject_village=sd.villages,
            subject_household=sd.households,
            helpers={h.household_id: h.helper_name for h in dataset.households if h.helper_name},
            village_names={v.village_id: v.name for v in dataset.villages if v.name},
            township_names={t.township_id: t.name for t in dataset.townships or () if t.name},
        )

    def place(self, kind: str, subject_id: str) -> Place:
        """The subject's :class:`~fupin_rules.runs.store.Place` (empty strings where unknown)."""
        village = (
            subject_id if kind == "village" else self.subject_village.get((kind, subject_id), "")
        )
        household = (
            subject_id
            if kind == "household"
            else self.subject_household.get((kind, subject_id), "")
        )
        township = subject_id if kind == "township" else self.village_township.get(village, "")
        return Place(township, village, household, self.helpers.get(household))


@attrs.frozen
class Baseline:
    """The earlier run problems are compared with: its open problems and where they were."""

    label: str
    policy_id: str
    policy_version: str
    policy_hash: str
    open: dict[str, Place]
    run: StoredRun | None = None
    # problem key -> (rule id, subject kind, subject id, clause, policy version)
    about: dict[str, tuple[str, str, str, str, str]] = attrs.field(factory=dict)


_S = rb'((?:[^"\\]|\\.)*)'
#: the head of a finding line as ``write_json`` writes it (keys in finding_to_json's order)
_FINDING_HEAD = re.compile(
    rb'\{"rule":"S","kind":"S","subject":\{"kind":"S","id":"S"\},"verdict":"fail",'
    rb'"amount_yuan":(?:null|"[^"]*"),"clause":"S",.*?"policy":\{"id":"S","version":"S"'.replace(
        b"S", _S
    )
)


def _text(raw: bytes) -> str:
    return raw.decode() if b"\\" not in raw else str(json.loads(b'"' + raw + b'"'))


def _report_lines(p: Path) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The policy and the failing findings of a report as ``check --out`` writes it (one
    finding per line), reading only the head of the lines that can be problems (a regular
    expression, not a JSON parse of each whole finding: 4 s -> 1 s at 100,000 households);
    None if the file is laid out differently."""
    policy: dict[str, Any] | None = None
    failing: list[dict[str, Any]] = []
    with _open_report(p) as fh:
        first = fh.readline()
        if first.startswith(b'{"record":"report"'):  # JSON Lines (check --out r.jsonl[.gz])
            policy = json.loads(first)["policy"]
            for line in fh:
                if line.startswith(b'{"record":"finding"') and b'"verdict":"fail"' in line:
                    failing.append(json.loads(line))
            return policy, failing
        if first.strip() != b"{":
            return None
        for line in fh:
            if line.startswith(b'{"rule":'):
                if b'"verdict":"fail"' not in line:
                    continue
                m = _FINDING_HEAD.match(line)
                if m is None:  # an unusual line: parse it whole
                    failing.append(json.loads(line.rstrip().rstrip(b",")))
                    continue
                rule, kind, skind, sid, clause, pid, version = map(_text, m.groups())
                failing.append(
                    {
                        "rule": rule,
                        "kind": kind,
                        "subject": {"kind": skind, "id": sid},
                        "verdict": "fail",
                        "clause": clause,
                        "policy": {"id": pid, "version": version},
                    }
                )
            elif line.startswith(b'"policy":'):
                policy = json.loads(line[len(b'"policy":') :].rstrip().rstrip(b","))
    return (policy, failing) if policy is not None else None


def _open_report(p: Path) -> BinaryIO:
    """A report file for reading bytes: gzip-compressed ones (``.json.gz``, ``.jsonl.gz``)
    decompressed as they are read."""
    if p.name.lower().endswith(".gz"):
        return cast(BinaryIO, gzip.open(p, "rb"))
    return p.open("rb")


def baseline_from_report(path: str | Path) -> Baseline:
    """The problems of an earlier report written by ``check --out``: JSON or JSON Lines,
    plain or gzip-compressed, complete or ``--problems-only``."""
    p = Path(path)
    try:
        got = _report_lines(p)
        if got is None:
            with _open_report(p) as fh:
                doc = json.load(fh)
            got = (doc["policy"], doc["findings"])
        pol, found = got
        open_: dict[str, Place] = {}
        about: dict[str, tuple[str, str, str, str, str]] = {}
        for f in found:
            if f["verdict"] != "fail" or f["kind"] not in ("compliance", "target"):
                continue
            subj = f["subject"]
            key = problem_key(f["policy"]["id"], f["rule"], subj["kind"], subj["id"])
            open_[key] = Place()
            about[key] = (f["rule"], subj["kind"], subj["id"], f["clause"], f["policy"]["version"])
        return Baseline(p.name, pol["id"], pol["version"], pol["hash"], open_, None, about)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunStoreError(
            f"--since {p}: not a fupin-rules JSON report ({type(exc).__name__}: {exc}); "
            "give a report written by 'check --out' or a stored run id"
        ) from exc


def baseline_from_store(store: RunStore, run_id: int) -> Baseline:
    """The problems of stored run ``run_id``."""
    run = store.run(run_id)
    open_: dict[str, Place] = {}
    about: dict[str, tuple[str, str, str, str, str]] = {}
    for f in store.findings(run_id, problems_only=True):
        open_[f.problem_key] = Place(f.township_id, f.village_id, f.household_id, f.helper_name)
        about[f.problem_key] = (f.rule_id, f.subject_kind, f.subject_id, f.clause, f.policy_version)
    return Baseline(
        f"run {run_id}", run.policy_id, run.policy_version, run.policy_hash, open_, run, about
    )


@attrs.frozen
class TrackedProblem:
    """One problem's status between the baseline and the current run."""

    key: str
    status: str
    rule_id: str
    subject_kind: str
    subject_id: str
    clause: str
    place: Place
    version_before: str | None
    version_now: str | None
    first_seen: dt.datetime | None = None
    days_open: int | None = None
    finding: Finding | None = None

    @property
    def open(self) -> bool:
        """Still a problem in the current run (new, persisting or regressed)."""
        return self.status != "fixed"


@attrs.frozen
class RunPoint:
    """Open problems of one run of the history, by township (for the progress chart)."""

    label: str
    recorded_at: dt.datetime
    by_township: dict[str, int]


@attrs.frozen
class Tracking:
    """The comparison of the current run with a baseline."""

    baseline: str
    policy_change: str | None
    problems: tuple[TrackedProblem, ...]
    history: tuple[RunPoint, ...] = ()
    township_names: dict[str, str] = attrs.field(factory=dict)
    village_names: dict[str, str] = attrs.field(factory=dict)

    def counts(self) -> dict[str, int]:
        """Problems per status (every status present, zero included)."""
        c = Counter(p.status for p in self.problems)
        return {s: c.get(s, 0) for s in STATUSES}

    def by_area(self, level: str) -> dict[str, dict[str, int]]:
        """Counts per status for each township (``level="township"``) or village, sorted by id;
        ``""`` collects problems whose place is not known."""
        out: dict[str, Counter[str]] = {}
        for p in self.problems:
            area = p.place.township_id if level == "township" else p.place.village_id
            out.setdefault(area, Counter())[p.status] += 1
        return {
            a: {s: c.get(s, 0) for s in STATUSES}
            for a, c in sorted(out.items(), key=lambda kv: (kv[0] == "", kv[0]))
        }

    def open_problems(self) -> list[TrackedProblem]:
        """The open problems (new, persisting, regressed), by village then key: the 整改台账."""
        return sorted(
            (p for p in self.problems if p.open),
            key=lambda p: (p.place.township_id, p.place.village_id, p.key),
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary: counts, per township and village, and each problem's status."""
        return {
            "baseline": self.baseline,
            "policy_change": self.policy_change,
            "counts": self.counts(),
            "by_township": self.by_area("township"),
            "by_village": self.by_area("village"),
            "problems": [
                {
                    "key": p.key,
                    "status": p.status,
                    "rule": p.rule_id,
                    "subject": f"{p.subject_kind}:{p.subject_id}",
                    "clause": p.clause,
                    "assumptions": list(p.finding.assumptions) if p.finding is not None else [],
                    "township": p.place.township_id,
                    "village": p.place.village_id,
                    "household": p.place.household_id,
                    "helper": p.place.helper_name,
                    "first_seen": p.first_seen.isoformat() if p.first_seen else None,
                    "days_open": p.days_open,
                }
                for p in sorted(self.problems, key=lambda p: p.key)
            ],
        }


def _problems(findings: Iterable[Finding]) -> dict[str, Finding]:
    return {
        problem_key(f.policy_id, f.rule_id, f.subject_kind, f.subject_id): f
        for f in findings
        if f.verdict.value == "fail" and f.rule_kind in ("compliance", "target")
    }


def track(
    current: Sequence[Finding] | Mapping[str, Finding],
    baseline: Baseline,
    *,
    locator: Locator | None = None,
    store: RunStore | None = None,
    current_run: StoredRun | None = None,
    now: dt.datetime | None = None,
    policy: tuple[str, str, str] | None = None,
) -> Tracking:
    """Classify the problems of the current run (its findings) against ``baseline``.

    With ``store`` and a stored baseline, the store's history of the same policy id and county
    decides *regressed* and *first seen* (see the module docs). ``current_run`` is the current
    run when it has been stored (its time is "now"; later runs are ignored). ``policy`` is the
    current (id, version, hash), to show a version change.
    """
    loc = locator or Locator()
    cur = current if isinstance(current, Mapping) else _problems(current)
    at = current_run.recorded_at if current_run else (now or dt.datetime.now(dt.UTC))
    history: list[tuple[StoredRun, set[str]]] = []
    if store is not None and baseline.run is not None:
        b = baseline.run
        runs = [
            r
            for r in store.runs(policy_id=b.policy_id, county_id=b.county_id)
            if current_run is None or r.run_id < current_run.run_id
        ]
        keys = store.problem_keys(r.run_id for r in runs)
        history = [(r, keys[r.run_id]) for r in runs]
    # the open sets in order, ending with the current run
    seq = [s for _, s in history] or [set(baseline.open)]
    times: list[dt.datetime | None] = [r.recorded_at for r, _ in history] or [None]
    seq.append(set(cur))
    times.append(at)

    out: list[TrackedProblem] = []
    for key, f in cur.items():
        was_open = closed_after_open = False
        for s in seq[:-1]:
            if key in s:
                was_open = True
            elif was_open:
                closed_after_open = True
        if closed_after_open:
            status = "regressed"
        elif key in baseline.open:
            status = "persisting"
        else:
            status = "new"
        i = len(seq) - 1
        while i > 0 and key in seq[i - 1]:
            i -= 1
        first = times[i]
        about = baseline.about.get(key)
        out.append(
            TrackedProblem(
                key,
                status,
                f.rule_id,
                f.subject_kind,
                f.subject_id,
                f.clause,
                loc.place(f.subject_kind, f.subject_id),
                about[4] if about else None,
                f.policy_version,
                first,
                (at.date() - first.date()).days if first else None,
                f,
            )
        )
    for key, place in baseline.open.items():
        if key in cur:
            continue
        rule_id, kind, sid, clause, version = baseline.about[key]
        here = loc.place(kind, sid)
        out.append(
            TrackedProblem(
                key,
                "fixed",
                rule_id,
                kind,
                sid,
                clause,
                here if here.village_id else place,
                version,
                None,
            )
        )
    change = None
    if policy is not None and (policy[1], policy[2]) != (
        baseline.policy_version,
        baseline.policy_hash,
    ):
        change = (
            f"{baseline.policy_id} {baseline.policy_version} ({baseline.policy_hash[:12]}) -> "
            f"{policy[0]} {policy[1]} ({policy[2][:12]})"
        )
    points = [
        RunPoint(f"run {r.run_id}", r.recorded_at, store.problems_by_township(r.run_id))
        for r, _ in history
        if store is not None
    ]
    now_counts: Counter[str] = Counter(p.place.township_id for p in out if p.open)
    points.append(
        RunPoint(
            f"run {current_run.run_id}" if current_run else "now",
            at,
            dict(sorted(now_counts.items())),
        )
    )
    return Tracking(
        baseline.label,
        change,
        tuple(sorted(out, key=lambda p: p.key)),
        tuple(points),
        dict(loc.township_names),
        dict(loc.village_names),
    )
