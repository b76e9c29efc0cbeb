"""JSON Schema of the dataset input, for other systems that feed the library."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, create_model

from fupin_rules.domain.dataset import TABLES
from fupin_rules.domain.models import County

__all__ = ["dataset_json_schema", "record_json_schema"]


def dataset_json_schema() -> dict[str, Any]:
    """The JSON Schema of the whole dataset layout read by ``load_dataset``."""
    fields: dict[str, Any] = {"county": (County, ...)}
    for name, cls in TABLES.items():
        fields[name] = (list[cls] | None, None)  # type: ignore[valid-type]
    model = create_model("FupinDataset", __config__=ConfigDict(extra="forbid"), **fields)
    schema: dict[str, Any] = model.model_json_schema()
    schema["title"] = "fupin_rules dataset"
    schema["description"] = (
        "One county's records. A missing optional table means 'not supplied' (rules needing it "
        "are unknown); null or absent fields are unknown, never false or zero."
    )
    return schema


def record_json_schema(table: str) -> dict[str, Any]:
    """The JSON Schema of one table's records (``county`` or a name in TABLES)."""
    cls = County if table == "county" else TABLES[table]
    return cls.model_json_schema()
