"""Regenerate the bundled sample county (2,000 households, 10 villages, seed 2017).

Writes ``src/fupin_rules/data/sample_county.json`` (package data, the ``Dataset.to_dict`` layout,
compact) and ``examples/sample_county/ledger.xlsx`` (Chinese sheet names and headers, as county
staff keep their 台账). Run from anywhere: ``python examples/make_sample_county.py``.
"""

from __future__ import annotations

from pathlib import Path

from fupin_rules.domain import Dataset
from fupin_rules.io import generate_county, to_dataset_dict, write_ledger

ROOT = Path(__file__).resolve().parents[1]
JSON_PATH = ROOT / "src" / "fupin_rules" / "data" / "sample_county.json"
XLSX_PATH = ROOT / "examples" / "sample_county" / "ledger.xlsx"


def main() -> None:
    """Generate the sample and write both files."""
    frames = generate_county(2_000, 2017, villages=10)
    dataset = Dataset.from_dict(to_dataset_dict(frames), source="generated sample")
    write_ledger(dataset, JSON_PATH, "json")
    write_ledger(dataset, XLSX_PATH, "xlsx")
    print(f"wrote {JSON_PATH.relative_to(ROOT)} and {XLSX_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
