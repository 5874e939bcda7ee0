"""Backoff with full jitter: bounds, cap, reset (pure)."""

import random

from sync.edge.backoff import Backoff, full_jitter
from sync.edge.client import verdict


def test_given_no_failure_then_no_wait() -> None:
    assert full_jitter(0, base=1, cap=300, rand=lambda: 1.0) == 0.0


def test_given_failures_then_the_ceiling_doubles_up_to_the_cap() -> None:
    ceilings = [full_jitter(n, base=1, cap=300, rand=lambda: 1.0) for n in range(1, 12)]
    assert ceilings == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


def test_given_days_offline_then_the_wait_stays_finite_and_capped() -> None:
    assert full_jitter(100_000, base=1, cap=300, rand=lambda: 1.0) == 300


def test_given_jitter_then_every_wait_is_between_zero_and_the_ceiling() -> None:
    rng = random.Random(4)
    waits = [full_jitter(6, base=1, cap=300, rand=rng.random) for _ in range(2000)]
    assert all(0 <= w <= 32 for w in waits)
    assert min(waits) < 3 and max(waits) > 29  # spread over the whole range, not clustered


def test_given_a_success_then_backoff_starts_from_the_bottom_again() -> None:
    b = Backoff(base=1, cap=300, rand=lambda: 1.0)
    assert [b.failed() for _ in range(4)] == [1, 2, 4, 8]
    b.succeeded()
    assert b.failed() == 1


def test_status_verdicts() -> None:
    assert [verdict(s) for s in (200, 401, 403, 400, 413, 422, 404, 408, 429, 500, 503)] == [
        "ok", "auth", "auth", "refused", "refused", "refused",
        "retry", "retry", "retry", "retry", "retry",
    ]  # fmt: skip
