"""``mock.azure.functions``: timers fired by the fake clock, Storage-queue messages, logs.

Public API (what tests and the provider's tests drive)::

    fns = mock.azure.functions               # a FunctionsHandle
    fns.send("jobs", "body")                 # a message on Storage queue "jobs"
    fns.poll()                               # deliver visible messages; successes counted
    fns.messages("jobs"), fns.messages("jobs-poison")
    mock.azure.clock.advance(300)            # fires due timer triggers (NCRONTAB), then polls
    fns.drain()                              # waits for /admin/functions invocations
    fns.logs("app"), fns.logs("app", "fn")   # LogLine(time, app, function, message, app_id)
    fns.runtime                              # the LocalRuntime running them

Queue messages go to every deployed queue-triggered function whose ``queueName`` is the
queue, one message per invocation (Azure's queue trigger hands functions single messages;
``batchSize`` is how many run at once). A failed message becomes visible again at once
(``visibilityTimeout`` 0) with its ``dequeue_count`` raised; after ``maxDequeueCount`` (5, or
``host.json``/the app setting) it moves to ``{queue}-poison``. Timers fire once per occurrence
of their 6-field NCRONTAB schedule (UTC) passed by an advance, ``past_due`` false, with the
schedule status the host passes (in the fake clock's time): ``Next`` the occurrence it fires
for, ``Last`` and ``LastUpdated`` the one before (``0001-01-01T00:00:00`` at first).
"""

from __future__ import annotations

import base64
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .._kernel import FakeClock
from ._web_plans import SITE

if TYPE_CHECKING:
    from ..runtime import LocalRuntime
    from ._app import ArmApp
    from ._base import Resource
    from ._function_host_apps import FunctionApps, LogLine

_RANGES = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_NAMES = {4: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
              "dec"], 5: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]}
#: How far ahead a schedule is searched for its next occurrence.
_HORIZON = timedelta(days=366 * 5)


def _field(text: str, index: int) -> frozenset[int]:
    low, high = _RANGES[index]
    values: set[int] = set()
    for part in text.lower().split(","):
        step = 1
        if "/" in part:
            part, _, step_text = part.partition("/")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            a, _, b = part.partition("-")
            start, end = _value(a, index), _value(b, index)
        else:
            start = _value(part, index)
            end = high if step > 1 else start
        if step < 1 or not (low <= start <= high and low <= end <= high):
            raise ValueError(f"field {index + 1} of the schedule is out of range")
        values.update(range(start, end + 1, step))
    return frozenset(7 % 7 if index == 5 and v == 7 else v for v in values)


def _value(text: str, index: int) -> int:
    names = _NAMES.get(index)
    if names and text[:3] in names:
        return names.index(text[:3]) + (1 if index == 4 else 0)
    return int(text)


@dataclass(frozen=True)
class Ncrontab:
    """A 6-field NCRONTAB expression (``sec min hour day month day-of-week``)."""

    fields: tuple[frozenset[int], ...]

    @classmethod
    def parse(cls, expression: str) -> Ncrontab:
        parts = expression.split()
        if len(parts) != 6:
            raise ValueError(f"{expression!r} is not a 6-field NCRONTAB expression")
        return cls(tuple(_field(p, i) for i, p in enumerate(parts)))

    def next_after(self, when: datetime) -> datetime | None:
        """The first occurrence strictly after ``when`` (within five years)."""
        seconds, minutes, hours, days, months, weekdays = self.fields
        moment = when.replace(microsecond=0) + timedelta(seconds=1)
        end = when + _HORIZON
        while moment <= end:
            if moment.month not in months:
                moment = (moment.replace(day=1, hour=0, minute=0, second=0)
                          + timedelta(days=32)).replace(day=1)
                continue
            if moment.day not in days or (moment.isoweekday() % 7) not in weekdays:
                moment = moment.replace(hour=0, minute=0, second=0) + timedelta(days=1)
                continue
            if moment.hour not in hours:
                moment = moment.replace(minute=0, second=0) + timedelta(hours=1)
                continue
            if moment.minute not in minutes:
                moment = moment.replace(second=0) + timedelta(minutes=1)
                continue
            if moment.second not in seconds:
                moment += timedelta(seconds=1)
                continue
            return moment
        return None


#: How the host writes a schedule status time it has none for (.NET's ``default(DateTime)``).
_NEVER = "0001-01-01T00:00:00"


def _schedule_status(last: datetime | None, occurrence: datetime) -> dict[str, str]:
    """The ``ScheduleStatus`` a timer function gets when it fires for ``occurrence``, after
    firing last for ``last``: the host passes the status from before the call (``Last`` the
    previous occurrence, ``Next`` this one) and records the new one afterwards."""
    previous = last.isoformat() if last is not None else _NEVER
    return {"Last": previous, "Next": occurrence.isoformat(), "LastUpdated": previous}


@dataclass
class QueueMessage:
    id: str
    body: bytes
    inserted: str
    dequeue_count: int = 0


@dataclass
class _Queues:
    items: dict[str, list[QueueMessage]] = field(default_factory=dict)


