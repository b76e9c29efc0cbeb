"""Files shipped inside the package (the bundled sample county)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["sample_data_path"]


def sample_data_path() -> Path:
    """The bundled sample county (the default input of ``check``)."""
    return Path(str(resources.files("fupin_rules") / "data" / "sample_county.json"))
