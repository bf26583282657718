"""EventBridge schedules → Azure timer NCRONTAB, and the ones Azure cannot express."""

import pytest

from unicompute import InvalidRequest
from unicompute.providers.azure.functions_schedules import ncrontab


@pytest.mark.parametrize(("expression", "expected"), [
    ("rate(1 minute)", "0 * * * * *"),
    ("rate(5 minutes)", "0 */5 * * * *"),
    ("rate(60 minutes)", "0 0 * * * *"),
    ("rate(1 hour)", "0 0 * * * *"),
    ("rate(6 hours)", "0 0 */6 * * *"),
    ("rate(1 day)", "0 0 0 * * *"),
    ("cron(0 12 * * ? *)", "0 0 12 * * *"),
    ("cron(15 10 ? * MON-FRI *)", "0 15 10 * * 1,2,3,4,5"),
    ("cron(0/15 * ? * 1 *)", "0 0,15,30,45 * * * 0"),
    ("cron(0 8 1,15 JAN,JUL ? *)", "0 0 8 1,15 1,7 *"),
])
def test_expressible_schedules(expression: str, expected: str) -> None:
    assert ncrontab(expression) == expected


@pytest.mark.parametrize("expression", [
    "rate(7 minutes)", "rate(2 days)", "rate(5 hours)",
    "cron(0 12 L * ? *)", "cron(0 12 15W * ? *)", "cron(0 12 ? * 2#1 *)",
    "cron(0 12 ? * 6L *)", "cron(0 12 * * ? 2030)",
])
def test_inexpressible_schedules_name_triggers(expression: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        ncrontab(expression)
    assert info.value.field == "triggers"
    assert expression in str(info.value)


def test_ncrontab_fires_when_eventbridge_does() -> None:
    """The weekday shift (EventBridge 1 = Sunday, NCRONTAB 0 = Sunday) checked on a calendar:
    cron(30 9 ? * SUN,WED *) fires on Sundays and Wednesdays only."""
    from datetime import UTC, datetime, timedelta

    from unicompute._schedules import parse

    schedule = parse("cron(30 9 ? * SUN,WED *)")
    fields = ncrontab("cron(30 9 ? * SUN,WED *)").split()
    days = {int(d) for d in fields[5].split(",")}
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(10):
        nxt = schedule.next_after(at)
        assert nxt is not None
        assert nxt.isoweekday() % 7 in days and (nxt.hour, nxt.minute) == (9, 30)
        at = nxt + timedelta(minutes=1)
