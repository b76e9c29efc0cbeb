"""Ledger input and output: read a county's 台账 from JSON, CSV, Excel or Parquet, write it back.

:func:`read_ledger` turns a ledger into a validated :class:`~fupin_rules.domain.LoadResult` (bad
cells and rows become issues naming file, sheet, row and column); :func:`write_ledger` writes a
dataset in the same formats (Excel with the Chinese sheet names and headers officials use).
:func:`generate_county` makes a synthetic county as columnar frames for tests and benchmarks.
"""

from fupin_rules.io.generate import (
    CHRONIC_DISEASE_CODES,
    generate_county,
    to_dataset_dict,
    write_parquet_dir,
)
from fupin_rules.io.headers import TABLE_NAMES, TABLE_TITLES_ZH
from fupin_rules.io.ledger import LedgerError, LedgerFormat, detect_format, read_ledger
from fupin_rules.io.writers import Language, write_ledger

__all__ = [
    "CHRONIC_DISEASE_CODES",
    "TABLE_NAMES",
    "TABLE_TITLES_ZH",
    "Language",
    "LedgerError",
    "LedgerFormat",
    "detect_format",
    "generate_county",
    "read_ledger",
    "to_dataset_dict",
    "write_ledger",
    "write_parquet_dir",
]
