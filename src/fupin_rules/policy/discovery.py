"""Find policy packages: installed ones through the entry-point group, or a plain folder path."""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

from fupin_rules.errors import PolicyNotFoundError
from fupin_rules.policy.loader import content_hash, load_policy_dir
from fupin_rules.policy.model import Policy

__all__ = ["ENTRY_POINT_GROUP", "available_policies", "load_policy"]

ENTRY_POINT_GROUP = "fupin_rules.policies"
_cache: dict[tuple[str, str], Policy] = {}
_lock = threading.Lock()


def available_policies() -> dict[str, Path]:
    """Installed policy packages: entry-point name -> policy folder."""
    found: dict[str, Path] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        target = ep.load()
        path = target() if callable(target) else target
        found[ep.name] = Path(str(path))
    return found


def _folder_for(ref: str) -> tuple[Path, str | None]:
    name, _, version = ref.partition("@")
    candidate = Path(ref)
    if candidate.is_dir() or "/" in ref or ref.startswith("."):
        if (candidate / "policy.yaml").is_file():
            return candidate.resolve(), None
        # a package root (as scaffolded by new-policy): src/<module>/policy/policy.yaml
        inside = sorted(candidate.glob("src/*/policy/policy.yaml"))
        if len(inside) == 1:
            return inside[0].parent.resolve(), None
        raise PolicyNotFoundError(
            f"{ref}: not a policy folder (no policy.yaml in it, nor one package under src/*/policy/)"
        )
    installed = available_policies()
    if name not in installed:
        known = ", ".join(sorted(installed)) or "none installed"
        raise PolicyNotFoundError(
            f"no policy package {name!r} in entry-point group {ENTRY_POINT_GROUP!r} "
            f"(installed: {known}); give a folder path or install the package"
        )
    return installed[name], version or None


def load_policy(
    ref: str | Path,
    *,
    loader: Callable[..., Policy] = load_policy_dir,
) -> Policy:
    """Load a policy by installed name (``county_2017`` or ``county_2017@1.0.0``) or folder path.

    Loaded policies are cached by folder and content hash, so loading twice is cheap and an
    edited folder is reloaded. Raises PolicyNotFoundError or PolicyLoadError.
    """
    folder, want_version = _folder_for(str(ref))
    key = (str(folder), content_hash(folder))
    with _lock:
        policy = _cache.get(key)
    if policy is None:
        policy = loader(folder)
        if policy.meta.extends is None:  # an extending package depends on its parent's files too
            with _lock:
                _cache[key] = policy
    if want_version and policy.version != want_version:
        raise PolicyNotFoundError(
            f"{ref}: the installed package {policy.id} has version {policy.version}, not {want_version}"
        )
    return policy
