"""Write a new policy package, check it, run its cases — what a policy author does first.

Scaffolds ``county_2018`` into a temporary folder with ``fupin-rules new-policy``, then runs
``fupin-rules validate`` and ``fupin-rules test`` on it, all through the CLI's ``main``::

    python examples/authoring_a_package.py            # in a temporary folder, removed after
    python examples/authoring_a_package.py --keep DIR  # keep the package in DIR
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from fupin_rules.cli import main as fupin_rules


def author(directory: Path) -> int:
    """Scaffold, validate, test; return the first non-zero exit code (or 0)."""
    policy_dir = directory / "county_2018" / "src" / "fupin_policy_county_2018" / "policy"
    steps = [
        ["new-policy", "county_2018", "--dir", str(directory)],
        ["validate", str(policy_dir)],
        ["test", str(policy_dir), "--verbose"],
    ]
    for argv in steps:
        print(f"$ fupin-rules {' '.join(argv)}")
        code = fupin_rules(argv)
        if code:
            return code
        print()
    print(f"edit the YAML under {policy_dir} and run validate/test again")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the steps in ``--keep DIR`` or a temporary folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="scaffold here and keep the result")
    args = parser.parse_args(argv)
    if args.keep:
        return author(args.keep)
    with tempfile.TemporaryDirectory() as tmp:
        return author(Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
