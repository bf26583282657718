"""The portable Poller: its schedule, attempt cap, retries and time-out errors, on a fake clock."""

from __future__ import annotations

import pytest
from fake_time import FakeTime

import unicompute as uc
from unicompute._waiting import ZERO_DELAY_ATTEMPTS, Poller


class Flaky(Exception):
    pass


def test_retry_repeats_only_accepted_failures_on_the_schedule() -> None:
    time = FakeTime()
    failures = [Flaky("1"), Flaky("2"), Flaky("3")]

    def call() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    poller = time.poller(interval=1, backoff=2, max_interval=3)
    assert poller.retry(call, retry_on=lambda e: isinstance(e, Flaky), timeout=60) == "done"
    assert time.sleeps == [1, 2, 3]

    with pytest.raises(KeyError):  # not accepted: raised at the first attempt, no sleep
        poller.retry(lambda: {}["x"], retry_on=lambda e: isinstance(e, Flaky), timeout=60)
    assert time.sleeps == [1, 2, 3]


def test_retry_raises_the_last_failure_at_the_deadline() -> None:
    time = FakeTime()
    attempts: list[int] = []

    def call() -> None:
        attempts.append(len(attempts) + 1)
        raise Flaky(f"attempt {len(attempts)}")

    poller = time.poller(interval=4, backoff=1, max_interval=4)
    with pytest.raises(Flaky, match="attempt 4"):
        poller.retry(call, retry_on=lambda e: True, timeout=10)
    assert time.sleeps == [4, 4, 2]  # never past the deadline
    assert time.now == 10 and len(attempts) == 4


def test_max_attempts_ends_a_wait_where_no_time_passes() -> None:
    time = FakeTime()
    polls: list[int] = []
    frozen = Poller(interval=0, clock=time.clock, sleep=lambda _: None, max_attempts=5)
    with pytest.raises(uc.Timeout, match="the thing"):
        frozen.until(lambda: polls.append(1), lambda _: False, timeout=900, what="the thing")
    assert len(polls) == 5

    calls: list[int] = []

    def failing() -> None:
        calls.append(1)
        raise Flaky

    with pytest.raises(Flaky):
        frozen.retry(failing, retry_on=lambda e: True, timeout=900)
    assert len(calls) == 5


def test_until_without_max_attempts_keeps_its_schedule() -> None:
    time = FakeTime()
    results = iter([1, 2, 3, 4])
    poller = time.poller(interval=1, backoff=2, max_interval=8)
    assert poller.until(lambda: next(results), lambda n: n == 4, timeout=60, what="4") == 4
    assert time.sleeps == [1, 2, 4]


def test_timed_out_builds_the_error_from_the_last_result() -> None:
    time = FakeTime()
    left = iter([["a", "b"], ["b"], ["b"]])

    def error(remaining: list[str]) -> uc.Timeout:
        return uc.Timeout(f"still waiting for {', '.join(remaining)}", resource=remaining[0])

    poller = time.poller(interval=1, backoff=1, max_interval=1)
    with pytest.raises(uc.Timeout) as caught:
        poller.until(lambda: next(left), lambda r: not r, timeout=2, what="x", timed_out=error)
    assert "still waiting for b" in str(caught.value)
    assert caught.value.resource == "b"


def test_negative_timeout_is_refused_before_any_call() -> None:
    calls: list[int] = []
    with pytest.raises(ValueError):
        Poller().retry(lambda: calls.append(1), retry_on=lambda e: True, timeout=-1)
    assert calls == []


def test_every_polls_at_a_fixed_interval_on_the_injected_time() -> None:
    time = FakeTime()
    results = iter(range(10))
    poller = Poller.every(2.5, clock=time.clock, sleep=time.sleep)
    assert poller.until(lambda: next(results), lambda n: n == 3, timeout=60, what="3") == 3
    assert time.sleeps == [2.5, 2.5, 2.5]  # no backoff

    with pytest.raises(uc.Timeout, match="gave up waiting for never after 6 s"):
        poller.until(lambda: 0, lambda _: False, timeout=6, what="never")
    assert time.sleeps[3:] == [2.5, 2.5, 1.0] and time.now == 13.5


def test_every_with_a_zero_interval_caps_the_attempts() -> None:
    time = FakeTime()  # sleep(0) never moves it: only the cap ends the wait
    polls: list[int] = []
    with pytest.raises(uc.Timeout):
        Poller.every(0, clock=time.clock, sleep=time.sleep, zero_delay_attempts=3).until(
            lambda: polls.append(1), lambda _: False, timeout=900, what="x")
    assert len(polls) == 3

    polls.clear()
    with pytest.raises(uc.Timeout):
        Poller.every(0, clock=time.clock, sleep=time.sleep).until(
            lambda: polls.append(1), lambda _: False, timeout=900, what="x")
    assert len(polls) == ZERO_DELAY_ATTEMPTS
    assert Poller.every(0.5).max_attempts is None
