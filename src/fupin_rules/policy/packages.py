"""Where policy packages are: installed ones through the entry-point group, frozen earlier
releases beside them, or a plain folder path. Finding a folder needs no loading (the loader and
:mod:`fupin_rules.policy.discovery` both use this module)."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

from fupin_rules.errors import PolicyNotFoundError
from fupin_rules.policy.model import Policy

__all__ = [
    "ENTRY_POINT_GROUP",
    "RELEASES_FOLDER",
    "available_policies",
    "check_version",
    "folder_for",
    "releases",
]

ENTRY_POINT_GROUP = "fupin_rules.policies"
#: Earlier versions a package keeps frozen beside its policy folder: ``releases/<version>/``.
RELEASES_FOLDER = "releases"


def available_policies() -> dict[str, Path]:
    """Installed policy packages: entry-point name -> policy folder."""
    found: dict[str, Path] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        target = ep.load()
        path = target() if callable(target) else target
        found[ep.name] = Path(str(path))
    return found


def releases(policy_folder: Path) -> dict[str, Path]:
    """Frozen earlier versions kept beside a package's policy folder: version -> folder.

    A package that publishes a new version can keep the previous one loadable side by side as
    ``<package>/releases/<version>/policy.yaml`` (a copy of the policy folder as released), so
    ``county_2017@1.0.0`` still loads after the package moved to 1.1.0, e.g. for
    ``fupin-rules diff county_2017@1.0.0 county_2017@1.1.0``.
    """
    root = policy_folder.parent / RELEASES_FOLDER
    if not root.is_dir():
        return {}
    return {
        child.name: child.resolve()
        for child in sorted(root.iterdir())
        if (child / "policy.yaml").is_file()
    }


def folder_for(ref: str) -> tuple[Path, str | None]:
    """The policy folder a reference names, and the version it asks for (``None``: any)."""
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
    folder = installed[name]
    if version and version in releases(folder):
        return releases(folder)[version], version
    return folder, version or None


def check_version(policy: Policy, ref: str, folder: Path, want_version: str | None) -> None:
    """Raise PolicyNotFoundError when ``ref`` asked for a version the folder does not hold."""
    if want_version and policy.version != want_version:
        home = folder.parent if folder.parent.name == RELEASES_FOLDER else folder
        kept = ", ".join(releases(home))
        raise PolicyNotFoundError(
            f"{ref}: the installed package {policy.id} has version {policy.version}, not "
            f"{want_version}; frozen earlier versions: {kept or 'none'} "
            f"(kept as {RELEASES_FOLDER}/<version>/ beside the policy folder)"
        )
