"""Timestamps are RFC 3339 in US Pacific time with the offset of the day, as GCE prints them
(``-08:00`` in winter, ``-07:00`` in summer), read from the fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.cloud import compute_v1

from unicompute.mocks._kernel import FakeClock, Interceptor
from unicompute.mocks.gcp import GcpFake, _format

from .conftest import ZONE, vm_resource


@pytest.mark.parametrize(("start", "printed"), [
    (datetime(2026, 1, 15, 20, 0, 0, 250_000, tzinfo=UTC), "2026-01-15T12:00:00.250-08:00"),
    (datetime(2026, 7, 1, 20, 0, tzinfo=UTC), "2026-07-01T13:00:00.000-07:00"),
])
def test_instance_and_operation_times_use_the_pacific_offset_of_the_day(
        start: datetime, printed: str) -> None:
    fake = GcpFake(clock=FakeClock(start=start))
    interceptor = Interceptor(fake.routes())
    fake.start()
    interceptor.install()
    try:
        client = compute_v1.InstancesClient()
        op = client.insert(project=fake.project, zone=ZONE, instance_resource=vm_resource("t"))
        op.result()
        vm = client.get(project=fake.project, zone=ZONE, instance="t")
    finally:
        interceptor.uninstall()
        fake.stop()
    assert vm.creation_timestamp == printed
    assert vm.last_start_timestamp == printed
    assert op.start_time == printed and op.end_time == printed
    assert op.name.startswith(f"operation-{int(start.timestamp() * 1000)}-")


def test_the_summer_switch_follows_the_clock() -> None:
    fake = GcpFake(clock=FakeClock(start=datetime(2026, 3, 8, 9, 30, tzinfo=UTC)))
    assert fake.app.now() == "2026-03-08T01:30:00.000-08:00"  # 30 min before 02:00 PST
    fake.clock.advance(3600)
    assert fake.app.now() == "2026-03-08T03:30:00.000-07:00"


def test_without_a_time_zone_database_the_us_rules_give_the_same_offsets(
        monkeypatch: pytest.MonkeyPatch) -> None:
    moments = []
    for day in ("2024-03-10", "2024-11-03", "2026-03-08", "2026-11-01", "2027-03-14"):
        base = datetime.fromisoformat(f"{day}T06:00:00+00:00")
        moments += [base + timedelta(minutes=15 * i) for i in range(32)]
    moments += [datetime(2025, month, 20, 12, tzinfo=UTC) for month in range(1, 13)]
    expected = [_format.timestamp(m) for m in moments]
    assert {e[-6:] for e in expected} == {"-08:00", "-07:00"}
    monkeypatch.setattr(_format, "PACIFIC", None)
    assert [_format.timestamp(m) for m in moments] == expected
    assert _format.local_midnight("20250315") == "2025-03-15T00:00:00.000-07:00"
    assert _format.local_midnight("20251231") == "2025-12-31T00:00:00.000-08:00"
