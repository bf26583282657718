"""WallClock: the clock of fakes served to other processes follows real time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from unicompute.mocks import MockServer
from unicompute.mocks._kernel.clock import EPOCH, FakeClock, WallClock


def test_wall_clock_moves_with_real_time_and_can_still_be_stepped() -> None:
    real = [100.0]
    clock = WallClock(EPOCH, monotonic=lambda: real[0])
    heard: list[float] = []
    clock.on_advance(heard.append)
    real[0] += 2.5
    assert clock.time() == 2.5 and clock.now() == EPOCH + timedelta(seconds=2.5)
    assert clock.advance(10) == 12.5 and heard == [12.5]
    real[0] += 1
    assert clock.now() == EPOCH + timedelta(seconds=13.5)


def test_wall_clock_starts_now_and_a_fake_clock_stands_still() -> None:
    before = datetime.now(UTC)
    assert before <= WallClock().now() <= datetime.now(UTC)
    still = FakeClock()
    assert still.now() == EPOCH == still.now()


def test_mock_server_real_time_gives_the_fakes_wall_clocks() -> None:
    with MockServer(real_time=True) as served:
        assert isinstance(served.fake("azure").clock, WallClock)  # type: ignore[attr-defined]
        assert isinstance(served.fake("gcp").clock, WallClock)  # type: ignore[attr-defined]
    with MockServer(ports={"aws": 0, "azure": 0, "gcp": 0}) as fixed:
        assert not isinstance(fixed.fake("gcp").clock, WallClock)  # type: ignore[attr-defined]
