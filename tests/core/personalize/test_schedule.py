from __future__ import annotations

import datetime as dt

import pytest

from desktop.core.jobs import CancelToken
from desktop.core.personalize.schedule import (
    deadline_after,
    next_occurrence,
    on_mains_power,
    parse_hhmm,
    plan_steps,
    run_times,
    wait_until,
)
from desktop.core.personalize.trainer import lr_at


def test_times() -> None:
    evening = dt.datetime(2026, 1, 31, 22, 30)
    assert next_occurrence("01:00", evening) == dt.datetime(2026, 2, 1, 1, 0)
    assert next_occurrence("23:00", evening) == dt.datetime(2026, 1, 31, 23, 0)
    start = next_occurrence("01:00", evening)
    assert deadline_after(start, "07:00") == dt.datetime(2026, 2, 1, 7, 0)
    assert deadline_after(dt.datetime(2026, 1, 31, 22, 0), "07:00") == dt.datetime(2026, 2, 1, 7, 0)
    with pytest.raises(ValueError, match="HH:MM"):
        parse_hhmm("1am")


def test_run_times_one_rule_for_window_and_cli() -> None:
    evening = dt.datetime(2026, 1, 31, 22, 30)
    assert run_times("01:00", "07:00", clock=evening) == (
        dt.datetime(2026, 2, 1, 1, 0), dt.datetime(2026, 2, 1, 7, 0))
    assert run_times("01:00", "07:00", now=True, clock=evening) == (None, dt.datetime(2026, 2, 1, 7, 0))
    assert run_times("01:00", "07:00", now=True, budget_minutes=60, clock=evening) == (
        None, dt.datetime(2026, 1, 31, 23, 30))
    with pytest.raises(ValueError, match="HH:MM"):
        run_times("25:99", "07:00", clock=evening)


def test_plan_fits_the_budget_and_the_data() -> None:
    p = plan_steps(budget_s=3600, seconds_per_step=2.0, reserve_s=600, steps_per_epoch=10_000, max_epochs=3)
    assert p.steps == 1500 and p.capped_by == "budget"
    assert p.steps * p.seconds_per_step + 600 <= 3600
    p = plan_steps(budget_s=6 * 3600, seconds_per_step=1.0, reserve_s=600, steps_per_epoch=100, max_epochs=3)
    assert p.steps == 300 and p.capped_by == "epochs"
    assert plan_steps(10, 5.0, 60, 100, 1, min_steps=7).steps == 7


def test_warmup_then_cosine() -> None:
    lrs = [lr_at(s, 100, 1e-3, 10, 0.1) for s in range(100)]
    assert lrs[0] < lrs[5] < lrs[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))
    assert lrs[-1] == pytest.approx(1e-4, rel=0.05)


def test_wait_until_yields_then_returns_and_honours_cancel() -> None:
    soon = dt.datetime.now() + dt.timedelta(seconds=0.3)
    events = list(wait_until(soon, require_mains=False, poll_s=0.1))
    assert events and all(e.what == "waiting" for e in events)
    token = CancelToken()
    gen = wait_until(dt.datetime.now() + dt.timedelta(hours=5), token, require_mains=False, poll_s=0.05)
    first = next(gen)
    assert "Waiting to start" in first.message
    token.cancel()
    assert list(gen) == []
    assert on_mains_power() in (True, False, None)
