"""Domain types at the data boundary: records, code lists, the dataset container and its schema."""

from fupin_rules.domain.dataset import TABLES, DataIssue, Dataset, LoadResult, load_dataset
from fupin_rules.domain.enums import *  # noqa: F403
from fupin_rules.domain.enums import __all__ as _enums_all
from fupin_rules.domain.models import *  # noqa: F403
from fupin_rules.domain.models import __all__ as _models_all

__all__ = [
    "TABLES",
    "DataIssue",
    "Dataset",
    "LoadResult",
    "load_dataset",
    *_enums_all,
    *_models_all,
]
