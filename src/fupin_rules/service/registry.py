"""The policies a service answers for, side by side by ``id@version``.

The operator chooses them when the service starts (installed names, ``name@version`` of a frozen
release, or folders); clients name a policy by ``id`` (its newest loaded version) or
``id@version`` and can never make the service read a path of their choosing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path

from fupin_rules.errors import FupinRulesError
from fupin_rules.policy import discovery
from fupin_rules.policy.model import Policy
from fupin_rules.service.problems import FieldError, Problem, did_you_mean

__all__ = ["PolicyRegistry", "version_key"]


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Sort key of a semantic version: ``1.10.0`` after ``1.9.0``."""
    return tuple(
        (int(p), "") if p.isdigit() else (-1, p) for p in version.replace("-", ".").split(".")
    )


def _installed_refs() -> list[str]:
    """Every installed policy and the frozen earlier versions it keeps (when the library has
    them: ``releases/<version>/`` beside the policy folder)."""
    refs: list[str] = []
    releases = getattr(discovery, "releases", None)
    for name, folder in sorted(discovery.available_policies().items()):
        refs.append(name)
        if releases is not None:
            refs.extend(f"{name}@{v}" for v in releases(folder))
    return refs


class PolicyRegistry:
    """Loaded policies by ``id@version``; the newest version answers for a bare ``id``."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        self._by_ref: dict[str, Policy] = {}
        for p in policies:
            self._by_ref[f"{p.id}@{p.version}"] = p
        self._latest: dict[str, Policy] = {}
        for p in sorted(self._by_ref.values(), key=lambda p: version_key(p.version)):
            self._latest[p.id] = p

    @classmethod
    def load(cls, refs: Iterable[str | Path] | None = None) -> PolicyRegistry:
        """Load ``refs`` (default: every installed policy and its kept releases)."""
        wanted: list[str | Path] = list(refs) if refs is not None else list(_installed_refs())
        return cls(discovery.load_policy(r) for r in wanted)

    @property
    def policies(self) -> Mapping[str, Policy]:
        """``id@version`` -> policy, sorted by id then version."""
        return {
            k: self._by_ref[k]
            for k in sorted(
                self._by_ref,
                key=lambda k: (self._by_ref[k].id, version_key(self._by_ref[k].version)),
            )
        }

    def get(self, ref: str) -> Policy:
        """The policy ``id`` or ``id@version``; a 404 problem with did-you-mean otherwise."""
        name, sep, _ = ref.partition("@")
        policy = self._by_ref.get(ref) if sep else self._latest.get(name)
        if policy is None:
            known = [*self._by_ref, *self._latest]
            hint = did_you_mean(ref, known)
            raise Problem(
                404,
                "unknown-policy",
                "Unknown policy",
                f"no policy {ref!r} is served here{hint} (served: {', '.join(self.policies)})",
                [FieldError(field="policy", message=f"unknown policy {ref!r}{hint}")],
            )
        return policy

    @staticmethod
    def check_period(policy: Policy, on: dt.date, *, entitlement: bool) -> None:
        """Refuse an as-of date before the policy's period (any question) or after it (an
        entitlement: eligibility and amounts are not in force then; whether an obligation that
        fell due inside the period was met is a legitimate later question)."""
        start, end = policy.meta.effective_start, policy.meta.effective_end
        late = entitlement and end is not None and on > end
        if (start is not None and on < start) or late:
            period = f"{start or '...'} ~ {end or '...'}"
            raise Problem(
                422,
                "not-in-force",
                "Date outside the policy's period",
                f"on={on.isoformat()}: {policy.id}@{policy.version} is in force {period} "
                f"(有效期); ask for a date inside it, or use the policy version in force then",
                [FieldError(field="on", pointer="/on", message=f"{on} is outside {period}")],
            )

    def rule_problem(self, policy: Policy, rule_id: str, kind: str | None = None) -> Problem:
        """The 422 for a rule id the policy does not have (with did-you-mean)."""
        ids = [r.id for r in policy.rules if kind is None or r.kind == kind]
        hint = did_you_mean(rule_id, ids)
        what = f"{kind} rule" if kind else "rule"
        return Problem(
            422,
            "unknown-rule",
            "Unknown rule",
            f"rule={rule_id!r}: {policy.id}@{policy.version} has no {what} {rule_id!r}{hint}",
            [FieldError(field="rule", pointer="/rule", message=f"no {what} {rule_id!r}{hint}")],
        )


def policy_error_problem(exc: FupinRulesError) -> Problem:
    """A library error while serving a request: a 422 naming the message."""
    return Problem(422, "unprocessable", "The request could not be answered", str(exc))