class FunctionsHandle:
    """See the module docstring."""

    def __init__(self, arm: ArmApp, apps: FunctionApps, clock: FakeClock) -> None:
        self._arm = arm
        self._apps = apps
        self.clock = clock
        self._queues = _Queues()
        self._lock = threading.RLock()
        #: (site id, function) → the fake time its timer last looked from.
        self._timers: dict[tuple[str, str], datetime] = {}
        #: (site id, function) → the occurrence its timer last fired for.
        self._fired: dict[tuple[str, str], datetime] = {}
        self.active = False
        clock.on_advance(self._on_advance)

    @property
    def runtime(self) -> LocalRuntime:
        return self._apps.runtime

    def reset(self) -> None:
        with self._lock:
            self._queues.items.clear()
            self._timers.clear()
            self._fired.clear()
        self._apps.reset()

    # -- queues ----------------------------------------------------------------------------------
    def send(self, queue: str, body: str | bytes) -> str:
        """Put a message on Storage queue ``queue``; its id."""
        data = body.encode() if isinstance(body, str) else bytes(body)
        message = QueueMessage(str(uuid.uuid4()), data, self.clock.iso())
        with self._lock:
            self._queues.items.setdefault(queue.lower(), []).append(message)
        return message.id

    def messages(self, queue: str) -> list[bytes]:
        """The bodies of the messages waiting on ``queue``."""
        with self._lock:
            return [m.body for m in self._queues.items.get(queue.lower(), [])]

    def poll(self) -> int:
        """Deliver every waiting message of a queue some deployed function is triggered by;
        the number handled successfully (deleted)."""
        handled = 0
        for site, function, queue in self._queue_functions():
            with self._lock:
                waiting = list(self._queues.items.get(queue, []))
            for message in waiting:
                message.dequeue_count += 1
                result = self._apps.run(site, function, {"trigger": "queue", "message": {
                    "id": message.id, "body_b64": base64.b64encode(message.body).decode(),
                    "dequeue_count": message.dequeue_count, "insertion_time": message.inserted,
                    "expiration_time": None, "next_visible_time": None,
                    "pop_receipt": uuid.uuid4().hex}}, reason=f"New queue message detected on "
                    f"'{queue}'.")
                with self._lock:
                    if result.ok:
                        handled += 1
                        self._remove(queue, message)
                    elif message.dequeue_count >= self._apps.max_dequeue_count(site):
                        self._remove(queue, message)
                        self._queues.items.setdefault(f"{queue}-poison", []).append(message)
        return handled

    def _remove(self, queue: str, message: QueueMessage) -> None:
        items = self._queues.items.get(queue, [])
        if message in items:
            items.remove(message)

    def _queue_functions(self) -> list[tuple[Resource, str, str]]:
        with self._arm.lock:
            sites = list(self._arm.stores[SITE].values())
        found = []
        for site in sites:
            for name, info in dict(site.state.get("functions", {})).items():
                if info["trigger"] == "queueTrigger" and self._apps.code_dir(site):
                    found.append((site, name, str(info["queue"])))
        return found

    # -- timers ------------------------------------------------------------------------------------
    def _on_advance(self, _: float) -> None:
        if not self.active:
            return
        now = self.clock.now()
        with self._arm.lock:
            sites = list(self._arm.stores[SITE].values())
        due: list[tuple[datetime, Resource, str, tuple[str, str]]] = []
        for site in sites:
            if self._apps.code_dir(site) is None or site.props.get("state") != "Running":
                continue
            for name, info in dict(site.state.get("functions", {})).items():
                if info["trigger"] != "timerTrigger":
                    continue
                try:
                    schedule = Ncrontab.parse(str(info["schedule"]))
                except ValueError:
                    continue
                key = (site.id.casefold(), name)
                with self._lock:
                    since = self._timers.get(key) or self._deployed_at(site)
                    self._timers[key] = now
                moment = schedule.next_after(since)
                while moment is not None and moment <= now:
                    due.append((moment, site, name, key))
                    moment = schedule.next_after(moment)
        for moment, site, name, key in sorted(due, key=lambda d: d[0]):
            with self._lock:
                last = self._fired.get(key)
                self._fired[key] = moment
            self._apps.run(site, name, {"trigger": "timer", "timer": {
                "past_due": False, "schedule": {"AdjustForDST": False},
                "schedule_status": _schedule_status(last, moment)}},
                reason=f"Timer fired at {moment.isoformat()}")
        self.poll()

    def _deployed_at(self, site: Resource) -> datetime:
        deployments: list[dict[str, Any]] = site.state.get("deployments", [])
        ended = deployments[-1].get("end_time") if deployments else None
        if ended:
            return datetime.fromisoformat(str(ended).replace("Z", "+00:00"))
        return self.clock.now()

    # -- logs and waiting -----------------------------------------------------------------------
    def logs(self, app: str, function: str | None = None) -> list[LogLine]:
        """The lines ``app`` (and ``function``) logged, oldest first."""
        return self._apps.logs(app, function)

    def drain(self, timeout: float | None = 30.0) -> bool:
        """Wait for the ``/admin/functions`` invocations still running."""
        return self._apps.drain(timeout)
