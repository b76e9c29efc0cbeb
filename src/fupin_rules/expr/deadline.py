"""``done_by(record, deadline)``: an obligation with a deadline, decided as of a date.

One meaning, used by the interpreter, by the batch engine's explanations and by the reports.
The record is the date the duty was recorded as done; a record dated after the as-of date does
not exist yet as of that date.

=========  ==========================================================  =======  =================
state      when                                                        value    zh
=========  ==========================================================  =======  =================
done       recorded on or before the deadline                          true     按期完成
late       recorded after the deadline                                 false    逾期完成
overdue    nothing recorded, the deadline has passed                   false    逾期未完成
not_due    nothing recorded, the deadline has not passed (on <= d)     true     未到期
unknown    the deadline is unknown (e.g. a parameter without a value)  unknown  截止日期未知
=========  ==========================================================  =======  =================

``not_due`` is a pass, not a not-applicable or unknown: the duty is not yet owed, so nobody has
anything to correct or to collect (an unknown would put the record on the 待补数据 list, a
record that cannot exist yet). The explanation says 未到期 and names the deadline.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from fupin_rules.expr.values import UNKNOWN, Truth

__all__ = ["DEADLINE_STATES", "deadline_state", "deadline_value"]

#: state -> (value of done_by(), Chinese, English)
DEADLINE_STATES: Final[dict[str, tuple[Truth, str, str]]] = {
    "done": (True, "按期完成", "done by the deadline"),
    "late": (False, "逾期完成", "done after the deadline"),
    "overdue": (False, "逾期未完成", "overdue: not done and the deadline has passed"),
    "not_due": (True, "未到期", "not yet due"),
    "unknown": (UNKNOWN, "截止日期未知", "the deadline is unknown"),
}


def deadline_state(record: object, deadline: object, on: dt.date) -> str:
    """The state of an obligation (see the module table); ``UNKNOWN`` values are allowed."""
    recorded = isinstance(record, dt.date) and record <= on
    if not isinstance(deadline, dt.date):
        return "unknown"
    if recorded:
        assert isinstance(record, dt.date)
        return "done" if record <= deadline else "late"
    return "overdue" if on > deadline else "not_due"


def deadline_value(record: object, deadline: object, on: dt.date) -> Truth:
    """The value of ``done_by(record, deadline)`` as of ``on``."""
    return DEADLINE_STATES[deadline_state(record, deadline, on)][0]
