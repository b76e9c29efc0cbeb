"""Load policy packages by installed name or folder path, cached by folder and content hash.

The folders are found by :mod:`fupin_rules.policy.packages`; the loader resolves a package's
``extends`` through :func:`load_policy`, passed to it (it cannot import this module).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from fupin_rules.policy.loader import content_hash, load_policy_dir
from fupin_rules.policy.model import Policy
from fupin_rules.policy.packages import (
    ENTRY_POINT_GROUP,
    RELEASES_FOLDER,
    available_policies,
    check_version,
    folder_for,
    releases,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "RELEASES_FOLDER",
    "available_policies",
    "load_policy",
    "releases",
    "resolve_policy",
]

_cache: dict[tuple[str, str], Policy] = {}
_lock = threading.Lock()


def _load_dir(folder: Path) -> Policy:
    """Load a folder; a parent it extends is loaded (and cached) through :func:`load_policy`."""
    return load_policy_dir(folder, resolve_parent=load_policy)


def load_policy(
    ref: str | Path,
    *,
    loader: Callable[..., Policy] = _load_dir,
) -> Policy:
    """Load a policy by installed name (``county_2017`` or ``county_2017@1.0.0``) or folder path.

    Loaded policies are cached by folder and content hash, so loading twice is cheap and an
    edited folder is reloaded. Raises PolicyNotFoundError or PolicyLoadError.
    """
    folder, want_version = folder_for(str(ref))
    key = (str(folder), content_hash(folder))
    with _lock:
        policy = _cache.get(key)
    if policy is None:
        policy = loader(folder)
        if policy.meta.extends is None:  # an extending package depends on its parent's files too
            with _lock:
                _cache[key] = policy
    check_version(policy, str(ref), folder, want_version)
    return policy


def resolve_policy(policy: Policy | str | os.PathLike[str]) -> Policy:
    """The policy itself, or the one a name or folder names (see :func:`load_policy`): what
    every entry point taking ``policy: Policy | str | Path`` does with it."""
    return policy if isinstance(policy, Policy) else load_policy(os.fspath(policy))
