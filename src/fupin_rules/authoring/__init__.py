"""Tools for policy authors: scaffold a package (``new-policy``), compare two policies (``diff``).

The command-line commands are registered on the main ``fupin-rules`` app by
:func:`fupin_rules.authoring.cli.register`; the functions behind them are importable too::

    from fupin_rules.authoring import diff_policies, scaffold_policy
"""

from fupin_rules.authoring.diff import (
    FindingChange,
    FindingsDiff,
    ItemChange,
    PolicyDiff,
    diff_findings,
    diff_policies,
    diff_to_json,
    render_diff,
)
from fupin_rules.authoring.scaffold import ScaffoldError, ScaffoldResult, scaffold_policy

__all__ = [
    "FindingChange",
    "FindingsDiff",
    "ItemChange",
    "PolicyDiff",
    "ScaffoldError",
    "ScaffoldResult",
    "diff_findings",
    "diff_policies",
    "diff_to_json",
    "render_diff",
    "scaffold_policy",
]
