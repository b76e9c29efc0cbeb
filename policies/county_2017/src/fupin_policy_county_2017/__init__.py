"""Policy package county_2017: Zhushan County's 2017 autumn-offensive plan (竹山县2017年脱贫攻坚“秋季攻势”行动方案).

The rules live in YAML under ``policy/``; this module only tells fupin-rules where that folder
is (entry point group ``fupin_rules.policies``, name ``county_2017``).
"""

from __future__ import annotations

import pathlib

__all__ = ["policy_path"]


def policy_path() -> pathlib.Path:
    """The folder holding ``policy.yaml`` (shipped as package data)."""
    return pathlib.Path(__file__).resolve().parent / "policy"
