"""EventBridge's schedule grammar in the portable layer: what ScheduleTrigger accepts, what it
rejects (naming the part at fault), and when a schedule fires next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

import unicompute as uc
from unicompute._schedules import CronSchedule, InvalidSchedule, RateSchedule, parse


def rejected(expression: object) -> uc.InvalidRequest:
    with pytest.raises(uc.InvalidRequest) as caught:
        uc.ScheduleTrigger(expression)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize("expression", [
    "rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(12 hours)", "rate(1 day)",
    "rate(30 days)", "cron(0 12 * * ? *)", "cron(0/15 8-17 ? * MON-FRI *)",
    "cron(*/5 * * * ? *)", "cron(0 0 1 JAN,jul ? 2026-2030)", "cron(0 0 ? * sun *)",
    "cron(15 10 ? * 6L 2026)", "cron(0 9 L * ? *)", "cron(0 9 LW * ? *)",
    "cron(0 9 L-2 * ? *)", "cron(0 9 15W * ? *)", "cron(0 9 ? * MON#2 *)",
    "cron(0 9 ? * L *)", "cron(0 9 ? * 2-6/2 *)", "cron(5,35 14 * 1-3,DEC ? *)",
    "cron(0 0 29 FEB ? *)",
])
def test_eventbridge_expressions_are_accepted(expression: str) -> None:
    assert uc.ScheduleTrigger(expression).expression == expression
    assert parse(expression).expression == expression


@pytest.mark.parametrize(("expression", "named"), [
    ("rate(0 minutes)", "rate value '0'"),
    ("rate(-5 minutes)", "rate value '-5'"),
    ("rate(x minutes)", "rate value 'x'"),
    ("rate(5 minute)", "singular for 1"),
    ("rate(1 minutes)", "singular for 1"),
    ("rate(5 weeks)", "rate unit 'weeks'"),
    ("rate(5 Minutes)", "rate unit 'Minutes'"),
    ("every 5 minutes", "is not 'rate(value unit)'"),
    ("cron(0 12 * * ?)", "cron has 5 fields"),
    ("cron(0 12 * * ? * *)", "cron has 7 fields"),
    ("cron(0 12 * * MON *)", "exactly one of them must be '?'"),
    ("cron(0 12 ? * ? *)", "exactly one of them must be '?'"),
    ("cron(60 * * * ? *)", "minutes '60'"),
    ("cron(0/0 * * * ? *)", "minutes '0/0'"),
    ("cron(? 0 * * ? *)", "minutes '?'"),
    ("cron(0 24 * * ? *)", "hours '24'"),
    ("cron(0 5-1 * * ? *)", "hours '5-1': range '5-1' runs backwards"),
    ("cron(0 0 32 * ? *)", "day-of-month '32'"),
    ("cron(0 0 0 * ? *)", "day-of-month '0'"),
    ("cron(0 0 32W * ? *)", "day-of-month '32W'"),
    ("cron(0 0 1-5W * ? *)", "day-of-month '1-5W'"),
    ("cron(0 0 L-31 * ? *)", "day-of-month 'L-31'"),
    ("cron(0 0 1,L * ? *)", "day-of-month '1,L'"),
    ("cron(0 0 * 13 ? *)", "month '13'"),
    ("cron(0 0 * FOO ? *)", "month 'FOO'"),
    ("cron(0 0 * ? ? *)", "month '?'"),
    ("cron(0 0 ? * 8 *)", "day-of-week '8'"),
    ("cron(0 0 ? * 0 *)", "day-of-week '0'"),
    ("cron(0 0 ? * MON#6 *)", "day-of-week 'MON#6'"),
    ("cron(0 0 ? * 2#1,FRI#1 *)", "day-of-week '2#1,FRI#1'"),
    ("cron(0 0 ? * 8L *)", "day-of-week '8L'"),
    ("cron(0 0 * * ? 1969)", "year '1969'"),
    ("cron(0 0 * * ? 2200)", "year '2200'"),
])
def test_each_invalid_form_is_named(expression: str, named: str) -> None:
    error = rejected(expression)
    assert error.field == "triggers.expression"
    assert named in error.message and repr(expression) in error.message


def test_a_non_string_expression_is_rejected() -> None:
    assert rejected(5).field == "triggers.expression"


def test_a_bad_schedule_on_update_is_refused_before_the_spec_exists() -> None:
    # The check runs when the trigger is built, so no deploy (create or update) can start with
    # an expression EventBridge would refuse after the code and settings had changed.
    with pytest.raises(uc.InvalidRequest):
        uc.FunctionSpec(name="f", runtime="python3.12", handler="app.handler", source=".",
                        triggers=[uc.ScheduleTrigger("cron(0 12 L * L *)")])


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_rate_counts_from_its_start() -> None:
    schedule = parse("rate(5 minutes)")
    assert isinstance(schedule, RateSchedule) and schedule.period == timedelta(minutes=5)
    start = at("2026-01-01T00:00:00")
    assert schedule.next_after(start, start=start) == at("2026-01-01T00:05:00")
    assert schedule.next_after(at("2026-01-01T00:05:00"), start=start) == at(
        "2026-01-01T00:10:00")
    assert schedule.next_after(at("2026-01-01T00:07:30"), start=start) == at(
        "2026-01-01T00:10:00")
    assert schedule.next_after(at("2026-01-01T00:07:30")) == at("2026-01-01T00:12:30")
    assert parse("rate(1 day)").next_after(start) == at("2026-01-02T00:00:00")


@pytest.mark.parametrize(("expression", "after", "expected"), [
    ("cron(30 * * * ? *)", "2026-01-01T00:30:00", "2026-01-01T01:30:00"),
    ("cron(30 * * * ? *)", "2026-01-01T00:29:59.5", "2026-01-01T00:30:00"),
    ("cron(0 9 ? * MON#2 *)", "2026-01-01T00:00:00", "2026-01-12T09:00:00"),
    ("cron(0 9 L-2 * ? *)", "2026-02-01T00:00:00", "2026-02-26T09:00:00"),
    ("cron(0 9 LW * ? *)", "2026-01-31T00:00:00", "2026-02-27T09:00:00"),
    ("cron(0 9 1W FEB,AUG ? *)", "2026-02-03T00:00:00", "2026-08-03T09:00:00"),
    ("cron(0 9 ? * FRIL *)", "2026-01-01T00:00:00", "2026-01-30T09:00:00"),
    ("cron(0 0 29 FEB ? *)", "2026-01-01T00:00:00", "2028-02-29T00:00:00"),
    ("cron(0 0 1 JAN ? 2030,2040)", "2030-01-01T00:00:00", "2040-01-01T00:00:00"),
    ("cron(0 0 1 JAN ? 2030)", "2030-01-01T00:00:00", None),
    ("cron(0 0 30 FEB ? *)", "2026-01-01T00:00:00", None),
])
def test_cron_fires_next_on_the_minute_eventbridge_picks(
    expression: str, after: str, expected: str | None
) -> None:
    schedule = parse(expression)
    assert isinstance(schedule, CronSchedule)
    found = schedule.next_after(at(after))
    assert found == (at(expected) if expected else None)
    if found is not None:
        assert schedule.matches(found)


def test_times_are_utc_and_must_be_aware() -> None:
    schedule = parse("cron(0 12 * * ? *)")
    plus_two = timezone(timedelta(hours=2))
    # 11:30 at UTC+2 is 09:30 UTC: the next noon UTC is the same day.
    assert schedule.next_after(datetime(2026, 1, 1, 11, 30, tzinfo=plus_two)) == at(
        "2026-01-01T12:00:00")
    with pytest.raises(ValueError):
        schedule.next_after(datetime(2026, 1, 1))
    with pytest.raises(InvalidSchedule):
        parse("cron(0 12 * * *)")

