"""EventBridge schedules that fire on the AWS fake's clock.

Each ``clock.advance(s)`` (``mock.aws.clock``) fires every enabled rule with a
``ScheduleExpression`` once per instant it was due in the interval just passed, invoking each
Lambda target asynchronously with the scheduled-event JSON (or the target's ``Input``). A rule
counts from the fake time it was first seen by the scheduler (the previous advance, or the
start): ``rate(5 minutes)`` fires at +5, +10... minutes; ``cron(...)`` on every matching minute
of the clock's UTC time.

The grammar and its evaluation are the portable layer's (:mod:`unicompute._schedules`, the one
``ScheduleTrigger`` is checked against): ``rate(N minute[s]|hour[s]|day[s])`` and six-field
``cron(...)`` with EventBridge's wildcards, including ``L``, ``W`` and ``#``. ``PutRule`` rejects
anything else with EventBridge's ``ValidationException`` "Parameter ScheduleExpression is not
valid."
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

from ..._schedules import InvalidSchedule, RateSchedule, parse
from .._kernel.clock import FakeClock

INVALID = "Parameter ScheduleExpression is not valid."


def validation_patch() -> Any:
    """A ``mock.patch`` (not started) making ``PutRule`` reject schedules the fake cannot run
    with EventBridge's error."""
    from moto.events.exceptions import ValidationException
    from moto.events.models import EventsBackend

    original = EventsBackend.put_rule

    def put_rule(backend: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        expression = kwargs.get("scheduled_expression")
        if expression is None and len(args) >= 5:
            expression = args[4]
        if expression:
            try:
                parse(expression)
            except InvalidSchedule:
                raise ValidationException(INVALID) from None
        return original(backend, name, *args, **kwargs)

    return mock.patch.object(EventsBackend, "put_rule", put_rule)


class Scheduler:
    """Fires due rules on each clock advance through ``fire(function_arn, event_json)``."""

    def __init__(self, clock: FakeClock, fire: Callable[[str, bytes], None]) -> None:
        self.clock = clock
        self._fire = fire
        self._last = clock.time()
        self._anchors: dict[str, float] = {}
        self._done: dict[str, float] = {}

    def reset(self) -> None:
        self._anchors.clear()
        self._done.clear()
        self._last = self.clock.time()

    def advance(self, now: float) -> None:
        """Fire every rule due in ``(previous advance, now]``."""
        from moto.events.models import events_backends

        previous, self._last = self._last, now
        for account in list(events_backends.keys()):
            backends: dict[str, Any] = dict(events_backends[account].items())
            for region, backend in backends.items():
                rules = [rule for bus in list(backend.event_buses.values())
                         for rule in list(bus.rules.values())]
                for rule in rules:
                    expression = getattr(rule, "scheduled_expression", None)
                    if not expression or rule.state != "ENABLED":
                        continue
                    arn = rule.arn
                    anchor = self._anchors.setdefault(arn, previous)
                    after = self._done.get(arn, anchor)
                    self._done[arn] = now
                    for at in self._due(expression, anchor, after, now):
                        self._fire_rule(rule, account, region, at)

    def _due(self, expression: str, anchor: float, after: float, until: float) -> list[float]:
        """Clock seconds in ``(after, until]`` at which ``expression`` fires; a rate counts
        from ``anchor``."""
        schedule = parse(expression)
        start = self.clock.start
        origin = start + timedelta(seconds=anchor)
        last = start + timedelta(seconds=until)
        times: list[float] = []
        at: datetime | None = start + timedelta(seconds=after)
        while at is not None:
            at = (schedule.next_after(at, start=origin) if isinstance(schedule, RateSchedule)
                  else schedule.next_after(at))
            if at is None or at > last:
                break
            times.append((at - start).total_seconds())
        return times

    def _fire_rule(self, rule: Any, account: str, region: str, at: float) -> None:
        when = (self.clock.start + timedelta(seconds=at)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for target in list(rule.targets):
            target_arn = str(target.get("Arn", ""))
            if ":lambda:" not in target_arn or ":function:" not in target_arn:
                continue
            if target.get("Input"):
                event = str(target["Input"]).encode()
            else:
                event = json.dumps({
                    "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                    "source": "aws.events", "account": account, "time": when,
                    "region": region, "resources": [rule.arn], "detail": {}}).encode()
            self._fire(target_arn, event)
