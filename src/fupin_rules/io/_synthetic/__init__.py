"""The synthetic county's model: parameters and table builders (see :mod:`fupin_rules.io.generate`).

One :class:`Generator` run builds the tables in dependency order; its builders are split by the
part of the county they make: places (``_places``), households, persons, money (loans, payments,
projects, relocations) and archives (documents, procedure steps, rectification items).
"""

from fupin_rules.io._synthetic._common import CHRONIC_DISEASE_CODES
from fupin_rules.io._synthetic._generator import Generator

__all__ = ["CHRONIC_DISEASE_CODES", "Generator"]
